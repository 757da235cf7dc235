"""Argument groups every command that runs a model shares (``upscale``, ``eval``, ``compare``,
``bench`` and ``scripts/bench.py``): declared once, so a flag means the same everywhere."""

from __future__ import annotations

import argparse

from vidsr.config import DEFAULT_MODEL

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


def add_reuse_argument(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """``--reuse auto|off|LEVEL`` (``upscale``, ``bench``, ``eval --video``)."""
    from vidsr.reuse.level import AUTO_REUSE

    parser.add_argument(
        "--reuse",
        default="auto",
        help=f"compute only the regions whose input changed by more than LEVEL (of 255) and "
        f"keep the rest: auto ({AUTO_REUSE}), off or LEVEL (0: exact repeats only)",
    )
