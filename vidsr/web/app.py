"""The FastAPI application: the JSON API (OpenAPI at ``/docs``), SSE progress, the page.

Nothing slow runs in the event loop: a new video's probe and thumbnails run in a child process
(:mod:`vidsr.web.isolated`: FFmpeg crashing on a hostile file fails that file only), pictures in
the thread pool, upscaling in the worker processes (:mod:`vidsr.web.worker`), which the store
connects to the routes.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import time
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field
from sse_starlette.sse import EventSourceResponse
from starlette.concurrency import run_in_threadpool

import vidsr
from vidsr.errors import VidsrError
from vidsr.web import frames
from vidsr.web.catalog import load_catalog
from vidsr.web.cleanup import PREVIEW_KEEP_SECONDS, clean_at_start, forget_job, replace_previews
from vidsr.web.config import JobKind, JobRequest, JobState, ServeConfig
from vidsr.web.isolated import INSPECT_TIMEOUT, Inspector, inspect_isolated, inspect_video
from vidsr.web.security import (
    Guard,
    PathRefused,
    content_disposition,
    display_name,
    list_allowed,
    resolve_allowed,
    safe_suffix,
)
from vidsr.web.settings import PRESETS, parse_settings, settings_json
from vidsr.web.store import JobRecord, Store, VideoRecord, new_id
from vidsr.web.supervisor import Supervisor
from vidsr.web.uploads import UploadRefused, store_stream
from vidsr.web.worker import before_clip_path, one_line, remove_job_files

log = logging.getLogger("vidsr.web")
STATIC = resources.files("vidsr.web") / "static"
EVENT_POLL = 0.3
MAX_PREVIEW_SECONDS = 30.0


class PreviewRequest(BaseModel):
    """Render ``duration`` seconds from ``start`` with these settings."""

    video_id: str
    start: float = Field(0.0, ge=0)
    duration: float = Field(2.0, gt=0, le=MAX_PREVIEW_SECONDS)
    settings: dict[str, Any] = Field(default_factory=dict)
    replaces: list[str] = Field(
        default_factory=list, description="ids of previews this one replaces: removed"
    )


class JobRequestBody(BaseModel):
    """Upscale the whole video with these settings."""

    video_id: str
    settings: dict[str, Any] = Field(default_factory=dict)


class LocalFile(BaseModel):
    """A file inside an --allow-dir, read in place."""

    path: str


def _error(status: int, message: str) -> HTTPException:
    return HTTPException(status_code=status, detail=message)


def create_app(
    config: ServeConfig, inspector: Inspector = inspect_video,
    inspect_timeout: float = INSPECT_TIMEOUT, preview_keep_seconds: float = PREVIEW_KEEP_SECONDS,
) -> FastAPI:  # fmt: skip
    """The application for ``config`` (its lifespan cleans the data dir, starts and stops the
    workers).

    ``inspector`` probes a new video and makes its thumbnails, in a child process given
    ``inspect_timeout`` seconds (tests pass one that crashes or hangs); finished previews
    older than ``preview_keep_seconds`` are removed at start."""
    config.prepare()
    load_catalog()  # once per process, before the first request needs it
    store = Store(config.db_path)
    supervisor = Supervisor(config, store)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        requeued = store.requeue_running()
        if requeued:
            log.warning("continuing %d job(s) left running: %s", len(requeued), requeued)
        previews, files = await run_in_threadpool(
            clean_at_start, store, config, preview_keep_seconds
        )
        if previews or files:
            log.info("removed %d old previews and %d stray files", len(previews), len(files))
        supervisor.start()
        try:
            yield
        finally:
            await run_in_threadpool(supervisor.stop)

    app = FastAPI(title="vidsr", version=vidsr.__version__, lifespan=lifespan)
    app.state.config, app.state.store, app.state.supervisor = config, store, supervisor
    app.add_middleware(Guard, config=config)
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")

    @app.exception_handler(VidsrError)
    async def _vidsr_error(_request: Request, err: VidsrError) -> JSONResponse:
        return JSONResponse({"detail": one_line(err)}, status_code=422)

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, err: Exception) -> JSONResponse:
        log.exception("unexpected error")
        return JSONResponse({"detail": f"unexpected error: {one_line(err)}"}, status_code=500)

    def video_or_404(video_id: str) -> VideoRecord:
        video = store.video(video_id)
        if video is None:
            raise _error(404, "no such video")
        return video

    def job_or_404(job_id: str) -> JobRecord:
        job = store.job(job_id)
        if job is None:
            raise _error(404, "no such job")
        return job

    async def register(path: Path, name: str, owned: bool, size: int) -> VideoRecord:
        """Probe and thumbnail a file; VidsrError (one line, naming the file) if not a video."""
        video_id = path.stem if owned else new_id()
        pictures = config.pictures / video_id
        try:
            probe = await run_in_threadpool(
                inspect_isolated, str(path), pictures, inspector, inspect_timeout
            )
        except VidsrError as err:
            if owned:
                path.unlink(missing_ok=True)
            shutil.rmtree(pictures, ignore_errors=True)
            raise type(err)(str(err).replace(str(path), name)) from None
        video = VideoRecord(video_id, name, str(path), owned, size, probe, time.time())
        store.add_video(video)
        return video

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def page() -> HTMLResponse:
        return HTMLResponse((STATIC / "index.html").read_text(encoding="utf-8"))

    @app.get("/api/info")
    async def info() -> dict[str, Any]:
        """Version, limits, models and presets: what the page needs to draw its form."""
        return {
            "version": vidsr.__version__,
            "max_upload": config.max_upload,
            "allow_dirs": bool(config.allow_dirs),
            "workers": config.workers,
            "models": list(await run_in_threadpool(load_catalog)),
            "presets": PRESETS,
        }

    @app.post("/api/uploads", status_code=201)
    async def upload(request: Request, name: str | None = None) -> dict[str, Any]:
        """The request body is the file (streamed to disk); ``?name=`` or ``X-Filename``."""
        shown = display_name(name or request.headers.get("x-filename"))
        length = request.headers.get("content-length")
        try:
            stored = await store_stream(
                request.stream(), config, new_id(), safe_suffix(shown),
                int(length) if length and length.isdigit() else None,
            )  # fmt: skip
        except UploadRefused as err:
            raise _error(err.status, str(err)) from None
        video = await register(stored.path, shown, owned=True, size=stored.size)
        return video.public()

    @app.get("/api/local")
    async def local_files() -> list[dict[str, object]]:
        """Files in the --allow-dir folders (empty without any)."""
        return await run_in_threadpool(list_allowed, config.allow_dirs)

    @app.post("/api/local", status_code=201)
    async def add_local(body: LocalFile) -> dict[str, Any]:
        """Use a file inside an --allow-dir in place (no copy)."""
        try:
            real = resolve_allowed(body.path, config.allow_dirs)
        except PathRefused as err:
            raise _error(403, f"refused: {err}") from None
        video = await register(real, display_name(real.name), owned=False,
                               size=real.stat().st_size)  # fmt: skip
        return video.public()

    @app.get("/api/videos")
    async def videos() -> list[dict[str, Any]]:
        return [v.public() for v in store.videos()]

    @app.get("/api/videos/{video_id}")
    async def video(video_id: str) -> dict[str, Any]:
        """What vidsr sees in the video (probe), and how many thumbnails it has."""
        record = video_or_404(video_id)
        thumbs = len(list((config.pictures / record.id).glob("thumb-*.jpg")))
        return {**record.public(), "thumbnails": thumbs}

    @app.get("/api/videos/{video_id}/thumbs/{index}")
    async def thumb(video_id: str, index: int) -> FileResponse:
        record = video_or_404(video_id)
        path = config.pictures / record.id / f"thumb-{index}.jpg"
        if not path.is_file():
            raise _error(404, "no such thumbnail")
        return FileResponse(path, media_type="image/jpeg")

    @app.delete("/api/videos/{video_id}")
    async def delete_video(video_id: str) -> dict[str, str]:
        """Forget a video (an uploaded file is deleted) unless a job still uses it."""
        record = video_or_404(video_id)
        if any(j.video_id == video_id and not j.state.final for j in store.jobs()):
            raise _error(409, "a job of this video is still queued, running or paused")
        for job in store.jobs(JobKind.PREVIEW):
            if job.video_id == video_id:
                forget_job(store, config, job)
        store.delete_video(video_id)
        shutil.rmtree(config.pictures / video_id, ignore_errors=True)
        if record.owned:
            Path(record.path).unlink(missing_ok=True)
        return {"deleted": video_id}

    def new_job(video: VideoRecord, kind: JobKind, raw: dict[str, Any]) -> JobRecord:
        settings = parse_settings(raw)
        job_id = new_id()
        output = config.outputs / f"{job_id}.{settings.container}"
        stored = settings_json(settings)
        if kind == JobKind.PREVIEW:
            stored.update(start=raw["start"], duration=raw["duration"])
        return store.add_job(video.id, kind, stored, str(output),
                             settings.output_name(video.name), job_id)  # fmt: skip

    @app.post("/api/previews", status_code=201)
    async def preview(body: PreviewRequest) -> dict[str, Any]:
        """Queue a preview window (previews run before full jobs); the previews named in
        ``replaces`` (the page's last ones) are removed with their files."""
        video = video_or_404(body.video_id)
        replace_previews(store, config, body.replaces)
        length = video.probe["duration_s"]
        if length and body.start >= length:
            raise _error(422, f"start {body.start:g} s is past the end ({length:.2f} s)")
        raw = {**body.settings, "start": body.start, "duration": body.duration}
        return new_job(video, JobKind.PREVIEW, raw).public()

    @app.post("/api/jobs", status_code=201)
    async def create_job(body: JobRequestBody) -> dict[str, Any]:
        """Queue the whole video as a resumable job."""
        return new_job(video_or_404(body.video_id), JobKind.FULL, body.settings).public()

    @app.get("/api/jobs")
    async def jobs(kind: JobKind | None = None) -> list[dict[str, Any]]:
        """Every job (or one kind), oldest first."""
        return [j.public() for j in store.jobs(kind)]

    @app.get("/api/jobs/{job_id}")
    async def job(job_id: str) -> dict[str, Any]:
        return job_or_404(job_id).public()

    @app.post("/api/jobs/{job_id}/pause")
    async def pause(job_id: str) -> dict[str, Any]:
        """Pause a full job: the segment being encoded stops, finished segments are kept."""
        record = job_or_404(job_id)
        if record.kind != JobKind.FULL:
            raise _error(409, "a preview cannot be paused (cancel it)")
        if not (
            store.transition(job_id, (JobState.QUEUED,), state=JobState.PAUSED)
            or store.transition(job_id, (JobState.RUNNING,), request=JobRequest.PAUSE)
        ):
            raise _error(409, f"the job is {record.state.value}")
        return job_or_404(job_id).public()

    @app.post("/api/jobs/{job_id}/resume")
    async def resume(job_id: str) -> dict[str, Any]:
        """Queue a paused (or failed) job again: it continues from its last finished segment."""
        record = job_or_404(job_id)
        if not store.transition(
            job_id, (JobState.PAUSED, JobState.FAILED), state=JobState.QUEUED, error="",
            finished=None,
        ):  # fmt: skip
            raise _error(409, f"the job is {record.state.value}")
        return job_or_404(job_id).public()

    @app.post("/api/jobs/{job_id}/cancel")
    async def cancel(job_id: str) -> dict[str, Any]:
        """Stop a job for good; its segments and any output are removed."""
        record = job_or_404(job_id)
        waiting = (JobState.QUEUED, JobState.PAUSED)
        if store.transition(job_id, waiting, state=JobState.CANCELLED, finished=time.time()):
            remove_job_files(record.output)
        elif not store.transition(job_id, (JobState.RUNNING,), request=JobRequest.CANCEL):
            raise _error(409, f"the job is {record.state.value}")
        return job_or_404(job_id).public()

    @app.delete("/api/jobs/{job_id}")
    async def delete_job(job_id: str) -> dict[str, str]:
        """Delete a finished, failed, cancelled or paused job and its files."""
        record = job_or_404(job_id)
        if record.state in (JobState.RUNNING, JobState.QUEUED):
            raise _error(409, f"the job is {record.state.value}: cancel or pause it first")
        forget_job(store, config, record)
        return {"deleted": job_id}

    @app.get("/api/jobs/{job_id}/events")
    async def events(job_id: str, request: Request) -> EventSourceResponse:
        """Server-sent events: the job's JSON whenever it changes, until it is final."""
        job_or_404(job_id)

        async def stream():
            last = None
            while not await request.is_disconnected():
                record = store.job(job_id)
                if record is None:
                    yield {"event": "deleted", "data": job_id}
                    return
                if record.updated != last:
                    last = record.updated
                    yield {"event": "job", "data": json.dumps(record.public())}
                if record.state.final:
                    return
                await asyncio.sleep(EVENT_POLL)

        return EventSourceResponse(stream(), ping=15)

    def finished_output(job_id: str) -> tuple[JobRecord, Path]:
        record = job_or_404(job_id)
        path = Path(record.output)
        if record.state != JobState.DONE or not path.is_file():
            raise _error(409, f"the job is {record.state.value}: no output yet")
        return record, path

    @app.get("/api/jobs/{job_id}/output")
    async def output(job_id: str) -> FileResponse:
        """The upscaled video, named after the original with ``_x4`` (or its scale)."""
        record, path = finished_output(job_id)
        return FileResponse(
            path, headers={"content-disposition": content_disposition(record.download_name)}
        )

    @app.get("/api/jobs/{job_id}/clip/{which}")
    async def clip(job_id: str, which: str) -> FileResponse:
        """A preview's clips for playback in the page: ``after`` (the output) or ``before``
        (the same window of the input at its own size, re-encoded in H.264)."""
        record, path = finished_output(job_id)
        if record.kind != JobKind.PREVIEW or which not in ("before", "after"):
            raise _error(404, "previews have a before and an after clip")
        target = Path(before_clip_path(str(path))) if which == "before" else path
        if not target.is_file():
            raise _error(404, "no such clip")
        return FileResponse(target, media_type=f"video/{target.suffix.lstrip('.')}")

    @app.get("/api/jobs/{job_id}/frame/{which}")
    async def frame(job_id: str, which: str, t: float | None = None) -> Response:
        """``before.png`` (input, scaled up without smoothing), ``after.png`` or
        ``compare.png`` (both side by side, a download) at ``t`` s of the output
        (default: the middle of a preview, 0 for a full job)."""
        if which not in ("before.png", "after.png", "compare.png"):
            raise _error(404, "use before.png, after.png or compare.png")
        record, path = finished_output(job_id)
        video = video_or_404(record.video_id)
        preview = record.kind == JobKind.PREVIEW
        start = float(record.settings.get("start", 0.0)) if preview else 0.0
        at = t if t is not None else (float(record.settings["duration"]) / 2 if preview else 0)
        at = max(0.0, at)
        cached = config.pictures / f"{job_id}-{which.removesuffix('.png')}-{at:.3f}.png"
        if not cached.is_file():
            pair = await run_in_threadpool(frames.frame_pair, video.path, str(path), start, at)
            image = {"before.png": pair.before, "after.png": pair.after}.get(which)
            image = image or frames.side_by_side(pair)
            part = cached.with_name(f".{cached.name}.part")
            await run_in_threadpool(image.save, part, "PNG")
            part.replace(cached)
        headers = {}
        if which == "compare.png":
            stem = Path(record.download_name).stem
            headers["content-disposition"] = content_disposition(f"{stem}_before_after.png")
        return FileResponse(cached, media_type="image/png", headers=headers)

    @app.get("/api/jobs/{job_id}/report")
    async def report(job_id: str) -> Response:
        """The job's report as a JSON download: settings, time, fps, what was kept."""
        record = job_or_404(job_id)
        video = video_or_404(record.video_id)
        body = {
            "input": video.name,
            "output": record.download_name,
            "state": record.state.value,
            "settings": record.settings,
            "result": record.report,
            "error": record.error,
            "created": record.created,
            "started": record.started,
            "finished": record.finished,
        }
        stem = Path(record.download_name).stem
        return Response(
            json.dumps(body, indent=2), media_type="application/json",
            headers={"content-disposition": content_disposition(f"{stem}_report.json")},
        )  # fmt: skip

    return app
