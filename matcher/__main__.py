"""``python -m matcher`` runs the ``changfang`` command."""

import sys

from matcher.cli import main

sys.exit(main())
