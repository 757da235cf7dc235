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
    host = torch.from_numpy(arr)
    if device.type == "cuda":  # page-locked, so the copy runs asynchronously
        host = host.pin_memory()
    return host.to(device, non_blocking=True).float()


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


ROWS_PER_CHUNK = 256  # even, so 4:2:0 chroma rows pair up inside a chunk


def _convert(rgb: torch.Tensor, layout: PlaneLayout, color: ColorInfo) -> list[torch.Tensor]:
    if layout.kind == "gbr":
        return rgb_to_gbr(rgb, layout)
    return [p for p in rgb_to_yuv(rgb, layout, color) if p is not None]


def rgb_to_planes(
    rgb: torch.Tensor,
    pts: list[int],
    time_base: Fraction,
    layout: PlaneLayout,
    color: ColorInfo,
) -> list[PlanarFrame]:
    """Turn RGB float (N,3,H,W) back into planar frames of ``layout`` with the given pts.

    Converted a frame and a band of rows at a time, so the float temporaries stay small even
    for 8K output (the result is the same as converting whole frames).
    """
    dtype = np.uint8 if layout.bit_depth == 8 else np.dtype("<u2")
    torch_dtype = torch.uint8 if layout.bit_depth == 8 else torch.int32
    n, _, height, width = rgb.shape
    frames = []
    for i in range(n):
        planes: list[np.ndarray] | None = None
        for top in range(0, height, ROWS_PER_CHUNK):
            band = rgb[i : i + 1, :, top : top + ROWS_PER_CHUNK]
            parts = _convert(band, layout, color)
            if planes is None:
                sub_h = [0] + [layout.log2_chroma_h] * (len(parts) - 1)
                if layout.kind == "gbr":
                    sub_h = [0] * len(parts)
                planes = [
                    np.empty((-(-height >> s), p.shape[-1]), dtype)
                    for p, s in zip(parts, sub_h, strict=True)
                ]
            for plane, part in zip(planes, parts, strict=True):
                shift = 0 if plane.shape[0] == height else layout.log2_chroma_h
                at = top >> shift
                plane[at : at + part.shape[-2]] = part[0].to(torch_dtype).cpu().numpy()
        frames.append(
            PlanarFrame(
                planes=planes,
                pix_fmt=layout.pix_fmt,
                pts=pts[i],
                time_base=time_base,
                width=width,
                height=height,
            )
        )
    return frames
