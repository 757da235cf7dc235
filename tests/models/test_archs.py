"""Architecture detection from state_dict shapes, and canonicalisation of checkpoint wrappers."""

from __future__ import annotations

import pytest
import torch

from vidsr.errors import UnsupportedModelError
from vidsr.models.archs import KNOWN_ARCHS, ArchInfo, detect_arch, get_arch, module_from_state_dict
from vidsr.models.weights import canonicalize_state_dict

SRVGG_CASES = [
    (2, {"num_feat": 8, "num_conv": 3, "act_type": "prelu"}),
    (4, {"num_feat": 16, "num_conv": 2, "act_type": "prelu"}),
    (3, {"num_feat": 8, "num_conv": 4, "act_type": "prelu"}),
]
RRDB_CASES = [
    (4, {"num_feat": 8, "num_block": 2, "num_grow_ch": 4}),
    (2, {"num_feat": 8, "num_block": 1, "num_grow_ch": 6}),
    (1, {"num_feat": 4, "num_block": 3, "num_grow_ch": 4}),
]


@pytest.mark.parametrize(("scale", "params"), SRVGG_CASES)
def test_detects_srvgg_compact(scale, params, tiny_network):
    state = tiny_network("SRVGGNetCompact", scale, **params).state_dict()
    info = detect_arch(state)
    assert info.arch == "SRVGGNetCompact"
    assert info.scale == scale
    assert {k: info.params[k] for k in params} == params


@pytest.mark.parametrize(("scale", "params"), RRDB_CASES)
def test_detects_rrdbnet(scale, params, tiny_network):
    state = tiny_network("RRDBNet", scale, **params).state_dict()
    info = detect_arch(state)
    assert (info.arch, info.scale) == ("RRDBNet", scale)
    assert {k: info.params[k] for k in params} == params
    assert info.multiple == {4: 1, 2: 2, 1: 4}[scale]


def test_srvgg_without_prelu_uses_the_hint(tiny_network):
    state = tiny_network("SRVGGNetCompact", 2, num_feat=8, num_conv=2, act_type="relu").state_dict()
    assert detect_arch(state, act_hint="relu").params["act_type"] == "relu"
    assert detect_arch(state).params["act_type"] == "leakyrelu"
    assert detect_arch(state).params["num_conv"] == 2


def test_loaded_module_reproduces_the_original(tiny_network):
    original = tiny_network("RRDBNet", 2, seed=3, num_feat=8, num_block=1, num_grow_ch=4)
    rebuilt, info = module_from_state_dict(original.state_dict())
    assert (info.arch, info.scale) == ("RRDBNet", 2)
    x = torch.rand(1, 3, 8, 6)
    with torch.inference_mode():
        assert torch.equal(original(x), rebuilt(x))
    assert not any(p.requires_grad for p in rebuilt.parameters())


@pytest.mark.parametrize("wrapper", ["params_ema", "params", "state_dict", None])
@pytest.mark.parametrize("prefix", ["", "module."])
def test_canonicalize_wrappers_and_prefixes(wrapper, prefix, tiny_network):
    state = tiny_network("SRVGGNetCompact", 2, num_feat=4, num_conv=1).state_dict()
    inner = {prefix + k: v for k, v in state.items()}
    obj = {wrapper: inner, "iter": 5} if wrapper else inner
    canon = canonicalize_state_dict(obj)
    assert list(canon) == list(state)
    assert detect_arch(canon).scale == 2


def test_params_ema_wins_over_params(tiny_network):
    ema = tiny_network("SRVGGNetCompact", 4, num_feat=4, num_conv=1).state_dict()
    plain = tiny_network("SRVGGNetCompact", 2, num_feat=4, num_conv=1).state_dict()
    assert detect_arch(canonicalize_state_dict({"params": plain, "params_ema": ema})).scale == 4


def test_unknown_layout_names_what_was_found():
    state = {"encoder.0.weight": torch.zeros(4, 3, 3, 3), "encoder.0.bias": torch.zeros(4)}
    with pytest.raises(UnsupportedModelError, match=r"encoder\.0\.weight"):
        detect_arch(state)


