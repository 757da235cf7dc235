"""Benchmark region reuse (``--reuse``) against ``--reuse off`` on the shared clips.

For every clip: a lossless extract of ``--frames`` frames (centre-cropped to at most
``--max-width`` x ``--max-height``, re-encoded with libx264 qp 0 so the decoded pixels, coding
noise included, stay exactly the source's) runs through the whole pipeline (default model and
options, x4) with reuse on and off, alternating in one process after a warm-up run; then
``vidsr eval --video``'s measurement (first ``--eval-frames`` frames as ground truth, bicubic
x4 down, lossless and each ``--crf``) scores the model with reuse on and off. Prints one
table per clip (``--json``: all).

    .venv/bin/python scripts/bench_reuse.py [--clips chaplin,bbb,ucf_makeup,foreman,fire2]
        [--frames 8] [--level 0] [--repeat 1] [--eval-frames 8] [--crf 28 35] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from vidsr.config import ModelOptions, UpscaleOptions
from vidsr.models import load_model
from vidsr.pipeline import Pipeline
from vidsr.quality.video import evaluate_video_model

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "clips"
CLIPS = {  # name -> (file, first frame of the pipeline extract)
    "chaplin": ("chaplin_h264_mp3_640x360.mp4", 48),
    "bbb": ("bbb_hevc_1080p24_aac51.ts", 48),
    "ucf_makeup": ("ucf_makeup_mpeg4asp_320x240_mp3.avi", 24),
    "foreman": ("foreman_vp9_352x288_30.webm", 0),
    "fire2": ("fire2_h264_vfr_1280x720_aac.mp4", 0),
    "interlaced": ("interlaced_tff_mpeg2_720x480_pattern.mkv", 48),
}


def extract(src: Path, dst: Path, first: int, frames: int, max_w: int, max_h: int) -> str:
    """Frames ``first .. first + frames`` of ``src``, centre-cropped to ``max_w`` x ``max_h``,
    as lossless H.264 (4:2:0, qp 0) at 25 fps; returns a note of what was taken."""
    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        stream = inp.streams.video[0]
        w, h = stream.codec_context.width, stream.codec_context.height
        cw, ch = min(w, max_w) // 2 * 2, min(h, max_h) // 2 * 2
        x0, y0 = (w - cw) // 4 * 2, (h - ch) // 4 * 2
        v = out.add_stream("libx264", rate=25)
        v.width, v.height, v.pix_fmt = cw, ch, "yuv420p"
        v.codec_context.options = {"preset": "ultrafast", "qp": "0"}
        n = 0
        for i, frame in enumerate(inp.decode(stream)):
            if i < first:
                continue
            plane = frame.reformat(format="yuv420p").to_ndarray()  # (h * 3/2, w)
            y = plane[:h, :]
            u = plane[h : h + h // 4, :].reshape(h // 2, w // 2)
            vv = plane[h + h // 4 :, :].reshape(h // 2, w // 2)
            yc = y[y0 : y0 + ch, x0 : x0 + cw]
            uc = u[y0 // 2 : (y0 + ch) // 2, x0 // 2 : (x0 + cw) // 2]
            vc = vv[y0 // 2 : (y0 + ch) // 2, x0 // 2 : (x0 + cw) // 2]
            packed = np.concatenate([yc, uc.reshape(-1, cw), vc.reshape(-1, cw)])
            out_frame = av.VideoFrame.from_ndarray(packed, format="yuv420p")
            out_frame.pts, out_frame.time_base = n, Fraction(1, 25)
            out.mux(v.encode(out_frame))
            n += 1
            if n == frames:
                break
        out.mux(v.encode(None))
    return f"frames {first}-{first + n - 1}, {cw}x{ch} of {w}x{h}"


def pts_of(path: Path) -> list[int]:
    """Every video frame's pts in ``path``."""
    with av.open(str(path)) as c:
        return [f.pts for f in c.decode(c.streams.video[0])]


