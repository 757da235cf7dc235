"""Encode planar frames and mux them with the input's other streams into one output file."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction

import av
import numpy as np

from vidsr.errors import EncoderError
from vidsr.media.containers import muxer_options, stream_time_base
from vidsr.media.encoders import encoder_options
from vidsr.media.formats import output_tags
from vidsr.media.mux import StreamCopier, copy_stream_tags
from vidsr.types import MediaInfo, PlanarFrame, Window

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EncodeSettings:
    """How the video is encoded. ``crf``/``preset`` are passed to encoders that know them."""

    codec: str = "libx264"
    crf: int = 18
    preset: str = "medium"
    pix_fmt: str = "yuv420p"
    container_format: str | None = None  # None: from the output file's extension
    container_options: dict[str, str] | None = None
    keep_rotation: bool = True  # write the source's display rotation (False: frames are upright)
    # a bare stream of frames (raw video, YUV4MPEG): no other streams and no timestamps, so
    # frames are numbered at the video's average rate
    bare_frames: bool = False

    @property
    def images(self) -> bool:
        """True when writing image files (no audio, no container metadata)."""
        return self.container_format == "image2"


def _fill_frame(frame: PlanarFrame, pix_fmt: str) -> av.VideoFrame:
    """An ``av.VideoFrame`` holding ``frame``'s planes, in ``pix_fmt``.

    Planes are written as they are; a different encoder format (packed RGB for PNG, full-range
    YUV for JPEG) is reached by a lossless shuffle or an explicit BT.601 full-range conversion.
    """
    out = av.VideoFrame(frame.width, frame.height, frame.pix_fmt)
    for plane, data in zip(out.planes, frame.planes, strict=True):
        rows = np.frombuffer(plane, dtype=data.dtype).reshape(plane.height, -1)
        rows[:, : plane.width] = data
    if pix_fmt == frame.pix_fmt:
        return out
    if pix_fmt.startswith("yuvj"):
        return out.reformat(format=pix_fmt, dst_colorspace="itu601", dst_color_range="JPEG")
    return out.reformat(format=pix_fmt)


class VideoWriter:
    """Owns the output container: one encoded video stream plus the input's copied streams.

    Video frames keep the input's pts and time base (minus the window start for previews), so
    duration and audio sync are the input's. Call :meth:`write` per frame and :meth:`close` once.
    """

    def __init__(
        self,
        path: str,
        info: MediaInfo,
        width: int,
        height: int,
        settings: EncodeSettings,
        window: Window = Window(),
        time_base: Fraction | None = None,
        copy_streams: bool = True,
        tags: Mapping[str, str] | None = None,
    ):
        self.info = info
        self.settings = settings
        video = info.video
        self.time_base = time_base or video.time_base
        if settings.bare_frames:
            self.time_base = 1 / Fraction(video.average_rate or 25)
        self._shift = 0
        if window.shifts:
            self._shift = round(window.start / self.time_base) + (video.start_time or 0)
        try:
            options = settings.container_options or muxer_options(path, info.video.time_base)
            self.container = av.open(path, "w", format=settings.container_format, options=options)
        except (av.FFmpegError, ValueError) as err:
            raise EncoderError(f"cannot create output {path}: {err}") from err
        try:
            self.stream = self._add_video_stream(width, height)
            copy_streams = copy_streams and not settings.images and not settings.bare_frames
            if not settings.images:
                self.container.metadata.update(info.metadata)
                self.container.metadata.update(tags or {})
            self.copier = StreamCopier(info.path, self.container, window) if copy_streams else None
        except Exception:
            self.container.close()
            raise
        self.frames_written = 0

    def _add_video_stream(self, width: int, height: int):
        s, video = self.settings, self.info.video
        try:
            stream = self.container.add_stream(s.codec, rate=video.average_rate or Fraction(25))
        except (av.FFmpegError, ValueError) as err:
            raise EncoderError(f"unknown or unusable video encoder {s.codec!r}: {err}") from err
        stream.width, stream.height = width, height
        stream.pix_fmt = s.pix_fmt
        stream.time_base = stream_time_base(self.container.format.name, self.time_base, video)
        ctx = stream.codec_context
        ctx.time_base = self.time_base
        if not s.images:
            for name, value in output_tags(video.color).items():
                setattr(ctx, name, value)
        if video.sample_aspect_ratio:
            ctx.sample_aspect_ratio = video.sample_aspect_ratio
        private = {o.name for o in ctx.supported_options.private}
        ctx.options = encoder_options(s.codec, s.crf, s.preset, private)
        if not s.images:
            copy_stream_tags(video.tags, video.disposition, stream)
        if video.rotation and s.keep_rotation:
            stream.set_display_rotation(video.rotation)
        return stream

    def write(self, frame: PlanarFrame) -> None:
        """Encode one frame and mux it, interleaved with the copied streams."""
        out = _fill_frame(frame, self.settings.pix_fmt)
        if out.width != self.stream.width or out.height != self.stream.height:
            raise EncoderError(f"frame size {out.width}x{out.height} != stream size")
        out.pts = self.frames_written if self.settings.bare_frames else frame.pts - self._shift
        out.time_base = self.time_base
        if not self.settings.images:
            tags = output_tags(self.info.video.color)
            out.colorspace, out.color_range = tags["colorspace"], tags["color_range"]
        try:
            self._mux(self.stream.encode(out))
        except av.FFmpegError as err:
            raise EncoderError(f"encoding frame {self.frames_written} failed: {err}") from err
        self.frames_written += 1

    def _mux(self, packets) -> None:
        for packet in packets:
            if packet.dts is not None and self.copier is not None:
                t = float(packet.dts * packet.time_base) + self._shift * float(self.time_base)
                start = self.info.video.start_time or 0
                self.copier.mux_until(self.container, t - float(start * self.time_base))
            self.container.mux(packet)

    def close(self) -> None:
        """Flush the encoder, mux the rest of the copied streams and finish the file."""
        try:
            self._mux(self.stream.encode(None))
            if self.copier is not None:
                self.copier.finish(self.container)
            self.container.close()
        except av.FFmpegError as err:
            self.abort()
            raise EncoderError(f"finishing the output failed: {err}") from err

    def abort(self) -> None:
        """Close everything without finishing (the caller deletes the file)."""
        try:
            if self.copier is not None:
                self.copier.close()
        finally:
            with contextlib.suppress(av.FFmpegError):
                self.container.close()
