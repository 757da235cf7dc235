"""Device and dtype rules: never fp16 on the CPU; bf16 on the CPU only with native support."""

from __future__ import annotations

import logging

import pytest
import torch

from vidsr.errors import InvalidOptionError
from vidsr.models import load_model
from vidsr.models import precision as prec
from vidsr.models.precision import select_device, select_precision

CPU = torch.device("cpu")


def yes() -> bool:
    return True


def no() -> bool:
    return False


@pytest.mark.parametrize(("native", "expected"), [(yes, torch.bfloat16), (no, torch.float32)])
def test_cpu_auto(native, expected):
    assert select_precision(CPU, "auto", bf16_supported=native) == expected


@pytest.mark.parametrize("native", [yes, no])
def test_fp16_is_never_used_on_cpu(native, caplog):
    with caplog.at_level(logging.WARNING):
        dtype = select_precision(CPU, "fp16", bf16_supported=native)
    assert dtype == (torch.bfloat16 if native() else torch.float32)
    assert "fp16" in caplog.text


def test_bf16_requested_without_native_support_falls_back(caplog):
    with caplog.at_level(logging.WARNING):
        assert select_precision(CPU, "bf16", bf16_supported=no) == torch.float32
    assert select_precision(CPU, "bf16", bf16_supported=yes) == torch.bfloat16
    assert select_precision(CPU, "fp32", bf16_supported=yes) == torch.float32


def test_cuda_defaults_to_fp16():
    assert select_precision(torch.device("cuda"), "auto") == torch.float16
    assert select_precision(torch.device("cuda"), "fp32") == torch.float32


def test_unknown_precision_and_device_raise():
    with pytest.raises(InvalidOptionError):
        select_precision(CPU, "int8")
    with pytest.raises(InvalidOptionError):
        select_device("tpu")


def test_cuda_without_gpu_is_an_option_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(InvalidOptionError, match="CUDA"):
        select_device("cuda")
    assert select_device("auto") == CPU


def test_cpuinfo_flag_parsing(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu sse avx512f amx_bf16 amx_tile\n")
    assert {"amx_bf16", "avx512f"} <= prec._cpuinfo_flags(str(info))
    assert prec._cpuinfo_flags(str(tmp_path / "absent")) == set()


def test_loaded_model_on_cpu_never_half(monkeypatch):
    monkeypatch.setattr(prec, "cpu_supports_bf16", no)
    up = load_model("realesr-animevideov3", device="cpu", precision="fp16")
    assert up.dtype == torch.float32
    assert not up.channels_last
    assert all(p.dtype == torch.float32 for p in up.module.parameters())
    out = up(torch.rand(1, 3, 6, 5))
    assert out.dtype == torch.float32 and out.shape == (1, 3, 24, 20)


@pytest.mark.skipif(not prec.cpu_supports_bf16(), reason="this CPU has no native bf16")
def test_bf16_cpu_model_is_close_to_fp32():
    x = torch.rand(1, 3, 12, 12)
    fp32 = load_model(device="cpu", precision="fp32")(x)
    bf16_model = load_model(device="cpu", precision="bf16")
    assert bf16_model.dtype == torch.bfloat16 and bf16_model.channels_last
    out = bf16_model(x)
    assert out.dtype == torch.float32
    assert (out - fp32).abs().max().item() < 0.1
