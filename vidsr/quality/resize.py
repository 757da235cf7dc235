"""MATLAB-compatible bicubic resize (``imresize(img, scale, 'bicubic')``, antialiased).

The standard SR benchmarks make their low-resolution images with MATLAB's ``imresize``; PyTorch's
and OpenCV's bicubic differ from it (no antialiasing when shrinking, a=-0.75 kernel), which costs
several tenths of a dB. This is a dense, separable re-implementation of MATLAB's algorithm: for each
axis a (out x in) weight matrix with the a=-0.5 cubic kernel, widened by 1/scale when shrinking, and
symmetric (mirror) handling of the borders. Fast for image-sized inputs on CPU.
"""

from __future__ import annotations

import math
from functools import lru_cache

import torch
import torch.nn.functional as F

from vidsr.errors import InvalidOptionError


def _cubic(x: torch.Tensor) -> torch.Tensor:
    ax = x.abs()
    ax2, ax3 = ax * ax, ax * ax * ax
    near = (1.5 * ax3 - 2.5 * ax2 + 1.0) * (ax <= 1)
    far = (-0.5 * ax3 + 2.5 * ax2 - 4.0 * ax + 2.0) * ((ax > 1) & (ax <= 2))
    return near + far


@lru_cache(maxsize=64)
def _weights(in_len: int, out_len: int, scale: float) -> torch.Tensor:
    """Dense (out_len, in_len) float64 matrix of MATLAB's bicubic contributions."""
    kernel_width = 4.0
    antialias = scale < 1
    if antialias:
        kernel_width /= scale
    x = torch.arange(1, out_len + 1, dtype=torch.float64)
    u = x / scale + 0.5 * (1.0 - 1.0 / scale)
    left = torch.floor(u - kernel_width / 2)
    taps = math.ceil(kernel_width) + 2
    idx = left[:, None] + torch.arange(taps, dtype=torch.float64)[None, :]
    dist = u[:, None] - idx
    w = scale * _cubic(dist * scale) if antialias else _cubic(dist)
    w = w / w.sum(dim=1, keepdim=True)
    # Mirror out-of-range indices (MATLAB: aux = [1:in, in:-1:1]).
    zero_based = (idx - 1).long()
    period = 2 * in_len
    m = torch.remainder(zero_based, period)
    m = torch.where(m >= in_len, period - 1 - m, m)
    mat = torch.zeros(out_len, in_len, dtype=torch.float64)
    mat.scatter_add_(1, m, w)
    return mat


def imresize(img: torch.Tensor, scale: float, size: tuple[int, int] | None = None) -> torch.Tensor:
    """Resize ``img`` (..., H, W) by ``scale`` like MATLAB ``imresize(img, scale, 'bicubic')``.

    The output size is ``ceil(H * scale), ceil(W * scale)`` unless ``size`` (h, w) is given.
    Values are not clamped or rounded: callers that mimic uint8 files round themselves
    (see :func:`quantize`). The computation runs in float32 (float64 for float64 input).
    """
    if scale <= 0:
        raise InvalidOptionError(f"resize scale must be positive, got {scale}")
    if img.dim() < 2:
        raise InvalidOptionError("imresize needs a tensor of shape (..., H, W)")
    h, w = img.shape[-2:]
    out_h, out_w = size if size is not None else (math.ceil(h * scale), math.ceil(w * scale))
    dtype = torch.float64 if img.dtype == torch.float64 else torch.float32
    wh = _weights(h, out_h, float(scale)).to(dtype=dtype, device=img.device)
    ww = _weights(w, out_w, float(scale)).to(dtype=dtype, device=img.device)
    x = img.to(dtype)
    return wh @ x @ ww.T


def quantize(img: torch.Tensor) -> torch.Tensor:
    """Round a [0, 1] image to 8-bit levels (as saving a PNG would) and return it in [0, 1]."""
    return (img.clamp(0, 1) * 255.0).round() / 255.0


