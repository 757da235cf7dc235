"""The temporal stage's full-resolution work on a torch device (a GPU).

The same functions as :mod:`vidsr.temporal.blend_cpu` (``split_frames``, ``build``), so the
stage picks one module per segment and never branches on it. The stage computes motion and
confidences on the small input with OpenCV (:mod:`vidsr.temporal.motion`). Splitting each SR
frame into its bands, warping them and blending them happens at the output's resolution: with
the frames on a GPU, this module does it there, on whole frames, instead of copying every output
frame to the CPU and back. The operations are those of the OpenCV path (bicubic low band;
bilinear warps of both bands, edges replicated; running weighted means), in float32, so both
paths give the same frames to within interpolation rounding.

torch and numpy only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from vidsr.temporal.tuning import Tuning


def device_bytes(pixels: int, frames: int) -> int:
    """Device memory for ``frames`` split frames of ``pixels`` pixels (two float32 bands of
    three channels), plus the work space of one blend, counted from the tensors :func:`blend`
    allocates: the bands it accumulates and their weights (32 bytes a pixel), per source the
    upscaled flow, the positions and the grid (24), the weights (8) and the two warped bands
    (24), and the output with its split (36): 124 bytes, rounded up to 128 (freed before
    :func:`project`, whose tensors take 48); plus the last output, kept for :func:`hold` (12)."""
    return 24 * pixels * frames + (128 + 12) * pixels


@dataclass
class DeviceSplit:
    """A frame as its two bands, (3, H, W) float32 on the device: ``low`` (the bicubic-upscaled
    input, or its blend, within [0, 1]) and ``detail`` (the rest)."""

    detail: torch.Tensor
    low: torch.Tensor

    @property
    def size(self) -> tuple[int, int]:
        return int(self.low.shape[-2]), int(self.low.shape[-1])


def split(sr: torch.Tensor, lr: torch.Tensor) -> DeviceSplit:
    """One SR frame (3, H, W) split around the bicubic upscale of its input (3, h, w)."""
    sr = sr.detach().float()
    low = F.interpolate(
        lr.detach().float()[None], size=tuple(sr.shape[-2:]), mode="bicubic", align_corners=False
    )[0].clamp_(0.0, 1.0)
    return DeviceSplit(sr - low, low)


def _upscaled(img: np.ndarray, size: tuple[int, int], device: torch.device) -> torch.Tensor:
    """(h, w, C) numpy -> (C, H, W) on ``device``, bilinear, pixel centres aligned."""
    t = torch.from_numpy(np.ascontiguousarray(img)).to(device).permute(2, 0, 1)[None]
    return F.interpolate(t, size=size, mode="bilinear", align_corners=False)[0]


def _grid(flow: np.ndarray, size: tuple[int, int], device: torch.device) -> torch.Tensor:
    """``grid_sample`` positions (1, H, W, 2) of the output pixels moved by ``flow`` (h, w, 2),
    given in output pixels on the flow grid."""
    h, w = size
    f = _upscaled(flow, size, device)
    ys = torch.arange(h, device=device, dtype=torch.float32)[:, None]
    xs = torch.arange(w, device=device, dtype=torch.float32)[None, :]
    gx = (xs + f[0] + 0.5) * (2.0 / w) - 1.0
    gy = (ys + f[1] + 0.5) * (2.0 / h) - 1.0
    return torch.stack([gx, gy], -1)[None]


def _warp(img: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
    return F.grid_sample(
        img[None], grid, mode="bilinear", padding_mode="border", align_corners=False
    )[0]


def blend(
    cur: DeviceSplit, sources: list[tuple[DeviceSplit, np.ndarray, np.ndarray, float]]
) -> tuple[torch.Tensor, DeviceSplit]:
    """The frame ``cur`` blended with its ``sources``: (split, flow in output pixels, base and
    detail weights, both on the flow grid, gain). Returns the output (3, H, W) in [0, 1] and the
    split to keep as history."""
    device, size = cur.low.device, cur.size
    high, low = cur.detail.clone(), cur.low.clone()
    w_high = torch.ones((1, *size), device=device)
    w_low = torch.ones((1, *size), device=device)
    for source, flow, weights, gain in sources:
        grid = _grid(flow, size, device)
        a, d = _upscaled(weights, size, device).split(1)
        high.addcmul_(_warp(source.detail, grid), d, value=gain)
        low.addcmul_(_warp(source.low, grid), a, value=gain)
        w_high += d
        w_low += a
    low.div_(w_low).clamp_(0.0, 1.0)
    out = high.div_(w_high).add_(low).clamp_(0.0, 1.0)
    return out, DeviceSplit(out - low, low)


def residual(frame: torch.Tensor, lr: torch.Tensor) -> torch.Tensor:
    """What ``frame`` (3, H, W) fails to explain of its input ``lr`` (3, h, w): the input minus
    the frame brought down to its size with the bicubic kernel of the benchmarks' reduction
    (a=-0.5, antialiased), (3, h, w) on the frame's device."""
    down = F.interpolate(
        frame.detach().float()[None], size=tuple(lr.shape[-2:]), mode="bicubic",
        antialias=True, align_corners=False,
    )[0]  # fmt: skip
    return lr.detach().to(down.device, torch.float32) - down


