"""Real clips from ../shared/data/clips (first second): all frames, same times, audio copied."""

from __future__ import annotations

import pytest

from tests.clips import audio_packets, video_size, video_times
from vidsr import Pipeline, UpscaleOptions

CASES = [
    # clip, output extension, scale: H.264 + MP3; HEVC in MPEG-TS with 5.1 AAC; VFR H.264 + AAC
    ("chaplin_h264_mp3_640x360.mp4", ".mp4", 2),
    ("bbb_hevc_1080p24_aac51.ts", ".ts", 1),
    ("fire2_h264_vfr_1280x720_aac.mp4", ".mp4", 1),
]


def _first_second(times, start):
    return [t for t in times if t - start < 1]


@pytest.mark.parametrize(("name", "ext", "scale"), CASES, ids=[c[0].split("_")[0] for c in CASES])
def test_real_clip_first_second(shared_data, tmp_path, name, ext, scale):
    src = shared_data / "clips" / name
    out = tmp_path / f"out{ext}"
    options = UpscaleOptions.of(model="bicubic", scale=scale, duration=1.0, preset="ultrafast")
    stats = Pipeline(options).run(str(src), str(out))

    src_times = video_times(src)
    expected = _first_second(src_times, src_times[0])
    got = video_times(out)
    assert len(got) == len(expected) == stats.frames_encoded
    assert got == expected
    w, h = video_size(src)
    assert video_size(out) == (w * scale, h * scale)
    src_audio, out_audio = audio_packets(src), audio_packets(out)
    assert out_audio, "audio was dropped"
    assert out_audio == src_audio[: len(out_audio)]  # same bytes, same times, from the start
    assert float(out_audio[-1][1] - src_times[0]) > 0.9  # and the whole first second of it


def test_default_model_on_real_footage(shared_data, tmp_path):
    """The default network (bf16 where supported) on a few real frames, audio kept."""
    src = shared_data / "clips" / "chaplin_h264_mp3_640x360.mp4"
    out = tmp_path / "chaplin_x4.mp4"
    stats = Pipeline(UpscaleOptions.of(duration=0.2, preset="ultrafast")).run(str(src), str(out))
    assert stats.frames_encoded == 5
    assert video_size(out) == (2560, 1440)
    assert video_times(out) == video_times(src)[:5]
    assert audio_packets(out)
