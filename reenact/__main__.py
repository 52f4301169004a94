"""`python -m reenact`: the same as the `reenact` command."""

import sys

from reenact.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
