"""The temporal stage's targets on real data: a real photo and a real clip, really coded with
libx264, upscaled by the default network (skipped without ``../shared/data``)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from vidsr.config import ModelOptions
from vidsr.media.roundtrip import h264_roundtrip
from vidsr.quality import metrics
from vidsr.quality.image_sets import make_lr
from vidsr.quality.video import evaluate_video_model, to_float, to_uint8
from vidsr.temporal import TemporalStabilizer


@pytest.fixture(scope="module")
def network():
    from vidsr.models import load_model

    return load_model("realesr-animevideov3", device="cpu", precision="auto")


def _upscale(network, lr: torch.Tensor) -> torch.Tensor:
    with torch.inference_mode():
        return torch.cat([network(lr[i : i + 10]) for i in range(0, len(lr), 10)])


def _stabilise(lr: torch.Tensor, sr: torch.Tensor) -> torch.Tensor:
    stab = TemporalStabilizer("medium")
    parts = [stab.process(lr[i : i + 4], sr[i : i + 4]) for i in range(0, len(lr), 4)]
    return torch.cat([*parts, stab.flush()])


@pytest.mark.parametrize("gop", ["default", "all-intra"])
def test_still_photo_with_noise_at_crf35_is_half_as_unsteady(shared_data, network, gop):
    """The issue's check: a still photo as a 2 s clip (25 fps) with fresh noise in every frame,
    coded with H.264 CRF 35: frame-to-frame change of the output at least 50% below per-frame
    SR's. With x264's default GOP what survives coding is small lasting block updates (the
    stage's hold steadies them); all-intra keeps the noise in every frame (the blend does)."""
    photo = np.asarray(Image.open(shared_data / "eval" / "Set14" / "HR" / "lenna.png"))
    hr = to_float(photo[None, ..., :3])  # 512x512: LR 128x128
    lr = to_uint8(make_lr(hr[0], 4)[None])[0].astype(np.float32)
    rng = np.random.default_rng(0)
    noisy = np.clip(lr[None] + rng.normal(0, 6.0, (50, *lr.shape)), 0, 255).round()
    options = {"threads": "1"} | ({} if gop == "default" else {"g": "1"})
    coded, _ = h264_roundtrip(noisy.astype(np.uint8), 35, **options)
    inputs = to_float(coded)
    sr = _upscale(network, inputs)
    out = _stabilise(inputs, sr)
    assert len(out) == 50
    per_frame = metrics.temporal_difference(to_uint8(sr))
    assert per_frame > 0
    assert metrics.temporal_difference(to_uint8(out)) <= 0.5 * per_frame


@pytest.mark.parametrize(
    ("clip", "crf"),
    [("foreman_vp9_352x288_30.webm", None), ("cars_320x240_h264_annexb.h264", 35)],
    ids=["foreman-lossless", "cars-crf35"],
)
def test_real_clip_steadier_without_losing_fidelity(shared_data, clip, crf):
    """A real clip, bicubic x4 down (lossless, or H.264 CRF 35): warping error at least 30%
    below per-frame SR's, Y-PSNR no lower than per-frame SR's minus 0.02 dB, tOF no higher; at
    CRF 35 blockiness no higher than bicubic's. (The issue's targets are means over clips;
    ``scripts/bench_temporal.py`` measures those. Per clip, foreman at CRF 35 is -29%.)"""
    result = evaluate_video_model(
        ModelOptions("realesr-animevideov3", device="cpu", precision="auto"),
        shared_data / "clips" / clip,
        frames=16,
        crf=crf,
        ssim=False,
    )
    rows = {row["method"]: row for row in result["methods"]}
    stage, per_frame = rows["model"], rows["per_frame"]
    assert stage["temporal"] == "medium"
    assert stage["warping_error"] <= 0.7 * per_frame["warping_error"]
    assert stage["psnr"] >= per_frame["psnr"] - 0.02
    assert stage["tof"] <= per_frame["tof"]
    if crf is not None:
        assert stage["blockiness"] <= rows["bicubic"]["blockiness"]
