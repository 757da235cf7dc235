"""Plain, frozen data shared by every layer: what a probe found, and frames as numbers.

Nothing here imports PyAV or torch; the media layer fills these from PyAV, the pipeline reads them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from fractions import Fraction

import numpy as np


class RunState(str, Enum):
    """Where a run stands (``RunStats.state``); compares equal to its plain name."""

    IDLE = "idle"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class ColorInfo:
    """Colour description of a video stream, with FFmpeg's names for each value.

    ``matrix`` is one of ``bt601``, ``bt709``, ``bt2020nc`` (the YUV<->RGB matrix actually used);
    ``range`` is ``limited`` or ``full``. ``primaries``/``transfer``/``matrix_tag`` keep the
    source's raw FFmpeg enum values (2 = unspecified) so they can be written back unchanged.
    ``guessed`` says the matrix was not tagged and was guessed from the resolution as FFmpeg does.
    """

    matrix: str = "bt709"
    range: str = "limited"
    primaries: int = 2
    transfer: int = 2
    matrix_tag: int = 2
    range_tag: int = 0
    chroma_location: int = 0
    guessed: bool = False

    def describe(self) -> str:
        """One line for logs and ``vidsr probe``."""
        guess = " (untagged: guessed from resolution, as FFmpeg does)" if self.guessed else ""
        return f"{self.matrix} {self.range} range{guess}"


@dataclass(frozen=True)
class PlaneLayout:
    """How a planar pixel format stores a picture."""

    pix_fmt: str
    kind: str  # "yuv", "gray" or "gbr"
    bit_depth: int
    log2_chroma_w: int
    log2_chroma_h: int

    @property
    def max_code(self) -> int:
        """Largest code value at this bit depth."""
        return (1 << self.bit_depth) - 1


@dataclass(frozen=True)
class VideoInfo:
    """The video stream vidsr will process."""

    index: int
    codec: str
    width: int
    height: int
    pix_fmt: str
    bit_depth: int
    time_base: Fraction
    average_rate: Fraction | None
    start_time: int | None
    duration_s: float | None
    frames: int
    sample_aspect_ratio: Fraction | None
    rotation: int
    field_order: str
    color: ColorInfo
    has_timestamps: bool = True
    variable_rate: bool = False
    tags: dict[str, str] = field(default_factory=dict, hash=False)  # language, title, ...
    disposition: int = 0  # FFmpeg's AV_DISPOSITION_* flags (default, forced, ...)


@dataclass(frozen=True)
class StreamInfo:
    """A non-video stream (audio, subtitle, data, attachment) and what will happen to it."""

    index: int
    kind: str
    codec: str
    language: str | None = None
    channels: int | None = None
    sample_rate: int | None = None


@dataclass(frozen=True)
class MediaInfo:
    """Everything probe learned about an input file."""

    path: str
    format_name: str
    duration_s: float | None
    video: VideoInfo
    others: tuple[StreamInfo, ...] = ()
    metadata: dict[str, str] = field(default_factory=dict)
    fps: Fraction | None = None  # the rate it was opened with (``--fps``), to open it alike


@dataclass
class PlanarFrame:
    """One decoded picture as raw planes, before any colour conversion.

    ``planes`` are 2-D integer arrays (uint8 for 8-bit, uint16 for 9-16 bit) in plane order
    (Y, U, V for YUV; G, B, R for gbrp). ``pts`` is in ``time_base`` units and is never None once a
    frame leaves the decoder.
    """

    planes: list[np.ndarray]
    pix_fmt: str
    pts: int
    time_base: Fraction
    width: int
    height: int
    warmup: bool = False  # decoded only to prime a temporal stage; not written


@dataclass(frozen=True)
class Window:
    """A time window of the input to process, in seconds from the video's start.

    ``end=None`` runs to the end. ``rebase`` moves the output's timestamps so the window starts
    at 0 (a preview); without it the input's timestamps are kept (a segment of a longer job).
    ``preroll`` seconds before ``start`` are decoded and run through the model and temporal
    stage, but not written, so a segment's first frames see the same history as in a full run;
    ``postroll`` seconds after ``end`` likewise, so its last frames see the same look-ahead.
    """

    start: float = 0.0
    end: float | None = None
    rebase: bool = True
    preroll: float = 0.0
    postroll: float = 0.0

    @property
    def shifts(self) -> bool:
        """True if output timestamps are moved to start at 0."""
        return self.rebase and self.start > 0

    @property
    def decode_start(self) -> float:
        """Where decoding starts: the window start minus the pre-roll."""
        return max(0.0, self.start - self.preroll)

    @property
    def decode_end(self) -> float | None:
        """Where decoding stops: the window end plus the post-roll (None: the input's end)."""
        return None if self.end is None else self.end + self.postroll
