"""What a job's whole-input fingerprint costs: SHA-256 of every byte, as each run of a job reads it.

    .venv/bin/python scripts/bench_fingerprint.py [FILE] [--mib 2048] [--repeat 2]

Without FILE it writes a file of ``--mib`` MiB of random bytes in the temporary folder, times
:func:`vidsr.jobs.manifest.input_fingerprint` on it (the first pass reads from the disk or the
page cache, whichever holds it; the later ones from the page cache), and removes it. Prints one
line per pass and the throughput, as a ratio to the time of reading the same bytes without
hashing (so the figure says what the hash adds to the read itself).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

from vidsr.jobs.manifest import input_fingerprint


def _read_only(path: str) -> None:
    with open(path, "rb") as f:
        while f.read(4 << 20):
            pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file", nargs="?", help="an input to fingerprint (default: a made one)")
    parser.add_argument("--mib", type=int, default=2048, help="size of the made file (2048)")
    parser.add_argument("--repeat", type=int, default=2, help="passes (2)")
    args = parser.parse_args(argv)
    made = None
    path = args.file
    if path is None:
        handle, made = tempfile.mkstemp(suffix=".bin")
        with os.fdopen(handle, "wb") as f:
            block = os.urandom(4 << 20)
            for _ in range(args.mib // 4):
                f.write(block)
        path = made
    try:
        size = os.path.getsize(path)
        for i in range(args.repeat):
            started = time.perf_counter()
            input_fingerprint(path)
            hashed = time.perf_counter() - started
            started = time.perf_counter()
            _read_only(path)
            read = time.perf_counter() - started
            print(
                f"pass {i + 1}: {size / 2**30:.2f} GiB hashed in {hashed:.2f} s "
                f"({size / hashed / 2**30:.2f} GiB/s); read alone {read:.2f} s; "
                f"hash/read {hashed / read:.1f}x"
            )
    finally:
        if made:
            os.remove(made)
    return 0


if __name__ == "__main__":
    sys.exit(main())