def project(
    frame: torch.Tensor, history: DeviceSplit, res: torch.Tensor
) -> tuple[torch.Tensor, DeviceSplit]:
    """Back-projection of a blended ``frame`` and its ``history`` split: the residual ``res``
    (3, h, w, from :func:`residual`) upscaled bicubically and added to the low band."""
    up = F.interpolate(res[None], size=tuple(frame.shape[-2:]), mode="bicubic",
                       align_corners=False)[0]  # fmt: skip
    out = (frame + up).clamp_(0.0, 1.0)
    # the history moves by up with its detail kept (as the CPU path), its low band in [0, 1]
    return out, DeviceSplit(history.detail, (history.low + up).clamp_(0.0, 1.0))


def hold(frame: torch.Tensor, last: torch.Tensor, limit: np.ndarray) -> torch.Tensor:
    """``frame`` (3, H, W) with the ``last`` output kept wherever it is within ``limit`` of it:
    each value moves from ``last`` only by what exceeds the limit (0..1, on the flow grid)."""
    lim = _upscaled(limit[..., None], tuple(frame.shape[-2:]), frame.device)
    return frame + (last - frame).clamp_(-lim, lim)


def split_frames(sr: torch.Tensor, lr: torch.Tensor) -> list[tuple[DeviceSplit, torch.Tensor]]:
    """Each SR frame of a batch (N, 3, H, W) split around the bicubic upscale of its input
    (N, 3, h, w), with that input (3, h, w, on the SR frames' device) for the reconstruction
    check."""
    lr = lr.to(sr.device)
    return [(split(sr[i], lr[i]), lr[i]) for i in range(len(sr))]


def build(
    out: torch.Tensor,
    current: DeviceSplit,
    sources: list[tuple[DeviceSplit, np.ndarray, np.ndarray, float]],
    limit: np.ndarray | None,
    shown: torch.Tensor | None,
    check: Callable[[torch.Tensor], torch.Tensor | None],
    tuning: Tuning,
) -> tuple[DeviceSplit, torch.Tensor]:
    """Blend ``current`` with its ``sources`` into ``out`` (3, H, W) float32 on the device, then
    the reconstruction check (``check``) and the hold (keep ``shown`` within ``limit``), as
    :func:`vidsr.temporal.blend_cpu.build` does on whole frames. Returns the history split and
    the output kept for the next hold. ``tuning.detail_cubic`` applies to the CPU path only."""
    frame, history = blend(current, sources)
    res = check(frame) if sources else None
    if res is not None:  # the reconstruction check
        frame, history = project(frame, history, res)
    if limit is not None:
        frame = hold(frame, shown, limit)  # type: ignore[arg-type]
    out.copy_(frame)
    return history, frame
