"""End-to-end runs on generated clips: every frame, every pts, the audio bytes, the right size."""

from __future__ import annotations

from fractions import Fraction

import pytest
import torch

from tests.clips import audio_packets, decoded_rgb, video_size, video_times
from vidsr import Pipeline, UpscaleOptions
from vidsr.errors import CancelledError
from vidsr.models import load_model

FAST = {"preset": "ultrafast", "model": "bicubic"}


@pytest.mark.parametrize("codec", ["libx264", "libx265"])
@pytest.mark.parametrize("vfr", [False, True], ids=["cfr", "vfr"])
def test_frames_pts_audio_and_size_survive(clip_factory, tmp_path, codec, vfr):
    src = clip_factory(f"{codec}_{vfr}.mp4", codec=codec, vfr=vfr)
    out = tmp_path / "out.mp4"
    stats = Pipeline(UpscaleOptions.of(scale=2, **FAST)).run(str(src), str(out))

    assert stats.state == "done"
    src_times, out_times = video_times(src), video_times(out)
    assert len(out_times) == len(src_times) == stats.frames_encoded
    assert out_times == src_times  # exact, as fractions of a second
    assert audio_packets(out) == audio_packets(src)  # bytes and times
    w, h = video_size(src)
    assert video_size(out) == (2 * w, 2 * h)
    assert not list(tmp_path.glob(".*vidsr-tmp*"))


def test_duration_matches_within_one_frame(clip_factory, tmp_path):
    import av

    src = clip_factory("cfr.mp4")
    out = tmp_path / "out.mp4"
    Pipeline(UpscaleOptions.of(scale=2, **FAST)).run(str(src), str(out))
    with av.open(str(src)) as a, av.open(str(out)) as b:
        da, db = a.streams.video[0], b.streams.video[0]
        assert abs(float(da.duration * da.time_base) - float(db.duration * db.time_base)) <= 1 / 25


def test_preview_window_starts_at_zero_and_keeps_sync(clip_factory, tmp_path):
    src = clip_factory("long.mp4", frames=50)
    out = tmp_path / "window.mp4"
    Pipeline(UpscaleOptions.of(scale=2, start=0.4, duration=0.8, **FAST)).run(str(src), str(out))
    times = video_times(out)
    assert len(times) == 20  # 0.8 s at 25 fps
    assert times[0] == 0 and times[-1] == Fraction(19, 25)
    audio = audio_packets(out)
    assert audio and abs(float(audio[0][1])) < 0.03  # audio starts with the video
    # the audio packets are the source's packets from inside the window, bytes unchanged
    src_audio = {payload for payload, _ in audio_packets(src)}
    assert all(payload in src_audio for payload, _ in audio)


@pytest.mark.parametrize(("duration", "frames"), [(0.5, 13), (0.48, 12), (0.52, 13)])
def test_progress_total_is_the_frames_the_window_holds(clip_factory, tmp_path, duration, frames):
    """The progress bar's total for a window is what the run encodes (0.5 s at 25 fps: frames
    at 0, 0.04, ..., 0.48), so the bar neither stops short nor overshoots."""
    from vidsr.media.probe import probe
    from vidsr.pipeline import estimate_frames

    src = clip_factory("long.mp4", frames=50)
    options = UpscaleOptions.of(scale=1, duration=duration, **FAST)
    out = tmp_path / "window.mp4"
    stats = Pipeline(options).run(str(src), str(out))
    assert estimate_frames(probe(str(src)), options) == stats.frames_encoded == frames


def test_output_frames_are_the_models_output(clip_factory, tmp_path):
    """Decoded output == default model applied to the decoded input frame (PSNR > 35 dB)."""
    src = clip_factory("model.mp4", width=48, height=32, frames=3, audio=False)
    out = tmp_path / "model.mp4"
    upscaler = load_model("realesr-animevideov3", device="cpu", precision="fp32")
    options = UpscaleOptions.of(crf=12, preset="ultrafast", temporal="off", deblock="off")
    Pipeline(options, upscaler=upscaler).run(str(src), str(out))

    lr = decoded_rgb(src).clamp(0, 1)
    expected = upscaler(lr)
    got = decoded_rgb(out).clamp(0, 1)
    assert got.shape == expected.shape
    psnr = -10 * torch.log10(((got - expected) ** 2).mean()).item()
    assert psnr > 35, psnr


