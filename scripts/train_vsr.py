"""Train vidsr-vsr-x4 (``BackProjectSRVGG``): the fusion that decides how much of the
multi-frame back-projection's correction to keep (issue 18).

The per-frame network (``vidsr-bi-x4``) stays frozen and the back-projection has no weights, so
the fusion's inputs are computed once per sample with the architecture's own modules (exactly
what the network computes in a run, in float32) and training is cheap on a CPU.

Training data, no download: half sequences generated from the training images by known
sub-pixel motion (``vidsr.training.sequences.make_sequence``: pans, zooms, rotations, elastic
motion, occluders), half cut from the high-resolution training clips (bbb, rotate-bunny, fire2;
never an evaluation clip), 320x320 ground truth reduced x4 with MATLAB bicubic; a ``--coded``
share coded with libx264 at CRF 18-35. Flat crops are skipped. Adam, L1, cosine learning rate
5e-4 -> 1e-5, batches of 16 random 40x40 input crops.

Evaluation (``--eval``): the held-out clips of ``scripts/bench_multiframe.py``, frames 1..12,
lossless and CRF 28; per clip the Y-PSNR gain over per-frame SR of the trained network, of the
default temporal stage on per-frame SR and on the trained frames.

    .venv/bin/python scripts/train_vsr.py --out vidsr/weights/vidsr-vsr-x4.pth
        [--samples 4000] [--steps 3000] [--iterations 1] [--radius 1] [--coded 0.3]
        [--load w.pth] [--eval]
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_temporal_motion as motion_bench

from vidsr.models.archs import ArchInfo, get_arch
from vidsr.models.archs.srvgg_backproject import BackProjectNet, pack_inputs
from vidsr.quality.metrics import psnr_y
from vidsr.quality.pictures import list_images, load_rgb
from vidsr.quality.resize import mod_crop
from vidsr.quality.video import to_float
from vidsr.temporal.align import NeighbourAligner, neighbour_offsets, neighbour_views

TRAIN_CLIPS = (
    "bbb_hevc_1080p24_aac51.ts",
    "rotate-buck-bunny_h264_1080p_rot90_aac51.mp4",
    "fire2_h264_vfr_1280x720_aac.mp4",
)
CROP = 320  # HR: 80x80 input crops, large enough for DIS flow
PER_FRAME = "vidsr-bi-x4"
WEIGHTS = Path(__file__).resolve().parents[1] / "vidsr" / "weights" / f"{PER_FRAME}.pth"


def build(iterations: int, radius: int = 1) -> BackProjectNet:
    """vidsr-vsr-x4 at step 0: the per-frame weights, the fusion at zero."""
    from vidsr.models.weights import load_pth

    params = {"iterations": iterations, "num_neighbours": 2 * radius}
    net = ArchInfo(get_arch("BackProjectSRVGG"), 4, params).build()
    missing = net.load_state_dict(load_pth(WEIGHTS), strict=False).missing_keys
    assert all(k.startswith("fusion.") or k == "iterations" for k in missing), missing
    return net.eval()


def features(net: BackProjectNet, lr: torch.Tensor, t: int, aligner: NeighbourAligner) -> dict:
    """Frame ``t`` of ``lr`` (T, 3, h, w) with its neighbours (t-R..t+R): the fusion's inputs."""
    others = [lr[t + d] for d in neighbour_offsets(net.neighbours)]
    views = neighbour_views(lr[t], torch.stack(others), aligner)
    with torch.inference_mode():
        p = net.parts(pack_inputs(lr[t][None], views))
        sr = net.per_frame(p["lr"]).float()
        correction = net.back_project(p, sr)
    return {
        "lr": (lr[t] * 255).round().byte(),
        "sr": sr[0].half(),
        "correction": correction[0].half(),
        "trust": p["trust"][0, :, 0].half(),
    }


