"""Segment-parallel runs (processes, Ray) give the same output as one worker."""

from __future__ import annotations

import shutil

import pytest

from tests.clips import ClipSpec, audio_packets, make_clip, video_times
from tests.jobs.conftest import FAST, assert_same_frames
from vidsr.jobs import JobOptions, run_batch, run_job

JOB = JobOptions(segment_seconds=0.4)


@pytest.fixture(scope="module")
def single_worker_output(tmp_path_factory, request):
    """The clip and its output with one worker, made once for the module."""
    clip_factory = request.getfixturevalue("clip_factory")
    clip = clip_factory("key12.mp4", frames=40, extra={"g": "12", "keyint_min": "12"})
    out = tmp_path_factory.mktemp("one") / "one.mp4"
    run_job(str(clip), str(out), FAST, JOB)
    return clip, out


@pytest.fixture(scope="module")
def local_ray():
    """A local Ray runtime on 2 CPUs for the module (skips when Ray is not installed)."""
    ray = pytest.importorskip(
        "ray", reason="Ray is not installed (pip install 'vidsr-upscaler[cluster]')"
    )
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def test_two_workers_equal_one(single_worker_output, tmp_path):
    clip, one = single_worker_output
    two = tmp_path / "two.mp4"
    result = run_job(str(clip), str(two), FAST, JobOptions(segment_seconds=0.4, workers=2))
    assert result.encoded == 4
    assert_same_frames(two, one)
    assert video_times(two) == video_times(clip)
    assert audio_packets(two) == audio_packets(clip)


def test_ray_backend_equals_local(local_ray, single_worker_output, tmp_path):
    clip, one = single_worker_output
    out = tmp_path / "ray.mp4"
    result = run_job(str(clip), str(out), FAST, JobOptions(segment_seconds=0.4, backend="ray"))
    assert result.encoded == 4
    assert_same_frames(out, one)
    assert audio_packets(out) == audio_packets(clip)


def test_ray_batch_of_many_videos_equals_local_batch(local_ray, single_worker_output, tmp_path):
    clip, _ = single_worker_output
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(clip, src / "a.mp4")
    make_clip(src / "b.mkv", ClipSpec(frames=20, extra={"g": "6"}))
    (src / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8)
    local = run_batch(str(src), str(tmp_path / "local"), FAST, JOB)
    ray_job = JobOptions(segment_seconds=0.4, backend="ray")
    rows = run_batch(str(src), str(tmp_path / "ray"), FAST, ray_job)
    assert [r.status for r in rows] == [r.status for r in local] == ["done", "done", "failed"]
    assert "broken.mp4" in rows[2].error
    for name in ("a.mp4", "b.mkv"):
        assert_same_frames(tmp_path / "ray" / name, tmp_path / "local" / name)
        assert audio_packets(tmp_path / "ray" / name) == audio_packets(src / name)
