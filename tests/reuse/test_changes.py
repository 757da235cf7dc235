"""The change map: real decoded frames, the receptive field's reach, the references."""

from __future__ import annotations

import torch

from tests.reuse.conftest import MOVING_FROM, decoded_rgb
from vidsr.reuse.changes import changed_pixels, changed_tiles, dilate


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
