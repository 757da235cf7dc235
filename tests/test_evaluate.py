"""vidsr.evaluate: conventions, the bicubic baseline, infinite PSNR on identical images."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from vidsr.evaluate import bicubic_upscale, evaluate
from vidsr.training.data import load_rgb
from vidsr.training.resize import mod_crop

SHARED_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


@pytest.fixture
def image_dir(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    for i, (h, w) in enumerate([(30, 41), (24, 24)]):
        smooth = rng.random((h // 3 + 1, w // 3 + 1, 3)).repeat(3, 0).repeat(3, 1)[:h, :w]
        Image.fromarray((smooth * 255).astype(np.uint8)).save(tmp_path / f"im{i}.png")
    return tmp_path


def test_identical_images_give_infinite_psnr(image_dir: Path) -> None:
    res = evaluate(lambda x: x, image_dir, 1)
    assert math.isinf(res["psnr"]) and math.isinf(res["bicubic_psnr"])
    assert res["ssim"] == pytest.approx(1.0)


def test_oracle_model_is_perfect_and_bicubic_model_equals_baseline(image_dir: Path) -> None:
    hrs = iter(mod_crop(load_rgb(p), 2)[None] for p in sorted(image_dir.glob("*.png")))
    oracle = evaluate(lambda x: next(hrs), image_dir, 2)
    assert math.isinf(oracle["psnr"])
    assert all(math.isfinite(r["bicubic_psnr"]) for r in oracle["images"])
    as_bicubic = evaluate(lambda x: bicubic_upscale(x, 2), image_dir, 2)
    assert as_bicubic["psnr"] == pytest.approx(as_bicubic["bicubic_psnr"], abs=1e-9)
    assert [r["name"] for r in as_bicubic["images"]] == ["im0.png", "im1.png"]


def test_jpeg_input_lowers_the_baseline(image_dir: Path) -> None:
    clean = evaluate(None, image_dir, 2, ssim=False)
    coded = evaluate(None, image_dir, 2, jpeg_quality=10, ssim=False)
    assert coded["bicubic_psnr"] < clean["bicubic_psnr"]
    assert clean["psnr"] is None


def test_wrong_output_size_is_refused(image_dir: Path) -> None:
    from vidsr.errors import InvalidOptionError

    with pytest.raises(InvalidOptionError):
        evaluate(lambda x: x, image_dir, 2)


def test_set5_bicubic_matches_the_published_baseline() -> None:
    """Set5 x4 bicubic is 28.42 dB / 0.8104 in the literature (e.g. the VDSR and EDSR papers)."""
    set5 = SHARED_DATA / "eval" / "Set5"
    if not (set5 / "HR").is_dir():
        pytest.skip("../shared/data (Set5) is absent")
    made = evaluate(None, set5 / "HR", 4)
    official = evaluate(None, set5 / "HR", 4, lr_dir=set5 / "LR_bicubic" / "X4", ssim=False)
    assert made["bicubic_psnr"] == pytest.approx(28.42, abs=0.02)
    assert made["bicubic_ssim"] == pytest.approx(0.8104, abs=0.002)
    assert official["bicubic_psnr"] == pytest.approx(made["bicubic_psnr"], abs=0.01)
    assert torch.is_tensor(load_rgb(set5 / "HR" / "baby.png"))


def test_json_ready_replaces_infinities(image_dir: Path) -> None:
    import json

    from vidsr.evaluate import json_ready

    text = json.dumps(json_ready(evaluate(lambda x: x, image_dir, 1)), allow_nan=False)
    assert json.loads(text)["psnr"] == "inf"
