"""Adding an architecture is one new module under ``models/archs/`` plus a catalog YAML (and its
entry in ``KNOWN_ARCHS``): a toy third architecture, written to a temp folder, runs through
detection, the catalog, ``load_model`` and a whole pipeline run without any other change."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

import vidsr.models.archs as archs
import vidsr.models.catalog as catalog
from tests.clips import video_size
from vidsr import Pipeline, UpscaleOptions
from vidsr.models import detect_arch, load_model
from vidsr.models.weights import sha256_file

TOY_MODULE = '''"""A toy architecture: two 3x3 convolutions and a pixel shuffle."""

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from vidsr.models.archs.base import ArchInfo, Architecture, StateDict, element_bytes

KEYS = {"head.weight", "head.bias", "tail.weight", "tail.bias"}


class ShuffleNet(nn.Module):
    def __init__(self, scale: int, num_feat: int) -> None:
        super().__init__()
        self.head = nn.Conv2d(3, num_feat, 3, padding=1)
        self.tail = nn.Conv2d(num_feat, 3 * scale * scale, 3, padding=1)
        self.shuffle = nn.PixelShuffle(scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shuffle(self.tail(torch.relu(self.head(x))))


class ToyShuffle(Architecture):
    name = "ToyShuffle"
    default_params: Mapping[str, Any] = {"num_feat": 8}

    def detect(self, state: StateDict, act_hint: str | None = None) -> ArchInfo | None:
        if set(state) != KEYS:
            return None
        scale = round((state["tail.weight"].shape[0] / 3) ** 0.5)
        return ArchInfo(self, scale, {"num_feat": state["head.weight"].shape[0]})

    def build(self, scale: float, params: Mapping[str, Any]) -> nn.Module:
        return ShuffleNet(int(scale), int(params["num_feat"]))

    def multiple(self, scale: float, params: Mapping[str, Any]) -> int:
        return 2

    def bytes_per_pixel(self, scale: float, params: Mapping[str, Any], dtype: torch.dtype) -> float:
        return float(element_bytes(dtype) * (params["num_feat"] + 3 * scale * scale))

    def receptive_field(self, scale: float, params: Mapping[str, Any]) -> int:
        return 2


ARCH = ToyShuffle()
'''

TOY_YAML = """name: toy-x2
arch: ToyShuffle
scale: 2
description: a toy network of two convolutions
license: none
source: {{kind: file, package: {package}, path: weights/toy.pth, sha256: {sha256}}}
params: {{num_feat: 6}}
"""


@pytest.fixture
def toy(tmp_path, monkeypatch):
    """The toy architecture's module and YAML in a temp folder, in use; returns its module."""
    (tmp_path / "toy_arch.py").write_text(TOY_MODULE)
    spec = importlib.util.spec_from_file_location("toy_arch", tmp_path / "toy_arch.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(archs, "KNOWN_ARCHS", (*archs.KNOWN_ARCHS, module.ARCH))

    package = tmp_path / "toyweights_vidsr_test"
    (package / "weights").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    torch.manual_seed(0)
    net = module.ShuffleNet(2, 6)
    torch.save({"params_ema": net.state_dict()}, package / "weights" / "toy.pth")
    models = tmp_path / "models"
    models.mkdir()
    sha = sha256_file(package / "weights" / "toy.pth")
    (models / "toy.yaml").write_text(TOY_YAML.format(package=package.name, sha256=sha))
    monkeypatch.setattr(catalog, "_models_folder", lambda: models)
    return module, net, package / "weights" / "toy.pth"


def test_toy_architecture_loads_detects_and_pads(toy):
    _, net, weights = toy
    up = load_model("toy-x2", device="cpu", precision="fp32")
    assert (up.arch, up.native_scale, up.info.params["num_feat"]) == ("ToyShuffle", 2, 6)
    assert up.info.receptive_field == 2
    assert up.bytes_per_pixel() == 4 * (6 + 12)
    x = torch.rand(1, 3, 5, 7)
    with torch.inference_mode():
        want = net(F.pad(x, (0, 1, 0, 1), mode="reflect"))[:, :, :10, :14].clamp(0, 1)
        assert torch.equal(up(x), want)  # padded to the toy's multiple of 2, then cropped
    assert detect_arch(torch.load(weights)["params_ema"]).arch == "ToyShuffle"
    assert load_model(str(weights), device="cpu", precision="fp32").arch == "ToyShuffle"


def test_toy_architecture_runs_a_whole_pipeline(toy, clip_factory, tmp_path: Path):
    src = clip_factory("toy.mp4", frames=4, audio=False)
    out = tmp_path / "toy_out.mp4"
    stats = Pipeline(UpscaleOptions.of(model="toy-x2", device="cpu", preset="ultrafast")).run(
        str(src), str(out)
    )
    assert stats.frames_encoded == 4
    w, h = video_size(src)
    assert video_size(out) == (2 * w, 2 * h)
