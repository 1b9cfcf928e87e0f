"""``python -m ranker``: see ranker/cli.py."""

import sys

from ranker.cli import main

sys.exit(main())
