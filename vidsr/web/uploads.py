"""Uploads streamed to disk in chunks (never whole in memory), refused before writing when too big.

The body is the file's bytes (``Content-Length`` known: checked first; chunked: counted as it
comes). It goes to a hidden ``.ID.part`` file, renamed to ``ID.ext`` only when complete; any
failure or a client that goes away removes the part file.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from vidsr.web.config import ServeConfig


class UploadRefused(Exception):
    """An upload the server will not store; ``status`` is 413 (too big) or 507 (no room)."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def _size_text(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def check_room(config: ServeConfig, length: int) -> None:
    """413 if ``length`` exceeds --max-upload, 507 if the disk would keep less than the reserve."""
    if length > config.max_upload:
        raise UploadRefused(
            413, f"the file is {_size_text(length)}, over this server's --max-upload of "
            f"{_size_text(config.max_upload)}",
        )  # fmt: skip
    free = shutil.disk_usage(config.uploads).free
    if length + config.disk_reserve > free:
        raise UploadRefused(
            507, f"not enough free disk for {_size_text(length)} ({_size_text(free)} free, "
            f"{_size_text(config.disk_reserve)} kept in reserve)",
        )  # fmt: skip


@dataclass(frozen=True)
class StoredUpload:
    """A complete upload on disk."""

    path: Path
    size: int


async def store_stream(
    chunks: AsyncIterator[bytes], config: ServeConfig, file_id: str, suffix: str,
    length: int | None,
) -> StoredUpload:  # fmt: skip
    """Write ``chunks`` to ``uploads/ID.ext``; the limits are checked before the first byte."""
    if length is not None:
        check_room(config, length)
    part = config.uploads / f".{file_id}.part"
    final = config.uploads / f"{file_id}{suffix}"
    written = 0
    try:
        with open(part, "wb") as out:
            async for chunk in chunks:
                if not chunk:
                    continue
                written += len(chunk)
                if written > config.max_upload:
                    check_room(config, written)  # raises 413
                if length is not None and written > length:
                    raise UploadRefused(400, f"the upload sent more than its {length} bytes")
                if written % (64 * 2**20) < len(chunk):  # every 64 MB: still room?
                    check_room(config, 0)
                out.write(chunk)
        if length is not None and written != length:
            raise UploadRefused(400, f"the upload ended after {written} of {length} bytes")
        if written == 0:
            raise UploadRefused(400, "the upload is empty")
        os.replace(part, final)
    finally:
        part.unlink(missing_ok=True)
    return StoredUpload(final, written)
