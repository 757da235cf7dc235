"""A stream that appears mid-file (issue 15).

Bug: an MPEG-TS whose audio starts after the streams FFmpeg found at open (a broadcast capture,
a second program) made PyAV raise IndexError at the end of every demux: "unexpected error". The
readers now end cleanly, every video frame is kept, and one warning says the late stream is left
out.
"""

from __future__ import annotations

import logging
from fractions import Fraction
from pathlib import Path

import av
import pytest

from tests.clips import ClipSpec, make_clip, video_times
from tests.jobs.conftest import FAST
from vidsr import Pipeline
from vidsr.jobs import JobOptions, run_job
from vidsr.media.decode import VideoDecoder
from vidsr.media.probe import probe


def _shifted(src: Path, dst: Path, first_video_pts: int) -> Path:
    """``src`` remuxed into MPEG-TS with every timestamp moved so that its first video frame
    is at ``first_video_pts`` (1/90000 s)."""
    with av.open(str(src)) as i, av.open(str(dst), "w", format="mpegts") as o:
        video = i.streams.video[0]
        shift = Fraction(first_video_pts, 90000) - video.start_time * video.time_base
        streams = {s.index: o.add_stream_from_template(s) for s in i.streams}
        for p in i.demux():
            if p.dts is None:
                continue
            ticks = round(shift / p.time_base)
            p.pts, p.dts = p.pts + ticks, p.dts + ticks
            p.stream = streams[p.stream.index]
            o.mux(p)
    return dst


@pytest.fixture(scope="module")
def late_audio(tmp_path_factory) -> Path:
    """2 s of video alone, 1 s with an AAC stream, 1.6 s of video alone again (big enough that
    FFmpeg's look at the file's end does not reach the audio): 115 frames at 25 fps."""
    folder = tmp_path_factory.mktemp("late")
    size = {"width": 96, "height": 64}
    a = make_clip(folder / "a.ts", ClipSpec(frames=50, audio=False, extra={"g": "25"}, **size))
    b = make_clip(folder / "b.ts", ClipSpec(frames=25, audio=True, extra={"g": "25"}, **size))
    c = make_clip(
        folder / "c.ts",
        ClipSpec(frames=40, audio=False, pattern="texture", extra={"g": "25", "crf": "0"}, **size),
    )
    parts = [_shifted(a, folder / "a1.ts", 0), _shifted(b, folder / "b2.ts", 50 * 3600)]
    parts.append(_shifted(c, folder / "c3.ts", 75 * 3600))
    path = folder / "late_audio.ts"
    path.write_bytes(b"".join(p.read_bytes() for p in parts))
    with av.open(str(path)) as container:  # what PyAV does on its own
        assert len(container.streams) == 1
        with pytest.raises(IndexError):
            for _ in container.demux():
                pass
    return path


def test_probe_and_decode_keep_every_video_frame(late_audio, caplog):
    info = probe(str(late_audio))
    assert info.others == () and not info.video.variable_rate
    with caplog.at_level(logging.WARNING, logger="vidsr"):
        frames = list(VideoDecoder(info).frames())
    assert len(frames) == 115
    assert [f.pts for f in frames] == [info.video.start_time + 3600 * i for i in range(115)]
    assert "a stream starts mid-file" in caplog.text and "left out" in caplog.text


def test_pipeline_and_job_upscale_it(late_audio, tmp_path):
    one = tmp_path / "one.mp4"
    assert Pipeline(FAST).run(str(late_audio), str(one)).frames_encoded == 115
    job = tmp_path / "job.mp4"
    assert run_job(str(late_audio), str(job), FAST, JobOptions(segment_seconds=1.0)).frames == 115
    assert video_times(job) == video_times(one)
    with av.open(str(job)) as c:
        assert [s.type for s in c.streams] == ["video"]


def test_compare_reads_the_last_frame(late_audio):
    """The before/after picture's reader met the same IndexError at the end of the file."""
    from vidsr.quality.compare import read_picture

    near_end = probe(str(late_audio)).duration_s - 0.1
    assert read_picture(late_audio, time_s=near_end).ndim == 3
