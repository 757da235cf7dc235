"""Free-space check before a long run: refuse early rather than fail after hours.

The estimate is deliberately simple and named in the error: the upscaled video is taken as the
input's bytes times ``scale``. The pixel count grows with scale squared, but at a fixed CRF the
smoother upscaled picture needs fewer bits per pixel; linear growth is an assumption, not a
measurement, and ``--no-space-check`` skips the check. A job needs that room twice over while its
segment files and the joined output exist together, minus the segments already finished.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass

from vidsr.errors import OutputPathError


@dataclass(frozen=True)
class SpaceEstimate:
    """Bytes a run will need in a folder, and the bytes free there."""

    needed: int
    free: int
    folder: str

    @property
    def enough(self) -> bool:
        """True if the folder has room."""
        return self.free >= self.needed


def estimate_video_bytes(input_bytes: int, scale: float, fraction: float = 1.0) -> int:
    """Expected size of the upscaled video for ``fraction`` of an input of ``input_bytes``."""
    return int(input_bytes * max(1.0, scale) * fraction)


def check_free_space(folder: str, needed: int, what: str = "this run") -> SpaceEstimate:
    """Raise :class:`OutputPathError` if ``folder`` has less than ``needed`` bytes free."""
    free = shutil.disk_usage(folder or os.curdir).free
    estimate = SpaceEstimate(needed=needed, free=free, folder=folder)
    if not estimate.enough:
        raise OutputPathError(
            f"not enough free space in {folder}: {what} needs about {_gb(needed)} "
            f"(estimated from the input size and scale), only {_gb(free)} is free. Free some "
            "space, choose another output folder, or pass --no-space-check"
        )
    return estimate


def _gb(n: int) -> str:
    return f"{n / 1e9:.2f} GB" if n >= 1e8 else f"{n / 1e6:.1f} MB"
