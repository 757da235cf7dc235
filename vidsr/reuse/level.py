"""What ``--reuse auto|off|LEVEL`` means: parsed and checked with the options, before any work.
No torch, no PyAV."""

from __future__ import annotations

import math

from vidsr.errors import InvalidOptionError

AUTO_REUSE = "off"
"""What ``--reuse auto`` means (see the README's reuse section for the measurement behind it)."""
MAX_LEVEL = 16.0
"""Largest LEVEL taken: beyond it whole objects could move without counting as a change."""


def parse_reuse(value: str | float) -> float | None:
    """``off`` -> None; ``auto`` -> :data:`AUTO_REUSE`'s meaning; a number LEVEL in
    [0, MAX_LEVEL] -> LEVEL: the largest change of a pixel (in levels of 255, any RGB channel of
    the model's input) that still counts as no change (0: only exactly equal pixels are reused).
    InvalidOptionError otherwise."""
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
    return number
