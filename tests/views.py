"""A real image seen from several sub-pixel camera positions: the multi-frame tests' input."""

from __future__ import annotations

from pathlib import Path

import torch

from vidsr.quality.pictures import list_images, load_rgb
from vidsr.quality.resize import bicubic_lr


def sub_pixel_views(
    shared_data: Path, shifts: list[tuple[int, int]]
) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Set14 baboon cropped at each (dx, dy) HR-pixel offset (exact integer crops, so no
    interpolation enters the ground truth; a quarter LR pixel a step at x4): (HR crops, their
    MATLAB-bicubic x4 reductions)."""
    paths = [p for p in list_images([shared_data / "eval" / "Set14" / "HR"]) if "baboon" in p.name]
    big = load_rgb(paths[0])
    hr = [big[:, 8 + dy : 8 + dy + 256, 8 + dx : 8 + dx + 320] for dx, dy in shifts]
    return hr, [bicubic_lr(f, 4) for f in hr]
