"""YUV planes <-> linear-in-code-value RGB tensors, with the source's own matrix and range.

Everything is float32 torch, so it runs on whatever device the model uses. The conversion is the
exact inverse pair of the standard equations (ITU-R BT.601 / BT.709 / BT.2020 non-constant),
at any bit depth, for limited ("MPEG") and full ("JPEG") range, with chroma siting respected
when 4:2:0 / 4:2:2 chroma is up- and down-sampled. No swscale defaults anywhere.
"""

from __future__ import annotations

import torch

from vidsr.errors import InvalidOptionError
from vidsr.types import ColorInfo, PlaneLayout

# (Kr, Kb) luma coefficients per matrix name.
_KR_KB: dict[str, tuple[float, float]] = {
    "bt601": (0.299, 0.114),
    "bt709": (0.2126, 0.0722),
    "bt2020nc": (0.2627, 0.0593),
    "smpte240m": (0.212, 0.087),
    "fcc": (0.30, 0.11),
}

# FFmpeg AVChromaLocation values whose horizontal siting is co-sited with the left luma sample.
_COSITED_H = {0, 1, 3, 5}  # unspecified (H.264/MPEG-2 default: left), left, topleft, bottomleft


def luma_coefficients(matrix: str) -> tuple[float, float, float]:
    """(kr, kg, kb) of ``matrix`` (bt601, bt709, bt2020...): Y = kr R + kg G + kb B."""
    try:
        kr, kb = _KR_KB[matrix]
    except KeyError:
        raise InvalidOptionError(f"unknown colour matrix {matrix!r}") from None
    return kr, 1.0 - kr - kb, kb


def _ranges(layout: PlaneLayout, color_range: str) -> tuple[float, float, float, float]:
    """Return (y_offset, y_scale, c_offset, c_scale) in code values for this depth and range."""
    shift = float(1 << (layout.bit_depth - 8))
    if color_range == "full":
        return (
            0.0,
            float(layout.max_code),
            float(1 << (layout.bit_depth - 1)),
            float(layout.max_code),
        )
    return 16.0 * shift, 219.0 * shift, 128.0 * shift, 224.0 * shift


def _upsample_axis(c: torch.Tensor, dim: int, cosited: bool, size: int) -> torch.Tensor:
    """Double ``c`` along ``dim`` by linear interpolation at the right chroma positions."""
    n = c.shape[dim]
    prev = torch.cat([c.narrow(dim, 0, 1), c.narrow(dim, 0, n - 1)], dim)
    nxt = torch.cat([c.narrow(dim, 1, n - 1), c.narrow(dim, n - 1, 1)], dim) if n > 1 else c
    if cosited:
        even, odd = c, 0.5 * (c + nxt)
    else:
        even, odd = 0.75 * c + 0.25 * prev, 0.75 * c + 0.25 * nxt
    out = torch.stack([even, odd], dim + 1).flatten(dim, dim + 1)
    return out.narrow(dim, 0, size)


def _downsample_axis(c: torch.Tensor, dim: int, cosited: bool) -> torch.Tensor:
    """Halve ``c`` along ``dim`` (odd sizes: the last sample is repeated), the inverse siting."""
    n = c.shape[dim]
    if n % 2:
        c = torch.cat([c, c.narrow(dim, n - 1, 1)], dim)
        n += 1
    even = c.narrow(dim, 0, n).unflatten(dim, (n // 2, 2))
    a, b = even.select(dim + 1, 0), even.select(dim + 1, 1)
    if not cosited:
        return 0.5 * (a + b)
    prev_b = torch.cat([b.narrow(dim, 0, 1), b.narrow(dim, 0, b.shape[dim] - 1)], dim)
    return 0.5 * a + 0.25 * (b + prev_b)


def yuv_to_rgb(
    y: torch.Tensor,
    u: torch.Tensor | None,
    v: torch.Tensor | None,
    layout: PlaneLayout,
    color: ColorInfo,
) -> torch.Tensor:
    """Convert integer planes (N,H,W) / (N,h,w) to RGB float32 (N,3,H,W), nominally in [0, 1].

    ``u``/``v`` are None for grey pictures. Values outside the nominal range (super-whites,
    out-of-gamut chroma) are kept, not clipped: the model input clamps, not the converter.
    """
    y = y.float()
    y_off, y_scale, c_off, c_scale = _ranges(layout, color.range)
    luma = (y - y_off) / y_scale
    if layout.kind == "gray" or u is None or v is None:
        return luma.unsqueeze(1).expand(-1, 3, -1, -1).contiguous()
    cb = (u.float() - c_off) / c_scale
    cr = (v.float() - c_off) / c_scale
    h, w = y.shape[-2:]
    cosited = color.chroma_location in _COSITED_H
    if layout.log2_chroma_w:
        cb = _upsample_axis(cb, 2, cosited, w)
        cr = _upsample_axis(cr, 2, cosited, w)
    if layout.log2_chroma_h:
        cb = _upsample_axis(cb, 1, False, h)
        cr = _upsample_axis(cr, 1, False, h)
    kr, kg, kb = luma_coefficients(color.matrix)
    r = luma + 2.0 * (1.0 - kr) * cr
    b = luma + 2.0 * (1.0 - kb) * cb
    g = (luma - kr * r - kb * b) / kg
    return torch.stack([r, g, b], 1)


def rgb_to_yuv(
    rgb: torch.Tensor, layout: PlaneLayout, color: ColorInfo
) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
    """Convert RGB float (N,3,H,W) to rounded integer-valued planes (still float tensors).

    The exact inverse of :func:`yuv_to_rgb`; chroma is down-sampled for the layout's subsampling.
    Returns (Y, U, V) with U/V None for grey layouts. Values are clamped to the code range.
    """
    r, g, b = rgb.float().unbind(1)
    kr, kg, kb = luma_coefficients(color.matrix)
    y_off, y_scale, c_off, c_scale = _ranges(layout, color.range)
    luma = kr * r + kg * g + kb * b
    y = (luma * y_scale + y_off).round_().clamp_(0, layout.max_code)
    if layout.kind == "gray":
        return y, None, None
    cb = (b - luma) / (2.0 * (1.0 - kb))
    cr = (r - luma) / (2.0 * (1.0 - kr))
    cosited = color.chroma_location in _COSITED_H
    if layout.log2_chroma_w:
        cb = _downsample_axis(cb, 2, cosited)
        cr = _downsample_axis(cr, 2, cosited)
    if layout.log2_chroma_h:
        cb = _downsample_axis(cb, 1, False)
        cr = _downsample_axis(cr, 1, False)
    u = (cb * c_scale + c_off).round_().clamp_(0, layout.max_code)
    v = (cr * c_scale + c_off).round_().clamp_(0, layout.max_code)
    return y, u, v


def gbr_to_rgb(
    g: torch.Tensor, b: torch.Tensor, r: torch.Tensor, layout: PlaneLayout
) -> torch.Tensor:
    """Planar GBR integer planes (N,H,W) to RGB float (N,3,H,W) in [0, 1]."""
    return torch.stack([r, g, b], 1).float() / layout.max_code


def rgb_to_gbr(rgb: torch.Tensor, layout: PlaneLayout) -> list[torch.Tensor]:
    """RGB float (N,3,H,W) to rounded G, B, R planes (float tensors holding integers)."""
    q = (rgb.float() * layout.max_code).round_().clamp_(0, layout.max_code)
    return [q[:, 1], q[:, 2], q[:, 0]]
