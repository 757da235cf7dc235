"""A multi-frame model against the per-frame model it starts from, as ``vidsr eval --video``
measures them, on the shared clips (issue 18's targets).

For each clip and input (lossless MATLAB-bicubic x4 LR, or that LR coded with libx264 at a CRF)
both models run with the temporal stage on (``--temporal auto``), so each gives its own output
and its stage's: Y-PSNR, Y-SSIM, warping error and tOF of the four, and the gains over the
per-frame model alone. fp32 on the CPU, in one process. None of these clips is used in training
(``scripts/train_vsr.py`` takes bbb, rotate-bunny and fire2).

    .venv/bin/python scripts/eval_vsr.py [--model vidsr-vsr-x4] [--base vidsr-bi-x4]
        [--frames 16] [--crf 0 28] [--clips foreman cars chaplin ucf_makeup interlaced]
        [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "clips"
CLIPS = {
    "foreman": "foreman_vp9_352x288_30.webm",
    "cars": "cars_320x240_h264_annexb.h264",
    "chaplin": "chaplin_h264_mp3_640x360.mp4",
    "ucf_makeup": "ucf_makeup_mpeg4asp_320x240_mp3.avi",
    "interlaced": "interlaced_tff_mpeg2_720x480_pattern.mkv",
}
KEYS = ("psnr", "ssim", "warping_error", "tof")


def _rows(result: dict) -> dict[str, dict]:
    """{"alone": per-frame row, "stage": the temporal stage's row} of one evaluation."""
    rows = {r["method"]: r for r in result["methods"]}
    return {"alone": rows["per_frame"], "stage": rows["model"]}


def main(argv: list[str] | None = None) -> int:
    import torch

    from vidsr.config import ModelOptions
    from vidsr.quality.video import evaluate_video_model

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default="vidsr-vsr-x4")
    p.add_argument("--base", default="vidsr-bi-x4")
    p.add_argument("--frames", type=int, default=16)
    p.add_argument("--crf", type=int, nargs="+", default=[0, 28], help="0: lossless")
    p.add_argument("--clips", nargs="+", default=list(CLIPS))
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    if not DATA.is_dir():
        print(f"no shared clips at {DATA}", file=sys.stderr)
        return 2
    torch.set_num_threads(2)
    report = []
    print(
        "| clip | input | base+stage | model | model+stage | warp: base / base+stage / model "
        "/ model+stage | tOF: same |"
    )
    print("|---" * 7 + "|")
    for clip in args.clips:
        for crf in args.crf:
            runs = {}
            for role, name in (("base", args.base), ("model", args.model)):
                result = evaluate_video_model(
                    ModelOptions(name, precision="fp32"), DATA / CLIPS[clip],
                    frames=args.frames, crf=crf or None, temporal="auto", batch=1,
                )  # fmt: skip
                runs[role] = {k: {m: v[m] for m in KEYS} for k, v in _rows(result).items()}
            base = runs["base"]["alone"]["psnr"]
            gains = {
                "base+stage": runs["base"]["stage"]["psnr"] - base,
                "model": runs["model"]["alone"]["psnr"] - base,
                "model+stage": runs["model"]["stage"]["psnr"] - base,
            }
            cells = [runs["base"]["alone"], runs["base"]["stage"], runs["model"]["alone"]]
            cells.append(runs["model"]["stage"])
            warp = " / ".join(f"{c['warping_error']:.3f}" for c in cells)
            tof = " / ".join(f"{c['tof']:.3f}" for c in cells)
            label = f"CRF {crf}" if crf else "lossless"
            row = " | ".join(f"{v:+.3f}" for v in gains.values())
            print(f"| {clip} | {label} | {row} | {warp} | {tof} |", flush=True)
            report.append({"clip": clip, "crf": crf, "gains": gains, **runs})
    mean = {k: sum(r["gains"][k] for r in report) / len(report) for k in report[0]["gains"]}
    print("| mean | | " + " | ".join(f"{v:+.3f}" for v in mean.values()) + " | | |")
    if args.json:
        args.json.write_text(json.dumps({"rows": report, "mean": mean}, indent=1), "utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
