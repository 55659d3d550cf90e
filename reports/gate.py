"""The stress gate's outputs: a JUnit file for the CI system and a Markdown summary ready to
post on a pull request. Both are deterministic for the same report."""

from __future__ import annotations

import math
from xml.sax.saxutils import escape, quoteattr

from shocktwin.twin.resilience.stress import StressReport

__all__ = ["junit_xml", "markdown_summary"]


def _num(x: float | None, unit: str = "") -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{x:.4g}{' h' if unit == 'h' else ''}"


def junit_xml(report: StressReport) -> str:
    """One ``<testcase>`` per scenario × shock (its MTD) and per scenario (its KPIs)."""
    cases: list[str] = []
    failures = 0
    for sc in report.scenarios:
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
        cases.append(f'  <testcase classname={quoteattr(sc.scenario)} '
                     f'name={quoteattr("hypothesis KPIs")}>{body}</testcase>')
        for m in sc.mtds:
            body = ""
            if m.regression:
                failures += 1
                body = (f"<failure message={quoteattr('MTD regression: ' + m.message)}>"
                        f"{escape(m.message)}</failure>")
            else:
                body = f"<system-out>{escape(m.message)}</system-out>"
            cases.append(f'  <testcase classname={quoteattr(sc.scenario)} '
                         f'name={quoteattr("MTD " + m.shock)}>{body}</testcase>')
    head = (f'<testsuite name="shocktwin stress" tests="{len(cases)}" '
            f'failures="{failures}" errors="0">')
    return ('<?xml version="1.0" encoding="utf-8"?>\n' + head + "\n" + "\n".join(cases)
            + "\n</testsuite>\n")


def markdown_summary(report: StressReport) -> str:
    """A summary for a pull-request comment."""
    verdict = "❌ **regression**" if report.failed else "✅ no regression"
    lines = [
        f"### Resilience stress gate: {verdict}",
        "",
        f"Baseline `{_md(report.baseline)}` (`{report.baseline_hash[:12]}`) vs candidate "
        f"`{_md(report.candidate)}` (`{report.candidate_hash[:12]}`); allowed MTD drop "
        f"{report.tolerance:.0%}.",
        "",
        "| scenario | shock | baseline MTD | candidate MTD | difference (95 % CI) | verdict |",
        "|---|---|---|---|---|---|",
    ]
    for sc in report.scenarios:
        for m in sc.mtds:
            ci = f"{_num(m.difference, m.unit)} ({_num(m.ci_low, m.unit)} … " \
                 f"{_num(m.ci_high, m.unit)})"
            lines.append(f"| {_md(sc.scenario)} | {_md(m.shock)} | {_num(m.baseline, m.unit)} "
                         f"| {_num(m.candidate, m.unit)} | {ci} | "
                         f"{'regression' if m.regression else 'ok'} |")
    lines += ["", "| scenario | KPI | tolerance | held (baseline → candidate) | "
              "mean difference (95 % CI) | verdict |", "|---|---|---|---|---|---|"]
    for sc in report.scenarios:
        for k in sc.kpis:
            if k.tolerance is None:
                continue
            lines.append(
                f"| {_md(sc.scenario)} | {k.kpi} | {_md(k.tolerance)} | "
                f"{k.held_baseline:.0%} → {k.held_candidate:.0%} | {_num(k.difference)} "
                f"({_num(k.ci_low)} … {_num(k.ci_high)}) | "
                f"{'newly broken' if k.newly_broken else 'ok'} |")
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    """Text from a user file, safe in a Markdown table cell."""
    return (text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;")
            .replace(">", "&gt;").replace("\n", " "))
