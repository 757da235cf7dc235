"""MATLAB-compatible bicubic resize."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vidsr.errors import InvalidOptionError
from vidsr.quality.pictures import load_rgb
from vidsr.quality.resize import bicubic_lr, imresize, mod_crop, reduce


def _basicsr_imresize():
    from vidsr.models.basicsr_compat import basicsr_attr

    return basicsr_attr("utils.matlab_functions", "imresize")


@pytest.mark.parametrize(("scale", "shape"), [(0.25, (37, 50)), (0.5, (20, 17)), (4.0, (9, 12))])
def test_matches_basicsr_reference(scale: float, shape: tuple[int, int]) -> None:
    reference = _basicsr_imresize()
    img = torch.rand(3, *shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    ours = imresize(img, scale)
    ref = reference(img.clone(), scale)
    assert ours.shape == ref.shape
    assert torch.allclose(ours, ref.to(ours.dtype), atol=1e-6)


def test_constant_image_stays_constant() -> None:
    img = torch.full((3, 24, 30), 0.3)
    for scale in (0.25, 0.5, 2.0):
        assert torch.allclose(imresize(img, scale), torch.full_like(imresize(img, scale), 0.3))


def test_mod_crop_and_bad_scale() -> None:
    assert mod_crop(torch.zeros(3, 23, 18), 4).shape == (3, 20, 16)
    with pytest.raises(InvalidOptionError):
        imresize(torch.zeros(3, 4, 4), 0.0)


def test_reproduces_official_set5_lr(shared_data) -> None:
    """Our bicubic LR equals the official Set5 LR_bicubic files to within one 8-bit level."""
    set5 = shared_data / "eval" / "Set5"
    for scale in (2, 4):
        for hr_path in sorted((set5 / "HR").iterdir()):
            official = load_rgb(set5 / "LR_bicubic" / f"X{scale}" / f"{hr_path.stem}x{scale}.png")
            ours = bicubic_lr(load_rgb(hr_path), scale)
            diff = ((ours - official).abs() * 255).round().numpy()
            assert ours.shape == official.shape
            assert diff.max() <= 2
            assert np.mean(diff > 0) < 0.02, f"{hr_path.name} x{scale}: {np.mean(diff > 0):.3f}"


@pytest.mark.parametrize("factor", [2, 3, 4])
def test_reduce_is_imresize_as_a_strided_filter(factor):
    """``reduce`` (the back-projection's reduction) gives MATLAB's imresize, borders included,
    on batched frames; sizes it cannot take are refused."""
    x = torch.rand(2, 3, 24 * factor, 30 * factor, generator=torch.Generator().manual_seed(factor))
    assert (reduce(x, factor) - imresize(x, 1 / factor)).abs().max() < 1e-5
    with pytest.raises(InvalidOptionError):
        reduce(x[..., :-1], factor)
