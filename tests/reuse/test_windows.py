"""Windows over the changed tiles: scattered changes get small windows, an object one window."""

from __future__ import annotations

import torch

from vidsr.reuse.windows import area, cover


def test_scattered_tiles_get_windows_of_their_own():
    changed = torch.zeros(12, 20, dtype=torch.bool)  # 192 x 320 pixels of 16-pixel tiles
    changed[1, 1] = changed[10, 18] = True  # two far corners
    regions = cover(changed, 16, 18, 192, 320, 1)
    assert len(regions) == 2
    # each window is its tile plus the context (up to the frame's edge), not one box spanning
    # the frame
    assert sum(area(r.window) for r in regions) < 0.15 * 192 * 320
    for r in regions:
        (y0, y1, x0, x1), (wy0, wy1, wx0, wx1) = r.tiles[0], r.window
        assert wy0 <= max(0, y0 - 18) and wy1 >= min(192, y1 + 18)
        assert wx0 <= max(0, x0 - 18) and wx1 >= min(320, x1 + 18)


def test_an_object_is_one_window_holding_every_changed_tile_once():
    changed = torch.zeros(12, 20, dtype=torch.bool)
    changed[3:7, 5:9] = True
    changed[5, 9:11] = True  # an arm
    regions = cover(changed, 16, 18, 192, 320, 1)
    assert len(regions) == 1
    tiles = regions[0].tiles
    assert len(tiles) == len(set(tiles)) == int(changed.sum())
    y0, y1, x0, x1 = regions[0].window
    assert all(y0 <= t[0] and t[1] <= y1 and x0 <= t[2] and t[3] <= x1 for t in tiles)


def test_windows_stay_inside_the_frame_and_aligned():
    changed = torch.ones(3, 5, dtype=torch.bool)  # 40 x 72 pixels: edge tiles are partial
    changed[1, 2] = False
    for r in cover(changed, 16, 18, 40, 72, 4):
        y0, y1, x0, x1 = r.window
        assert 0 <= y0 < y1 <= 40 and 0 <= x0 < x1 <= 72 and y0 % 4 == 0 and x0 % 4 == 0
