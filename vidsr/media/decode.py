"""Decode the video stream of an input into :class:`PlanarFrame` objects, in order, none dropped."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from fractions import Fraction

import av
import numpy as np

from vidsr.errors import CorruptInputError
from vidsr.media.formats import plane_layout_for
from vidsr.media.probe import open_input
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


class VideoDecoder:
    """Iterate the frames of ``info.video`` that fall in ``window``, with exact pts.

    FFmpeg's frame threading is on. A frame without a timestamp (raw elementary streams) gets one
    from the frame rate (``fps`` overrides it); a timestamp that does not increase is moved one
    tick past the previous frame and logged, so the encoder never sees the same pts twice. A
    decoding error raises :class:`CorruptInputError`: frames are never skipped silently.
    """

    def __init__(self, info: MediaInfo, window: Window = Window(), fps: Fraction | None = None):
        self.info = info
        self.window = window
        self.layout = plane_layout_for(info.video.pix_fmt)
        rate = fps or info.video.average_rate or Fraction(25)
        self.time_base = info.video.time_base if fps is None else Fraction(1) / fps
        self._tick = max(1, round(1 / (rate * self.time_base)))
        self._synthesize = fps is not None or not info.video.has_timestamps

    def frames(self) -> Iterator[PlanarFrame]:
        """Yield the window's frames in presentation order."""
        container = open_input(self.info.path)
        try:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            if self.window.start > 0 and not self._synthesize:
                offset = int(self.window.start / stream.time_base) + (stream.start_time or 0)
                container.seek(offset, stream=stream, backward=True, any_frame=False)
            yield from self._decode(container, stream)
        finally:
            container.close()

    def _decode(self, container, stream) -> Iterator[PlanarFrame]:
        start = self.info.video.start_time or 0
        prev: int | None = None
        count = 0
        try:
            for frame in container.decode(stream):
                pts = frame.pts
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
                if not self.window.contains(t):
                    if self.window.end is not None and t >= self.window.end:
                        break
                    continue
                yield PlanarFrame(
                    planes=frame_planes(frame, self.layout),
                    pix_fmt=self.layout.pix_fmt,
                    pts=pts,
                    time_base=self.time_base,
                    width=frame.width,
                    height=frame.height,
                )
        except av.FFmpegError as err:
            raise CorruptInputError(
                f"decoding failed after {count} frames of {self.info.path}: {err}"
            ) from err
        expected = self.info.video.frames
        whole = self.window.start == 0 and self.window.end is None
        if whole and expected and count < expected:
            raise CorruptInputError(
                f"{self.info.path} is truncated or damaged: its index lists {expected} frames, "
                f"only {count} could be decoded"
            )
