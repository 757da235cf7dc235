"""vidsr/align.py: neighbours aligned to the current frame with the temporal stage's motion."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from vidsr.errors import InvalidOptionError
from vidsr.quality.pictures import list_images, load_rgb
from vidsr.quality.resize import bicubic_lr
from vidsr.temporal.align import NeighbourAligner


def _shifted(hr: torch.Tensor, dx: float, dy: float) -> torch.Tensor:
    """``hr`` with its content moved by (dx, dy) HR pixels (Lanczos, borders reflected)."""
    img = hr.permute(1, 2, 0).numpy()
    h, w = img.shape[:2]
    m = np.float32([[1, 0, dx], [0, 1, dy]])
    out = cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LANCZOS4, borderMode=cv2.BORDER_REFLECT)
    return torch.from_numpy(np.clip(out, 0, 1)).permute(2, 0, 1)


@pytest.fixture(scope="module")
def baboon(shared_data) -> torch.Tensor:
    paths = [p for p in list_images([shared_data / "eval" / "Set14" / "HR"]) if "baboon" in p.name]
    return load_rgb(paths[0])[:, :320, :320]


@pytest.mark.parametrize(("dx", "dy"), [(2.0, 0.0), (5.0, -3.0), (9.0, 6.0)])
def test_known_sub_pixel_shift_is_recovered(baboon, dx, dy) -> None:
    """A real image moved by a known sub-pixel amount (in LR pixels: dx/4, dy/4), each frame
    reduced with MATLAB bicubic: the flow on the LR frames finds the shift within 0.05 LR px
    (median, away from the borders) and the aligned neighbour matches the current frame at
    least 3x better than the unaligned one (not exactly: what differs is the aliasing each
    frame sampled, the very detail a multi-frame model reads)."""
    torch.set_num_threads(1)
    cur = bicubic_lr(baboon, 4)
    nbr = bicubic_lr(_shifted(baboon, dx, dy), 4)
    found = NeighbourAligner().align(cur, nbr[None])
    inner = (slice(8, -8), slice(8, -8))
    flow = found.flow[0][inner]
    assert abs(float(np.median(flow[..., 0])) - dx / 4) < 0.05
    assert abs(float(np.median(flow[..., 1])) - dy / 4) < 0.05
    raw = (nbr - cur).abs()[:, 8:-8, 8:-8].mean()
    aligned = (found.aligned[0] - cur).abs()[:, 8:-8, 8:-8].mean()
    assert aligned < raw / 3
    # the temporal stage's confidence (issue 14's tight tolerances): 0.75-0.80 on baboon's
    # aliased fur, against < 0.05 for an unrelated picture (below)
    assert float(found.trust[0, 0][inner].mean()) > 0.7
    assert found.aligned.shape == (1, *cur.shape) and found.trust.shape == (1, 1, *cur.shape[1:])


def test_pixels_warped_from_outside_the_frame_are_not_trusted(baboon) -> None:
    cur = bicubic_lr(baboon, 4)
    nbr = bicubic_lr(_shifted(baboon, 16.0, 0.0), 4)  # 4 LR px to the right
    trust = NeighbourAligner().align(cur, nbr[None]).trust[0, 0]
    assert float(trust[:, -3:].max()) == 0.0  # p + 4 lies outside for the last 4 columns


def test_an_unrelated_neighbour_gets_no_trust(baboon, shared_data) -> None:
    other = load_rgb(list_images([shared_data / "eval" / "Set5" / "HR"])[0])[:, :320, :320]
    cur, nbr = bicubic_lr(baboon, 4), bicubic_lr(other, 4)
    trust = NeighbourAligner().align(cur, nbr[None]).trust
    assert float(trust.mean()) < 0.05


def test_shapes_are_checked() -> None:
    with pytest.raises(InvalidOptionError, match="expected current"):
        NeighbourAligner().align(torch.zeros(3, 8, 8), torch.zeros(1, 3, 8, 9))
