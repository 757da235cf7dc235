"""Tiled inference equals whole-frame inference; automatic tile size from a memory budget."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vidsr.errors import InvalidOptionError
from vidsr.models import load_model
from vidsr.models.tiling import auto_tile_size, tiled_apply

from .conftest import DATA


def test_tiles_equal_whole_frame_when_receptive_field_fits_pad(tiny_network):
    # 1 + 4 + 1 = 6 3x3 convs: receptive-field radius 6 LR pixels < pad 8.
    net = tiny_network("SRVGGNetCompact", 3, num_feat=8, num_conv=4)
    x = torch.rand(2, 3, 37, 29)
    with torch.inference_mode():
        whole = net(x)
        tiled = tiled_apply(net, x, scale=3, tile=10, pad=8)
    assert tiled.shape == whole.shape == (2, 3, 111, 87)
    assert (tiled - whole).abs().max().item() < 1e-5


def test_too_small_pad_is_detectably_different(tiny_network):
    """Control for the test above: with pad 0 the seams show, so equality is not vacuous."""
    net = tiny_network("SRVGGNetCompact", 2, num_feat=8, num_conv=4)
    x = torch.rand(1, 3, 24, 24)
    with torch.inference_mode():
        diff = (tiled_apply(net, x, scale=2, tile=8, pad=0) - net(x)).abs().max().item()
    assert diff > 1e-3


def test_animevideov3_tiled_within_one_level_of_untiled():
    ref = np.load(DATA / "animevideov3_ref.npz")
    x = torch.from_numpy(ref["input_u8"].astype(np.float32) / 255)[None]
    up = load_model("realesr-animevideov3", device="cpu", precision="fp32")
    whole = up(x)
    up.tile, up.tile_pad = 20, 16
    tiled = up(x)
    assert tiled.shape == whole.shape
    assert (tiled - whole).abs().max().item() < 1 / 255


def test_rrdb_x2_tiles_with_odd_tile_and_odd_frame(tiny_network, tmp_path):
    net = tiny_network("RRDBNet", 2, num_feat=4, num_block=1, num_grow_ch=4)
    path = tmp_path / "rrdb_x2.pth"
    torch.save({"params_ema": net.state_dict()}, path)
    up = load_model(str(path), device="cpu", precision="fp32", tile=7, tile_pad=5)
    out = up(torch.rand(1, 3, 17, 23))
    assert out.shape == (1, 3, 34, 46)


def test_auto_tile_size_fits_budget():
    bpp, pad = 1000.0, 16
    assert auto_tile_size(100, 100, budget_bytes=10**7, bytes_per_pixel=bpp, pad=pad) == 0
    budget = 10**8
    tile = auto_tile_size(1080, 1920, budget_bytes=budget, bytes_per_pixel=bpp, pad=pad)
    assert tile > 0 and tile % 8 == 0
    assert (tile + 2 * pad) ** 2 * bpp <= budget
    assert (tile + 8 + 2 * pad) ** 2 * bpp > budget  # the largest multiple of 8 that fits
    batch4 = auto_tile_size(1080, 1920, budget_bytes=budget, bytes_per_pixel=bpp, batch=4)
    assert batch4 < tile
    assert auto_tile_size(1080, 1920, budget_bytes=1, bytes_per_pixel=bpp, min_tile=32) == 32


def test_bad_tile_arguments_raise():
    """Internal contracts (the options were checked before): ValueError, not an option error."""
    with pytest.raises(ValueError) as tiled:
        tiled_apply(lambda t: t, torch.zeros(1, 3, 4, 4), scale=1, tile=0, pad=0)
    with pytest.raises(ValueError) as sized:
        auto_tile_size(10, 10, budget_bytes=0, bytes_per_pixel=1.0)
    assert not isinstance(tiled.value, InvalidOptionError)
    assert not isinstance(sized.value, InvalidOptionError)
