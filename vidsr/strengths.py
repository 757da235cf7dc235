"""What the ``--temporal`` and ``--deblock`` values mean: parsed and checked here, before any
work starts (options are validated with these). No torch, no PyAV, no OpenCV."""

from __future__ import annotations

from vidsr.errors import InvalidOptionError

AUTO_TEMPORAL = "medium"
"""What ``temporal="auto"`` means for a network (classical resamplers get ``off``); benchmarked
in ``scripts/bench_temporal.py``: warping error -40..-75%, PSNR +0.15..+0.20 dB (README)."""

STRENGTHS: dict[str, float] = {"off": 0.0, "low": 0.3, "medium": 0.6, "high": 1.0}
"""Named strengths for ``--temporal``; ``medium`` is the default."""


def parse_strength(value: str | float) -> float:
    """``off|low|medium|high`` or a number in [0, 1] as a strength; InvalidOptionError otherwise."""
    if isinstance(value, str):
        key = value.strip().lower()
        if key in STRENGTHS:
            return STRENGTHS[key]
        try:
            number = float(key)
        except ValueError:
            names = "|".join(STRENGTHS)
            raise InvalidOptionError(
                f"temporal strength must be {names} or a number in [0, 1], got {value!r}"
            ) from None
    else:
        number = float(value)
    if not 0.0 <= number <= 1.0 or number != number:
        raise InvalidOptionError(f"temporal strength must be in [0, 1], got {value!r}")
    return number


def resolve_level(level: str | float, classical: bool) -> str:
    """What a ``--temporal`` value means for a model: ``auto`` is ``off`` for classical
    resamplers (they invent no detail that could flicker) and :data:`AUTO_TEMPORAL`
    for networks; any other value is checked and returned normalised (``medium``, ``0.5``)."""
    if isinstance(level, str) and level.strip().lower() == "auto":
        return "off" if classical else AUTO_TEMPORAL
    parse_strength(level)  # raises InvalidOptionError on a bad value
    return level.strip().lower() if isinstance(level, str) else f"{float(level):g}"


def parse_deblock(value: str | float) -> float | None:
    """``auto`` -> None, ``off`` -> 0, a number N > 0 -> strength N (1 = FFmpeg's defaults)."""
    key = str(value).strip().lower()
    if key == "auto":
        return None
    if key == "off":
        return 0.0
    try:
        number = float(key)
    except ValueError:
        raise InvalidOptionError(f"deblock must be auto, off or a number, got {value!r}") from None
    if not 0.0 <= number <= 20.0:
        raise InvalidOptionError(f"deblock strength must be in [0, 20], got {value!r}")
    return number


def temporal_wanted(temporal: str | float, classical: bool) -> bool:
    """Whether a ``--temporal`` value turns the stabiliser on for a model that is (or is not) a
    classical resampler (``auto``: see :func:`resolve_level`)."""
    return parse_strength(resolve_level(temporal, classical)) != 0
