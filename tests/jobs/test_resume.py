"""Resumable jobs: kill -9 halfway and re-run gives the uninterrupted output; no silent reuse."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.clips import audio_packets, video_times
from tests.jobs.conftest import FAST, assert_same_frames
from vidsr.errors import CancelledError, OutputPathError
from vidsr.jobs import JobOptions, job_folder, run_job
from vidsr.jobs import space as space_module

JOB = JobOptions(segment_seconds=0.4)

RUNNER = textwrap.dedent(
    """
    import sys, time
    from vidsr.config import UpscaleOptions
    from vidsr.jobs import JobOptions, run_job

    def slow(done, total):  # a long film in miniature: give the test time to kill us
        time.sleep(0.08)

    options = UpscaleOptions.of(model="bicubic", scale=2, preset="ultrafast", crf=20, batch_size=2)
    run_job(sys.argv[1], sys.argv[2], options, JobOptions(segment_seconds=0.4), progress=slow)
    """
)


def _segment_files(folder: Path) -> list[str]:
    """Names of the finished segment files, without the job digest (seg-00001.mp4)."""
    return sorted(re.sub(r"-[0-9a-f]{12}\.", ".", p.name) for p in folder.glob("seg-*.mp4"))


def _segment(folder: Path, index: int) -> Path:
    """The file of segment ``index`` in ``folder`` (whatever job digest names it)."""
    (path,) = folder.glob(f"seg-{index:05d}-*.mp4")
    return path


def test_kill9_halfway_then_resume_equals_uninterrupted(keyclip, tmp_path):
    out = tmp_path / "killed.mp4"
    runner = tmp_path / "runner.py"
    runner.write_text(RUNNER)
    folder = job_folder(str(out))
    proc = subprocess.Popen([sys.executable, str(runner), str(keyclip), str(out)])
    try:
        deadline = time.monotonic() + 120
        while not list(folder.glob("seg-00000-*.mp4")):
            assert proc.poll() is None, "the runner ended before its first segment"
            assert time.monotonic() < deadline, "no segment file after 120 s"
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    planned = json.loads((folder / "manifest.json").read_text())["segments"]
    finished = _segment_files(folder)
    assert not out.exists()
    assert 1 <= len(finished) < len(planned) == 4, "the kill must land halfway"

    dead = tmp_path / f".killed.vidsr-tmp-{proc.pid}.mp4"  # as if killed while joining
    dead.write_bytes(b"partial")
    result = run_job(str(keyclip), str(out), FAST, JOB)
    assert result.reused == len(finished) and result.encoded == 4 - len(finished)
    assert not dead.exists()
    assert not folder.exists()

    reference = tmp_path / "uninterrupted.mp4"
    run_job(str(keyclip), str(reference), FAST, JOB)
    assert_same_frames(out, reference)
    assert video_times(out) == video_times(keyclip)
    assert audio_packets(out) == audio_packets(keyclip) == audio_packets(reference)


def _interrupt_after(segments: int):
    """A progress callback that raises KeyboardInterrupt (Ctrl-C) once ``segments`` are done."""

    def progress(done: int, total: int) -> None:
        if done > 12 * segments:  # 12 frames per segment in the keyclip: in the next one
            raise KeyboardInterrupt

    return progress


def test_ctrl_c_keeps_finished_segments(keyclip, tmp_path):
    out = tmp_path / "o.mp4"
    progress = _interrupt_after(2)
    with pytest.raises(CancelledError):
        run_job(str(keyclip), str(out), FAST, JOB, progress=progress)
    folder = job_folder(str(out))
    assert _segment_files(folder) == ["seg-00000.mp4", "seg-00001.mp4"]
    assert not [p for p in folder.iterdir() if ".vidsr-tmp-" in p.name]
    result = run_job(str(keyclip), str(out), FAST, JOB)
    assert (result.reused, result.encoded) == (2, 2)
    assert video_times(out) == video_times(keyclip)


def test_damaged_segment_is_encoded_again(keyclip, tmp_path):
    out = tmp_path / "o.mp4"
    progress = _interrupt_after(3)
    with pytest.raises(CancelledError):
        run_job(str(keyclip), str(out), FAST, JOB, progress=progress)
    seg = _segment(job_folder(str(out)), 1)
    seg.write_bytes(seg.read_bytes()[: seg.stat().st_size // 2])
    result = run_job(str(keyclip), str(out), FAST, JOB)
    assert (result.reused, result.encoded) == (2, 2)
    reference = tmp_path / "ref.mp4"
    run_job(str(keyclip), str(reference), FAST, JOB)
    assert_same_frames(out, reference)


def test_job_folder_from_other_options_or_input_is_refused(keyclip, clip_factory, tmp_path):
    out = tmp_path / "o.mp4"
    progress = _interrupt_after(1)
    with pytest.raises(CancelledError):
        run_job(str(keyclip), str(out), FAST, JOB, progress=progress)
    manifest = (job_folder(str(out)) / "manifest.json").read_bytes()
    other = FAST.changed(crf=30)
    with pytest.raises(OutputPathError, match=r"different options.*crf.*--restart"):
        run_job(str(keyclip), str(out), other, JOB)
    with pytest.raises(OutputPathError, match=r"different options.*segment_seconds"):
        run_job(str(keyclip), str(out), FAST, JobOptions(segment_seconds=1.0))
    another = clip_factory("other.mp4", frames=40, extra={"g": "12"}, width=80)
    with pytest.raises(OutputPathError, match="different input"):
        run_job(str(another), str(out), FAST, JOB)
    assert (job_folder(str(out)) / "manifest.json").read_bytes() == manifest
    assert _segment_files(job_folder(str(out))) == ["seg-00000.mp4"]
    # --restart throws the old job away and starts over with the new options
    result = run_job(str(keyclip), str(out), other, dataclasses.replace(JOB, restart=True))
    assert (result.reused, result.encoded) == (0, 4)


def test_job_folder_from_another_temporal_tuning_is_refused(keyclip, tmp_path, monkeypatch):
    """A newer vidsr whose temporal stage blends differently must not finish an older job."""
    import vidsr.temporal.tuning

    out = tmp_path / "o.mp4"
    with pytest.raises(CancelledError):
        run_job(str(keyclip), str(out), FAST, JOB, progress=_interrupt_after(1))
    retuned = vidsr.temporal.tuning.Tuning(hold_levels=2.0)
    monkeypatch.setattr(vidsr.temporal.tuning, "Tuning", lambda: retuned)
    with pytest.raises(OutputPathError, match=r"different options.*temporal_tuning"):
        run_job(str(keyclip), str(out), FAST, JOB)


def test_batch_size_and_device_may_change_on_resume(keyclip, tmp_path):
    out = tmp_path / "o.mp4"
    progress = _interrupt_after(1)
    with pytest.raises(CancelledError):
        run_job(str(keyclip), str(out), FAST, JOB, progress=progress)
    smaller = FAST.changed(batch_size=1, device="cpu")
    assert run_job(str(keyclip), str(out), smaller, JOB).reused == 1


def test_not_enough_space_is_a_clear_error(keyclip, tmp_path, monkeypatch):
    class Usage:
        free = 1000

    monkeypatch.setattr(space_module.shutil, "disk_usage", lambda _: Usage)
    out = tmp_path / "o.mp4"
    with pytest.raises(OutputPathError, match=r"not enough free space.*--no-space-check"):
        run_job(str(keyclip), str(out), FAST, JOB)
    assert not out.exists()
    run_job(str(keyclip), str(out), FAST, dataclasses.replace(JOB, check_space=False))
    assert out.exists()
