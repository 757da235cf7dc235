"""--max-memory: a 4K-output run stays under the limit (frames go through the model in tiles)."""

from __future__ import annotations

import resource
import subprocess
import sys

from tests.clips import video_size

LIMIT_MB = 1800


def test_4k_output_stays_under_max_memory(clip_factory, tmp_path):
    src = clip_factory("qhd.mp4", width=960, height=540, frames=1, audio=False)
    out = tmp_path / "uhd.mp4"
    cmd = [sys.executable, "-m", "vidsr.cli", "--debug", "upscale", str(src), "-o", str(out)]
    cmd += ["--preset", "ultrafast", "-q", "--max-memory", f"{LIMIT_MB}M", "--device", "cpu"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    assert "memory plan: batch 1, tile" in proc.stderr  # the frame did not fit whole
    assert "tile off" not in proc.stderr
    assert peak_mb < LIMIT_MB or before / 1024 >= LIMIT_MB, f"peak {peak_mb:.0f} MB"
    assert video_size(out) == (3840, 2160)
