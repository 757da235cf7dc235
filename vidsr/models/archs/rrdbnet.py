"""basicsr's ``RRDBNet`` (ESRGAN; Real-ESRGAN x4plus, x4plus-anime, x2plus).

Residual-in-residual dense blocks at the input resolution, then two nearest x2 upsamplings with a
convolution each. x2 and x1 networks take a pixel-unshuffled input (4x / 16x the channels), so
their input sides must be multiples of 2 / 4.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from vidsr.errors import UnsupportedModelError
from vidsr.models.archs.base import ArchInfo, Architecture, StateDict, element_bytes
from vidsr.models.basicsr_compat import network_class

_RRDB_KEY = re.compile(r"^body\.(\d+)\.rdb1\.conv1\.weight$")
_PARAMS = ("num_in_ch", "num_out_ch", "num_feat", "num_block", "num_grow_ch")
UNSHUFFLE = {1: 4, 2: 2, 4: 1}
"""Pixel-unshuffle factor of basicsr's RRDBNet input, by scale."""


class RRDBNet(Architecture):
    """ESRGAN's residual-in-residual dense block network."""

    name = "RRDBNet"
    default_params: Mapping[str, Any] = {"num_in_ch": 3, "num_out_ch": 3}

    def detect(self, state: StateDict, act_hint: str | None = None) -> ArchInfo | None:
        if "conv_first.weight" not in state or "body.0.rdb1.conv1.weight" not in state:
            return None
        blocks = sorted(int(m.group(1)) for k in state if (m := _RRDB_KEY.match(k)))
        num_feat, in_ch = tuple(state["conv_first.weight"].shape[:2])
        num_out_ch = state["conv_last.weight"].shape[0]
        if "conv_up1.weight" not in state or "conv_up2.weight" not in state:
            raise UnsupportedModelError(
                "RRDBNet without conv_up1/conv_up2 is not a basicsr RRDBNet"
            )
        if "conv_up3.weight" in state:
            raise UnsupportedModelError(
                "RRDBNet x8 (conv_up3) is not supported by basicsr's RRDBNet"
            )
        by_ratio = {f * f: s for s, f in UNSHUFFLE.items()}
        ratio = in_ch / num_out_ch
        if ratio not in by_ratio:
            raise UnsupportedModelError(f"RRDBNet conv_first takes {in_ch} channels: unknown scale")
        params = {
            "num_in_ch": num_out_ch,
            "num_out_ch": num_out_ch,
            "num_feat": num_feat,
            "num_block": len(blocks),
            "num_grow_ch": state["body.0.rdb1.conv1.weight"].shape[0],
        }
        return ArchInfo(self, by_ratio[int(ratio)], params)

    def build(self, scale: float, params: Mapping[str, Any]) -> nn.Module:
        if scale not in UNSHUFFLE:
            raise UnsupportedModelError(f"RRDBNet supports scale 1, 2 or 4, not {scale}")
        kwargs = {k: v for k, v in params.items() if k in _PARAMS}
        return network_class("archs.rrdbnet_arch", "RRDBNet")(scale=int(scale), **kwargs)

    def multiple(self, scale: float, params: Mapping[str, Any]) -> int:
        return UNSHUFFLE.get(int(scale), 1)

    def bytes_per_pixel(self, scale: float, params: Mapping[str, Any], dtype: torch.dtype) -> float:
        elem = element_bytes(dtype)
        s2 = int(scale) ** 2
        feat = int(params.get("num_feat", 64))
        grow = int(params.get("num_grow_ch", 32))
        lr = (4 * feat + 4 * grow) * elem
        hr = 3 * feat * s2 * elem  # two upsampled feature maps + conv workspace
        return 1.5 * (max(lr, hr) + 4 * 3 * (1 + s2))

    def receptive_field(self, scale: float, params: Mapping[str, Any]) -> int:
        # conv_first, 15 convs per block (3 dense blocks of 5), conv_body: 3x3 on the feature
        # grid; the four 3x3 convs after the two x2 upsamplings reach 2 more feature cells; a
        # feature cell is UNSHUFFLE input pixels wide (measured: tests/models/test_archs.py).
        cells = 2 + 15 * int(params.get("num_block", 23)) + 2
        return cells * UNSHUFFLE.get(int(scale), 1)


ARCH = RRDBNet()
