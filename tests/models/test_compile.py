"""torch.compile: chosen per device, really compiled on request, and never fatal when it fails."""

from __future__ import annotations

import logging

import pytest
import torch

from vidsr.errors import InvalidOptionError
from vidsr.models import load_model
from vidsr.models.precision import select_compile

CPU, CUDA = torch.device("cpu"), torch.device("cuda")


def test_compile_selection():
    assert select_compile(CPU, "auto") is False  # oneDNN already runs the convolutions
    assert select_compile(CUDA, "auto") is True
    assert select_compile(CPU, "on") is True
    assert select_compile(CUDA, "off") is False
    with pytest.raises(InvalidOptionError):
        select_compile(CPU, "fast")


@pytest.fixture
def tiny_pth(tiny_network, tmp_path):
    net = tiny_network("SRVGGNetCompact", 2, num_feat=4, num_conv=2)
    path = tmp_path / "tiny_x2.pth"
    torch.save({"params": net.state_dict()}, path)
    return str(path)


def test_compiled_network_equals_eager(tiny_pth):
    x = torch.rand(2, 3, 12, 10)
    eager = load_model(tiny_pth, device="cpu", precision="fp32", compile="off")
    compiled = load_model(tiny_pth, device="cpu", precision="fp32", compile="on")
    assert compiled.compiled and not eager.compiled
    out = compiled(x)
    assert compiled.compiled  # it really ran compiled, no fallback
    assert torch.allclose(out, eager(x), atol=1e-5)


@pytest.mark.parametrize("fails_at", ["compile", "first call"])
def test_failed_compilation_falls_back_to_eager(tiny_pth, monkeypatch, caplog, fails_at):
    def broken_compile(module, **kwargs):
        if fails_at == "compile":
            raise RuntimeError("no compiler here")

        def run(x):
            raise RuntimeError("inductor failed")

        return run

    monkeypatch.setattr(torch, "compile", broken_compile)
    x = torch.rand(1, 3, 8, 8)
    eager = load_model(tiny_pth, device="cpu", precision="fp32", compile="off")(x)
    with caplog.at_level(logging.WARNING):
        up = load_model(tiny_pth, device="cpu", precision="fp32", compile="on")
        out = up(x)
    assert not up.compiled
    assert torch.equal(out, eager)
    assert "running the model eagerly" in caplog.text
