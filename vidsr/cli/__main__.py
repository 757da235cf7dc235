"""``python -m vidsr.cli``: the ``vidsr`` command."""

import sys

from vidsr.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
