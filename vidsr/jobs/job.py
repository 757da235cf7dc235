"""A resumable job: one video, encoded segment by segment, joined at the end.

The job folder ``.OUTPUT.vidsr-job/`` beside the output holds ``manifest.json`` and one finished
file per segment (each written atomically by the pipeline, named by the job's digest of input
and options, in the container :func:`~vidsr.media.concat.segment_suffix` picks). Running the
same job again after a crash, a ``kill -9`` or Ctrl-C checks the manifest against the whole
input's SHA-256 and the options, removes segment files of other jobs, verifies every finished
segment (its SHA-256 as recorded when it finished; an unrecorded one, after a lost manifest or a
kill before the manifest was saved, by decoding every frame and by its frame count and pts),
encodes only the missing ones, joins all segment files without re-encoding into the output's
container, muxes the input's audio and subtitles, and removes the folder. A folder made from
another input or other options is never reused: the run stops with an error that says to delete
it or pass ``restart=True`` (``--restart``). A failure a re-run would repeat removes the folder.

Segments start at keyframes. With the temporal stage on, each segment also decodes ``preroll``
seconds before its start and ``postroll`` seconds after its end, through the model and the
stabiliser, without writing them: its first frames see the same history and its last frames the
same look-ahead as in a single run.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from vidsr.config import DEFAULT_POSTROLL, DEFAULT_PREROLL, JobOptions, UpscaleOptions
from vidsr.errors import (
    CancelledError,
    CorruptInputError,
    InvalidOptionError,
    ModelWeightsError,
    OutputPathError,
    UnsupportedModelError,
    VidsrError,
)
from vidsr.jobs.manifest import (
    Manifest,
    SegmentRecord,
    file_sha256,
    input_fingerprint,
    job_digest,
    options_fingerprint,
)
from vidsr.jobs.segments import plan_segments, scan_keyframes
from vidsr.jobs.space import check_free_space, estimate_video_bytes
from vidsr.jobs.worker import SegmentDone, SegmentTask, make_pipeline, run_segment
from vidsr.media.concat import (
    check_segment_decodes,
    concat_segments,
    segment_file_info,
    segment_suffix,
    segment_tags,
)
from vidsr.media.containers import check_holds
from vidsr.media.encoders import choose_encoder
from vidsr.media.images import input_spec, is_image_output
from vidsr.media.probe import probe
from vidsr.media.rawvideo import uncompressed_output
from vidsr.paths import OutputTarget, check_paths, remove_dead_temporaries
from vidsr.strengths import temporal_wanted
from vidsr.types import MediaInfo

log = logging.getLogger(__name__)


@dataclass
class JobResult:
    """What a job did."""

    output: str
    frames: int
    segments: int
    reused: int
    encoded: int
    wall_seconds: float


def job_folder(output_path: str) -> Path:
    """``dir/out.mp4`` -> ``dir/.out.mp4.vidsr-job``."""
    out = Path(os.path.abspath(output_path))
    return out.with_name(f".{out.name}.vidsr-job")


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on the job folder (two runs of one job would collide)."""
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks; run one job at a time by hand
        yield
        return
    with open(folder / "lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise OutputPathError(
                f"another vidsr run is working on this job ({folder}): wait for it to finish"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _clean_folder(folder: Path, keep_manifest: bool) -> None:
    """Remove leftovers of killed runs (temporary files); everything but the lock on restart."""
    for entry in folder.iterdir():
        if entry.name == "lock" or (keep_manifest and not _is_leftover(entry.name)):
            continue
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


def _is_leftover(name: str) -> bool:
    return ".vidsr-tmp-" in name or name.endswith((".part", ".tmp"))


def _scale_of(options: UpscaleOptions) -> float:
    """The output scale without building the network."""
    from vidsr.models.catalog import expected_scale

    return expected_scale(options.model.name, options.model.scale)


def segment_context(job: JobOptions, options: UpscaleOptions) -> tuple[float, float]:
    """(pre-roll, post-roll) in seconds a segment decodes around itself: the temporal stage
    needs frames before and after a segment, when it runs for this model, and so does a
    network that reads neighbouring frames (``job``'s own values win when given)."""
    from vidsr.models.catalog import expected_neighbours, is_classical  # loads torch: when cut

    model = options.model.name
    context = temporal_wanted(options.temporal.level, is_classical(model))
    context = context or expected_neighbours(model) > 0
    pre = DEFAULT_PREROLL if context else 0.0
    post = DEFAULT_POSTROLL if context else 0.0
    return (
        pre if job.preroll is None else job.preroll,
        post if job.postroll is None else job.postroll,
    )


def _segment_name(index: int, digest: str, suffix: str) -> str:
    """``seg-00003-DIGEST.mkv``: the job's digest (input and options) names every segment, so
    a lost manifest cannot adopt another job's; the container is
    :func:`~vidsr.media.concat.segment_suffix`'s."""
    return f"seg-{index:05d}-{digest}{suffix}"


def _open_manifest(
    folder: Path,
    info: MediaInfo,
    output_path: str,
    options: UpscaleOptions,
    job: JobOptions,
    encoder: str,
) -> Manifest:
    """Load the folder's manifest (checking it belongs to this job) or plan a new one."""
    preroll, postroll = segment_context(job, options)
    input_fp = input_fingerprint(info.path)
    options_fp = options_fingerprint(
        options, segment_seconds=job.segment_seconds, preroll=preroll, postroll=postroll
    )
    if (folder / "manifest.json").exists():
        manifest = Manifest.load(folder)
        why = manifest.mismatch(input_fp, options_fp)
        if why is not None:
            raise OutputPathError(
                f"the job folder {folder} cannot be reused: {why}. Delete the folder or pass "
                "--restart to start this job over"
            )
        return manifest
    segments = plan_segments(scan_keyframes(info), job.segment_seconds)
    digest = job_digest(input_fp, options_fp)
    suffix = segment_suffix(output_path, encoder)
    records = [
        SegmentRecord.from_segment(s, _segment_name(s.index, digest, suffix)) for s in segments
    ]
    manifest = Manifest(input=input_fp, options=options_fp, segments=records, output=output_path)
    manifest.save(folder)
    return manifest


def _verified(folder: Path, record: SegmentRecord, info: MediaInfo, digest: str) -> bool:
    """True if the record's file exists and holds what the manifest says it holds (a file no
    manifest record vouches for must also carry this job's digest in its container tag)."""
    path = folder / record.file
    if not path.is_file():
        record.status = "pending"
        return False
    if record.status == "done" and file_sha256(str(path)) != record.sha256:
        log.warning("segment %d changed since it was finished: encoding it again", record.index)
        record.status = "pending"
        return False
    try:
        found = segment_file_info(str(path), info.video.time_base)
        if record.status != "done" and found.job != digest:  # adopted: it must be this job's
            log.warning(
                "segment %d was not made by this job (its tag names %s): encoding it again",
                record.index,
                found.job or "no job",
            )
            record.status = "pending"
            return False
        if record.status != "done":  # adopted (no record of its bytes): every frame must decode
            check_segment_decodes(str(path), found.frames)
    except CorruptInputError as err:
        log.warning("segment %d is damaged (%s): encoding it again", record.index, err)
        record.status = "pending"
        return False
    if record.status == "done":
        expected = (record.frames_written, record.written_pts_first, record.written_pts_last)
    else:  # finished file, but the kill came before the manifest was updated (or it was lost)
        expected = (record.frames, record.pts_first, record.pts_last)
    ok = (found.frames, found.pts_first, found.pts_last) == expected
    if record.status != "done" and not ok:  # more frames than packets: stand-ins for lost ones
        ok = found.frames > record.frames and (found.pts_first, found.pts_last) == expected[1:]
    if ok and record.status != "done":
        _mark_done(record, found.frames, found.pts_first, found.pts_last, file_sha256(str(path)))
    elif not ok:
        record.status = "pending"
        log.warning(
            "segment %d holds %s, the manifest expects %s: encoding it again",
            record.index, (found.frames, found.pts_first, found.pts_last), expected,
        )  # fmt: skip
    return ok


def _mark_done(record: SegmentRecord, frames: int, first: int, last: int, sha256: str) -> None:
    record.status = "done"
    record.frames_written, record.written_pts_first, record.written_pts_last = frames, first, last
    record.sha256 = sha256


def _remove_foreign_segments(folder: Path, manifest: Manifest) -> None:
    """Delete segment files the manifest does not name (another input's or other options')."""
    named = {r.file for r in manifest.segments}
    for entry in folder.glob("seg-*"):
        if entry.name not in named:
            log.warning("%s belongs to another input or other options: removed", entry.name)
            entry.unlink(missing_ok=True)


_PERMANENT = (CorruptInputError, InvalidOptionError, UnsupportedModelError, ModelWeightsError)
"""Failures a re-run repeats (the input, the options, the model): the job folder goes."""


def _worth_keeping(err: BaseException, manifest: Manifest) -> bool:
    """Keep a failed job's folder if a re-run may succeed: always after a cancel (the same
    command continues), after other failures only if it holds a finished segment."""
    if isinstance(err, _PERMANENT):
        return False
    if isinstance(err, (CancelledError, KeyboardInterrupt)):
        return True
    return any(r.status == "done" for r in manifest.segments)


def _check_join(manifest: Manifest, info: MediaInfo) -> int:
    """Every segment done, in order, without overlap; returns the total frame count."""
    total = 0
    last_pts: int | None = None
    for record in manifest.segments:
        if record.status != "done" or record.written_pts_first is None:
            raise VidsrError(f"segment {record.index} is not finished")
        if last_pts is not None and record.written_pts_first <= last_pts:
            raise VidsrError(
                f"segment {record.index} starts at pts {record.written_pts_first}, not after "
                f"the previous segment's last frame ({last_pts})"
            )
        if (record.frames_written or 0) > record.frames:
            log.warning(
                "segment %d: %d frames written, %d packets in the input: the frame before "
                "stands in for each missing one",
                record.index, record.frames_written, record.frames,
            )  # fmt: skip
        elif record.frames_written != record.frames:
            log.warning(
                "segment %d: %d frames written, the index lists %d",
                record.index, record.frames_written, record.frames,
            )  # fmt: skip
        last_pts = record.written_pts_last
        total += record.frames_written or 0
    expected = sum(r.frames for r in manifest.segments)
    if total < expected:
        raise CorruptInputError(
            f"{info.path} is truncated or damaged: its index lists {expected} frames, "
            f"only {total} could be decoded"
        )
    return total


class Job:
    """One video's job, in steps: :meth:`open` (lock, plan or check, list the missing segments),
    :meth:`segment_done` as each finishes, :meth:`finish` (join, rename, remove the folder).

    A context manager: leaving it releases the folder's lock. :func:`run_job` runs all steps;
    a batch on Ray opens many jobs and schedules all their segments together.
    """

    def __init__(
        self,
        input_path: str,
        output_path: str,
        options: UpscaleOptions = UpscaleOptions(),
        job: JobOptions = JobOptions(),
        progress: Callable[[int, int], None] | None = None,
    ):
        if options.window.start or options.window.duration is not None:
            raise InvalidOptionError(
                "--start/--duration make a preview: run it without a job (it is short)"
            )
        if input_spec(input_path).images or is_image_output(output_path):
            raise InvalidOptionError(
                "image inputs and outputs run without a job: use Pipeline (they have no keyframes)"
            )
        if uncompressed_output(output_path) is not None:
            raise InvalidOptionError(
                f"{output_path} is uncompressed video: it runs without a job, use Pipeline"
            )
        self.input_path, self.output_path = input_path, output_path
        self.options, self.job, self.progress = options, job, progress
        self.folder = job_folder(output_path)
        self.started = time.perf_counter()
        self.manifest: Manifest | None = None
        self.info: MediaInfo | None = None
        self.tasks: list[SegmentTask] = []
        self.frames_done = 0
        self.frames_total = 0
        self._stack = contextlib.ExitStack()
        self._made_folder = False
        self.digest = ""

    def __enter__(self) -> Job:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close()
        if exc is None:
            return
        if self.manifest is not None and not _worth_keeping(exc, self.manifest):
            shutil.rmtree(self.folder, ignore_errors=True)
        elif self.manifest is None and self._made_folder:
            shutil.rmtree(self.folder, ignore_errors=True)  # failed before planning: nothing kept

    def close(self) -> None:
        """Release the job folder's lock."""
        self._stack.close()

    def open(self) -> list[SegmentTask]:
        """Lock the folder, load or plan the manifest, and return the segments still to encode."""
        check_paths(self.input_path, self.output_path)
        info = self.info = probe(self.input_path, self.options.window.fps)
        codec = self.options.encode.codec
        encoder = choose_encoder(codec, self.output_path, info.video.bit_depth)
        check_holds(self.output_path, encoder)  # before the folder: a re-run would fail too
        folder = self.folder
        self._made_folder = not folder.exists()
        folder.mkdir(exist_ok=True)
        self._stack.enter_context(_locked(folder))
        _clean_folder(folder, keep_manifest=not self.job.restart)
        remove_dead_temporaries(self.output_path)
        manifest = self.manifest = _open_manifest(
            folder, info, self.output_path, self.options, self.job, encoder
        )
        _remove_foreign_segments(folder, manifest)
        self.digest = job_digest(manifest.input, manifest.options)
        todo = [r for r in manifest.segments if not _verified(folder, r, info, self.digest)]
        manifest.save(folder)
        if self.job.check_space:
            _check_space(folder, info, self.options, len(todo) / len(manifest.segments))
        self.frames_total = sum(r.frames for r in manifest.segments)
        pending = {r.index for r in todo}
        self.frames_done = sum(
            r.frames_written or 0 for r in manifest.segments if r.index not in pending
        )
        context = segment_context(self.job, self.options)
        self.tasks = [
            SegmentTask(
                index=r.index,
                input_path=self.input_path,
                output_path=str(folder / r.file),
                options=self.options,
                window=r.segment().window(*context),
                time_base=info.video.time_base,
                final_output=self.output_path,
                tags=tuple(segment_tags(self.digest).items()),
            )
            for r in todo
        ]
        return self.tasks

    def segment_done(self, result: SegmentDone) -> None:
        """Record a finished segment in the manifest (saved at once)."""
        if self.manifest is None:
            raise VidsrError("Job.open() was not called")
        record = self.manifest.segments[result.index]
        sha256 = file_sha256(str(self.folder / record.file))
        _mark_done(record, result.frames, result.pts_first, result.pts_last, sha256)
        self.manifest.save(self.folder)
        self.frames_done += result.frames
        if self.progress:
            self.progress(self.frames_done, self.frames_total)

    def segment_progress(self, frames: int, _total: int) -> None:
        """Progress inside a running segment (in-process backend)."""
        if self.progress:
            self.progress(self.frames_done + frames, self.frames_total)

    def finish(self) -> JobResult:
        """Join the segments into the output (atomically) and remove the job folder."""
        if self.manifest is None or self.info is None:
            raise VidsrError("Job.open() was not called")
        frames = _check_join(self.manifest, self.info)
        target = OutputTarget.for_path(self.output_path)
        try:
            paths = [str(self.folder / r.file) for r in self.manifest.segments]
            concat_segments(paths, self.info, target.tmp)
            target.commit()
        except OSError as err:  # a full disk, a vanished folder: the segments stay for a re-run
            target.discard()
            if isinstance(err, VidsrError):
                raise
            raise OutputPathError(
                f"writing {self.output_path} failed: {err.strerror or err} (the finished "
                "segments are kept: run the same command again)"
            ) from err
        except BaseException:
            target.discard()
            raise
        self.close()
        shutil.rmtree(self.folder, ignore_errors=True)
        segments = len(self.manifest.segments)
        return JobResult(
            output=self.output_path,
            frames=frames,
            segments=segments,
            reused=segments - len(self.tasks),
            encoded=len(self.tasks),
            wall_seconds=time.perf_counter() - self.started,
        )


def run_job(
    input_path: str,
    output_path: str,
    options: UpscaleOptions = UpscaleOptions(),
    job: JobOptions = JobOptions(),
    progress: Callable[[int, int], None] | None = None,
) -> JobResult:
    """Upscale ``input_path`` into ``output_path`` as a resumable, segmented job.

    Run the same call again after any interruption to continue. ``progress(frames_done,
    frames_total)`` is called as segments finish (and within segments on the in-process backend).
    Raises InvalidOptionError for a preview window (``start``/``duration``: use ``Pipeline``) or
    an image input/output, OutputPathError for a job folder that belongs to another input or
    other options, or for too little free space.
    """
    with Job(input_path, output_path, options, job, progress) as current:
        tasks = current.open()
        _run_tasks(tasks, job, current.segment_done, current.segment_progress)
        return current.finish()


def _check_space(folder: Path, info: MediaInfo, options: UpscaleOptions, todo: float) -> None:
    size = os.path.getsize(info.path)
    video = estimate_video_bytes(size, _scale_of(options))
    needed = estimate_video_bytes(size, _scale_of(options), todo) + video
    check_free_space(str(folder.parent), needed, f"this job ({info.path})")


def _run_tasks(
    tasks: list[SegmentTask],
    job: JobOptions,
    on_done: Callable[[SegmentDone], None],
    progress: Callable[[int, int], None] | None = None,
) -> None:
    """Run the segments on the chosen backend, calling ``on_done`` here as each finishes."""
    if not tasks:
        return
    if job.backend == "ray":
        from vidsr.jobs.ray_backend import run_on_ray

        run_on_ray(tasks, on_done, address=job.address, max_retries=job.max_retries)
        return
    if job.workers > 1:
        from vidsr.jobs.parallel import run_in_processes

        run_in_processes(tasks, job.workers, on_done)
        return
    pipeline = make_pipeline(tasks[0].options, progress=progress)
    for task in tasks:
        on_done(run_segment(task, pipeline))
