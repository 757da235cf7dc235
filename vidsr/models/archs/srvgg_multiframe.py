"""SRVGGNetCompact that also sees its neighbours (``MultiFrameSRVGG``, vidsr-vsr models).

The per-frame network (``srvgg.py``) with one more 3x3 convolution, ``neighbours``, whose output
is added to that of the first convolution. It reads, for each of ``num_neighbours`` neighbouring
frames already aligned to the current one (``vidsr.temporal.align``), the aligned frame's
difference from the current frame weighted by its trust, and the trust map itself (see
:func:`stack_inputs`). The convolution has no bias and starts at zero, so a fresh network
initialised from per-frame weights computes exactly the per-frame network's output (adding zeros
changes no float).

A state_dict is this architecture's when it has ``neighbours.weight`` beside SRVGGNetCompact's
``body.N`` keys; the number of neighbours is read from that tensor's input channels.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch import nn

from vidsr.errors import UnsupportedModelError
from vidsr.models.archs import srvgg
from vidsr.models.archs.base import ArchInfo, Architecture, StateDict, element_bytes

if TYPE_CHECKING:  # the temporal package loads OpenCV
    from vidsr.temporal.align import NeighbourViews

CHANNELS_PER_NEIGHBOUR = 4
"""Input channels each neighbour adds: its trust-weighted RGB difference (3) and its trust (1)."""


def stack_inputs(current: torch.Tensor, aligned: torch.Tensor, trust: torch.Tensor) -> torch.Tensor:
    """The network's input from frames already aligned to the current one.

    ``current`` (N, 3, h, w), ``aligned`` (N, K, 3, h, w), ``trust`` (N, K, 1, h, w) in [0, 1].
    Returns (N, 3 + 4K, h, w): the current frame, then each neighbour's
    ``(aligned - current) * trust``, then the K trust maps.
    """
    if aligned.ndim != 5 or trust.ndim != 5 or aligned.shape[:2] != trust.shape[:2]:
        raise UnsupportedModelError(
            f"neighbours must be (N,K,3,h,w) with trust (N,K,1,h,w), got "
            f"{tuple(aligned.shape)} and {tuple(trust.shape)}"
        )
    n, k = aligned.shape[:2]
    h, w = current.shape[-2:]
    diff = (aligned - current.unsqueeze(1)) * trust
    return torch.cat([current, diff.reshape(n, 3 * k, h, w), trust.reshape(n, k, h, w)], dim=1)


class MultiFrameNet(nn.Module):
    """basicsr's SRVGGNetCompact layers (same key names) plus the zero-started ``neighbours``
    convolution; input (N, 3 + 4K, h, w) as :func:`stack_inputs` makes it."""

    def __init__(self, per_frame: nn.Module, num_neighbours: int) -> None:
        super().__init__()
        self.body = per_frame.body
        self.upsampler = per_frame.upsampler
        self.upscale = int(per_frame.upscale)
        feat = self.body[0].out_channels
        self.neighbours = nn.Conv2d(
            CHANNELS_PER_NEIGHBOUR * num_neighbours, feat, 3, 1, 1, bias=False
        )
        nn.init.zeros_(self.neighbours.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        current = x[:, :3]
        out = self.body[0](current) + self.neighbours(x[:, 3:])
        for layer in self.body[1:]:
            out = layer(out)
        out = self.upsampler(out)
        return out + F.interpolate(current, scale_factor=self.upscale, mode="nearest")


class MultiFrameSRVGG(Architecture):
    """SRVGGNetCompact widened to the current frame plus aligned neighbours and trust maps."""

    name = "MultiFrameSRVGG"
    default_params: Mapping[str, Any] = {
        **srvgg.SRVGGNetCompact.default_params,
        "num_neighbours": 2,
    }

    def detect(self, state: StateDict, act_hint: str | None = None) -> ArchInfo | None:
        extra = state.get("neighbours.weight")
        if extra is None:
            return None
        per_frame = srvgg.ARCH.detect({k: v for k, v in state.items() if k.startswith("body.")})
        if per_frame is None or per_frame.params["num_in_ch"] != 3:
            raise UnsupportedModelError("neighbours.weight without a 3-channel SRVGGNetCompact")
        channels = extra.shape[1]
        if extra.ndim != 4 or channels % CHANNELS_PER_NEIGHBOUR or channels == 0:
            raise UnsupportedModelError(
                f"neighbours.weight has {channels} input channels, not a multiple of "
                f"{CHANNELS_PER_NEIGHBOUR}"
            )
        params = {**per_frame.params, "num_neighbours": channels // CHANNELS_PER_NEIGHBOUR}
        return ArchInfo(self, per_frame.scale, params)

    def build(self, scale: float, params: Mapping[str, Any]) -> nn.Module:
        k = int(params.get("num_neighbours", self.default_params["num_neighbours"]))
        if k < 1:
            raise UnsupportedModelError(f"num_neighbours must be at least 1, got {k}")
        single = {key: v for key, v in params.items() if key != "num_neighbours"}
        return MultiFrameNet(srvgg.ARCH.build(scale, single), k)

    def retarget(self, state: StateDict, scale: float) -> dict[str, torch.Tensor]:
        return srvgg.ARCH.retarget(state, scale)

    def neighbours(self, params: Mapping[str, Any]) -> int:
        return int(params.get("num_neighbours", self.default_params["num_neighbours"]))

    def input_channels(self, params: Mapping[str, Any]) -> int:
        return 3 + CHANNELS_PER_NEIGHBOUR * self.neighbours(params)

    def network_input(self, current: torch.Tensor, views: NeighbourViews) -> torch.Tensor:
        return stack_inputs(current, views.aligned.to(current), views.trust.to(current))

    def bytes_per_pixel(self, scale: float, params: Mapping[str, Any], dtype: torch.dtype) -> float:
        k = self.neighbours(params)
        # the per-frame network's, plus the stacked input and the neighbours' feature map
        feat = int(params.get("num_feat", self.default_params["num_feat"]))
        extra = (CHANNELS_PER_NEIGHBOUR * k + feat) * element_bytes(dtype) + 4 * 3 * (1 + 4 * k)
        return srvgg.ARCH.bytes_per_pixel(scale, params, dtype) + 1.5 * extra

    def receptive_field(self, scale: float, params: Mapping[str, Any]) -> int:
        # the neighbours' 3x3 convolution runs beside the first one: no further reach
        return srvgg.ARCH.receptive_field(scale, params)


ARCH = MultiFrameSRVGG()