def _make(job: tuple[int, int, int, float, int]) -> dict:
    """``count`` training samples from ``seed`` (in a worker process, one thread)."""
    count, seed, iterations, coded, radius = job
    torch.set_num_threads(1)
    from vidsr.media.roundtrip import h264_roundtrip
    from vidsr.quality.video import to_uint8
    from vidsr.training.data import dihedral
    from vidsr.training.sequences import clip_sequence, load_clip, make_sequence

    data = motion_bench.DATA
    folders = [data.parent / "train" / d for d in ("BSD68", "SunHays80", "Urban100")]
    images = [mod_crop(load_rgb(p), 4) for p in list_images(folders)]
    images = [im for im in images if min(im.shape[-2:]) >= CROP]
    clips = [load_clip(data / name, 60) for name in TRAIN_CLIPS]
    net, g = build(iterations, radius), torch.Generator().manual_seed(seed)
    aligner = NeighbourAligner()
    rows: dict[str, list] = {k: [] for k in ("lr", "sr", "correction", "trust", "hr")}
    while len(rows["hr"]) < count:
        if float(torch.rand(1, generator=g)) < 0.5:
            j = int(torch.randint(len(clips), (1,), generator=g))
            hr, lr = clip_sequence(clips[j], 4, CROP, radius, g)
        else:
            i = int(torch.randint(len(images), (1,), generator=g))
            k = int(torch.randint(8, (1,), generator=g))
            image = dihedral(images[i], k).contiguous()
            hr, lr = make_sequence(image, 4, (CROP, CROP), radius, g)
        if hr[radius].std() < 0.03:  # flat (the bunnies' black fade-in, sky): nothing to learn
            continue
        if float(torch.rand(1, generator=g)) < coded:
            crf = int(torch.randint(18, 36, (1,), generator=g))
            lr = to_float(h264_roundtrip(to_uint8(lr), crf)[0])
        for key, value in features(net, lr, radius, aligner).items():
            rows[key].append(value)
        rows["hr"].append((hr[radius].clamp(0, 1) * 255).round().byte())
    return {k: torch.stack(v) for k, v in rows.items()}


def train(net: BackProjectNet, data: dict, steps: int, seed: int = 0) -> list[float]:
    """Trains ``net.fusion`` in place; returns the mean L1 loss of each 100 steps."""
    torch.manual_seed(seed)
    fusion = net.fusion.train()
    for p in fusion.parameters():
        p.requires_grad_(True)
    opt = torch.optim.Adam(fusion.parameters(), lr=5e-4)
    g = torch.Generator().manual_seed(seed + 1)
    n, size, c = len(data["hr"]), data["lr"].shape[-1], 40
    curve, window = [], []
    for step in range(1, steps + 1):
        for group in opt.param_groups:
            group["lr"] = 1e-5 + (5e-4 - 1e-5) * 0.5 * (1 + math.cos(math.pi * step / steps))
        idx = torch.randint(n, (16,), generator=g)
        y0, x0 = (int(v) for v in torch.randint(size - c + 1, (2,), generator=g))
        lo = (idx, slice(None), slice(y0, y0 + c), slice(x0, x0 + c))
        hi = (idx, slice(None), slice(4 * y0, 4 * (y0 + c)), slice(4 * x0, 4 * (x0 + c)))
        sr = data["sr"][hi].float()
        out = sr + fusion(
            data["lr"][lo].float() / 255, sr, data["correction"][hi].float(),
            data["trust"][lo].float(),
        )  # fmt: skip
        loss = F.l1_loss(out, data["hr"][hi].float() / 255)
        opt.zero_grad()
        loss.backward()
        opt.step()
        window.append(float(loss.detach()))
        if step % 100 == 0:
            curve.append(float(np.mean(window)))
            window = []
    fusion.eval().requires_grad_(False)
    return curve


