"""``vidsr eval`` and ``vidsr compare``: a model's scores, and a before/after picture."""

from __future__ import annotations

import argparse

from vidsr.cli.arguments import add_model_arguments, add_reuse_argument, model_options, seconds


def add_eval_parser(sub: argparse._SubParsersAction) -> None:
    """The ``eval`` command's arguments (an image set, or a video with --video)."""
    p = sub.add_parser(
        "eval",
        help="PSNR/SSIM (Y, BT.601) of a model on an image set, or with the temporal metrics on "
        "a video, vs bicubic",
    )
    p.add_argument("dataset", nargs="?", help="folder of high-resolution images (e.g. Set5/HR)")
    add_model_arguments(p, precision="fp32")
    p.add_argument("--scale", type=int, default=None, help="scale (default: the model's)")
    p.add_argument("--lr-dir", default=None, help="ready-made LR images (default: MATLAB bicubic)")
    p.add_argument("--jpeg", type=int, default=0, help="JPEG-compress the LR at this quality")
    p.add_argument("--limit", type=int, default=None, help="only the first N images")
    p.add_argument("--no-ssim", action="store_true", help="PSNR only (faster)")
    p.add_argument("--json", action="store_true", help="one JSON object")
    v = p.add_argument_group(
        "video (instead of an image set): its first frames are the ground truth; adds warping "
        "error, tOF, flicker and blockiness"
    )
    v.add_argument("--video", default=None, help="video file taken as ground truth")
    v.add_argument("--frames", type=int, default=None, help="first N frames (30)")
    v.add_argument("--crf", type=int, default=None, help="code the LR with libx264 at this CRF")
    v.add_argument(
        "--temporal",
        default=None,
        help="stabiliser: auto (default: medium; off for bicubic/lanczos), off, low, medium, high "
        "or a number in [0, 1]",
    )
    v.add_argument("--lookahead", type=int, default=None, help="stabiliser look-ahead (2)")
    add_reuse_argument(v)
    v.add_argument("--batch", type=int, default=None, help="frames per model call (4)")


def add_compare_parser(sub: argparse._SubParsersAction) -> None:
    """The ``compare`` command's arguments."""
    p = sub.add_parser("compare", help="a before/after picture of a video frame or an image")
    p.add_argument("input", help="video or image")
    p.add_argument("-o", "--output", required=True, help="the PNG to write")
    add_model_arguments(p)
    p.add_argument("--time", type=seconds, default=0.0, help="video: the frame at this time")
    p.add_argument("--mode", choices=["side", "split"], default="side")
    p.add_argument("--split", type=float, default=0.5, help="split mode: divider position")
    p.add_argument("--crops", type=int, default=2, help="enlarged crops to add")
    p.add_argument("--before", choices=["bicubic", "nearest"], default="bicubic")


def _check_eval_args(args) -> None:
    """An eval scores either an image set or a video, with the options of that kind only."""
    from vidsr.errors import InvalidOptionError

    if (args.dataset is None) == (args.video is None):
        raise InvalidOptionError(
            "eval needs an image folder or --video VIDEO, not "
            + ("both" if args.video is not None else "neither")
        )
    names = ("--lr-dir", "--jpeg", "--limit") if args.video else ("--frames", "--crf", "--batch")
    given = [n for n in names if getattr(args, n[2:].replace("-", "_")) not in (None, 0)]
    if not args.video:
        given += [n for n in ("--temporal", "--lookahead") if getattr(args, n[2:]) is not None]
        given += ["--reuse"] if args.reuse != "auto" else []
    if given:
        kind = "an image set" if args.video else "--video"
        raise InvalidOptionError(f"{', '.join(given)} only apply to {kind}")


