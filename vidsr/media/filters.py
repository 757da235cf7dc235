"""FFmpeg video filters run through PyAV's filter graph, one frame in, frames out, in order."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import av

from vidsr.errors import InvalidOptionError

DEINTERLACERS = ("bwdif", "yadif")


class FrameFilter:
    """A chain of FFmpeg filters (``"bwdif=mode=send_frame"``) applied to decoded frames.

    The graph is built from the first frame's size, format and time base; :meth:`push` returns
    the frames ready so far and :meth:`flush` the rest. Timestamps pass through unchanged for
    filters that keep one output frame per input frame (as the deinterlacers here are set up).
    """

    def __init__(self, description: str):
        self.description = description
        self._graph: av.filter.Graph | None = None

    def _build(self, frame: av.VideoFrame) -> None:
        graph = av.filter.Graph()
        src = graph.add_buffer(
            width=frame.width,
            height=frame.height,
            format=frame.format.name,
            time_base=frame.time_base,
        )
        chain = [src]
        for part in self.description.split(","):
            name, _, args = part.partition("=")
            chain.append(graph.add(name, args or None))
        chain.append(graph.add("buffersink"))
        for a, b in itertools.pairwise(chain):
            a.link_to(b)
        graph.configure()
        self._graph = graph
        self._time_base = frame.time_base

    def _drain(self) -> Iterator[av.VideoFrame]:
        while True:
            try:
                frame = self._graph.vpull()
            except (av.BlockingIOError, av.EOFError):
                return
            # deinterlacers halve the time base (they could double the rate): map pts back
            if frame.pts is not None and frame.time_base != self._time_base:
                frame.pts = round(frame.pts * frame.time_base / self._time_base)
                frame.time_base = self._time_base
            yield frame

    def push(self, frame: av.VideoFrame) -> list[av.VideoFrame]:
        """Feed one frame; return the frames the filter has finished."""
        if self._graph is None:
            self._build(frame)
        self._graph.vpush(frame)
        return list(self._drain())

    def flush(self) -> list[av.VideoFrame]:
        """Signal the end of input and return the frames still inside the filter."""
        if self._graph is None:
            return []
        self._graph.vpush(None)
        return list(self._drain())


def deinterlace_filter(method: str, field_order: str) -> FrameFilter | None:
    """The deinterlacer for ``method`` (``off``, ``auto``, ``bwdif``, ``yadif``).

    One progressive frame per interlaced frame (``mode=send_frame``), so frame count and pts are
    the source's. ``auto`` deinterlaces when the stream says it is interlaced, with bwdif.
    """
    if method == "off":
        return None
    interlaced = field_order not in ("progressive", "unknown")
    if method == "auto":
        if not interlaced:
            return None
        method = "bwdif"
    if method not in DEINTERLACERS:
        raise InvalidOptionError(f"--deinterlace must be off, auto, bwdif or yadif, not {method!r}")
    parity = {"tff": "tff", "tb": "tff", "bff": "bff", "bt": "bff"}.get(field_order, "auto")
    return FrameFilter(f"{method}=mode=send_frame:parity={parity}:deint=all")
