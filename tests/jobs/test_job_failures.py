"""How a whole-file job fails: a one-line typed error, and its folder kept only when a re-run
can use it (issue 15: a full disk while joining was an unexpected OSError; failures a re-run
repeats left the job folder and its lock behind)."""

from __future__ import annotations

import dataclasses
import errno

import pytest

from tests.jobs.conftest import FAST
from tests.media.test_damage import _faststart_truncated
from vidsr.errors import CorruptInputError, InvalidOptionError, OutputPathError
from vidsr.jobs import JobOptions, job_folder, run_job
from vidsr.jobs import job as job_module

JOB = JobOptions(segment_seconds=0.4)


def test_full_disk_while_joining_keeps_the_segments(keyclip, tmp_path, monkeypatch):
    out = tmp_path / "o.mp4"

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(job_module, "concat_segments", full)
    with pytest.raises(OutputPathError, match=r"No space left on device.*run the same command"):
        run_job(str(keyclip), str(out), FAST, JOB)
    assert not out.exists()
    assert len(list(job_folder(str(out)).glob("seg-*"))) == 4
    monkeypatch.undo()
    assert run_job(str(keyclip), str(out), FAST, JOB).reused == 4


def test_unusable_codec_leaves_no_job_folder(keyclip, tmp_path):
    out = tmp_path / "o.webm"
    with pytest.raises(InvalidOptionError, match="cannot hold h264"):
        run_job(str(keyclip), str(out), FAST.changed(codec="libx264"), JOB)
    assert list(tmp_path.iterdir()) == []


def test_truncated_input_leaves_no_job_folder(clip_factory, tmp_path):
    src = clip_factory("long.mp4", frames=50, width=160, height=120, pattern="texture")
    cut = tmp_path / "cut.mp4"
    _faststart_truncated(src, cut, 0.45)
    out = tmp_path / "o.mp4"
    with pytest.raises(CorruptInputError, match="truncated"):
        run_job(str(cut), str(out), FAST, JOB)
    assert not job_folder(str(out)).exists()


def test_too_small_memory_limit_leaves_no_job_folder(keyclip, tmp_path):
    out = tmp_path / "o.mp4"
    tiny = dataclasses.replace(FAST, max_memory=256 * 2**20)
    with pytest.raises(InvalidOptionError, match="would fit"):
        run_job(str(keyclip), str(out), tiny, JOB)
    assert not job_folder(str(out)).exists()
