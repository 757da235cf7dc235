"""Batch: every video and image in a folder (optionally its subfolders) into an output folder.

Each video runs as a resumable job (:func:`~vidsr.jobs.job.run_job`), each image through the
pipeline; on the Ray backend the segments of all the videos are scheduled together. A file whose
output already exists, with no unfinished job beside it, is skipped; a file that fails is recorded
with its error and the batch goes on. Only a cancel (Ctrl-C) stops it. The result is one
:class:`BatchRow` per file; :func:`summary_table` formats them for the CLI.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from vidsr.config import JobOptions, UpscaleOptions
from vidsr.errors import CancelledError, InputNotFoundError, OutputPathError, Terminated
from vidsr.jobs.job import Job, job_folder, run_job
from vidsr.media.images import IMAGE_EXTENSIONS
from vidsr.media.rawvideo import RAW_EXTENSIONS

VIDEO_EXTENSIONS = (
    ".mp4", ".mkv", ".mov", ".m4v", ".ts", ".m2ts", ".mts", ".avi", ".webm", ".wmv", ".flv",
    ".mpg", ".mpeg", ".vob", ".y4m", ".3gp", ".ogv",
    ".h264", ".264", ".h265", ".265", ".hevc", ".m2v", ".ivf",  # elementary streams
    *RAW_EXTENSIONS,  # headerless raw video (size and format from the name)
)  # fmt: skip
_KEEP_EXTENSIONS = (".mp4", ".mkv", ".mov", ".m4v")


@dataclass
class BatchRow:
    """One file of a batch: ``status`` is done, skipped or failed (``error`` says why)."""

    input: str
    output: str
    status: str
    error: str = ""
    frames: int = 0
    seconds: float = 0.0


def find_inputs(folder: str, recursive: bool = False, exclude: str | None = None) -> list[Path]:
    """Videos and images in ``folder`` (sorted; hidden files and folders left out).

    ``exclude`` is a folder never descended into (the output folder, when it is inside).
    """
    root = Path(folder)
    if not root.is_dir():
        raise InputNotFoundError(f"input folder not found: {folder}")
    skip = Path(os.path.abspath(exclude)) if exclude else None
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(os.path.abspath(dirpath))
        dirnames[:] = sorted(
            d for d in dirnames if not d.startswith(".") and (skip is None or here / d != skip)
        )
        if not recursive:
            dirnames[:] = []
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            if name.lower().endswith(VIDEO_EXTENSIONS + IMAGE_EXTENSIONS):
                found.append(Path(dirpath) / name)
    return found


def is_batch_input(path: str, recursive: bool = False) -> bool:
    """True if ``path`` is a folder to run as a batch rather than one image sequence.

    A folder is a batch when ``recursive`` is asked for or it holds a video file; a folder of
    images alone stays an image sequence (frames of one video), as ``vidsr upscale`` reads it.
    """
    if not os.path.isdir(path):
        return False
    if recursive:
        return True
    return any(
        name.lower().endswith(VIDEO_EXTENSIONS) and not name.startswith(".")
        for name in os.listdir(path)
    )


def batch_output_path(path: Path, in_root: str, out_root: str) -> Path:
    """Same relative path under ``out_root``; containers that can't hold H.264 become .mkv."""
    rel = path.relative_to(in_root)
    suffix = path.suffix.lower()
    if suffix in IMAGE_EXTENSIONS:
        ext = suffix if suffix in (".png", ".jpg", ".jpeg", ".tif", ".tiff") else ".png"
    else:
        ext = suffix if suffix in _KEEP_EXTENSIONS else ".mkv"
    return Path(out_root) / rel.with_suffix(ext)


def run_batch(
    in_dir: str,
    out_dir: str,
    options: UpscaleOptions = UpscaleOptions(),
    job: JobOptions | None = None,
    *,
    recursive: bool = False,
    on_file: Callable[[BatchRow], None] | None = None,
    progress: Callable[[Path, int, int], None] | None = None,
) -> list[BatchRow]:
    """Upscale every video and image of ``in_dir`` into ``out_dir``; returns one row per file.

    ``on_file(row)`` is called after each file, ``progress(path, done, total)`` while a video runs.
    """
    if os.path.abspath(in_dir) == os.path.abspath(out_dir):
        raise OutputPathError("the output folder must differ from the input folder")
    os.makedirs(out_dir, exist_ok=True)
    job = job or JobOptions()
    pairs = [
        (path, batch_output_path(path, in_dir, out_dir))
        for path in find_inputs(in_dir, recursive, exclude=out_dir)
    ]
    if job.backend == "ray":
        return _run_batch_on_ray(pairs, options, job, on_file)
    rows: list[BatchRow] = []
    for path, out in pairs:
        row = _run_one(path, out, options, job, progress)
        rows.append(row)
        if on_file:
            on_file(row)
    return rows


