"""Frames lost without a decoding error (issue 15): MPEG-TS with TS packets cut out.

Bug: a damaged ``.ts`` whose packet the demuxer drops came out with 49 of 50 frames and a pts
gap, exit 0, no warning. Now the frame before stands in at every missing frame's time, one
warning says how many and where, and a whole run, a job, a resumed job and a two-worker job
of the same damaged file agree frame for frame.
"""

from __future__ import annotations

import logging
from pathlib import Path

import av
import numpy as np
import pytest

from tests.clips import audio_packets, video_times
from tests.jobs.conftest import FAST, assert_same_frames, decoded_frames
from vidsr import Pipeline
from vidsr.errors import CancelledError
from vidsr.jobs import JobOptions, job_folder, run_job
from vidsr.media.decode import VideoDecoder
from vidsr.media.probe import probe

TS_PACKET = 188
JOB = JobOptions(segment_seconds=0.4)


def cut_ts_packets(src: Path, dst: Path, video_packet: int) -> int:
    """Copy ``src`` without the TS packets that carry video packet ``video_packet`` (in file
    order), as a lossy broadcast or a bad disc sector does; returns that packet's pts."""
    with av.open(str(src)) as c:
        packets = sorted((p.pos, p.pts) for p in c.demux(c.streams.video[0]) if p.size)
    data = src.read_bytes()
    start = packets[video_packet][0] // TS_PACKET * TS_PACKET
    end = packets[video_packet + 1][0] // TS_PACKET * TS_PACKET
    dst.write_bytes(data[:start] + data[end:])
    return packets[video_packet][1]


@pytest.fixture(scope="module")
def ts_clip(clip_factory):
    """50 frames of H.264 in MPEG-TS with AAC, a keyframe every 10 frames, no B-frames."""
    return clip_factory(
        "src.ts", frames=50, width=96, height=64, pattern="texture",
        extra={"g": "10", "keyint_min": "10", "bf": "0"},
    )  # fmt: skip


@pytest.fixture(scope="module")
def damaged_ts(ts_clip, tmp_path_factory):
    """The clip without the TS packets of video packet 21 (a P-frame, 0.84 s)."""
    bad = tmp_path_factory.mktemp("lost") / "lost.ts"
    cut_ts_packets(ts_clip, bad, 21)
    with av.open(str(bad)) as c:  # the demuxer really drops it: 49 packets, 49 frames
        assert len([p for p in c.demux(c.streams.video[0]) if p.size]) == 49
    with av.open(str(bad)) as c:
        assert len(list(c.decode(video=0))) == 49
    return bad


def _pts(path: Path) -> list[int]:
    return [f.pts for f in VideoDecoder(probe(str(path))).frames()]


def test_a_dropped_ts_packet_costs_no_frame_and_is_reported(ts_clip, damaged_ts, caplog):
    info = probe(str(damaged_ts))
    assert not info.video.variable_rate  # a gap of whole frames is a loss, not a variable rate
    decoder = VideoDecoder(info)
    with caplog.at_level(logging.WARNING, logger="vidsr"):
        frames = list(decoder.frames())
    assert [f.pts for f in frames] == _pts(ts_clip)
    assert decoder.lost == 1
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert [w for w in warnings if "missing" in w] == [
        f"{damaged_ts}: 1 frame missing (packets lost or undecodable) at 0.840 s; the frame "
        "before stands in for each"
    ]
    i = [f.pts for f in frames].index(1920 + 21 * 3600)
    assert all(
        np.array_equal(a, b) for a, b in zip(frames[i].planes, frames[i - 1].planes, strict=True)
    )
    assert not np.array_equal(frames[i + 1].planes[0], frames[i].planes[0])


