"""Find out what an input holds: its video stream, colour, timing, geometry and other streams."""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import Iterator
from fractions import Fraction

import av

from vidsr.errors import CorruptInputError, InputNotFoundError, NoVideoStreamError
from vidsr.media.formats import HLG, PQ, color_info, plane_layout_for
from vidsr.media.images import input_spec, is_pattern
from vidsr.media.rawvideo import check_raw_file, is_raw
from vidsr.types import MediaInfo, StreamInfo, VideoInfo

log = logging.getLogger(__name__)

_FIELD_ORDER = {0: "unknown", 1: "progressive", 2: "tff", 3: "bff", 4: "tb", 5: "bt"}


def open_input(path: str, fps: Fraction | None = None) -> av.container.InputContainer:
    """Open a video file, image folder, printf image pattern or photo for reading.

    Every failure becomes a typed one-line error. ``fps`` sets the rate of image sequences.
    """
    pattern = is_pattern(path)
    if not pattern and not os.path.exists(path):
        raise InputNotFoundError(f"input not found: {path}")
    if pattern and not os.path.isdir(os.path.dirname(path) or "."):
        raise InputNotFoundError(f"input folder not found: {os.path.dirname(path)}")
    spec = input_spec(path, fps)
    if spec.images and spec.format is None and os.path.isdir(path):
        raise NoVideoStreamError(f"no images (png, jpg, tif, bmp, webp) in folder {path}")
    try:
        return av.open(spec.url, format=spec.format, options=spec.options, metadata_errors="ignore")
    except av.FFmpegError as err:
        raise CorruptInputError(f"cannot read {path}: not a media file or damaged ({err})") from err


def demux(container: av.container.InputContainer, *streams) -> Iterator[av.Packet]:
    """``container.demux(*streams)``, ending cleanly in a file where a stream appears mid-way.

    FFmpeg adds such a stream (an MPEG-TS whose audio, or second program, starts after the
    first seconds) when it meets it; PyAV knows only the streams found at open, skips the new
    one's packets, and its flush loop at the end of the file raises IndexError on it. By then
    every known stream's packets, flush packets included, came out: the new stream is left
    out, and said so once.
    """
    packets = container.demux(*streams)
    while True:
        try:
            packet = next(packets)
        except StopIteration:
            return
        except IndexError:
            if container.name not in _TOLD_NEW_STREAMS:
                _TOLD_NEW_STREAMS.add(container.name)
                log.warning(
                    "%s: a stream starts mid-file, after the ones found at its start; it is "
                    "left out", container.name,
                )  # fmt: skip
            return
        yield packet


_TOLD_NEW_STREAMS: set[str] = set()


def _seconds(value: int | None, time_base: Fraction | None) -> float | None:
    if value is None or time_base is None:
        return None
    return float(value * time_base)


def _variable_rate(container, stream, packets: int = 120) -> bool:
    """True if the first packets' durations (from sorted pts) differ by more than 1%.

    One tick of jitter is rounding (Matroska's milliseconds), not a variable rate; nor is a
    step of a whole number of frames (a lost packet in a damaged file, which the decoder fills,
    see :class:`~vidsr.media.decode.VideoDecoder`).
    """
    try:
        container.seek(0, stream=stream)
        stamps = []
        for packet in demux(container, stream):
            if packet.pts is not None:
                stamps.append(packet.pts)
            if len(stamps) >= packets:
                break
    except av.FFmpegError:
        return False
    stamps.sort()
    if len(stamps) == packets:
        stamps = stamps[:-16]  # the last packets in decode order leave gaps before reordering
    steps = [b - a for a, b in itertools.pairwise(stamps) if b > a]
    if not steps:
        return False
    base = min(steps)
    steps = [s for s in steps if whole_frames(s, base) < 2]
    return max(steps) - base > max(1, 0.01 * base)


def whole_frames(step: float, frame: float) -> int:
    """How many ``frame`` durations ``step`` spans, if a whole number (within one tick per
    frame, or 1%: containers round each time); 0 if it is not."""
    n = round(step / frame)
    return n if n >= 1 and abs(step - n * frame) <= max(n, 0.01 * step) else 0


def main_video_stream(container: av.container.InputContainer) -> av.video.stream.VideoStream:
    """The video stream to upscale: FFmpeg's pick (``av_find_best_stream``: cover art and
    other attached pictures left out, then the stream with the most frames seen), not simply
    the first one, which in a tagged file can be a one-frame cover. NoVideoStreamError when
    there is none."""
    if not container.streams.video:
        raise NoVideoStreamError(f"no video stream in {container.name}")
    return container.streams.best("video") or container.streams.video[0]


def probe(path: str, fps: Fraction | None = None) -> MediaInfo:
    """Describe ``path``; decodes the first video frame to learn colour tags and rotation."""
    if is_raw(path) and os.path.isfile(path):
        check_raw_file(path)
    container = open_input(path, fps)
    try:
        stream = main_video_stream(container)
        ctx = stream.codec_context
        try:
            first = next(f for packet in demux(container, stream) for f in packet.decode())
        except (StopIteration, av.FFmpegError) as err:
            raise CorruptInputError(f"cannot decode any video frame of {path} ({err})") from err
        layout = plane_layout_for(first.format.name)
        color = color_info(first, ctx, first.width, first.height)
        field = _FIELD_ORDER.get(int(ctx.field_order or 0), "unknown")
        if field in ("unknown", "progressive") and first.interlaced_frame:
            field = "tff" if getattr(first, "top_field_first", True) else "bff"
        time_base = stream.time_base or Fraction(1, 90000)
        others = tuple(
            StreamInfo(
                index=s.index,
                kind=s.type,
                codec=s.codec_context.name if s.codec_context else "unknown",
                language=(s.metadata or {}).get("language"),
                channels=getattr(s.codec_context, "channels", None) if s.type == "audio" else None,
                sample_rate=getattr(s.codec_context, "sample_rate", None)
                if s.type == "audio"
                else None,
            )
            for s in container.streams
            if s.index != stream.index
        )
        duration = container.duration / 1_000_000 if container.duration else None
        video = VideoInfo(
            index=stream.index,
            codec=ctx.name,
            width=first.width,
            height=first.height,
            pix_fmt=first.format.name,
            bit_depth=layout.bit_depth,
            time_base=time_base,
            average_rate=stream.average_rate or stream.guessed_rate,
            start_time=stream.start_time,
            duration_s=_seconds(stream.duration, time_base) or duration,
            frames=stream.frames or 0,
            sample_aspect_ratio=stream.sample_aspect_ratio or ctx.sample_aspect_ratio,
            rotation=round(first.rotation or 0),
            field_order=field,
            color=color,
            has_timestamps=first.pts is not None,
            variable_rate=_variable_rate(container, stream),
            tags=dict(stream.metadata or {}),
            disposition=int(stream.disposition),
        )
        if color.guessed:
            log.info("video has no colour matrix tag: using %s (FFmpeg's guess)", color.matrix)
        if color.transfer in (PQ, HLG):
            kinds = {str(getattr(sd, "type", sd)).lower() for sd in first.side_data}
            static = [k for k in kinds if "mastering" in k or "light" in k]
            log.warning(
                "HDR source (%s): its transfer and primaries tags are kept, but %s not carried "
                "to the output",
                "PQ" if color.transfer == PQ else "HLG",
                ", ".join(static) + " metadata is" if static else "HDR10 static metadata is",
            )
        return MediaInfo(
            path=path,
            format_name=container.format.name,
            duration_s=duration,
            video=video,
            others=others,
            metadata=dict(container.metadata or {}),
            fps=fps,
        )
    finally:
        container.close()
