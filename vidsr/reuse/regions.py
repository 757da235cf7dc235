"""Run the model only on the changed regions of each frame and keep the output of the rest.

:class:`RegionReuse` wraps an :class:`~vidsr.models.Upscaler` and is called like it on batches of
consecutive frames of one run (one window or job segment: :meth:`reset` starts a new one). Per
frame it decides from the inputs alone (:mod:`vidsr.reuse.changes`): the whole frame (the first
frame, a refresh every ``refresh`` frames, or when the changed tiles with their context would
cost as much as the frame), no model at all (no tile changed: a duplicate frame), or the changed
tiles only. The planning is :class:`ReusePlanner`'s (no model: ``scripts/bench_reuse_share.py``
measures with it). Changed tiles are covered by windows (:func:`vidsr.reuse.windows.cover`),
each grown by ``margin`` input pixels (the architecture's receptive field, rounded up to its
input multiple) and clipped at the frame's edges, where the network then sees the frame's own
border. Only the changed tiles' own output pixels are written into the kept output, so a tile
that did not change keeps exactly the output it had.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from vidsr.models import Upscaler
from vidsr.reuse.changes import changed_blocks, changed_tiles
from vidsr.reuse.level import Criterion, parse_reuse
from vidsr.reuse.windows import Region, area, cover

DEFAULT_TILE = 16
"""Side of a change-map tile in input pixels (README, reuse section: measured)."""
DEFAULT_REFRESH = 60
"""The whole frame is computed at least every this many frames (README, reuse section)."""
REGION_SHARE = 0.75
"""Regions run only when their windows hold less than this share of the frame's pixels: a
window costs more per pixel than a whole frame (oneDNN builds kernels for each new shape;
measured 1.12x on ucf_makeup), so near the whole frame, the whole frame is cheaper."""


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


@dataclass(frozen=True)
class _Plan:
    """One frame's decision: ``full``, or the regions to compute (empty: none)."""

    full: bool
    regions: tuple[Region, ...] = ()


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
    criterion = parse_reuse(reuse)
    if criterion is None or not supports_reuse(upscaler):
        return None
    return RegionReuse(upscaler, criterion)


