"""load_model / Upscaler behaviour and the built-in catalog."""

from __future__ import annotations

import pytest
import torch

from vidsr.errors import InvalidOptionError, ModelWeightsError, UnsupportedModelError
from vidsr.models import ModelSpec, get_spec, list_models, load_model
from vidsr.models.runner import network_from_spec
from vidsr.models.weights import sha256_file


def test_catalog_lists_the_builtins_default_first():
    names = [s.name for s in list_models()]
    assert names[0] == "realesr-animevideov3"
    builtins = {"realesr-animevideov3", "realesrgan-x4plus", "realesrgan-x4plus-anime"}
    assert builtins | {"bicubic", "lanczos"} <= set(names)
    # anything else in the catalog is a model vidsr trained itself and ships in vidsr/weights
    assert all(n.startswith("vidsr-") for n in set(names) - builtins - {"bicubic", "lanczos"})
    spec = get_spec("realesrgan-x4plus-anime")
    assert (spec.arch, spec.scale, spec.params["num_block"]) == ("RRDBNet", 4, 6)
    assert spec.size_bytes > 1_000_000
    assert get_spec("bicubic").size_bytes == 0 and get_spec("bicubic").classical


def test_unknown_name_lists_known_models():
    with pytest.raises(UnsupportedModelError, match=r"unknown model 'nope'; known: .*lanczos"):
        load_model("nope")
    with pytest.raises(UnsupportedModelError, match="realesr-animevideov3"):
        get_spec("nope")


@pytest.mark.parametrize(
    ("scale", "size"), [(None, (40, 52)), (2, (20, 26)), (3.5, (35, 46)), (1, (10, 13))]
)
def test_outscale_sizes(scale, size):
    up = load_model("realesr-animevideov3", device="cpu", precision="fp32", scale=scale)
    assert up.native_scale == 4 and up.arch == "SRVGGNetCompact"
    assert up.output_size(10, 13) == size
    out = up(torch.rand(2, 3, 10, 13))
    assert out.shape == (2, 3, *size)
    assert out.dtype == torch.float32
    assert out.min().item() >= 0 and out.max().item() <= 1


@pytest.mark.parametrize("name", ["bicubic", "lanczos"])
def test_classical_models(name):
    up = load_model(name, device="cpu")
    assert up.scale == 4 and up.spec is not None and up.classical
    assert up(torch.rand(1, 3, 5, 7)).shape == (1, 3, 20, 28)
    up3 = load_model(name, device="cpu", scale=3)
    out = up3(torch.rand(1, 3, 5, 7, dtype=torch.float64))
    assert out.shape == (1, 3, 15, 21) and out.dtype == torch.float32


def test_rrdb_x2_pth_handles_odd_sizes(tiny_network, tmp_path):
    net = tiny_network("RRDBNet", 2, num_feat=4, num_block=1, num_grow_ch=4)
    path = tmp_path / "my_x2.pth"
    torch.save({"params": net.state_dict()}, path)
    up = load_model(str(path), device="cpu", precision="fp32")
    assert (up.name, up.native_scale, up.spec) == ("my_x2", 2, None)
    assert up(torch.rand(1, 3, 9, 7)).shape == (1, 3, 18, 14)
    x = torch.rand(1, 3, 8, 6)  # even: no padding, must equal the raw network (clamped)
    with torch.inference_mode():
        expected = net(x).clamp(0, 1)
    assert torch.allclose(up(x), expected, atol=1e-6)


def test_bad_input_and_options():
    up = load_model("bicubic", device="cpu")
    with pytest.raises(ValueError, match="tensor") as caught:  # the caller's bug, not an option
        up(torch.rand(3, 8, 8))
    assert not isinstance(caught.value, InvalidOptionError)
    with pytest.raises(InvalidOptionError):
        load_model("bicubic", scale=0)
    with pytest.raises(InvalidOptionError):
        load_model("realesr-animevideov3", device="cpu", tile=-1)


def test_x4plus_runs_on_a_tiny_input():
    up = load_model("realesrgan-x4plus", device="cpu", precision="fp32")
    assert up.info.params["num_block"] == 23
    assert up(torch.rand(1, 3, 6, 5)).shape == (1, 3, 24, 20)


def _file_spec(package: str, sha256: str, scale: int = 2) -> ModelSpec:
    return ModelSpec(
        name="trained",
        arch="SRVGGNetCompact",
        scale=scale,
        description="",
        license="",
        source={"kind": "file", "package": package, "path": "weights/t.pth", "sha256": sha256},
        params={"act_type": "prelu"},
    )


def test_file_source_is_verified_and_checked(tiny_network, tmp_path, monkeypatch):
    package = tmp_path / "fakepkg_vidsr_test"
    (package / "weights").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    net = tiny_network("SRVGGNetCompact", 2, num_feat=4, num_conv=1)
    weights = package / "weights" / "t.pth"
    torch.save({"params_ema": net.state_dict()}, weights)
    good = sha256_file(weights)
    module, info = network_from_spec(_file_spec(package.name, good))
    assert (info.arch, info.scale, info.params["num_feat"]) == ("SRVGGNetCompact", 2, 4)
    x = torch.rand(1, 3, 5, 4)
    with torch.inference_mode():
        assert torch.equal(module(x), net(x))
    with pytest.raises(ModelWeightsError, match="sha256"):
        network_from_spec(_file_spec(package.name, "0" * 64))
    with pytest.raises(ModelWeightsError, match="catalog says"):
        network_from_spec(_file_spec(package.name, good, scale=4))
