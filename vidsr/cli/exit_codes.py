"""The ``vidsr`` command's exit codes."""

EXIT_ERROR = 1
"""Any VidsrError (bad input, bad options, failed encode). Usage errors (an unknown flag, a
missing argument) are argparse's own: exit status 2."""
EXIT_CANCELLED = 130
"""Ctrl-C, SIGTERM or a cancelled job."""
