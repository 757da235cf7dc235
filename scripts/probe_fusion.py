"""Can a network learn to use what multi-frame back-projection finds? A quick probe (issue 18).

A small residual network on the input's grid (4 layers of 48 features, PReLU, output convolution
at zero so that step 0 is the back-projection) reads the current input frame, the per-frame SR
frame and the back-projection's correction (both pixel-unshuffled to the input's grid) and the
neighbours' trust, and adds its pixel-shuffled output to the back-projected frame. The per-frame
network stays frozen, so the features are computed once and training is cheap on a CPU.

Training data as ``configs/train/vidsr-vsr-x4.yaml`` makes it: half sequences generated from the
training images by known motion, half cut from the high-resolution clips (bbb, rotate-bunny,
fire2), x4 MATLAB bicubic, lossless (with ``--coded``, that share coded with libx264 at CRF
18-35). Evaluation: the held-out clips of ``scripts/bench_multiframe.py`` (never fire2 or the
bunnies). Prints, per clip and degradation, the Y-PSNR gain over per-frame SR of the
back-projection, of the trained network, and of the default temporal stage on each.

    .venv/bin/python scripts/probe_fusion.py [--samples 4000] [--steps 1500]
        [--coded 0.5] [--save w.pth | --load w.pth]
        [--clips cars,foreman,chaplin,ucf_makeup,interlaced] [--degradations lossless,crf28]
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_multiframe as mf
import bench_temporal_motion as motion_bench

from vidsr.quality.metrics import psnr_y
from vidsr.quality.pictures import list_images, load_rgb
from vidsr.quality.resize import mod_crop
from vidsr.quality.video import to_float
from vidsr.temporal.align import NeighbourAligner
from vidsr.temporal.backproject import back_project, find_neighbours

TRAIN_CLIPS = (
    "bbb_hevc_1080p24_aac51.ts",
    "rotate-buck-bunny_h264_1080p_rot90_aac51.mp4",
    "fire2_h264_vfr_1280x720_aac.mp4",
)
CROP = 320  # HR: 80x80 input crops, large enough for DIS flow


class Fusion(nn.Module):
    """The probe's network: a correction of the back-projected frame, zero at step 0."""

    def __init__(self, feat: int = 48, layers: int = 4) -> None:
        super().__init__()
        mods: list[nn.Module] = [nn.Conv2d(3 + 48 + 48 + 2, feat, 3, 1, 1), nn.PReLU(feat)]
        for _ in range(layers - 1):
            mods += [nn.Conv2d(feat, feat, 3, 1, 1), nn.PReLU(feat)]
        self.body = nn.Sequential(*mods)
        self.out = nn.Conv2d(feat, 48, 3, 1, 1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, lr, sr, bp, trust):
        z = torch.cat([lr, F.pixel_unshuffle(sr, 4), F.pixel_unshuffle(bp - sr, 4) * 10, trust], 1)
        return bp + F.pixel_shuffle(self.out(self.body(z)), 4)


def _u8(x: torch.Tensor) -> torch.Tensor:
    return (x.clamp(0, 1) * 255).round().byte()


def features(upscaler, lr: torch.Tensor, t: int, aligner: NeighbourAligner) -> dict:
    """Frame ``t`` of ``lr`` (T, 3, h, w): its input, SR, back-projection (radius 1, 4
    iterations) and the two neighbours' trust, as the probe stores them."""
    with torch.inference_mode():
        sr = upscaler(lr[t : t + 1])[0].float().clamp(0, 1)
    sr = (sr * 255).round() / 255
    others = [lr[k] for k in (t - 1, t + 1)]
    found = find_neighbours(lr[t], others, aligner)
    bp = back_project(mf._hwc(sr), mf._hwc(lr[t]), found, 4, 4)
    trust = torch.from_numpy(np.stack([n.trust_current for n in found])).half()
    bp_t = torch.from_numpy(np.clip(bp, 0, 1)).permute(2, 0, 1)
    return {"lr": _u8(lr[t]), "sr": _u8(sr), "bp": _u8(bp_t), "trust": trust}


def _make(job: tuple[int, int, str, float]) -> dict:
    """``count`` training samples from ``seed`` (run in a worker process, one thread); a
    ``coded`` share of the sequences are coded with libx264 at CRF 18-35 first."""
    count, seed, model, coded = job
    torch.set_num_threads(1)
    from vidsr.media.roundtrip import h264_roundtrip
    from vidsr.models import load_model
    from vidsr.quality.video import to_uint8
    from vidsr.training.data import dihedral
    from vidsr.training.sequences import clip_sequence, load_clip, make_sequence

    data = motion_bench.DATA
    folders = [data.parent / "train" / d for d in ("BSD68", "SunHays80", "Urban100")]
    images = [mod_crop(load_rgb(p), 4) for p in list_images(folders)]
    images = [im for im in images if min(im.shape[-2:]) >= CROP]
    clips = [load_clip(data / name, 60) for name in TRAIN_CLIPS]
    upscaler = load_model(model, device="cpu", precision="fp32")
    g, aligner = torch.Generator().manual_seed(seed), NeighbourAligner()
    rows: dict[str, list] = {k: [] for k in ("lr", "sr", "bp", "trust", "hr")}
    while len(rows["hr"]) < count:
        if float(torch.rand(1, generator=g)) < 0.5:
            j = int(torch.randint(len(clips), (1,), generator=g))
            hr, lr = clip_sequence(clips[j], 4, CROP, 1, g)
        else:
            i = int(torch.randint(len(images), (1,), generator=g))
            k = int(torch.randint(8, (1,), generator=g))
            hr, lr = make_sequence(dihedral(images[i], k).contiguous(), 4, (CROP, CROP), 1, g)
        if hr[1].std() < 0.03:  # flat (the bunnies' black fade-in, sky): nothing to learn
            continue
        if float(torch.rand(1, generator=g)) < coded:
            crf = int(torch.randint(18, 36, (1,), generator=g))
            lr = to_float(h264_roundtrip(to_uint8(lr), crf)[0])
        for key, value in features(upscaler, lr, 1, aligner).items():
            rows[key].append(value)
        rows["hr"].append(_u8(hr[1]))
    return {k: torch.stack(v) for k, v in rows.items()}


