"""Options of a run: frozen dataclasses, one a group (model, encoder, temporal stage, window,
decoding) and :class:`UpscaleOptions` holding them, which the CLI, the Python API, jobs and the
web app build; and how a job is cut (:class:`JobOptions`)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from vidsr.errors import InvalidOptionError
from vidsr.media.encoders import AUTO
from vidsr.strengths import parse_deblock, resolve_level
from vidsr.types import Window
from vidsr.validate import check_choice, check_number

_UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}


def parse_size(text: str) -> int:
    """``"4G"``, ``"512M"``, ``"1.5G"`` or plain bytes -> bytes."""
    value = text.strip().upper().removesuffix("B").removesuffix("I")
    unit = value[-1] if value and value[-1] in _UNITS else ""
    try:
        number = float(value[: len(value) - len(unit)])
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or number < 0:
        raise InvalidOptionError(f"not a size: {text!r} (use e.g. 4G or 512M)")
    return int(number * _UNITS[unit])


MIN_TILE = 32
"""Smallest tile (LR pixels): --tile below it is refused (a tile that small is mostly the
overlap each tile carries, and runs for minutes on a short clip); out-of-memory falls back to
no smaller tile."""
GPU_BATCH = 4
"""Frames per model call on a GPU when ``--batch`` is not given (bigger calls fill it better)."""
CPU_BATCH = 1
"""Frames per model call on the CPU when ``--batch`` is not given: one frame already keeps every
core busy, and each more frame in a call adds its full-resolution buffers to the peak (8 frames
of chaplin 640x360 -> 2560x1440: batch 4 peaked at 3.03 GB, batch 1 at 2.00 GB, CPU time within
3%; ``scripts/bench_memory.py``)."""


def default_batch(device_type: str) -> int:
    """Frames per model call on a device of this type (``cpu``, ``cuda``, ...) by default."""
    return CPU_BATCH if device_type == "cpu" else GPU_BATCH


MAX_SECONDS = 1e9
"""Largest --start/--duration taken (31 years: beyond it times overflow FFmpeg's counters)."""
MIN_FPS, MAX_FPS = 0.01, 1000
"""Frame rates --fps takes (a frame per 100 s up to 1000 frames a second)."""
DEFAULT_MODEL = "realesr-animevideov3"
TEMPORAL_LOOKAHEAD = 2
"""Frames the temporal stage looks ahead by default (0: causal, about half the cost)."""
MAX_LOOKAHEAD = 4  # job segments' 0.5 s post-roll covers it down to 8 fps


def check_lookahead(value: int) -> None:
    """InvalidOptionError unless ``value`` is a look-ahead vidsr runs (0..MAX_LOOKAHEAD)."""
    if not 0 <= value <= MAX_LOOKAHEAD or int(value) != value:
        raise InvalidOptionError(f"--lookahead must be between 0 and {MAX_LOOKAHEAD}, got {value}")


def _check_strings(options: object, *names: str) -> None:
    for name in names:
        if not isinstance(getattr(options, name), str):
            raise InvalidOptionError(f"{name} must be a string, got {getattr(options, name)!r}")


@dataclass(frozen=True)
class ModelOptions:
    """Which model runs and how: ``name`` (a catalog name or a weights file), ``scale`` (None:
    the model's native scale), ``tile`` (LR pixels, 0: whole frames), ``device``,
    ``precision``, ``compile`` (torch.compile: auto (CUDA only), on, off) and ``batch_size``
    (frames per model call; None: :func:`default_batch` of the device)."""

    name: str = DEFAULT_MODEL
    scale: float | None = None
    tile: int = 0
    device: str = "auto"
    precision: str = "auto"
    compile: str = "auto"
    batch_size: int | None = None

    def batch_on(self, device_type: str) -> int:
        """Frames per model call on a device of this type: ``batch_size``, or the default."""
        return self.batch_size or default_batch(device_type)

    def __post_init__(self) -> None:
        if self.scale is not None:
            check_number("--scale", self.scale, low=1, high=8)
        check_number("--tile", self.tile, integer=True, low=0)
        if 0 < self.tile < MIN_TILE:
            raise InvalidOptionError(
                f"--tile must be 0 (whole frames) or at least {MIN_TILE} pixels, got {self.tile}: "
                "smaller tiles are mostly overlap and run for minutes"
            )
        if self.batch_size is not None:
            check_number("batch size", self.batch_size, integer=True, low=1)
        if not isinstance(self.name, str):
            raise InvalidOptionError(f"model must be a string, got {self.name!r}")
        _check_strings(self, "device", "precision", "compile")


@dataclass(frozen=True)
class EncodeOptions:
    """How the output video is coded: ``codec`` (``auto``: libx264, VP9/AV1 for .webm; see
    :mod:`vidsr.media.encoders`), ``crf``/``preset`` (for encoders that know them) and
    ``pix_fmt`` (None: the source's bit depth at 4:2:0)."""

    codec: str = AUTO
    crf: int = 18
    preset: str = "medium"
    pix_fmt: str | None = None

    def __post_init__(self) -> None:
        check_number("--crf", self.crf, integer=True, low=0, high=63)
        _check_strings(self, "codec", "preset")
        if self.codec != AUTO:
            from vidsr.media.containers import video_encoder  # PyAV: only when a codec is named

            video_encoder(self.codec)


@dataclass(frozen=True)
class TemporalOptions:
    """The temporal stage: ``level`` (auto: medium for networks, off for bicubic/lanczos;
    off|low|medium|high|0..1) and ``lookahead`` (frames it looks ahead, 0..MAX_LOOKAHEAD)."""

    level: str = "auto"
    lookahead: int = TEMPORAL_LOOKAHEAD

    def __post_init__(self) -> None:
        check_number("--lookahead", self.lookahead, integer=True)
        check_lookahead(self.lookahead)
        if not isinstance(self.level, str):
            raise InvalidOptionError(f"temporal must be a string, got {self.level!r}")
        resolve_level(self.level, classical=False)  # a bad --temporal fails here, before work


@dataclass(frozen=True)
class WindowOptions:
    """Which part of the input runs, and at what rate: ``start``/``duration`` (seconds; a
    preview window) and ``fps`` (None: the input's timing)."""

    start: float = 0.0
    duration: float | None = None
    fps: Fraction | None = None

    def window(self) -> Window:
        """The time window these options select."""
        end = None if self.duration is None else self.start + self.duration
        return Window(self.start, end)

    def __post_init__(self) -> None:
        check_number("--start", self.start, low=0, high=MAX_SECONDS)
        if self.duration is not None:
            check_number("--duration", self.duration, low=0, low_open=True, high=MAX_SECONDS)
        if self.fps is not None:
            check_number("--fps", self.fps, low=MIN_FPS, high=MAX_FPS)
            rate = Fraction(self.fps)
            if max(rate.numerator, rate.denominator) >= 2**31:  # FFmpeg rates are int/int
                raise InvalidOptionError(f"--fps {self.fps} is too fine: give it as N or N/M")


@dataclass(frozen=True)
class DecodeOptions:
    """What is done to decoded frames before the model: ``deblock`` (auto|off|N: FFmpeg's
    deblock filter), ``deinterlace`` and ``apply_rotation`` (turn frames upright instead of
    keeping the rotation tag)."""

    deblock: str = "auto"
    deinterlace: str = "auto"
    apply_rotation: bool = False

    def __post_init__(self) -> None:
        parse_deblock(self.deblock)


_GROUPS = {
    "model": ModelOptions,
    "encode": EncodeOptions,
    "temporal": TemporalOptions,
    "window": WindowOptions,
    "decode": DecodeOptions,
}
_FLAT: dict[str, tuple[str, str]] = {
    "model": ("model", "name"),
    **{k: ("model", k) for k in ("scale", "tile", "device", "precision", "compile", "batch_size")},
    **{k: ("encode", k) for k in ("codec", "crf", "preset", "pix_fmt")},
    "temporal": ("temporal", "level"),
    "lookahead": ("temporal", "lookahead"),
    **{k: ("window", k) for k in ("start", "duration", "fps")},
    **{k: ("decode", k) for k in ("deblock", "deinterlace", "apply_rotation")},
}
"""Each flat keyword of :meth:`UpscaleOptions.of` (the CLI's and ``vidsr.upscale``'s names, and
the job fingerprint's keys): the group and field it sets."""
_OWN = ("max_memory", "reuse")
"""Flat keywords that are fields of :class:`UpscaleOptions` itself."""


@dataclass(frozen=True)
class UpscaleOptions:
    """Everything that decides what an upscale run produces, in groups: the model, the
    encoder, the temporal stage, the time window, decoding; plus ``max_memory`` (bytes: frames
    are tiled and batches shrunk to stay under it) and ``reuse`` (auto|off|LEVEL: compute only
    the regions that changed, :mod:`vidsr.reuse`).

    ``UpscaleOptions.of(model=..., crf=...)`` builds them from the flat keywords the CLI and
    ``vidsr.upscale`` take; :meth:`flat` gives them back.
    """

    model: ModelOptions = ModelOptions()
    encode: EncodeOptions = EncodeOptions()
    temporal: TemporalOptions = TemporalOptions()
    window: WindowOptions = WindowOptions()
    decode: DecodeOptions = DecodeOptions()
    max_memory: int | None = None
    reuse: str = "auto"

    @classmethod
    def of(cls, **flat: Any) -> UpscaleOptions:
        """The options from flat keywords (``model``, ``scale``, ..., ``crf``, ``temporal``,
        ``start``, ...: the names of :meth:`flat`); those not given keep their defaults."""
        unknown = sorted(set(flat) - set(_FLAT) - set(_OWN))
        if unknown:
            raise TypeError(f"unknown option {unknown[0]!r}")
        groups: dict[str, dict[str, Any]] = {name: {} for name in _GROUPS}
        for key, value in flat.items():
            if key in _FLAT:
                group, name = _FLAT[key]
                groups[group][name] = value
        return cls(
            **{name: _GROUPS[name](**fields) for name, fields in groups.items()},
            **{key: flat[key] for key in _OWN if key in flat},
        )

    def flat(self) -> dict[str, Any]:
        """Every option under its flat keyword (see :meth:`of`)."""
        values = {key: getattr(getattr(self, g), name) for key, (g, name) in _FLAT.items()}
        values.update((key, getattr(self, key)) for key in _OWN)
        return values

    def changed(self, **flat: Any) -> UpscaleOptions:
        """These options with some flat keywords changed."""
        return UpscaleOptions.of(**{**self.flat(), **flat})

    def __post_init__(self) -> None:
        for name, kind in _GROUPS.items():
            if not isinstance(getattr(self, name), kind):
                raise InvalidOptionError(
                    f"{name} must be {kind.__name__}, got {getattr(self, name)!r}"
                )
        if self.max_memory is not None:
            check_number("--max-memory", self.max_memory, integer=True)
            if self.max_memory < 256 * 2**20:
                raise InvalidOptionError(
                    f"--max-memory must be at least 256M, got {self.max_memory}"
                )
        _check_strings(self, "reuse")
        from vidsr.reuse.level import parse_reuse

        parse_reuse(self.reuse)


JOB_BACKENDS = ("local", "ray")
DEFAULT_PREROLL = 1.0
DEFAULT_POSTROLL = 0.5


@dataclass(frozen=True)
class JobOptions:
    """How a job is cut and run (what it produces is decided by :class:`UpscaleOptions`).

    ``preroll``/``postroll`` None mean 1 s / 0.5 s with the temporal stage on, 0 without.
    ``workers`` > 1 runs segments in that many processes (``backend="local"``); ``backend="ray"``
    runs them as Ray tasks on the cluster at ``address`` (None: a local Ray runtime).
    """

    segment_seconds: float = 60.0
    preroll: float | None = None
    postroll: float | None = None
    workers: int = 1
    backend: str = "local"
    address: str | None = None
    restart: bool = False
    check_space: bool = True
    max_retries: int = 3

    def __post_init__(self) -> None:
        check_number("--segment-seconds", self.segment_seconds, low=0, low_open=True)
        for name in ("preroll", "postroll"):
            value = getattr(self, name)
            if value is not None:
                check_number(name, value, low=0)
        check_number("--workers", self.workers, integer=True, low=1)
        check_number("max_retries", self.max_retries, integer=True, low=0)
        check_choice("--backend", self.backend, JOB_BACKENDS)
