"""Classical upscalers (bicubic, Lanczos-3) with the same call shape as the networks.

Both take ``(N, C, h, w)`` float tensors and return ``(N, C, H, W)``; neither clamps (callers do).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from vidsr.errors import InvalidOptionError

LANCZOS_LOBES = 3


def output_size(h: int, w: int, scale: float) -> tuple[int, int]:
    """``(round(h*scale), round(w*scale))`` with halves rounded up, at least 1."""
    return max(1, math.floor(h * scale + 0.5)), max(1, math.floor(w * scale + 0.5))


def bicubic_resize(x: torch.Tensor, size: tuple[int, int], antialias: bool = False) -> torch.Tensor:
    """PyTorch bicubic resize (``align_corners=False``).

    It differs from MATLAB's ``imresize``: PyTorch's cubic kernel uses a = -0.75 (MATLAB: -0.5, a
    little softer), borders replicate the edge pixel (MATLAB mirrors), and with
    ``antialias=False`` a downscale does not widen the kernel (MATLAB always does). For upscaling
    only the kernel constant and the border handling differ.
    """
    if x.dtype not in (torch.float32, torch.float64):
        x = x.float()
    return F.interpolate(x, size=size, mode="bicubic", align_corners=False, antialias=antialias)


def _lanczos(t: torch.Tensor, lobes: int) -> torch.Tensor:
    return torch.where(t.abs() < lobes, torch.sinc(t) * torch.sinc(t / lobes), torch.zeros_like(t))


def _lanczos_taps(
    in_size: int, out_size: int, lobes: int, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """Source indices and normalised weights, each ``(out_size, taps)``, for one axis."""
    scale = out_size / in_size
    stretch = max(1.0, 1.0 / scale)  # widen the kernel when shrinking (anti-aliasing)
    support = lobes * stretch
    taps = math.ceil(2 * support) + 1
    centre = (torch.arange(out_size, dtype=torch.float64) + 0.5) / scale - 0.5
    first = torch.floor(centre - support).to(torch.int64) + 1
    index = first[:, None] + torch.arange(taps, dtype=torch.int64)[None, :]
    weight = _lanczos((centre[:, None] - index) / stretch, lobes)
    weight = weight / weight.sum(dim=1, keepdim=True)
    index = index.clamp(0, in_size - 1)  # replicate the edge pixel
    return index.to(device), weight.to(device=device, dtype=torch.float32)


def _lanczos_axis(x: torch.Tensor, out_size: int, dim: int, lobes: int) -> torch.Tensor:
    index, weight = _lanczos_taps(x.shape[dim], out_size, lobes, x.device)
    shape = [1] * x.ndim
    shape[dim] = out_size
    out = x.index_select(dim, index[:, 0]) * weight[:, 0].reshape(shape)
    for t in range(1, index.shape[1]):  # one gather per tap: memory stays at one output
        out.add_(x.index_select(dim, index[:, t]) * weight[:, t].reshape(shape))
    return out


def lanczos_resize(
    x: torch.Tensor, size: tuple[int, int], lobes: int = LANCZOS_LOBES
) -> torch.Tensor:
    """Separable Lanczos resize (``lobes``=3: Lanczos-3), pixel centres aligned as in bicubic.

    Weights are normalised to sum to 1 per output pixel, so flat areas stay flat; edges replicate.
    """
    x = x.float() if x.dtype not in (torch.float32, torch.float64) else x
    x = _lanczos_axis(x, size[0], x.ndim - 2, lobes)
    return _lanczos_axis(x, size[1], x.ndim - 1, lobes)


class Resampler(nn.Module):
    """A classical upscaler by ``scale`` (any positive float): ``bicubic`` or ``lanczos``."""

    def __init__(self, method: str, scale: float) -> None:
        super().__init__()
        if method not in ("bicubic", "lanczos"):
            raise InvalidOptionError(f"unknown resampling method {method!r}")
        if not scale > 0:
            raise InvalidOptionError(f"scale must be positive, not {scale}")
        self.method, self.scale = method, float(scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = output_size(x.shape[-2], x.shape[-1], self.scale)
        if self.method == "bicubic":
            return bicubic_resize(x, size)
        return lanczos_resize(x, size)
