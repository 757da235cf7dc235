"""--max-memory: a 4K-output run, temporal stage on, stays under the limit (the model tiles)."""

from __future__ import annotations

import subprocess
import sys

from tests.clips import video_size

# Runs the CLI in a fresh interpreter and prints that process's own peak RSS (kB) at the end,
# so no other process's peak can mask or fake the measurement.
RUNNER = """
import resource, runpy, sys
sys.argv = ["vidsr"] + sys.argv[1:]
try:
    runpy.run_module("vidsr.cli", run_name="__main__")
except SystemExit as done:
    code = done.code
print("PEAK_KB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "EXIT", code)
"""


def run_cli(args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", RUNNER, *args], capture_output=True, text=True, timeout=600
    )


def plan(stderr: str) -> tuple[int, int]:
    """(process MB, frames and stages MB) from the ``memory plan`` log line."""
    line = next(x for x in stderr.splitlines() if "memory plan:" in x)
    process = int(line.split("(process ")[1].split("M")[0])
    frames = int(line.split("frames and stages ")[1].split("M")[0])
    return process, frames


def test_4k_output_stays_under_max_memory(clip_factory, tmp_path):
    # three frames, so the temporal stage (on by default) buffers, warps and blends for real
    src = clip_factory("qhd.mp4", width=960, height=540, frames=3, audio=False)
    args = ["--debug", "upscale", str(src), "--preset", "ultrafast", "-q", "--device", "cpu"]
    args += ["--batch", "1"]  # so both runs plan the same frame buffers
    # What the process holds before the first frame differs between machines (libraries,
    # kernels): a first run with room to spare reads it from the plan, then the limit leaves
    # the model 300 MB, less than a whole 960x540 frame needs, so it must tile.
    probe = run_cli([*args, "-o", str(tmp_path / "probe.mp4"), "--max-memory", "16G"])
    assert "EXIT 0" in probe.stdout, probe.stderr[-2000:]
    process, frames = plan(probe.stderr)
    limit = round((process + frames + 64 + 300) / 0.92)  # the plan keeps 64 MB + 8% in reserve
    out = tmp_path / "uhd.mp4"
    proc = run_cli([*args, "-o", str(out), "--max-memory", f"{limit}M"])
    assert "EXIT 0" in proc.stdout, proc.stderr[-2000:]
    peak_mb = int(proc.stdout.split("PEAK_KB")[1].split()[0]) / 1024
    assert "memory plan: batch 1, tile" in proc.stderr  # the frame did not fit whole
    assert "tile off" not in proc.stderr
    assert 500 < peak_mb < limit, f"peak {peak_mb:.0f} MB, limit {limit} MB"
    assert video_size(out) == (3840, 2160)


def test_too_small_a_limit_is_a_clear_error(clip_factory, tmp_path):
    src = clip_factory("qhd.mp4", width=960, height=540, frames=3, audio=False)
    out = tmp_path / "uhd.mp4"
    proc = run_cli(["upscale", str(src), "-o", str(out), "-q", "--max-memory", "1200M"])
    assert "EXIT 2" in proc.stdout or "EXIT 1" in proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "too small" in lines[0] and "--temporal off" in lines[0]
    assert not out.exists()
