"""The ``vidsr`` command: argparse -> options -> library call.

The only place that prints, exits, or turns errors into exit codes. Every failure is one line on
stderr and a non-zero exit; ``--debug`` shows the traceback. Each command lives in its own
module (arguments and run function); this one builds the parser and dispatches.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Callable

from vidsr.cli import bench, describe, evaluate, upscale
from vidsr.cli.exit_codes import EXIT_CANCELLED, EXIT_ERROR
from vidsr.web.server import add_parser as serve_parser
from vidsr.web.server import run_command as run_serve


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (exposed for tests and docs)."""
    parser = argparse.ArgumentParser(prog="vidsr", description="Video super-resolution.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    sub = parser.add_subparsers(dest="command", required=True)
    upscale.add_parser(sub)
    describe.add_models_parser(sub)
    describe.add_probe_parser(sub)
    bench.add_parser(sub)
    evaluate.add_eval_parser(sub)
    evaluate.add_compare_parser(sub)
    serve_parser(sub)
    return parser


def _interrupt(signum, frame) -> None:
    """Unwind on SIGTERM as on Ctrl-C, so the temporary output is removed."""
    from vidsr.errors import Terminated

    raise Terminated


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "upscale": upscale.run,
    "serve": run_serve,
    "models": describe.run_models,
    "probe": describe.run_probe,
    "bench": bench.run,
    "eval": evaluate.run_eval,
    "compare": evaluate.run_compare,
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