def mod_crop(img: torch.Tensor, scale: int) -> torch.Tensor:
    """Crop (..., H, W) at the bottom/right so H and W are multiples of ``scale``."""
    h, w = img.shape[-2:]
    return img[..., : h - h % scale, : w - w % scale]


def bicubic_lr(hr: torch.Tensor, scale: int) -> torch.Tensor:
    """The benchmark LR of an HR image in [0, 1]: mod-crop, MATLAB bicubic down, 8-bit round.

    MATLAB resizes a uint8 image one axis at a time (height first) and rounds to uint8 after
    each pass; doing the same reproduces the official Set5 ``LR_bicubic`` files for all but
    about 1% of the values (those differ by one level).
    """
    x = mod_crop(hr, scale).to(torch.float64)
    h, w = x.shape[-2:]
    wh = _weights(h, h // scale, 1.0 / scale).to(x.device)
    ww = _weights(w, w // scale, 1.0 / scale).to(x.device)
    x = quantize(wh @ x)
    x = quantize(x @ ww.T)
    return x.to(hr.dtype if hr.is_floating_point() else torch.float32)


@lru_cache(maxsize=8)
def _taps(factor: int) -> tuple[torch.Tensor, int]:
    """MATLAB's bicubic reduction by an integer ``factor`` as one shift-invariant filter: its
    taps (float64) and the offset of the first tap from output ``j``'s ``j * factor``."""
    n = 32
    row = _weights(n * factor, n, 1.0 / factor)[n // 2]
    cols = torch.nonzero(row).flatten()
    first, last = int(cols[0]), int(cols[-1])
    return row[first : last + 1].clone(), first - (n // 2) * factor


def _reduce_last(x: torch.Tensor, factor: int) -> torch.Tensor:
    """The last axis of (B, H, W) reduced by ``factor``, mirror borders (MATLAB's).

    The taps are split into groups of ``factor``: with the padded axis viewed as (blocks,
    ``factor``), output ``j`` sums block ``j + i`` times group ``i``, one matrix-vector product
    a group over the whole tensor (a strided unfold's batched products, or a one-channel
    convolution, cost several times more, most of all with OpenMP's passive wait)."""
    taps, offset = _taps(factor)
    groups = -(-len(taps) // factor)
    taps = F.pad(taps, (0, groups * factor - len(taps))).to(x.dtype).to(x.device)
    size, n = x.shape[-1], x.shape[-1] // factor
    left = -offset
    right = (n + groups - 1) * factor - left - size  # the zero taps' columns included
    x = torch.cat([x[..., :left].flip(-1), x, x[..., size - right :].flip(-1)], dim=-1)
    blocks = x.reshape(*x.shape[:-1], n + groups - 1, factor)
    out = blocks[..., :n, :] @ taps[:factor]
    for i in range(1, groups):
        out = out + blocks[..., i : i + n, :] @ taps[i * factor : (i + 1) * factor]
    return out


def reduce(img: torch.Tensor, factor: int) -> torch.Tensor:
    """``img`` (..., H, W), H and W multiples of ``factor``, reduced like MATLAB
    ``imresize(img, 1/factor, 'bicubic')`` (as :func:`imresize`, not rounded), but as a strided
    filter: linear in the pixels, fast at video frame sizes, on any device, differentiable."""
    h, w = img.shape[-2:]
    taps = _taps(factor)[0]
    if h % factor or w % factor or min(h, w) < len(taps):
        raise InvalidOptionError(f"cannot reduce {h}x{w} by {factor}")
    dtype = torch.float64 if img.dtype == torch.float64 else torch.float32
    x = img.to(dtype).reshape(-1, h, w)
    x = _reduce_last(x, factor)  # columns
    x = _reduce_last(x.transpose(1, 2), factor).transpose(1, 2)  # rows
    return x.reshape(*img.shape[:-2], h // factor, w // factor)
