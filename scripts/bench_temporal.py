"""Benchmark the temporal stage on real clips: fidelity, steadiness, blockiness and speed.

Each clip from ``../shared/data/clips`` is taken as ground truth, bicubic-downscaled x4, and then
kept lossless or coded with H.264 (libx264) at CRF 28 and CRF 35 to create macroblocks. For every
degradation the script reports, for plain bicubic upscaling, per-frame SR and each temporal
strength: Y-PSNR, Y-SSIM, warping error (along the reference's motion), tOF, flicker error,
blockiness (on the 32-pixel grid of the upscaled 8x8 coding blocks) and frames per second of the
stage itself. Two further checks: a still photo made into a 2 s clip with fresh per-frame noise,
coded at CRF 35 (mean |O_t - O_{t-1}| must fall by half), and blockiness at CRF 35 against bicubic.

    .venv/bin/python scripts/bench_temporal.py [--frames 30] [--json out.json] [--deblock auto]

The SR model is ``realesr-animevideov3`` from ``vidsr.models.load_model`` (CPU, bf16 autocast).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from vidsr.media.deblock import deblock_decision
from vidsr.media.roundtrip import h264_roundtrip
from vidsr.post_stage import feed_all
from vidsr.quality import metrics
from vidsr.quality.video import read_frames, score_clip, to_float, to_uint8
from vidsr.strengths import parse_deblock
from vidsr.temporal import TemporalStabilizer

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
SCALE = 4
CLIPS = {  # name -> (file, first frame)
    "foreman": ("clips/foreman_vp9_352x288_30.webm", 0),
    "cars": ("clips/raw/cars_320x240_30f_yuv420p.i420", 0),
    "chaplin": ("clips/chaplin_h264_mp3_640x360.mp4", 60),
}
DEGRADATIONS = ("lossless", "crf28", "crf35")
SETTINGS = ("low", "medium", "high")


@dataclass
class Case:
    clip: str
    degradation: str
    hr: np.ndarray  # (T, H, W, 3) uint8 ground truth
    lr: np.ndarray  # (T, h, w, 3) uint8 decoded input
    deblock: float  # deblock strength applied to the decoded input (0: none)
    results: dict[str, dict[str, float]] = field(default_factory=dict)


# --- data ----------------------------------------------------------------------------------------


def read_clip(name: str, frames: int) -> np.ndarray:
    """Ground-truth frames of a clip as (T, H, W, 3) uint8 RGB, cropped to a multiple of 8*SCALE
    (decoded as vidsr decodes any input: the raw .i420 clip through ``media.rawvideo``)."""
    rel, first = CLIPS[name]
    return read_frames(DATA / rel, first + frames, multiple=8 * SCALE)[first:]


def downscale(hr: np.ndarray) -> np.ndarray:
    """Bicubic x4 down with antialiasing (close to MATLAB imresize), as uint8."""
    x = to_float(hr)
    h, w = hr.shape[1] // SCALE, hr.shape[2] // SCALE
    y = F.interpolate(x, size=(h, w), mode="bicubic", antialias=True, align_corners=False)
    return to_uint8(y)


def h264(
    frames: np.ndarray, crf: int, deblock: str = "off", **options: str
) -> tuple[np.ndarray, float]:
    """Code frames with libx264 at ``crf`` (yuv420p, BT.601) and decode them back.

    ``deblock`` (auto|off|N) is applied to the decoded frames before colour conversion, as the
    pipeline does; ``options`` go to libx264. Returns the RGB frames and the deblock strength.
    """
    strength = parse_deblock(deblock)
    return h264_roundtrip(
        frames, crf, deblock=deblock_decision if strength is None else strength, **options
    )


def degrade(lr: np.ndarray, kind: str, deblock: str = "off") -> tuple[np.ndarray, float]:
    return (lr, 0.0) if kind == "lossless" else h264(lr, int(kind[3:]), deblock)


# --- methods -------------------------------------------------------------------------------------


def bicubic_up(lr: torch.Tensor) -> torch.Tensor:
    return F.interpolate(lr, scale_factor=SCALE, mode="bicubic", align_corners=False).clamp(0, 1)


def load_upscaler():
    from vidsr.models import load_model

    return load_model("realesr-animevideov3", device="cpu", precision="bf16")


def run_sr(upscaler, lr: torch.Tensor, batch: int = 8) -> torch.Tensor:
    with torch.inference_mode():
        return torch.cat([upscaler(lr[i : i + batch]) for i in range(0, len(lr), batch)])


LOOKAHEAD: int | None = None  # --lookahead; None: the stabiliser's default


def stabilise(lr: torch.Tensor, sr: torch.Tensor, strength: str, batch: int = 4):
    """Run the stabiliser in batches as the pipeline does; returns (frames, seconds)."""
    stab = (
        TemporalStabilizer(strength)
        if LOOKAHEAD is None
        else TemporalStabilizer(strength, lookahead=LOOKAHEAD)
    )
    start = time.perf_counter()
    out = feed_all(stab, lr, sr, batch)
    return out, time.perf_counter() - start


def score(out: np.ndarray, case: Case, motion, ref_flows) -> dict[str, float]:
    r = score_clip(out, case.hr, SCALE, motion=motion, reference_flows=ref_flows)
    keys = {"warping_error": "warp", "blockiness": "block"}
    return {keys.get(k, k): v for k, v in r.items()}


def evaluate(cases: list[Case], upscaler, settings) -> None:
    motions: dict[str, tuple] = {}
    for case in cases:
        if case.clip not in motions:
            motions[case.clip] = (
                metrics.estimate_motion(case.hr),
                metrics.farneback_flows(case.hr),
            )
        motion, ref_flows = motions[case.clip]
        lr = to_float(case.lr)
        t0 = time.perf_counter()
        up = bicubic_up(lr)
        case.results["bicubic"] = score(to_uint8(up), case, motion, ref_flows)
        case.results["bicubic"]["fps"] = len(lr) / (time.perf_counter() - t0)
        t0 = time.perf_counter()
        sr = run_sr(upscaler, lr)
        sr_s = time.perf_counter() - t0
        case.results["sr"] = score(to_uint8(sr), case, motion, ref_flows)
        case.results["sr"]["fps"] = len(lr) / sr_s
        for name in settings:
            out, sec = stabilise(lr, sr, name)
            case.results[name] = score(to_uint8(out), case, motion, ref_flows)
            case.results[name]["fps"] = len(lr) / sec
            case.results[name]["share"] = sec / (sec + sr_s)
        print(f"  done {case.clip}/{case.degradation} (deblock {case.deblock:g})", file=sys.stderr)


# --- extra checks --------------------------------------------------------------------------------


def still_photo_check(upscaler, keyint: int | None, seconds: float = 2.0, fps: int = 25):
    """A still photo as a 2 s clip with fresh noise per frame, CRF 35: steadiness of the output.

    ``keyint=None`` codes with x264's defaults (long GOP: the encoder removes almost all the
    noise, the clip is nearly static); ``keyint=1`` codes every frame as an I-frame, so the
    noise and the coding artefacts change every frame.
    """
    from PIL import Image

    photo = np.asarray(Image.open(DATA / "eval" / "Set14" / "HR" / "lenna.png").convert("RGB"))
    hr = photo[: photo.shape[0] // 32 * 32, : photo.shape[1] // 32 * 32]
    lr = downscale(hr[None])[0].astype(np.float32)
    rng = np.random.default_rng(0)
    n = int(seconds * fps)
    noisy = np.clip(lr[None] + rng.normal(0, 6.0, (n, *lr.shape)), 0, 255).round()
    options = {} if keyint is None else {"g": str(keyint)}
    coded = to_float(h264(noisy.astype(np.uint8), 35, **options)[0])
    sr = run_sr(upscaler, coded)
    d_sr = metrics.temporal_difference(to_uint8(sr))
    result = {"sr_diff": d_sr}
    for name in SETTINGS:
        out, _ = stabilise(coded, sr, name)
        d_t = metrics.temporal_difference(to_uint8(out))
        result[f"{name}_diff"] = d_t
        result[f"{name}_reduction"] = 1 - d_t / d_sr
    return result


# --- report --------------------------------------------------------------------------------------

COLUMNS = ("psnr", "ssim", "warp", "tof", "flicker", "block", "fps")


def summarise(cases: list[Case]) -> dict[str, dict[str, dict[str, float]]]:
    """Mean of every metric over the clips, per degradation and method."""
    table: dict[str, dict[str, dict[str, float]]] = {}
    for deg in DEGRADATIONS:
        group = [c for c in cases if c.degradation == deg]
        if not group:
            continue
        methods = group[0].results.keys()
        table[deg] = {
            m: {k: float(np.mean([c.results[m][k] for c in group])) for k in group[0].results[m]}
            for m in methods
        }
    return table


def print_table(table, cases: list[Case]) -> None:
    for deg, rows in table.items():
        print(f"\n## {deg} (mean over {sum(c.degradation == deg for c in cases)} clips)")
        print(f"| method | {' | '.join(COLUMNS)} | warp vs SR |")
        print("|---" * (len(COLUMNS) + 2) + "|")
        for name, r in rows.items():
            rel = r["warp"] / rows["sr"]["warp"] - 1
            cells = [f"{r['psnr']:.3f}", f"{r['ssim']:.4f}", f"{r['warp']:.2f}", f"{r['tof']:.3f}"]
            cells += [f"{r['flicker']:.3f}", f"{r['block']:.3f}", f"{r['fps']:.1f}"]
            print(f"| {name} | {' | '.join(cells)} | {rel:+.0%} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=30, help="frames per clip")
    parser.add_argument("--clips", default=",".join(CLIPS), help="comma-separated clip names")
    parser.add_argument("--settings", default=",".join(SETTINGS), help="temporal strengths")
    parser.add_argument("--deblock", default="off", help="auto|off|N before SR")
    parser.add_argument("--json", type=Path, help="write every number to this file")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--lookahead", type=int, default=None, help="stabiliser look-ahead")
    args = parser.parse_args(argv)
    if not DATA.is_dir():
        print(f"no shared data at {DATA}", file=sys.stderr)
        return 2
    torch.set_num_threads(args.threads)
    global LOOKAHEAD
    LOOKAHEAD = args.lookahead
    upscaler = load_upscaler()
    settings = [s for s in args.settings.split(",") if s]
    cases = []
    for name in args.clips.split(","):
        hr = read_clip(name, args.frames)
        lr = downscale(hr)
        for d in DEGRADATIONS:
            frames, strength = degrade(lr, d, args.deblock)
            cases.append(Case(name, d, hr, frames, strength))
    evaluate(cases, upscaler, settings)
    table = summarise(cases)
    print_table(table, cases)
    still = {}
    for label, keyint in (("default GOP", None), ("all-intra", 1)):
        r = still_photo_check(upscaler, keyint)
        still[label] = r
        cells = ", ".join(
            f"{n} {r[f'{n}_diff']:.3f} ({r[f'{n}_reduction']:.0%} lower)" for n in SETTINGS
        )
        print(
            f"still photo + noise, CRF 35 {label}: mean |O_t - O_t-1| "
            f"SR {r['sr_diff']:.3f}, {cells}"
        )
    for deg, rows in table.items():
        shares = ", ".join(f"{n} {rows[n]['share']:.0%}" for n in settings if n in rows)
        print(f"{deg}: temporal stage share of SR + temporal time: {shares}")
    crf35 = table.get("crf35", {})
    if crf35:
        print(
            f"CRF 35 blockiness: bicubic {crf35['bicubic']['block']:.3f}, "
            f"SR {crf35['sr']['block']:.3f}, medium {crf35.get('medium', {}).get('block', 0):.3f}"
        )
    if args.json:
        per_case = [
            {"clip": c.clip, "degradation": c.degradation, "deblock": c.deblock, **c.results}
            for c in cases
        ]
        args.json.write_text(json.dumps({"mean": table, "cases": per_case, "still": still}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
