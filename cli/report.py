"""The `shocktwin report` command: the management-review HTML report of results folders and
the campaign history.

Mounted by ``shocktwin.cli.app``. Exit 0 when the report was written, 2 when a results
folder is missing, unreadable or does not verify, or the history, the review or the language
asked for cannot be had (one line per problem on stderr, nothing written).
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
    results: Annotated[list[Path] | None, typer.Argument(
        metavar="RESULTS", show_default=False,
        help="Results folders written by `shocktwin run`, `mtd`, `optimize`, `stress` or "
             "`campaign` with --out (optional with --history).")] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="The HTML file to write.")
                   ] = Path("report.html"),
    history: Annotated[Path | None, typer.Option(
        "--history", metavar="FILE", help="The campaign history (DuckDB) to compare with: "
        "page one shows each indicator's change since the last review, and the trends over "
        "reviews.")] = None,
    review: Annotated[str | None, typer.Option(
        "--review", metavar="LABEL", help="The review of the history to report (default: "
        "the latest); a label not in the history is refused.")] = None,
    lang: Annotated[str, typer.Option(
        "--lang", metavar="en|zh-CN", help="The report's language: en (English) or zh-CN "
        "(Simplified Chinese); labels, units, verdicts, numbers and dates follow it.")
    ] = "en",
    screen: Annotated[Path | None, typer.Option(
        "--screen", metavar="FILE", help="A saved `shocktwin screen --json` result: the top "
        "risks add its suppliers ranked by the risk-exposure index.")] = None,
    title: Annotated[str | None, typer.Option(help="The report's title (default: names the "
                                              "review or the scenarios).")] = None,
    unverified: Annotated[bool, typer.Option(
        "--unverified", help="Report results that do not verify (edited, or without "
        "integrity data) instead of refusing them; page one then says so.")] = False,
) -> None:
    """Write one self-contained HTML report for a management review: page one is the
    decision (overall verdict, the MTD and the minimum recovery guarantee rate against
    their targets with intervals and the change since the last review, top risks,
    recommendations), then the shock × scenario heat map, trends over reviews, stress-gate
    results, rule-set changes, the cost of quality, provenance, reproducibility and a
    sign-off block; the details are in an appendix that is not printed."""
    from shocktwin.reports.html import write_report
    from shocktwin.twin.journal.record import utc_now

    path = write_report(results or [], out, title=title, generated_utc=utc_now(),
                        unverified=unverified, history=history, review=review, lang=lang,
                        screen=screen)
    typer.echo(one_line(f"report written to {path}"))
