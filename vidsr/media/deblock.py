"""FFmpeg's ``deblock`` filter through PyAV's filter graph, applied to decoded frames.

A pipeline applies it per decoded :class:`av.VideoFrame`, before any colour conversion, so the
filter sees the coded planes and their 8x8 grid. The decision whether to deblock (``auto``) is
made here too, from decoded luma (:func:`deblock_decision`); this module never imports torch.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from fractions import Fraction

import av
import numpy as np

from vidsr.errors import InvalidOptionError
from vidsr.quality.metrics import blockiness

# FFmpeg's defaults for the strong filter's thresholds; strength scales them.
_ALPHA, _BETA, _GAMMA, _DELTA = 0.098, 0.05, 0.05, 0.05


def deblock_args(strength: float, block: int = 8) -> str:
    """The ``deblock`` filter's option string for a strength (1 = FFmpeg's defaults)."""
    if not strength > 0:
        raise InvalidOptionError(f"deblock strength must be > 0, got {strength!r}")
    if not 4 <= block <= 512:
        raise InvalidOptionError(f"deblock block size must be in 4..512, got {block}")

    def scaled(x: float) -> str:
        return f"{min(1.0, x * strength):.4f}"

    return (
        f"filter=strong:block={block}:alpha={scaled(_ALPHA)}:beta={scaled(_BETA)}"
        f":gamma={scaled(_GAMMA)}:delta={scaled(_DELTA)}"
    )


class Deblocker:
    """Deblock decoded frames: ``process(frame)`` returns the filtered frames ready so far.

    The graph is built on the first frame (its size and pixel format) and rebuilt when they
    change. Frames keep their pts and time base. ``flush()`` returns what the filter still holds
    (the deblock filter holds nothing, but callers need not know).
    """

    def __init__(self, strength: float = 1.0, block: int = 8) -> None:
        self.args = deblock_args(strength, block)
        self._graph: av.filter.Graph | None = None
        self._key: tuple | None = None

    def _build(self, frame: av.VideoFrame) -> None:
        graph = av.filter.Graph()
        time_base = frame.time_base or Fraction(1, 90000)
        src = graph.add_buffer(
            width=frame.width, height=frame.height, format=frame.format.name, time_base=time_base
        )
        try:
            deblock = graph.add("deblock", self.args)
        except (av.FFmpegError, ValueError) as exc:
            raise InvalidOptionError(f"FFmpeg deblock filter unavailable: {exc}") from exc
        sink = graph.add("buffersink")
        src.link_to(deblock)
        deblock.link_to(sink)
        try:
            graph.configure()
        except (av.FFmpegError, ValueError) as exc:
            fmt = frame.format.name
            raise InvalidOptionError(f"cannot deblock {fmt} frames: {exc}") from exc
        self._graph = graph
        self._key = (frame.width, frame.height, frame.format.name)

    def _drain(self) -> list[av.VideoFrame]:
        out: list[av.VideoFrame] = []
        graph = self._graph
        if graph is None:
            return out
        while True:
            try:
                out.append(graph.vpull())
            except (BlockingIOError, EOFError):  # PyAV's errors subclass these
                return out

    def process(self, frame: av.VideoFrame) -> list[av.VideoFrame]:
        """Push one decoded frame; return the deblocked frames available now (usually one)."""
        key = (frame.width, frame.height, frame.format.name)
        out: list[av.VideoFrame] = []
        if self._graph is not None and key != self._key:
            out = self.flush()
        if self._graph is None:
            self._build(frame)
        self._graph.vpush(frame)
        return out + self._drain()

    def flush(self) -> list[av.VideoFrame]:
        """Drain the filter and forget the graph (the next frame builds a new one)."""
        if self._graph is None:
            return []
        self._graph.vpush(None)
        out = self._drain()
        self._graph = None
        self._key = None
        return out


def deblock_frames(
    frames: Iterable[av.VideoFrame], strength: float = 1.0, block: int = 8
) -> list[av.VideoFrame]:
    """Deblock a whole sequence of decoded frames (convenience over :class:`Deblocker`)."""
    deblocker = Deblocker(strength, block)
    out: list[av.VideoFrame] = []
    for frame in frames:
        out += deblocker.process(frame)
    return out + deblocker.flush()


DEBLOCK_THRESHOLD = 1.15
"""Blockiness (:func:`vidsr.quality.metrics.blockiness`) above which ``--deblock auto`` deblocks."""


def deblock_decision(y_planes: Sequence[np.ndarray], block: int = 8) -> float:
    """Deblock strength for ``--deblock auto`` from a few decoded luma planes (0: leave alone).

    The median blockiness of the planes (step across the ``block`` grid over the step inside
    blocks) is compared with :data:`DEBLOCK_THRESHOLD`; above it the strength grows with the
    excess, from 1 (FFmpeg's defaults) to 3.
    """
    if len(y_planes) == 0:
        return 0.0
    ratio = float(np.median([blockiness(y, block) for y in y_planes]))
    if ratio <= DEBLOCK_THRESHOLD:
        return 0.0
    return float(min(3.0, 1.0 + 4.0 * (ratio - DEBLOCK_THRESHOLD)))
