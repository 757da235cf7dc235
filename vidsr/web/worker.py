"""The worker process: takes queued jobs from the store and runs them, never in the server.

``python -m vidsr.web.worker DATA_DIR SLOT`` (the supervisor starts it). A preview is one
:class:`~vidsr.pipeline.Pipeline` run on a window; a full job is the resumable
:class:`~vidsr.jobs.Job` (segments kept in its folder, so pause, a crash, ``kill -9`` or a
reboot lose at most the segment being encoded). Pause/cancel requests are read from the store
by a watcher thread that cancels the running pipeline. The worker dies with the server (Linux
parent-death signal, and a parent check as a fallback).
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import shutil
import signal
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from vidsr.config import UpscaleOptions
from vidsr.errors import CancelledError, VidsrError
from vidsr.web.config import JobKind, JobRequest, JobState
from vidsr.web.store import JobRecord, Store, VideoRecord

log = logging.getLogger("vidsr.web.worker")
POLL_SECONDS = 0.3
PROGRESS_EVERY = 0.25


def one_line(err: BaseException) -> str:
    """The error as the CLI prints it: one line, never a traceback."""
    text = str(err) if isinstance(err, VidsrError) else f"{type(err).__name__}: {err}"
    return " ".join(text.split()) or type(err).__name__


def _die_with_parent() -> None:
    """Ask Linux to kill this process when the server that started it dies (even by kill -9)."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class _Stop(Exception):
    """Leave the current job: the server asked (pause/cancel) or the worker is shutting down."""


