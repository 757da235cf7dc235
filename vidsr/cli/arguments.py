"""What the commands' arguments share: the model argument group (``upscale``, ``eval``,
``compare``, ``bench`` and ``scripts/bench.py``; declared once, so a flag means the same
everywhere) and the value types (fractions, times)."""

from __future__ import annotations

import argparse
from fractions import Fraction
from typing import Any

from vidsr.config import CPU_BATCH, DEFAULT_MODEL, GPU_BATCH, ModelOptions

DEVICES = ("auto", "cpu", "cuda")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")


def add_model_arguments(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    *,
    precision: str = "auto",
) -> None:
    """``-m/--model``, ``--device``, ``--precision`` and ``--tile``; ``precision`` is the
    command's default (evaluation measures in fp32)."""
    parser.add_argument(
        "-m",
        "--model",
        default=DEFAULT_MODEL,
        help=f"model name (see `vidsr models`) or .pth path ({DEFAULT_MODEL})",
    )
    parser.add_argument(
        "--device", default="auto", choices=DEVICES, help="where the model runs (auto: CUDA if any)"
    )
    parser.add_argument(
        "--precision",
        default=precision,
        choices=PRECISIONS,
        help=f"compute precision ({precision}: fp16 on CUDA, bf16 on CPUs that have it)"
        if precision == "auto"
        else f"compute precision ({precision})",
    )
    parser.add_argument(
        "--tile", type=int, default=0, help="tile size in input pixels (0: whole frames)"
    )


def model_options(args: argparse.Namespace, **more: Any) -> ModelOptions:
    """The :class:`ModelOptions` of :func:`add_model_arguments`' flags, plus ``more`` fields
    (``scale``, ``compile``, ``batch_size``) of the commands that take them."""
    return ModelOptions(
        name=args.model, device=args.device, precision=args.precision, tile=args.tile, **more
    )


def fraction(text: str) -> Fraction:
    """A number as an exact fraction (``30000/1001``, ``25``)."""
    try:
        value = Fraction(text)
    except (ValueError, ZeroDivisionError):
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    return value


def seconds(text: str) -> float:
    """Seconds as ``12.5``, ``1:30`` or ``0:01:30.5``."""
    try:
        parts = [float(p) for p in text.split(":")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a time: {text!r}") from None
    value = 0.0
    for part in parts:
        value = value * 60 + part
    return value


def add_batch_argument(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """``--batch``: frames per model call (default: the device's, see
    :func:`vidsr.config.default_batch`)."""
    parser.add_argument(
        "--batch",
        type=int,
        default=None,
        help=f"frames per model call ({CPU_BATCH} on CPU, {GPU_BATCH} on GPU)",
    )


def add_reuse_argument(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """``--reuse auto|off|LEVEL`` (``upscale``, ``bench``, ``eval --video``)."""
    from vidsr.reuse.level import AUTO_REUSE, BLOCK, MAX_LEVEL, PEAK_RATIO, SHIFT_RATIO

    parser.add_argument(
        "--reuse",
        default="auto",
        help=f"compute only what changed and keep the output of the rest: auto ({AUTO_REUSE}), "
        f"off, repeats (a frame that repeats the last one exactly skips the model; the output is "
        f"bit for bit the full computation's) or LEVEL in 0-{MAX_LEVEL:g}: only the regions "
        f"whose input changed run; a {BLOCK}x{BLOCK} block changed when its mean |difference| "
        f"on a channel passes LEVEL (of 255), its mean difference LEVEL/{SHIFT_RATIO:g} or one "
        f"pixel's {PEAK_RATIO:g} x LEVEL (0: exactly equal blocks only)",
    )
