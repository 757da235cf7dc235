"""Architecture detection from state_dict shapes, and canonicalisation of checkpoint wrappers."""

from __future__ import annotations

import pytest
import torch

from vidsr.errors import UnsupportedModelError
from vidsr.models.archs import detect_arch, module_from_state_dict
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
