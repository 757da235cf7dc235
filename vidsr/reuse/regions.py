"""Run the model only on the changed regions of each frame and keep the output of the rest.

:class:`RegionReuse` wraps an :class:`~vidsr.models.Upscaler` and is called like it on batches of
consecutive frames of one run (one window or job segment: :meth:`reset` starts a new one). Per
frame it decides from the inputs alone (:mod:`vidsr.reuse.changes`): the whole frame (the first
frame, a refresh every ``refresh`` frames, or when the changed tiles with their context would
cost as much as the frame), no model at all (no tile changed: a duplicate frame), or the changed
tiles only. A changed tile runs as a window of ``tile + 2 * margin`` input pixels (``margin`` =
the architecture's receptive field, rounded up to its input multiple), moved inside the frame
at its edges so that the network sees the frame's own border; the windows of a batch run as
batches. Only the tile's own output pixels are written into the kept output.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from vidsr.models import Upscaler
from vidsr.reuse.changes import changed_pixels, changed_tiles
from vidsr.reuse.level import parse_reuse

DEFAULT_TILE = 48
"""Side of a change-map tile in input pixels (README, reuse section: measured)."""
DEFAULT_REFRESH = 60
"""The whole frame is computed at least every this many frames (README, reuse section)."""
WINDOWS_PER_CALL = 8
"""Windows run through the network in one call."""


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
    """One frame's decision: ``full``, or the (ty, tx) tiles to compute (empty: none)."""

    full: bool
    tiles: tuple[tuple[int, int], ...] = ()


def supports_reuse(upscaler: Upscaler) -> bool:
    """Whether reuse applies: a network (classical resamplers cost less than the bookkeeping)
    whose output is not resized afterwards (the resize would reach across tiles)."""
    return not upscaler.classical and upscaler.scale == upscaler.native_scale


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

    @property
    def window(self) -> int:
        """Side of the window a changed tile runs in (input pixels)."""
        return self.tile + 2 * self.margin

    def _plan(self, frame: torch.Tensor) -> _Plan:
        """Decide for one frame (C, h, w) from the inputs alone, and update the references."""
        h, w = frame.shape[-2:]
        fits = h >= self.window and w >= self.window
        if self._reference is None or self._since_full + 1 >= self.refresh or not fits:
            self._reference = frame.clone()
            self._since_full = 0
            return _Plan(full=True)
        self._since_full += 1
        changed = changed_pixels(frame, self._reference, self.threshold)
        # the reference follows every pixel that changed, so a kept output stays within the
        # threshold of the inputs it came from (see vidsr.reuse.changes)
        self._reference = torch.where(changed, frame, self._reference)
        tiles = changed_tiles(changed, self.tile, self.reach)
        count = int(tiles.sum())
        if count * self.window**2 >= h * w:  # the windows cost at least the frame
            self._since_full = 0
            return _Plan(full=True)
        where = tiles.nonzero().tolist()
        return _Plan(full=False, tiles=tuple((int(y), int(x)) for y, x in where))

    def _window_origin(self, start: int, size: int) -> int:
        """Where a window around a tile starting at ``start`` begins (inside the frame,
        aligned to the network's input multiple)."""
        multiple = self.upscaler.info.multiple
        origin = min(max(0, start - self.margin), size - self.window)
        return origin // multiple * multiple

    def __call__(self, lr: torch.Tensor) -> torch.Tensor:
        """Upscale a batch (N, 3, h, w) of consecutive frames like ``upscaler(lr)``."""
        plans = [self._plan(frame) for frame in lr]
        n, _, h, w = lr.shape
        th, tw = -(-h // self.tile), -(-w // self.tile)
        c = self.counters
        c.frames += n
        c.tiles_total += n * th * tw
        c.pixels_total += n * h * w
        full = [i for i, p in enumerate(plans) if p.full]
        c.frames_full += len(full)
        c.frames_skipped += sum(1 for p in plans if not p.full and not p.tiles)
        c.tiles_computed += len(full) * th * tw + sum(len(p.tiles) for p in plans)
        c.pixels_computed += len(full) * h * w + sum(len(p.tiles) for p in plans) * self.window**2
        full_out = self.upscaler(lr[full]) if full else None
        windows = [(i, ty, tx) for i, p in enumerate(plans) for ty, tx in p.tiles]
        window_out = self._run_windows(lr, windows)
        s = self.upscaler.native_scale
        out: torch.Tensor | None = None
        done = 0
        for i, plan in enumerate(plans):
            if plan.full:
                assert full_out is not None
                frame = full_out[full.index(i)]
                self._kept = frame.clone()
            else:
                assert self._kept is not None
                for ty, tx in plan.tiles:
                    y0, x0 = ty * self.tile, tx * self.tile
                    y1, x1 = min(h, y0 + self.tile), min(w, x0 + self.tile)
                    oy, ox = self._window_origin(y0, h), self._window_origin(x0, w)
                    win = window_out[done]
                    done += 1
                    self._kept[:, y0 * s : y1 * s, x0 * s : x1 * s] = win[
                        :, (y0 - oy) * s : (y1 - oy) * s, (x0 - ox) * s : (x1 - ox) * s
                    ]
                frame = self._kept
            if out is None:
                out = torch.empty((n, *frame.shape), dtype=frame.dtype, device=frame.device)
            out[i] = frame
        assert out is not None
        return out

    def _run_windows(self, lr: torch.Tensor, windows: list[tuple[int, int, int]]) -> torch.Tensor:
        """The network's output on every (frame, ty, tx) window, stacked in order."""
        if not windows:
            return lr.new_empty((0,))
        h, w = lr.shape[-2:]
        size = self.window
        outs = []
        for start in range(0, len(windows), WINDOWS_PER_CALL):
            crops = []
            for i, ty, tx in windows[start : start + WINDOWS_PER_CALL]:
                oy = self._window_origin(ty * self.tile, h)
                ox = self._window_origin(tx * self.tile, w)
                crops.append(lr[i, :, oy : oy + size, ox : ox + size])
            outs.append(self.upscaler(torch.stack(crops)))
        return torch.cat(outs)