class ReusePlanner:
    """The per-frame decisions of reuse, from the inputs alone (no model): keeps the change
    references (:mod:`vidsr.reuse.changes`) and says for each frame whether to compute it whole,
    not at all, or which regions (module docstring). ``reach``: the network's receptive field;
    ``multiple``: the input multiple its windows are aligned to."""

    def __init__(
        self,
        criterion: Criterion,
        reach: int,
        multiple: int,
        *,
        tile: int = DEFAULT_TILE,
        refresh: int = DEFAULT_REFRESH,
    ) -> None:
        if tile <= 0 or refresh <= 0 or reach < 0 or multiple <= 0:
            raise ValueError(f"bad reuse settings: tile {tile}, refresh {refresh}, reach {reach}")
        self.criterion = criterion
        self.reach = reach
        self.multiple = multiple
        self.tile = -(-tile // multiple) * multiple
        self.margin = -(-reach // multiple) * multiple + multiple - 1
        self.refresh = refresh
        self.reset()

    def reset(self) -> None:
        """Forget every reference (a new run or segment starts, or a scene cut)."""
        self._reference: torch.Tensor | None = None
        self._since_full = 0

    def plan(self, frame: torch.Tensor) -> _Plan:
        """Decide for one frame (C, h, w) and update the references."""
        h, w = frame.shape[-2:]
        if self._reference is None or self._since_full + 1 >= self.refresh:
            self._reference = frame.clone()
            self._since_full = 0
            return _Plan(full=True)
        self._since_full += 1
        if self.criterion.whole:  # an exact repeat, or the whole frame
            if torch.equal(frame, self._reference):
                return _Plan(full=False)
            self._reference = frame.clone()
            self._since_full = 0
            return _Plan(full=True)
        changed = changed_blocks(frame, self._reference, self.criterion)
        # the references follow every block that changed, so a kept output stays within the
        # thresholds of the inputs it came from (see vidsr.reuse.changes)
        self._reference = torch.where(changed, frame, self._reference)
        tiles = changed_tiles(changed, self.tile, self.reach)
        regions = cover(tiles, self.tile, self.margin, h, w, self.multiple)
        if sum(area(r.window) for r in regions) >= REGION_SHARE * h * w:
            self._since_full = 0
            return _Plan(full=True)
        return _Plan(full=False, regions=regions)


class RegionReuse:
    """``reuse(lr) -> sr`` as ``upscaler(lr)``, computing only what changed (module docstring).

    ``criterion`` says when the input changed (:func:`vidsr.reuse.level.parse_reuse`).
    """

    def __init__(
        self,
        upscaler: Upscaler,
        criterion: Criterion,
        *,
        tile: int = DEFAULT_TILE,
        refresh: int = DEFAULT_REFRESH,
    ) -> None:
        if not supports_reuse(upscaler):
            raise ValueError(f"reuse does not apply to {upscaler!r}")
        self.upscaler = upscaler
        self.planner = ReusePlanner(
            criterion,
            upscaler.info.receptive_field,
            upscaler.info.multiple,
            tile=tile,
            refresh=refresh,
        )
        self.counters = ReuseCounters()
        self.classical = False  # as Upscaler.classical: evaluation asks
        self.reset()

    @property
    def criterion(self) -> Criterion:
        """When the input counts as changed."""
        return self.planner.criterion

    @property
    def reach(self) -> int:
        """Input pixels around a change whose tiles are recomputed (the receptive field)."""
        return self.planner.reach

    @property
    def tile(self) -> int:
        """Side of a change-map tile in input pixels."""
        return self.planner.tile

    def reset(self) -> None:
        """Forget every kept output (a new run or segment starts, or a scene cut)."""
        self.planner.reset()
        self._kept: torch.Tensor | None = None
        self._kept_returned = False  # _kept is a frame returned to the caller: copy to write

    @torch.inference_mode()  # the kept output is the model's (inference) tensor: written here
    def __call__(self, lr: torch.Tensor) -> torch.Tensor:
        """Upscale a batch (N, 3, h, w) of consecutive frames like ``upscaler(lr)``."""
        plans = [self.planner.plan(frame) for frame in lr]
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
            self._kept, self._kept_returned = full_out[-1], True
            return full_out
        s = self.upscaler.native_scale
        out: torch.Tensor | None = None
        for i, plan in enumerate(plans):
            if plan.full:
                assert full_out is not None
                self._kept = full_out[full.index(i)]  # a row of its own: safe to write into
                self._kept_returned = False
            else:
                assert self._kept is not None
                if plan.regions and self._kept_returned:  # copy on write: it was handed on
                    self._kept, self._kept_returned = self._kept.clone(), False
                for region in plan.regions:
                    self._compute(lr[i], region, s)
            if out is None:
                out = torch.empty((n, *self._kept.shape), dtype=self._kept.dtype, device=lr.device)
            out[i] = self._kept
        assert out is not None
        return out

    def _compute(self, frame: torch.Tensor, region: Region, s: int) -> None:
        """Run the network on ``region``'s window of ``frame`` and write its tiles' output."""
        assert self._kept is not None
        wy0, wy1, wx0, wx1 = region.window
        y = self.upscaler(frame[None, :, wy0:wy1, wx0:wx1])[0]
        for y0, y1, x0, x1 in region.tiles:
            self._kept[:, y0 * s : y1 * s, x0 * s : x1 * s] = y[
                :, (y0 - wy0) * s : (y1 - wy0) * s, (x0 - wx0) * s : (x1 - wx0) * s
            ]
        self.counters.tiles_computed += len(region.tiles)
        self.counters.pixels_computed += area(region.window)
