"""Join finished segment files into one output without re-encoding, with the input's audio.

Each segment file holds one encoded video stream whose packets carry the input's own timestamps
(a job encodes them with ``Window(rebase=False)``). The packets are copied in order into the final
container; the input's audio and subtitle packets are interleaved with them by
:class:`~vidsr.media.mux.StreamCopier`, exactly as a single run would. Nothing here decodes a
frame, and this module never imports torch.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from fractions import Fraction

import av

from vidsr.errors import CorruptInputError, EncoderError
from vidsr.media.containers import muxer_options, stream_time_base
from vidsr.media.mux import StreamCopier
from vidsr.types import MediaInfo, Window

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SegmentFile:
    """What a finished segment file holds: its frame count and first/last pts.

    ``pts_first``/``pts_last`` are in ``time_base`` ticks (the input video's time base when
    :func:`segment_file_info` is given one).
    """

    frames: int
    pts_first: int
    pts_last: int
    time_base: Fraction
    job: str | None = None  # the job digest its container's tag names (None: no tag)


SEGMENT_TAG = "comment"
"""The container tag that names a segment's job (MP4 and MOV, the segment containers, keep it)."""
_TAG_PREFIX = "vidsr job "


def segment_tags(digest: str) -> dict[str, str]:
    """The container tags a segment of the job ``digest`` is written with."""
    return {SEGMENT_TAG: _TAG_PREFIX + digest}


_OWN_SUFFIX = {".mp4": ".mp4", ".m4v": ".mp4", ".mov": ".mov"}


def segment_suffix(output_path: str, encoder: str) -> str:
    """The container a job writes its segments in, for ``output_path`` encoded by ``encoder``.

    The output's own container where its packets read back with their exact timestamps and
    decode order (MP4, MOV, MPEG-TS); else MP4, which holds every encoder vidsr offers but
    ProRes (MOV then). Not Matroska: it keeps no decode timestamps (packets of B-frame streams
    come back without dts) and rounds every time to the millisecond.
    """
    own = _OWN_SUFFIX.get(os.path.splitext(output_path)[1].lower())
    if own is not None:
        return own
    return ".mov" if av.Codec(encoder, "w").canonical_name == "prores" else ".mp4"


def _rescale(value: int, src: Fraction, dst: Fraction) -> int:
    return round(Fraction(value) * src / dst)


def segment_file_info(path: str, time_base: Fraction | None = None) -> SegmentFile:
    """Count the video packets of ``path`` (demux only) and find their first and last pts.

    Raises :class:`CorruptInputError` if the file cannot be read or holds no video packet (an
    unfinished file, for example).
    """
    try:
        with av.open(path) as container:
            if not container.streams.video:
                raise CorruptInputError(f"segment {path} has no video stream")
            stream = container.streams.video[0]
            src = stream.time_base
            tag = container.metadata.get(SEGMENT_TAG, "")
            pts = [p.pts for p in container.demux(stream) if p.size and p.pts is not None]
    except av.FFmpegError as err:
        raise CorruptInputError(f"segment {path} is unreadable: {err}") from err
    if not pts:
        raise CorruptInputError(f"segment {path} holds no video packet")
    dst = time_base or src
    return SegmentFile(
        frames=len(pts),
        pts_first=_rescale(min(pts), src, dst),
        pts_last=_rescale(max(pts), src, dst),
        time_base=dst,
        job=tag[len(_TAG_PREFIX) :] if tag.startswith(_TAG_PREFIX) else None,
    )


def check_segment_decodes(path: str, frames: int) -> None:
    """Decode every packet of the segment file ``path`` (one thread, so an error belongs to its
    packet): CorruptInputError unless each decodes without error into an intact frame and they
    make ``frames`` frames. A check before a segment no manifest recorded is adopted."""
    decoded = 0
    try:
        with av.open(path) as container:
            stream = container.streams.video[0]
            stream.thread_type = "NONE"
            for packet in container.demux(stream):
                for frame in packet.decode():
                    if frame.is_corrupt:
                        raise CorruptInputError(f"segment {path}: frame {decoded} is damaged")
                    decoded += 1
    except (av.FFmpegError, IndexError) as err:
        raise CorruptInputError(
            f"segment {path} does not decode after {decoded} frames: {err}"
        ) from err
    if decoded != frames:
        raise CorruptInputError(f"segment {path}: {decoded} frames decode, {frames} expected")


