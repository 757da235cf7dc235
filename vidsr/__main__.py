"""``python -m vidsr``: the ``vidsr`` command."""

import sys

from vidsr.cli import main

if __name__ == "__main__":
    sys.exit(main())
