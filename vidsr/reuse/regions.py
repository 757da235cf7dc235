"""Run the model only on the changed regions of each frame and keep the output of the rest.

:class:`RegionReuse` wraps an :class:`~vidsr.models.Upscaler` and is called like it on batches of
consecutive frames of one run (one window or job segment: :meth:`reset` starts a new one). Per
frame it decides from the inputs alone (:mod:`vidsr.reuse.changes`): the whole frame (the first
frame, a refresh every ``refresh`` frames, or when the changed tiles with their context would
cost as much as the frame), no model at all (no tile changed: a duplicate frame), or the changed
tiles only. Changed tiles that touch are one region; a region runs as one window, its bounding
box grown by ``margin`` input pixels (the architecture's receptive field, rounded up to its
input multiple) and clipped at the frame's edges, where the network then sees the frame's own
border. Only the changed tiles' own output pixels are written into the kept output, so a tile
that did not change keeps exactly the output it had.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from vidsr.models import Upscaler
from vidsr.reuse.changes import changed_pixels, changed_tiles
from vidsr.reuse.level import parse_reuse

DEFAULT_TILE = 16
"""Side of a change-map tile in input pixels (README, reuse section: measured)."""
DEFAULT_REFRESH = 60
"""The whole frame is computed at least every this many frames (README, reuse section)."""
REGION_SHARE = 0.75
"""Regions run only when their windows hold less than this share of the frame's pixels: a
window costs more per pixel than a whole frame (oneDNN builds kernels for each new shape;
measured 1.12x on ucf_makeup), so near the whole frame, the whole frame is cheaper."""
WINDOW_STEP = 16
"""Window sides are rounded up to this many input pixels, so that few shapes recur."""


@dataclass
class ReuseCounters:
    """What reuse did in a run: tiles of the change map computed, frames skipped, and the
    input pixels the network ran on (windows include their context) against a full run's."""

    frames: int = 0
    frames_full: int = 0
    frames_skipped: int = 0
    tiles_total: int = 0
    tiles_computed: int = 0
    pixels_total: int = 0
    pixels_computed: int = 0

    @property
    def tile_fraction(self) -> float:
        """Share of the change-map tiles whose output was computed (1.0 with reuse off)."""
        return self.tiles_computed / self.tiles_total if self.tiles_total else 1.0

    @property
    def pixel_fraction(self) -> float:
        """Share of a full run's network input pixels that were computed (windows with
        their context); about the share of the model time spent."""
        return self.pixels_computed / self.pixels_total if self.pixels_total else 1.0

    def as_dict(self) -> dict[str, float]:
        """The counters and both fractions, for reports."""
        return {
            "frames": self.frames,
            "frames_full": self.frames_full,
            "frames_skipped": self.frames_skipped,
            "tiles_total": self.tiles_total,
            "tiles_computed": self.tiles_computed,
            "tile_fraction": self.tile_fraction,
            "pixel_fraction": self.pixel_fraction,
        }


Box = tuple[int, int, int, int]
"""A region in input pixels: (y0, y1, x0, x1)."""


@dataclass(frozen=True)
class _Region:
    """Changed tiles that touch each other, and the window (their box plus context) they run
    in; only the tiles' own pixels are written."""

    tiles: tuple[Box, ...]
    window: Box


@dataclass(frozen=True)
class _Plan:
    """One frame's decision: ``full``, or the regions to compute (empty: none)."""

    full: bool
    regions: tuple[_Region, ...] = ()


def _groups(tiles: list[tuple[int, int]]) -> list[list[tuple[int, int]]]:
    """``tiles`` (ty, tx) grouped by 8-connectivity."""
    left = {(int(ty), int(tx)) for ty, tx in tiles}
    groups = []
    while left:
        stack = [left.pop()]
        group = []
        while stack:
            ty, tx = stack.pop()
            group.append((ty, tx))
            for dy in (-1, 0, 1):
                for dx in (-1, 0, 1):
                    if (ty + dy, tx + dx) in left:
                        left.remove((ty + dy, tx + dx))
                        stack.append((ty + dy, tx + dx))
        groups.append(sorted(group))
    return sorted(groups)


def supports_reuse(upscaler: Upscaler) -> bool:
    """Whether reuse applies: a per-frame network (classical resamplers cost less than the
    bookkeeping; one that reads neighbouring frames sees changes its own input does not show)
    whose output is not resized afterwards (the resize would reach across tiles)."""
    return (
        not upscaler.classical
        and not upscaler.info.neighbours
        and upscaler.scale == upscaler.native_scale
    )


def held_bytes(lr_px: int, hr_px: int) -> int:
    """What a :class:`RegionReuse` keeps between frames: the kept output (float RGB at the
    output size) and the reference input (float RGB at the input size)."""
    return 12 * hr_px + 12 * lr_px


def region_reuse(upscaler: Upscaler, reuse: str) -> RegionReuse | None:
    """A fresh :class:`RegionReuse` for a ``--reuse`` value, or None when it is off or does not
    apply to this model."""
    level = parse_reuse(reuse)
    if level is None or not supports_reuse(upscaler):
        return None
    return RegionReuse(upscaler, level)


