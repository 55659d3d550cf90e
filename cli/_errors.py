"""How every command reports bad input: one line per problem on stderr, exit code 2.

Shared by ``shocktwin.cli.app`` and the command groups it mounts (``rules``, ``report``).
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console

from shocktwin.errors import ShocktwinError

__all__ = ["EXIT_INVALID", "PIPE_WIDTH", "console", "errors_to_exit", "stderr"]

EXIT_INVALID = 2
#: Columns of tables written into a pipe or a CI log (a terminal uses its own width).
PIPE_WIDTH = 200


def console(*, stderr: bool = False) -> Console:
    """A console for the command line: the terminal's width on a terminal, else $COLUMNS or
    PIPE_WIDTH, so a table in a CI log is not folded at 80 columns."""
    stream = sys.stderr if stderr else sys.stdout
    width = None
    if not stream.isatty():
        columns = os.environ.get("COLUMNS", "")
        width = int(columns) if columns.isdigit() and int(columns) > 0 else PIPE_WIDTH
    return Console(stderr=stderr, soft_wrap=True, width=width)


stderr = console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])


def errors_to_exit(fn: F) -> F:
    """Turn library errors into one clear line per problem and exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ShocktwinError as e:
            for problem in e.problems:
                stderr.print(f"error: {problem}", markup=False, highlight=False)
            raise typer.Exit(EXIT_INVALID) from None

    return wrapper  # type: ignore[return-value]
