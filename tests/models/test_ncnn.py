"""The ncnn -> state_dict converter, checked against ncnn's own outputs (an independent engine)."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from vidsr.errors import ModelWeightsError
from vidsr.models.catalog import get_spec, resolve_source_file
from vidsr.models.ncnn import TAG_FP16, ncnn_to_state_dict, read_param, read_tensors

from .conftest import DATA


def _converted(name: str, tiny_network) -> torch.nn.Module:
    spec = get_spec(name)
    module = tiny_network(spec.arch, spec.scale, **spec.params)
    param = resolve_source_file(spec.source, "param")
    binary = resolve_source_file(spec.source, "bin")
    module.load_state_dict(ncnn_to_state_dict(param, binary, module.state_dict()), strict=True)
    return module


def test_converter_regression_animevideov3_matches_committed_ncnn_reference(tiny_network):
    """Guards the converter against regressions without ../shared: ncnn's output, centre crop."""
    ref = np.load(DATA / "animevideov3_ref.npz")
    module = _converted("realesr-animevideov3", tiny_network)
    x = torch.from_numpy(ref["input_u8"].astype(np.float32) / 255)[None]
    with torch.inference_mode():
        y = module(x)[0].numpy()
    off, size = int(ref["centre_offset"]) * 4, int(ref["centre_size"]) * 4
    diff = np.abs(y[:, off : off + size, off : off + size] - ref["expected"]).max()
    print(f"animevideov3 vs committed ncnn reference: max abs diff {diff:.3g}")
    assert diff < 1e-3


@pytest.mark.parametrize(
    ("name", "output"),
    [
        ("realesr-animevideov3", "animevideov3_x4_output_ncnn.npy"),
        ("realesrgan-x4plus", "x4plus_output_ncnn.npy"),
    ],
)
def test_converted_weights_match_ncnn_golden_output(name, output, golden_dir, tiny_network):
    module = _converted(name, tiny_network)
    x = torch.from_numpy(np.load(golden_dir / "animevideov3_x4_input.npy"))[None]
    with torch.inference_mode():
        y = module(x)[0].numpy()
    diff = np.abs(y - np.load(golden_dir / output)).max()
    print(f"{name} vs ncnn golden: max abs diff {diff:.3g}")
    assert diff < 1e-3


def test_x4plus_anime_converts_with_six_blocks(tiny_network):
    module = _converted("realesrgan-x4plus-anime", tiny_network)
    assert sum(1 for k in module.state_dict() if k.endswith("rdb1.conv1.weight")) == 6


def _write_pair(folder: Path, bin_bytes: bytes, conv_line: str) -> tuple[Path, Path]:
    param = folder / "net.param"
    lines = [
        "7767517",
        "3 3",
        "Input            in     0 1 data",
        f"Convolution      conv0  1 1 data c0 {conv_line}",
        "PReLU            act0   1 1 c0 out 0=2",
    ]
    param.write_bytes("\r\n".join(lines).encode() + b"\r\n")  # CRLF, as shipped
    binary = folder / "net.bin"
    binary.write_bytes(bin_bytes)
    return param, binary


def _synthetic_bin(weights: np.ndarray, bias: np.ndarray, slopes: np.ndarray) -> bytes:
    raw = weights.astype("<f2").tobytes()
    raw += b"\0" * (-len(raw) % 4)
    return (
        struct.pack("<I", TAG_FP16)
        + raw
        + bias.astype("<f4").tobytes()
        + slopes.astype("<f4").tobytes()
    )


def test_layout_fp16_weights_padding_fp32_bias_and_slopes(tmp_path):
    weights = np.arange(2 * 1 * 3 * 3, dtype=np.float32).reshape(2, 1, 3, 3) / 8  # 18 halves: pad
    bias, slopes = np.array([0.5, -1.25], np.float32), np.array([0.1, 0.2], np.float32)
    param, binary = _write_pair(
        tmp_path, _synthetic_bin(weights, bias, slopes), "0=2 1=3 4=1 5=1 6=18"
    )
    assert [layer.type for layer in read_param(param)] == ["Input", "Convolution", "PReLU"]
    template = {
        "c.weight": torch.zeros(2, 1, 3, 3),
        "c.bias": torch.zeros(2),
        "a.weight": torch.zeros(2),
    }
    state = ncnn_to_state_dict(param, binary, template)
    assert np.array_equal(state["c.weight"].numpy(), weights)
    assert np.array_equal(state["c.bias"].numpy(), bias)
    assert np.array_equal(state["a.weight"].numpy(), slopes)


def test_shape_mismatch_raises_model_weights_error(tmp_path):
    weights = np.zeros((2, 1, 3, 3), np.float32)
    param, binary = _write_pair(
        tmp_path, _synthetic_bin(weights, np.zeros(2), np.zeros(2)), "0=2 1=3 4=1 5=1 6=18"
    )
    template = {
        "c.weight": torch.zeros(2, 2, 3, 3),
        "c.bias": torch.zeros(2),
        "a.weight": torch.zeros(2),
    }
    with pytest.raises(ModelWeightsError, match="shape"):
        ncnn_to_state_dict(param, binary, template)
    with pytest.raises(ModelWeightsError, match="tensors"):
        ncnn_to_state_dict(param, binary, {"c.weight": torch.zeros(2, 1, 3, 3)})


def test_truncated_or_oversized_bin_raises(tmp_path):
    good = _synthetic_bin(np.zeros((2, 1, 3, 3)), np.zeros(2), np.zeros(2))
    param, binary = _write_pair(tmp_path, good[:-3], "0=2 1=3 4=1 5=1 6=18")
    with pytest.raises(ModelWeightsError, match="truncated"):
        read_tensors(param, binary)
    binary.write_bytes(good + b"\0\0\0\0")
    with pytest.raises(ModelWeightsError, match="left over"):
        read_tensors(param, binary)


def test_not_a_param_file_raises(tmp_path):
    bad = tmp_path / "x.param"
    bad.write_text("hello\n")
    with pytest.raises(ModelWeightsError, match="magic"):
        read_param(bad)
