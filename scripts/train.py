#!/usr/bin/env python
"""Train a vidsr SR network from a YAML config (see configs/train/).

    python scripts/train.py configs/train/vidsr-bi-x4.yaml [--out-dir DIR] [--resume]
        [--steps N] [--threads N]

Relative paths in the config resolve against the repository root. Outputs go to
``<out_dir>/<name>/`` (config, data list, checkpoint, log, weights).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from tqdm import tqdm

REPO = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    from vidsr.errors import VidsrError
    from vidsr.training.config import load_config
    from vidsr.training.loop import Trainer

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("config", type=Path, help="training config (YAML)")
    p.add_argument("--out-dir", type=Path, help="override the config's out_dir")
    p.add_argument("--resume", action="store_true", help="continue from <out>/<name>/checkpoint.pt")
    p.add_argument("--steps", type=int, help="override the number of steps")
    p.add_argument("--threads", type=int, help="CPU threads (override)")
    args = p.parse_args(argv)
    try:
        cfg = load_config(args.config, base=REPO)
        changes = {}
        if args.out_dir:
            changes["out_dir"] = str(args.out_dir.resolve())
        if args.steps:
            changes["steps"] = args.steps
        if args.threads:
            changes["threads"] = args.threads
        cfg = dataclasses.replace(cfg, **changes)
        trainer = Trainer(cfg)
        ckpt = Path(cfg.out_dir) / cfg.name / "checkpoint.pt"
        if args.resume and ckpt.is_file():
            trainer.resume(ckpt)
        bar = tqdm(total=cfg.steps, initial=trainer.step, desc=cfg.name, mininterval=5.0)
        val: list[float | None] = [None]

        def on_event(event: dict) -> None:
            if "val_psnr" in event:
                val[0] = event["val_psnr"]
            post = {"loss": f"{event['loss']:.4f}", "lr": f"{event['lr']:.2e}"}
            if val[0] is not None:
                post["set5"] = f"{val[0]:.3f}"
            bar.set_postfix(post, refresh=False)
            bar.update(1)
            if "val_psnr" in event:
                tqdm.write(f"step {event['step']}: val PSNR {event['val_psnr']} dB")

        result = trainer.run(on_event)
        bar.close()
    except VidsrError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"weights: {result.weights}\nsha256: {result.sha256}\nsteps: {result.steps}")
    print(f"train seconds: {result.seconds:.0f}\nlast val PSNR: {result.last_val_psnr}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
