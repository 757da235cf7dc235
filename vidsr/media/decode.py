"""Decode the video stream of an input into :class:`PlanarFrame` objects, in order, none dropped."""

from __future__ import annotations

import heapq
import itertools
import logging
from collections.abc import Callable, Iterator
from fractions import Fraction

import av
import numpy as np

from vidsr.errors import CorruptInputError
from vidsr.media.deblock import Deblocker
from vidsr.media.filters import deinterlace_filter
from vidsr.media.formats import plane_layout_for
from vidsr.media.probe import demux, open_input, whole_frames
from vidsr.types import MediaInfo, PlanarFrame, PlaneLayout, Window

log = logging.getLogger(__name__)


def frame_planes(frame: av.VideoFrame, layout: PlaneLayout) -> list[np.ndarray]:
    """Copy the planes of ``frame`` (converted to ``layout.pix_fmt`` if needed) into arrays."""
    if frame.format.name != layout.pix_fmt:
        frame = frame.reformat(format=layout.pix_fmt)
    dtype = np.uint8 if layout.bit_depth == 8 else np.dtype("<u2")
    itemsize = np.dtype(dtype).itemsize
    planes = []
    for plane in frame.planes:
        rows = np.frombuffer(plane, dtype=dtype).reshape(plane.height, plane.line_size // itemsize)
        planes.append(rows[:, : plane.width].copy())
    return planes


REORDER_DEPTH = 16
MAX_DAMAGE_WARNINGS = 5
"""Damaged packets logged one by one; a summary counts the rest."""
AUTO_DEBLOCK_FRAMES = 8  # frames judged by --deblock auto
MAX_FILL_SECONDS = 10.0
"""A longer jump of the timestamps is a discontinuity (kept as it is, with a warning), not lost
frames."""


def sorted_timestamps(
    frames: Iterator[av.VideoFrame],
) -> Iterator[tuple[av.VideoFrame, int | None]]:
    """Pair each frame (already in display order) with its presentation timestamp.

    Decoders output frames in display order, but some containers (AVI with packed B-frames)
    hand the frames decode-order timestamps. The set of timestamps is right, only their order is
    not: give the frames the timestamps sorted, through a small reorder window (deeper than any
    codec's reordering). Correctly stamped streams come out unchanged.
    """
    window: list[int] = []
    queue: list[av.VideoFrame] = []
    for frame in frames:
        if frame.pts is None:
            while queue:
                yield queue.pop(0), heapq.heappop(window)
            yield frame, None
            continue
        heapq.heappush(window, frame.pts)
        queue.append(frame)
        if len(queue) > REORDER_DEPTH:
            yield queue.pop(0), heapq.heappop(window)
    while queue:
        yield queue.pop(0), heapq.heappop(window)


class VideoDecoder:
    """Iterate the frames of ``info.video`` that fall in ``window``, with exact pts.

    FFmpeg's frame threading is on. A frame without a timestamp (raw elementary streams) gets one
    from the frame rate (``fps`` overrides it); a timestamp that does not increase is moved one
    tick past the previous frame and logged, so the encoder never sees the same pts twice.
    Damage does not cost frames: a packet the decoder rejects as invalid data is logged and its
    frame stands in as a copy of the frame before it, at the packet's own timestamp (in raw
    streams, timed by frame count, where the error shows), as players conceal errors
    (``damaged`` and ``stood_in`` count them). Frames lost without an error (a demuxer that
    drops a damaged packet, as MPEG-TS does, or a decoder that drops the frames after a lost
    keyframe) show as a gap of a whole number of frames in a constant-rate stream: the frame
    before stands in at each missing frame's time (``lost`` counts them), and one warning says
    how many and where. Any other decoding error, a file that ends
    before its index says, or a stream where no frame decodes at all raises
    :class:`CorruptInputError`: frames are never skipped silently.
    Interlaced sources are deinterlaced (bwdif, one frame per frame) unless ``deinterlace`` is
    ``off``, since super-resolution of combed frames amplifies the combing. ``deblock`` is a
    strength for FFmpeg's deblock filter (0: off), or a function that picks one from the luma
    planes of the first frames (``--deblock auto``).
    """

    def __init__(
        self,
        info: MediaInfo,
        window: Window = Window(),
        fps: Fraction | None = None,
        deinterlace: str = "auto",
        deblock: float | Callable[[list[np.ndarray]], float] = 0.0,
    ):
        self.info = info
        self.deblock = deblock
        self.deblock_strength = 0.0  # what --deblock auto chose, once decoding started
        self._deinterlace = deinterlace
        self.deinterlacer = deinterlace_filter(deinterlace, info.video.field_order)
        self.window = window
        self.layout = plane_layout_for(info.video.pix_fmt)
        rate = fps or info.video.average_rate or Fraction(25)
        self.time_base = info.video.time_base if fps is None else Fraction(1) / fps
        self._tick = max(1, round(1 / (rate * self.time_base)))
        self._fps = fps
        self._synthesize = fps is not None or not info.video.has_timestamps
        self.damaged = 0  # packets rejected as invalid data
        self.stood_in = 0  # frames replaced by a copy of the frame before
        self._sent: list[int] = []  # heap of the pts of packets whose frame has not come out
        self._unplaced = 0  # rejected packets without a usable pts (raw streams)
        self.lost = 0  # frames missing from a gap in the timestamps, filled by the frame before
        self._gaps: list[tuple[float, float]] = []  # first and last time (s) of each filled gap

    def frames(self) -> Iterator[PlanarFrame]:
        """Yield the window's frames in presentation order."""
        container = open_input(self.info.path, self._fps)
        try:
            stream = container.streams[self.info.video.index]
            stream.thread_type = "AUTO"
            if self.window.decode_start > 0 and not self._synthesize:
                offset = int(self.window.decode_start / stream.time_base) + (stream.start_time or 0)
                container.seek(offset, stream=stream, backward=True, any_frame=False)
            yield from self._decode(container, stream)
        finally:
            container.close()

    def _filtered(self, frames: Iterator[av.VideoFrame]) -> Iterator[av.VideoFrame]:
        if self.deinterlacer is None:
            yield from frames
            return
        for frame in frames:
            yield from self.deinterlacer.push(frame)
        yield from self.deinterlacer.flush()

    def judge_deblock(self, decide: Callable[[list[np.ndarray]], float]) -> float:
        """Deblock strength ``decide`` picks from the first frames of the *video* (not of the
        window), so every segment of a job makes the same choice."""
        container = open_input(self.info.path, self._fps)
        try:
            stream = container.streams[self.info.video.index]
            stream.thread_type = "AUTO"
            frames = self._packets(container, stream, track=False)
            fresh = deinterlace_filter(self._deinterlace, self.info.video.field_order)
            if fresh is not None:  # its own filter: the decoder's keeps state
                frames = (out for f in frames for out in fresh.push(f))
            head = itertools.islice(frames, AUTO_DEBLOCK_FRAMES)
            return float(decide([frame_planes(f, self.layout)[0] for f in head]))
        except av.FFmpegError as err:
            raise CorruptInputError(f"cannot decode {self.info.path}: {err}") from err
        finally:
            container.close()

    def _deblocked(self, frames: Iterator[av.VideoFrame]) -> Iterator[av.VideoFrame]:
        strength = self.deblock
        if callable(strength):
            strength = self.judge_deblock(strength)
            log.info("deblock auto: strength %.2f", strength)
        self.deblock_strength = float(strength or 0.0)
        if not strength:
            yield from frames
            return
        deblocker = Deblocker(strength)
        for frame in frames:
            yield from deblocker.process(frame)
        yield from deblocker.flush()

    def _packets(self, container, stream, track: bool = True) -> Iterator[av.VideoFrame]:
        """Decode packet by packet; a packet rejected as invalid data is skipped (and, with
        ``track``, counted and logged).

        With ``track`` the pts of every packet is kept, because with frame threading the error
        can surface on a later packet than the damaged one: the frames that never come out are
        what :meth:`_stand_ins` replaces."""
        for packet in demux(container, stream):
            if track and packet.pts is not None and not packet.is_discard and not self._synthesize:
                heapq.heappush(self._sent, packet.pts)
            try:
                frames = packet.decode()
            except av.InvalidDataError as err:
                if not track:
                    continue
                self.damaged += 1
                if packet.pts is None or self._synthesize:
                    self._unplaced += 1
                if self.damaged <= MAX_DAMAGE_WARNINGS:
                    at = float("nan") if packet.pts is None else packet.pts * stream.time_base
                    log.warning(
                        "%s: damaged packet near %.3f s (%s); the frame before stands in",
                        self.info.path, float(at), err.strerror or err,
                    )  # fmt: skip
                continue
            yield from frames

    def _stand_ins(
        self, timed: Iterator[tuple[av.VideoFrame, int | None]]
    ) -> Iterator[tuple[av.VideoFrame, int | None]]:
        """Once a packet was rejected, insert in pts order a copy of the frame before (of the
        first frame, at the start) at the pts of every packet whose frame never came out; and,
        damaged or not, after the last frame at the pts of every later packet (a decoder that
        found no reference for the rest of the stream, as HEVC after a lost packet).

        Undamaged streams pass unchanged (a packet without a frame is then the codec's own
        business, such as a hidden VP9 frame). In streams without timestamps (raw elementary
        streams), where frames are timed by their count, the copy comes where the error was
        seen, so the count and the length stay right."""
        last: av.VideoFrame | None = None
        for frame, pts in timed:
            while self._unplaced:
                self._unplaced -= 1
                self.stood_in += 1
                yield (last or frame), None
            while pts is not None and self._sent and self._sent[0] <= pts:
                sent = heapq.heappop(self._sent)
                if sent < pts and self.damaged:
                    self.stood_in += 1
                    yield (last or frame), sent
            last = frame
            yield frame, pts
        tail = sorted(self._sent) if last is not None else []
        self._sent = []
        if tail and not self.damaged:  # packets after the last frame that never came out
            self._lost_gap([self._seconds(p) for p in tail])
        for sent in tail:
            self.stood_in += bool(self.damaged)
            yield last, sent
        while self._unplaced and last is not None:
            self._unplaced -= 1
            self.stood_in += 1
            yield last, None

    def _filled(
        self, timed: Iterator[tuple[av.VideoFrame, int | None]]
    ) -> Iterator[tuple[av.VideoFrame, int | None]]:
        """In a constant-rate stream, a copy of the frame before at every frame time of a gap
        of a whole number of frames (up to :data:`MAX_FILL_SECONDS`): frames the demuxer or the
        decoder lost without an error. A frame is as long as it says (``duration``: a frame
        the container says lasts the whole gap leaves none), else one frame at the average
        rate. The decision looks at two neighbouring frames only, so a segment of a job fills
        exactly what a whole run fills."""
        rate = self.info.video.average_rate
        if self._synthesize or self.info.video.variable_rate or not rate:
            yield from timed
            return
        frame_ticks = 1 / (Fraction(rate) * self.time_base)
        last: tuple[av.VideoFrame, int] | None = None
        for frame, pts in timed:
            if pts is not None and last is not None and pts > last[1]:
                gap = pts - last[1]
                span = Fraction(last[0].duration) if last[0].duration else frame_ticks
                n = whole_frames(gap, span)
                if n >= 2 and gap * self.time_base <= MAX_FILL_SECONDS:
                    filled = [last[1] + round(k * span) for k in range(1, n)]
                    self._lost_gap([self._seconds(f) for f in filled])
                    for fill in filled:
                        yield last[0], fill
                elif n != 1 and gap * self.time_base > MAX_FILL_SECONDS:
                    log.warning(
                        "%s: the timestamps jump by %.1f s after %.3f s: kept as they are",
                        self.info.path, float(gap * self.time_base), self._seconds(last[1]),
                    )  # fmt: skip
            if pts is not None:
                last = (frame, pts)
            yield frame, pts

    def _seconds(self, pts: int) -> float:
        """Time of ``pts`` from the video's start."""
        return float((pts - (self.info.video.start_time or 0)) * self.time_base)

    def _lost_gap(self, times: list[float]) -> None:
        """Count frames filled in at ``times`` (seconds) as one gap."""
        self.lost += len(times)
        self._gaps.append((times[0], times[-1]))

    def _report_lost(self) -> None:
        """One warning: how many frames were missing, and where."""
        if not self.lost:
            return
        step = 1.5 / float(self.info.video.average_rate or 25)
        gaps: list[tuple[float, float]] = []
        for t0, t1 in sorted(self._gaps):  # a gap the tail continues is one gap
            if gaps and t0 - gaps[-1][1] <= step:
                gaps[-1] = (gaps[-1][0], max(t1, gaps[-1][1]))
            else:
                gaps.append((t0, t1))
        where = ", ".join(
            f"{t0:.3f} s" if t0 == t1 else f"{t0:.3f}-{t1:.3f} s"
            for t0, t1 in gaps[:MAX_DAMAGE_WARNINGS]
        )
        more = len(gaps) - MAX_DAMAGE_WARNINGS
        where += f" and {more} more gaps" if more > 0 else ""
        log.warning(
            "%s: %d frame%s missing (packets lost or undecodable) at %s; the frame before "
            "stands in for each",
            self.info.path, self.lost, "" if self.lost == 1 else "s", where,
        )  # fmt: skip

    def _decode(self, container, stream) -> Iterator[PlanarFrame]:
        start = self.info.video.start_time or 0
        prev: int | None = None
        count = 0
        last_t: float | None = None
        stopped_at_window_end = False
        self.damaged = self.stood_in = 0
        self._sent = []
        self._unplaced = 0
        self.lost, self._gaps = 0, []
        try:
            frames = self._deblocked(self._filtered(self._packets(container, stream)))
            for frame, pts in self._filled(self._stand_ins(sorted_timestamps(frames))):
                if (frame.width, frame.height) != (self.info.video.width, self.info.video.height):
                    raise CorruptInputError(
                        f"frame {count} of {self.info.path} is {frame.width}x{frame.height}, but "
                        f"the video started at {self.info.video.width}x{self.info.video.height}"
                    )
                if self._synthesize or pts is None:
                    pts = (
                        count * self._tick
                        if prev is None or self._synthesize
                        else prev + self._tick
                    )
                elif prev is not None and pts <= prev:
                    log.warning(
                        "frame %d: pts %d does not increase; using %d", count, pts, prev + 1
                    )
                    pts = prev + 1
                count += 1
                prev = pts
                t = float((pts - (0 if self._synthesize else start)) * self.time_base)
                if self.window.decode_end is not None and t >= self.window.decode_end - 1e-9:
                    stopped_at_window_end = True
                    break
                last_t = t
                if t < self.window.decode_start - 1e-9:
                    continue
                yield PlanarFrame(
                    planes=frame_planes(frame, self.layout),
                    pix_fmt=self.layout.pix_fmt,
                    pts=pts,
                    time_base=self.time_base,
                    width=frame.width,
                    height=frame.height,
                    warmup=t < self.window.start - 1e-9
                    or (self.window.end is not None and t >= self.window.end - 1e-9),
                )
        except av.FFmpegError as err:
            raise CorruptInputError(
                f"decoding failed after {count} frames of {self.info.path}: {err}"
            ) from err
        self._report_lost()
        if self.damaged:
            log.warning(
                "%s: %d damaged packets; %d frames are copies of the frame before them",
                self.info.path, self.damaged, self.stood_in,
            )  # fmt: skip
            if count == 0:
                raise CorruptInputError(f"no frame of {self.info.path} could be decoded")
        expected = self.info.video.frames
        whole = self.window.start == 0 and self.window.end is None
        if whole and expected and count < expected:
            raise CorruptInputError(
                f"{self.info.path} is truncated or damaged: its index lists {expected} frames, "
                f"only {count} could be decoded"
            )
        if expected and not whole and not stopped_at_window_end:
            self._check_window_complete(last_t)

    def _check_window_complete(self, last_t: float | None) -> None:
        """A window whose frames stop well before its end, in a video whose index says it runs
        on (a truncated file), is an error as a whole run of it would be, not a short output."""
        length = self.info.video.duration_s
        if not length:
            return
        rate = float(self.info.video.average_rate or 25)
        wanted = length if self.window.decode_end is None else min(length, self.window.decode_end)
        got = self.window.decode_start if last_t is None else last_t + 1 / rate
        if wanted - got > max(2 / rate, 0.1):
            raise CorruptInputError(
                f"{self.info.path} is truncated or damaged: its index runs to {length:.2f} s, "
                f"its frames stop at {got:.2f} s"
            )
