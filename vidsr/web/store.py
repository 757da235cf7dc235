"""The SQLite store (WAL mode) of videos and jobs, shared by the server and its workers.

Every call opens its own short connection, so any thread or process may use a :class:`Store`.
A worker claims a queued job in one ``BEGIN IMMEDIATE`` transaction, so two workers never take
the same job.
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vidsr.web.config import JobKind, JobRequest, JobState

SCHEMA = """
CREATE TABLE IF NOT EXISTS videos (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    path TEXT NOT NULL,
    owned INTEGER NOT NULL,
    size INTEGER NOT NULL,
    probe TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT UNIQUE NOT NULL,
    video_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    request TEXT NOT NULL DEFAULT '',
    settings TEXT NOT NULL,
    output TEXT NOT NULL,
    download_name TEXT NOT NULL,
    frames_done INTEGER NOT NULL DEFAULT 0,
    frames_total INTEGER NOT NULL DEFAULT 0,
    fps REAL NOT NULL DEFAULT 0,
    segments_done INTEGER NOT NULL DEFAULT 0,
    segments_total INTEGER NOT NULL DEFAULT 0,
    error TEXT NOT NULL DEFAULT '',
    worker INTEGER,
    report TEXT NOT NULL DEFAULT '{}',
    created REAL NOT NULL,
    started REAL,
    finished REAL,
    updated REAL NOT NULL
);
"""


@dataclass(frozen=True)
class VideoRecord:
    """A video the server knows: uploaded (``owned``) or read in place from an --allow-dir."""

    id: str
    name: str
    path: str
    owned: bool
    size: int
    probe: dict[str, Any]
    created: float

    def public(self) -> dict[str, Any]:
        """The JSON the API returns (never the path on the server's disk)."""
        return {"id": self.id, "name": self.name, "size": self.size, "probe": self.probe}


@dataclass(frozen=True)
class JobRecord:
    """A preview or a full job, as stored."""

    id: str
    video_id: str
    kind: JobKind
    state: JobState
    request: JobRequest
    settings: dict[str, Any]
    output: str
    download_name: str
    frames_done: int
    frames_total: int
    fps: float
    segments_done: int
    segments_total: int
    error: str
    worker: int | None
    report: dict[str, Any]
    created: float
    started: float | None
    finished: float | None
    updated: float

    def public(self) -> dict[str, Any]:
        """The JSON the API returns, with the ETA from the measured speed."""
        left = max(0, self.frames_total - self.frames_done)
        eta = left / self.fps if self.fps > 0 and self.state == JobState.RUNNING else None
        return {
            "id": self.id,
            "video_id": self.video_id,
            "kind": self.kind.value,
            "state": self.state.value,
            "request": self.request.value,
            "settings": self.settings,
            "download_name": self.download_name,
            "frames_done": self.frames_done,
            "frames_total": self.frames_total,
            "fps": round(self.fps, 3),
            "eta_seconds": None if eta is None else round(eta, 1),
            "segments_done": self.segments_done,
            "segments_total": self.segments_total,
            "error": self.error,
            "report": self.report,
            "created": self.created,
            "started": self.started,
            "finished": self.finished,
        }


def _job(row: sqlite3.Row) -> JobRecord:
    d = dict(row)
    d.pop("seq")
    d["kind"] = JobKind(d["kind"])
    d["state"] = JobState(d["state"])
    d["request"] = JobRequest(d["request"])
    d["settings"] = json.loads(d["settings"])
    d["report"] = json.loads(d["report"])
    return JobRecord(**d)


def _video(row: sqlite3.Row) -> VideoRecord:
    d = dict(row)
    d["owned"] = bool(d["owned"])
    d["probe"] = json.loads(d["probe"])
    return VideoRecord(**d)


def new_id() -> str:
    """A server-chosen id (also the base of every file name under the data dir)."""
    return uuid.uuid4().hex[:16]


class Store:
    """Videos and jobs in ``path`` (created with its schema on first use)."""

    def __init__(self, path: Path):
        self.path = path
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA busy_timeout=30000")
        try:
            yield db
        finally:
            db.close()

    # videos
    def add_video(self, video: VideoRecord) -> None:
        with self._connect() as db:
            db.execute(
                "INSERT INTO videos VALUES (?, ?, ?, ?, ?, ?, ?)",
                (video.id, video.name, video.path, int(video.owned), video.size,
                 json.dumps(video.probe), video.created),
            )  # fmt: skip

    def video(self, video_id: str) -> VideoRecord | None:
        with self._connect() as db:
            row = db.execute("SELECT * FROM videos WHERE id = ?", (video_id,)).fetchone()
        return _video(row) if row else None

    def videos(self) -> list[VideoRecord]:
        with self._connect() as db:
            rows = db.execute("SELECT * FROM videos ORDER BY created").fetchall()
        return [_video(r) for r in rows]

    def delete_video(self, video_id: str) -> None:
        with self._connect() as db:
            db.execute("DELETE FROM videos WHERE id = ?", (video_id,))

    # jobs
    def add_job(
        self,
        video_id: str,
        kind: JobKind,
        settings: dict[str, Any],
        output: str,
        download_name: str,
        job_id: str | None = None,
    ) -> JobRecord:
        job_id = job_id or new_id()
        now = time.time()
        with self._connect() as db:
            db.execute(
                "INSERT INTO jobs (id, video_id, kind, state, settings, output, download_name,"
                " created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (job_id, video_id, kind.value, JobState.QUEUED.value, json.dumps(settings),
                 output, download_name, now, now),
            )  # fmt: skip
        job = self.job(job_id)
        assert job is not None
        return job

    def job(self, job_id: str) -> JobRecord | None:
        with self._connect() as db:
            row = db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return _job(row) if row else None

    def jobs(self, kind: JobKind | None = None) -> list[JobRecord]:
        with self._connect() as db:
            if kind is None:
                rows = db.execute("SELECT * FROM jobs ORDER BY seq").fetchall()
            else:
                rows = db.execute(
                    "SELECT * FROM jobs WHERE kind = ? ORDER BY seq", (kind.value,)
                ).fetchall()
        return [_job(r) for r in rows]

    def update(self, job_id: str, **fields: Any) -> None:
        """Set columns of a job (enums and dicts are stored as their values / JSON)."""
        values = [_column(v) for v in fields.values()]
        names = ", ".join(f"{k} = ?" for k in fields)
        with self._connect() as db:
            db.execute(
                f"UPDATE jobs SET {names}, updated = ? WHERE id = ?",
                (*values, time.time(), job_id),
            )

    def transition(self, job_id: str, allowed: tuple[JobState, ...], **fields: Any) -> bool:
        """Update the job only if its state is one of ``allowed``; True if it was updated."""
        states = ", ".join("?" for _ in allowed)
        values = [_column(v) for v in fields.values()]
        names = ", ".join(f"{k} = ?" for k in fields)
        with self._connect() as db:
            cursor = db.execute(
                f"UPDATE jobs SET {names}, updated = ? WHERE id = ? AND state IN ({states})",
                (*values, time.time(), job_id, *(s.value for s in allowed)),
            )
            return cursor.rowcount == 1

    def claim(self, worker: int) -> JobRecord | None:
        """Take the oldest queued job for ``worker`` (previews first: they are short)."""
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            row = db.execute(
                "SELECT id FROM jobs WHERE state = ? ORDER BY kind = ? DESC, seq LIMIT 1",
                (JobState.QUEUED.value, JobKind.PREVIEW.value),
            ).fetchone()
            if row is None:
                db.execute("COMMIT")
                return None
            now = time.time()
            db.execute(
                "UPDATE jobs SET state = ?, worker = ?, request = '', error = '',"
                " started = COALESCE(started, ?), updated = ? WHERE id = ?",
                (JobState.RUNNING.value, worker, now, now, row["id"]),
            )
            db.execute("COMMIT")
        return self.job(row["id"])

    def requeue_running(self) -> list[str]:
        """At server start: jobs left running by a server that died go back to the queue."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT id FROM jobs WHERE state = ?", (JobState.RUNNING.value,)
            ).fetchall()
            db.execute(
                "UPDATE jobs SET state = ?, worker = NULL, fps = 0, updated = ? WHERE state = ?",
                (JobState.QUEUED.value, time.time(), JobState.RUNNING.value),
            )
        return [r["id"] for r in rows]

    def fail_worker_jobs(self, worker: int, message: str) -> list[str]:
        """A worker died: its running job fails with ``message``."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT id FROM jobs WHERE state = ? AND worker = ?",
                (JobState.RUNNING.value, worker),
            ).fetchall()
            now = time.time()
            db.execute(
                "UPDATE jobs SET state = ?, error = ?, finished = ?, updated = ?"
                " WHERE state = ? AND worker = ?",
                (JobState.FAILED.value, message, now, now, JobState.RUNNING.value, worker),
            )
        return [r["id"] for r in rows]

    def delete_job(self, job_id: str) -> None:
        with self._connect() as db:
            db.execute("DELETE FROM jobs WHERE id = ?", (job_id,))


def _column(value: Any) -> Any:
    """An enum as its value, a dict as JSON, the rest as it is."""
    if isinstance(value, (JobKind, JobState, JobRequest)):
        return value.value
    return json.dumps(value) if isinstance(value, dict) else value
