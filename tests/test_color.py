"""Colour: the standard equations, exact round trips, flat patches through the whole pipeline."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import pytest
import torch

from vidsr import Pipeline, UpscaleOptions
from vidsr.color import rgb_to_yuv, yuv_to_rgb
from vidsr.media.formats import plane_layout_for
from vidsr.types import ColorInfo

L8 = plane_layout_for("yuv444p")
L420 = plane_layout_for("yuv420p")
L10 = plane_layout_for("yuv444p10le")


def _planes(y, u, v, shape=(1, 2, 2)):
    return tuple(torch.full(shape, float(c)) for c in (y, u, v))


@pytest.mark.parametrize(
    ("matrix", "expected"),
    # Y'CbCr of pure red, limited range, from the standards' Kr/Kb (hand-computed reference values)
    [("bt709", (63, 102, 240)), ("bt601", (81, 90, 240)), ("bt2020nc", (74, 97, 240))],
)
def test_pure_red_matches_the_standard(matrix, expected):
    red = torch.tensor([1.0, 0.0, 0.0]).view(1, 3, 1, 1).expand(1, 3, 2, 2)
    y, u, v = rgb_to_yuv(red, L8, ColorInfo(matrix=matrix, range="limited"))
    assert (y[0, 0, 0].item(), u[0, 0, 0].item(), v[0, 0, 0].item()) == expected


def test_full_and_limited_range_black_and_white():
    full, limited = ColorInfo(range="full"), ColorInfo(range="limited")
    assert yuv_to_rgb(*_planes(255, 128, 128), L8, full).allclose(torch.ones(1, 3, 2, 2), atol=3e-3)
    assert yuv_to_rgb(*_planes(235, 128, 128), L8, limited).allclose(torch.ones(1, 3, 2, 2))
    assert yuv_to_rgb(*_planes(16, 128, 128), L8, limited).abs().max() < 1e-6
    # 10-bit limited white is 940, not 235 << 2 rounded some other way
    assert yuv_to_rgb(*_planes(940, 512, 512), L10, limited).allclose(torch.ones(1, 3, 2, 2))


@pytest.mark.parametrize("matrix", ["bt601", "bt709", "bt2020nc"])
@pytest.mark.parametrize("rng", ["limited", "full"])
@pytest.mark.parametrize("layout", [L8, L10], ids=["8bit", "10bit"])
def test_yuv_rgb_yuv_round_trip_is_exact(matrix, rng, layout):
    g = torch.Generator().manual_seed(0)
    color = ColorInfo(matrix=matrix, range=rng)
    rgb = torch.rand(2, 3, 8, 8, generator=g)
    y, u, v = rgb_to_yuv(rgb, layout, color)
    again = rgb_to_yuv(yuv_to_rgb(y, u, v, layout, color), layout, color)
    for a, b in zip((y, u, v), again, strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize("chroma_location", [0, 2], ids=["left", "center"])
def test_420_chroma_resampling_keeps_smooth_chroma(chroma_location):
    color = ColorInfo(matrix="bt709", chroma_location=chroma_location)
    x = torch.linspace(0.2, 0.8, 16)
    rgb = torch.stack([x.expand(16, 16), 0.5 * torch.ones(16, 16), x.flip(0).expand(16, 16)])[None]
    y, u, v = rgb_to_yuv(rgb, L420, color)
    assert u.shape[-2:] == (8, 8)
    back = yuv_to_rgb(y, u, v, L420, color)
    inner = (back - rgb)[..., 2:-2, 2:-2].abs().max().item()
    assert inner < 2 / 255


PATCHES = [
    (60, 120, 140),
    (180, 110, 135),
    (120, 140, 118),
    (200, 128, 128),
]  # in gamut for all four


def _patch_clip(path, colorspace: int, color_range: int) -> None:
    """Four flat YUV patches written straight into the planes (no RGB conversion involved)."""
    with av.open(str(path), "w") as out:
        s = out.add_stream("libx264", rate=25)
        s.width, s.height, s.pix_fmt = 64, 64, "yuv420p"
        s.codec_context.colorspace, s.codec_context.color_range = colorspace, color_range
        s.codec_context.color_primaries = s.codec_context.color_trc = colorspace
        s.codec_context.options = {"qp": "0", "preset": "ultrafast"}
        for i in range(3):
            y = np.zeros((64, 64), np.uint8)
            u, v = np.zeros((32, 32), np.uint8), np.zeros((32, 32), np.uint8)
            for k, (py, pu, pv) in enumerate(PATCHES):
                r, c = divmod(k, 2)
                y[r * 32 : r * 32 + 32, c * 32 : c * 32 + 32] = py
                u[r * 16 : r * 16 + 16, c * 16 : c * 16 + 16] = pu
                v[r * 16 : r * 16 + 16, c * 16 : c * 16 + 16] = pv
            frame = av.VideoFrame.from_ndarray(
                np.concatenate([y, u.reshape(16, 64), v.reshape(16, 64)]), "yuv420p"
            )
            frame.colorspace, frame.color_range = colorspace, color_range
            frame.pts, frame.time_base = i, Fraction(1, 25)
            out.mux(s.encode(frame))
        out.mux(s.encode(None))


@pytest.mark.parametrize("colorspace", [1, 6], ids=["bt709", "bt601"])
@pytest.mark.parametrize("color_range", [1, 2], ids=["limited", "full"])
def test_flat_patches_keep_their_colour_and_tags(tmp_path, colorspace, color_range):
    src, out = tmp_path / "patches.mp4", tmp_path / "out.mp4"
    _patch_clip(src, colorspace, color_range)
    Pipeline(UpscaleOptions.of(model="bicubic", scale=2, preset="ultrafast")).run(
        str(src), str(out)
    )
    with av.open(str(out)) as c:
        ctx = c.streams.video[0].codec_context
        assert (int(ctx.colorspace), int(ctx.color_range)) == (colorspace, color_range)
        assert (int(ctx.color_primaries), int(ctx.color_trc)) == (colorspace, colorspace)
        frame = next(c.decode(video=0))
        y, u, v = (
            np.frombuffer(p, np.uint8).reshape(p.height, p.line_size)[:, : p.width]
            for p in frame.planes
        )
    for k, (py, pu, pv) in enumerate(PATCHES):
        r, c = divmod(k, 2)
        ys, cs = slice(r * 64 + 12, r * 64 + 52), slice(c * 64 + 12, c * 64 + 52)
        yc, cc = slice(r * 32 + 6, r * 32 + 26), slice(c * 32 + 6, c * 32 + 26)
        assert abs(y[ys, cs].mean() - py) <= 1
        assert abs(u[yc, cc].mean() - pu) <= 2
        assert abs(v[yc, cc].mean() - pv) <= 2
