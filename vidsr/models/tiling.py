"""Tiled inference: run a per-pixel-local network on overlapping tiles and stitch the centres.

A tile of ``tile`` x ``tile`` LR pixels is fed with ``pad`` extra pixels of real context on every
side (clipped at the frame edge, where the network sees the same border as on the whole frame);
only the output of the tile's own pixels is kept. When the network's receptive field radius is
at most ``pad`` the stitched result equals whole-frame inference up to float rounding.
"""

from __future__ import annotations

from collections.abc import Callable

import torch


def _starts(size: int, tile: int) -> range:
    return range(0, size, tile)


def tiled_apply(
    fn: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    *,
    scale: int,
    tile: int,
    pad: int,
) -> torch.Tensor:
    """Apply ``fn`` (``(N,C,h,w) -> (N,C',h*scale,w*scale)``) tile by tile; returns float32.

    Tile and pad are in LR pixels. For networks that need sizes divisible by ``m`` (pixel
    unshuffle), pass ``tile`` and ``pad`` multiples of ``m`` and an input whose size is one too.
    """
    if tile <= 0 or pad < 0:
        raise ValueError(f"tile must be > 0 and pad >= 0 (got {tile}, {pad})")
    n, _, h, w = x.shape
    out: torch.Tensor | None = None
    for y0 in _starts(h, tile):
        y1 = min(h, y0 + tile)
        py0, py1 = max(0, y0 - pad), min(h, y1 + pad)
        for x0 in _starts(w, tile):
            x1 = min(w, x0 + tile)
            px0, px1 = max(0, x0 - pad), min(w, x1 + pad)
            y = fn(x[:, :, py0:py1, px0:px1])
            if out is None:
                out = torch.empty(
                    (n, y.shape[1], h * scale, w * scale), dtype=torch.float32, device=y.device
                )
            oy, ox = (y0 - py0) * scale, (x0 - px0) * scale
            out[:, :, y0 * scale : y1 * scale, x0 * scale : x1 * scale] = y[
                :, :, oy : oy + (y1 - y0) * scale, ox : ox + (x1 - x0) * scale
            ]
    if out is None:
        raise ValueError(f"cannot tile an empty frame of {h}x{w}")
    return out


def auto_tile_size(
    height: int,
    width: int,
    *,
    budget_bytes: int,
    bytes_per_pixel: float,
    pad: int = 16,
    batch: int = 1,
    multiple: int = 8,
    min_tile: int = 32,
) -> int:
    """Tile size (LR pixels) so one padded tile fits ``budget_bytes``; 0 when no tiling is needed.

    ``bytes_per_pixel`` is the peak working memory per LR pixel of one frame (see
    ``Upscaler.bytes_per_pixel``). The result is a multiple of ``multiple``, at least
    ``min_tile`` even if that exceeds the budget.
    """
    if budget_bytes <= 0 or bytes_per_pixel <= 0:
        raise ValueError("budget_bytes and bytes_per_pixel must be positive")
    per_pixel = bytes_per_pixel * max(1, batch)
    if height * width * per_pixel <= budget_bytes:
        return 0
    side = int((budget_bytes / per_pixel) ** 0.5) - 2 * pad
    tile = side // multiple * multiple
    return max(min_tile, tile)