def run_eval(args: argparse.Namespace) -> int:
    """``vidsr eval``: PSNR/SSIM on an image set, or the video metrics with --video."""
    import json

    from vidsr.quality.image_sets import evaluate_model, json_ready

    _check_eval_args(args)
    if args.video is not None:
        return _eval_video(args)
    r = evaluate_model(
        model_options(args, scale=args.scale),
        args.dataset,
        lr_dir=args.lr_dir,
        jpeg_quality=args.jpeg,
        limit=args.limit,
        ssim=not args.no_ssim,
    )
    if args.json:
        print(json.dumps(json_ready(r), indent=1))
        return 0
    print(f"{r['model']} x{r['scale']} on {r['dataset']} ({r['precision']}, Y channel, BT.601)")
    print(f"{'image':<24}{'PSNR':>9}{'SSIM':>8}{'bicubic':>10}{'SSIM':>8}")
    nan = float("nan")
    for img in [*r["images"], {"name": "mean", **r}]:
        ssim, bicubic_ssim = img.get("ssim"), img.get("bicubic_ssim")  # None with --no-ssim
        print(
            f"{img['name']:<24}{img['psnr']:>9.3f}{nan if ssim is None else ssim:>8.4f}"
            f"{img['bicubic_psnr']:>10.3f}{nan if bicubic_ssim is None else bicubic_ssim:>8.4f}"
        )
    return 0


def _eval_video(args) -> int:
    import json

    from vidsr.config import TEMPORAL_LOOKAHEAD
    from vidsr.quality.image_sets import json_ready
    from vidsr.quality.video import DEFAULT_FRAMES, evaluate_video_model

    r = evaluate_video_model(
        model_options(args, scale=args.scale),
        args.video,
        frames=args.frames if args.frames is not None else DEFAULT_FRAMES,
        crf=args.crf,
        temporal=args.temporal or "auto",
        lookahead=TEMPORAL_LOOKAHEAD if args.lookahead is None else args.lookahead,
        batch=args.batch or 4,
        ssim=not args.no_ssim,
        reuse=args.reuse,
    )
    if args.json:
        print(json.dumps(json_ready(r), indent=1))
        return 0
    w, h = r["size"]
    coded = f", LR coded with libx264 CRF {r['crf']}" if r["crf"] is not None else ""
    print(
        f"{r['model']} x{r['scale']} on {r['video']}: {r['frames']} frames {w}x{h}{coded} "
        f"({r['precision']}, Y channel, BT.601)"
    )
    names = [
        "bicubic baseline"
        if m["method"] == "bicubic"
        else f"{r['model']} (temporal {m['temporal']})"
        for m in r["methods"]
    ]
    width = max(len(n) for n in names) + 2
    print(
        f"{'method':<{width}}{'PSNR':>8}{'SSIM':>8}{'warp err':>10}{'tOF':>7}{'flicker':>9}"
        f"{'blocky':>8}{'fps':>8}"
    )
    for name, m in zip(names, r["methods"], strict=True):
        ssim = float("nan") if m["ssim"] is None else m["ssim"]
        print(
            f"{name:<{width}}{m['psnr']:>8.3f}{ssim:>8.4f}{m['warping_error']:>10.2f}{m['tof']:>7.3f}"
            f"{m['flicker']:>9.3f}{m['blockiness']:>8.3f}{m['fps']:>8.2f}"
        )
    reuse = r.get("reuse")
    if reuse:
        print(
            f"reuse: {reuse['tile_fraction']:.0%} of tiles computed, {reuse['frames_skipped']} of "
            f"{reuse['frames']} frames skipped, {reuse['pixel_fraction']:.0%} of the model's "
            f"pixels ({r['model_seconds']:.2f} s in the model)"
        )
    return 0


def run_compare(args: argparse.Namespace) -> int:
    """``vidsr compare``: a before/after picture."""
    from vidsr.quality.compare import compare_file

    path = compare_file(
        args.input,
        args.output,
        model_options(args),
        time_s=args.time,
        mode=args.mode,
        before=args.before,
        split=args.split,
        crops=args.crops,
    )
    print(f"wrote {path}")
    return 0
