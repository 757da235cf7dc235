"""Headerless raw video (``.yuv``, ``.i420``, ``.nv12``, ``.rgb`` ...): how to address it.

A raw file holds frames and nothing else, so when reading one its size, pixel format and rate
come from its name, the way YUV sequences are named (``foreman_352x288_yuv420p.yuv``,
``BasketballDrive_1920x1080_50.yuv``, ``clip_cif.yuv``, ``cars_320x240_30f_yuv420p.i420``):

- size: ``WxH``, or one of ``qcif``, ``cif``, ``4cif``, ``sif``, ``720p``, ``1080p``, ``2160p``;
- pixel format: an FFmpeg name in the name (``yuv420p10le``, ``nv12``, ``gray``, ``rgb24``; see
  :data:`RAW_PIX_FMTS`), else ``yuv422``/``yuv444``/``i420`` or the extension's (``.yuv``,
  ``.i420``, ``.iyuv``: ``yuv420p``; ``.nv12``, ``.nv21``, ``.rgb``, ``.bgr``, ``.gray``), at the
  depth ``10bit``/``12bit``/``16bit`` says;
- rate: a number right after the size (``_50``, ``_29.97fps``, ``_60hz``), else 25 fps
  (FFmpeg's default; ``--fps`` overrides it like for any stream without timestamps).

Outputs with those extensions, or ``.y4m``, get uncompressed frames (:func:`uncompressed_output`).
"""

from __future__ import annotations

import logging
import os
import re
from fractions import Fraction

import av

from vidsr.errors import CorruptInputError

log = logging.getLogger(__name__)

RAW_EXTENSIONS: dict[str, str] = {
    ".yuv": "yuv420p",
    ".i420": "yuv420p",
    ".iyuv": "yuv420p",
    ".nv12": "nv12",
    ".nv21": "nv21",
    ".rgb": "rgb24",
    ".bgr": "bgr24",
    ".gray": "gray",
}
"""Extensions read as raw video, with the pixel format each means when the name says none."""

_NAMED_SIZES = {
    "qcif": (176, 144),
    "cif": (352, 288),
    "4cif": (704, 576),
    "sif": (352, 240),
    "720p": (1280, 720),
    "1080p": (1920, 1080),
    "2160p": (3840, 2160),
}
RAW_PIX_FMTS = frozenset(
    f"{base}{depth}"
    for base in ("yuv420p", "yuv422p", "yuv444p")
    for depth in ("", "10le", "12le", "16le")
) | {"nv12", "nv21", "p010le", "p016le", "gray", "gray10le", "gray12le", "gray16le", "rgb24",
     "bgr24", "rgb48le", "bgr48le", "yuyv422", "uyvy422"}  # fmt: skip
"""Pixel formats a raw file's name may give (packed without padding, whole bytes a sample)."""
_ALIASES = {"i420": "yuv420p", "iyuv": "yuv420p", "yuv420": "yuv420p", "yuv422": "yuv422p",
            "yuv444": "yuv444p", "p010": "p010le"}  # fmt: skip
_DEPTHS = {"10bit": "10le", "12bit": "12le", "16bit": "16le"}
_SIZE = re.compile(r"(?<![0-9])([1-9][0-9]{1,4})x([1-9][0-9]{1,4})(?![0-9])")
_RATE = re.compile(r"^[_\-.]([0-9]{1,3}(?:\.[0-9]+)?)(?:fps|hz|p)?(?=$|[_\-.])", re.IGNORECASE)


def uncompressed_output(path: str) -> tuple[str, str, dict[str, str]] | None:
    """(muxer, encoder, muxer options) for an uncompressed video output path: headerless raw
    frames for the raw extensions, YUV4MPEG for ``.y4m`` (deep formats included); else None."""
    ext = os.path.splitext(path)[1].lower()
    if ext == ".y4m":
        return "yuv4mpegpipe", "wrapped_avframe", {"strict": "unofficial"}
    if ext in RAW_EXTENSIONS:
        return "rawvideo", "rawvideo", {}
    return None


def is_raw(path: str) -> bool:
    """True if ``path`` names a headerless raw video file (by its extension)."""
    return os.path.splitext(path)[1].lower() in RAW_EXTENSIONS


def _tokens(stem: str) -> list[str]:
    return [t for t in re.split(r"[_\-.\s]+", stem.lower()) if t]


def _pix_fmt(stem: str, ext: str) -> str:
    """An FFmpeg pixel format named in ``stem``; else the extension's, at a depth it names."""
    tokens = _tokens(stem)
    exact = [t for t in tokens if t in RAW_PIX_FMTS]
    if exact:
        return exact[0]
    base = next((_ALIASES[t] for t in tokens if t in _ALIASES), RAW_EXTENSIONS[ext])
    depth = next((_DEPTHS[t] for t in tokens if t in _DEPTHS), "")
    if depth and base in ("yuv420p", "yuv422p", "yuv444p", "gray"):
        return base + depth
    return base


