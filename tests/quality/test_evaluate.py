"""vidsr.quality.image_sets and vidsr.quality.video: conventions, the bicubic baseline,
infinite PSNR on identical images, the temporal metrics of a video and the ``vidsr eval``
command."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from vidsr.config import ModelOptions
from vidsr.quality.image_sets import bicubic_upscale, evaluate, json_ready
from vidsr.quality.pictures import load_rgb
from vidsr.quality.resize import mod_crop

ANIME_CPU = ModelOptions("realesr-animevideov3", device="cpu", precision="fp32")


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
    """An upscale function that breaks its contract is the caller's bug: ValueError, not an
    option error (the user's options are checked before)."""
    from vidsr.errors import VidsrError

    with pytest.raises(ValueError, match="is not HR") as caught:
        evaluate(lambda x: x, image_dir, 2)
    assert not isinstance(caught.value, VidsrError)


def test_set5_bicubic_matches_the_published_baseline(shared_data) -> None:
    """Set5 x4 bicubic is 28.42 dB / 0.8104 in the literature (e.g. the VDSR and EDSR papers)."""
    set5 = shared_data / "eval" / "Set5"
    made = evaluate(None, set5 / "HR", 4)
    official = evaluate(None, set5 / "HR", 4, lr_dir=set5 / "LR_bicubic" / "X4", ssim=False)
    assert made["bicubic_psnr"] == pytest.approx(28.42, abs=0.02)
    assert made["bicubic_ssim"] == pytest.approx(0.8104, abs=0.002)
    assert official["bicubic_psnr"] == pytest.approx(made["bicubic_psnr"], abs=0.01)
    assert torch.is_tensor(load_rgb(set5 / "HR" / "baby.png"))


def test_json_ready_replaces_infinities(image_dir: Path) -> None:
    text = json.dumps(json_ready(evaluate(lambda x: x, image_dir, 1)), allow_nan=False)
    assert json.loads(text)["psnr"] == "inf"


# --- video: fidelity and temporal metrics on a clip taken as ground truth ------------------------

METRICS = ("psnr", "ssim", "warping_error", "tof", "flicker", "blockiness", "fps")


@pytest.fixture
def texture_clip(clip_factory) -> Path:
    """128x96 (whole 32-pixel blocks at x4), 6 frames of fine texture drifting sub-pixel."""
    return clip_factory(
        "texture.mp4", width=128, height=96, frames=6, pattern="texture", audio=False
    )


def _check_rows(result: dict, methods: list[str]) -> dict[str, dict]:
    rows = {r["method"]: r for r in result["methods"]}
    assert [r["method"] for r in result["methods"]] == methods
    for row in rows.values():
        for key in METRICS:
            assert math.isfinite(row[key]), (row["method"], key, row[key])
        assert 10 < row["psnr"] < 60 and 0 < row["ssim"] <= 1
        assert row["warping_error"] >= 0 and row["tof"] >= 0 and row["flicker"] >= 0
        assert 0 < row["blockiness"] < 3 and row["fps"] > 0
    return rows


def test_video_oracle_scores_perfectly_in_order(texture_clip: Path) -> None:
    """A model returning the ground truth itself: frames line up, in order, batch by batch."""
    from vidsr.quality.video import evaluate_video, read_frames, to_float

    hr = to_float(read_frames(texture_clip, 6, 32))
    served = iter(hr.split(4))  # batch=4 over 6 frames: 4 + 2
    result = evaluate_video(lambda x: next(served), texture_clip, 4, frames=6, temporal="off")
    oracle = result["methods"][0]
    assert math.isinf(oracle["psnr"]) and oracle["ssim"] == pytest.approx(1.0)
    assert oracle["flicker"] == 0 and oracle["tof"] == 0
    assert result["frames"] == 6 and result["size"] == [128, 96] and result["temporal"] == "off"


def test_video_eval_of_a_classical_model(texture_clip: Path) -> None:
    from vidsr.quality.video import evaluate_video, evaluate_video_model

    result = evaluate_video_model(ModelOptions("bicubic", precision="fp32"), texture_clip, frames=6)
    assert result["temporal"] == "off"  # auto: classical resamplers get no stabiliser
    assert result["scale"] == 4 and result["frames"] == 6 and result["crf"] is None
    rows = _check_rows(result, ["model", "bicubic"])
    # PyTorch's bicubic differs from MATLAB's only in its kernel constant and borders
    assert rows["model"]["psnr"] == pytest.approx(rows["bicubic"]["psnr"], abs=1.0)
    text = json.dumps(json_ready(result), allow_nan=False)
    assert json.loads(text)["methods"][1]["method"] == "bicubic"

    # the baseline function as the model scores exactly like the baseline; x264 costs fidelity
    coded = evaluate_video(
        lambda x: bicubic_upscale(x, 4), texture_clip, 4, frames=6, crf=35, temporal="off"
    )
    same, base = coded["methods"]
    assert {k: same[k] for k in METRICS[:-1]} == {k: base[k] for k in METRICS[:-1]}
    assert base["psnr"] < rows["bicubic"]["psnr"] - 0.5 and coded["crf"] == 35


def test_video_eval_temporal_stage_steadies_a_network(texture_clip: Path) -> None:
    from vidsr.quality.video import evaluate_video_model

    medium = evaluate_video_model(ANIME_CPU, texture_clip, frames=6)
    assert medium["temporal"] == "medium"  # auto: the pipeline's default for networks
    rows = _check_rows(medium, ["model", "per_frame", "bicubic"])
    assert rows["model"]["warping_error"] < 0.5 * rows["per_frame"]["warping_error"]
    assert rows["model"]["tof"] < rows["per_frame"]["tof"]
    assert medium["fps"] == rows["model"]["fps"] < rows["per_frame"]["fps"]
    causal = evaluate_video_model(ANIME_CPU, texture_clip, frames=6, lookahead=0)
    assert causal["lookahead"] == 0 and medium["lookahead"] == 2
    assert causal["methods"][0]["psnr"] != rows["model"]["psnr"]  # the option reaches the stage

    off = evaluate_video_model(ANIME_CPU, texture_clip, frames=6, temporal="off", batch=5)
    plain = _check_rows(off, ["model", "bicubic"])["model"]
    for key in METRICS[:-1]:  # the same per-frame output however the frames are batched
        assert plain[key] == pytest.approx(rows["per_frame"][key], rel=1e-4), key


def test_video_eval_on_foreman(shared_data: Path) -> None:
    from vidsr.quality.video import evaluate_video_model

    foreman = shared_data / "clips" / "foreman_vp9_352x288_30.webm"
    if not foreman.is_file():
        pytest.skip(f"{foreman} is absent")
    result = evaluate_video_model(ANIME_CPU, foreman, frames=6)
    assert result["size"] == [352, 288] and result["frames"] == 6
    rows = _check_rows(result, ["model", "per_frame", "bicubic"])
    assert 25 < rows["bicubic"]["psnr"] < 35  # x4 bicubic on foreman: about 29 dB
    assert rows["model"]["warping_error"] < rows["per_frame"]["warping_error"]


def test_eval_video_command(capsys, texture_clip: Path, tmp_path: Path) -> None:
    from vidsr.cli import EXIT_ERROR, main

    assert main(["eval", "--video", str(texture_clip), "-m", "bicubic", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(METRICS) <= set(result["methods"][0]) and result["frames"] == 6
    assert main(["eval", "--video", str(texture_clip), "-m", "bicubic", "--frames", "3"]) == 0
    out = capsys.readouterr().out
    assert "3 frames 128x96" in out and "bicubic baseline" in out and "warp err" in out

    for argv, words in [
        (["--video", str(tmp_path / "nope.mp4")], ["not found", "nope.mp4"]),
        ([str(tmp_path), "--video", str(texture_clip)], ["not both"]),
        ([], ["--video", "neither"]),
        (["--video", str(texture_clip), "--jpeg", "30"], ["--jpeg", "image set"]),
        ([str(tmp_path), "--crf", "30"], ["--crf", "--video"]),
        (["--video", str(texture_clip), "--temporal", "strong"], ["temporal strength"]),
        ([str(tmp_path), "--lookahead", "0"], ["--lookahead", "--video"]),
        (["--video", str(texture_clip), "--lookahead", "-1"], ["lookahead"]),
    ]:
        code = main(["eval", "-m", "bicubic", *argv])
        err = capsys.readouterr().err.strip()
        assert code == EXIT_ERROR and len(err.splitlines()) == 1, err
        assert "Traceback" not in err and all(w in err for w in words), err