class RegionReuse:
    """``reuse(lr) -> sr`` as ``upscaler(lr)``, computing only what changed (module docstring).

    ``threshold`` is in levels of 255 (:func:`vidsr.reuse.level.parse_reuse`).
    """

    def __init__(
        self,
        upscaler: Upscaler,
        threshold: float,
        *,
        tile: int = DEFAULT_TILE,
        refresh: int = DEFAULT_REFRESH,
    ) -> None:
        if not supports_reuse(upscaler):
            raise ValueError(f"reuse does not apply to {upscaler!r}")
        if tile <= 0 or refresh <= 0 or threshold < 0:
            raise ValueError(f"bad reuse settings: tile {tile}, refresh {refresh}, {threshold}")
        self.upscaler = upscaler
        self.threshold = threshold / 255.0
        multiple = upscaler.info.multiple
        self.reach = upscaler.info.receptive_field
        self.tile = -(-tile // multiple) * multiple
        self.margin = -(-self.reach // multiple) * multiple + multiple - 1
        self.refresh = refresh
        self.counters = ReuseCounters()
        self.classical = False  # as Upscaler.classical: evaluation asks
        self.reset()

    def reset(self) -> None:
        """Forget every kept output (a new run or segment starts, or a scene cut)."""
        self._reference: torch.Tensor | None = None
        self._kept: torch.Tensor | None = None
        self._since_full = 0

    def _plan(self, frame: torch.Tensor) -> _Plan:
        """Decide for one frame (C, h, w) from the inputs alone, and update the references."""
        h, w = frame.shape[-2:]
        if self._reference is None or self._since_full + 1 >= self.refresh:
            self._reference = frame.clone()
            self._since_full = 0
            return _Plan(full=True)
        self._since_full += 1
        changed = changed_pixels(frame, self._reference, self.threshold)
        # the reference follows every pixel that changed, so a kept output stays within the
        # threshold of the inputs it came from (see vidsr.reuse.changes)
        self._reference = torch.where(changed, frame, self._reference)
        tiles = changed_tiles(changed, self.tile, self.reach)
        regions = tuple(self._region(g, h, w) for g in _groups(tiles.nonzero().tolist()))
        if sum(_area(r.window) for r in regions) >= REGION_SHARE * h * w:
            self._since_full = 0
            return _Plan(full=True)
        return _Plan(full=False, regions=regions)

    def _region(self, group: list[tuple[int, int]], h: int, w: int) -> _Region:
        """The tiles of ``group`` in pixels, and the window they run in."""
        t, m, multiple = self.tile, self.margin, self.upscaler.info.multiple
        boxes = tuple((ty * t, min(h, ty * t + t), tx * t, min(w, tx * t + t)) for ty, tx in group)
        y0, x0 = min(b[0] for b in boxes), min(b[2] for b in boxes)
        y1, x1 = max(b[1] for b in boxes), max(b[3] for b in boxes)
        wy0, wy1 = _span(y0 - m, y1 + m, h, multiple)
        wx0, wx1 = _span(x0 - m, x1 + m, w, multiple)
        return _Region(boxes, (wy0, wy1, wx0, wx1))

    @torch.inference_mode()  # the kept output is the model's (inference) tensor: written here
    def __call__(self, lr: torch.Tensor) -> torch.Tensor:
        """Upscale a batch (N, 3, h, w) of consecutive frames like ``upscaler(lr)``."""
        plans = [self._plan(frame) for frame in lr]
        n, _, h, w = lr.shape
        th, tw = -(-h // self.tile), -(-w // self.tile)
        full = [i for i, p in enumerate(plans) if p.full]
        c = self.counters
        c.frames += n
        c.tiles_total += n * th * tw
        c.pixels_total += n * h * w
        c.frames_full += len(full)
        c.frames_skipped += sum(1 for p in plans if not p.full and not p.regions)
        c.tiles_computed += len(full) * th * tw
        c.pixels_computed += len(full) * h * w
        full_out = self.upscaler(lr[full]) if full else None
        if full_out is not None and len(full) == n:  # nothing to reuse: no copies either
            self._kept = full_out[-1]
            return full_out
        s = self.upscaler.native_scale
        out: torch.Tensor | None = None
        for i, plan in enumerate(plans):
            if plan.full:
                assert full_out is not None
                self._kept = full_out[full.index(i)]  # a row of its own: safe to write into
            else:
                assert self._kept is not None
                for region in plan.regions:
                    self._compute(lr[i], region, s)
            if out is None:
                out = torch.empty((n, *self._kept.shape), dtype=self._kept.dtype, device=lr.device)
            out[i] = self._kept
        assert out is not None
        return out

    def _compute(self, frame: torch.Tensor, region: _Region, s: int) -> None:
        """Run the network on ``region``'s window of ``frame`` and write its tiles' output."""
        assert self._kept is not None
        wy0, wy1, wx0, wx1 = region.window
        y = self.upscaler(frame[None, :, wy0:wy1, wx0:wx1])[0]
        for y0, y1, x0, x1 in region.tiles:
            self._kept[:, y0 * s : y1 * s, x0 * s : x1 * s] = y[
                :, (y0 - wy0) * s : (y1 - wy0) * s, (x0 - wx0) * s : (x1 - wx0) * s
            ]
        self.counters.tiles_computed += len(region.tiles)
        self.counters.pixels_computed += _area(region.window)


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


def _area(box: Box) -> int:
    y0, y1, x0, x1 = box
    return (y1 - y0) * (x1 - x0)
