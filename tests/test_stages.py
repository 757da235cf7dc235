"""The temporal stabiliser and the deblock pre-pass inside real pipeline runs."""

from __future__ import annotations

import torch

from tests.clips import decoded_rgb, video_times
from vidsr import Pipeline, UpscaleOptions
from vidsr.media.deblock import deblock_decision
from vidsr.media.decode import VideoDecoder
from vidsr.media.probe import probe
from vidsr.models import load_model


def test_temporal_stage_keeps_every_frame_and_changes_the_pictures(clip_factory, tmp_path):
    src = clip_factory("temporal.mp4", width=48, height=32, frames=10)
    upscaler = load_model("realesr-animevideov3", device="cpu", precision="fp32")
    outs = {}
    for level in ("off", "medium"):
        outs[level] = tmp_path / f"{level}.mp4"
        options = UpscaleOptions.of(temporal=level, crf=0, preset="ultrafast", batch_size=3)
        Pipeline(options, upscaler=upscaler).run(str(src), str(outs[level]))
        assert video_times(outs[level]) == video_times(src)
    off, medium = decoded_rgb(outs["off"]), decoded_rgb(outs["medium"])
    assert off.shape == medium.shape
    assert (off - medium).abs().max() > 1 / 255  # the stage really ran
    # and it made consecutive frames no less steady than per-frame SR on this moving pattern
    steadiness = lambda x: (x[1:] - x[:-1]).abs().mean()  # noqa: E731
    assert steadiness(medium) <= steadiness(off) + 1e-3


def test_no_temporal_stage_for_classical_resamplers(clip_factory, tmp_path):
    src = clip_factory("bicubic.mp4", frames=3)
    pipeline = Pipeline(UpscaleOptions.of(model="bicubic", scale=2, preset="ultrafast"))
    pipeline.run(str(src), str(tmp_path / "o.mp4"))
    assert pipeline.post_stage is None


def _decoded_strength(path, deblock) -> float:
    decoder = VideoDecoder(probe(str(path)), deblock=deblock)
    frames = list(decoder.frames())
    assert frames
    return decoder.deblock_strength


def test_deblock_auto_leaves_clean_video_alone_and_treats_blocky_video(clip_factory):
    clean = clip_factory("clean.mp4", width=128, height=96, frames=8, extra={"crf": "10"})
    blocky = clip_factory(
        "blocky.mp4", width=128, height=96, frames=8, extra={"crf": "51", "deblock": "-6:-6"}
    )
    assert _decoded_strength(clean, deblock_decision) == 0
    assert _decoded_strength(blocky, deblock_decision) > 0
    assert _decoded_strength(blocky, 0.0) == 0


def test_deblocked_frames_keep_count_and_pts(clip_factory, tmp_path):
    src = clip_factory("blocky2.mp4", width=128, height=96, frames=8, extra={"crf": "51"})
    out = tmp_path / "deblocked.mp4"
    options = UpscaleOptions.of(model="bicubic", scale=2, deblock="2", preset="ultrafast")
    Pipeline(options).run(str(src), str(out))
    assert video_times(out) == video_times(src)
    assert torch.isfinite(decoded_rgb(out)).all()
