"""Classical upscalers: shapes, flat stays flat, Lanczos agrees with PIL (independent) inside."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from vidsr.errors import InvalidOptionError
from vidsr.models.resample import Resampler, bicubic_resize, lanczos_resize, output_size


@pytest.mark.parametrize("method", ["bicubic", "lanczos"])
@pytest.mark.parametrize(("scale", "size"), [(2, (22, 34)), (3, (33, 51)), (1.5, (17, 26))])
def test_shapes(method, scale, size):
    out = Resampler(method, scale)(torch.rand(2, 3, 11, 17))
    assert out.shape == (2, 3, *size)
    assert out.dtype == torch.float32


@pytest.mark.parametrize("size", [(40, 52), (7, 9), (13, 13)])
def test_lanczos_of_constant_is_constant(size):
    x = torch.full((1, 3, 13, 13), 0.37)
    out = lanczos_resize(x, size)
    assert (out - 0.37).abs().max().item() < 1e-6


@pytest.mark.parametrize("size", [(60, 90), (33, 47), (10, 15)])
def test_lanczos_matches_pil_away_from_borders(size):
    a = np.random.default_rng(1).random((20, 30)).astype(np.float32)
    pil = np.asarray(Image.fromarray(a, mode="F").resize(size[::-1], Image.LANCZOS))
    ours = lanczos_resize(torch.from_numpy(a)[None, None], size)[0, 0].numpy()
    b = max(4, 3 * size[0] // 20 * 2)  # PIL renormalises at the edge, we replicate: skip borders
    inner = (slice(b, -b), slice(b, -b)) if size[0] > 2 * b else (slice(3, -3), slice(4, -4))
    assert np.abs(pil - ours)[inner].max() < 1e-5


def _keys(t: np.ndarray, a: float) -> np.ndarray:
    t = np.abs(t)
    near = ((a + 2) * t - (a + 3)) * t * t + 1
    far = ((a * t - 5 * a) * t + 8 * a) * t - 4 * a
    return np.where(t <= 1, near, np.where(t < 2, far, 0.0))


def _cubic_1d(row: np.ndarray, out: int, a: float) -> np.ndarray:
    src = (np.arange(out) + 0.5) * len(row) / out - 0.5
    base = np.floor(src).astype(int)
    taps = base[:, None] + np.arange(-1, 3)[None, :]
    w = _keys(src[:, None] - taps, a)
    return (row[np.clip(taps, 0, len(row) - 1)] * w).sum(axis=1)


def test_bicubic_is_keys_cubic_a_minus_075_not_matlab():
    """Docstring claim: PyTorch's kernel has a = -0.75 (MATLAB's imresize uses a = -0.5)."""
    row = np.random.default_rng(2).random(16)
    x = torch.from_numpy(row).float().reshape(1, 1, 1, 16).repeat(1, 1, 4, 1)
    ours = bicubic_resize(x, (4, 64))[0, 0, 2].double().numpy()
    assert np.abs(ours - _cubic_1d(row, 64, -0.75)).max() < 1e-5
    assert np.abs(ours - _cubic_1d(row, 64, -0.5)).max() > 1e-3


def test_output_size_rounds_half_up():
    assert output_size(3, 5, 1.5) == (5, 8)
    assert output_size(360, 640, 2) == (720, 1280)


def test_bad_method_or_scale():
    with pytest.raises(InvalidOptionError):
        Resampler("nearest", 2)
    with pytest.raises(InvalidOptionError):
        Resampler("bicubic", 0)
