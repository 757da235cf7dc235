"""vidsr/temporal/backproject.py: multi-frame back-projection recovers detail no frame holds."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from tests.views import sub_pixel_views
from vidsr.errors import InvalidOptionError
from vidsr.models import load_model
from vidsr.quality.metrics import psnr_y
from vidsr.temporal.align import neighbour_views
from vidsr.temporal.backproject import back_project_views

SHIFTS = [(0, 0), (1, 2), (-2, 1), (3, -1), (-1, -3)]  # HR pixels: a quarter LR pixel each


@pytest.fixture(scope="module")
def sequence(shared_data):
    """A real image seen through five sub-pixel camera positions (exact integer HR crops, so no
    interpolation enters the ground truth), each reduced with MATLAB bicubic; the current
    frame's vidsr-bi-x4 output."""
    torch.set_num_threads(2)
    hr, lr = sub_pixel_views(shared_data, SHIFTS)
    up = load_model("vidsr-bi-x4", device="cpu", precision="fp32")
    with torch.inference_mode():
        sr = up(lr[0][None])[0].float().clamp(0, 1)
    return hr[0], lr, sr


def _score(out: torch.Tensor, hr: torch.Tensor) -> float:
    return psnr_y(out[0].clamp(0, 1), hr, 4)


def _bp(sr, lr, views, iterations=4):
    return back_project_views(sr[None], lr[None], views, 4, iterations)


def test_neighbours_at_other_sub_pixel_positions_add_detail(sequence) -> None:
    """With four neighbours the result beats the per-frame network by a clear margin, and
    beats back-projection onto the current frame alone (the neighbours' share of the gain)."""
    hr, lr, sr = sequence
    views = neighbour_views(lr[0], torch.stack(lr[1:]))
    none = neighbour_views(lr[0], torch.stack(lr[1:])[:0])
    per_frame = _score(sr[None], hr)
    alone = _score(_bp(sr, lr[0], none), hr)
    multi = _score(_bp(sr, lr[0], views), hr)
    assert multi > per_frame + 0.25, (per_frame, alone, multi)
    assert multi > alone + 0.25, (per_frame, alone, multi)


def test_wrong_motion_costs_fidelity(sequence) -> None:
    """The gain comes from the motion: the same neighbours with their motion reversed make the
    result worse than per-frame SR (so the test above can fail)."""
    hr, lr, sr = sequence
    v = neighbour_views(lr[0], torch.stack(lr[1:]))
    wrong = dataclasses.replace(v, flow=-v.flow, back_flow=-v.back_flow)
    assert _score(_bp(sr, lr[0], wrong), hr) < _score(sr[None], hr) - 0.5


def test_untrusted_neighbours_change_nothing(sequence) -> None:
    """A neighbour at trust 0 (a cut, a failed match) adds nothing: the result is the
    single-frame back-projection's; zero iterations return the input."""
    _, lr, sr = sequence
    views = neighbour_views(lr[0], torch.stack(lr[1:3]))
    blind = dataclasses.replace(views, trust=views.trust * 0, back_trust=views.back_trust * 0)
    alone = _bp(sr, lr[0], neighbour_views(lr[0], torch.stack(lr[1:3])[:0]), 2)
    torch.testing.assert_close(_bp(sr, lr[0], blind, 2), alone, atol=1e-6, rtol=0)
    torch.testing.assert_close(_bp(sr, lr[0], views, 0), sr[None], atol=0, rtol=0)


def test_sizes_that_do_not_fit_are_refused(sequence) -> None:
    _, lr, sr = sequence
    views = neighbour_views(lr[0], torch.stack(lr[1:2]))
    with pytest.raises(InvalidOptionError):
        back_project_views(sr[None], lr[0][None, :, :-1], views, 4)
    with pytest.raises(InvalidOptionError):
        back_project_views(sr[None], lr[0][None], views, 4, iterations=-1)


def test_the_sampling_grids_put_zero_motion_on_the_pixels() -> None:
    """With no motion the full-size grid lands on the output's own pixels (the warp returns the
    estimate) and, read on the small grid, on the points bicubic upscaling computes (the errors
    come back exactly where upscaling would put them, half-pixel offsets included)."""
    from vidsr.temporal.backproject import _grid, _sample_up, _up, _warp

    g = torch.Generator().manual_seed(3)
    small = torch.rand(2, 1, 12, 20, generator=g)
    big = torch.rand(2, 1, 48, 80, generator=g)
    grid = _grid(torch.zeros(2, 2, 12, 20), (48, 80), 4)
    torch.testing.assert_close(_warp(big, grid), big, atol=1e-5, rtol=0)
    inner = (slice(None), slice(None), slice(8, -8), slice(8, -8))  # borders pad differently
    torch.testing.assert_close(
        _sample_up(small, grid)[inner], _up(small, 4)[inner], atol=1e-5, rtol=0
    )
    shifted = _grid(torch.full((2, 2, 12, 20), 0.25), (48, 80), 4)  # a quarter input pixel
    torch.testing.assert_close(_warp(big, shifted)[..., 4:-4, 4:-5], big[..., 5:-3, 5:-4])