def test_a_lost_keyframe_fills_the_frames_the_decoder_dropped(ts_clip, tmp_path, caplog):
    """Without its keyframe the decoder drops the next 8 P-frames too, without an error."""
    bad = tmp_path / "no_key.ts"
    cut_ts_packets(ts_clip, bad, 20)
    decoder = VideoDecoder(probe(str(bad)))
    with caplog.at_level(logging.WARNING, logger="vidsr"):
        assert [f.pts for f in decoder.frames()] == _pts(ts_clip)
    assert decoder.lost == 9
    assert "9 frames missing (packets lost or undecodable) at 0.800-1.120 s" in caplog.text


def test_whole_run_job_resumed_job_and_two_workers_agree(ts_clip, damaged_ts, tmp_path):
    """Lossless x264 (crf 0), so a one-pass run and a job decode to the same pixels."""
    whole = tmp_path / "whole.mp4"
    options = FAST.changed(crf=0)
    stats = Pipeline(options).run(str(damaged_ts), str(whole))
    assert stats.frames_encoded == 50
    assert video_times(whole) == video_times(ts_clip)
    audio_times = [t for _, t in audio_packets(damaged_ts)]
    assert audio_times and [t for _, t in audio_packets(whole)] == audio_times
    frames = decoded_frames(whole)
    assert np.array_equal(frames[21][1], frames[20][1])  # the stand-in, at 0.84 s
    assert not np.array_equal(frames[22][1], frames[21][1])

    job = tmp_path / "job.mp4"
    assert run_job(str(damaged_ts), str(job), options, JOB).frames == 50
    assert_same_frames(job, whole)
    assert audio_packets(job) == audio_packets(whole)

    resumed = tmp_path / "resumed.mp4"

    def stop_after(segments: int):
        def progress(done: int, _total: int) -> None:
            if done > 10 * segments:
                raise KeyboardInterrupt

        return progress

    with pytest.raises(CancelledError):
        run_job(str(damaged_ts), str(resumed), options, JOB, progress=stop_after(2))
    result = run_job(str(damaged_ts), str(resumed), options, JOB)
    assert result.reused >= 1 and result.frames == 50
    assert_same_frames(resumed, whole)

    adopted = tmp_path / "adopted.mp4"  # a lost manifest: segment 2, with the stand-in, too
    with pytest.raises(CancelledError):
        run_job(str(damaged_ts), str(adopted), options, JOB, progress=stop_after(3))
    (job_folder(str(adopted)) / "manifest.json").unlink()
    result = run_job(str(damaged_ts), str(adopted), options, JOB)
    assert result.reused == 3 and result.frames == 50
    assert_same_frames(adopted, whole)

    two = tmp_path / "two.mp4"
    jobs = JobOptions(segment_seconds=0.4, workers=2)
    assert run_job(str(damaged_ts), str(two), options, jobs).frames == 50
    assert_same_frames(two, whole)
    assert audio_packets(two) == audio_packets(whole)


def test_hevc_that_loses_every_frame_after_a_cut_keeps_its_length(shared_data, tmp_path, caplog):
    """The shared HEVC .ts has one keyframe: after a lost packet the decoder finds no reference
    for any later frame. The last decoded frame stands in to the end, and the warning says so."""
    src = shared_data / "clips" / "bbb_hevc_1080p24_aac51.ts"
    head = tmp_path / "head.ts"
    head.write_bytes(src.read_bytes()[: 300_000 // TS_PACKET * TS_PACKET])  # its first frames
    bad = tmp_path / "bbb_lost.ts"
    cut_ts_packets(head, bad, 30)  # a P-frame that later frames refer to
    reference = _pts(head)
    with av.open(str(bad)) as c:
        assert len(list(c.decode(video=0))) < len(reference) - 5
    decoder = VideoDecoder(probe(str(bad)))
    with caplog.at_level(logging.WARNING, logger="vidsr"):
        assert [f.pts for f in decoder.frames()] == reference
    assert decoder.lost > 5
    assert f"{decoder.lost} frames missing (packets lost or undecodable) at" in caplog.text
