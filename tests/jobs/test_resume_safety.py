"""A resumed job joins only segments made from this exact input with these exact options, and
only segments whose bytes are still those it finished (issue 15's three silent wrong files)."""

from __future__ import annotations

import os

import av
import pytest

from tests.jobs.conftest import FAST, assert_same_frames
from vidsr.errors import CancelledError, OutputPathError
from vidsr.jobs import JobOptions, job_folder, run_job

JOB = JobOptions(segment_seconds=0.4)


def _interrupt_after(segments: int, frames_per_segment: int = 12):
    def progress(done: int, total: int) -> None:
        if done > frames_per_segment * segments:
            raise KeyboardInterrupt

    return progress


def _segments(folder) -> list:
    return sorted(folder.glob("seg-*"))


def test_input_edited_in_place_at_same_size_is_not_resumed(clip_factory, tmp_path):
    """Bug: the fingerprint hashed only the first, middle and last MiB, so bytes overwritten
    elsewhere (same size) resumed the job and mixed segments of the old and the new input."""
    source = clip_factory(
        "big.mp4",
        width=320,
        height=240,
        frames=40,
        pattern="texture",
        audio=False,
        extra={"crf": "0", "g": "12", "keyint_min": "12"},
    )
    size = os.path.getsize(source)
    assert size > 3 << 20, "the clip must be larger than the three sampled MiB"
    clip = tmp_path / "edited.mp4"
    clip.write_bytes(source.read_bytes())
    out = tmp_path / "o.mp4"
    with pytest.raises(CancelledError):
        run_job(str(clip), str(out), FAST, JOB, progress=_interrupt_after(1))
    offset = (1 << 20) + (size // 2 - (1 << 20) - (1 << 19)) // 2  # between two samples
    with open(clip, "r+b") as f:
        f.seek(offset)
        f.write(bytes(3000))
    assert os.path.getsize(clip) == size
    with pytest.raises(OutputPathError, match="different input"):
        run_job(str(clip), str(out), FAST, JOB)


def test_damaged_finished_segment_is_encoded_again(keyclip, tmp_path):
    """Bug: a finished segment was checked only by its frame count and first/last pts, so bytes
    overwritten inside its mdat were joined (an undecodable frame, 24 frames differing)."""
    out = tmp_path / "o.mp4"
    with pytest.raises(CancelledError):
        run_job(str(keyclip), str(out), FAST, JOB, progress=_interrupt_after(3))
    seg = _segments(job_folder(str(out)))[1]
    data = bytearray(seg.read_bytes())
    start = data.index(b"mdat") + 64
    data[start : start + 2000] = os.urandom(min(2000, len(data) - start - 64))[:2000]
    seg.write_bytes(bytes(data))
    result = run_job(str(keyclip), str(out), FAST, JOB)
    assert (result.reused, result.encoded) == (2, 2)
    reference = tmp_path / "ref.mp4"
    run_job(str(keyclip), str(reference), FAST, JOB)
    assert_same_frames(out, reference)


def test_lost_manifest_does_not_adopt_segments_of_other_options(keyclip, tmp_path):
    """Bug: with manifest.json deleted, a re-run with --model lanczos planned the same segments
    and adopted the bicubic files already there: half bicubic, half lanczos, exit 0."""
    out = tmp_path / "o.mp4"
    with pytest.raises(CancelledError):
        run_job(str(keyclip), str(out), FAST, JOB, progress=_interrupt_after(2))
    folder = job_folder(str(out))
    assert len(_segments(folder)) == 2
    (folder / "manifest.json").unlink()
    lanczos = FAST.changed(model="lanczos")
    result = run_job(str(keyclip), str(out), lanczos, JOB)
    assert (result.reused, result.encoded) == (0, 4)
    reference = tmp_path / "ref.mp4"
    run_job(str(keyclip), str(reference), lanczos, JOB)
    assert_same_frames(out, reference)


def test_lost_manifest_still_reuses_this_jobs_own_segments(keyclip, tmp_path):
    out = tmp_path / "o.mp4"
    with pytest.raises(CancelledError):
        run_job(str(keyclip), str(out), FAST, JOB, progress=_interrupt_after(2))
    (job_folder(str(out)) / "manifest.json").unlink()
    result = run_job(str(keyclip), str(out), FAST, JOB)
    assert (result.reused, result.encoded) == (2, 2)
    reference = tmp_path / "ref.mp4"
    run_job(str(keyclip), str(reference), FAST, JOB)
    assert_same_frames(out, reference)


def test_lost_manifest_does_not_adopt_a_segment_that_does_not_decode(keyclip, tmp_path):
    """Adopted segments (no manifest records their bytes) were checked by frame count and pts
    only: a frame whose data no longer decodes (here the length of its first NAL unit) kept
    both, and was joined. Now every frame of an adopted segment is decoded first."""
    out = tmp_path / "o.mp4"
    with pytest.raises(CancelledError):
        run_job(str(keyclip), str(out), FAST, JOB, progress=_interrupt_after(2))
    folder = job_folder(str(out))
    (folder / "manifest.json").unlink()
    seg = _segments(folder)[1]
    with av.open(str(seg)) as c:
        packet = [p for p in c.demux(c.streams.video[0]) if p.size][5]
        assert not packet.is_keyframe
    data = bytearray(seg.read_bytes())
    data[packet.pos : packet.pos + 4] = (0x7FFFFFF0).to_bytes(4, "big")
    seg.write_bytes(bytes(data))
    result = run_job(str(keyclip), str(out), FAST, JOB)
    assert (result.reused, result.encoded) == (1, 3)
    reference = tmp_path / "ref.mp4"
    run_job(str(keyclip), str(reference), FAST, JOB)
    assert_same_frames(out, reference)


def test_lost_manifest_does_not_adopt_a_foreign_segment_under_this_jobs_name(keyclip, tmp_path):
    """The digest in the file name is not enough: a segment of another job (here: lanczos)
    copied in under this job's name decodes, and has the planned frames and pts, so with the
    manifest lost it was adopted. Each segment's container now carries its job's digest."""
    other = tmp_path / "other.mp4"
    lanczos = FAST.changed(model="lanczos")
    with pytest.raises(CancelledError):
        run_job(str(keyclip), str(other), lanczos, JOB, progress=_interrupt_after(2))
    out = tmp_path / "o.mp4"
    with pytest.raises(CancelledError):
        run_job(str(keyclip), str(out), FAST, JOB, progress=_interrupt_after(2))
    folder = job_folder(str(out))
    (folder / "manifest.json").unlink()
    mine, foreign = _segments(folder)[1], _segments(job_folder(str(other)))[1]
    assert mine.name != foreign.name and mine.name[:9] == foreign.name[:9]
    mine.write_bytes(foreign.read_bytes())
    result = run_job(str(keyclip), str(out), FAST, JOB)
    assert (result.reused, result.encoded) == (1, 3)
    reference = tmp_path / "ref.mp4"
    run_job(str(keyclip), str(reference), FAST, JOB)
    assert_same_frames(out, reference)
