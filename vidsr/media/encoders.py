"""Which video encoder a run uses, and how ``--crf``/``--preset`` are said to it.

``--codec auto`` (the default) is libx264, except where the container cannot hold H.264: WebM
gets VP9 (libvpx-vp9, 8-bit here) or, for deeper sources, AV1 (libsvtav1), so 10-bit stays
10-bit. Encoders name their speed differently: x264/x265 presets are translated to SVT-AV1's
preset numbers and libvpx's ``cpu-used``; VP9 runs in constant-quality mode (``crf`` with no
target bit rate) with row multithreading.
"""

from __future__ import annotations

import os

AUTO = "auto"
"""``--codec`` value that picks the encoder from the output container and the source depth."""

_X264_PRESETS = (
    "ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower",
    "veryslow", "placebo",
)  # fmt: skip
_SVTAV1_PRESET = dict(zip(_X264_PRESETS, (12, 11, 10, 9, 8, 7, 6, 5, 4, 2), strict=True))
_VPX_CPU_USED = dict(zip(_X264_PRESETS, (8, 8, 7, 6, 5, 4, 2, 1, 0, 0), strict=True))


def choose_encoder(codec: str, output_path: str, bit_depth: int) -> str:
    """The encoder for ``codec`` (``auto`` or an FFmpeg encoder name) and this output."""
    if codec != AUTO:
        return codec
    if os.path.splitext(output_path)[1].lower() == ".webm":
        return "libsvtav1" if bit_depth > 8 else "libvpx-vp9"
    return "libx264"


def encoder_options(codec: str, crf: int, preset: str | None, private: set[str]) -> dict[str, str]:
    """Private options for ``codec`` meaning ``--crf``/``--preset``, given the names of the
    options it has (``private``); a preset it has no translation for is passed as it is."""
    options: dict[str, str] = {}
    if "crf" in private:
        options["crf"] = str(crf)
    if codec == "libsvtav1" and preset:
        options["preset"] = str(_SVTAV1_PRESET.get(preset, preset))
    elif codec.startswith("libvpx"):
        options["row-mt"] = "1"
        options["deadline"] = "good"
        if preset:
            options["cpu-used"] = str(_VPX_CPU_USED.get(preset, preset))
    elif "preset" in private and preset:
        options["preset"] = preset
    if codec == "libx265":
        options["x265-params"] = "log-level=error"  # its banner otherwise fills the terminal
    return options


# x264's rate-control look-ahead (frames) per preset, as x264 sets it
_X264_LOOKAHEAD = dict(zip(_X264_PRESETS, (0, 0, 10, 20, 30, 40, 50, 60, 60, 60), strict=True))
# Measured with scripts/bench_encoder_memory.py (80 frames of chaplin enlarged to 2560x1440,
# CRF 18, 2 cores): libx264 medium held 581 MiB, medium with rc-lookahead 20 369 MiB, 10 262 MiB,
# faster 367 MiB; threads=1 the same as auto; and by the test's encode at 1280x720: medium
# 188-192 MiB, veryfast 95-106 MiB. Fitted (least squares, all within 3% of the 1440p and 5% of
# the 720p figures): 53 MiB, plus 28.7 bytes per pixel, plus 3.05 per pixel for each look-ahead
# frame (a fit without the fixed part, from 1440p alone, undercounted 720p by 35-40%).
_X264_FIXED = 53 << 20
_X264_FIXED_PER_PIXEL = 28.7
_X264_LOOKAHEAD_PER_PIXEL = 3.05


def encoder_bytes(codec: str, preset: str | None, width: int, height: int) -> int:
    """Estimated memory the video encoder holds for ``width`` x ``height`` frames (its
    look-ahead and reference frames), for a ``--max-memory`` plan.

    Measured for libx264 (any preset, by its look-ahead length); other encoders were not
    measured and get libx264 ``medium``'s figure. Image and raw outputs hold one frame.
    """
    pixels = width * height
    if codec in ("rawvideo", "png", "mjpeg", "tiff", "bmp"):
        return 4 * pixels
    lookahead = _X264_LOOKAHEAD.get(preset or "medium", _X264_LOOKAHEAD["medium"])
    if codec != "libx264":
        lookahead = _X264_LOOKAHEAD["medium"]
    per_pixel = _X264_FIXED_PER_PIXEL + _X264_LOOKAHEAD_PER_PIXEL * lookahead
    return _X264_FIXED + int(pixels * per_pixel)