def evaluate(net: BackProjectNet, name: str, deg: str, frames: int) -> list[float]:
    """Mean Y-PSNR gains over per-frame SR (float32), frames 1..``frames``: the trained
    network, the temporal stage (default tuning) on per-frame SR and on the trained frames."""
    r = net.neighbours // 2
    hr, _ = motion_bench.ground_truth(name, frames + 2 * r)
    truth = to_float(hr)[r:-r]
    lr = to_float(motion_bench.make_input(hr, deg))
    aligner, srs, outs = NeighbourAligner(), [], []
    for t in range(r, len(lr) - r):
        others = [lr[t + d] for d in neighbour_offsets(net.neighbours)]
        views = neighbour_views(lr[t], torch.stack(others), aligner)
        with torch.inference_mode():
            x = pack_inputs(lr[t][None], views)
            srs.append(net.per_frame(x[:, :3]).float().clamp(0, 1)[0])
            outs.append(net(x).clamp(0, 1)[0])
    q = lambda v: (torch.stack(v) * 255).round() / 255  # noqa: E731
    sr, out, tuning = q(srs), q(outs), motion_bench.TUNINGS["default"]
    methods = [out, motion_bench.stabilise(lr[r:-r], sr, tuning)[0]]
    methods.append(motion_bench.stabilise(lr[r:-r], out, tuning)[0])
    score = lambda v: np.mean([psnr_y(a, b, 4) for a, b in zip(v, truth, strict=True)])  # noqa: E731
    base = score(sr)
    return [score(m) - base for m in methods]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, help="where to write the weights")
    parser.add_argument("--load", type=Path, help="weights to evaluate: no training")
    parser.add_argument("--samples", type=int, default=4000)
    parser.add_argument("--steps", type=int, default=3000)
    steps = get_arch("BackProjectSRVGG").default_params["iterations"]
    parser.add_argument("--iterations", type=int, default=steps, help="back-projection steps")
    parser.add_argument("--radius", type=int, default=1, help="neighbours on each side")
    parser.add_argument("--coded", type=float, default=0.3, help="share of coded sequences")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--eval", action="store_true")
    parser.add_argument("--frames", type=int, default=12)
    parser.add_argument("--clips", default="cars,foreman,chaplin,ucf_makeup,interlaced")
    parser.add_argument("--degradations", default="lossless,crf28")
    args = parser.parse_args(argv)
    if not motion_bench.DATA.is_dir():
        print(f"no shared data at {motion_bench.DATA}", file=sys.stderr)
        return 2
    if args.load:
        from vidsr.models.weights import load_pth

        net = build(args.iterations, args.radius)
        net.load_state_dict(load_pth(args.load))
    else:
        start = time.perf_counter()
        share = args.samples // args.workers
        jobs = [
            (share, 100 + i, args.iterations, args.coded, args.radius) for i in range(args.workers)
        ]
        with multiprocessing.get_context("spawn").Pool(args.workers) as pool:
            parts = pool.map(_make, jobs)
        data = {k: torch.cat([p[k] for p in parts]) for k in parts[0]}
        print(f"{len(data['hr'])} samples in {time.perf_counter() - start:.0f} s", flush=True)
        torch.set_num_threads(2)
        net, start = build(args.iterations, args.radius), time.perf_counter()
        curve = train(net, data, args.steps)
        print(f"{args.steps} steps in {time.perf_counter() - start:.0f} s", flush=True)
        print("loss per 100 steps: " + json.dumps([round(v, 5) for v in curve]), flush=True)
        if args.out:
            torch.save(net.state_dict(), args.out)
    if args.eval:
        torch.set_num_threads(2)
        print("| clip | input | trained | stage(sr) | stage(trained) |")
        print("|---" * 5 + "|")
        for name in [c for c in args.clips.split(",") if c]:
            for deg in args.degradations.split(","):
                g = evaluate(net, name, deg, args.frames)
                row = " | ".join(f"{v:+.3f}" for v in g)
                print(f"| {name} | {deg} | {row} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