class Worker:
    """One worker slot: the loop, the current pipeline and the model kept between jobs."""

    def __init__(self, data_dir: Path, slot: int):
        from vidsr.web.config import ServeConfig

        self.config = ServeConfig(data_dir=data_dir)
        self.store = Store(self.config.db_path)
        self.slot = slot
        self.parent = os.getppid()
        self.shutdown = threading.Event()
        self._pipeline = None
        self._upscaler = None
        self._upscaler_key: tuple | None = None
        self._job_id: str | None = None

    # the loop
    def run(self) -> None:
        """Take and run jobs until the server goes away or asks the worker to stop."""
        watcher = threading.Thread(target=self._watch, name="vidsr-watch", daemon=True)
        watcher.start()
        while not self.shutdown.is_set():
            if os.getppid() != self.parent:
                return
            job = self.store.claim(self.slot)
            if job is None:
                self.shutdown.wait(POLL_SECONDS)
                continue
            self._run_job(job)

    def _watch(self) -> None:
        """Cancel the running pipeline when a request arrives, or the server is gone."""
        while True:
            time.sleep(POLL_SECONDS)
            if os.getppid() != self.parent:
                os._exit(0)  # the server died: nothing left to report to
            job_id, pipeline = self._job_id, self._pipeline
            if job_id is None or pipeline is None:
                continue
            job = self.store.job(job_id)
            if self.shutdown.is_set() or job is None or job.request != JobRequest.NONE:
                pipeline.cancel()

    def _run_job(self, job: JobRecord) -> None:
        video = self.store.video(job.video_id)
        self._job_id = job.id
        try:
            if video is None:
                raise VidsrError("the video of this job was deleted")
            if job.kind == JobKind.PREVIEW:
                report = self._preview(job, video)
            else:
                report = self._full(job, video)
            self.store.transition(
                job.id, (JobState.RUNNING,), state=JobState.DONE, finished=time.time(),
                report=report, request=JobRequest.NONE,
            )  # fmt: skip
        except (CancelledError, _Stop):
            self._stopped(job)
        except BaseException as err:  # any failure fails this job only, with one line
            log.warning("job %s failed: %s", job.id, one_line(err))
            if isinstance(err, KeyboardInterrupt):
                self._stopped(job)
                raise
            self.store.transition(
                job.id, (JobState.RUNNING,), state=JobState.FAILED, error=one_line(err),
                finished=time.time(), fps=0.0,
            )  # fmt: skip
        finally:
            self._job_id = None
            self._pipeline = None

    def _stopped(self, job: JobRecord) -> None:
        """The run stopped on request: paused, cancelled, or back to the queue on shutdown."""
        current = self.store.job(job.id)
        request = current.request if current else JobRequest.CANCEL
        if self.shutdown.is_set() and request == JobRequest.NONE:
            self.store.transition(job.id, (JobState.RUNNING,), state=JobState.QUEUED, fps=0.0)
        elif request == JobRequest.PAUSE and job.kind == JobKind.FULL:
            self.store.transition(
                job.id, (JobState.RUNNING,), state=JobState.PAUSED, request=JobRequest.NONE,
                fps=0.0,
            )  # fmt: skip
        else:
            self.store.transition(
                job.id, (JobState.RUNNING,), state=JobState.CANCELLED, request=JobRequest.NONE,
                finished=time.time(), fps=0.0,
            )  # fmt: skip
            remove_job_files(job.output)

    # running
    def _new_pipeline(self, options, progress):
        """A fresh Pipeline (its cancel flag is per run) on the model kept from the last job."""
        from vidsr.pipeline import Pipeline

        key = replace(options.model, batch_size=None)  # what loading the model depends on
        if self._upscaler_key != key:
            self._upscaler, self._upscaler_key = None, key
        pipeline = Pipeline(options, progress=progress, upscaler=self._upscaler)
        self._upscaler = pipeline.upscaler
        self._pipeline = pipeline
        return pipeline

    def _progress(self, job_id: str):
        """A progress callback that writes frames done and the measured fps to the store."""
        state = {"last": 0.0, "t0": None, "f0": 0}

        def progress(done: int, total: int) -> None:
            now = time.perf_counter()
            if state["t0"] is None:
                state["t0"], state["f0"] = now, done
            if now - state["last"] < PROGRESS_EVERY and done < total:
                return
            state["last"] = now
            elapsed = now - state["t0"]
            fps = (done - state["f0"]) / elapsed if elapsed > 0.5 else 0.0
            fields: dict[str, Any] = {"frames_done": done, "frames_total": total}
            if fps > 0:
                fields["fps"] = fps
            self.store.update(job_id, **fields)

        return progress

    def _preview(self, job: JobRecord, video: VideoRecord) -> dict[str, Any]:
        from vidsr.web.settings import parse_settings

        settings = parse_settings(job.settings)
        start = float(job.settings.get("start", 0.0))
        duration = float(job.settings.get("duration", 2.0))
        options = settings.options.changed(start=start, duration=duration)
        pipeline = self._new_pipeline(options, self._progress(job.id))
        stats = pipeline.run(video.path, job.output)
        up = pipeline.upscaler
        self._before_clip(video.path, job.output, start, duration)
        frames_total = video.probe["video"].get("frames") or round(
            video.probe["duration_s"] * (video.probe["video"].get("fps") or 0)
        )
        eta = frames_total / stats.fps if stats.fps else None
        self.store.update(job.id, frames_done=stats.frames_encoded, fps=stats.fps)
        return {
            "frames": stats.frames_encoded,
            "seconds": round(stats.wall_seconds, 3),
            "fps": round(stats.fps, 3),
            "full_video_frames": frames_total,
            "full_video_eta_seconds": None if eta is None else round(eta, 1),
            "model": up.name, "scale": up.scale, "device": up.device.type,
            "notes": list(stats.notes),
        }  # fmt: skip

    def _before_clip(self, input_path: str, output: str, start: float, duration: float) -> None:
        """The same window of the input at its own size in H.264, for side-by-side playback."""
        from vidsr.pipeline import Pipeline

        options = UpscaleOptions.of(
            model="bicubic", scale=1, temporal="off", deblock="off", preset="veryfast",
            start=start, duration=duration,
        )  # fmt: skip
        self._pipeline = Pipeline(options)  # the watcher can cancel it; the model cache stays
        self._pipeline.run(input_path, before_clip_path(output))

    def _full(self, job: JobRecord, video: VideoRecord) -> dict[str, Any]:
        from vidsr.jobs import Job, JobOptions
        from vidsr.jobs.worker import run_segment
        from vidsr.web.settings import parse_settings

        settings = parse_settings(job.settings)
        started = time.perf_counter()
        progress = self._progress(job.id)
        with Job(
            video.path, job.output, settings.options,
            JobOptions(segment_seconds=settings.segment_seconds), progress=progress,
        ) as current:  # fmt: skip
            tasks = current.open()
            total = len(current.manifest.segments) if current.manifest else 0
            self.store.update(
                job.id, segments_total=total, segments_done=_done(current),
                frames_total=current.frames_total, frames_done=current.frames_done,
            )  # fmt: skip
            for task in tasks:
                if self._requested(job.id):
                    raise _Stop()
                pipeline = self._new_pipeline(settings.options, current.segment_progress)
                current.segment_done(run_segment(task, pipeline))
                self.store.update(job.id, segments_done=_done(current))
            if self._requested(job.id):
                raise _Stop()
            result = current.finish()
        wall = time.perf_counter() - started
        up = self._upscaler
        return {
            "frames": result.frames,
            "seconds": round(wall, 3),
            "fps": round(result.frames / wall, 3) if wall else 0.0,
            "segments": result.segments,
            "segments_reused": result.reused,
            "segments_encoded": result.encoded,
            "model": getattr(up, "name", settings.options.model.name),
            "scale": settings.scale,
            "device": up.device.type if up is not None else None,
            "output_bytes": os.path.getsize(job.output),
            "kept": [
                f"{s['kind']} #{s['index']} ({s['codec']}): {s['action']}"
                for s in video.probe.get("streams", [])
            ],
        }

    def _requested(self, job_id: str) -> bool:
        job = self.store.job(job_id)
        return self.shutdown.is_set() or job is None or job.request != JobRequest.NONE


def _done(job) -> int:
    """Segments of the job's manifest that are finished."""
    return sum(1 for r in job.manifest.segments if r.status == "done")


def before_clip_path(output: str) -> str:
    """Where a preview keeps the input's window for side-by-side playback (always MP4)."""
    out = Path(output)
    return str(out.with_name(f"{out.stem}-before.mp4"))


def remove_job_files(output: str) -> None:
    """Delete a job's output, a preview's before clip and a job's segment folder."""
    from vidsr.jobs import job_folder

    Path(output).unlink(missing_ok=True)
    Path(before_clip_path(output)).unlink(missing_ok=True)
    shutil.rmtree(job_folder(output), ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    """``python -m vidsr.web.worker DATA_DIR SLOT``."""
    args = sys.argv[1:] if argv is None else argv
    _die_with_parent()
    logging.basicConfig(level=logging.WARNING, format="vidsr worker: %(levelname)s: %(message)s")
    worker = Worker(Path(args[0]), int(args[1]))
    signal.signal(signal.SIGTERM, lambda *_: worker.shutdown.set())
    signal.signal(signal.SIGINT, lambda *_: worker.shutdown.set())
    worker.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
