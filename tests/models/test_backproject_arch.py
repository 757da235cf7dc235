"""BackProjectSRVGG (``models/archs/srvgg_backproject.py``, vidsr-vsr models): detection, step-0
equivalence with the per-frame vidsr-bi-x4, reach, tiling, motion kept in float32, and that the
shipped vidsr-vsr-x4 recovers detail from sub-pixel neighbours on a real image."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch

from tests.views import sub_pixel_views
from vidsr.errors import UnsupportedModelError
from vidsr.models import load_model
from vidsr.models.archs import ArchInfo, detect_arch, get_arch
from vidsr.models.archs.srvgg_backproject import pack_inputs
from vidsr.models.weights import load_pth
from vidsr.quality.metrics import psnr_y
from vidsr.temporal.align import NeighbourViews, neighbour_views

REPO = Path(__file__).resolve().parents[2]
BI_X4 = REPO / "vidsr" / "weights" / "vidsr-bi-x4.pth"
ARCH = get_arch("BackProjectSRVGG")


def _views(n: int, k: int, h: int, w: int, motion: float, seed: int = 0) -> NeighbourViews:
    g = torch.Generator().manual_seed(seed)
    r = lambda c: torch.rand(n, k, c, h, w, generator=g)  # noqa: E731
    flow = lambda: (torch.rand(n, k, 2, h, w, generator=g) - 0.5) * 2 * motion  # noqa: E731
    return NeighbourViews(r(3), r(3), r(1), flow(), flow(), r(1))


def _net(path: Path, iterations: int = 1, std: float = 0.0) -> Path:
    net = ArchInfo(ARCH, 4, {"iterations": iterations}).build()
    net.load_state_dict(load_pth(BI_X4), strict=False)
    with torch.no_grad():
        net.fusion.out.weight.normal_(0, std, generator=torch.Generator().manual_seed(1))
    torch.save(net.state_dict(), path)
    return path


def test_detects_itself_and_builds_what_it_detects() -> None:
    params = {"num_conv": 2, "num_neighbours": 4, "iterations": 3, "fusion_feat": 8}
    state = ArchInfo(ARCH, 4, {**params, "fusion_layers": 2}).build().state_dict()
    found = detect_arch(state)
    assert found.arch == "BackProjectSRVGG" and found.scale == 4 and found.neighbours == 4
    assert {k: found.params[k] for k in params} == params and found.params["fusion_layers"] == 2
    assert found.input_channels == 3 + 9 * 4
    per_frame = {k: v for k, v in state.items() if k.startswith("body.")}
    assert detect_arch(per_frame).arch == "SRVGGNetCompact"
    with pytest.raises(UnsupportedModelError):
        detect_arch({k: v for k, v in state.items() if k != "iterations"})


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_step_zero_is_the_per_frame_model_bit_for_bit(tmp_path, precision) -> None:
    """With the fusion at zero (as training starts it) the output is vidsr-bi-x4's, bit for
    bit, whatever the neighbours and their motion hold."""
    from vidsr.models import cpu_supports_bf16

    if precision == "bf16" and not cpu_supports_bf16():
        pytest.skip("this CPU has no bf16")
    zero = load_model(str(_net(tmp_path / "zero.pth")), device="cpu", precision=precision)
    per_frame = load_model("vidsr-bi-x4", device="cpu", precision=precision)
    lr = torch.rand(1, 3, 24, 40, generator=torch.Generator().manual_seed(2))
    x = pack_inputs(lr, _views(1, 2, 24, 40, motion=3.0))
    assert torch.equal(zero(x), per_frame(lr))


def test_reach_without_motion_is_within_the_receptive_field(tmp_path) -> None:
    """A change to one input column (current frame or a neighbour) moves no output pixel
    farther than ``receptive_field`` input pixels away, with a trained-like fusion."""
    info = ArchInfo(ARCH, 4, {"iterations": 2})
    up = load_model(str(_net(tmp_path / "read.pth", 2, 0.05)), device="cpu", precision="fp32")
    h, w, c = 16, 3 * info.receptive_field, 3 * info.receptive_field // 2
    views = _views(1, 2, h, w, motion=0.0)
    views = dataclasses.replace(views, trust=views.trust * 0 + 1, back_trust=views.trust * 0 + 1)
    lr = torch.rand(1, 3, h, w, generator=torch.Generator().manual_seed(3))
    base = up(pack_inputs(lr, views))
    for channel in (0, 3):  # the current frame, the first neighbour's frame
        x = pack_inputs(lr, views)
        x[:, channel, :, c] += 0.3
        moved = (up(x) - base).abs().amax(dim=(0, 1, 2)) > 0
        cols = torch.nonzero(moved).flatten() // 4
        assert len(cols) and int((cols - c).abs().max()) <= info.receptive_field


def test_tiles_equal_the_whole_frame(tmp_path) -> None:
    """Tiled with a margin of the receptive field plus the motion, the output is the whole
    frame's up to float rounding."""
    path = _net(tmp_path / "read.pth", 1, 0.05)
    whole = load_model(str(path), device="cpu", precision="fp32")
    rf = whole.info.receptive_field
    tiled = load_model(str(path), device="cpu", precision="fp32", tile=32, tile_pad=rf + 2)
    lr = torch.rand(1, 3, 64, 80, generator=torch.Generator().manual_seed(4))
    x = pack_inputs(lr, _views(1, 2, 64, 80, motion=1.5))
    assert (tiled(x) - whole(x)).abs().max() < 1e-4


