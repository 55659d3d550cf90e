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

__all__ = ["EXIT_BROKEN_PIPE", "EXIT_INTERNAL", "EXIT_INTERRUPTED", "EXIT_INVALID",
           "PIPE_WIDTH", "console", "errors_to_exit", "report_internal_error", "stderr"]

EXIT_INVALID = 2
#: A fault of shocktwin itself, never of the input: not 0 or 1, which a pipeline reads as
#: "the hypothesis holds" and "it is violated".
EXIT_INTERNAL = 3
#: Interrupted (Ctrl-C) and the reader of stdout gone: the shells' 128 + signal number.
EXIT_INTERRUPTED, EXIT_BROKEN_PIPE = 130, 141
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
        except (typer.Exit, typer.Abort, SystemExit):
            raise
        except KeyboardInterrupt:  # not 1, which says "violated"
            stderr.print("interrupted", markup=False, highlight=False)
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except BrokenPipeError:  # the reader went away (``verify --json | head``)
            _quiet_stdout()
            raise typer.Exit(EXIT_BROKEN_PIPE) from None
        except Exception as e:  # a bug: say so, with the trace, and never exit 0 or 1
            report_internal_error(e)
            raise typer.Exit(EXIT_INTERNAL) from None

    return wrapper  # type: ignore[return-value]


def _quiet_stdout() -> None:
    """Point stdout at /dev/null, so flushing at exit does not fail on the closed pipe."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def report_internal_error(error: BaseException) -> None:
    """Print an internal error with its traceback on stderr, as a bug to report."""
    import traceback

    stderr.print(f"internal error (a fault of shocktwin, not of your input; please report it "
                 f"with the trace below): {type(error).__name__}: {error}", markup=False,
                 highlight=False)
    sys.stderr.write("".join(traceback.format_exception(error)))
