"""The job manifest: what a job folder was made from, and which segments are finished.

A JSON file, rewritten atomically (temporary file, fsync, rename) after every finished segment,
so a kill at any moment leaves either the old or the new manifest, never half of one.

The input is identified by its size and the SHA-256 of all its bytes (plus its name, for
messages only): an input edited in place, even at the same size, is a different input, while a
copy or ``touch`` of the same file (new mtime, same bytes) can still resume. Hashing reads the
whole file once per run (measured in ``scripts/bench_fingerprint.py``; see the README). The
options that change the output's pixels are recorded too, with a digest of the temporal stage's
tuning; ``device`` and ``batch_size`` are not, so a job can resume on another device or with a
smaller batch after running out of memory.

:func:`job_digest` of the two goes into every segment's file name, so segments made from another
input or with other options are never taken for this job's, even when the manifest is lost; each
finished segment's SHA-256 is recorded, and checked before the segment is reused.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from vidsr.config import UpscaleOptions
from vidsr.errors import OutputPathError
from vidsr.jobs.segments import Segment
from vidsr.temporal import tuning_digest

MANIFEST_NAME = "manifest.json"
FORMAT_VERSION = 2
_BLOCK = 4 << 20
_RUNTIME_ONLY = ("device", "batch_size")


def file_sha256(path: str) -> str:
    """SHA-256 of every byte of ``path``, read in 4 MiB blocks (memory stays flat)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(_BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


def input_fingerprint(path: str) -> dict[str, Any]:
    """Name, size and SHA-256 of the whole of ``path``."""
    return {
        "name": os.path.basename(path),
        "size": os.path.getsize(path),
        "sha256": file_sha256(path),
    }


def job_digest(input_fp: dict[str, Any], options_fp: dict[str, Any]) -> str:
    """12 hex digits naming this input with these options (in every segment's file name)."""
    identity = {"input": {k: v for k, v in input_fp.items() if k != "name"}, "options": options_fp}
    text = json.dumps(identity, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _model_identity(model: str) -> str:
    """A catalog name as it is; a weights file by its name, size and SHA-256."""
    if os.path.isfile(model):
        return f"{os.path.basename(model)}:{os.path.getsize(model)}:{file_sha256(model)}"
    return model


def options_fingerprint(options: UpscaleOptions, **plan: Any) -> dict[str, Any]:
    """The options that decide the output (JSON-ready), plus the job's plan parameters."""
    values = {
        k: (str(v) if v is not None and not isinstance(v, int | float | str | bool) else v)
        for k, v in options.flat().items()  # flat keys: digests of older job folders still hold
        if k not in _RUNTIME_ONLY
    }
    values["model"] = _model_identity(options.model.name)
    values["temporal_tuning"] = tuning_digest()  # the stage's defaults change its pixels too
    values.update(plan)
    return values


@dataclass
class SegmentRecord:
    """A segment in the manifest: its plan, and once finished what its file holds."""

    index: int
    start: float
    end: float | None
    first_frame: int
    frames: int  # planned, from the index
    pts_first: int | None
    pts_last: int | None
    file: str
    status: str = "pending"  # pending | done
    frames_written: int | None = None  # counted in the finished file
    written_pts_first: int | None = None
    written_pts_last: int | None = None
    sha256: str | None = None  # of the finished file, checked before it is reused

    @classmethod
    def from_segment(cls, segment: Segment, file: str) -> SegmentRecord:
        """A pending record for a planned segment."""
        return cls(
            index=segment.index,
            start=segment.start,
            end=segment.end,
            first_frame=segment.first_frame,
            frames=segment.frames,
            pts_first=segment.pts_first,
            pts_last=segment.pts_last,
            file=file,
        )

    def segment(self) -> Segment:
        """The plan of this record."""
        return Segment(
            self.index, self.start, self.end, self.first_frame, self.frames,
            self.pts_first, self.pts_last,
        )  # fmt: skip


@dataclass
class Manifest:
    """Everything a job folder holds, as saved in ``manifest.json``."""

    input: dict[str, Any]
    options: dict[str, Any]
    segments: list[SegmentRecord]
    output: str
    version: int = FORMAT_VERSION
    notes: list[str] = field(default_factory=list)

    def save(self, folder: Path) -> None:
        """Write the manifest atomically into ``folder``."""
        path = folder / MANIFEST_NAME
        tmp = folder / f".{MANIFEST_NAME}.{os.getpid()}.tmp"
        data = json.dumps(asdict(self), indent=1, sort_keys=True)
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)

    @classmethod
    def load(cls, folder: Path) -> Manifest:
        """Read ``folder/manifest.json``; OutputPathError if it is unreadable or foreign."""
        path = folder / MANIFEST_NAME
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("version") != FORMAT_VERSION:
                raise ValueError(f"format version {data.get('version')}")
            data["segments"] = [SegmentRecord(**s) for s in data["segments"]]
            return cls(**data)
        except (OSError, ValueError, TypeError, KeyError) as err:
            raise OutputPathError(
                f"the job folder {folder} has an unreadable manifest ({err}): delete the folder "
                "or pass --restart"
            ) from err

    def mismatch(self, input_fp: dict[str, Any], options_fp: dict[str, Any]) -> str | None:
        """Why this job cannot be resumed with this input and these options (None: it can)."""
        if self.input["size"] != input_fp["size"] or self.input["sha256"] != input_fp["sha256"]:
            return f"it was made from a different input ({self.input['name']})"
        changed = sorted(
            k for k in set(self.options) | set(options_fp)
            if self.options.get(k) != options_fp.get(k)
        )  # fmt: skip
        if changed:
            diffs = ", ".join(
                f"{k}: {self.options.get(k)!r} -> {options_fp.get(k)!r}" for k in changed
            )
            return f"it was made with different options ({diffs})"
        return None
