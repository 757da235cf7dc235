"""Pixel formats and colour tags: PyAV/FFmpeg enums in, vidsr's plain descriptions out."""

from __future__ import annotations

import av
from av.video.reformatter import ColorPrimaries, ColorRange, Colorspace, ColorTrc

from vidsr.errors import EncoderError
from vidsr.types import ColorInfo, PlaneLayout

# FFmpeg AVColorSpace values PyAV's Colorspace enum folds into others (it has no member for them)
SMPTE170M_MATRIX, BT2020_CL_MATRIX = 6, 10
_UNSPECIFIED = 2  # AVCOL_SPC/PRI/TRC_UNSPECIFIED (PyAV's Colorspace has no member for it)

# FFmpeg AVColorSpace -> the matrix vidsr converts with.
_MATRIX = {
    Colorspace.ITU709: "bt709",
    Colorspace.FCC: "fcc",
    Colorspace.ITU601: "bt601",
    SMPTE170M_MATRIX: "bt601",
    Colorspace.SMPTE240M: "smpte240m",
    Colorspace.BT2020: "bt2020nc",
    BT2020_CL_MATRIX: "bt2020nc",
}
_MATRIX_TAG = {
    "bt709": Colorspace.ITU709,
    "fcc": Colorspace.FCC,
    "bt601": SMPTE170M_MATRIX,
    "smpte240m": Colorspace.SMPTE240M,
    "bt2020nc": Colorspace.BT2020,
}
PQ, HLG = ColorTrc.SMPTE2084, ColorTrc.ARIB_STD_B67


def _depth_suffix(bits: int) -> str:
    if bits <= 8:
        return ""
    if bits <= 10:
        return "10le"
    if bits <= 12:
        return "12le"
    return "16le"