def _rate(text: str) -> Fraction:
    """A rate as written in a name; 23.976, 29.97, 59.94 ... are the NTSC N*1000/1001."""
    rate = Fraction(text)
    for n in (24, 30, 48, 60, 120):
        if rate.denominator > 1 and abs(rate - Fraction(n * 1000, 1001)) < Fraction(1, 100):
            return Fraction(n * 1000, 1001)
    return rate


def _size(stem: str) -> tuple[int, int] | None:
    """The frame size a name gives: ``WxH``, else a named size (``cif`` ...); None if neither."""
    found = _SIZE.search(stem.lower())
    if found:
        return int(found.group(1)), int(found.group(2))
    return next((_NAMED_SIZES[t] for t in _tokens(stem) if t in _NAMED_SIZES), None)


def raw_format(path: str) -> tuple[int, int, str, Fraction]:
    """(width, height, pix_fmt, rate) of a raw video file, read from its name alone;
    CorruptInputError with a one-line explanation when the name gives no size."""
    stem, ext = os.path.splitext(os.path.basename(path))
    ext = ext.lower()
    size = _size(stem)
    if size is None:
        raise CorruptInputError(
            f"cannot read {path}: raw video has no header, so its name must give the frame "
            f"size (e.g. {stem}_352x288{ext}, or cif/qcif/720p/1080p)"
        )
    rate = Fraction(25)
    found = _SIZE.search(stem.lower())
    after = _RATE.match(stem[found.end() :]) if found else None
    if after:
        rate = _rate(after.group(1))
    return size[0], size[1], _pix_fmt(stem, ext), rate


def check_raw_file(path: str) -> None:
    """CorruptInputError when a raw file is smaller than one frame of the format its name
    gives; a warning when it does not hold a whole number of frames (probe calls this once,
    before opening it)."""
    width, height, pix_fmt, _ = raw_format(path)
    frame_bytes = _frame_bytes(width, height, pix_fmt)
    total = os.path.getsize(path)
    if total < frame_bytes:
        raise CorruptInputError(
            f"cannot read {path}: {total} bytes is less than one {width}x{height} {pix_fmt} "
            f"frame ({frame_bytes} bytes): check the size and pixel format in its name"
        )
    if total % frame_bytes:
        log.warning(
            "%s: %d bytes is not a whole number of %dx%d %s frames; the last %d are ignored",
            path, total, width, height, pix_fmt, total % frame_bytes,
        )  # fmt: skip


def name_disagrees(path: str, width: int, height: int, pix_fmt: str) -> str | None:
    """For a raw output: why its name would not read back as ``width``x``height`` ``pix_fmt``
    frames (no size in it, or another size or format), or None when it would."""
    stem, ext = os.path.splitext(os.path.basename(path))
    ext = ext.lower()
    if ext not in RAW_EXTENSIONS:
        return None
    words = set(_NAMED_SIZES) | RAW_PIX_FMTS | set(_ALIASES) | set(_DEPTHS)
    kept = [t for t in re.split(r"[_\-.\s]+", stem) if t.lower() not in words]
    base = "_".join(t for t in kept if t and not _SIZE.fullmatch(t.lower())) or "video"
    hint = f"name it like {base}_{width}x{height}_{pix_fmt}{ext} to read it back"
    size = _size(stem)
    if size is None:
        return f"{path} gives no frame size ({width}x{height} {pix_fmt} frames): {hint}"
    said = (*size, _pix_fmt(stem, ext))
    if said != (width, height, pix_fmt):
        return (
            f"{path} says {said[0]}x{said[1]} {said[2]} but holds {width}x{height} {pix_fmt} "
            f"frames: {hint}"
        )
    return None


def _frame_bytes(width: int, height: int, pix_fmt: str) -> int:
    """Bytes of one frame as FFmpeg's rawvideo demuxer reads it (no row padding): every
    component's samples, one byte each up to 8 bits, two up to 16."""
    fmt = av.VideoFormat(pix_fmt, width, height)
    return sum(c.width * c.height * ((c.bits + 7) // 8) for c in fmt.components)


def raw_options(path: str, fps: Fraction | None = None) -> dict[str, str]:
    """The ``av.open`` options (format rawvideo) that read ``path``; ``fps`` (``--fps``)
    overrides the rate its name gives."""
    width, height, pix_fmt, rate = raw_format(path)
    rate = fps or rate
    return {"video_size": f"{width}x{height}", "pixel_format": pix_fmt, "framerate": str(rate)}
