"""Multi-frame back-projection: an upscaled frame corrected until it explains its neighbours too.

Iterative back-projection (Irani and Peleg) over several frames. The estimate of the current
frame's high-resolution picture is warped into each neighbour's geometry, brought down with the
known kernel (MATLAB bicubic, the benchmarks' and the ``bi`` models' degradation), and compared
with that neighbour's own input frame; the differences, weighted by the motion's trust, are
brought back up, warped back onto the current frame and added. Each neighbour sampled the scene
at other sub-pixel positions, so this recovers detail that no single frame holds, wherever the
motion is right. With no neighbours it is the single-frame back-projection.

The motion and trust are :class:`~vidsr.temporal.align.NeighbourAligner`'s (DIS flow on the small
input, its forward-backward check), in both directions. numpy and OpenCV on the CPU (the
reduction is :func:`vidsr.quality.resize.imresize`); this module never imports PyAV.

It is issue 18's measured first step, used by ``scripts/bench_multiframe.py``; the pipeline does
not run it yet (see the README's multi-frame section).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import torch

from vidsr.errors import InvalidOptionError
from vidsr.quality.resize import imresize
from vidsr.temporal.align import NeighbourAligner


@dataclass(frozen=True)
class Neighbour:
    """One neighbouring input frame and its motion to and from the current one (input grid)."""

    lr: np.ndarray
    """(h, w, 3) float32 RGB in [0, 1]: the neighbour's input frame."""
    to_current: np.ndarray
    """(h, w, 2) float32: pixel q of the neighbour is at q + flow in the current frame."""
    trust: np.ndarray
    """(h, w) float32 in [0, 1]: trust in ``to_current``, in the neighbour's frame."""
    from_current: np.ndarray
    """(h, w, 2) float32: pixel p of the current frame is at p + flow in the neighbour."""
    trust_current: np.ndarray
    """(h, w) float32 in [0, 1]: trust in ``from_current``, in the current frame."""


def find_neighbours(
    current: torch.Tensor, others: Sequence[torch.Tensor], aligner: NeighbourAligner | None = None
) -> list[Neighbour]:
    """The motion between ``current`` (3, h, w) RGB in [0, 1] and each of ``others`` (3, h, w),
    both ways, with the temporal stage's trust (two DIS flows per neighbour)."""
    aligner = aligner or NeighbourAligner()
    found = []
    for other in others:
        there = aligner.align(current, other[None])
        ahead, back = there.grid_flows[0]
        here = aligner.align(other, current[None], [(back, ahead)])
        found.append(
            Neighbour(
                lr=np.ascontiguousarray(other.permute(1, 2, 0).float().numpy()),
                to_current=here.flow[0],
                trust=here.trust[0, 0].numpy(),
                from_current=there.flow[0],
                trust_current=there.trust[0, 0].numpy(),
            )
        )
    return found


def _warp(img: np.ndarray, flow: np.ndarray, scale: int) -> np.ndarray:
    """``img`` (H, W, C) sampled at p + ``scale`` * flow(p / scale), flow on the input grid."""
    h, w = img.shape[:2]
    f = cv2.resize(flow, (w, h), interpolation=cv2.INTER_LINEAR) * scale
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(
        img, gx + f[..., 0], gy + f[..., 1], cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE
    )


def _down(img: np.ndarray, scale: int) -> np.ndarray:
    """MATLAB bicubic reduction of (H, W, 3) by ``scale`` (no rounding)."""
    x = torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1)
    return imresize(x, 1.0 / scale).permute(1, 2, 0).numpy()


def _up(img: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    return cv2.resize(img, size, interpolation=cv2.INTER_CUBIC)


def back_project(
    sr: np.ndarray,
    lr: np.ndarray,
    neighbours: Sequence[Neighbour],
    scale: int,
    iterations: int = 4,
    step: float = 1.0,
) -> np.ndarray:
    """``sr`` (H, W, 3) float32, the current frame upscaled from ``lr`` (H/scale, W/scale, 3),
    corrected by ``iterations`` steps of back-projection over the current frame and
    ``neighbours``. Each step adds ``step`` times the trust-weighted mean of the frames' errors
    (the current frame's at weight 1). Not clamped."""
    if iterations < 0 or step <= 0:
        raise InvalidOptionError(f"iterations >= 0 and step > 0, got {iterations} and {step}")
    big_h, big_w = sr.shape[:2]
    if lr.shape[:2] != (big_h // scale, big_w // scale) or big_h % scale or big_w % scale:
        raise InvalidOptionError(f"sr {sr.shape} is not lr {lr.shape} times {scale}")
    size = (big_w, big_h)
    weight = 1.0 + sum(_up(n.trust_current, size) for n in neighbours)
    estimate = sr.astype(np.float32, copy=True)
    for _ in range(iterations):
        total = _up(lr - _down(estimate, scale), size)
        for n in neighbours:
            error = (n.lr - _down(_warp(estimate, n.to_current, scale), scale)) * n.trust[..., None]
            total += _warp(_up(error, size), n.from_current, scale)
        estimate += step * total / np.asarray(weight, np.float32)[..., None]
    return estimate
