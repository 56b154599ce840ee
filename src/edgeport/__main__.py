"""``python -m edgeport``: the ``edgeport`` command."""

import sys

from .cli import main

sys.exit(main())
