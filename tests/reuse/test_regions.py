"""RegionReuse on real decoded frames: still tiles kept bit for bit, moving ones recomputed,
duplicates skip the model, resets and refreshes compute the whole frame."""

from __future__ import annotations

import pytest
import torch

from tests.reuse.conftest import MOVING_FROM, decoded_rgb
from vidsr.models import load_model
from vidsr.reuse.level import REPEATS, Criterion, criterion_for
from vidsr.reuse.regions import RegionReuse, region_reuse

EXACT = Criterion()
"""Only exactly equal pixels count as unchanged."""


class CountingModel:
    """Counts the network's calls and input pixels (a forward pre-hook on the module)."""

    def __init__(self, upscaler):
        self.calls = self.pixels = 0
        self.handle = upscaler.module.register_forward_pre_hook(self._count)

    def _count(self, module, args):
        self.calls += 1
        self.pixels += args[0].shape[0] * args[0].shape[-2] * args[0].shape[-1]


@pytest.fixture
def counting(small_model):
    counter = CountingModel(small_model)
    yield counter
    counter.handle.remove()


def test_still_tiles_are_kept_and_moving_tiles_recomputed(still_clip, small_model, counting):
    lr = decoded_rgb(still_clip)
    reuse = RegionReuse(small_model, EXACT, tile=16)
    out = torch.cat([reuse(lr[i : i + 4]) for i in range(0, len(lr), 4)])
    full = torch.cat([small_model(lr[i : i + 1]) for i in range(len(lr))])
    s = small_model.native_scale
    c = reuse.counters
    assert c.frames == len(lr) and c.frames_full == 1 and c.frames_skipped == 0
    assert 0 < c.tiles_computed - c.tiles_total / len(lr) < c.tiles_total / 2
    assert c.pixel_fraction < 1.0
    # tiles farther than the reach (+ chroma's 2 px) from the square are never recomputed
    still = (MOVING_FROM - 2 - reuse.reach) // reuse.tile * reuse.tile * s
    assert torch.equal(out[:, :, :, :still], full[:, :, :, :still])
    # the moving square is recomputed: it moves in the output and matches the full frame
    assert not torch.equal(out[1, :, :, MOVING_FROM * s :], out[0, :, :, MOVING_FROM * s :])
    assert (out - full).abs().max() < 1e-4


def test_duplicate_frames_skip_the_model(still_clip, small_model, counting):
    lr = decoded_rgb(still_clip)[:2]
    frames = torch.stack([lr[0], lr[0], lr[0], lr[1], lr[1]])
    reuse = RegionReuse(small_model, EXACT, tile=16)
    out = reuse(frames)
    assert reuse.counters.frames_skipped == 3 and reuse.counters.frames_full == 1
    assert torch.equal(out[1], out[0]) and torch.equal(out[2], out[0])
    assert torch.equal(out[4], out[3])
    before = counting.calls
    reuse(frames[4:])  # the same frame again: no network call at all
    assert counting.calls == before


def test_reset_and_refresh_compute_the_whole_frame(still_clip, small_model):
    lr = decoded_rgb(still_clip)[:6]
    reuse = RegionReuse(small_model, EXACT, tile=16, refresh=3)
    reuse(lr)
    assert reuse.counters.frames_full == 2  # frames 0 and 3
    reuse.reset()  # a segment start or a cut
    reuse(lr[5:6])
    assert reuse.counters.frames_full == 3


def test_a_cut_computes_the_whole_frame(still_clip, small_model):
    lr = decoded_rgb(still_clip)[:2]
    cut = torch.stack([lr[0], lr[1], 1.0 - lr[1]])
    reuse = RegionReuse(small_model, EXACT, tile=16)
    out = reuse(cut)
    assert reuse.counters.frames_full == 2
    assert (out[2] - small_model(cut[2:])[0]).abs().max() < 1e-4


def test_reach_is_the_architectures_receptive_field(small_model):
    info = small_model.info
    assert RegionReuse(small_model, EXACT).reach == info.receptive_field == 18
    assert region_reuse(small_model, "off") is None
    assert region_reuse(load_model("bicubic", scale=2), "0") is None  # nothing to save
    assert region_reuse(small_model, "1.5").criterion == criterion_for(1.5)


def test_a_returned_frame_is_never_written_later(still_clip, small_model):
    """Frames handed on stay as they were: the model's output for a batch computed whole was
    kept as the reference for the next frame's regions, so writing those regions changed the
    frame already returned (still waiting in the post thread's queue in the pipeline)."""
    lr = decoded_rgb(still_clip)
    reuse = RegionReuse(small_model, EXACT, tile=16)
    first = reuse(lr[:1])  # computed whole: nothing to reuse yet
    before = first.clone()
    second = reuse(lr[1:2])  # only the moving square is computed, into the kept output
    assert reuse.counters.frames_full == 1
    assert not torch.equal(second, before)  # the moving square did change
    assert torch.equal(first, before)


def test_repeats_skip_only_exact_repeats_and_compute_everything_else_whole(
    still_clip, small_model, counting
):
    """``--reuse repeats`` (the default): a frame equal to the last one computed takes its
    output bit for bit; a frame that differs anywhere, by one pixel of one level, is computed
    whole, never in windows."""
    lr = decoded_rgb(still_clip)[:3]
    touched = lr[2].clone()
    touched[1, 40, 20] += 1 / 255  # one level on one pixel of the still part
    frames = torch.stack([lr[0], lr[0], lr[1], lr[1], lr[1], lr[2], touched])
    reuse = region_reuse(small_model, "repeats")
    assert reuse is not None and region_reuse(small_model, "auto").criterion == REPEATS
    out = torch.cat([reuse(frames[i : i + 1]) for i in range(len(frames))])
    c = reuse.counters
    assert (c.frames, c.frames_full, c.frames_skipped) == (7, 4, 3)
    assert c.pixel_fraction == 4 / 7
    assert counting.calls == 4 and counting.pixels == 4 * lr[0].numel() // 3  # whole frames
    for a, b in ((1, 0), (3, 2), (4, 2)):
        assert torch.equal(out[a], out[b])
    full = torch.cat([small_model(f[None]) for f in frames])
    assert torch.equal(out, full)  # batch 1 both ways: the same computation, bit for bit
    assert not torch.equal(out[6], out[5])
