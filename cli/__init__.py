"""The ``shocktwin`` command line: a thin layer of typer commands over the library.

Each command parses its arguments, calls one library function, renders the result and sets
the exit code; library errors become one line per problem (``_errors``).
"""

from __future__ import annotations

from shocktwin.cli.app import app, main

__all__ = ["app", "main"]