def train(data: dict, steps: int, seed: int = 0) -> Fusion:
    """Adam, L1, cosine learning rate 5e-4 -> 1e-5, batches of 16 random 40x40 input crops."""
    torch.manual_seed(seed)
    net = Fusion()
    opt = torch.optim.Adam(net.parameters(), lr=5e-4)
    g = torch.Generator().manual_seed(seed + 1)
    n, size, c = len(data["hr"]), data["lr"].shape[-1], 40
    f = lambda x: x.float() / 255  # noqa: E731
    for step in range(1, steps + 1):
        for group in opt.param_groups:
            group["lr"] = 1e-5 + (5e-4 - 1e-5) * 0.5 * (1 + math.cos(math.pi * step / steps))
        idx = torch.randint(n, (16,), generator=g)
        y0, x0 = (int(v) for v in torch.randint(size - c + 1, (2,), generator=g))
        lo = (idx, slice(None), slice(y0, y0 + c), slice(x0, x0 + c))
        hi = (idx, slice(None), slice(4 * y0, 4 * (y0 + c)), slice(4 * x0, 4 * (x0 + c)))
        out = net(
            f(data["lr"][lo]), f(data["sr"][hi]), f(data["bp"][hi]), data["trust"][lo].float()
        )
        loss = F.l1_loss(out, f(data["hr"][hi]))
        opt.zero_grad()
        loss.backward()
        opt.step()
    return net.eval()


def evaluate(net: Fusion, upscaler, name: str, deg: str, frames: int) -> list[float]:
    """Mean Y-PSNR gains over per-frame SR, frames 1..``frames``: back-projection, the trained
    network, the temporal stage (default tuning) on per-frame SR and on the trained frames."""
    hr, _ = motion_bench.ground_truth(name, frames + 2)
    truth = to_float(hr)[1:-1]
    lr = to_float(motion_bench.make_input(hr, deg))
    aligner, srs, bps, outs = NeighbourAligner(), [], [], []
    for t in range(1, len(lr) - 1):
        x = {k: v[None] for k, v in features(upscaler, lr, t, aligner).items()}
        f = {k: x[k].float() / 255 for k in ("lr", "sr", "bp")}
        with torch.inference_mode():
            out = net(f["lr"], f["sr"], f["bp"], x["trust"].float()).clamp(0, 1)
        srs.append(f["sr"][0])
        bps.append(f["bp"][0])
        outs.append((out[0] * 255).round() / 255)
    tuning = motion_bench.TUNINGS["default"]
    sr, lr = torch.stack(srs), lr[1:-1]
    methods = [torch.stack(bps), torch.stack(outs), motion_bench.stabilise(lr, sr, tuning)[0]]
    methods.append(motion_bench.stabilise(lr, methods[1], tuning)[0])
    score = lambda v: np.mean([psnr_y(a, b, 4) for a, b in zip(v, truth, strict=True)])  # noqa: E731
    base = score(sr)
    return [score((m.clamp(0, 1) * 255).round() / 255) - base for m in methods]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="vidsr-bi-x4")
    parser.add_argument("--samples", type=int, default=4000)
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--frames", type=int, default=12)
    parser.add_argument("--clips", default="cars,foreman,chaplin,ucf_makeup,interlaced")
    parser.add_argument("--degradations", default="lossless,crf28")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--coded", type=float, default=0.0, help="share of coded sequences")
    parser.add_argument("--save", type=Path)
    parser.add_argument("--load", type=Path, help="weights --save wrote: no training")
    args = parser.parse_args(argv)
    if not motion_bench.DATA.is_dir():
        print(f"no shared data at {motion_bench.DATA}", file=sys.stderr)
        return 2
    if args.load:
        net = Fusion()
        net.load_state_dict(torch.load(args.load))
        net.eval()
    else:
        start = time.perf_counter()
        jobs = [
            (args.samples // args.workers, 100 + i, args.model, args.coded)
            for i in range(args.workers)
        ]
        with multiprocessing.get_context("spawn").Pool(args.workers) as pool:
            parts = pool.map(_make, jobs)
        data = {k: torch.cat([p[k] for p in parts]) for k in parts[0]}
        print(f"{len(data['hr'])} samples in {time.perf_counter() - start:.0f} s", flush=True)
        torch.set_num_threads(2)
        start = time.perf_counter()
        net = train(data, args.steps)
        print(f"{args.steps} steps in {time.perf_counter() - start:.0f} s", flush=True)
        if args.save:
            torch.save(net.state_dict(), args.save)

    from vidsr.models import load_model

    upscaler = load_model(args.model, device="cpu", precision="fp32")
    torch.set_num_threads(2)
    print("| clip | input | mfbp | trained | stage(sr) | stage(trained) |")
    print("|---" * 6 + "|")
    for name in [c for c in args.clips.split(",") if c]:
        for deg in args.degradations.split(","):
            g = evaluate(net, upscaler, name, deg, args.frames)
            print(f"| {name} | {deg} | " + " | ".join(f"{v:+.3f}" for v in g) + " |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
