#!/usr/bin/env python
"""Multi-frame vs per-frame x4 on fixed generated sub-pixel sequences (Set5, Set14 HR).

    python scripts/eval_multiframe.py WEIGHTS.pth [--sets Set5 Set14] [--per-image N]
        [--seed S] [--threads N] [--json OUT]

Each HR image becomes ``per_image`` whole-image 3-frame sequences by known random motion
(``vidsr.training.sequences``, seeded); the per-frame model is the shipped vidsr-bi-x4 on the
current LR frame, the multi-frame model reads the current frame and its two neighbours aligned
on the LR frames. Prints per image and per set the Y-PSNR (border 4 cropped) of bicubic,
per-frame and multi-frame, both models fp32 on the CPU, run in the same process.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _line(dataset: str, name: str, r: dict) -> None:
    print(
        f"{dataset:6} {name:14} bicubic {r['bicubic']:.3f}  per-frame {r['per_frame']:.3f}  "
        f"multi-frame {r['multi_frame']:.3f}  gain {r['gain']:+.3f}"
    )


def main(argv: list[str] | None = None) -> int:
    import torch

    from vidsr.models.archs import module_from_state_dict
    from vidsr.models.weights import load_pth
    from vidsr.quality.image_sets import bicubic_upscale
    from vidsr.quality.pictures import list_images, load_rgb
    from vidsr.training.sequences import evaluate_sequences

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("weights", type=Path, help="MultiFrameSRVGG weights (.pth)")
    p.add_argument("--sets", nargs="+", default=["Set5", "Set14"])
    p.add_argument("--data", type=Path, default=REPO / ".." / "shared" / "data" / "eval")
    p.add_argument("--per-image", type=int, default=1)
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    multi, info = module_from_state_dict(load_pth(args.weights))
    single, _ = module_from_state_dict(load_pth(REPO / "vidsr" / "weights" / "vidsr-bi-x4.pth"))
    k = info.neighbours
    models = {
        "bicubic": lambda x: bicubic_upscale(x[:, :3], 4),
        "per_frame": lambda x: single(x[:, :3]),
        "multi_frame": multi,
    }
    report: dict = {}
    for name in args.sets:
        images = [(q.stem, load_rgb(q)) for q in list_images([args.data / name / "HR"])]
        scores = {
            m: evaluate_sequences(f, images, 4, k, seed=args.seed, per_image=args.per_image)
            for m, f in models.items()
        }
        rows = []
        for i, row in enumerate(scores["per_frame"]["rows"]):
            r = {"name": row["name"], **{m: s["rows"][i]["psnr"] for m, s in scores.items()}}
            r["gain"] = r["multi_frame"] - r["per_frame"]
            rows.append(r)
            _line(name, r["name"], r)
        means = {m: s["psnr"] for m, s in scores.items()}
        _line(name, "MEAN", {**means, "gain": means["multi_frame"] - means["per_frame"]})
        report[name] = {"rows": rows, "mean": means}
    if args.json:
        args.json.write_text(json.dumps(report, indent=1), "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
