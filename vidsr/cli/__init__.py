"""The ``vidsr`` command line: one module per command (``upscale``, ``describe``: models
and probe, ``bench``, ``evaluate``: eval and compare), their shared ``arguments``, and ``main``."""

from vidsr.cli.exit_codes import EXIT_CANCELLED, EXIT_ERROR
from vidsr.cli.main import build_parser, main

__all__ = ["EXIT_CANCELLED", "EXIT_ERROR", "build_parser", "main"]
