"""``vidsr models`` and ``vidsr probe``: what is installed, and what a file holds."""

from __future__ import annotations

import argparse

from vidsr.config import DEFAULT_MODEL


def add_models_parser(sub: argparse._SubParsersAction) -> None:
    """The ``models`` command (no arguments)."""
    sub.add_parser("models", help="list the built-in models")


def add_probe_parser(sub: argparse._SubParsersAction) -> None:
    """The ``probe`` command's arguments."""
    p = sub.add_parser("probe", help="show what vidsr will do with each stream of a file")
    p.add_argument("input")
    p.add_argument(
        "-o",
        "--output",
        help="the output it would write (default: the default output name): what the mux does "
        "with each stream depends on its container",
    )


def run_models(args: argparse.Namespace) -> int:
    """``vidsr models``: the built-in models, a line each."""
    from vidsr.models import list_models

    rows = [("name", "arch", "scale", "size", "Set5 PSNR", "reads", "source")]
    for spec in list_models():
        size = f"{spec.size_bytes / 1e6:.1f} MB" if spec.size_bytes else "-"
        scale = f"x{spec.scale}" if spec.source.get("kind") != "none" else "any"
        set5 = spec.scores.get("Set5", {})
        score = f"{set5['psnr']:.2f} dB" if "psnr" in set5 else "-"
        radius = spec.arch_info().neighbours // 2  # the output lags this many frames
        reads = f"t-{radius}..t+{radius}, lag {radius}" if radius else "t"
        rows.append((spec.name, spec.arch, scale, size, score, reads, spec.description))
    widths = [max(len(r[i]) for r in rows) for i in range(6)]
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row[:6], widths, strict=True)) + "  " + row[6])
    return 0


def run_probe(args: argparse.Namespace) -> int:
    """``vidsr probe``: what vidsr will do with each stream of a file."""
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
