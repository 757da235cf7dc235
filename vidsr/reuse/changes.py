"""The change map of a frame: which tiles of the model's input changed since their kept output
was computed, widened by the network's receptive field.

The input is judged in square blocks (:class:`Criterion`): a block *changes* when the mean
|difference| between its pixels and their references, on any RGB channel, passes the block
threshold, when its mean signed difference passes the shift threshold (a uniform brightness
change: a fade), or when any one pixel passes the peak threshold. Averaging over a block lets the
scattered updates of a level or two that a codec makes on still pictures cancel out, where a
moving edge or object does not. When a block changes, its pixels' references become their new
values; a block that does not change keeps its references, however long. A tile counts as
changed when any pixel within ``reach`` pixels of it lies in a changed block.

The drift bound: a kept tile output was computed from inputs whose blocks were within the
thresholds of their references, and the current inputs are within them too, so each block of
the current input differs from what the kept output was computed from by at most twice the
block threshold in mean (twice the shift threshold in brightness) and twice the peak threshold
at any pixel, however long the tile is
kept (slow drift passes a threshold, changes the block and recomputes its tiles). With block 1
and threshold 0 only exactly equal inputs are reused.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from vidsr.reuse.level import Criterion


def changed_pixels(
    current: torch.Tensor, reference: torch.Tensor, threshold: float
) -> torch.Tensor:
    """(h, w) bool: pixels where any channel of ``current`` (C, h, w) differs from
    ``reference`` by more than ``threshold`` (same units as the tensors)."""
    return (current - reference).abs_().amax(dim=0) > threshold


def changed_blocks(
    current: torch.Tensor, reference: torch.Tensor, criterion: Criterion
) -> torch.Tensor:
    """(h, w) bool: the pixels of every block of ``current`` (C, h, w, values in [0, 1]) that
    changed from ``reference`` by ``criterion`` (edge blocks are the pixels left over)."""
    h, w = current.shape[-2:]
    diff = (current - reference).abs_().mul_(255.0)
    b = criterion.block
    if b == 1:
        return diff.amax(dim=0) > criterion.level
    mean = F.avg_pool2d(diff[None], b, ceil_mode=True)[0].amax(dim=0)
    blocks = mean > criterion.level
    if criterion.shift is not None:
        signed = F.avg_pool2d((current - reference)[None], b, ceil_mode=True)[0]
        blocks |= signed.abs_().amax(dim=0) * 255.0 > criterion.shift
    if criterion.peak is not None:
        blocks |= F.max_pool2d(diff[None], b, ceil_mode=True)[0].amax(dim=0) > criterion.peak
    return blocks.repeat_interleave(b, 0).repeat_interleave(b, 1)[:h, :w]


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
