"""Benchmark vidsr on a clip: the whole pipeline, each stage alone, and (``--baseline``) a plain
ffmpeg-pipe loop with the same weights in fp32, as Real-ESRGAN's video script runs on a CPU.

    .venv/bin/python scripts/bench.py CLIP [--model M] [--frames N] [--precision auto|fp32|bf16]
                                           [--start S] [--baseline] [--repeat R] [--json]

Prints a table, or with ``--json`` one JSON object (keys: ``vidsr.bench.RESULT_KEYS`` and more).
The baseline needs the ``bench`` extra (imageio-ffmpeg, ffmpeg-python); without it it is skipped.
"""

from __future__ import annotations

import argparse
import json
import sys

# The same process settings as the vidsr program (OpenMP waits passively, malloc keeps big
# buffers; may restart this script once), before torch loads.
from vidsr.process import configure_process

if __name__ == "__main__":
    configure_process()

from vidsr.cli import bench
from vidsr.errors import VidsrError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    bench.add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        result = bench.run_from_args(args)
    except VidsrError as err:
        print(f"bench: {err}", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2) if args.json else bench.format_table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
