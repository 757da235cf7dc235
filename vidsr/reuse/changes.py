"""The change map of a frame: which tiles of the model's input changed since their kept output
was computed, widened by the network's receptive field.

Every input pixel keeps a reference value: its value when it last *changed*, i.e. moved by more
than the threshold from its reference (then the reference becomes the new value). A tile counts
as changed when any pixel within ``reach`` pixels of it changed in this frame. A kept tile output
was therefore computed from inputs within the threshold of each pixel's reference, and the
current inputs are within it too: they differ from the kept output's inputs by at most twice the
threshold, however long the tile is kept (slow drift moves the pixel past the threshold, changes
it and recomputes the tile). With threshold 0 only exactly equal inputs are reused.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def changed_pixels(
    current: torch.Tensor, reference: torch.Tensor, threshold: float
) -> torch.Tensor:
    """(h, w) bool: pixels where any channel of ``current`` (C, h, w) differs from
    ``reference`` by more than ``threshold`` (same units as the tensors)."""
    return (current - reference).abs_().amax(dim=0) > threshold


def dilate(mask: torch.Tensor, reach: int) -> torch.Tensor:
    """(h, w) bool ``mask`` grown by ``reach`` pixels in every direction (a square)."""
    if reach <= 0:
        return mask
    m = mask[None, None].to(torch.float32)
    k = 2 * reach + 1
    m = F.max_pool2d(m, (1, k), stride=1, padding=(0, reach))
    m = F.max_pool2d(m, (k, 1), stride=1, padding=(reach, 0))
    return m[0, 0] > 0


def tile_any(mask: torch.Tensor, tile: int) -> torch.Tensor:
    """(ceil(h/tile), ceil(w/tile)) bool: whether any pixel of each tile is set."""
    h, w = mask.shape
    m = mask[None, None].to(torch.float32)
    m = F.pad(m, (0, (-w) % tile, 0, (-h) % tile))
    return F.max_pool2d(m, tile, stride=tile)[0, 0] > 0


def changed_tiles(changed: torch.Tensor, tile: int, reach: int) -> torch.Tensor:
    """Tiles (``tile`` pixels a side) with a changed pixel within ``reach`` pixels of them."""
    return tile_any(dilate(changed, reach), tile)
