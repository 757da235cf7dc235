"""Fixtures for the training tests: tiny smooth images and the shared data folder."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

REPO = Path(__file__).resolve().parents[2]
SHARED_DATA = REPO / ".." / "shared" / "data"


def smooth_image(seed: int, h: int = 64, w: int = 64) -> torch.Tensor:
    """A (3, h, w) image in [0, 1] with structure at several scales (learnable, not noise)."""
    g = torch.Generator().manual_seed(seed)
    img = torch.zeros(1, 3, h, w)
    for cells in (4, 8, 16):
        coarse = torch.rand(1, 3, cells, cells, generator=g)
        img += F.interpolate(coarse, size=(h, w), mode="bilinear", align_corners=False) / 3
    return img[0].clamp(0, 1)


@pytest.fixture
def tiny_images() -> list[torch.Tensor]:
    """Four 64x64 synthetic training images."""
    return [smooth_image(i) for i in range(4)]


@pytest.fixture
def shared_data() -> Path:
    """``../shared/data`` beside the repository; skips the test when it is absent."""
    if not (SHARED_DATA / "eval" / "Set5" / "HR").is_dir():
        pytest.skip("../shared/data (Set5) is absent")
    return SHARED_DATA.resolve()
