"""``python -m skloss``: the same as the ``skloss`` command."""

import sys

from skloss.cli import main

if __name__ == "__main__":
    sys.exit(main())
