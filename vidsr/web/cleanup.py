"""What the data dir stops holding: a deleted job's files, replaced previews, and at start old
previews and files no record names (left by a server killed mid-way).

Every file under the data dir is named by the id of its job or video (``ID.ext``,
``ID-before.mp4``, ``.ID.ext.vidsr-job/``, ``ID-after-1.000.png``, hidden temporaries), so a
file whose id no record holds belongs to nothing.
"""

from __future__ import annotations

import re
import shutil
import time

from vidsr.web.config import JobKind, JobRequest, JobState, ServeConfig
from vidsr.web.store import JobRecord, Store
from vidsr.web.worker import remove_job_files

PREVIEW_KEEP_SECONDS = 3600.0
"""Finished previews older than this are removed when the server starts."""
_OWN_NAME = re.compile(r"^\.?([0-9a-f]{16})(?![0-9a-f])")


def forget_job(store: Store, config: ServeConfig, job: JobRecord) -> None:
    """Delete a job's record, output, segments, before clip and pictures."""
    store.delete_job(job.id)
    remove_job_files(job.output)
    for picture in config.pictures.glob(f"{job.id}-*.png"):
        picture.unlink(missing_ok=True)


def replace_previews(store: Store, config: ServeConfig, ids: list[str]) -> list[str]:
    """Remove the previews ``ids`` (the page's last ones, which a new preview replaces): a
    finished or waiting one at once, a running one is cancelled (its worker removes its files;
    the record goes at the next start). Other jobs are never touched. Returns the ids removed."""
    removed = []
    for job_id in ids:
        job = store.job(job_id)
        if job is None or job.kind != JobKind.PREVIEW:
            continue
        if job.state == JobState.RUNNING:
            store.transition(job_id, (JobState.RUNNING,), request=JobRequest.CANCEL)
            continue
        if job.state == JobState.QUEUED and not store.transition(
            job_id, (JobState.QUEUED,), state=JobState.CANCELLED, finished=time.time()
        ):
            continue  # a worker took it meanwhile: it finishes, and goes at the next start
        forget_job(store, config, job)
        removed.append(job_id)
    return removed


def clean_at_start(
    store: Store, config: ServeConfig, keep_seconds: float = PREVIEW_KEEP_SECONDS
) -> tuple[list[str], list[str]]:
    """Remove finished previews older than ``keep_seconds``, then every file under the data dir
    whose id no job or video holds. Returns (previews removed, file names removed)."""
    now = time.time()
    old = [
        j
        for j in store.jobs(JobKind.PREVIEW)
        if j.state.final and now - (j.finished or j.updated) >= keep_seconds
    ]
    for job in old:
        forget_job(store, config, job)
    known = {j.id for j in store.jobs()} | {v.id for v in store.videos()}
    files = []
    for folder in (config.outputs, config.pictures, config.uploads):
        for entry in folder.iterdir():
            match = _OWN_NAME.match(entry.name)
            if match is None or match.group(1) in known:
                continue
            files.append(entry.name)
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
    return [j.id for j in old], files
