"""The change map: real decoded frames, the receptive field's reach, the references."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from tests.reuse.conftest import (
    DOT_BLOCK,
    MOVING_FROM,
    WIDTH,
    decoded_rgb,
    noisy_with_dot,
    still_and_moving,
    write_still_and_moving,
)
from vidsr.reuse.changes import changed_blocks, changed_pixels, changed_tiles, dilate
from vidsr.reuse.level import criterion_for


def test_still_region_of_a_lossless_clip_does_not_change(still_clip):
    lr = decoded_rgb(still_clip)
    for k in range(1, len(lr)):
        changed = changed_pixels(lr[k], lr[k - 1], 0.0)
        assert changed.any()
        # 4:2:0 chroma is upsampled from neighbours: allow its two pixels of reach
        assert not changed[:, : MOVING_FROM - 2].any(), f"frame {k}"


def test_a_change_just_inside_the_reach_marks_the_tile():
    tile, reach = 16, 18
    for offset, expected in ((reach, True), (reach + 1, False)):
        changed = torch.zeros(64, 96, dtype=torch.bool)
        changed[20, 16 + tile - 1 + offset] = True  # to the right of tile (1, 1)
        tiles = changed_tiles(changed, tile, reach)
        assert tiles.shape == (4, 6)
        assert bool(tiles[1, 1]) is expected, offset


def test_dilate_is_a_square_of_the_reach():
    mask = torch.zeros(9, 9, dtype=torch.bool)
    mask[4, 4] = True
    grown = dilate(mask, 2)
    assert grown.sum() == 25 and grown[2:7, 2:7].all()


def test_threshold_is_per_pixel_on_any_channel():
    ref = torch.zeros(3, 4, 4)
    cur = ref.clone()
    cur[2, 1, 1] = 2.0 / 255
    assert changed_pixels(cur, ref, 1.0 / 255).sum() == 1
    assert not changed_pixels(cur, ref, 2.0 / 255).any()


def test_scattered_coding_noise_is_no_change_but_a_small_moving_dot_is(tmp_path):
    clip = write_still_and_moving(tmp_path / "noisy.mp4", 6, picture=noisy_with_dot)
    lr = decoded_rgb(clip)
    criterion = criterion_for(2.0)
    expected = torch.zeros(3, 8, dtype=torch.bool)
    expected[DOT_BLOCK] = True
    for k in range(1, len(lr)):
        # per pixel, the noise changes pixels all over the frame ...
        assert changed_pixels(lr[k], lr[k - 1], 0.5 / 255).float().mean() > 0.05
        # ... per block it averages out; the dot (a few pixels: the block's mean hardly moves)
        # passes the pixel threshold
        blocks = changed_blocks(lr[k], lr[k - 1], criterion)[::32, ::32]
        assert torch.equal(blocks, expected), f"frame {k}"
        assert not changed_blocks(lr[k], lr[k - 1], replace(criterion, peak=None, shift=None)).any()


def test_block_references_bound_slow_drift():
    """A block creeping up 0.3 levels a frame changes once its mean passes the level
    against the reference it was last computed from, not the frame before; with the shift
    rule (a quarter of the level, signed) the bound is tighter."""

    def changes(criterion):
        reference = torch.full((3, 32, 32), 0.5)
        changed_at = []
        for k in range(1, 12):
            frame = reference.new_full((3, 32, 32), 0.5 + k * 0.3 / 255)
            if changed_blocks(frame, reference, criterion).all():
                changed_at.append(k)
                reference = frame
        return changed_at

    assert changes(replace(criterion_for(1.0), shift=None)) == [4, 8]
    assert changes(criterion_for(1.0)) == list(range(1, 12))  # 0.3 > 0.25 every frame
    assert changes(criterion_for(2.0)) == [2, 4, 6, 8, 10]  # 0.5: every other frame


def fading(i: int) -> np.ndarray:
    """RGB frame ``i`` of a fade: the still texture brightened by one level a frame."""
    rgb = still_and_moving(0)[:, :MOVING_FROM]
    return np.pad(rgb + np.uint8(i), ((0, 0), (0, WIDTH - MOVING_FROM), (0, 0)), mode="edge")


def test_a_slow_fade_changes_every_block_at_once(tmp_path):
    """One level a frame is under ``--reuse 2``'s mean threshold, so without the shift rule
    the blocks lag the fade until it has drifted past the level (bbb's fade lost 0.4-0.6 dB);
    the block's signed mean catches it at the first frame, while coding noise (the test above)
    averages out in it."""
    lr = decoded_rgb(write_still_and_moving(tmp_path / "fade.mp4", 4, picture=fading))
    criterion = criterion_for(2.0)
    assert criterion.shift == 0.5
    for k in range(1, len(lr)):
        assert changed_blocks(lr[k], lr[k - 1], criterion).all(), f"frame {k}"
    without = replace(criterion, shift=None)
    assert not changed_blocks(lr[1], lr[0], without).any()