def concat_segments(
    segment_paths: list[str],
    info: MediaInfo,
    output_path: str,
    *,
    copy_streams: bool = True,
    container_format: str | None = None,
) -> int:
    """Write ``segment_paths``' video packets, in order, plus the input's audio into a new file.

    ``info`` describes the input (its path, video time base, start time, rotation and metadata).
    Segments must hold the same codec parameters (they come from one set of encoder settings);
    if a packet's dts would not increase across a cut (variable frame rate with B-frames), it is
    moved up by one tick, never past its pts. Returns the number of video packets written.
    """
    if not segment_paths:
        raise EncoderError("no segment to concatenate")
    video = info.video
    time_base = video.time_base
    try:
        out = av.open(
            output_path, "w", format=container_format,
            options=muxer_options(output_path, time_base),
        )  # fmt: skip
    except (av.FFmpegError, ValueError) as err:
        raise EncoderError(f"cannot create output {output_path}: {err}") from err
    copier = None
    try:
        out.metadata.update(info.metadata)
        first = av.open(segment_paths[0])
        try:
            template = first.streams.video[0]
            extradata = template.codec_context.extradata
            out_stream = out.add_stream_from_template(template, opaque=True)  # AV1: dav1d
            out_stream.time_base = stream_time_base(out.format.name, time_base, video)
            annexb = _annexb_filter(out, template, out_stream)
        finally:
            first.close()
        if video.rotation:
            out_stream.set_display_rotation(video.rotation)
        if copy_streams:
            copier = StreamCopier(info.path, out, Window())
        start = float((video.start_time or 0) * time_base)
        written = 0
        last_dts: int | None = None
        for path in segment_paths:
            with av.open(path) as seg:
                stream = seg.streams.video[0]
                if stream.codec_context.extradata != extradata:
                    raise EncoderError(
                        f"segment {path} was encoded with different codec parameters than "
                        f"{segment_paths[0]}: remove the job folder and run again"
                    )
                for packet in seg.demux(stream):
                    if packet.size == 0 or packet.dts is None:
                        continue
                    packet.dts = _monotonic_dts(packet, last_dts, path)
                    last_dts = packet.dts
                    if copier is not None:
                        t = float(packet.dts * packet.time_base) - start
                        copier.mux_until(out, t)
                    packet.stream = out_stream
                    for ready in annexb.filter(packet) if annexb else (packet,):
                        ready.stream = out_stream
                        out.mux(ready)
                    written += 1
        if copier is not None:
            copier.finish(out)
            copier = None
    except av.FFmpegError as err:
        raise EncoderError(f"joining the segments into {output_path} failed: {err}") from err
    finally:
        if copier is not None:
            copier.close()
        out.close()
    return written


_ANNEXB = {"h264": "h264_mp4toannexb", "hevc": "hevc_mp4toannexb"}
_WANTS_ANNEXB = ("avi",)  # MPEG-TS converts by itself


def _annexb_filter(out, template, out_stream) -> av.BitStreamFilterContext | None:
    """MP4 segments hold H.264/HEVC as length-prefixed NAL units; AVI wants start codes (the
    filter also rewrites the output stream's extradata to match)."""
    name = _ANNEXB.get(template.codec_context.name)
    if name is None or out.format.name.split(",")[0] not in _WANTS_ANNEXB:
        return None
    return av.BitStreamFilterContext(name, template, out_stream)


def _monotonic_dts(packet, last_dts: int | None, path: str) -> int:
    """The packet's dts, moved one tick past ``last_dts`` if it does not increase."""
    dts = packet.dts
    if last_dts is None or dts > last_dts:
        return dts
    fixed = last_dts + 1
    if packet.pts is not None and fixed > packet.pts:
        raise EncoderError(
            f"cannot join {path}: its timestamps overlap the previous segment "
            f"(dts {dts} <= {last_dts}, pts {packet.pts})"
        )
    log.debug("dts %d -> %d at a segment cut in %s", dts, fixed, path)
    return fixed
