"""``python -m shocktwin``: the same as the ``shocktwin`` command."""

from __future__ import annotations

from shocktwin.cli import main

main()
