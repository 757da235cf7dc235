"""Checks of option values shared by the Python API and the CLI: a number that is not one
(wrong type, NaN, infinity) or out of range is an :class:`InvalidOptionError` naming the option."""

from __future__ import annotations

import math
from fractions import Fraction
from numbers import Integral, Real

from vidsr.errors import InvalidOptionError


def check_number(
    name: str,
    value: object,
    *,
    integer: bool = False,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
) -> None:
    """InvalidOptionError unless ``value`` is a finite real number (an int when ``integer``)
    in ``[low, high]`` (``(low, high]`` when ``low_open``); ``name`` is how the user said it."""
    if isinstance(value, bool) or not isinstance(value, Real | Fraction):
        kind = "a whole number" if integer else "a number"
        raise InvalidOptionError(f"{name} must be {kind}, got {value!r}")
    if not math.isfinite(float(value)):
        raise InvalidOptionError(f"{name} must be a finite number, got {value}")
    if integer and not isinstance(value, Integral):
        raise InvalidOptionError(f"{name} must be a whole number, got {value!r}")
    below = low is not None and (value <= low if low_open else value < low)
    if below or (high is not None and value > high):
        raise InvalidOptionError(f"{name} must be {_range(low, high, low_open)}, got {value}")


def _range(low: float | None, high: float | None, low_open: bool) -> str:
    if high is None:
        return f"{'above' if low_open else 'at least'} {low:g}"
    if low is None:
        return f"at most {high:g}"
    return f"between {low:g} and {high:g}"


def check_choice(name: str, value: object, choices: tuple[str, ...]) -> None:
    """InvalidOptionError unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise InvalidOptionError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
