"""A multi-frame model against the per-frame model it starts from, as ``vidsr eval --video``
measures them, on the shared clips (issue 18's targets).

For each clip and input (lossless MATLAB-bicubic x4 LR, or that LR coded with libx264 at a CRF)
both models run with the temporal stage on (``--temporal auto``), so each gives its own output
and its stage's: Y-PSNR, Y-SSIM, warping error and tOF of the four, and the gains over the
per-frame model alone (one table per model; the base runs once for all). fp32 on the CPU, in
one process. None of these clips is used in training
(``scripts/train_vsr.py`` takes bbb, rotate-bunny and fire2).

    .venv/bin/python scripts/eval_vsr.py [--model vidsr-vsr-x4 [more ...]] [--base vidsr-bi-x4]
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


def _row(clip: str, crf: int, base: dict, model: dict) -> dict:
    """One clip and input: the gains over the base alone and both runs' rows."""
    start = base["alone"]["psnr"]
    gains = {
        "base+stage": base["stage"]["psnr"] - start,
        "model": model["alone"]["psnr"] - start,
        "model+stage": model["stage"]["psnr"] - start,
    }
    return {"clip": clip, "crf": crf, "gains": gains, "base": base, "model": model}


def _line(row: dict) -> str:
    """The row as a Markdown table line."""
    cells = [row["base"]["alone"], row["base"]["stage"], row["model"]["alone"]]
    cells.append(row["model"]["stage"])
    warp = " / ".join(f"{c['warping_error']:.3f}" for c in cells)
    tof = " / ".join(f"{c['tof']:.3f}" for c in cells)
    label = f"CRF {row['crf']}" if row["crf"] else "lossless"
    gains = " | ".join(f"{v:+.3f}" for v in row["gains"].values())
    return f"| {row['clip']} | {label} | {gains} | {warp} | {tof} |"


def main(argv: list[str] | None = None) -> int:
    import torch

    from vidsr.config import ModelOptions
    from vidsr.quality.video import evaluate_video_model

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", nargs="+", default=["vidsr-vsr-x4"], help="names or .pth paths")
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
    report: dict[str, list[dict]] = {m: [] for m in args.model}
    for clip in args.clips:
        for crf in args.crf:
            runs = {}
            for name in (args.base, *args.model):
                result = evaluate_video_model(
                    ModelOptions(name, precision="fp32"), DATA / CLIPS[clip],
                    frames=args.frames, crf=crf or None, temporal="auto", batch=1,
                )  # fmt: skip
                runs[name] = {k: {m: v[m] for m in KEYS} for k, v in _rows(result).items()}
            for name in args.model:
                report[name].append(_row(clip, crf, runs[args.base], runs[name]))
                print(f"{name}: {_line(report[name][-1])}", flush=True)
    means = {}
    for name, rows in report.items():
        print(f"\n{name} against {args.base}\n")
        print(
            "| clip | input | base+stage | model | model+stage | warp: base / base+stage / model "
            "/ model+stage | tOF: same |"
        )
        print("|---" * 7 + "|")
        for row in rows:
            print(_line(row))
        means[name] = {k: sum(r["gains"][k] for r in rows) / len(rows) for k in rows[0]["gains"]}
        print("| mean | | " + " | ".join(f"{v:+.3f}" for v in means[name].values()) + " | | |")
    if args.json:
        out = {"base": args.base, "rows": report, "mean": means}
        args.json.write_text(json.dumps(out, indent=1), "utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
