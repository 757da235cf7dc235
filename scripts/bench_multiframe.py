"""How much do neighbouring frames add? Multi-frame back-projection per clip (issue 18).

On the ground truth of ``scripts/bench_temporal_motion.py`` (same clips, crops, degradations), each
frame is upscaled by the per-frame model, then corrected by back-projection over itself and its
R neighbours on each side (:mod:`vidsr.temporal.backproject`: the DIS motion and trust of the
temporal stage, MATLAB bicubic as the known degradation). Methods, all on the same SR frames:
per-frame SR, ``mfbp`` (the back-projection), ``stage(sr)`` (the default temporal stage, what vidsr
ships) and ``stage(mfbp)`` (the stage fed the back-projected frames). Per clip and degradation:
Y-PSNR, Y-SSIM, warping error and tOF, as differences from per-frame SR, and the back-projection's
seconds per frame. It measures where the sub-pixel information of neighbours exists and whether
the motion is good enough to use it; a multi-frame model must beat ``stage(sr)`` on every row.

    .venv/bin/python scripts/bench_multiframe.py [--model vidsr-bi-x4] [--frames 12]
        [--clips cars,foreman,chaplin,ucf_makeup,fire2] [--degradations lossless,crf28]
        [--radius 1] [--iterations 4] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_temporal_motion as motion_bench

from vidsr.quality import metrics
from vidsr.quality.video import score_clip, to_float, to_uint8
from vidsr.temporal.align import NeighbourAligner, neighbour_views
from vidsr.temporal.backproject import back_project_views

SCALE = motion_bench.SCALE
METRICS = ("psnr", "ssim", "warping_error", "tof")


def back_project_clip(
    lr: torch.Tensor, sr: torch.Tensor, radius: int, iterations: int
) -> tuple[torch.Tensor, float]:
    """Every frame of ``sr`` (T, 3, H, W) back-projected over the frames of ``lr`` within
    ``radius`` of it: (frames rounded to 8 bits, seconds per frame)."""
    aligner, out = NeighbourAligner(), []
    start = time.perf_counter()
    for t in range(len(lr)):
        others = [lr[k] for k in range(t - radius, t + radius + 1) if k != t and 0 <= k < len(lr)]
        views = neighbour_views(lr[t], torch.stack(others), aligner)
        frame = back_project_views(sr[t : t + 1], lr[t : t + 1], views, SCALE, iterations)
        out.append(frame[0].clamp(0, 1))
    seconds = (time.perf_counter() - start) / len(lr)
    return (torch.stack(out) * 255).round() / 255, seconds


def run_case(upscaler, hr: np.ndarray, degradation: str, radius: int, iterations: int) -> dict:
    lr = to_float(motion_bench.make_input(hr, degradation))
    with torch.inference_mode():
        sr = torch.cat([upscaler(lr[i : i + 4]).float() for i in range(0, len(lr), 4)])
    sr = (sr.clamp(0, 1) * 255).round() / 255
    mfbp, seconds = back_project_clip(lr, sr, radius, iterations)
    tuning = motion_bench.TUNINGS["default"]
    outputs = {
        "sr": sr,
        "mfbp": mfbp,
        "stage(sr)": motion_bench.stabilise(lr, sr, tuning)[0],
        "stage(mfbp)": motion_bench.stabilise(lr, mfbp, tuning)[0],
    }
    motion, flows = metrics.estimate_motion(hr), metrics.farneback_flows(hr)
    results: dict = {"mfbp_seconds_per_frame": seconds}
    for name, out in outputs.items():
        r = score_clip(to_uint8(out), hr, SCALE, motion=motion, reference_flows=flows)
        results[name] = {m: r[m] for m in METRICS}
    return results


def print_rows(clip: str, deg: str, results: dict) -> None:
    sr = results["sr"]
    for name in ("mfbp", "stage(sr)", "stage(mfbp)"):
        r = results[name]
        print(
            f"| {clip} | {deg} | {name} | {r['psnr'] - sr['psnr']:+.3f} | "
            f"{r['ssim'] - sr['ssim']:+.4f} | {r['warping_error'] / sr['warping_error'] - 1:+.0%} "
            f"| {r['tof'] - sr['tof']:+.3f} |"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="vidsr-bi-x4")
    parser.add_argument("--frames", type=int, default=12)
    parser.add_argument("--clips", default="cars,foreman,chaplin,ucf_makeup,fire2")
    parser.add_argument("--degradations", default="lossless,crf28")
    parser.add_argument("--radius", type=int, default=1)
    parser.add_argument("--iterations", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    names = [c for c in args.clips.split(",") if c]
    if not motion_bench.DATA.is_dir():
        print(f"no shared data at {motion_bench.DATA}", file=sys.stderr)
        return 2
    unknown = [n for n in names if n != "articulated" and n not in motion_bench.CLIPS]
    if unknown or args.radius < 1 or args.iterations < 1:
        print(f"unknown clips ({', '.join(unknown)}) or radius/iterations < 1", file=sys.stderr)
        return 2
    torch.set_num_threads(args.threads)
    from vidsr.models import load_model

    upscaler = load_model(args.model, device="cpu", precision="fp32")
    print(f"model {args.model}, {args.frames} frames, radius {args.radius}, "
          f"{args.iterations} iterations; differences from per-frame SR")  # fmt: skip
    print("| clip | input | method | PSNR (dB) | SSIM | warp | tOF |")
    print("|---" * 7 + "|")
    cases = []
    for name in names:
        hr, _ = motion_bench.ground_truth(name, args.frames)
        for deg in args.degradations.split(","):
            results = run_case(upscaler, hr, deg, args.radius, args.iterations)
            print_rows(f"{name} {hr.shape[2]}x{hr.shape[1]}", deg, results)
            cases.append({"clip": name, "degradation": deg, **results})
    per_frame = np.mean([c["mfbp_seconds_per_frame"] for c in cases])
    print(f"back-projection: {per_frame:.2f} s a frame on average (the sizes above)")
    if args.json:
        args.json.write_text(json.dumps({"model": args.model, "cases": cases}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
