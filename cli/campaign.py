"""The `shocktwin campaign` command: one review of a suite, appended to the history store.

Mounted by ``shocktwin.cli.app``. Exit 0 when every test passed and nothing regressed beyond
its tolerance against the previous review (undecided results are listed: add replications),
1 when a test failed or an indicator regressed (``--fail-on regression``: only a
regression), 2 for bad input (nothing run, nothing written).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from shocktwin.cli._errors import console, stderr
from shocktwin.cli._errors import errors_to_exit as _errors_to_exit
from shocktwin.errors import ScenarioError

__all__ = ["campaign_command"]

stdout = console()
#: Seconds between two plain progress lines in a log (not a terminal).
PROGRESS_EVERY_S = 10.0


class _Progress:
    """A bar for the whole campaign and one for the step at work (on a terminal); in a log,
    a plain line every few seconds; nothing with ``--json``."""

    def __init__(self, *, enabled: bool) -> None:
        self.enabled = enabled
        self.terminal = enabled and stderr.is_terminal
        self._bar: Any = None
        self._tasks: dict[str, Any] = {}
        self._last = 0.0

    def __enter__(self) -> _Progress:
        return self

    def __call__(self, task: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        if self.terminal:
            if self._bar is None:
                from rich.progress import (
                    BarColumn,
                    MofNCompleteColumn,
                    Progress,
                    TimeElapsedColumn,
                )

                self._bar = Progress("[progress.description]{task.description}", BarColumn(),
                                     MofNCompleteColumn(), TimeElapsedColumn(),
                                     console=stderr, transient=True)
                self._bar.start()
            if task not in self._tasks:
                self._tasks[task] = self._bar.add_task(Text(task).plain, total=total or None)
            self._bar.update(self._tasks[task], completed=done, total=total or None)
            if task != "campaign" and total and done >= total:
                self._bar.remove_task(self._tasks.pop(task))
            return
        now = time.monotonic()
        if task == "campaign" or now - self._last >= PROGRESS_EVERY_S:
            self._last = now
            stderr.print(f"{task}: {done} of {total}", markup=False, highlight=False)

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()


def _print(outcome: Any) -> None:
    from shocktwin.twin.resilience.campaign_gate import format_value

    previous = {}
    if outcome.previous_review:
        from shocktwin.twin.resilience.history import History

        previous = {r.key: r for r in History(outcome.history).results(outcome.previous_review)}
    table = Table(title=f"review {outcome.review}: {outcome.suite.name}", title_justify="left")
    for col in ("scenario", "shock", "indicator", "value", "95% interval", "target", "status",
                f"in {outcome.previous_review}" if outcome.previous_review else "previous"):
        table.add_column(col, justify="left" if col in ("scenario", "shock", "indicator",
                                                         "status") else "right")
    for row in outcome.rows:
        censored = row.details.get("censored")
        value = format_value(row, row.value)
        if censored == "below_range":
            value = f"< {value}"
        elif censored == "above_range":
            value = f"≥ {value}"
        elif row.status == "not_converged":
            value = "not converged"
        ci = ("–" if row.ci_low is None and row.ci_high is None else
              f"{format_value(row, row.ci_low)} … {format_value(row, row.ci_high)}")
        before = previous.get(row.key)
        table.add_row(Text(row.scenario), Text(row.shock or "(baseline)"),
                      row.indicator, value, ci, format_value(row, row.target),
                      row.status.replace("_", " "),
                      format_value(before, before.value) if before is not None else "–")
    stdout.print(table)
    say = stdout.print
    say(outcome.score.text(), highlight=False, markup=False)
    for reg in outcome.regressions:
        say(f"REGRESSION {reg.message}", highlight=False, markup=False)
    if outcome.undecided:
        n = len(outcome.undecided)
        say(f"undecided: {n} result{'s' if n != 1 else ''} — the interval straddles the "
            "target or the search did not converge; add replications (search.replications in "
            "the suite)", highlight=False, markup=False)
    failed = len(outcome.failed)
    say(f"{len(outcome.passed)} passed, {failed} failed, {len(outcome.undecided)} undecided; "
        f"{outcome.runs} runs ({outcome.runs_computed} computed now)", highlight=False,
        markup=False)
    say(f"results written to {outcome.out}/ (campaign.json, runs.jsonl, <label>/run, "
        f"<label>/mtd); review {outcome.review} appended to {outcome.history}",
        highlight=False, markup=False)


@_errors_to_exit
def campaign_command(
    suite: Annotated[str, typer.Argument(help="Suite file, or a bundled suite's name.")],
    review: Annotated[str, typer.Option(help="The review's label, e.g. 2027-Q1.")],
    history: Annotated[Path, typer.Option(help="The history store (DuckDB; created by the "
                                          "first review).")],
    out: Annotated[Path, typer.Option(help="Folder for campaign.json, the baseline runs, the "
                                      "searches and the run log that --resume continues "
                                      "from.")],
    resume: Annotated[bool, typer.Option(help="Continue an interrupted campaign in --out; "
                                         "finished runs are not repeated.")] = False,
    replace: Annotated[bool, typer.Option(help="Run a review already in the history again, "
                                          "in its place.")] = False,
    fail_on: Annotated[str, typer.Option(
        "--fail-on", help="failed: exit 1 when a test fails or an indicator regresses "
        "(default); regression: only when an indicator regresses beyond its tolerance "
        "against the previous review (a quarterly CI job).")] = "failed",
    junit: Annotated[Path | None, typer.Option(help="Write a JUnit XML file.")] = None,
    markdown: Annotated[Path | None, typer.Option(help="Write a Markdown summary.")] = None,
    executor: Annotated[str, typer.Option(help="Where replications run: local, process or "
                                          "dask.")] = "local",
    workers: Annotated[int | None, typer.Option(min=1, help="Worker processes.")] = None,
    scheduler: Annotated[str | None, typer.Option(
        help="Dask scheduler address (tcp://host:8786); without it --executor dask starts a "
             "local cluster of --workers processes.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print only JSON on stdout.")
                       ] = False,
    allow_root: Annotated[list[Path] | None, typer.Option(
        "--allow-root", metavar="DIR", help="A folder besides each scenario's own that the "
        "rule sets and failure tables it names may lie in (repeatable).")] = None,
) -> None:
    """Run a quarterly review: per scenario of the suite a baseline run and, per shock, the
    MTD search and the recovery guarantee; compare with the previous review, print the
    portfolio resilience score, and append the review to the history store.

    Exit 0 when every test passed and nothing regressed, 1 when a test failed or an
    indicator regressed beyond its tolerance (--fail-on regression: only a regression),
    2 for bad input.
    """
    from shocktwin.cli.app import _executor
    from shocktwin.twin.journal.document import to_json
    from shocktwin.twin.resilience.campaign import run_campaign
    from shocktwin.twin.resilience.campaign_gate import write_campaign_files

    if fail_on not in ("failed", "regression"):
        from shocktwin.errors import unknown_name

        raise ScenarioError("--fail-on: " + unknown_name("value", fail_on,
                                                         ["failed", "regression"],
                                                         listed="one of"))
    spec = _executor(executor, workers, scheduler)
    path = _suite_path(suite) if not Path(suite).exists() else Path(suite)
    with _Progress(enabled=not as_json) as progress:
        outcome = run_campaign(path, review=review, history=history, out=out, resume=resume,
                               replace=replace, executor=spec, progress=progress,
                               allowed_roots=allow_root or (), command=sys.argv,
                               outputs=[p for p in (junit, markdown) if p is not None])
    write_campaign_files(outcome, junit=junit, markdown=markdown)
    if as_json:
        print(to_json(outcome.document), end="")
    else:
        _print(outcome)
    failing = bool(outcome.regressions) if fail_on == "regression" else outcome.fails
    raise typer.Exit(1 if failing else 0)


def _suite_path(text: str) -> Path:
    """A suite file, or a bundled suite's name (``quarterly_as_is``)."""
    from shocktwin.scenarios.suite import bundled_suite

    return bundled_suite(text) or Path(text)