def save_frames(tmp: Path, name: str, folder: Path, index: int) -> None:
    """Frame ``index`` of the reuse-on and reuse-off outputs of ``name`` as PNGs in
    ``folder``, and their absolute difference x8 (to look for tile seams)."""
    folder.mkdir(parents=True, exist_ok=True)
    pictures = {}
    for key in ("on", "off"):
        with av.open(str(tmp / f"{name}-{key}.mp4")) as c:
            for i, frame in enumerate(c.decode(c.streams.video[0])):
                if i == index:
                    pictures[key] = frame.to_ndarray(format="rgb24")
                    frame.to_image().save(folder / f"{name}-{index}-{key}.png")
                    break
    diff = np.abs(pictures["on"].astype(int) - pictures["off"].astype(int))
    av.VideoFrame.from_ndarray(np.clip(diff * 8, 0, 255).astype(np.uint8), "rgb24").to_image().save(
        folder / f"{name}-{index}-diff-x8.png"
    )


def bench_clip(name: str, args: argparse.Namespace, upscaler, tmp: Path) -> dict:
    """The pipeline (``--frames`` > 0) and fidelity (``--eval-frames`` > 0) measurements of
    one clip."""
    row: dict = {"clip": name, "fidelity": []}
    if args.frames:
        row.update(timing(name, args, upscaler, tmp))
    if args.eval_frames:
        row["fidelity"] = fidelity(name, args, upscaler)
    return row


def timing(name: str, args: argparse.Namespace, upscaler, tmp: Path) -> dict:
    """Whole-pipeline runs with reuse on and off, alternating, after a warm-up."""
    file, first = CLIPS[name]
    clip = tmp / f"{name}.mkv"
    note = extract(DATA / file, clip, first, args.frames, args.max_width, args.max_height)
    on = UpscaleOptions.of(reuse=args.level, temporal=args.temporal)
    off = replace(on, reuse="off")
    Pipeline(off.changed(duration=0.2), upscaler=upscaler).run(str(clip), str(tmp / "warm.mp4"))
    runs: dict[str, list[dict]] = {"on": [], "off": []}
    for rep in range(args.repeat):
        order = (("on", on), ("off", off)) if rep % 2 == 0 else (("off", off), ("on", on))
        for key, options in order:
            out = tmp / f"{name}-{key}.mp4"
            load = os.getloadavg()[0]
            started = time.perf_counter()
            stats = Pipeline(options, upscaler=upscaler).run(str(clip), str(out))
            runs[key].append(
                {
                    "whole_s": time.perf_counter() - started,
                    "model_s": stats.model_seconds,
                    "frames": stats.frames_encoded,
                    "load": load,
                    "reuse": stats.reuse.as_dict() if stats.reuse else None,
                }
            )
    same_pts = pts_of(tmp / f"{name}-on.mp4") == pts_of(tmp / f"{name}-off.mp4")
    if args.png_dir:
        save_frames(tmp, name, Path(args.png_dir), args.png_frame)
    total = {k: sum(r["whole_s"] for r in v) for k, v in runs.items()}
    model = {k: sum(r["model_s"] for r in v) for k, v in runs.items()}
    return {
        "extract": note,
        "runs": runs,
        "speedup": total["off"] / total["on"],
        "model_saved": 1 - model["on"] / model["off"],
        "reuse": runs["on"][-1]["reuse"],
        "same_pts_and_count": same_pts,
    }


def same_coding_for_every_run() -> None:
    """Make ``vidsr eval --video --crf``'s libx264 coding of the LR return, for the same frames
    and CRF, what it returned the first time in this process, so reuse on and off are scored on
    the same input. (Written when the coding was not deterministic: the same frames came back
    up to 71 levels apart in some runs. ``vidsr.media.roundtrip`` now turns off libx264's
    macroblock tree, which was the cause; this cache only saves the second coding.)"""
    import hashlib

    from vidsr.media import roundtrip

    coded: dict[tuple, tuple] = {}
    original = roundtrip.h264_roundtrip

    def once(frames: np.ndarray, crf: int, **kwargs):
        key = (hashlib.sha256(frames.tobytes()).hexdigest(), frames.shape, crf, repr(kwargs))
        if key not in coded:
            coded[key] = original(frames, crf, **kwargs)
        return coded[key]

    roundtrip.h264_roundtrip = once


