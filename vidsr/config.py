"""Options of a run, as one frozen dataclass the CLI and the Python API both build."""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from vidsr.errors import InvalidOptionError
from vidsr.media.encoders import AUTO
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
AUTO_TEMPORAL = "medium"
"""What ``temporal="auto"`` means for a network (classical resamplers get ``off``); benchmarked
in ``scripts/bench_temporal.py``: warping error -40..-75%, PSNR +0.15..+0.20 dB (README)."""
TEMPORAL_LOOKAHEAD = 2
"""Frames the temporal stage looks ahead by default (0: causal, about half the cost)."""
MAX_LOOKAHEAD = 4  # job segments' 0.5 s post-roll covers it down to 8 fps


def check_lookahead(value: int) -> None:
    """InvalidOptionError unless ``value`` is a look-ahead vidsr runs (0..MAX_LOOKAHEAD)."""
    if not 0 <= value <= MAX_LOOKAHEAD or int(value) != value:
        raise InvalidOptionError(f"--lookahead must be between 0 and {MAX_LOOKAHEAD}, got {value}")


@dataclass(frozen=True)
class UpscaleOptions:
    """Everything that decides what an upscale run produces.

    ``scale`` None means the model's native scale; ``start``/``duration`` (seconds) select a
    preview window; ``crf``/``preset`` go to encoders that know them; ``pix_fmt`` None keeps
    the source's bit depth at 4:2:0.
    """

    model: str = DEFAULT_MODEL
    scale: float | None = None
    tile: int = 0
    device: str = "auto"
    precision: str = "auto"
    compile: str = "auto"  # torch.compile: auto (CUDA only), on, off
    batch_size: int | None = None  # frames per model call; None: default_batch(device)
    codec: str = "auto"  # libx264; VP9/AV1 for .webm (vidsr.media.encoders)
    crf: int = 18
    preset: str = "medium"
    pix_fmt: str | None = None
    start: float = 0.0
    duration: float | None = None
    fps: Fraction | None = None
    temporal: str = (
        "auto"  # auto (medium for networks, off for bicubic/lanczos), off|low|medium|high|0..1
    )
    lookahead: int = TEMPORAL_LOOKAHEAD  # frames the temporal stage looks ahead (0..4)
    deblock: str = "auto"  # auto|off|N (FFmpeg's deblock filter before the model)
    deinterlace: str = "auto"
    apply_rotation: bool = False
    max_memory: int | None = None  # bytes; frames are tiled and batches shrunk to stay under it
    reuse: str = "auto"  # auto|off|LEVEL: compute only the regions that changed (vidsr.reuse)

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
        check_number("--crf", self.crf, integer=True, low=0, high=63)
        check_number("--start", self.start, low=0, high=MAX_SECONDS)
        if self.duration is not None:
            check_number("--duration", self.duration, low=0, low_open=True, high=MAX_SECONDS)
        if self.max_memory is not None:
            check_number("--max-memory", self.max_memory, integer=True)
            if self.max_memory < 256 * 2**20:
                raise InvalidOptionError(
                    f"--max-memory must be at least 256M, got {self.max_memory}"
                )
        check_number("--lookahead", self.lookahead, integer=True)
        check_lookahead(self.lookahead)
        if self.fps is not None:
            check_number("--fps", self.fps, low=MIN_FPS, high=MAX_FPS)
            rate = Fraction(self.fps)
            if max(rate.numerator, rate.denominator) >= 2**31:  # FFmpeg rates are int/int
                raise InvalidOptionError(f"--fps {self.fps} is too fine: give it as N or N/M")
        for name in (
            "model",
            "device",
            "precision",
            "compile",
            "codec",
            "preset",
            "temporal",
            "reuse",
        ):
            if not isinstance(getattr(self, name), str):
                raise InvalidOptionError(f"{name} must be a string, got {getattr(self, name)!r}")
        from vidsr.strengths import parse_deblock, resolve_level

        resolve_level(self.temporal, classical=False)  # a bad --temporal fails here, before work
        parse_deblock(self.deblock)
        from vidsr.reuse.level import parse_reuse

        parse_reuse(self.reuse)
        if self.codec != AUTO:
            from vidsr.media.containers import video_encoder  # PyAV: only when a codec is named

            video_encoder(self.codec)


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

    def context_for(self, options: UpscaleOptions) -> tuple[float, float]:
        """(pre-roll, post-roll) in seconds for these upscale options: the temporal stage
        needs frames before and after a segment, when it runs for this model."""
        from vidsr.models.catalog import is_classical
        from vidsr.strengths import temporal_wanted

        temporal = temporal_wanted(options.temporal, is_classical(options.model))
        pre = DEFAULT_PREROLL if temporal else 0.0
        post = DEFAULT_POSTROLL if temporal else 0.0
        return (
            pre if self.preroll is None else self.preroll,
            post if self.postroll is None else self.postroll,
        )