def test_srvgg_with_impossible_scale_is_refused(tiny_network):
    state = dict(tiny_network("SRVGGNetCompact", 2, num_feat=4, num_conv=1).state_dict())
    state["body.4.weight"] = torch.zeros(5, 4, 3, 3)  # 5 outputs: not 3 * scale^2
    state["body.4.bias"] = torch.zeros(5)
    with pytest.raises(UnsupportedModelError, match="scale"):
        detect_arch(state)


def _reach(info: ArchInfo, phases: int = 4) -> float:
    """How far (input pixels) a change to one input column moves the output, measured on a
    network with large random weights in float64 (tiny weights let rounding hide the reach).

    For networks, an output column counts from the input pixel under it (``col // scale``); for
    resamplers from its source position."""
    torch.manual_seed(0)
    module = info.build().eval().double()
    with torch.no_grad():
        for p in module.parameters():
            p.normal_(0, 0.5)
    n = (2 * info.receptive_field + 16) // info.multiple * info.multiple + 4 * info.multiple
    worst = 0.0
    with torch.no_grad():
        for c in range(n // 2, n // 2 + phases):
            x = torch.rand(1, 3, 8, n, dtype=torch.float64)
            bumped = x.clone()
            bumped[..., c] += 0.5
            cols = torch.nonzero((module(bumped) - module(x)).abs().amax(dim=(0, 1, 2)) > 0)
            cols = cols.flatten().double()
            src = (
                torch.floor(cols / info.scale)
                if not info.classical
                else (cols + 0.5) / info.scale - 0.5
            )
            worst = max(worst, float((src - c).abs().max()))
    return worst


@pytest.mark.parametrize(
    ("arch", "scale", "params"),
    [
        ("SRVGGNetCompact", 2, {"num_feat": 4, "num_conv": 3}),
        ("SRVGGNetCompact", 4, {"num_feat": 4, "num_conv": 1}),
        ("RRDBNet", 4, {"num_feat": 4, "num_block": 1, "num_grow_ch": 4}),
        ("RRDBNet", 2, {"num_feat": 4, "num_block": 1, "num_grow_ch": 4}),
        ("RRDBNet", 1, {"num_feat": 4, "num_block": 1, "num_grow_ch": 4}),
    ],
)
def test_network_receptive_field_is_what_the_network_reaches(arch, scale, params):
    info = ArchInfo(get_arch(arch), scale, params)
    assert _reach(info) == info.receptive_field


@pytest.mark.parametrize(
    ("arch", "scale"), [("bicubic", 4), ("bicubic", 1.5), ("lanczos", 4), ("lanczos", 0.5)]
)
def test_resampler_receptive_field_bounds_its_reach(arch, scale):
    info = ArchInfo(get_arch(arch), scale)
    assert info.receptive_field - 1 < _reach(info) <= info.receptive_field


def test_known_archs_are_one_tuple_with_unique_names():
    names = [a.name for a in KNOWN_ARCHS]
    assert len(set(names)) == len(names)
    assert set(names) >= {"SRVGGNetCompact", "RRDBNet", "bicubic", "lanczos"}
    with pytest.raises(UnsupportedModelError, match=r"known: .*SRVGGNetCompact"):
        get_arch("SwinIR")


def test_srvgg_retargeted_x4_to_x2_is_the_x4_network_box_reduced(tiny_network):
    """Training starts an x2 network from x4 weights through the architecture's ``retarget``."""
    x4 = tiny_network("SRVGGNetCompact", 4, seed=1, num_feat=4, num_conv=2)
    state = get_arch("SRVGGNetCompact").retarget(x4.state_dict(), 2)
    x2, info = module_from_state_dict(state)
    assert info.scale == 2
    x = torch.rand(1, 3, 6, 5)
    with torch.inference_mode():
        want = torch.nn.functional.avg_pool2d(x4(x), 2)
        assert torch.allclose(x2(x), want, atol=1e-5)
    rrdb = tiny_network("RRDBNet", 4, num_feat=4, num_block=1, num_grow_ch=4).state_dict()
    assert get_arch("RRDBNet").retarget(rrdb, 2).keys() == rrdb.keys()  # as is: load_matching
