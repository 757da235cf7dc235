"""What a run's output frames look like, decided once from the input, the model and the encoder's
pixel format: the pipeline and the benchmark both take it from here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from vidsr.media.formats import plane_layout_for
from vidsr.types import MediaInfo, PlaneLayout

if TYPE_CHECKING:
    from vidsr.models import Upscaler


@dataclass(frozen=True)
class OutputGeometry:
    """The planes the post stage writes and the encoder takes, and their size."""

    layout: PlaneLayout
    height: int
    width: int
    turns: int = 0
    """Quarter turns the frames are rotated by (``--apply-rotation``), 0 when kept as a tag."""


def output_geometry(
    info: MediaInfo,
    upscaler: Upscaler,
    pix_fmt: str,
    *,
    apply_rotation: bool = False,
    rgb_planes: bool = False,
) -> OutputGeometry:
    """The model's output size for ``info``'s frames (sides swapped when a quarter turn is
    applied), cropped to what ``pix_fmt``'s chroma subsampling can hold (4:2:0 / 4:2:2 encoders
    need even sizes: the last row/column goes when odd). ``rgb_planes``: write GBR planes
    instead of YUV ones (image outputs, whose encoders convert from RGB)."""
    height, width = upscaler.output_size(info.video.height, info.video.width)
    turns = round(info.video.rotation / 90) % 4 if apply_rotation else 0
    if turns % 2:
        height, width = width, height
    layout = plane_layout_for(pix_fmt)
    if rgb_planes and layout.kind == "yuv":
        layout = plane_layout_for("gbrp")
    height -= height % (1 << layout.log2_chroma_h)
    width -= width % (1 << layout.log2_chroma_w)
    return OutputGeometry(layout, height, width, turns)
