"""The ``vidsr`` command: argparse -> options -> library call.

The only place that prints, exits, or turns errors into exit codes. Every failure is one line on
stderr and a non-zero exit; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from fractions import Fraction

from vidsr.cli_args import add_model_arguments, add_reuse_argument
from vidsr.config import DEFAULT_MODEL

EXIT_ERROR = 1
"""Any VidsrError (bad input, bad options, failed encode). Usage errors (an unknown flag, a
missing argument) are argparse's own: exit status 2."""
EXIT_CANCELLED = 130


def _fraction(text: str) -> Fraction:
    try:
        value = Fraction(text)
    except (ValueError, ZeroDivisionError):
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    return value


def _seconds(text: str) -> float:
    """Seconds as ``12.5``, ``1:30`` or ``0:01:30.5``."""
    try:
        parts = [float(p) for p in text.split(":")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a time: {text!r}") from None
    value = 0.0
    for part in parts:
        value = value * 60 + part
    return value


def _add_upscale(sub) -> None:
    from vidsr.config import TEMPORAL_LOOKAHEAD

    p = sub.add_parser("upscale", help="upscale a video (the main job)")
    p.add_argument(
        "input",
        help="video file, folder (a batch, or image frames), %%06d pattern, photo, or raw "
        ".yuv/.i420/.rgb with its size in the name (clip_352x288_yuv420p.yuv)",
    )
    p.add_argument(
        "-o",
        "--output",
        help="output file (default: INPUT_x4.mp4 beside the input); .webm: VP9/AV1 + Opus; "
        ".yuv/.y4m: uncompressed frames",
    )
    p.add_argument("-s", "--scale", type=float, help="output scale (default: the model's own)")
    add_model_arguments(p)
    p.add_argument("--crf", type=int, default=18, help="encoder quality, lower is better (18)")
    p.add_argument("--preset", default="medium", help="encoder speed preset (medium)")
    p.add_argument(
        "--codec",
        default="auto",
        help="video encoder: auto (libx264; VP9, or AV1 for deep sources, in .webm), libx265, "
        "libsvtav1, libvpx-vp9, ffv1, ...",
    )
    p.add_argument("--pix-fmt", default=None, help="output pixel format (default: source depth)")
    p.add_argument("--batch", type=int, default=4, help="frames per model call (4)")
    p.add_argument(
        "--compile",
        default="auto",
        choices=["auto", "on", "off"],
        help="torch.compile the network (auto: on CUDA, with CUDA graphs; falls back to eager)",
    )
    p.add_argument(
        "--max-memory",
        default=None,
        help="memory limit such as 4G: frames are tiled and batches shrunk to stay under it",
    )
    p.add_argument("--start", type=_seconds, default=0.0, help="start of a preview window (s)")
    p.add_argument("--duration", type=_seconds, default=None, help="length of the window (s)")
    p.add_argument(
        "--fps", type=_fraction, default=None, help="frame rate of raw streams and image sequences"
    )
    p.add_argument(
        "--deinterlace",
        default="auto",
        choices=["auto", "off", "bwdif", "yadif"],
        help="deinterlace before upscaling (auto: when the stream is interlaced)",
    )
    p.add_argument(
        "--temporal",
        default="auto",
        help="flicker stabiliser: auto (medium; off for bicubic/lanczos), off, low, medium, high "
        "or a number in [0, 1]",
    )
    p.add_argument(
        "--lookahead",
        type=int,
        default=TEMPORAL_LOOKAHEAD,
        help=f"frames the stabiliser looks ahead, 0-4 ({TEMPORAL_LOOKAHEAD}; 0: about half its "
        "cost, no fidelity gain)",
    )
    p.add_argument(
        "--deblock",
        default="auto",
        help="deblock compressed input before upscaling: auto (default), off or a strength",
    )
    add_reuse_argument(p)
    p.add_argument(
        "--apply-rotation",
        action="store_true",
        help="turn rotated (phone) video upright instead of keeping the rotation tag",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    jobs = p.add_argument_group(
        "long jobs (whole video files; resumable: run the same command again)"
    )
    jobs.add_argument(
        "--segment-seconds", type=float, default=60.0, help="length of a resumable segment (60)"
    )
    jobs.add_argument(
        "--workers", type=int, default=1, help="segments processed at once (processes)"
    )
    jobs.add_argument(
        "--backend", choices=["local", "ray"], default="local", help="run segments here or on Ray"
    )
    jobs.add_argument("--address", default=None, help="Ray cluster address (default: local Ray)")
    jobs.add_argument("--recursive", action="store_true", help="folder input: include subfolders")
    jobs.add_argument(
        "--restart", action="store_true", help="discard an unfinished job for this output"
    )
    jobs.add_argument("--no-space-check", action="store_true", help="skip the free-space check")


def _add_models(sub) -> None:
    sub.add_parser("models", help="list the built-in models")


def _add_probe(sub) -> None:
    p = sub.add_parser("probe", help="show what vidsr will do with each stream of a file")
    p.add_argument("input")
    p.add_argument(
        "-o",
        "--output",
        help="the output it would write (default: the default output name): what the mux does "
        "with each stream depends on its container",
    )


def _add_bench(sub) -> None:
    from vidsr import bench

    p = sub.add_parser("bench", help="time the pipeline, each stage and the ffmpeg-pipe baseline")
    bench.add_arguments(p)


def _add_eval(sub) -> None:
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


def _add_compare(sub) -> None:
    p = sub.add_parser("compare", help="a before/after picture of a video frame or an image")
    p.add_argument("input", help="video or image")
    p.add_argument("-o", "--output", required=True, help="the PNG to write")
    add_model_arguments(p)
    p.add_argument("--time", type=_seconds, default=0.0, help="video: the frame at this time")
    p.add_argument("--mode", choices=["side", "split"], default="side")
    p.add_argument("--split", type=float, default=0.5, help="split mode: divider position")
    p.add_argument("--crops", type=int, default=2, help="enlarged crops to add")
    p.add_argument("--before", choices=["bicubic", "nearest"], default="bicubic")


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (exposed for tests and docs)."""
    parser = argparse.ArgumentParser(prog="vidsr", description="Video super-resolution.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_upscale(sub)
    _add_models(sub)
    _add_probe(sub)
    _add_bench(sub)
    _add_eval(sub)
    _add_compare(sub)
    from vidsr.web.server import add_parser as add_serve

    add_serve(sub)
    return parser


def _cmd_upscale(args) -> int:
    from tqdm import tqdm

    from vidsr.config import UpscaleOptions, parse_size

    options = UpscaleOptions(
        model=args.model,
        scale=args.scale,
        tile=args.tile,
        device=args.device,
        precision=args.precision,
        compile=args.compile,
        batch_size=args.batch,
        codec=args.codec,
        crf=args.crf,
        preset=args.preset,
        pix_fmt=args.pix_fmt,
        start=args.start,
        duration=args.duration,
        fps=args.fps,
        deinterlace=args.deinterlace,
        temporal=args.temporal,
        lookahead=args.lookahead,
        deblock=args.deblock,
        reuse=args.reuse,
        apply_rotation=args.apply_rotation,
        max_memory=parse_size(args.max_memory) if args.max_memory else None,
    )
    bar = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if args.quiet:
            return
        if bar is None:
            bar = tqdm(total=total or None, unit="frame", dynamic_ncols=True, desc="upscaling")
        if total and total > (bar.total or 0):
            bar.total = total
        bar.update(done - bar.n)

    try:
        return _dispatch_upscale(args, options, progress)
    finally:
        if bar is not None:
            bar.close()


def _dispatch_upscale(args, options, progress) -> int:
    """A folder batch, a resumable job (whole video files), or one pipeline run (the rest)."""
    from vidsr.jobs import JobOptions, is_batch_input, run_batch, run_job, summary_table
    from vidsr.media.images import input_spec, is_image_output
    from vidsr.media.rawvideo import uncompressed_output
    from vidsr.models.catalog import expected_scale
    from vidsr.paths import default_output_path
    from vidsr.pipeline import Pipeline

    job = JobOptions(
        segment_seconds=args.segment_seconds,
        workers=args.workers,
        backend=args.backend,
        address=args.address,
        restart=args.restart,
        check_space=not args.no_space_check,
    )
    if is_batch_input(args.input, args.recursive):
        out_dir = args.output or default_output_path(
            args.input, expected_scale(options.model, options.scale)
        )
        rows = run_batch(args.input, out_dir, options, job, recursive=args.recursive)
        print(summary_table(rows))
        return EXIT_ERROR if any(r.status == "failed" for r in rows) else 0
    output = args.output or default_output_path(
        args.input, expected_scale(options.model, options.scale)
    )
    whole_video = (
        not input_spec(args.input).images
        and not is_image_output(output)
        and uncompressed_output(output) is None
        and options.start == 0
        and options.duration is None
    )
    if whole_video:
        result = run_job(args.input, output, options, job, progress)
        if not args.quiet:
            reused = f", {result.reused} segments reused" if result.reused else ""
            print(
                f"wrote {result.output}: {result.frames} frames in {result.wall_seconds:.1f} s"
                f"{reused}"
            )
        return 0
    pipeline = Pipeline(options, progress=progress)
    stats = pipeline.run(args.input, output)
    up = pipeline.upscaler
    if not args.quiet:
        print(
            f"wrote {stats.output}: {stats.frames_encoded} frames, {up.name} x{up.scale:g} "
            f"({up.device.type}, {str(up.dtype).replace('torch.', '')}), {stats.fps:.2f} fps"
        )
    return 0


def _cmd_models(args) -> int:
    from vidsr.models import list_models

    rows = [("name", "arch", "scale", "size", "Set5 PSNR", "source")]
    for spec in list_models():
        size = f"{spec.size_bytes / 1e6:.1f} MB" if spec.size_bytes else "-"
        scale = f"x{spec.scale}" if spec.source.get("kind") != "none" else "any"
        set5 = spec.scores.get("Set5", {})
        score = f"{set5['psnr']:.2f} dB" if "psnr" in set5 else "-"
        rows.append((spec.name, spec.arch, scale, size, score, spec.description))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row[:5], widths, strict=True)) + "  " + row[5])
    return 0


def _cmd_probe(args) -> int:
    from vidsr.media.mux import StreamAction, other_stream_actions
    from vidsr.media.probe import probe
    from vidsr.models.catalog import expected_scale
    from vidsr.paths import default_output_path

    info = probe(args.input)
    v = info.video
    rate = f"{float(v.average_rate):.3f} fps" if v.average_rate else "unknown rate"
    rate += " (variable)" if v.variable_rate else ""
    rate += "" if v.has_timestamps else ", no timestamps (rate from the stream or --fps)"
    sar = "square pixels"
    if v.sample_aspect_ratio and v.sample_aspect_ratio != 1:
        dar = v.sample_aspect_ratio * v.width / v.height
        sar = f"SAR {v.sample_aspect_ratio}, DAR {dar.numerator}:{dar.denominator}"
    print(f"{info.path}: {info.format_name}, {info.duration_s or 0:.2f} s")
    print(
        f"  video #{v.index}: {v.codec} {v.width}x{v.height} {v.pix_fmt} ({v.bit_depth}-bit), "
        f"{rate}, {sar}, rotation {v.rotation}, {v.field_order}"
    )
    interlaced = v.field_order not in ("progressive", "unknown")
    print(
        f"    colour: {v.color.describe()}, primaries {v.color.primaries}, transfer "
        f"{v.color.transfer}; {'deinterlaced with bwdif' if interlaced else 'progressive'}"
    )
    output = args.output or default_output_path(args.input, expected_scale(DEFAULT_MODEL))
    actions = other_stream_actions(args.input, output) if info.others else {}
    if info.others:
        print(f"  into {output}:")
    for s in info.others:
        action = actions.get(s.index, StreamAction.LEFT_OUT)
        lang = f" [{s.language}]" if s.language else ""
        print(f"  {s.kind} #{s.index}: {s.codec}{lang} -> {action.value}")
    return 0


def _interrupt(signum, frame) -> None:
    """Unwind on SIGTERM as on Ctrl-C, so the temporary output is removed."""
    from vidsr.errors import Terminated

    raise Terminated


def _cmd_bench(args) -> int:
    import json

    from vidsr import bench

    result = bench.run_from_args(args)
    print(json.dumps(result, indent=2) if args.json else bench.format_table(result))
    return 0


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


def _cmd_eval(args) -> int:
    import json

    from vidsr.quality.image_sets import evaluate_model, json_ready

    _check_eval_args(args)
    if args.video is not None:
        return _eval_video(args)
    r = evaluate_model(
        args.model,
        args.dataset,
        scale=args.scale,
        device=args.device,
        precision=args.precision,
        tile=args.tile,
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
        args.model,
        args.video,
        scale=args.scale,
        device=args.device,
        precision=args.precision,
        tile=args.tile,
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


def _cmd_compare(args) -> int:
    from vidsr.quality.compare import compare_file

    path = compare_file(
        args.input,
        args.output,
        args.model,
        time_s=args.time,
        mode=args.mode,
        before=args.before,
        split=args.split,
        crops=args.crops,
        device=args.device,
        precision=args.precision,
        tile=args.tile,
    )
    print(f"wrote {path}")
    return 0


def _cmd_serve(args) -> int:
    from vidsr.web.server import run_command

    return run_command(args)


COMMANDS = {
    "upscale": _cmd_upscale,
    "serve": _cmd_serve,
    "models": _cmd_models,
    "probe": _cmd_probe,
    "bench": _cmd_bench,
    "eval": _cmd_eval,
    "compare": _cmd_compare,
}


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``vidsr`` console script; returns the exit code.

    Run as the program (``argv`` None), it first applies :mod:`vidsr.process` (OpenMP and malloc
    settings, which may restart the process once), except the malloc ones under
    ``--max-memory``, which wants freed memory returned at once; called with ``argv`` from
    Python, it only sets the OpenMP default.
    """
    from vidsr.process import configure_process

    parser = build_parser()
    args = parser.parse_args(argv)
    configure_process(reexec=argv is None and not getattr(args, "max_memory", None))
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.WARNING,
        format="vidsr: %(levelname)s: %(message)s",
    )
    from vidsr.errors import CancelledError, Terminated, VidsrError

    signal.signal(signal.SIGTERM, _interrupt)
    try:
        return COMMANDS[args.command](args)
    except CancelledError as err:
        if args.debug:
            raise
        print(f"vidsr: {err}", file=sys.stderr)
        return EXIT_CANCELLED
    except KeyboardInterrupt as err:
        why = "terminated (SIGTERM)" if isinstance(err, Terminated) else "cancelled"
        print(f"vidsr: {why}", file=sys.stderr)
        return EXIT_CANCELLED
    except VidsrError as err:
        if args.debug:
            raise
        print(f"vidsr: error: {err}", file=sys.stderr)
        return EXIT_ERROR
    except Exception as err:  # an unexpected failure still gets one line, not a traceback
        if args.debug:
            raise
        print(
            f"vidsr: unexpected error: {type(err).__name__}: {err} (run with --debug)",
            file=sys.stderr,
        )
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
