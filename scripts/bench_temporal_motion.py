"""Benchmark the temporal stage on fast, non-rigid motion: does it ever cost fidelity?

Ground truth: crops of clips from ``../shared/data/clips`` with fast or non-rigid motion (and,
with ``--clips``, the slow clips of ``scripts/bench_temporal.py``), plus a generated clip of
articulated limbs swinging and crossing over a texture (:mod:`vidsr.quality.articulated`).
Input: MATLAB bicubic x4 down (:func:`vidsr.quality.resize.bicubic_lr`), kept lossless or coded
with libx264 at CRF 28 / 35 (:func:`vidsr.media.roundtrip.h264_roundtrip`). Methods: bicubic,
per-frame SR, the stage as it was before issue 14 (:data:`BEFORE`: no reconstruction check, the
old warp tolerances) and the FAITHFUL tuning (``after``), ``medium``, default look-ahead; with
``--tunings``, also the candidates measured for issue 14 (:data:`TUNINGS`). All run on the same SR
frames in one process, in alternating order, so their time ratio is fair on a shared machine.
Per clip and degradation: Y-PSNR, Y-SSIM, warping error, tOF, blockiness (on the coded-block grid),
and on the articulated clip the PSNR inside its motion mask.

    .venv/bin/python scripts/bench_temporal_motion.py [--model vidsr-bi-x4] [--frames 30]
        [--clips articulated,bbb,...] [--degradations lossless,crf28,crf35] [--json out.json]
        [--tunings before,after,local,local-grad,full-bp,default,adaptive,...]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from vidsr.media.roundtrip import h264_roundtrip
from vidsr.post_stage import feed_all
from vidsr.quality import metrics
from vidsr.quality.articulated import articulated_clip
from vidsr.quality.image_sets import bicubic_upscale
from vidsr.quality.resize import bicubic_lr
from vidsr.quality.video import read_frames, score_clip, to_float, to_uint8
from vidsr.temporal import FAITHFUL, STEADY, TemporalStabilizer, Tuning

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "clips"
SCALE = 4
# name -> (file, first frame, HR crop (top, left, height, width); None: the whole frame)
CLIPS: dict[str, tuple[str, int, tuple[int, int, int, int] | None]] = {
    # both bunnies fade in from black (frames 0-5 black: infinite PSNR) over clouds and trees
    "bbb": ("bbb_hevc_1080p24_aac51.ts", 6, (760, 1536, 256, 384)),
    "rotate-bunny": ("rotate-buck-bunny_h264_1080p_rot90_aac51.mp4", 6, (760, 1536, 256, 384)),
    "fire2": ("fire2_h264_vfr_1280x720_aac.mp4", 0, (232, 448, 256, 384)),  # hand-held, fast
    "ucf_makeup": ("ucf_makeup_mpeg4asp_320x240_mp3.avi", 0, None),  # a hand moving on a face
    "interlaced": ("interlaced_tff_mpeg2_720x480_pattern.mkv", 0, (96, 160, 256, 384)),
    "foreman": ("foreman_vp9_352x288_30.webm", 0, None),
    "cars": ("raw/cars_320x240_30f_yuv420p.i420", 0, None),
    "chaplin": ("chaplin_h264_mp3_640x360.mp4", 60, None),
}
NEW = ("articulated", "bbb", "rotate-bunny", "fire2", "ucf_makeup", "interlaced")
DEGRADATIONS = ("lossless", "crf28", "crf35")
BEFORE = dataclasses.replace(STEADY, fade_levels=0.0)  # before issue 14 (no fade rule either)
_LOOSE = {"tau_min": 20.0, "detail_tau": 5.0}
_LOCAL = {**_LOOSE, "tight_tau_min": 8.0, "tight_detail_tau": 2.0}
_ADAPTIVE = dataclasses.replace(FAITHFUL, tau_noise=6.0, recon_moving=3.0, recon_fade=0.05)
_ADAPTIVE_SR = dataclasses.replace(_ADAPTIVE, recon_to_sr=True, recon_shrink=4.0)
TUNINGS: dict[str, Tuning] = {
    "before": BEFORE,
    "after": FAITHFUL,
    # FAITHFUL's tight tolerances only where the flow moves (over 1 LR px, dilated 1 LR px)
    "local": dataclasses.replace(FAITHFUL, **_LOCAL, moving_radius=1.0),
    # and where the flow bends (gradient 0.1 px/px), dilated 3 LR px
    "local-grad": dataclasses.replace(FAITHFUL, **_LOCAL, moving_radius=3.0, moving_grad=0.1),
    "full-bp": dataclasses.replace(FAITHFUL, recon_shrink=0.0),  # the whole residual back
    "default": Tuning(),
    "steady": STEADY,  # the default before issue 14's fix (loose tolerances)
    # issue 14, next round: the tolerance follows the noise (tau_noise 6: 6 x the median warp
    # error, at least FAITHFUL's 8), the whole residual goes back where the input moves
    # (3 LR px: 1 - 1/e) and during a fade (mean luma changing 5% a frame)
    "adaptive": _ADAPTIVE,
    "adaptive-12": dataclasses.replace(_ADAPTIVE, tau_min=12.0),  # looser where clean
    "adaptive-cubic": dataclasses.replace(_ADAPTIVE, detail_cubic=True),  # detail warped bicubic
    # the residual against SR's own (a frame the blend left alone stays SR), threshold 4x
    "adaptive-sr": _ADAPTIVE_SR,
    "adaptive-sr-cubic": dataclasses.replace(_ADAPTIVE_SR, detail_cubic=True),
    # SR's own residual taken out only where nothing is blended (share of the weights)
    "adaptive-share": dataclasses.replace(_ADAPTIVE, recon_to_sr_unblended=True),
    # measured on the subset only, dropped: the structured-error test, occlusion from the
    # neighbour's motion (both on the old tolerances), the fade's gain compensated
    "struct": dataclasses.replace(FAITHFUL, **_LOOSE, struct_tau=3.0, struct_radius=3.0),
    "occlusion": dataclasses.replace(FAITHFUL, **_LOOSE, occlusion_flow=1.0),
    "gain": dataclasses.replace(_ADAPTIVE, fade_gain=True),
    # during a fade the residual's smooth part whole, its edges thresholded (sigma in LR px)
    "fade-smooth-2": Tuning(recon_fade_sigma=2.0),
    "fade-smooth-4": Tuning(recon_fade_sigma=4.0),
}


def ground_truth(name: str, frames: int) -> tuple[np.ndarray, np.ndarray | None]:
    """(T, H, W, 3) uint8 frames, H and W multiples of 8 * SCALE, and a motion mask or None."""
    if name == "articulated":
        clip = articulated_clip(frames, 256, 384, SCALE, seed=0)
        return clip.frames, clip.moving
    rel, first, crop = CLIPS[name]
    hr = read_frames(DATA / rel, first + frames, multiple=8 * SCALE)[first:]
    if crop is not None:
        top, left, h, w = crop
        hr = hr[:, top : top + h, left : left + w]
    m = 8 * SCALE
    return np.ascontiguousarray(hr[:, : hr.shape[1] // m * m, : hr.shape[2] // m * m]), None


def make_input(hr: np.ndarray, degradation: str) -> np.ndarray:
    """MATLAB bicubic x4 down, 8-bit; then libx264 at the CRF (``crfN``) unless lossless."""
    lr = to_uint8(torch.stack([bicubic_lr(f, SCALE) for f in to_float(hr)]))
    if degradation == "lossless":
        return lr
    return h264_roundtrip(lr, int(degradation[3:]))[0]


def stabilise(lr: torch.Tensor, sr: torch.Tensor, tuning: Tuning) -> tuple[torch.Tensor, float]:
    """The stage fed in batches of 4 as the pipeline feeds it: (frames, seconds)."""
    stab = TemporalStabilizer("medium", tuning=tuning, backend="opencv")
    start = time.perf_counter()
    out = feed_all(stab, lr, sr, 4)
    return out, time.perf_counter() - start


def masked_psnr(out: np.ndarray, ref: np.ndarray, mask: np.ndarray) -> float:
    """Mean over frames of the Y-PSNR inside ``mask`` (T, H, W), border of SCALE cropped."""
    b = SCALE
    values = []
    for o, g, m in zip(out, ref, mask, strict=True):
        err = (metrics.rgb_to_y(o) - metrics.rgb_to_y(g))[b:-b, b:-b] ** 2
        sel = m[b:-b, b:-b]
        if sel.any():
            values.append(10 * np.log10(255.0**2 / max(float(err[sel].mean()), 1e-10)))
    return float(np.mean(values))


def run_case(
    upscaler, hr: np.ndarray, mask: np.ndarray | None, degradation: str, flip: bool,
    tunings: list[str],
) -> dict:  # fmt: skip
    lr = to_float(make_input(hr, degradation))
    motion, flows = metrics.estimate_motion(hr), metrics.farneback_flows(hr)
    with torch.inference_mode():
        sr = torch.cat([upscaler(lr[i : i + 4]).float() for i in range(0, len(lr), 4)])
    outputs = {"bicubic": bicubic_upscale(lr, SCALE), "sr": sr}
    seconds = {}
    for name in reversed(tunings) if flip else tunings:
        outputs[name], seconds[name] = stabilise(lr, sr, TUNINGS[name])
    results = {}
    for name in outputs:
        out = to_uint8(outputs[name])
        r = score_clip(out, hr, SCALE, motion=motion, reference_flows=flows)
        if mask is not None:
            r["psnr_moving"] = masked_psnr(out, hr, mask)
        r.update({"seconds": seconds[name]} if name in seconds else {})
        results[name] = r
    return results


def print_rows(clip: str, deg: str, results: dict) -> None:
    sr = results["sr"]
    for name, r in results.items():
        cells = [f"{r['psnr']:.3f}", f"{r['ssim']:.4f}", f"{r['warping_error']:.2f}"]
        cells.append(f"{r['warping_error'] / sr['warping_error'] - 1:+.0%}")
        cells += [f"{r['tof']:.3f}", f"{r['blockiness']:.3f}"]
        cells.append(f"{r['psnr_moving']:.3f}" if "psnr_moving" in r else "")
        delta = f"{r['psnr'] - sr['psnr']:+.3f} / {r['ssim'] - sr['ssim']:+.4f}"
        print(f"| {clip} | {deg} | {name} | {' | '.join(cells)} | {delta} |", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="vidsr-bi-x4")
    parser.add_argument("--frames", type=int, default=30)
    parser.add_argument("--clips", default=",".join(NEW))
    parser.add_argument("--degradations", default=",".join(DEGRADATIONS))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--tunings", default="before,after", help=", ".join(TUNINGS))
    args = parser.parse_args(argv)
    names = [c for c in args.clips.split(",") if c]
    if any(n != "articulated" for n in names) and not DATA.is_dir():
        print(f"no shared data at {DATA}", file=sys.stderr)
        return 2
    tunings = [t for t in args.tunings.split(",") if t]
    unknown = [n for n in names if n != "articulated" and n not in CLIPS]
    unknown += [t for t in tunings if t not in TUNINGS]
    if unknown:
        print(f"unknown clips or tunings: {', '.join(unknown)}", file=sys.stderr)
        return 2
    torch.set_num_threads(args.threads)
    from vidsr.models import load_model

    upscaler = load_model(args.model, device="cpu", precision="fp32")
    print(f"model {args.model}, {args.frames} frames, medium, default look-ahead")
    print("| clip | input | method | PSNR | SSIM | warp | vs SR | tOF | block | PSNR moving "
          "| vs SR (dB / SSIM) |")  # fmt: skip
    print("|---" * 11 + "|")
    cases, flip = [], False
    for name in names:
        hr, mask = ground_truth(name, args.frames)
        for deg in args.degradations.split(","):
            results = run_case(upscaler, hr, mask, deg, flip, tunings)
            flip = not flip
            print_rows(f"{name} {hr.shape[2]}x{hr.shape[1]}x{len(hr)}", deg, results)
            cases.append({"clip": name, "degradation": deg, **results})
    times = {t: sum(c[t]["seconds"] for c in cases) for t in tunings}
    print("stage time, all cases: " + ", ".join(f"{t} {s:.1f} s" for t, s in times.items()))
    if args.json:
        args.json.write_text(json.dumps({"model": args.model, "cases": cases}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
