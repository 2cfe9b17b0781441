"""``python -m mglwkd_lite``: the command line of :mod:`mglwkd_lite.cli`."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
