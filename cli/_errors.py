"""How every command reports bad input: one line per problem on stderr, exit code 2.

Shared by ``shocktwin.cli.app`` and the command groups it mounts (``rules``, ``report``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console

from shocktwin.errors import ShocktwinError

__all__ = ["EXIT_INVALID", "errors_to_exit", "stderr"]

EXIT_INVALID = 2
stderr = Console(stderr=True, soft_wrap=True)
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
