"""What ``vidsr serve`` runs with, and the enums of the store's records."""

from __future__ import annotations

import enum
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from vidsr.errors import InvalidOptionError

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
DISK_RESERVE = 256 * 2**20
"""Bytes an upload must leave free on the data dir's disk (507 otherwise)."""


class JobKind(str, enum.Enum):
    """A short preview window, or the whole video as a resumable job."""

    PREVIEW = "preview"
    FULL = "full"


class JobState(str, enum.Enum):
    """Where a job is. ``running`` jobs are taken back to ``queued`` when the server restarts."""

    QUEUED = "queued"
    RUNNING = "running"
    PAUSED = "paused"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def final(self) -> bool:
        """True when nothing more will happen to the job by itself."""
        return self in (JobState.DONE, JobState.FAILED, JobState.CANCELLED)


class JobRequest(str, enum.Enum):
    """What the server asked a running job's worker to do."""

    NONE = ""
    PAUSE = "pause"
    CANCEL = "cancel"


@dataclass(frozen=True)
class ServeConfig:
    """Everything the server and its workers are started with.

    ``token`` is None on 127.0.0.1 (no token needed) and generated for any other host.
    """

    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 8765
    workers: int = 1
    max_upload: int = 20 * 2**30
    allow_dirs: tuple[Path, ...] = ()
    token: str | None = None
    disk_reserve: int = DISK_RESERVE
    extra_hosts: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.workers < 0:
            raise InvalidOptionError(f"--workers must be 0 or more, got {self.workers}")
        if self.max_upload <= 0:
            raise InvalidOptionError("--max-upload must be positive")
        for folder in self.allow_dirs:
            if not Path(folder).is_dir():
                raise InvalidOptionError(f"--allow-dir {folder} is not a folder")

    @property
    def local(self) -> bool:
        """True when bound to the loopback interface only."""
        return self.host in LOCAL_HOSTS

    @property
    def db_path(self) -> Path:
        return self.data_dir / "vidsr.sqlite3"

    @property
    def uploads(self) -> Path:
        return self.data_dir / "uploads"

    @property
    def outputs(self) -> Path:
        return self.data_dir / "outputs"

    @property
    def pictures(self) -> Path:
        return self.data_dir / "pictures"

    def prepare(self) -> None:
        """Create the data dir's folders."""
        for folder in (self.data_dir, self.uploads, self.outputs, self.pictures):
            folder.mkdir(parents=True, exist_ok=True)


def new_token() -> str:
    """A random URL-safe token for a server reachable from other machines."""
    return secrets.token_urlsafe(24)
