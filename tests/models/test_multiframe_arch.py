"""MultiFrameSRVGG (``models/archs/srvgg_multiframe.py``): detection, step-0 equivalence with the
per-frame vidsr-bi-x4 on a real image, reach, and that the neighbour channels are read."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from vidsr.errors import UnsupportedModelError
from vidsr.models.archs import ArchInfo, detect_arch, get_arch, module_from_state_dict
from vidsr.models.archs.srvgg_multiframe import stack_inputs
from vidsr.models.weights import load_pth
from vidsr.quality.pictures import load_rgb
from vidsr.training.arch import build_model, load_matching

REPO = Path(__file__).resolve().parents[2]
BI_X4 = REPO / "vidsr" / "weights" / "vidsr-bi-x4.pth"
PARAMS = {"num_feat": 64, "num_conv": 16, "act_type": "prelu"}


def _inputs(lr: torch.Tensor, k: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    n, _, h, w = lr.shape
    aligned = torch.rand(n, k, 3, h, w, generator=g)
    trust = torch.rand(n, k, 1, h, w, generator=g)
    return stack_inputs(lr, aligned, trust)


def test_detects_itself_and_builds_what_it_detects() -> None:
    info = ArchInfo(get_arch("MultiFrameSRVGG"), 4, {**PARAMS, "num_conv": 2, "num_neighbours": 3})
    state = info.build().state_dict()
    found = detect_arch(state)
    assert found.arch == "MultiFrameSRVGG"
    assert found.scale == 4 and found.neighbours == 3
    assert found.params["num_conv"] == 2 and found.params["num_feat"] == 64
    # the per-frame keys alone are still SRVGGNetCompact's
    per_frame = {k: v for k, v in state.items() if k != "neighbours.weight"}
    assert detect_arch(per_frame).arch == "SRVGGNetCompact"
    assert detect_arch(per_frame).neighbours == 0
    bad = dict(state, **{"neighbours.weight": torch.zeros(64, 5, 3, 3)})
    with pytest.raises(UnsupportedModelError, match="multiple of 4"):
        detect_arch(bad)


def test_step_zero_is_the_per_frame_model_bit_for_bit(shared_data) -> None:
    """Started from vidsr-bi-x4's weights (as training starts it), the network's output on a
    real image is bit-identical to vidsr-bi-x4's whatever the neighbours hold: the neighbours'
    convolution is exactly zero and adding zeros changes no float (fp32, CPU)."""
    torch.set_num_threads(1)
    state = load_pth(BI_X4)
    per_frame, _ = module_from_state_dict(state)
    multi = build_model("MultiFrameSRVGG", 4, {**PARAMS, "num_neighbours": 2})
    skipped = load_matching(multi, state)
    assert skipped == ["neighbours.weight"]
    multi.eval()
    lr = load_rgb(shared_data / "eval" / "Set5" / "LR_bicubic" / "X4" / "butterflyx4.png")
    lr = lr[None, :, :48, :64]
    with torch.no_grad():
        expected = per_frame(lr)
        got = multi(_inputs(lr, 2))
    assert torch.equal(got, expected)


def test_neighbour_channels_change_the_output_once_trained() -> None:
    torch.manual_seed(0)
    net = build_model("MultiFrameSRVGG", 2, {"num_feat": 8, "num_conv": 1, "num_neighbours": 2})
    lr = torch.rand(1, 3, 12, 12)
    a, b = _inputs(lr, 2, seed=1), _inputs(lr, 2, seed=2)
    with torch.no_grad():
        assert torch.equal(net(a), net(b))
        torch.nn.init.normal_(net.neighbours.weight, 0, 0.1)
        assert not torch.allclose(net(a), net(b))


def test_receptive_field_is_what_the_network_reaches() -> None:
    """A bump in one input column (current frame or a neighbour channel) moves output columns
    no further than ``receptive_field`` input pixels away, and that far."""
    info = ArchInfo(get_arch("MultiFrameSRVGG"), 2, {"num_feat": 4, "num_conv": 2})
    net = info.build().double().eval()
    torch.manual_seed(0)
    with torch.no_grad():
        for p in net.parameters():
            p.normal_(0, 0.5)
    rf, c = info.receptive_field, 20
    channels = 3 + 4 * info.neighbours
    for channel in (0, 4, channels - 1):
        x = torch.rand(1, channels, 6, 40, dtype=torch.float64)
        bumped = x.clone()
        bumped[:, channel, :, c] += 0.5
        with torch.no_grad():
            moved = (net(bumped) - net(x)).abs().amax(dim=(0, 1, 2)) > 0
        src = torch.nonzero(moved).flatten() // info.scale
        assert int((src - c).abs().max()) == rf, channel


def test_input_layout_is_checked() -> None:
    with pytest.raises(UnsupportedModelError, match="neighbours must be"):
        stack_inputs(torch.zeros(1, 3, 4, 4), torch.zeros(1, 3, 4, 4), torch.zeros(1, 1, 4, 4))
