"""Planes <-> tensors: the banded conversion equals converting whole frames."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import torch

from vidsr.color import rgb_to_gbr, rgb_to_yuv
from vidsr.media.formats import plane_layout_for
from vidsr.tensors import rgb_to_planes
from vidsr.types import ColorInfo


@pytest.mark.parametrize(
    ("fmt", "height", "width"),
    [("yuv420p", 601, 333), ("yuv420p10le", 514, 300), ("gbrp", 300, 20), ("yuv422p", 259, 31)],
)
def test_banded_conversion_equals_whole_frame(fmt, height, width):
    layout, color = plane_layout_for(fmt), ColorInfo()
    x = torch.rand(2, 3, height, width, generator=torch.Generator().manual_seed(1))
    frames = rgb_to_planes(x, [0, 1], Fraction(1, 25), layout, color)
    if layout.kind == "gbr":
        whole = rgb_to_gbr(x, layout)
    else:
        whole = [p for p in rgb_to_yuv(x, layout, color) if p is not None]
    for k, plane in enumerate(whole):
        for i in range(2):
            assert np.array_equal(frames[i].planes[k].astype(np.int64), plane[i].long().numpy())