def test_cancel_leaves_no_file(clip_factory, tmp_path):
    src = clip_factory("cancel.mp4", frames=40)
    out = tmp_path / "cancelled.mp4"
    pipeline = Pipeline(UpscaleOptions.of(scale=2, batch_size=2, **FAST))
    pipeline.progress = lambda done, total: pipeline.cancel() if done >= 4 else None
    with pytest.raises(CancelledError):
        pipeline.run(str(src), str(out))
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []
    assert pipeline.stats.state == "cancelled"


def test_failed_run_keeps_an_existing_output_untouched(clip_factory, tmp_path):
    src = clip_factory("keep.mp4")
    out = tmp_path / "existing.mp4"
    out.write_bytes(b"previous result")
    with pytest.raises(Exception, match="encoder"):
        Pipeline(UpscaleOptions.of(scale=2, codec="no-such-encoder", **FAST)).run(
            str(src), str(out)
        )
    assert out.read_bytes() == b"previous result"
    assert [p.name for p in tmp_path.iterdir()] == ["existing.mp4"]


def test_default_output_name_beside_input(clip_factory, tmp_path):
    import shutil

    src = tmp_path / "holiday.mp4"
    shutil.copy(clip_factory("name.mp4", frames=3), src)
    stats = Pipeline(UpscaleOptions.of(scale=2, **FAST)).run(str(src))
    assert stats.output == str(tmp_path / "holiday_x2.mp4")
    assert video_size(stats.output) == (128, 96)


@pytest.mark.parametrize("lookahead", [0, 4])
def test_lookahead_option_every_frame_out(clip_factory, tmp_path, lookahead):
    """``--lookahead`` reaches the temporal stage; every frame still comes out, pts intact."""
    from vidsr.pipeline import temporal_stage

    options = UpscaleOptions.of(scale=2, temporal="high", lookahead=lookahead, **FAST)
    stage = temporal_stage(options, load_model("bicubic", scale=2))
    assert stage is not None and stage.lookahead == lookahead
    src = clip_factory("cfr.mp4")
    out = tmp_path / "out.mp4"
    stats = Pipeline(options).run(str(src), str(out))
    assert video_times(out) == video_times(src) and stats.frames_encoded == len(video_times(src))


def test_lookahead_out_of_range_is_refused():
    from vidsr.errors import InvalidOptionError

    with pytest.raises(InvalidOptionError, match="lookahead"):
        UpscaleOptions.of(lookahead=5)


def test_an_encoder_failure_is_reported_as_itself(clip_factory, tmp_path, monkeypatch):
    """Regression: when the encode thread failed, the post thread stopped with "cancelled; no
    output written" and that was the error raised (exit 130), hiding the encoder's message."""
    from vidsr.errors import EncoderError
    from vidsr.media.encode import VideoWriter

    def fail(self, frame):
        raise EncoderError("encoding frame 0 failed: the encoder said no")

    monkeypatch.setattr(VideoWriter, "write", fail)
    src = clip_factory("short.mp4", frames=12)
    out = tmp_path / "out.mp4"
    options = UpscaleOptions.of(model="bicubic", scale=2, preset="ultrafast", batch_size=1)
    with pytest.raises(EncoderError, match="the encoder said no"):
        Pipeline(options).run(str(src), str(out))
    assert not out.exists()


def test_run_state_is_an_enum_equal_to_its_name(clip_factory, tmp_path):
    from vidsr import RunState

    src = clip_factory("state.mp4", frames=3, audio=False)
    pipeline = Pipeline(UpscaleOptions.of(scale=2, **FAST))
    assert pipeline.stats.state is RunState.IDLE
    stats = pipeline.run(str(src), str(tmp_path / "out.mp4"))
    assert stats.state is RunState.DONE and stats.state == "done"
