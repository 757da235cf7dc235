"""The job manifest: what a job folder was made from, and which segments are finished.

A JSON file, rewritten atomically (temporary file, fsync, rename) after every finished segment,
so a kill at any moment leaves either the old or the new manifest, never half of one.

The input is identified by its size and the SHA-256 of its first, middle and last MiB (plus its
name, for messages only). A full hash of a 50 GB film would cost minutes on every resume; the
sampled hash catches a different file, a re-encode or a file still being copied, while a copy or
``touch`` of the same file (new mtime, same bytes) can still resume. The options that change the
output's pixels are recorded too, with a digest of the temporal stage's tuning; ``device`` and
``batch_size`` are not, so a job can resume on another device or with a smaller batch after
running out of memory.
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
FORMAT_VERSION = 1
_SAMPLE = 1 << 20
_RUNTIME_ONLY = ("device", "batch_size")


def input_fingerprint(path: str) -> dict[str, Any]:
    """Size and SHA-256 of the first, middle and last MiB of ``path``."""
    size = os.path.getsize(path)
    digest = hashlib.sha256()
    offsets = sorted({0, max(0, size // 2 - _SAMPLE // 2), max(0, size - _SAMPLE)})
    with open(path, "rb") as f:
        for offset in offsets:
            f.seek(offset)
            digest.update(f.read(_SAMPLE))
    return {"name": os.path.basename(path), "size": size, "sha256_samples": digest.hexdigest()}


def _model_identity(model: str) -> str:
    """A catalog name as it is; a weights file by its name, size and SHA-256."""
    if os.path.isfile(model):
        digest = hashlib.sha256()
        with open(model, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        return f"{os.path.basename(model)}:{os.path.getsize(model)}:{digest.hexdigest()}"
    return model


def options_fingerprint(options: UpscaleOptions, **plan: Any) -> dict[str, Any]:
    """The options that decide the output (JSON-ready), plus the job's plan parameters."""
    values = {
        k: (str(v) if v is not None and not isinstance(v, int | float | str | bool) else v)
        for k, v in asdict(options).items()
        if k not in _RUNTIME_ONLY
    }
    values["model"] = _model_identity(options.model)
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
        if self.input["size"] != input_fp["size"] or (
            self.input["sha256_samples"] != input_fp["sha256_samples"]
        ):
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
