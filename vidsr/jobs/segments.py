"""Plan a job: scan the video's packets for keyframes (demux only) and cut segments there.

A segment is a half-open time window ``[start, end)`` of the input, in seconds from the video's
start, beginning at a keyframe; the last one runs to the end (``end=None``). Times are computed
exactly as :class:`~vidsr.media.decode.VideoDecoder` computes a frame's time, so a frame whose
pts is a cut belongs to the segment that starts there, and to no other.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from fractions import Fraction

import av

from vidsr.errors import CorruptInputError, InvalidOptionError
from vidsr.media.probe import demux, open_input
from vidsr.types import MediaInfo, Window


@dataclass(frozen=True)
class KeyframeScan:
    """Presentation times of the video packets of an input, from its index (nothing decoded).

    ``pts`` holds every packet's pts in increasing order, ``keyframes`` those of keyframe
    packets; both are in ``time_base`` ticks. ``timed`` is False when packets carry no pts
    (raw streams, image sequences): such inputs are one segment.
    """

    time_base: Fraction
    start_time: int
    pts: tuple[int, ...]
    keyframes: tuple[int, ...]
    timed: bool = True

    def seconds(self, pts: int) -> float:
        """Time of ``pts`` from the video's start, as the decoder computes it."""
        return float((pts - self.start_time) * self.time_base)


@dataclass(frozen=True)
class Segment:
    """One piece of a job: a window of the input and the frames the index puts in it."""

    index: int
    start: float
    end: float | None
    first_frame: int  # index of its first frame in the whole video (presentation order)
    frames: int  # frames the index puts in [start, end)
    pts_first: int | None = None  # in the input video's time base
    pts_last: int | None = None

    def window(self, preroll: float = 0.0, postroll: float = 0.0) -> Window:
        """The window that encodes exactly this segment, keeping the input's timestamps.

        ``preroll``/``postroll`` seconds around it are decoded and run through the model and
        temporal stage but not written (its borders see the same context as in a single run).
        """
        return Window(
            self.start,
            self.end,
            rebase=False,
            preroll=preroll if self.index else 0.0,
            postroll=postroll if self.end is not None else 0.0,
        )


def scan_keyframes(info: MediaInfo) -> KeyframeScan:
    """Demux the video stream of ``info.path`` and list packet and keyframe pts."""
    container = open_input(info.path, info.fps)
    try:
        stream = container.streams[info.video.index]
        pts: list[int] = []
        keys: list[int] = []
        timed = True
        for packet in demux(container, stream):
            if packet.size == 0:
                continue
            if packet.pts is None:
                timed = False
                pts.append(len(pts))
                continue
            pts.append(packet.pts)
            if packet.is_keyframe:
                keys.append(packet.pts)
    except av.FFmpegError as err:
        raise CorruptInputError(f"cannot read the packets of {info.path}: {err}") from err
    finally:
        container.close()
    if not timed or not info.video.has_timestamps:
        return KeyframeScan(info.video.time_base, 0, tuple(range(len(pts))), (0,), timed=False)
    return KeyframeScan(
        time_base=info.video.time_base,
        start_time=info.video.start_time or 0,
        pts=tuple(sorted(pts)),
        keyframes=tuple(sorted(set(keys))),
    )


def plan_segments(scan: KeyframeScan, segment_seconds: float) -> list[Segment]:
    """Cut at the first keyframe at least ``segment_seconds`` after the previous cut.

    Frames before the first cut with a negative time are left out, as a whole-file run leaves
    them out. An input without timestamps, or without a usable keyframe, is one segment.
    """
    if not segment_seconds > 0:
        raise InvalidOptionError(f"segment length must be positive, got {segment_seconds}")
    if not scan.pts:
        raise CorruptInputError("the video stream holds no packet")
    if not scan.timed:
        return [Segment(0, 0.0, None, 0, len(scan.pts))]
    cuts = [0.0]
    for key in scan.keyframes:
        t = scan.seconds(key)
        if t > 0 and t >= cuts[-1] + segment_seconds - 1e-9:
            cuts.append(t)
    times = [scan.seconds(p) for p in scan.pts]
    segments: list[Segment] = []
    for i, start in enumerate(cuts):
        end = cuts[i + 1] if i + 1 < len(cuts) else None
        lo = bisect_left(times, start - 1e-9)
        hi = len(times) if end is None else bisect_left(times, end - 1e-9)
        segments.append(
            Segment(
                index=i,
                start=start,
                end=end,
                first_frame=lo,
                frames=hi - lo,
                pts_first=scan.pts[lo] if hi > lo else None,
                pts_last=scan.pts[hi - 1] if hi > lo else None,
            )
        )
    return segments
