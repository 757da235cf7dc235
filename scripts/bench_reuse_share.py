"""Share of the frame the model would run on with ``--reuse``, per clip and change criterion,
without running the model.

Every clip is decoded as the pipeline decodes it (default options: bwdif on the interlaced
clip), converted to the model's RGB input and centre-cropped to at most ``--max-width`` x
``--max-height``; then :class:`vidsr.reuse.regions.ReusePlanner` (the planning
:class:`~vidsr.reuse.regions.RegionReuse` does, with the default model's receptive field and
input multiple) plans every frame for each candidate criterion and tile size. Printed per clip:
the share of the input pixels the windows hold (whole frames count whole: the first frame, the
refreshes and the frames whose windows pass :data:`~vidsr.reuse.regions.REGION_SHARE`), the
frames computed whole, and the frames skipped (no tile changed).

Candidates are ``BLOCK:LEVEL[:PEAK[:SHIFT]]`` (block side, mean threshold, pixel threshold,
threshold of the block's signed mean difference, in levels of 255) or
``BLOCK:noiseK:FLOOR:CAP[:PEAK]``: the mean threshold follows the frame's own coding noise, K
times the median over the frame of the blocks' mean |difference| from the previous frame, kept
within FLOOR .. CAP.

    .venv/bin/python scripts/bench_reuse_share.py [--clips chaplin,bbb,...] [--frames 40]
        [--candidates 1:0 8:1 8:1:16 8:noise3:0.5:2] [--tiles 16 32] [--reach PX]
        [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_reuse import CLIPS, DATA

from vidsr.config import UpscaleOptions
from vidsr.media.probe import probe
from vidsr.models import load_model
from vidsr.pipeline.stages import make_decoder
from vidsr.reuse.level import Criterion
from vidsr.reuse.regions import ReusePlanner
from vidsr.tensors import planes_to_rgb

DEFAULT_CANDIDATES = [
    "1:0",
    "1:2",
    "4:0.5",
    "4:1",
    "4:2",
    "8:0.5",
    "8:1",
    "8:2",
    "8:1:16",
    "8:1:8",
    "4:noise3:0.25:2",
    "8:noise3:0.25:2",
    "8:noise3:0.25:2:16",
]


@dataclass(frozen=True)
class Candidate:
    """A fixed :class:`Criterion`, or one whose level follows the noise (``noise`` > 0)."""

    label: str
    criterion: Criterion
    noise: float = 0.0
    floor: float = 0.0
    cap: float = 0.0

    @classmethod
    def parse(cls, text: str) -> Candidate:
        parts = text.split(":")
        block = int(parts[0])
        if parts[1].startswith("noise"):
            k, floor, cap = float(parts[1][5:]), float(parts[2]), float(parts[3])
            peak = float(parts[4]) if len(parts) > 4 else None
            crit = Criterion(block=block, level=floor, peak=peak)
            label = f"{block}x{block} mean > {k:g} x median in [{floor:g}, {cap:g}]"
            if peak is not None:
                label += f", pixel > {peak:g}"
            return cls(label, crit, k, floor, cap)
        peak = float(parts[2]) if len(parts) > 2 and parts[2] else None
        shift = float(parts[3]) if len(parts) > 3 else None
        crit = Criterion(block=block, level=float(parts[1]), peak=peak, shift=shift)
        return cls(crit.describe(), crit)

    def level_for(self, frame: torch.Tensor, previous: torch.Tensor | None) -> Criterion:
        """The criterion for ``frame``: the fixed one, or its level set from the noise."""
        if not self.noise or previous is None:
            return self.criterion
        b = self.criterion.block
        diff = (frame - previous).abs_().mul_(255.0)
        mean = F.avg_pool2d(diff[None], b, ceil_mode=True)[0].amax(dim=0)
        level = min(self.cap, max(self.floor, self.noise * float(mean.median())))
        return replace(self.criterion, level=level)


def decoded(
    name: str, frames: int, max_w: int, max_h: int, first: int | None = None
) -> tuple[torch.Tensor, str]:
    """The model input of ``frames`` frames of clip ``name`` from frame ``first`` (None: its
    bench start), centre-cropped to ``max_w`` x ``max_h``."""
    file, start = CLIPS[name]
    first = start if first is None else first
    info = probe(str(DATA / file))
    decoder = make_decoder(info, UpscaleOptions().window.window(), UpscaleOptions())
    planar = []
    for i, frame in enumerate(decoder.frames()):
        if i >= first:
            planar.append(frame)
        if len(planar) == frames:
            break
    rgb = planes_to_rgb(planar, decoder.layout, info.video.color, torch.device("cpu"))
    h, w = rgb.shape[-2:]
    ch, cw = min(h, max_h), min(w, max_w)
    y0, x0 = (h - ch) // 2, (w - cw) // 2
    crop = rgb[:, :, y0 : y0 + ch, x0 : x0 + cw].clamp_(0, 1).contiguous()
    return crop, f"frames {first}-{first + len(planar) - 1}, {cw}x{ch} of {w}x{h}"


def share(
    lr: torch.Tensor, candidate: Candidate, tile: int, reach: int, multiple: int
) -> dict[str, float]:
    """Plan every frame of ``lr`` and count what the model would compute."""
    planner = ReusePlanner(candidate.criterion, reach, multiple, tile=tile)
    n, _, h, w = lr.shape
    computed = full = skipped = 0
    levels = []
    for i in range(n):
        planner.criterion = candidate.level_for(lr[i], lr[i - 1] if i else None)
        levels.append(planner.criterion.level)
        plan = planner.plan(lr[i])
        if plan.full:
            full += 1
            computed += h * w
        else:
            skipped += not plan.regions
            computed += sum(
                (r.window[1] - r.window[0]) * (r.window[3] - r.window[2]) for r in plan.regions
            )
    return {
        "share": computed / (n * h * w),
        "full": full,
        "skipped": skipped,
        "level_median": float(torch.tensor(levels[1:] or [0.0]).median()),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clips", default="chaplin,bbb,ucf_makeup,foreman,fire2,interlaced")
    p.add_argument("--frames", type=int, default=40)
    p.add_argument("--first", type=int, default=None, help="first frame (each clip's bench start)")
    p.add_argument("--max-width", type=int, default=640)
    p.add_argument("--max-height", type=int, default=360)
    p.add_argument("--candidates", nargs="*", default=DEFAULT_CANDIDATES)
    p.add_argument("--tiles", type=int, nargs="*", default=[16, 32])
    p.add_argument("--reach", type=int, default=None, help="context in px (the model's)")
    p.add_argument("--json", default=None)
    args = p.parse_args()
    info = load_model("realesr-animevideov3", device="cpu", precision="fp32").info
    reach, multiple = info.receptive_field, info.multiple
    if args.reach is not None:  # what the receptive field costs: 0 counts the changed tiles
        reach = args.reach
    print(f"receptive field {reach} px, input multiple {multiple}")
    candidates = [Candidate.parse(c) for c in args.candidates]
    rows = []
    for name in args.clips.split(","):
        lr, note = decoded(name, args.frames, args.max_width, args.max_height, args.first)
        print(f"\n{name}: {note}")
        for c in candidates:
            cells = []
            for tile in args.tiles:
                r = share(lr, c, tile, reach, multiple)
                rows.append({"clip": name, "candidate": c.label, "tile": tile, **r})
                cells.append(
                    f"tile {tile}: {r['share']:6.1%} (whole {r['full']}, skipped {r['skipped']})"
                )
            lvl = f" level ~{rows[-1]['level_median']:.2f}" if c.noise else ""
            print(f"  {c.label:<44} " + "; ".join(cells) + lvl)
        if args.json:
            Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
