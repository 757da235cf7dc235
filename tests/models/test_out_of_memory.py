"""Running out of memory on a batch is not fatal: the model retries in smaller tiles."""

from __future__ import annotations

import logging

import pytest
import torch

from vidsr.errors import OutOfMemoryError, VidsrError
from vidsr.models import load_model
from vidsr.models.runner import MIN_TILE, is_out_of_memory


def _limited(up, max_pixels: int):
    """Make ``up``'s network raise torch's out-of-memory error on inputs over ``max_pixels``
    (what CUDA does on a frame too big for the card); returns the sizes it was called with."""
    real, seen = up._run, []

    def run(x: torch.Tensor) -> torch.Tensor:
        seen.append(tuple(x.shape[-2:]))
        if x.shape[-2] * x.shape[-1] > max_pixels:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 9.00 GiB")
        return real(x)

    up._run = run
    return seen


def test_out_of_memory_falls_back_to_tiles(caplog):
    x = torch.rand(2, 3, 72, 100)
    whole = load_model("realesr-animevideov3", device="cpu", precision="fp32")(x)
    up = load_model("realesr-animevideov3", device="cpu", precision="fp32")
    seen = _limited(up, max_pixels=4200)
    with caplog.at_level(logging.WARNING, logger="vidsr"):
        out = up(x)
    assert seen[0] == (72, 100)  # whole frame first
    # whole frame, then 50-pixel tiles (with their 16-pixel pad still too big), then 32
    assert up.tile == MIN_TILE == 32
    assert "out of cpu memory" in caplog.text and "32-pixel tiles" in caplog.text
    failed = [i for i, (h, w) in enumerate(seen) if h * w > 4200]
    assert len(failed) == 2 and len(seen) > failed[-1] + 1  # then every tile fitted
    assert out.shape == whole.shape == (2, 3, 288, 400)
    assert (out - whole).abs().max() < 1 / 255  # tiles equal the whole frame (pad 16)
    calls = len(seen)
    up(x)  # later batches start tiled, without failing first
    assert len(seen) > calls and all(h * w <= 4200 for h, w in seen[calls:])


def test_out_of_memory_on_the_smallest_tiles_is_a_one_line_error():
    up = load_model("realesr-animevideov3", device="cpu", precision="fp32")
    _limited(up, max_pixels=0)
    with pytest.raises(OutOfMemoryError, match=f"even in {MIN_TILE}-pixel tiles: try --batch 1"):
        up(torch.rand(1, 3, 70, 90))
    assert issubclass(OutOfMemoryError, VidsrError)


def test_other_errors_are_not_taken_for_out_of_memory():
    assert is_out_of_memory(torch.OutOfMemoryError("CUDA out of memory"))
    assert is_out_of_memory(RuntimeError("DefaultCPUAllocator: can't allocate memory: 8 GB"))
    assert not is_out_of_memory(RuntimeError("shape mismatch"))
    up = load_model("realesr-animevideov3", device="cpu", precision="fp32")

    def broken(x):
        raise RuntimeError("shape mismatch")

    up._run = broken
    with pytest.raises(RuntimeError, match="shape mismatch"):
        up(torch.rand(1, 3, 20, 20))
    assert up.tile == 0
