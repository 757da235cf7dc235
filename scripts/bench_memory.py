"""Peak memory and speed of whole-file `vidsr upscale` runs, settings against settings, in one run.

    python scripts/bench_memory.py CLIP [--frames 52] [--reps 1] [--config NAME=ARGS ...]

Cuts the first ``--frames`` frames of CLIP into a temporary MP4 (video re-encoded with libx264
at CRF 12, audio packets copied), then runs ``python -m vidsr upscale`` on it once per config
and repetition, interleaved (A, B, A, B, ...), so both see the same machine load. Each run is a
child process: its peak resident memory (``ru_maxrss``, as ``/usr/bin/time -v`` reports it)
and CPU seconds come from ``os.wait4`` on it alone. Prints one row per run and, per config,
the median peak and the median wall and CPU time relative to the first config.

A config is ``NAME=ARGS``: ARGS are extra ``vidsr upscale`` arguments, and ``ENV:K=V`` among
them sets an environment variable for that run. ``ENV:GLIBC_TUNABLES=...`` *replaces* the
malloc tunables vidsr sets (it does not restart itself when the variable is set), so to add one
to them give the whole string (``vidsr.process.MALLOC_TUNABLES`` plus ``:glibc.malloc...``).
The default configs compare the defaults before this change (``--batch 4``, malloc tunables
that keep every freed byte) with today's.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

OLD_TUNABLES = "glibc.malloc.mmap_threshold=4294967296:glibc.malloc.trim_threshold=4294967296"
DEFAULT_CONFIGS = [f"before=--batch 4 ENV:GLIBC_TUNABLES={OLD_TUNABLES}", "after="]


def cut_clip(src: str, dst: Path, frames: int) -> int:
    """The first ``frames`` frames of ``src`` into ``dst`` (video re-encoded nearly losslessly,
    the first audio stream copied up to the last frame's time); returns the frames written."""
    import av

    with av.open(src) as inp, av.open(str(dst), "w") as out:
        vin = inp.streams.video[0]
        vout = out.add_stream("libx264", rate=vin.average_rate)
        vout.width, vout.height, vout.pix_fmt = vin.width, vin.height, "yuv420p"
        vout.options = {"crf": "12", "preset": "fast"}
        ain = inp.streams.audio[0] if inp.streams.audio else None
        aout = out.add_stream_from_template(ain) if ain is not None else None
        count, end = 0, 0.0
        for frame in inp.decode(vin):
            if count == frames:
                break
            frame.pict_type = av.video.frame.PictureType.NONE
            out.mux(vout.encode(frame))
            count, end = count + 1, float(frame.time or 0.0)
        out.mux(vout.encode(None))
        if ain is not None:
            inp.seek(0)
            for packet in inp.demux(ain):
                if packet.pts is None or packet.dts is None:
                    continue
                if float(packet.pts * ain.time_base) > end + 0.04:
                    break
                packet.stream = aout
                out.mux(packet)
    return count


def parse_config(text: str) -> tuple[str, list[str], dict[str, str]]:
    """``NAME=ARGS`` -> (name, extra CLI arguments, extra environment)."""
    name, _, rest = text.partition("=")
    args, env = [], {}
    for word in rest.split():
        if word.startswith("ENV:"):
            key, _, value = word[4:].partition("=")
            env[key] = value
        else:
            args.append(word)
    return name, args, env


def run_once(clip: Path, out: Path, args: list[str], env: dict[str, str]) -> dict[str, float]:
    """One ``vidsr upscale`` child: peak RSS (MB), wall and CPU seconds, exit status."""
    base = {k: v for k, v in os.environ.items() if k != "GLIBC_TUNABLES"}
    cmd = [sys.executable, "-m", "vidsr", "upscale", str(clip), "-o", str(out), "-q", *args]
    started = time.perf_counter()
    child = subprocess.Popen(cmd, env={**base, **env})
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    return {
        "peak_mb": usage.ru_maxrss / 1024,
        "wall_s": time.perf_counter() - started,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "minor_faults": usage.ru_minflt,
        "rc": child.returncode,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clip")
    parser.add_argument("--frames", type=int, default=52)
    parser.add_argument("--reps", type=int, default=1)
    parser.add_argument("--config", action="append", help="NAME=ARGS (repeatable)")
    opts = parser.parse_args()
    configs = [parse_config(c) for c in (opts.config or DEFAULT_CONFIGS)]
    rows: dict[str, list[dict[str, float]]] = {name: [] for name, _, _ in configs}
    with tempfile.TemporaryDirectory() as tmp:
        clip = Path(tmp) / f"{Path(opts.clip).stem}_{opts.frames}f.mp4"
        count = cut_clip(opts.clip, clip, opts.frames)
        print(f"{opts.clip}: first {count} frames")
        for rep in range(opts.reps):
            for name, args, env in configs:
                row = run_once(clip, Path(tmp) / f"{name}.mp4", args, env)
                rows[name].append(row)
                print(
                    f"rep {rep} {name:>10}: peak {row['peak_mb']:7.0f} MB"
                    f"  wall {row['wall_s']:6.1f} s  cpu {row['cpu_s']:6.1f} s"
                    f"  faults {row['minor_faults']:.0f}  rc {row['rc']}",
                    flush=True,
                )
    first = configs[0][0]

    def median(name: str, key: str) -> float:
        return statistics.median(r[key] for r in rows[name])

    for name, _, _ in configs:
        print(
            f"{name:>10}: median peak {median(name, 'peak_mb'):.0f} MB, wall x"
            f"{median(name, 'wall_s') / median(first, 'wall_s'):.3f}, cpu x"
            f"{median(name, 'cpu_s') / median(first, 'cpu_s'):.3f} (vs {first})"
        )
    return 0 if all(r["rc"] == 0 for rs in rows.values() for r in rs) else 1


if __name__ == "__main__":
    sys.exit(main())
