"""A campaign review for CI and people: a JUnit file (one test case per scenario × shock ×
indicator that has a target, plus one per regression check) and a Markdown summary. Both are
deterministic for the same review.

A failed test is a ``<failure>``; a regression beyond the suite's tolerance against the
previous review is a ``<failure>`` of its own test case; an undecided result (the interval
straddles the target, or a search that did not converge) is ``<skipped>`` with the reason —
never shown as passed.
"""

from __future__ import annotations

import math
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from shocktwin.errors import SimulationError
from shocktwin.files import write_atomic
from shocktwin.twin.resilience.campaign import CampaignOutcome
from shocktwin.twin.resilience.history import ResultRow, ResultStatus

__all__ = ["format_value", "junit_xml", "markdown_summary", "write_campaign_files"]

_NAMES = {"mtd": "MTD", "recovery_guarantee": "recovery guarantee",
          "hypothesis_share": "hypothesis held", "robustness_pct": "robustness",
          "ttr_p50_h": "TTR p50", "ttr_p90_h": "TTR p90"}


def format_value(row: ResultRow, value: float | None) -> str:
    """A row's value in its unit: hours as durations, shares as percentages."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if row.unit == "h":
        from shocktwin.units import format_hours

        return format_hours(value)
    if row.indicator in ("recovery_guarantee", "hypothesis_share"):
        return f"{value:.0%}"
    if row.unit == "%":
        return f"{value:.1f} %"
    return f"{value:.4g}"


def _censored(row: ResultRow) -> str:
    return str(row.details.get("censored") or "")


def _value_text(row: ResultRow) -> str:
    text = format_value(row, row.value)
    censored = _censored(row)
    if censored == "below_range":
        return f"< {text} (fails at the range's low end)"
    if censored == "above_range":
        return f"≥ {text} (holds at the range's high end)"
    if row.status == ResultStatus.NOT_CONVERGED:
        return "not converged"
    if row.ci_low is not None or row.ci_high is not None:
        text += f" [{format_value(row, row.ci_low)} … {format_value(row, row.ci_high)}]"
    return text


def _name(row: ResultRow) -> str:
    label = _NAMES.get(row.indicator, row.indicator)
    return f"{row.shock} {label}" if row.shock else f"baseline {label}"


def _tests(outcome: CampaignOutcome) -> list[ResultRow]:
    tested = (ResultStatus.PASSED, ResultStatus.FAILED, ResultStatus.UNDECIDED,
              ResultStatus.NOT_CONVERGED)
    return [r for r in outcome.rows if r.status in tested]


def junit_xml(outcome: CampaignOutcome) -> str:
    """One ``<testcase>`` per test (a row with a target) and per regression."""
    cases: list[str] = []
    failures = skipped = 0
    for row in _tests(outcome):
        message = (f"{_value_text(row)} against the target "
                   f"{format_value(row, row.target)}")
        if row.status == ResultStatus.FAILED:
            failures += 1
            body = (f"<failure message={quoteattr('failed: ' + message)}>"
                    f"{escape(message)}</failure>")
        elif row.status in (ResultStatus.UNDECIDED, ResultStatus.NOT_CONVERGED):
            skipped += 1
            why = ("undecided: the interval straddles the target — add replications"
                   if row.status == ResultStatus.UNDECIDED
                   else "the search did not converge within its budget")
            body = f"<skipped message={quoteattr(why + '; ' + message)}/>"
        else:
            body = f"<system-out>{escape(message)}</system-out>"
        cases.append(f"  <testcase classname={quoteattr(row.scenario)} "
                     f"name={quoteattr(_name(row))}>{body}</testcase>")
    for reg in outcome.regressions:
        failures += 1
        cases.append(f"  <testcase classname={quoteattr(reg.scenario)} "
                     f"name={quoteattr('regression ' + (reg.shock + ' ' if reg.shock else '') + reg.indicator)}>"  # noqa: E501
                     f"<failure message={quoteattr('regression: ' + reg.message)}>"
                     f"{escape(reg.message)}</failure></testcase>")
    head = (f'<testsuite name={quoteattr("shocktwin campaign " + outcome.review)} '
            f'tests="{len(cases)}" failures="{failures}" errors="0" skipped="{skipped}">')
    return ('<?xml version="1.0" encoding="utf-8"?>\n' + head + "\n" + "\n".join(cases)
            + "\n</testsuite>\n")


def _verdict(outcome: CampaignOutcome) -> str:
    failed, undecided = len(outcome.failed), len(outcome.undecided)
    regressed = len(outcome.regressions)
    if failed or regressed:
        parts = [f"{failed} failed"] if failed else []
        if regressed:
            parts.append(f"{regressed} regressed against {outcome.previous_review}")
        text = "❌ **" + ", ".join(parts) + "**"
    else:
        text = "✅ every test passed"
    if undecided:
        text += f"; ⚠️ **{undecided} undecided** — add replications"
    return text


def markdown_summary(outcome: CampaignOutcome) -> str:
    """The review as Markdown: the verdict, the score with its components, every test."""
    lines = [f"## Resilience review {outcome.review} ({outcome.suite.name})", "",
             _verdict(outcome), "", outcome.score.text(), ""]
    if outcome.previous_review:
        lines += [f"Compared with review {outcome.previous_review}.", ""]
    lines += ["| scenario | test | result | target | status |",
              "|---|---|---|---|---|"]
    for row in _tests(outcome):
        lines.append(f"| {row.scenario} | {_name(row)} | {_value_text(row)} | "
                     f"{format_value(row, row.target)} | {row.status.replace('_', ' ')} |")
    if outcome.regressions:
        lines += ["", "### Regressions beyond tolerance", ""]
        lines += [f"- {r.message}" for r in outcome.regressions]
    return "\n".join(lines) + "\n"


def write_campaign_files(outcome: CampaignOutcome, *, junit: Path | None,
                         markdown: Path | None) -> None:
    if junit is not None:
        write_atomic(junit, junit_xml(outcome), error=SimulationError, what="the JUnit file")
    if markdown is not None:
        write_atomic(markdown, markdown_summary(outcome), error=SimulationError,
                     what="the summary")
