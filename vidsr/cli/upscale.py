"""``vidsr upscale``: arguments -> options -> a pipeline run, a job or a batch."""

from __future__ import annotations

import argparse

from vidsr.cli.arguments import (
    add_batch_argument,
    add_model_arguments,
    add_reuse_argument,
    fraction,
    model_options,
    seconds,
)
from vidsr.cli.exit_codes import EXIT_ERROR
from vidsr.config import (
    DecodeOptions,
    EncodeOptions,
    JobOptions,
    TemporalOptions,
    UpscaleOptions,
    WindowOptions,
    parse_size,
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    """The ``upscale`` command's arguments (defaults from the options dataclasses)."""
    e, t, j = EncodeOptions(), TemporalOptions(), JobOptions()
    w, dec = WindowOptions(), DecodeOptions()
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
    p.add_argument(
        "--crf", type=int, default=e.crf, help=f"encoder quality, lower is better ({e.crf})"
    )
    p.add_argument("--preset", default=e.preset, help=f"encoder speed preset ({e.preset})")
    p.add_argument(
        "--codec",
        default=e.codec,
        help="video encoder: auto (libx264; VP9, or AV1 for deep sources, in .webm), libx265, "
        "libsvtav1, libvpx-vp9, ffv1, ...",
    )
    p.add_argument("--pix-fmt", default=None, help="output pixel format (default: source depth)")
    add_batch_argument(p)
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
    p.add_argument("--start", type=seconds, default=w.start, help="start of a preview window (s)")
    p.add_argument("--duration", type=seconds, default=None, help="length of the window (s)")
    p.add_argument(
        "--fps", type=fraction, default=None, help="frame rate of raw streams and image sequences"
    )
    p.add_argument(
        "--deinterlace",
        default=dec.deinterlace,
        choices=["auto", "off", "bwdif", "yadif"],
        help="deinterlace before upscaling (auto: when the stream is interlaced)",
    )
    p.add_argument(
        "--temporal",
        default=t.level,
        help="flicker stabiliser: auto (medium; off for bicubic/lanczos), off, low, medium, high "
        "or a number in [0, 1]",
    )
    p.add_argument(
        "--lookahead",
        type=int,
        default=t.lookahead,
        help=f"frames the stabiliser looks ahead, 0-4 ({t.lookahead}; 0: about half its "
        "cost, no fidelity gain)",
    )
    p.add_argument(
        "--deblock",
        default=dec.deblock,
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
        "--segment-seconds",
        type=float,
        default=j.segment_seconds,
        help=f"length of a resumable segment ({j.segment_seconds:g})",
    )
    jobs.add_argument(
        "--workers", type=int, default=j.workers, help="segments processed at once (processes)"
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


def run(args: argparse.Namespace) -> int:
    """``vidsr upscale``: one video, a resumable job, or a folder batch."""
    from tqdm import tqdm

    options = options_from_args(args)
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


def options_from_args(args: argparse.Namespace) -> UpscaleOptions:
    """The :class:`UpscaleOptions` of ``vidsr upscale``'s parsed arguments, group by group."""
    return UpscaleOptions(
        model=model_options(args, scale=args.scale, compile=args.compile, batch_size=args.batch),
        encode=EncodeOptions(args.codec, args.crf, args.preset, args.pix_fmt),
        temporal=TemporalOptions(args.temporal, args.lookahead),
        window=WindowOptions(args.start, args.duration, args.fps),
        decode=DecodeOptions(args.deblock, args.deinterlace, args.apply_rotation),
        max_memory=parse_size(args.max_memory) if args.max_memory else None,
        reuse=args.reuse,
    )


def _dispatch_upscale(args, options, progress) -> int:
    """A folder batch, a resumable job (whole video files), or one pipeline run (the rest)."""
    from vidsr.jobs import is_batch_input, run_batch, run_job, summary_table
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
            args.input, expected_scale(options.model.name, options.model.scale)
        )
        rows = run_batch(args.input, out_dir, options, job, recursive=args.recursive)
        print(summary_table(rows))
        return EXIT_ERROR if any(r.status == "failed" for r in rows) else 0
    output = args.output or default_output_path(
        args.input, expected_scale(options.model.name, options.model.scale)
    )
    whole_video = (
        not input_spec(args.input).images
        and not is_image_output(output)
        and uncompressed_output(output) is None
        and options.window.start == 0
        and options.window.duration is None
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
