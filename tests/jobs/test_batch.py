"""Batch folders: every file processed, failures reported and passed over, finished ones skipped."""

from __future__ import annotations

import shutil

import av
import numpy as np
import pytest

from tests.clips import ClipSpec, make_clip, video_size, video_times
from tests.jobs.conftest import FAST
from vidsr.errors import OutputPathError
from vidsr.jobs import JobOptions, find_inputs, is_batch_input, run_batch, summary_table

JOB = JobOptions(segment_seconds=0.4)


@pytest.fixture
def folder(tmp_path, clip_factory):
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    shutil.copy(clip_factory("key12.mp4", frames=40, extra={"g": "12"}), src / "a.mp4")
    make_clip(src / "sub" / "b.mkv", ClipSpec(frames=10, audio=False))
    (src / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 20)
    image = np.zeros((24, 32, 3), np.uint8)
    image[:, ::2] = 200
    av.VideoFrame.from_ndarray(image, "rgb24").to_image().save(src / "c.png")
    (src / "notes.txt").write_text("not media")
    return src


def test_batch_finishes_the_others_and_reports_the_corrupt_one(folder, tmp_path):
    out = tmp_path / "out"
    rows = run_batch(str(folder), str(out), FAST, JOB, recursive=True)
    status = {r.input.split("/in/")[1]: r.status for r in rows}
    assert status == {"a.mp4": "done", "broken.mp4": "failed", "c.png": "done", "sub/b.mkv": "done"}
    broken = next(r for r in rows if r.status == "failed")
    assert "broken.mp4" in broken.error
    assert video_times(out / "a.mp4") == video_times(folder / "a.mp4")
    assert video_times(out / "sub" / "b.mkv") == video_times(folder / "sub" / "b.mkv")
    assert video_size(out / "c.png") == (64, 48)
    assert not list(out.rglob(".*vidsr-job"))
    table = summary_table(rows)
    assert "failed" in table.splitlines()[2] and "3 done, 0 skipped, 1 failed of 4 files" in table

    again = run_batch(str(folder), str(out), FAST, JOB, recursive=True)
    assert [r.status for r in again] == ["skipped", "failed", "skipped", "skipped"]


def test_not_recursive_leaves_subfolders_alone(folder, tmp_path):
    names = [p.name for p in find_inputs(str(folder))]
    assert names == ["a.mp4", "broken.mp4", "c.png"]
    names = [p.name for p in find_inputs(str(folder), recursive=True)]
    assert names == ["a.mp4", "broken.mp4", "c.png", "b.mkv"]


def test_output_folder_inside_input_is_not_read_back(folder):
    out = folder / "upscaled"
    rows = run_batch(str(folder), str(out), FAST, JOB, recursive=True)
    assert len(rows) == 4
    assert [p.name for p in find_inputs(str(folder), True, exclude=str(out))] == [
        "a.mp4",
        "broken.mp4",
        "c.png",
        "b.mkv",
    ]
    with pytest.raises(OutputPathError):
        run_batch(str(folder), str(folder), FAST, JOB)


def test_batch_or_image_sequence(folder, tmp_path):
    frames = tmp_path / "frames"
    frames.mkdir()
    shutil.copy(folder / "c.png", frames / "0001.png")
    shutil.copy(folder / "c.png", frames / "0002.png")
    assert not is_batch_input(str(frames))
    assert is_batch_input(str(frames), recursive=True)
    assert is_batch_input(str(folder))
    assert not is_batch_input(str(folder / "a.mp4"))


def test_streams_and_raw_video_are_batch_inputs(tmp_path):
    """Elementary streams and raw .yuv files were not picked up by a batch (only containers)."""
    src = tmp_path / "in"
    src.mkdir()
    rng = np.random.default_rng(3)
    frames = [rng.integers(0, 256, (48, 64, 3), dtype=np.uint8) for _ in range(6)]
    with av.open(str(src / "a.h264"), "w", format="h264") as c:
        stream = c.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for f in frames:
            c.mux(stream.encode(av.VideoFrame.from_ndarray(f, "rgb24")))
        c.mux(stream.encode(None))
    raw = [av.VideoFrame.from_ndarray(f, "rgb24").reformat(format="yuv420p") for f in frames]
    (src / "clip_64x48.yuv").write_bytes(b"".join(f.to_ndarray().tobytes() for f in raw))
    assert is_batch_input(str(src))
    assert [p.name for p in find_inputs(str(src))] == ["a.h264", "clip_64x48.yuv"]
    rows = run_batch(str(src), str(tmp_path / "out"), FAST, JOB)
    assert [r.status for r in rows] == ["done", "done"]
    for name in ("a.mkv", "clip_64x48.mkv"):
        assert video_size(tmp_path / "out" / name) == (128, 96)
        assert len(video_times(tmp_path / "out" / name)) == 6