def _finished(out: Path, job: JobOptions) -> bool:
    return out.exists() and not job_folder(str(out)).exists() and not job.restart


def _run_batch_on_ray(
    pairs: list[tuple[Path, Path]],
    options: UpscaleOptions,
    job: JobOptions,
    on_file: Callable[[BatchRow], None] | None,
) -> list[BatchRow]:
    """Open every video's job, hand all their segments to Ray at once, then join each video.

    Images run here through the pipeline. A video whose segment fails is reported; the others go
    on. Rows come back in input order.
    """
    from vidsr.jobs.ray_backend import run_on_ray

    rows: dict[int, BatchRow] = {}
    jobs: dict[str, tuple[int, Job]] = {}
    errors: dict[str, BaseException] = {}
    try:
        for i, (path, out) in enumerate(pairs):
            if path.suffix.lower() in IMAGE_EXTENSIONS or _finished(out, job):
                rows[i] = _run_one(path, out, options, job, None)
                continue
            rows[i] = BatchRow(str(path), str(out), "done")
            current = Job(str(path), str(out), options, job)
            try:
                out.parent.mkdir(parents=True, exist_ok=True)
                current.open()
            except Exception as err:  # this file fails, the batch goes on
                current.close()
                rows[i].status, rows[i].error = "failed", str(err) or type(err).__name__
                continue
            jobs[str(i)] = (i, current)
        tasks = [
            replace(task, key=key) for key, (_, current) in jobs.items() for task in current.tasks
        ]
        run_on_ray(
            tasks,
            lambda done: jobs[done.key][1].segment_done(done),
            address=job.address,
            max_retries=job.max_retries,
            on_error=lambda task, err: errors.setdefault(task.key, err),
        )
        for key, (i, current) in jobs.items():
            row = rows[i]
            try:
                if key in errors:
                    raise errors[key]
                result = current.finish()
                row.frames, row.seconds = result.frames, result.wall_seconds
            except CancelledError:
                raise
            except Exception as err:
                row.status, row.error = "failed", str(err) or type(err).__name__
    finally:
        for _, current in jobs.values():
            current.close()
    ordered = [rows[i] for i in sorted(rows)]
    if on_file:
        for row in ordered:
            on_file(row)
    return ordered


def _run_one(
    path: Path,
    out: Path,
    options: UpscaleOptions,
    job: JobOptions,
    progress: Callable[[Path, int, int], None] | None,
) -> BatchRow:
    row = BatchRow(str(path), str(out), "done")
    if _finished(out, job):
        row.status = "skipped"
        return row
    started = time.perf_counter()
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix.lower() in IMAGE_EXTENSIONS:
            from vidsr.pipeline import Pipeline

            row.frames = Pipeline(options).run(str(path), str(out)).frames_encoded
        else:
            report = None if progress is None else (lambda d, t: progress(path, d, t))
            row.frames = run_job(str(path), str(out), options, job, report).frames
    except CancelledError:
        raise
    except KeyboardInterrupt as err:
        how = "SIGTERM" if isinstance(err, Terminated) else "Ctrl-C"
        raise CancelledError(f"batch cancelled ({how}); finished files are kept") from err
    except Exception as err:  # recorded in the summary; the batch goes on
        row.status = "failed"
        row.error = str(err) or type(err).__name__
    row.seconds = time.perf_counter() - started
    return row


def summary_table(rows: list[BatchRow]) -> str:
    """A plain-text table: status, frames, seconds, input, error; then the totals."""
    header = ("status", "frames", "seconds", "input", "error")
    lines = [
        (r.status, str(r.frames), f"{r.seconds:.1f}", r.input, r.error.replace("\n", " "))
        for r in rows
    ]
    widths = [max(len(x[i]) for x in [header, *lines]) for i in range(4)]
    text = [
        "  ".join(c.ljust(w) for c, w in zip(x[:4], widths, strict=True)) + "  " + x[4]
        for x in [header, *lines]
    ]
    counts = {s: sum(r.status == s for r in rows) for s in ("done", "skipped", "failed")}
    text.append(", ".join(f"{n} {s}" for s, n in counts.items()) + f" of {len(rows)} files")
    return "\n".join(line.rstrip() for line in text)
