"""Image sequences and stills: how FFmpeg's image2 reader and writer are addressed.

Inputs: a folder of frames (the most common image extension in it, sorted by name), a printf
pattern (``frames/%06d.png``) or a single photo. Outputs: a folder (PNG frames, 16-bit PNG for
deep sources), a printf pattern, or a single image file (``.png``, ``.jpg``, ``.tif``).
"""

from __future__ import annotations

import glob
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from vidsr.media.rawvideo import is_raw, raw_options

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp")
_ENCODERS = {".png": "png", ".jpg": "mjpeg", ".jpeg": "mjpeg", ".tif": "tiff", ".tiff": "tiff"}


@dataclass(frozen=True)
class OpenSpec:
    """What to pass to ``av.open`` for an input or output path."""

    url: str
    format: str | None = None
    options: dict[str, str] = field(default_factory=dict)
    images: bool = False


_FRAME_NUMBER = re.compile(r"%0?\d*d")


def is_pattern(path: str) -> bool:
    """True if ``path`` is a printf pattern of numbered images (``frames/%06d.png``); a video
    whose name merely holds a ``%`` (``clip 100%.mp4``) is not one."""
    name = os.path.basename(path.rstrip("/" + os.sep))
    return bool(_FRAME_NUMBER.search(name)) and name.lower().endswith(IMAGE_EXTENSIONS)


def _glob_escape(path: str) -> str:
    return glob.escape(path)


def input_spec(path: str, fps: Fraction | None = None) -> OpenSpec:
    """How to open ``path`` for reading: a video file as it is, images through image2, raw
    video (:mod:`vidsr.media.rawvideo`) with the size and format its name gives."""
    rate = {"framerate": str(fps)} if fps else {}
    if os.path.isdir(path):
        counts = Counter(
            Path(name).suffix.lower()
            for name in os.listdir(path)
            if Path(name).suffix.lower() in IMAGE_EXTENSIONS
        )
        if not counts:
            return OpenSpec(url=path, images=True)  # the caller reports "no images"
        ext = counts.most_common(1)[0][0]
        names = sorted(n for n in os.listdir(path) if Path(n).suffix.lower() == ext)
        pattern = os.path.join(_glob_escape(path), "*" + Path(names[0]).suffix)
        opts = {"pattern_type": "glob", **rate}
        return OpenSpec(url=pattern, format="image2", options=opts, images=True)
    if is_pattern(path):
        return OpenSpec(url=path, format="image2", options=rate, images=True)
    if path.lower().endswith(IMAGE_EXTENSIONS):
        return OpenSpec(url=path, options=rate, images=True)
    if is_raw(path):  # headerless: size, pixel format and rate come from the name
        return OpenSpec(url=path, format="rawvideo", options=raw_options(path, fps))
    return OpenSpec(url=path)


def first_frame_number(path: str) -> int | None:
    """The number in the name of the first image of a sequence input (a folder or a pattern),
    so the output can keep the input's numbering; None for anything else."""
    if os.path.isdir(path):
        spec = input_spec(path)
        names = sorted(glob.glob(spec.url)) if spec.format == "image2" else []
    elif is_pattern(path):
        wildcard = _FRAME_NUMBER.sub("*", glob.escape(os.path.basename(path)), count=1)
        names = glob.glob(os.path.join(glob.escape(os.path.dirname(path)), wildcard))
    else:
        return None
    numbers = [int(m.group(1)) for n in names if (m := re.search(r"(\d+)\D*$", Path(n).name))]
    if not numbers:
        return None
    return numbers[0] if os.path.isdir(path) else min(numbers)


def is_image_output(path: str) -> bool:
    """True if ``path`` names a folder (existing, or ending in a slash), pattern or image."""
    return (
        path.endswith(("/", os.sep))
        or os.path.isdir(path)
        or is_pattern(path)
        or path.lower().endswith(tuple(_ENCODERS))
    )


def output_spec(path: str, frames: int) -> tuple[OpenSpec, str]:
    """How to open an image output, and its encoder.

    A folder gets ``frame_000001.png`` ...; a single image name is used as it is when the
    input has one frame, else it becomes a pattern beside it (``name_000001.png``).
    """
    if path.endswith(("/", os.sep)) or os.path.isdir(path):
        return OpenSpec(os.path.join(path, "frame_%06d.png"), "image2", images=True), "png"
    stem, ext = os.path.splitext(path)
    encoder = _ENCODERS.get(ext.lower(), "png")
    if is_pattern(path):
        return OpenSpec(path, "image2", images=True), encoder
    if frames == 1:
        return OpenSpec(path, "image2", {"update": "1"}, images=True), encoder
    return OpenSpec(f"{stem}_%06d{ext}", "image2", images=True), encoder


def image_pix_fmt(encoder: str, bit_depth: int) -> str:
    """Pixel format of written images: 16-bit PNG/TIFF for deep sources, else 8-bit."""
    if encoder == "mjpeg":
        return "yuvj444p"
    if bit_depth > 8:
        return "rgb48be" if encoder == "png" else "rgb48le"
    return "rgb24"
