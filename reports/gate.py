"""The stress gate's outputs: a JUnit file for the CI system and a Markdown summary ready to
post on a pull request. Both are deterministic for the same report.

A scenario that does not test the candidate is never shown as passed: its test cases are
``<skipped>`` with the reason, and the summary lists it under *not tested*. Whether that
fails the pipeline is the caller's exit code (``StressReport.gate_failed``).
"""

from __future__ import annotations

import math
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from shocktwin.errors import SimulationError
from shocktwin.files import write_atomic
from shocktwin.twin.resilience.stress import ScenarioComparison, StressReport

__all__ = ["junit_xml", "markdown_summary", "write_gate_files"]


def _num(x: float | None, unit: str = "") -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{x:.4g}{' h' if unit == 'h' else ''}"


def _case(sc: ScenarioComparison, name: str, body: str) -> str:
    return (f"  <testcase classname={quoteattr(sc.scenario)} name={quoteattr(name)}>"
            f"{body}</testcase>")


def junit_xml(report: StressReport) -> str:
    """One ``<testcase>`` per scenario × shock (its MTD) and per scenario (its KPIs)."""
    cases: list[str] = []
    failures = skipped = 0
    for sc in report.scenarios:
        if sc.untested is not None:
            body = f"<skipped message={quoteattr('not tested: ' + sc.untested)}/>"
            names = ["hypothesis KPIs", *("MTD " + m.shock for m in sc.mtds)]
            skipped += len(names)
            cases.extend(_case(sc, name, body) for name in names)
            continue
        broken = [k for k in sc.kpis if k.newly_broken]
        body = ""
        if broken:
            failures += 1
            detail = "; ".join(
                f"{k.kpi} {k.tolerance}: held in {k.held_baseline:.0%} of replications "
                f"with the baseline, {k.held_candidate:.0%} with the candidate "
                f"(mean {_num(k.baseline)} → {_num(k.candidate)})" for k in broken)
            body = (f"<failure message={quoteattr('KPI tolerance newly broken: ' + detail)}>"
                    f"{escape(detail)}</failure>")
        cases.append(_case(sc, "hypothesis KPIs", body))
        for m in sc.mtds:
            if m.regression:
                failures += 1
                body = (f"<failure message={quoteattr('MTD regression: ' + m.message)}>"
                        f"{escape(m.message)}</failure>")
            else:
                body = f"<system-out>{escape(m.message)}</system-out>"
            cases.append(_case(sc, "MTD " + m.shock, body))
    head = (f'<testsuite name="shocktwin stress" tests="{len(cases)}" '
            f'failures="{failures}" errors="0" skipped="{skipped}">')
    return ('<?xml version="1.0" encoding="utf-8"?>\n' + head + "\n" + "\n".join(cases)
            + "\n</testsuite>\n")


def _verdict(report: StressReport) -> str:
    untested, total = len(report.untested), len(report.scenarios)
    if report.failed:
        verdict = "❌ **regression**"
    elif untested == total:
        return "⚠️ **not tested**: no scenario exercises the candidate's changes"
    else:
        verdict = "✅ no regression"
    if untested:
        verdict += f"; ⚠️ **not tested** on {untested} of {total} scenarios"
    return verdict


def markdown_summary(report: StressReport) -> str:
    """A summary for a pull-request comment."""
    lines = [
        f"### Resilience stress gate: {_verdict(report)}",
        "",
        f"Baseline `{_md(report.baseline)}` (`{report.baseline_hash[:12]}`) vs candidate "
        f"`{_md(report.candidate)}` (`{report.candidate_hash[:12]}`); allowed MTD drop "
        f"{report.tolerance:.0%}.",
        "",
    ]
    if report.untested:
        lines += ["Not tested (these scenarios cannot tell the candidate from the baseline):",
                  ""]
        lines += [f"- {_md(sc.scenario)}: {_md(sc.untested or '')}" for sc in report.untested]
        lines.append("")
    lines += [
        "| scenario | shock | baseline MTD | candidate MTD | difference (95 % CI) | verdict |",
        "|---|---|---|---|---|---|",
    ]
    for sc in report.scenarios:
        for m in sc.mtds:
            ci = f"{_num(m.difference, m.unit)} ({_num(m.ci_low, m.unit)} … " \
                 f"{_num(m.ci_high, m.unit)})"
            verdict = ("not tested" if not sc.tested
                       else "regression" if m.regression else "ok")
            lines.append(f"| {_md(sc.scenario)} | {_md(m.shock)} | {_num(m.baseline, m.unit)} "
                         f"| {_num(m.candidate, m.unit)} | {ci} | {verdict} |")
    lines += ["", "| scenario | KPI | tolerance | held (baseline → candidate) | "
              "mean difference (95 % CI) | verdict |", "|---|---|---|---|---|---|"]
    for sc in report.scenarios:
        for k in sc.kpis:
            if k.tolerance is None:
                continue
            verdict = ("not tested" if not sc.tested
                       else "newly broken" if k.newly_broken else "ok")
            lines.append(
                f"| {_md(sc.scenario)} | {k.kpi} | {_md(k.tolerance)} | "
                f"{k.held_baseline:.0%} → {k.held_candidate:.0%} | {_num(k.difference)} "
                f"({_num(k.ci_low)} … {_num(k.ci_high)}) | {verdict} |")
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    """Text from a user file, safe in a Markdown table cell."""
    return (text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;")
            .replace(">", "&gt;").replace("\n", " "))


def write_gate_files(report: StressReport, *, junit: Path | None = None,
                     markdown: Path | None = None) -> list[Path]:
    """Write the JUnit file and the Markdown summary where asked, each as a whole with the
    caller's umask; returns what was written."""
    written: list[Path] = []
    if junit is not None:
        written.append(write_atomic(junit, junit_xml(report), error=SimulationError,
                                    what="the JUnit file"))
    if markdown is not None:
        written.append(write_atomic(markdown, markdown_summary(report), error=SimulationError,
                                    what="the summary"))
    return written
