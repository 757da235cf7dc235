"""Which video codecs each output container holds, checked before anything is written.

A container FFmpeg would accept a stream in is not always one it reads back as video: MPEG-TS
takes AV1, VP9 and FFV1 packets as private data (the file plays as audio only), MOV refuses VP9
and AV1 only at the first packet or the trailer. So the codecs each container is known to hold,
and read back, are listed here (the README's output table says the same); a container not
listed is left to FFmpeg.
"""

from __future__ import annotations

import os
from fractions import Fraction

import av

from vidsr.errors import InvalidOptionError

_MP4 = frozenset({"h264", "hevc", "av1", "vp9", "mpeg4", "ffv1"})
HOLDS: dict[str, frozenset[str] | None] = {
    ".mp4": _MP4,
    ".m4v": _MP4,
    ".mov": frozenset({"h264", "hevc", "prores", "mpeg4"}),
    ".mkv": None,  # every encoder vidsr offers
    ".webm": frozenset({"vp9", "av1", "vp8"}),
    ".avi": frozenset({"h264", "av1", "vp9", "ffv1", "mpeg4"}),
    ".ts": frozenset({"h264", "hevc", "mpeg4", "mpeg2video"}),
    ".m2ts": frozenset({"h264", "hevc", "mpeg4", "mpeg2video"}),
}
"""Output suffix -> the codecs (FFmpeg's names) a file of that kind holds; None: all of them."""


def video_encoder(name: str) -> av.Codec:
    """The FFmpeg video encoder called ``name``; InvalidOptionError if there is none."""
    try:
        codec = av.Codec(name, "w")
    except (av.codec.codec.UnknownCodecError, ValueError):
        raise InvalidOptionError(
            f"--codec {name}: this FFmpeg has no encoder of that name (try libx264, libx265, "
            "libsvtav1, libvpx-vp9, ffv1 or prores_ks)"
        ) from None
    if codec.type != "video":
        raise InvalidOptionError(f"--codec {name} is an {codec.type} encoder, not a video one")
    return codec


def check_holds(output_path: str, encoder: str) -> None:
    """InvalidOptionError unless an ``output_path`` file can hold what ``encoder`` makes."""
    codec = video_encoder(encoder)
    suffix = os.path.splitext(output_path)[1].lower()
    holds = HOLDS.get(suffix)
    if holds is None or codec.canonical_name in holds:
        return
    raise InvalidOptionError(
        f"a {suffix} file cannot hold {codec.canonical_name} video (--codec {encoder}): "
        f"use {_suggest(codec.canonical_name, suffix)}"
    )


def _suggest(family: str, suffix: str) -> str:
    """Containers that hold ``family``, and the default encoder for ``suffix``."""
    where = [
        s for s, h in HOLDS.items() if s not in (".m4v", ".m2ts") and (h is None or family in h)
    ]
    from vidsr.media.encoders import choose_encoder

    default = choose_encoder("auto", f"x{suffix}", 8)
    return f"{' or '.join(where)}, or --codec {default} (or auto) for {suffix}"


def stream_time_base(format_name: str, time_base: Fraction, video) -> Fraction:
    """The video stream time base to give an output muxer for ``video`` (a VideoInfo).

    AVI counts frames: at a constant rate each frame is one tick of it, where the input's fine
    time base would make it write an empty chunk for every tick between frames and misplace the
    last one; a variable-rate video keeps the fine time base (its gaps are those empty chunks).
    Every other muxer keeps the input's time base."""
    if format_name.split(",")[0] == "avi" and not video.variable_rate:
        return 1 / Fraction(video.average_rate or 25)
    return time_base


def muxer_options(path: str, time_base: Fraction) -> dict[str, str]:
    """Options for the muxer of an output file at ``path`` whose video has ``time_base``.

    MP4/MOV keep edit lists in a 1/1000 s movie timescale by default, which would round a
    non-zero start time (MPEG-TS sources) to the millisecond: they get the video's own. AVI
    would shift every stream by the audio's priming delay rounded up to a whole frame, placing
    the second frame two frames after the first: its timestamps are left as they are.
    """
    suffix = os.path.splitext(path)[1].lower()
    if suffix in (".mp4", ".m4v", ".mov") and time_base.numerator == 1:
        return {"movie_timescale": str(time_base.denominator)}
    if suffix == ".avi":
        return {"avoid_negative_ts": "disabled"}
    return {}