def plane_layout_for(pix_fmt: str) -> PlaneLayout:
    """Describe ``pix_fmt`` if vidsr reads its planes directly, else the format it converts to.

    Planar YUV, grey and GBR formats (8 to 16 bit, little endian, no alpha) are read as they are;
    :func:`working_format` names the planar format any other one is first converted to.
    """
    name = working_format(pix_fmt)
    fmt = av.VideoFormat(name)
    comps = fmt.components
    bits = comps[0].bits
    if fmt.is_rgb:
        kind = "gbr"
    elif len(comps) == 1:
        kind = "gray"
    else:
        kind = "yuv"
    log2_w = (64 // fmt.chroma_width(64)).bit_length() - 1 if kind == "yuv" else 0
    log2_h = (64 // fmt.chroma_height(64)).bit_length() - 1 if kind == "yuv" else 0
    return PlaneLayout(
        pix_fmt=name, kind=kind, bit_depth=bits, log2_chroma_w=log2_w, log2_chroma_h=log2_h
    )


def _is_native(fmt: av.VideoFormat) -> bool:
    comps = fmt.components
    if not fmt.is_planar or fmt.is_big_endian or fmt.has_palette or fmt.is_bayer:
        return False
    if len(comps) not in (1, 3):  # alpha planes are not carried
        return False
    if [c.plane for c in comps] != list(range(len(comps))):  # semi-planar (nv12, p010)
        return False
    bits = comps[0].bits
    return (
        all(c.bits == bits for c in comps)
        and bits in (8, 10, 12, 16)
        and (bits == 8 or fmt.name.endswith("le"))
    )


def working_format(pix_fmt: str) -> str:
    """The planar format frames of ``pix_fmt`` are handled in (itself when already planar)."""
    fmt = av.VideoFormat(pix_fmt)
    if _is_native(fmt):
        return fmt.name
    comps = fmt.components
    bits = max(c.bits for c in comps)
    suffix = _depth_suffix(bits)
    if fmt.is_rgb or fmt.has_palette or fmt.is_bayer:
        return "gbrp" + (suffix or "")
    if len(comps) <= 2:
        return "gray" + suffix
    sub_w = fmt.chroma_width(64) < 64
    sub_h = fmt.chroma_height(64) < 64
    family = "420" if sub_w and sub_h else "422" if sub_w else "444"
    return f"yuv{family}p" + suffix


def color_info(frame: av.VideoFrame, ctx, width: int, height: int) -> ColorInfo:
    """The colour description of ``frame`` (tags from the frame, else the codec context).

    An untagged matrix is guessed from the resolution: BT.709 from 1280x720 up, BT.601 below,
    which is what FFmpeg's tools assume for untagged video.
    """
    matrix_tag = int(frame.colorspace or 0) or int(ctx.colorspace or 0) or _UNSPECIFIED
    range_tag = int(frame.color_range or 0) or int(ctx.color_range or 0)
    pix_fmt = frame.format.name
    if av.VideoFormat(pix_fmt).is_rgb:
        # RGB images (PNG, TIFF): sRGB. Video made from them is BT.709 limited range.
        return ColorInfo(
            matrix="bt709",
            range="limited",
            primaries=ColorPrimaries.BT709,
            transfer=ColorTrc.IEC61966_2_1,
            matrix_tag=Colorspace.ITU709,
        )
    if matrix_tag in _MATRIX:
        matrix, guessed = _MATRIX[matrix_tag], False
    else:
        matrix, guessed = ("bt709" if width >= 1280 or height > 576 else "bt601"), True
    if range_tag == ColorRange.JPEG or (
        range_tag == ColorRange.UNSPECIFIED and pix_fmt.startswith("yuvj")
    ):
        color_range = "full"
    else:
        color_range = "limited"
    return ColorInfo(
        matrix=matrix,
        range=color_range,
        primaries=int(frame.color_primaries or 0) or int(ctx.color_primaries or 0) or _UNSPECIFIED,
        transfer=int(frame.color_trc or 0) or int(ctx.color_trc or 0) or _UNSPECIFIED,
        matrix_tag=matrix_tag,
        range_tag=range_tag,
        guessed=guessed,
    )


def output_tags(color: ColorInfo) -> dict[str, int]:
    """Colour tags to write on the output: the source's, with a guessed matrix written out."""
    matrix_tag = color.matrix_tag if color.matrix_tag != _UNSPECIFIED else _MATRIX_TAG[color.matrix]
    return {
        "colorspace": matrix_tag,
        "color_range": ColorRange.JPEG if color.range == "full" else ColorRange.MPEG,
        "color_primaries": color.primaries,
        "color_trc": color.transfer,
    }


def output_pix_fmt(codec: str, layout: PlaneLayout, requested: str | None = None) -> str:
    """Pick the encoder pixel format: the requested one, else the source's depth at 4:2:0.

    8-bit sources give ``yuv420p``; deeper ones keep their depth (``yuv420p10le`` ...) where the
    encoder supports it, so 10-bit is never silently flattened to 8.
    """
    try:
        supported = [f.name for f in (av.codec.Codec(codec, "w").video_formats or [])]
    except av.FFmpegError as err:
        raise EncoderError(f"unknown video encoder {codec!r}") from err
    if requested:
        if supported and requested not in supported:
            raise EncoderError(
                f"{codec} cannot encode {requested}; it takes: {', '.join(supported)}"
            )
        return requested
    wanted = "gray" if layout.kind == "gray" else "yuv420p"
    wanted += _depth_suffix(layout.bit_depth)
    if not supported or wanted in supported:
        return wanted
    if layout.bit_depth > 8:
        deeper = [f for f in supported if f.startswith("yuv420p1") and f.endswith("le")]
        if deeper:
            return deeper[0]
        raise EncoderError(
            f"{codec} cannot write {layout.bit_depth}-bit video; use --codec libx265 or --pix-fmt"
        )
    for name in ("yuv420p", supported[0]):
        if name in supported:
            return name
    return supported[0]
