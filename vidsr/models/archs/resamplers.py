"""The classical resamplers (bicubic, Lanczos-3) as architectures without weights."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from vidsr.models.archs.base import Architecture
from vidsr.models.resample import LANCZOS_LOBES, Resampler


class ResamplerArch(Architecture):
    """A weightless interpolation by any positive factor; computed in fp32."""

    classical = True
    precisions = (torch.float32,)

    def __init__(self, name: str, support: int) -> None:
        self.name = name
        self._support = support

    def build(self, scale: float, params: Mapping[str, Any]) -> nn.Module:
        return Resampler(self.name, scale)

    def bytes_per_pixel(self, scale: float, params: Mapping[str, Any], dtype: torch.dtype) -> float:
        return 4.0 * 3 * (1 + 2 * scale**2)

    def receptive_field(self, scale: float, params: Mapping[str, Any]) -> int:
        if self.name == "lanczos":  # the kernel widens when shrinking (anti-aliasing)
            return math.ceil(self._support * max(1.0, 1.0 / scale))
        return self._support


BICUBIC = ResamplerArch("bicubic", 2)
LANCZOS = ResamplerArch("lanczos", LANCZOS_LOBES)
