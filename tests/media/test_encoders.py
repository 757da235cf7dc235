"""Encoder choice (``--codec auto``) and how --crf/--preset reach encoders that name them
differently: WebM output, AV1 and VP9 by name, audio the container needs as Opus."""

from __future__ import annotations

import av
import numpy as np
import pytest

from vidsr import Pipeline, UpscaleOptions
from vidsr.media.encoders import choose_encoder, encoder_options

FAST = {"model": "bicubic", "scale": 2, "preset": "ultrafast", "temporal": "off"}


@pytest.mark.parametrize(
    ("codec", "path", "depth", "expected"),
    [
        ("auto", "out.mp4", 8, "libx264"),
        ("auto", "out.mkv", 10, "libx264"),
        ("auto", "out.webm", 8, "libvpx-vp9"),
        ("auto", "OUT.WEBM", 10, "libsvtav1"),  # this libvpx has no high bit depth
        ("libx265", "out.webm", 8, "libx265"),  # asked for: the container says no by itself
    ],
)
def test_auto_picks_what_the_container_holds(codec, path, depth, expected) -> None:
    assert choose_encoder(codec, path, depth) == expected


def test_presets_are_translated() -> None:
    assert encoder_options("libx264", 18, "medium", {"crf", "preset"}) == {
        "crf": "18",
        "preset": "medium",
    }
    assert encoder_options("libsvtav1", 30, "medium", {"crf", "preset"})["preset"] == "7"
    assert encoder_options("libsvtav1", 30, "4", {"crf", "preset"})["preset"] == "4"
    vp9 = encoder_options("libvpx-vp9", 30, "fast", {"crf", "cpu-used", "deadline", "row-mt"})
    assert vp9 == {"crf": "30", "row-mt": "1", "deadline": "good", "cpu-used": "5"}
    assert encoder_options("libx265", 20, "fast", {"crf", "preset"})["x265-params"]
    assert encoder_options("ffv1", 18, "medium", set()) == {}


def _frames(path) -> list[av.VideoFrame]:
    with av.open(str(path)) as c:
        return list(c.decode(video=0))


def test_webm_gets_vp9_and_opus_audio(clip_factory, tmp_path) -> None:
    """libx264 into WebM used to be refused; now VP9 video, and the AAC track (WebM holds
    no AAC) becomes Opus with the same tone and length."""
    src = clip_factory("tone.mp4", frames=25)
    out = tmp_path / "out.webm"
    Pipeline(UpscaleOptions.of(**FAST)).run(str(src), str(out))
    with av.open(str(out)) as c:
        assert c.streams.video[0].codec_context.name == "vp9"
        assert c.streams.audio[0].codec_context.name == "opus"
        got = np.concatenate([f.to_ndarray()[0] for f in c.decode(audio=0)])
    with av.open(str(src)) as c:
        want = np.concatenate([f.to_ndarray()[0] for f in c.decode(audio=0)])
    assert abs(len(got) / 48000 - len(want) / 48000) < 0.05
    n = min(len(got), len(want))
    assert np.corrcoef(got[:n], want[:n])[0, 1] > 0.95
    frames = _frames(out)
    assert len(frames) == 25 and (frames[0].width, frames[0].height) == (128, 96)


def test_10bit_webm_stays_10bit_as_av1(clip_factory, tmp_path) -> None:
    src = clip_factory("ten.mkv", codec="libx265", pix_fmt="yuv420p10le", frames=3, audio=False)
    out = tmp_path / "out.webm"
    Pipeline(UpscaleOptions.of(**FAST)).run(str(src), str(out))
    frames = _frames(out)
    assert len(frames) == 3 and frames[0].format.name == "yuv420p10le"
    with av.open(str(out)) as c:
        assert c.streams.video[0].codec_context.name in ("av1", "libdav1d", "libaom-av1")


@pytest.mark.parametrize("codec", ["libsvtav1", "libvpx-vp9"])
def test_av1_and_vp9_by_name_with_the_default_preset(clip_factory, tmp_path, codec) -> None:
    """``--codec libsvtav1`` failed: ``--preset medium`` was passed to an integer option."""
    src = clip_factory("plain.mp4", frames=4, audio=False)
    out = tmp_path / "out.mkv"
    options = UpscaleOptions.of(**{**FAST, "preset": "medium"}, codec=codec)
    Pipeline(options).run(str(src), str(out))
    assert len(_frames(out)) == 4


MEASURE = r"""
import sys
import av, numpy as np
from vidsr.media.encoders import encoder_options
from vidsr.process import status_kb
width, height, preset, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
rng = np.random.default_rng(0)
texture = rng.integers(0, 256, (height + 64, width + 64, 3), dtype=np.uint8)
base = status_kb("VmHWM")
with av.open(out, "w") as container:
    stream = container.add_stream("libx264", rate=25)
    stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
    private = {o.name for o in stream.codec_context.supported_options.private}
    stream.codec_context.options = encoder_options("libx264", 18, preset, private)
    for i in range(60):  # more than medium's 40-frame look-ahead
        rgb = texture[i % 64 : i % 64 + height, i % 64 : i % 64 + width]
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
        container.mux(stream.encode(frame.reformat(format="yuv420p")))
    container.mux(stream.encode(None))
    print((status_kb("VmHWM") - base) * 1024)
"""


@pytest.mark.parametrize("preset", ["medium", "veryfast"])
def test_encoder_bytes_matches_what_libx264_holds(preset, tmp_path) -> None:
    """Issue 17: --max-memory did not count the encoder's look-ahead (about 0.6 GB at 1440p)."""
    import subprocess
    import sys

    from vidsr.media.encoders import encoder_bytes

    width, height = 1280, 720
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, str(width), str(height), preset, str(tmp_path / "o.mp4")],
        capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    held = int(done.stdout.split()[-1])
    estimate = encoder_bytes("libx264", preset, width, height)
    assert 0.6 * held < estimate < 1.5 * held, (held >> 20, estimate >> 20)
