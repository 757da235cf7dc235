"""An image sequence keeps its frame numbers (fan editors match frames by number): a 0-based
sequence in came out numbered from 1 (issue 15)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from vidsr import Pipeline, UpscaleOptions

OPTIONS = UpscaleOptions.of(model="bicubic", scale=2)


def _frames(folder, first: int, count: int = 4) -> None:
    folder.mkdir()
    rng = np.random.default_rng(first)
    for i in range(first, first + count):
        pixels = rng.integers(0, 256, (16, 24, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"shot_{i:04d}.png")


@pytest.mark.parametrize("first", [0, 1, 117])
def test_folder_sequence_keeps_its_numbers(tmp_path, first):
    _frames(tmp_path / "in", first)
    out = tmp_path / "out"
    Pipeline(OPTIONS).run(str(tmp_path / "in"), str(out) + "/")
    numbers = sorted(int(p.stem.split("_")[-1]) for p in out.glob("*.png"))
    assert numbers == list(range(first, first + 4))


def test_pattern_sequence_keeps_its_numbers_in_a_window(tmp_path):
    _frames(tmp_path / "in", 0, count=6)
    out = tmp_path / "out"
    window = UpscaleOptions.of(model="bicubic", scale=2, fps=25, start=0.08)  # frames 2..5
    Pipeline(window).run(str(tmp_path / "in" / "shot_%04d.png"), str(out) + "/")
    numbers = sorted(int(p.stem.split("_")[-1]) for p in out.glob("*.png"))
    assert numbers == [2, 3, 4, 5]
