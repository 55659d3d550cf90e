"""The `shocktwin report` command: the management-review HTML report of results folders.

Mounted by ``shocktwin.cli.app``. Exit 0 when the report was written, 2 when a results
folder is missing, unreadable or does not verify (one line per problem on stderr, nothing
written).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from shocktwin.cli._errors import errors_to_exit as _errors_to_exit
from shocktwin.errors import one_line

__all__ = ["report_command"]


@_errors_to_exit
def report_command(
    results: Annotated[list[Path], typer.Argument(
        metavar="RESULTS", show_default=False,
        help="Results folders written by `shocktwin run`, `mtd` or `optimize` with --out.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="The HTML file to write.")
                   ] = Path("report.html"),
    title: Annotated[str | None, typer.Option(help="The report's title (default: names the "
                                              "scenarios).")] = None,
    unverified: Annotated[bool, typer.Option(
        "--unverified", help="Report results that do not verify (edited, or without "
        "integrity data) instead of refusing them; page one then says so.")] = False,
) -> None:
    """Write one self-contained HTML report for a management review: MTD against targets,
    the hypothesis verdict with 95 % CIs, resilience curves, KPI distributions, rule-set
    changes, the Pareto front of mitigations, data provenance and what is needed to
    reproduce each run."""
    from shocktwin.reports.html import write_report
    from shocktwin.twin.journal.record import utc_now

    path = write_report(results, out, title=title, generated_utc=utc_now(),
                        unverified=unverified)
    typer.echo(one_line(f"report written to {path}"))
