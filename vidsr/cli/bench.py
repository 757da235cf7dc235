"""``vidsr bench`` (and ``scripts/bench.py``): the benchmark's arguments and its run."""

from __future__ import annotations

import argparse
from typing import Any

from vidsr.bench import format_table, run_bench
from vidsr.cli.arguments import (
    add_batch_argument,
    add_model_arguments,
    add_reuse_argument,
    model_options,
)
from vidsr.config import EncodeOptions, TemporalOptions, UpscaleOptions, WindowOptions


def add_parser(sub: argparse._SubParsersAction) -> None:
    """The ``bench`` command."""
    p = sub.add_parser("bench", help="time the pipeline, each stage and the ffmpeg-pipe baseline")
    add_arguments(p)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the benchmark's arguments to ``parser`` (``vidsr bench`` and ``scripts/bench.py``)."""
    e, t = EncodeOptions(), TemporalOptions()
    parser.add_argument("clip", help="input video")
    add_model_arguments(parser)
    parser.add_argument("--frames", type=int, default=16, help="frames to run (16)")
    parser.add_argument("--start", type=float, default=0.0, help="start time in seconds (0)")
    add_batch_argument(parser)
    parser.add_argument("--codec", default=e.codec, help=f"video encoder ({e.codec})")
    parser.add_argument("--preset", default=e.preset, help=f"encoder preset ({e.preset})")
    parser.add_argument("--crf", type=int, default=e.crf, help=f"encoder quality ({e.crf})")
    parser.add_argument(
        "--temporal", default="auto", help="temporal stage: auto (as vidsr upscale), off, ..."
    )
    parser.add_argument(
        "--lookahead", type=int, default=t.lookahead, help=f"its look-ahead ({t.lookahead})"
    )
    add_reuse_argument(parser)
    parser.add_argument("--repeat", type=int, default=1, help="measure N times, keep the fastest")
    parser.add_argument(
        "--baseline", action="store_true", help="also time the plain ffmpeg-pipe loop (fp32)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """:func:`run_bench` with the options :func:`add_arguments` parsed."""
    options = UpscaleOptions(
        model=model_options(args, batch_size=args.batch),
        encode=EncodeOptions(codec=args.codec, crf=args.crf, preset=args.preset),
        temporal=TemporalOptions(args.temporal, args.lookahead),
        window=WindowOptions(start=args.start),
        reuse=args.reuse,
    )
    return run_bench(
        args.clip, options, frames=args.frames, baseline=args.baseline, repeat=args.repeat
    )


def run(args: argparse.Namespace) -> int:
    """``vidsr bench``: the table (or JSON) of one benchmark run."""
    import json

    result = run_from_args(args)
    print(json.dumps(result, indent=2) if args.json else format_table(result))
    return 0
