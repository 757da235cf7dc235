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
    single pixel that is still no change (None: no such limit). ``shift``: the largest |mean
    difference| (signed, so a uniform brightness change) over a block that is still no change
    (None: no such limit): coding noise averages out in it, a fade does not. ``whole``: the
    frame is judged whole and computed whole (no windows): only an exact repeat of the input the
    kept output came from is reused, so the output is bit for bit the full computation's."""

    block: int = 1
    level: float = 0.0
    peak: float | None = None
    shift: float | None = None
    whole: bool = False

    def __post_init__(self) -> None:
        bad = [v for v in (self.peak, self.shift) if v is not None and v < 0]
        if self.block < 1 or self.level < 0 or bad:
            raise ValueError(f"bad change criterion {self}")

    def describe(self) -> str:
        """A short label, e.g. ``8x8 mean > 1, pixel > 16``."""
        if self.whole:
            return "exact repeats of the whole frame"
        if self.block == 1:
            return f"pixel > {self.level:g}"
        label = f"{self.block}x{self.block} mean > {self.level:g}"
        if self.peak is not None:
            label += f", pixel > {self.peak:g}"
        return label if self.shift is None else f"{label}, shift > {self.shift:g}"


BLOCK = 32
"""Side of the blocks ``--reuse LEVEL`` judges, in input pixels (README, reuse section:
measured with ``scripts/bench_reuse_share.py``)."""
PEAK_RATIO = 16.0
"""``--reuse LEVEL``'s pixel threshold is this many times LEVEL: a small object that moves (a
few pixels of high contrast) changes its block although the block's mean barely moves."""
SHIFT_RATIO = 4.0
"""``--reuse LEVEL``'s shift threshold is LEVEL over this: a block whose brightness moved as a
whole (a fade, a flicker of smooth content) by a quarter of LEVEL changes (README, reuse
section: bbb's fade lagged by up to twice LEVEL without it and lost 0.4-0.6 dB)."""
REPEATS = Criterion(whole=True)
"""``--reuse repeats``: a frame whose input repeats the last one computed exactly (animation on
twos, held titles, frozen frames) skips the model and takes that output; any other frame is
computed whole. It cannot cost fidelity or exactness: the output is the full computation's."""
AUTO_REUSE = "repeats"
"""What ``--reuse auto`` means: no LEVEL met the fidelity target on every shared clip, repeats
cost nothing (README, reuse section: the measurements behind it)."""
MAX_LEVEL = 8.0
"""Largest LEVEL taken: beyond it whole objects could move without counting as a change."""


def criterion_for(level: float) -> Criterion:
    """The change criterion of ``--reuse LEVEL``: a :data:`BLOCK` x :data:`BLOCK` block changes
    when its mean |difference| passes LEVEL, one pixel's passes :data:`PEAK_RATIO` x LEVEL or
    its mean difference passes LEVEL / :data:`SHIFT_RATIO` (levels of 255, any RGB channel; 0:
    only exactly equal blocks are reused)."""
    return Criterion(block=BLOCK, level=level, peak=PEAK_RATIO * level, shift=level / SHIFT_RATIO)


def parse_reuse(value: str | float) -> Criterion | None:
    """``off`` -> None; ``auto`` -> :data:`AUTO_REUSE`'s meaning; ``repeats`` -> :data:`REPEATS`;
    a number LEVEL in [0, MAX_LEVEL] -> :func:`criterion_for` LEVEL. InvalidOptionError
    otherwise."""
    key = str(value).strip().lower()
    if key == "auto":
        key = AUTO_REUSE
    if key == "off":
        return None
    if key == "repeats":
        return REPEATS
    try:
        number = float(key)
    except ValueError:
        raise InvalidOptionError(
            f"--reuse must be auto, off, repeats or a level, got {value!r}"
        ) from None
    if not math.isfinite(number) or not 0.0 <= number <= MAX_LEVEL:
        raise InvalidOptionError(f"--reuse level must be in [0, {MAX_LEVEL:g}], got {value!r}")
    return criterion_for(number)
