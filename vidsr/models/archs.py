"""Work out a network's architecture and hyperparameters from its state_dict, and build it.

Two families are understood, both from basicsr: ``SRVGGNetCompact`` (Real-ESRGAN compact /
animevideov3 / general-x4v3) and ``RRDBNet`` (ESRGAN / Real-ESRGAN x4plus, x2plus). Everything is
read from tensor shapes and key names; anything else raises UnsupportedModelError.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from vidsr.errors import UnsupportedModelError
from vidsr.models.basicsr_compat import build_network

log = logging.getLogger(__name__)

_BODY_KEY = re.compile(r"^body\.(\d+)\.weight$")
_RRDB_KEY = re.compile(r"^body\.(\d+)\.rdb1\.conv1\.weight$")


@dataclass(frozen=True)
class ArchInfo:
    """An architecture name, its integer scale and the basicsr constructor's hyperparameters."""

    arch: str
    scale: int
    params: dict[str, Any] = field(default_factory=dict, hash=False)

    @property
    def multiple(self) -> int:
        """Input height/width must be a multiple of this (pixel-unshuffle RRDBNet x2/x1)."""
        if self.arch == "RRDBNet":
            return {1: 4, 2: 2}.get(self.scale, 1)
        return 1


def _shape(state: Mapping[str, torch.Tensor], key: str) -> tuple[int, ...]:
    return tuple(state[key].shape)


def _detect_srvgg(state: Mapping[str, torch.Tensor], act_hint: str | None) -> ArchInfo:
    indices = sorted(int(m.group(1)) for k in state if (m := _BODY_KEY.match(k)))
    convs = [i for i in indices if state[f"body.{i}.weight"].ndim == 4]
    slopes = [i for i in indices if state[f"body.{i}.weight"].ndim == 1]
    if len(convs) < 2:
        raise UnsupportedModelError(f"SRVGGNetCompact-like keys but only {len(convs)} convolutions")
    first = _shape(state, f"body.{convs[0]}.weight")
    last = _shape(state, f"body.{convs[-1]}.weight")
    num_feat, num_in_ch = first[0], first[1]
    num_out_ch = num_in_ch
    ratio = last[0] / num_out_ch
    scale = round(math.sqrt(ratio))
    if scale < 1 or scale * scale * num_out_ch != last[0]:
        raise UnsupportedModelError(
            f"SRVGGNetCompact last conv has {last[0]} outputs, not {num_out_ch} x scale^2"
        )
    if slopes:
        act_type = "prelu"
    else:
        act_type = act_hint or "leakyrelu"
        if act_hint is None:
            log.warning("SRVGGNetCompact without PReLU weights: assuming LeakyReLU(0.1)")
    params = {
        "num_in_ch": num_in_ch,
        "num_out_ch": num_out_ch,
        "num_feat": num_feat,
        "num_conv": len(convs) - 2,
        "act_type": act_type,
    }
    return ArchInfo("SRVGGNetCompact", scale, params)


def _detect_rrdb(state: Mapping[str, torch.Tensor]) -> ArchInfo:
    blocks = sorted(int(m.group(1)) for k in state if (m := _RRDB_KEY.match(k)))
    first = _shape(state, "conv_first.weight")
    num_feat, in_ch = first[0], first[1]
    num_out_ch = _shape(state, "conv_last.weight")[0]
    if "conv_up1.weight" not in state or "conv_up2.weight" not in state:
        raise UnsupportedModelError("RRDBNet without conv_up1/conv_up2 is not a basicsr RRDBNet")
    if "conv_up3.weight" in state:
        raise UnsupportedModelError("RRDBNet x8 (conv_up3) is not supported by basicsr's RRDBNet")
    # basicsr feeds x2 / x1 models a pixel-unshuffled input: 4x / 16x the image channels.
    by_ratio = {1: 4, 4: 2, 16: 1}
    ratio = in_ch / num_out_ch
    if ratio not in by_ratio:
        raise UnsupportedModelError(f"RRDBNet conv_first takes {in_ch} channels: unknown scale")
    scale = by_ratio[int(ratio)]
    params = {
        "num_in_ch": num_out_ch,
        "num_out_ch": num_out_ch,
        "num_feat": num_feat,
        "num_block": len(blocks),
        "num_grow_ch": _shape(state, "body.0.rdb1.conv1.weight")[0],
    }
    return ArchInfo("RRDBNet", scale, params)


def detect_arch(state: Mapping[str, torch.Tensor], act_hint: str | None = None) -> ArchInfo:
    """Identify the architecture of a canonical state_dict (see ``weights.canonicalize``).

    ``act_hint`` chooses the activation of an SRVGGNetCompact without PReLU weights, which the
    weights alone cannot tell (``relu`` or ``leakyrelu``; LeakyReLU is assumed otherwise).
    """
    if "conv_first.weight" in state and "body.0.rdb1.conv1.weight" in state:
        return _detect_rrdb(state)
    if "body.0.weight" in state and state["body.0.weight"].ndim == 4:
        return _detect_srvgg(state, act_hint)
    sample = ", ".join(list(state)[:6])
    raise UnsupportedModelError(
        f"unrecognised network ({len(state)} tensors; first keys: {sample}); "
        "supported: SRVGGNetCompact, RRDBNet (basicsr key names)"
    )


def build_module(info: ArchInfo) -> nn.Module:
    """A fresh (untrained) basicsr module for ``info``."""
    return build_network(info.arch, info.scale, dict(info.params))


def module_from_state_dict(
    state: Mapping[str, torch.Tensor], info: ArchInfo | None = None
) -> tuple[nn.Module, ArchInfo]:
    """Detect (unless ``info`` is given), build and strictly load a module in eval mode."""
    info = info or detect_arch(state)
    module = build_module(info)
    try:
        module.load_state_dict(dict(state), strict=True)
    except RuntimeError as exc:
        raise UnsupportedModelError(f"weights do not fit {info.arch}: {exc}") from exc
    module.eval().requires_grad_(False)
    return module, info
