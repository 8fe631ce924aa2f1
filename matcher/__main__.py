"""``python -m matcher`` runs the ``changfang`` command."""

from matcher.cli import run

run()
