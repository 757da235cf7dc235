"""basicsr's ``SRVGGNetCompact`` (Real-ESRGAN compact: animevideov3, general-x4v3, vidsr's own).

A plain stack of 3x3 convolutions at the input resolution, a pixel shuffle, and the input
upsampled (nearest) added back. Everything is read from tensor shapes and key names.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from vidsr.errors import ModelWeightsError, UnsupportedModelError
from vidsr.models.archs.base import ArchInfo, Architecture, StateDict, element_bytes
from vidsr.models.basicsr_compat import network_class

log = logging.getLogger(__name__)

_BODY_KEY = re.compile(r"^body\.(\d+)\.weight$")
_PARAMS = ("num_in_ch", "num_out_ch", "num_feat", "num_conv", "act_type")


def _conv_indices(state: StateDict) -> list[int]:
    indices = sorted(int(m.group(1)) for k in state if (m := _BODY_KEY.match(k)))
    return [i for i in indices if state[f"body.{i}.weight"].ndim == 4]


def last_conv(state: StateDict) -> str:
    """The key prefix (``body.N``) of the last convolution, the one that feeds the shuffle."""
    convs = _conv_indices(state)
    if not convs:
        raise UnsupportedModelError("not an SRVGGNetCompact state_dict (no body.N convolution)")
    return f"body.{convs[-1]}"


def scale_of(state: StateDict, num_out_ch: int = 3) -> int:
    """The scale of an SRVGGNetCompact state_dict: its last convolution emits
    ``num_out_ch * scale**2`` channels."""
    outputs = state[f"{last_conv(state)}.weight"].shape[0]
    scale = round(math.sqrt(outputs / num_out_ch))
    if scale < 1 or scale * scale * num_out_ch != outputs:
        raise UnsupportedModelError(
            f"SRVGGNetCompact last conv has {outputs} outputs, not {num_out_ch} x scale^2"
        )
    return scale


def adapt_upsampler(
    state: Mapping[str, torch.Tensor], from_scale: int, to_scale: int
) -> dict[str, torch.Tensor]:
    """Re-target an SRVGGNetCompact state_dict's last convolution to a smaller scale.

    The last conv emits ``3 * s * s`` channels that pixel-shuffle into ``s x s`` sub-pixels per
    colour. For ``to_scale`` dividing ``from_scale`` each new sub-pixel takes the mean of the
    ``r x r`` old sub-pixels it covers (``r = from_scale // to_scale``): the new network starts as
    the old one followed by an ``r x r`` box reduction, instead of from random noise.
    """
    if from_scale == to_scale:
        return dict(state)
    if from_scale % to_scale:
        raise ModelWeightsError(f"cannot adapt an x{from_scale} upsampler to x{to_scale}")
    last = last_conv(state)
    w, b = state[f"{last}.weight"], state[f"{last}.bias"]
    r, s, t = from_scale // to_scale, from_scale, to_scale
    if w.shape[0] != 3 * s * s:
        raise ModelWeightsError(f"{last} has {w.shape[0]} outputs, not 3 x {s}^2")
    w6 = w.reshape(3, t, r, t, r, *w.shape[1:]).mean(dim=(2, 4))
    b6 = b.reshape(3, t, r, t, r).mean(dim=(2, 4))
    out = dict(state)
    out[f"{last}.weight"] = w6.reshape(3 * t * t, *w.shape[1:]).contiguous()
    out[f"{last}.bias"] = b6.reshape(3 * t * t).contiguous()
    return out


class SRVGGNetCompact(Architecture):
    """The compact VGG-style network of Real-ESRGAN."""

    name = "SRVGGNetCompact"
    default_params: Mapping[str, Any] = {"num_feat": 64, "num_conv": 16, "act_type": "prelu"}

    def detect(self, state: StateDict, act_hint: str | None = None) -> ArchInfo | None:
        if "body.0.weight" not in state or state["body.0.weight"].ndim != 4:
            return None
        convs = _conv_indices(state)
        if len(convs) < 2:
            raise UnsupportedModelError(
                f"SRVGGNetCompact-like keys but only {len(convs)} convolutions"
            )
        slopes = [k for k in state if _BODY_KEY.match(k) and state[k].ndim == 1]
        num_feat, num_in_ch = tuple(state[f"body.{convs[0]}.weight"].shape[:2])
        num_out_ch = num_in_ch
        scale = scale_of(state, num_out_ch)
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
        return ArchInfo(self, scale, params)

    def build(self, scale: float, params: Mapping[str, Any]) -> nn.Module:
        kwargs = {k: v for k, v in params.items() if k in _PARAMS}
        return network_class("archs.srvgg_arch", "SRVGGNetCompact")(upscale=int(scale), **kwargs)

    def retarget(self, state: StateDict, scale: float) -> dict[str, torch.Tensor]:
        return adapt_upsampler(state, scale_of(state), int(scale))

    def bytes_per_pixel(self, scale: float, params: Mapping[str, Any], dtype: torch.dtype) -> float:
        elem = element_bytes(dtype)
        s2 = int(scale) ** 2
        feat = int(params.get("num_feat", self.default_params["num_feat"]))
        return 1.5 * ((3 * feat + 3 * s2) * elem + 4 * 3 * (1 + 2 * s2))

    def receptive_field(self, scale: float, params: Mapping[str, Any]) -> int:
        # the first conv, num_conv body convs and the last conv, all 3x3 at the input size
        return int(params.get("num_conv", self.default_params["num_conv"])) + 2


ARCH = SRVGGNetCompact()
