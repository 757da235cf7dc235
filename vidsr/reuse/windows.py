"""The windows the model runs on: changed tiles covered by rectangles, each grown by the
network's context.

A window costs the pixels it holds, its context included, plus a fixed cost per model call
(:data:`WINDOW_COST`). :func:`cover` covers the changed tiles row by row: a row's runs of
changed tiles are boxes, and a box joins the box above it when their one window costs no more
than the two apart. Scattered changes so get small windows of their own, where one bounding box
around all of them would hold most of the frame; a moving object gets one window.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

Box = tuple[int, int, int, int]
"""A rectangle in input pixels: (y0, y1, x0, x1)."""

WINDOW_STEP = 16
"""Window sides are rounded up to this many input pixels, so that few shapes recur."""
WINDOW_COST = 2048
"""The fixed cost of one more model call, in input pixels (window set-up, oneDNN's per-shape
work): a box joins its neighbour when that saves fewer pixels than this."""


@dataclass(frozen=True)
class Region:
    """Changed tiles and the window (their box plus context) they run in; only the tiles' own
    pixels are written."""

    tiles: tuple[Box, ...]
    window: Box


def cover(
    changed: torch.Tensor, tile: int, margin: int, h: int, w: int, multiple: int
) -> tuple[Region, ...]:
    """Windows for the changed tiles (``changed``: (rows, cols) bool of ``tile``-pixel tiles of
    an ``h`` x ``w`` frame), each grown by ``margin`` pixels and aligned to ``multiple``."""

    def window(b: list[int]) -> Box:
        y0, y1 = _span(b[0] * tile - margin, b[1] * tile + margin, h, multiple)
        x0, x1 = _span(b[2] * tile - margin, b[3] * tile + margin, w, multiple)
        return y0, y1, x0, x1

    def cost(b: list[int]) -> int:
        return area(window(b)) + WINDOW_COST

    grid = changed.tolist()
    boxes: list[list[int]] = []  # [ty0, ty1, tx0, tx1] in tiles, ends exclusive
    above: list[list[int]] = []  # boxes that reach the row before
    for ty, row in enumerate(grid):
        reaching: list[list[int]] = []
        for x0, x1 in _runs(row):
            run = [ty, ty + 1, x0, x1]
            best, best_saving = None, -1
            for b in above:
                if b[1] < ty or b[2] > x1 or b[3] < x0:  # not touching this run
                    continue
                union = [min(b[0], ty), ty + 1, min(b[2], x0), max(b[3], x1)]
                saving = cost(b) + cost(run) - cost(union)
                if saving >= 0 and saving > best_saving:
                    best, best_saving = b, saving
            if best is None:
                boxes.append(run)
                best = run
            else:
                best[:] = [min(best[0], ty), ty + 1, min(best[2], x0), max(best[3], x1)]
            if all(best is not r for r in reaching):
                reaching.append(best)
        above = reaching
    regions = []
    for b in boxes:
        tiles = tuple(
            (ty * tile, min(h, ty * tile + tile), tx * tile, min(w, tx * tile + tile))
            for ty in range(b[0], b[1])
            for tx in range(b[2], b[3])
            if grid[ty][tx]
        )
        regions.append(Region(tiles, window(b)))
    return tuple(regions)


def _runs(row: list[bool]) -> list[tuple[int, int]]:
    """(start, end) of each run of True in ``row``, end exclusive."""
    runs, start = [], None
    for i, v in enumerate([*row, False]):
        if v and start is None:
            start = i
        elif not v and start is not None:
            runs.append((start, i))
            start = None
    return runs


def _span(start: int, end: int, size: int, multiple: int) -> tuple[int, int]:
    """A window side covering ``start .. end`` inside ``0 .. size``: its length rounded up to
    :data:`WINDOW_STEP` (moved back from the frame's end if need be), its start aligned to
    ``multiple``; only ever larger than asked for."""
    start = max(0, start) // multiple * multiple
    length = min(size, -(-(min(size, end) - start) // WINDOW_STEP) * WINDOW_STEP)
    if start + length > size:
        start = (size - length) // multiple * multiple
        length = size - start
    return start, start + length


def area(box: Box) -> int:
    """Pixels of ``box``."""
    y0, y1, x0, x1 = box
    return (y1 - y0) * (x1 - x0)
