"""What ``--reuse auto|off|LEVEL`` means: parsed and checked with the options, before any work.
No torch, no PyAV."""

from __future__ import annotations

import math
from dataclasses import dataclass

from vidsr.errors import InvalidOptionError


@dataclass(frozen=True)
class Criterion:
    """When a block of the model's input counts as changed (levels are of 255, any channel).

    ``block``: side in input pixels (1: every pixel on its own). ``level``: the largest mean
    |difference| over a block that is still no change. ``peak``: the largest |difference| of a
    single pixel that is still no change (None: no such limit)."""

    block: int = 1
    level: float = 0.0
    peak: float | None = None

    def __post_init__(self) -> None:
        if self.block < 1 or self.level < 0 or (self.peak is not None and self.peak < 0):
            raise ValueError(f"bad change criterion {self}")

    def describe(self) -> str:
        """A short label, e.g. ``8x8 mean > 1, pixel > 16``."""
        if self.block == 1:
            return f"pixel > {self.level:g}"
        label = f"{self.block}x{self.block} mean > {self.level:g}"
        return label if self.peak is None else f"{label}, pixel > {self.peak:g}"


BLOCK = 32
"""Side of the blocks ``--reuse LEVEL`` judges, in input pixels (README, reuse section:
measured with ``scripts/bench_reuse_share.py``)."""
PEAK_RATIO = 16.0
"""``--reuse LEVEL``'s pixel threshold is this many times LEVEL: a small object that moves (a
few pixels of high contrast) changes its block although the block's mean barely moves."""
AUTO_REUSE = "off"
"""What ``--reuse auto`` means (see the README's reuse section for the measurement behind it)."""
MAX_LEVEL = 8.0
"""Largest LEVEL taken: beyond it whole objects could move without counting as a change."""


def criterion_for(level: float) -> Criterion:
    """The change criterion of ``--reuse LEVEL``: a :data:`BLOCK` x :data:`BLOCK` block changes
    when its mean |difference| passes LEVEL or one pixel's passes :data:`PEAK_RATIO` x LEVEL
    (levels of 255, any RGB channel; 0: only exactly equal blocks are reused)."""
    return Criterion(block=BLOCK, level=level, peak=PEAK_RATIO * level)


def parse_reuse(value: str | float) -> Criterion | None:
    """``off`` -> None; ``auto`` -> :data:`AUTO_REUSE`'s meaning; a number LEVEL in
    [0, MAX_LEVEL] -> :func:`criterion_for` LEVEL. InvalidOptionError otherwise."""
    key = str(value).strip().lower()
    if key == "auto":
        key = AUTO_REUSE
    if key == "off":
        return None
    try:
        number = float(key)
    except ValueError:
        raise InvalidOptionError(f"--reuse must be auto, off or a level, got {value!r}") from None
    if not math.isfinite(number) or not 0.0 <= number <= MAX_LEVEL:
        raise InvalidOptionError(f"--reuse level must be in [0, {MAX_LEVEL:g}], got {value!r}")
    return criterion_for(number)
