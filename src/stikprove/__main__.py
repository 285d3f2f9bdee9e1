"""``python -m stikprove``: the same command line as ``stikprove``."""

import sys

from stikprove.cli import main

if __name__ == "__main__":  # pragma: no cover - run as a program
    sys.exit(main())
