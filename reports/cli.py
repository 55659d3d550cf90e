"""The `shocktwin report` command: the management-review HTML report of results folders.

Mounted by the top-level ``cli.py``. Exit 0 when the report was written, 2 when a results
folder is missing or unreadable (one line per problem on stderr, nothing written).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

__all__ = ["report_command"]

F = TypeVar("F", bound=Callable[..., Any])


def _errors_to_exit(fn: F) -> F:
    """The top-level CLI's handling of library errors (one line per problem, exit 2).

    Looked up when the command runs, because ``cli.py`` imports this module to mount it.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from cli import _errors_to_exit as handled

        return handled(fn)(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


@_errors_to_exit
def report_command(
    results: Annotated[list[Path], typer.Argument(
        metavar="RESULTS", show_default=False,
        help="Results folders written by `shocktwin run`, `mtd` or `optimize` with --out.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="The HTML file to write.")
                   ] = Path("report.html"),
    title: Annotated[str | None, typer.Option(help="The report's title (default: names the "
                                              "scenarios).")] = None,
) -> None:
    """Write one self-contained HTML report for a management review: MTD against targets,
    the hypothesis verdict with 95 % CIs, resilience curves, KPI distributions, rule-set
    changes, the Pareto front of mitigations, data provenance and what is needed to
    reproduce each run."""
    from reports.html import write_report
    from twin.journal import utc_now

    path = write_report(results, out, title=title, generated_utc=utc_now())
    typer.echo(f"report written to {path}")