def test_motion_is_not_rounded_to_bf16(tmp_path) -> None:
    """In bf16 the network's weights are bf16 but its input (the flows: positions, which bf16
    would round by up to an eighth of a pixel at 40 pixels) reaches it in float32, unchanged."""
    from vidsr.models import cpu_supports_bf16

    if not cpu_supports_bf16():
        pytest.skip("this CPU has no bf16")
    up = load_model(str(_net(tmp_path / "read.pth", 1, 0.05)), device="cpu", precision="bf16")
    assert up.dtype == torch.bfloat16 and up.module.body[0].weight.dtype == torch.bfloat16
    seen = []
    up.module.register_forward_pre_hook(lambda _, args: seen.append(args[0].clone()))
    lr = torch.rand(1, 3, 32, 160, generator=torch.Generator().manual_seed(5))
    views = _views(1, 2, 32, 160, motion=0.5)
    views = dataclasses.replace(views, flow=views.flow + 40.37, back_flow=views.flow - 40.37)
    x = pack_inputs(lr, views)
    up(x)
    assert seen[0].dtype == torch.float32 and torch.equal(seen[0], x)
    assert not torch.equal(x.bfloat16().float(), x)  # bf16 would have rounded them


SHIFTS = [(0, 0), (1, 2), (-2, 1), (3, -1), (-1, -3)]  # HR pixels: a quarter LR pixel and more


@pytest.mark.parametrize(("name", "views"), [("vidsr-vsr-x4", 3), ("vidsr-vsr-x4-r2", 5)])
def test_shipped_model_recovers_detail_from_sub_pixel_neighbours(shared_data, name, views) -> None:
    """A real image (Set14 baboon) seen from three (five) sub-pixel camera positions (exact
    integer HR crops, each reduced with MATLAB bicubic): vidsr-vsr-x4 (-r2) beats vidsr-bi-x4 on
    the current frame by a clear margin; with its neighbours' motion reversed it falls below."""
    torch.set_num_threads(2)
    hr, lr = sub_pixel_views(shared_data, SHIFTS[:views])
    vsr = load_model(name, device="cpu", precision="fp32")
    per_frame = load_model("vidsr-bi-x4", device="cpu", precision="fp32")
    views = neighbour_views(lr[0], torch.stack(lr[1:]))
    wrong = dataclasses.replace(views, flow=-views.flow, back_flow=-views.back_flow)
    score = lambda y: psnr_y(y[0], hr[0], 4)  # noqa: E731
    single = score(per_frame(lr[0][None]))
    multi = score(vsr(pack_inputs(lr[0][None], views)))
    reversed_motion = score(vsr(pack_inputs(lr[0][None], wrong)))
    # measured: 22.79 per frame; 23.52 (-r2: 23.57) with the neighbours, 22.68 (22.53) reversed
    assert multi > single + 0.4, (single, multi)
    assert reversed_motion < single, (single, multi, reversed_motion)
