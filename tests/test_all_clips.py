"""Every real clip in ../shared/data/clips, first second: nothing about the source is lost.

All frames out with the input's timestamps, colour tags, rotation and display aspect kept,
audio copied, and the output decodes completely. (Issue: faithful to the source.)
"""

from __future__ import annotations

import itertools
from fractions import Fraction
from pathlib import Path

import av
import pytest

from tests.clips import SHARED_DATA, audio_packets, video_times
from vidsr import Pipeline, UpscaleOptions
from vidsr.media.formats import output_tags
from vidsr.media.probe import probe

CLIPS = sorted(p.name for p in (SHARED_DATA / "clips").glob("*.*")) if SHARED_DATA.is_dir() else []
RAW = (".h264", ".h265")


def _describe(path: Path):
    """(sar, colour tags, decoded frames, stream kinds), read while the file is open."""
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        frames = list(c.decode(v))
        ctx = v.codec_context
        tags = tuple(
            int(x) for x in (ctx.colorspace, ctx.color_range, ctx.color_primaries, ctx.color_trc)
        )
        return v.sample_aspect_ratio, tags, frames, [s.type for s in c.streams]


def _input_times(path: Path) -> list[Fraction]:
    """The input's presentation times as vidsr reads them (best effort for broken AVI stamps)."""
    from vidsr.media.decode import VideoDecoder

    info = probe(str(path))
    decoder = VideoDecoder(info, deinterlace="off")
    return [f.pts * f.time_base for f in decoder.frames()]


@pytest.mark.parametrize("name", CLIPS)
def test_clip_first_second(shared_data, tmp_path, name):
    src = shared_data / "clips" / name
    info = probe(str(src))
    v = info.video
    scale = 2 if v.width * v.height <= 720 * 576 else 1
    # the source's own container where it can hold H.264, else Matroska (as vidsr's default name)
    ext = src.suffix if src.suffix in (".mp4", ".ts", ".mkv", ".mov") else ".mkv"
    out = tmp_path / f"out{ext}"
    options = UpscaleOptions.of(model="bicubic", scale=scale, duration=1.0, preset="ultrafast")
    stats = Pipeline(options).run(str(src), str(out))

    out_sar, out_tags, out_frames, out_kinds = _describe(out)
    # every frame of the first second, with the input's timestamps (raw streams: from the rate)
    if name.endswith(RAW):
        times = [f.pts * f.time_base for f in out_frames]
        assert len(times) == 25 == stats.frames_encoded
        assert all(b - a == Fraction(1, 25) for a, b in itertools.pairwise(times))
    else:
        src_times = _input_times(src)
        start = (v.start_time or 0) * v.time_base  # windows count from the stream's start
        expected = [t for t in src_times if t - start < 1]
        got = video_times(out)
        assert len(got) == len(expected) == stats.frames_encoded
        # Matroska stores timestamps in milliseconds: equal to the rounding
        assert all(abs(a - b) <= Fraction(1, 2000) for a, b in zip(got, expected, strict=True))
    # geometry
    assert out_frames[0].width == v.width * scale
    assert (out_frames[0].rotation or 0) == v.rotation
    assert (out_sar or 1) == (v.sample_aspect_ratio or 1)  # same display aspect
    # colour tags: the source's, with an untagged matrix written as the one vidsr used
    tags = output_tags(v.color)
    expected_tags = (tags["colorspace"], tags["color_range"], v.color.primaries, v.color.transfer)
    assert out_tags == expected_tags
    # interlaced sources come out progressive
    if v.field_order not in ("progressive", "unknown"):
        assert not any(f.interlaced_frame for f in out_frames)
    # audio copied, bytes unchanged
    has_audio = any(s.kind == "audio" for s in info.others)
    assert ("audio" in out_kinds) == has_audio
    if has_audio:
        got = audio_packets(out)
        want = audio_packets(src)[: len(got)]
        assert got and [b for b, _ in got] == [b for b, _ in want]
        assert all(
            abs(a - b) <= Fraction(1, 2000) for (_, a), (_, b) in zip(got, want, strict=True)
        )