def fidelity(name: str, args: argparse.Namespace, upscaler) -> list[dict]:
    """``vidsr eval --video``'s scores with each ``--eval-levels`` and with reuse off, on the
    first ``--eval-frames`` frames, lossless and at each ``--crf``."""
    file = CLIPS[name][0]
    out = []
    for crf in [None, *args.crf]:
        scores = {}
        for level in ["off", *(args.eval_levels or [args.level])]:
            r = evaluate_video_model(
                ModelOptions(upscaler.name, precision=args.eval_precision),
                DATA / file,
                frames=args.eval_frames,
                crf=crf,
                temporal=args.temporal,
                ssim=False,
                reuse=level,
            )
            model = r["methods"][0]
            scores[level] = {
                "psnr": model["psnr"],
                "warping_error": model["warping_error"],
                "tof": model["tof"],
                "reuse": r["reuse"],
            }
        out.append({"crf": crf, "scores": scores})
    return out


def print_row(row: dict) -> None:
    if "runs" in row:
        on, off = row["runs"]["on"], row["runs"]["off"]
        reuse = row["reuse"] or {}
        print(
            f"{row['clip']:<11} {row['extract']}: whole on {[round(r['whole_s'], 1) for r in on]}"
            f" s, off {[round(r['whole_s'], 1) for r in off]} s -> {row['speedup']:.3f}x (sums);"
            f" model time {row['model_saved']:+.1%} saved; tiles computed "
            f"{reuse.get('tile_fraction', 1):.1%}, model pixels "
            f"{reuse.get('pixel_fraction', 1):.1%}, frames skipped "
            f"{reuse.get('frames_skipped', 0)}; same pts {row['same_pts_and_count']}; load "
            f"{[round(r['load'], 1) for r in on]} / {[round(r['load'], 1) for r in off]}"
        )
    for f in row["fidelity"]:
        crf = "lossless" if f["crf"] is None else f"CRF {f['crf']}"
        off = f["scores"]["off"]
        for level, a in f["scores"].items():
            if level == "off":
                continue
            px = (a["reuse"] or {}).get("pixel_fraction", 1)
            print(
                f"  {row['clip']:<11} {crf:<9} --reuse {level}: Y-PSNR {a['psnr']:.3f} off "
                f"{off['psnr']:.3f} ({a['psnr'] - off['psnr']:+.3f} dB); warp err "
                f"{a['warping_error']:.3f} / {off['warping_error']:.3f}; tOF {a['tof']:.4f} / "
                f"{off['tof']:.4f}; model pixels {px:.1%}"
            )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clips", default=",".join(CLIPS))
    p.add_argument("--frames", type=int, default=8, help="pipeline frames per clip, 0: none (8)")
    p.add_argument("--max-width", type=int, default=640)
    p.add_argument("--max-height", type=int, default=360)
    p.add_argument("--level", default="0", help="--reuse value measured against off (0)")
    p.add_argument("--temporal", default="auto")
    p.add_argument("--repeat", type=int, default=1, help="on/off pairs, alternating (1)")
    p.add_argument("--eval-frames", type=int, default=8, help="0: no fidelity part (8)")
    p.add_argument("--eval-precision", default="fp32", help="as vidsr eval's (fp32)")
    p.add_argument("--eval-levels", nargs="*", default=None, help="fidelity of these (--level)")
    p.add_argument("--crf", type=int, nargs="*", default=[28, 35])
    p.add_argument("--png-dir", default=None, help="save a frame of each output here")
    p.add_argument("--png-frame", type=int, default=5, help="which frame --png-dir saves (5)")
    p.add_argument("--json", default=None)
    args = p.parse_args()
    upscaler = load_model("realesr-animevideov3")
    same_coding_for_every_run()
    print(f"model {upscaler!r}; --reuse {args.level} against off; temporal {args.temporal}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="vidsr-bench-reuse-") as tmp:
        for name in args.clips.split(","):
            row = bench_clip(name, args, upscaler, Path(tmp))
            print_row(row)
            rows.append(row)
            if args.json:
                Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
