"""The one place decoded planes become RGB tensors, and RGB tensors become planes to encode."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import torch

from vidsr.color import gbr_to_rgb, rgb_to_gbr, rgb_to_yuv, yuv_to_rgb
from vidsr.types import ColorInfo, PlanarFrame, PlaneLayout


def _stack(frames: list[PlanarFrame], index: int, device: torch.device) -> torch.Tensor:
    arr = np.stack([f.planes[index] for f in frames])
    if arr.dtype != np.uint8:
        arr = arr.astype(np.int32)
    return torch.from_numpy(arr).to(device, non_blocking=True).float()


def planes_to_rgb(
    frames: list[PlanarFrame], layout: PlaneLayout, color: ColorInfo, device: torch.device
) -> torch.Tensor:
    """Stack a batch of decoded frames into RGB float32 (N,3,H,W) on ``device``.

    Conversion uses the source's matrix and range, in float, on the device.
    """
    if layout.kind == "gbr":
        g, b, r = (_stack(frames, i, device) for i in range(3))
        return gbr_to_rgb(g, b, r, layout)
    y = _stack(frames, 0, device)
    if layout.kind == "gray":
        return yuv_to_rgb(y, None, None, layout, color)
    return yuv_to_rgb(y, _stack(frames, 1, device), _stack(frames, 2, device), layout, color)


def rgb_to_planes(
    rgb: torch.Tensor,
    pts: list[int],
    time_base: Fraction,
    layout: PlaneLayout,
    color: ColorInfo,
) -> list[PlanarFrame]:
    """Turn RGB float (N,3,H,W) back into planar frames of ``layout`` with the given pts."""
    if layout.kind == "gbr":
        planes = rgb_to_gbr(rgb, layout)
    else:
        planes = [p for p in rgb_to_yuv(rgb, layout, color) if p is not None]
    dtype = np.uint8 if layout.bit_depth == 8 else np.dtype("<u2")
    torch_dtype = torch.uint8 if layout.bit_depth == 8 else torch.int32
    arrays = [p.to(torch_dtype).cpu().numpy().astype(dtype, copy=False) for p in planes]
    height, width = rgb.shape[-2:]
    return [
        PlanarFrame(
            planes=[a[i] for a in arrays],
            pix_fmt=layout.pix_fmt,
            pts=p,
            time_base=time_base,
            width=width,
            height=height,
        )
        for i, p in enumerate(pts)
    ]
