"""vidsr/temporal/backproject.py: multi-frame back-projection recovers detail no frame holds."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from vidsr.errors import InvalidOptionError
from vidsr.models import load_model
from vidsr.quality.metrics import psnr_y
from vidsr.quality.pictures import list_images, load_rgb
from vidsr.quality.resize import bicubic_lr
from vidsr.temporal.backproject import back_project, find_neighbours

SHIFTS = [(0, 0), (1, 2), (-2, 1), (3, -1), (-1, -3)]  # HR pixels: a quarter LR pixel each


@pytest.fixture(scope="module")
def sequence(shared_data):
    """A real image seen through five sub-pixel camera positions (exact integer HR crops, so no
    interpolation enters the ground truth), each reduced with MATLAB bicubic; the current
    frame's vidsr-bi-x4 output."""
    torch.set_num_threads(2)
    paths = [p for p in list_images([shared_data / "eval" / "Set14" / "HR"]) if "baboon" in p.name]
    big = load_rgb(paths[0])
    hr = [big[:, 8 + dy : 8 + dy + 256, 8 + dx : 8 + dx + 320] for dx, dy in SHIFTS]
    lr = [bicubic_lr(f, 4) for f in hr]
    up = load_model("vidsr-bi-x4", device="cpu", precision="fp32")
    with torch.inference_mode():
        sr = up(lr[0][None])[0].float().clamp(0, 1)
    return hr[0], lr, sr


def _score(out: np.ndarray, hr: torch.Tensor) -> float:
    return psnr_y(torch.from_numpy(np.clip(out, 0, 1)).permute(2, 0, 1), hr, 4)


def _np(x: torch.Tensor) -> np.ndarray:
    return np.ascontiguousarray(x.permute(1, 2, 0).numpy())


def test_neighbours_at_other_sub_pixel_positions_add_detail(sequence) -> None:
    """With four neighbours the result beats the per-frame network by a clear margin, and
    beats back-projection onto the current frame alone (the neighbours' share of the gain)."""
    hr, lr, sr = sequence
    found = find_neighbours(lr[0], lr[1:])
    per_frame = _score(_np(sr), hr)
    alone = _score(back_project(_np(sr), _np(lr[0]), [], 4), hr)
    multi = _score(back_project(_np(sr), _np(lr[0]), found, 4), hr)
    assert multi > per_frame + 0.25, (per_frame, alone, multi)
    assert multi > alone + 0.25, (per_frame, alone, multi)


def test_untrusted_neighbours_change_nothing(sequence) -> None:
    """A neighbour at trust 0 (a cut, a failed match) adds nothing: the result is the
    single-frame back-projection's; zero iterations return the input."""
    _, lr, sr = sequence
    found = find_neighbours(lr[0], lr[1:3])
    blind = [
        dataclasses.replace(n, trust=n.trust * 0, trust_current=n.trust_current * 0) for n in found
    ]
    alone = back_project(_np(sr), _np(lr[0]), [], 4, iterations=2)
    np.testing.assert_allclose(back_project(_np(sr), _np(lr[0]), blind, 4, 2), alone, atol=1e-6)
    np.testing.assert_array_equal(back_project(_np(sr), _np(lr[0]), found, 4, 0), _np(sr))


def test_sizes_that_do_not_fit_are_refused(sequence) -> None:
    _, lr, sr = sequence
    with pytest.raises(InvalidOptionError):
        back_project(_np(sr), _np(lr[0])[:-1], [], 4)
    with pytest.raises(InvalidOptionError):
        back_project(_np(sr), _np(lr[0]), [], 4, iterations=-1)
