"""Reuse through the whole pipeline and through jobs: same frames and pts as --reuse off, the
still region bit for bit, a resumed job equal to an uninterrupted one."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.clips import video_times
from tests.jobs.conftest import assert_same_frames, decoded_frames
from tests.reuse.conftest import MOVING_FROM, still_and_moving, write_still_and_moving
from vidsr.config import UpscaleOptions
from vidsr.errors import CancelledError, InvalidOptionError
from vidsr.jobs import JobOptions, run_job
from vidsr.pipeline import Pipeline
from vidsr.reuse.level import BLOCK

OPTIONS = UpscaleOptions.of(
    model="vidsr-bi-x2", precision="fp32", temporal="off", codec="ffv1", batch_size=4, reuse="0"
)
"""Lossless output (FFV1), so that equal model output shows as equal decoded frames."""


def test_pipeline_with_reuse_keeps_the_still_region_bit_for_bit(still_clip, tmp_path):
    on, off = tmp_path / "on.mkv", tmp_path / "off.mkv"
    stats = Pipeline(OPTIONS).run(str(still_clip), str(on))
    Pipeline(replace(OPTIONS, reuse="off")).run(str(still_clip), str(off))
    assert stats.reuse is not None and stats.reuse.frames == 12
    assert 0 < stats.reuse.pixel_fraction < 0.9
    assert video_times(on) == video_times(off) == video_times(still_clip)
    # output columns never recomputed (x2): left of the 32-pixel block of the first changed
    # column (chroma reaches 2 pixels), of the receptive field (18) and of its 16-pixel tile
    still = ((MOVING_FROM - 2) // BLOCK * BLOCK - 18) // 16 * 16 * 2
    for (_, a), (_, b) in zip(decoded_frames(on), decoded_frames(off), strict=True):
        # packed planes of yuv420p: the luma rows come first; compare the still columns
        luma_a, luma_b = a[: 2 * 96], b[: 2 * 96]
        assert (luma_a[:, :still] == luma_b[:, :still]).all()
        assert abs(a.astype(int) - b.astype(int)).max() <= 1  # moving region: float rounding


def test_bad_reuse_value_is_a_one_line_error():
    with pytest.raises(InvalidOptionError, match="--reuse"):
        UpscaleOptions.of(reuse="sometimes")
    with pytest.raises(InvalidOptionError, match="--reuse level"):
        UpscaleOptions.of(reuse="-1")


def test_job_with_reuse_resumed_or_parallel_equals_uninterrupted(tmp_path):
    clip = write_still_and_moving(tmp_path / "gop8.mp4", 16, gop=8)
    job = JobOptions(segment_seconds=0.3)
    options = OPTIONS.changed(codec="libx264", crf=12)

    def interrupt(done: int, total: int) -> None:
        if done > 8:  # in the second segment
            raise KeyboardInterrupt

    out = tmp_path / "resumed.mp4"
    with pytest.raises(CancelledError):
        run_job(str(clip), str(out), options, job, progress=interrupt)
    resumed = run_job(str(clip), str(out), options, job)
    assert resumed.reused == 1 and resumed.encoded == 1
    reference = tmp_path / "uninterrupted.mp4"
    run_job(str(clip), str(reference), options, job)
    assert_same_frames(out, reference)
    assert video_times(out) == video_times(clip)
    parallel = tmp_path / "parallel.mp4"
    run_job(str(clip), str(parallel), options, replace(job, workers=2))
    assert_same_frames(parallel, reference)


def test_default_reuse_skips_exact_repeats_and_changes_no_output(tmp_path):
    """The default (``--reuse auto``: repeats): a lossless clip on twos (every picture held
    for two frames, as animation is drawn) runs the model on half its frames, and the output,
    temporal stage on, equals ``--reuse off`` bit for bit, with the same timestamps."""
    clip = write_still_and_moving(
        tmp_path / "twos.mp4", 12, picture=lambda i: still_and_moving(i // 2)
    )
    options = UpscaleOptions.of(model="vidsr-bi-x2", precision="fp32", codec="ffv1")
    assert options.reuse == "auto" and options.temporal.level == "auto"
    on, off = tmp_path / "on.mkv", tmp_path / "off.mkv"
    stats = Pipeline(options).run(str(clip), str(on))
    Pipeline(options.changed(reuse="off")).run(str(clip), str(off))
    assert stats.reuse is not None
    assert (stats.reuse.frames, stats.reuse.frames_skipped) == (12, 6)
    assert_same_frames(on, off)
    assert video_times(on) == video_times(clip)
