"""The management-review report: one self-contained HTML file from results folders and the
campaign history.

Page one is the decision (:mod:`shocktwin.reports._decision`): the overall verdict in one
line, the MTD and the minimum recovery guarantee rate against their targets with their
intervals and the change since the last review, the top risks and the recommendations.
Then the shock × scenario heat map, the trends over reviews, the stress gate, the rule-set
changes, the cost view, provenance, reproducibility and the sign-off. Everything else — each
run's curves and KPIs, each search's evidence, distributions, the Pareto front, measured
quality, the quality system — is in an appendix that is collapsed on screen and not printed,
so a printed copy stays short.

A results folder is what ``shocktwin run``, ``mtd``, ``optimize``, ``stress`` or
``campaign`` writes with ``--out``. The report embeds plotly.js once and refers to nothing
outside the file, so it opens offline and can be archived with the review minutes. It is
written in English or Simplified Chinese (``lang``): every label from the catalogue, every
number and date in the locale's form.

Every string that came from a user file is HTML-escaped where it is written, and also
before it is handed to plotly (which renders text as HTML).
"""

from __future__ import annotations

import json
import math
import re
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from shocktwin.errors import Problem, ShocktwinError, SimulationError
from shocktwin.files import write_atomic
from shocktwin.reports import _decision as dec
from shocktwin.reports import _details as det
from shocktwin.reports import _figures as figs
from shocktwin.reports._folders import (
    REPORT_FORMAT,
    ParetoFront,
    ResultsFolder,
    is_number,
    load_results,
)
from shocktwin.reports._history import History, read_history
from shocktwin.reports._html import badge, code, e, note, table
from shocktwin.reports._i18n import (
    LANGUAGES,
    Language,
    count,
    date,
    hours,
    kpi_value,
    num,
    pct,
    speaking,
    t,
    unit,
    word,
)

__all__ = ["LANGUAGES", "REPORT_FORMAT", "SECTIONS", "ParetoFront", "ResultsFolder",
           "load_results", "render_report", "write_report"]

#: The report's sections: (anchor, heading, printed). A section with nothing to show is
#: left out; the ones not printed are in the appendix, collapsed on screen.
SECTIONS: tuple[tuple[str, str, bool], ...] = (
    ("decision", "The decision", True),
    ("indicators", "Indicators by scenario and shock", True),
    ("trends", "Trends over reviews", True),
    ("stress", "Stress-gate results", True),
    ("rules", "Rule-set changes and their effect", True),
    ("cost", "Cost of quality", True),
    ("provenance", "Provenance", True),
    ("reproducibility", "Reproducibility", True),
    ("signoff", "Sign-off", True),
    ("indicators_all", "All indicators", False),
    ("kpis", "KPIs with 95 % intervals", False),
    ("resilience", "Resilience curves", False),
    ("mtd", "Maximum tolerable disruption: the evidence", False),
    ("distributions", "KPI distributions over replications", False),
    ("pareto", "Pareto front of mitigations", False),
    ("quality", "Measured quality: capability, control charts, comparability", False),
    ("quality_system", "Quality system recovery", False),
    ("provenance_full", "Provenance in full", False),
    ("reproducibility_full", "Reproducibility in full", False),
)


def T(label: str, **values: Any) -> str:
    """A label in the language being written, escaped for HTML."""
    return e(t(label, **values))


# --------------------------------------------------------------------------- sections


def _unverified(folders: Sequence[ResultsFolder]) -> str:
    bad = [f for f in folders if not f.intact]
    if not bad:
        return ""
    names = ", ".join(f"<b>{e(f.label)}</b>" for f in bad)
    return (f'<p class="unverified">{badge(t("UNVERIFIED"), "bad")} '
            + T("The results of {names} do not verify: they changed after they were "
                "written, or carry no integrity data. This report was written with "
                "--unverified; their numbers cannot be relied on (see Reproducibility).",
                names="\x00").replace("\x00", names) + "</p>")


def _indicators(readings: Sequence[dec.Reading], review_before: str | None,
                page: det.Page) -> str:
    """The shock × scenario heat map and every reading in one table."""
    shocked = [r for r in readings if r.indicator in (dec.MTD, dec.GUARANTEE)]
    out = []
    if shocked:
        scenarios = list(dict.fromkeys(r.scenario for r in shocked))
        shocks = list(dict.fromkeys(r.shock for r in shocked))
        cells: dict[tuple[str, str], tuple[str, str]] = {}
        for r in shocked:
            key = (r.shock, r.scenario)
            # A cell is the worse of the shock's MTD and its recovery guarantee.
            cls = dec._cls(r.state)
            label = dec.value_text(r, r.value)
            if r.value in ("below_range", "above_range") and r.range:
                # A cell is small: a censored MTD as its bound ("≥ 60 d"); the table below
                # says it in words.
                below = r.value == "below_range"
                label = ("< " if below else "≥ ") + dec.axis_value(
                    r, r.range[0] if below else r.range[1])
            if key in cells:
                order = ("bad", "warn", "na", "ok")
                old_cls, old_label = cells[key]
                cls = min(cls, old_cls, key=order.index)
                label = f"{old_label} · {label}"
            cells[key] = (cls, label)
        fig = figs.heatmap_figure(shocks, scenarios, cells)
        out.append(page.figure(fig, "heat map", t(
            "Each shock (row) in each scenario (column): green meets its target, red misses "
            "it, amber is undecided, grey has no target; the cell shows the MTD and the "
            "recovery guarantee rate where measured, and takes the colour of the worse. "
            "Look for red rows (a shock no scenario withstands) and red columns (a "
            "scenario weak against many shocks).")))
    # Against a review before, print what needs attention; alone, every reading.
    attention = ([r for r in readings if dec.changed(r)] if review_before is not None
                 else list(readings))
    if len(attention) < len(readings):
        out.append(f"<h3>{T('Indicators that miss their target, are undecided or changed state')}"
                   "</h3>")
        out.append(note(T("The other {n} meet their target as in the review before; every "
                          "indicator is in the appendix (All indicators).",
                          n=count(len(readings) - len(attention)))))
    if readings and not attention:
        out.append(note(T("Every indicator meets its target, as in the review before.")))
    else:
        out.append(dec.indicator_table(attention, review_before)
                   or note(T("No indicator in these results.")))
    if any(r.indicator == dec.MTD and r.value in ("below_range", "above_range")
           for r in readings):
        out.append(note(T("An MTD below the searched range means the hypothesis fails "
                          "already at the lowest severity searched (the plant cannot take "
                          "even that); above it, the hypothesis still holds at the highest "
                          "severity searched. Widen the range to place it.")))
    return "".join(out)


def _trends(history: History | None, page: det.Page) -> str:
    if history is None:
        return ""
    reviews = history.up_to_current
    out = []
    for indicator, percent in ((dec.MTD, False), (dec.GUARANTEE, True)):
        series: dict[str, list[tuple[str, float | None, float | None, float | None]]] = {}
        targets: dict[str, float] = {}
        units = set()
        for r in history.rows:
            if r.indicator != indicator or r.review not in reviews:
                continue
            key = f"{r.scenario} · {r.shock}" if r.shock else r.scenario
            scale = 1.0
            if indicator == dec.MTD:
                units.add(r.unit)
            series.setdefault(key, []).append((r.review, _scaled(r.value, scale),
                                               _scaled(r.ci_low, scale),
                                               _scaled(r.ci_high, scale)))
            if r.target is not None and r.review == history.current:
                targets[key] = r.target
        if not series:
            continue
        symbol = next(iter(units)) if len(units) == 1 else ""
        title = (t("Minimum recovery guarantee rate") if percent
                 else t("Maximum tolerable disruption") + (f" ({unit(symbol)})"
                                                           if symbol in ("h", "d") else ""))
        fig = figs.trend_figure(series, reviews, title=title, percent=percent,
                                targets=targets)
        what = (t("Each shock's minimum recovery guarantee rate in each review, with its 95 % "
                  "interval; dotted: its target. A line falling towards or below its "
                  "target is recovery getting less certain.") if percent else
                t("Each shock's MTD in each review, with its 95 % interval; dotted: its "
                  "target. A line falling towards or below its target is resilience being "
                  "lost; a gap is a review that did not test that shock."))
        out.append(page.figure(fig, f"trend {indicator}", what))
    scores = [(r.review, r.score) for r in history.reviews if r.review in reviews]
    if any(s is not None for _, s in scores):
        out.append(table([T("review"), T("portfolio resilience score"), T("runs"),
                          T("finished")],
                         [[e(r.review), e(num(r.score, 3)), e(count(r.runs)),
                           e(date(r.finished_utc))]
                          for r in history.reviews if r.review in reviews], cls="num"))
    if len(reviews) < 2 and out:
        out.append(note(T("Only one review in the history so far: the trend starts with the "
                          "next one.")))
    return "".join(out)


def _scaled(value: float | None, scale: float) -> float | None:
    return None if value is None else value / scale


def _stress(folders: Sequence[ResultsFolder]) -> str:
    out: list[str] = []
    for f in folders:
        if f.stress is None:
            continue
        decided = f.stress.get("decided") or {}
        regression, failed = decided.get("regression"), decided.get("failed")
        untested = decided.get("untested") or []
        if regression:
            head = badge(t("REGRESSION"), "bad")
        elif failed:
            head = badge(t("FAILED: NOT TESTED"), "bad")
        elif untested:
            head = badge(t("NOT TESTED"), "warn")
        else:
            head = badge(t("NO REGRESSION"), "ok")
        which = T("candidate {candidate} against baseline {baseline}",
                  candidate=str(decided.get("candidate", "–")),
                  baseline=str(decided.get("baseline", "–")))
        out.append(f"<h3>{head} {which}</h3>")
        tolerance = decided.get("tolerance")
        out.append(note(T("Both rule sets run on the same random numbers (paired); a "
                          "regression is an MTD drop larger than the allowed {allowed} that "
                          "the paired 95 % interval confirms, or a KPI tolerance newly "
                          "broken. Policy for untested scenarios: {policy}.",
                          allowed=pct(tolerance) if is_number(tolerance) else "–",
                          policy=word(str(decided.get("policy", "–"))))))
        mrows, krows = [], []
        for sc in f.stress.get("scenarios") or []:
            name = str(sc.get("scenario"))
            if sc.get("untested"):
                mrows.append([e(name), "–", "–", "–", "–", "–",
                              badge(t("NOT TESTED"), "warn") + " " + e(sc["untested"])])
                continue
            for m in sc.get("mtds") or []:
                fmt = hours if m.get("unit") == "h" else num
                diff = (f"{fmt(m.get('difference'))} ({fmt(m.get('ci_low'))} … "
                        f"{fmt(m.get('ci_high'))})")
                mrows.append([e(name), e(m.get("shock")), e(fmt(m.get("baseline"))),
                              e(fmt(m.get("candidate"))), e(diff),
                              e(fmt(m.get("allowed_drop"))),
                              badge(t("REGRESSION"), "bad") if m.get("regression")
                              else badge(t("OK"), "ok")])
            for k in sc.get("kpis") or []:
                if k.get("tolerance") is None:
                    continue
                kpi = str(k.get("kpi"))
                krows.append([e(name), e(kpi), e(k.get("tolerance")),
                              f"{e(pct(k.get('held_baseline')))} → "
                              f"{e(pct(k.get('held_candidate')))}",
                              f"{e(kpi_value(kpi, k.get('difference')))} "
                              f"({e(kpi_value(kpi, k.get('ci_low')))} … "
                              f"{e(kpi_value(kpi, k.get('ci_high')))})",
                              badge(t("NEWLY BROKEN"), "bad") if k.get("newly_broken")
                              else badge(t("OK"), "ok")])
        out.append(table([T(h) for h in ("scenario", "shock", "baseline MTD",
                                         "candidate MTD",
                                         "paired difference (95 % interval)",
                                         "allowed drop", "decision")], mrows, cls="num"))
        out.append(table([T(h) for h in ("scenario", "KPI", "tolerance",
                                         "held (baseline → candidate)",
                                         "paired mean difference (95 % interval)",
                                         "decision")], krows, cls="num"))
    return "".join(out)


def _cost(folders: Sequence[ResultsFolder]) -> str:
    """Quality cost by the prevention–appraisal–failure model, from what the runs measured:
    appraisal (units inspected), internal failure (scrap), external failure (escaped
    defects), expediting, prevention (the quality system's work). Volumes, not money: no
    scenario states cost rates for them; a component a run does not measure says so."""
    rows = []
    unmeasured = t("not measured")
    for f in det.runs_of(folders):
        values = f.kpi_values()
        reps = max((v.size for v in values.values()), default=0)

        def mean(kpi: str, values: Mapping[str, np.ndarray] = values) -> float | None:
            v = values.get(kpi)
            if v is None:
                return None
            v = np.asarray(v, dtype=float)
            v = v[np.isfinite(v)]
            return float(v.mean()) if v.size else None

        inspected = None
        if f.stations is not None and "inspected" in f.stations:
            col = np.asarray(f.stations["inspected"], dtype=float)
            ids = np.unique(np.asarray(f.stations.get("replication", np.zeros(col.size))))
            total = float(np.nansum(col))
            inspected = total / max(ids.size, 1) if total > 0 else None
        scrap, escaped = mean("scrap"), mean("escaped_ppm")
        unit_cost = mean("cost_per_unit")
        tasks = sum(float(r["tasks"]) for r in f.records
                    if r.get("kind") == "ResponseStarted" and is_number(r.get("tasks")))
        prevention = (T("{tasks} quality-work tasks", tasks=num(tasks / max(reps, 1)))
                      if tasks else e(unmeasured))
        rows.append([
            e(f.label), prevention,
            T("{units} units inspected", units=count(inspected)) if inspected is not None
            else e(unmeasured),
            T("{units} units scrapped", units=num(scrap)) if scrap is not None
            else e(unmeasured),
            T("{ppm} ppm escaped", ppm=num(escaped)) if escaped is not None
            else e(unmeasured),
            e(unmeasured),
            e(num(unit_cost)) if unit_cost else e(t("not stated"))])
    if not rows:
        return ""
    return (table([T(h) for h in ("scenario", "prevention (quality-system work)",
                                  "appraisal (inspection)", "internal failure (scrap)",
                                  "external failure (escapes)", "expediting",
                                  "delivery cost per unit")], rows, cls="num")
            + note(T("Per replication (mean). The runs measure volumes, not money: no "
                     "scenario states a cost rate for inspection, scrap, escapes or quality "
                     "work, so prevention and failure are shown side by side, not summed. "
                     "Expediting is not modelled. The delivery cost per unit is the "
                     "suppliers' unit cost where the scenario states it.")))


def _provenance(folders: Sequence[ResultsFolder]) -> str:
    rows = []
    for f in folders:
        j = f.journal or {}
        meta: Mapping[str, Any] = j or f.mtd or (f.pareto.meta if f.pareto else {}) or (
            (f.stress or {}).get("header") or {})
        rules = j.get("rules") if j else (f.mtd or {}).get("rules")
        data = [i for s in j.get("data") or [] if isinstance(s, dict)
                for i in s.get("ingests") or [] if isinstance(i, dict)] if j else []
        rows.append([e(f.label), e(_kind(f)), code(str(meta.get("scenario_hash") or "–")[:16]),
                     e(count(len(rules))) if isinstance(rules, dict) else "–",
                     e(count(len(data))) if j else "–"])
    return (table([T(h) for h in ("result", "kind", "scenario hash (first 16)",
                                  "rule files", "recorded data files")], rows, cls="num")
            + note(T("Every hash in full, each rule file and each ingested file is in the "
                     "appendix (Provenance in full).")))


def _kind(f: ResultsFolder) -> str:
    kinds = [t("run") if f.journal else "", t("MTD search") if f.mtd else "",
             t("optimisation") if f.pareto else "", t("stress gate") if f.stress else ""]
    what = ", ".join(k for k in kinds if k)
    return what + (f" ({t('campaign')})" if f.campaign is not None else "")


def _reproducibility(folders: Sequence[ResultsFolder]) -> str:
    rows = []
    for f in folders:
        j = f.journal or {}
        m = f.mtd or {}
        seed = j.get("seed", m.get("seed", (f.pareto.meta if f.pareto else {}).get("seed")))
        runs = (count(j.get("replications")) if j else count(m.get("runs")) if m
                else count((f.pareto.meta if f.pareto else {}).get("runs")))
        command = det.reproduce_command(f) or (shlex.join(str(c) for c in m.get(
            "command") or []) if m else "")
        rows.append([e(f.label), badge(t("INTACT"), "ok") if f.intact
                     else badge(t("UNVERIFIED"), "bad"),
                     e(j.get("version") or m.get("version") or "–"), e(seed if seed is not None
                                                                        else "–"),
                     e(j.get("engine") or "–"), e(runs),
                     code(command) if command else "–"])
    return (table([T(h) for h in ("result", "integrity", "version", "seed", "engine",
                                  "replications / runs", "to reproduce")], rows)
            + note(T("The journal hash covers the scenario, seed, engine, replication "
                     "count, rule-set contents and every measured number, not times or "
                     "platform: the same inputs give the same hash on any machine.")))


def _signoff(review: str | None) -> str:
    rows = [[T(role), "", "", "", ""] for role in (
        "Quality director", "Resilience reviewer (prepared by)", "Plant or operations manager")]
    what = (T("Review {review}", review=review) if review else T("This review"))
    return (f"<p>{what}: " + T("decision taken on the verdict and indicators of page one.")
            + "</p>"
            + table([T(h) for h in ("role", "name", "decision (accepted / actions)",
                                    "date", "signature")], rows, cls="signoff"))


# --------------------------------------------------------------------------- page

_CSS = """
:root { --ink: #1b1f24; --muted: #5b6470; --rule: #d6dbe1; --ok: #0a7d4f; --bad: #b00020;
        --warn: #c77c00; --na: #8a939e; }
* { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial,
       "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", "WenQuanYi Micro Hei",
       sans-serif; color: var(--ink); margin: 0; line-height: 1.45; background: #fff; }
header { padding: 28px 40px 12px; border-bottom: 3px solid #0072B2; }
header h1 { margin: 0 0 4px; font-size: 1.7rem; }
header p { margin: 2px 0; color: var(--muted); }
nav.toc { padding: 10px 40px; border-bottom: 1px solid var(--rule); font-size: .92rem; }
nav.toc a { margin-right: 18px; color: #0072B2; text-decoration: none; }
main { padding: 0 40px 40px; max-width: 1400px; }
section { padding-top: 18px; border-bottom: 1px solid var(--rule); padding-bottom: 18px; }
h2 { font-size: 1.35rem; margin: 10px 0; }
h3 { font-size: 1.1rem; margin: 18px 0 6px; }
h4 { font-size: 1rem; margin: 14px 0 4px; }
table { border-collapse: collapse; margin: 8px 0 14px; font-size: .88rem; }
th, td { border-bottom: 1px solid var(--rule); padding: 4px 10px; text-align: left;
         vertical-align: top; }
th { background: #f3f5f7; font-weight: 600; }
table.num td { font-variant-numeric: tabular-nums; }
table.wide td { word-break: break-all; }
table.signoff { width: 100%; }
table.signoff td { height: 2.6em; }
code { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace;
       font-size: .85em; background: #f3f5f7; padding: 0 3px; word-break: break-all; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; font-size: .9rem; }
dt { color: var(--muted); }
dd { margin: 0; }
.badge { display: inline-block; font-size: .75rem; font-weight: 700; padding: 1px 7px;
         border-radius: 3px; color: #fff; letter-spacing: .03em; white-space: nowrap; }
.badge.ok { background: var(--ok); }
.badge.bad { background: var(--bad); }
.badge.warn { background: var(--warn); }
.badge.na { background: var(--na); }
p.verdict { font-size: 1.2rem; font-weight: 600; padding: .6rem .9rem; margin: 12px 0;
            border-left: 6px solid var(--na); background: #f6f7f9; }
p.verdict.ok { border-color: var(--ok); } p.verdict.bad { border-color: var(--bad); }
p.verdict.warn { border-color: var(--warn); }
p.verdict .badge { font-size: .9rem; vertical-align: middle; }
.indicators { display: grid; grid-template-columns: 1fr 1fr; gap: 14px; margin: 8px 0; }
.indicator { border: 1px solid var(--rule); border-radius: 4px; padding: 8px 14px; }
.indicator h3 { margin: 2px 0 4px; }
.indicator p { margin: 2px 0; font-size: .92rem; }
.indicator p.value { font-size: 1.6rem; font-weight: 700; margin: 2px 0 4px; }
.value.ok { color: var(--ok); } .value.bad { color: var(--bad); }
.value.warn { color: var(--warn); } .value.na { color: var(--na); }
p.unverified { border: 2px solid var(--bad); padding: .5rem .75rem; }
ul.findings { font-size: .95rem; padding-left: 0; }
ul.findings li { margin: 3px 0; list-style: none; }
ul.changes li { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: .88rem; }
.note, figcaption { color: var(--muted); font-size: .88rem; max-width: 60rem; }
figcaption { margin-top: 2px; }
.description { font-style: italic; max-width: 60rem; }
.figure { margin: 6px 0 12px; break-inside: avoid; page-break-inside: avoid; }
details.appendix { margin-top: 24px; }
details.appendix > summary { font-size: 1.35rem; font-weight: 600; cursor: pointer;
                             padding: 10px 0; }
@media print {
  @page { size: A4 landscape; margin: 12mm; }
  body { font-size: 9pt; line-height: 1.3; }
  header { padding: 0 0 4px; border-bottom-width: 2px; }
  header h1 { font-size: 1.35rem; }
  h2 { font-size: 1.15rem; margin: 4px 0; }
  h3 { font-size: 1rem; margin: 8px 0 3px; }
  table { font-size: 7.5pt; margin: 4px 0 8px; }
  th, td { padding: 1px 6px; }
  p.verdict { font-size: 1.05rem; padding: .35rem .7rem; margin: 6px 0; }
  .indicators { gap: 10px; margin: 4px 0; }
  .indicator { padding: 4px 10px; }
  .indicator p { font-size: .85rem; margin: 1px 0; }
  .indicator p.value { font-size: 1.3rem; margin: 0 0 2px; }
  .note, figcaption { font-size: 7.5pt; }
  nav.toc, details.appendix { display: none !important; }
  main { padding: 0; max-width: none; }
  section { border: none; padding: 6px 0; }
  section#decision { break-after: page; page-break-after: always; }
  h2 { break-after: avoid; page-break-after: avoid; }
  .modebar, .modebar-container, .plotly-notifier, .hoverlayer { display: none !important; }
  table, dl, .figure, .indicator { break-inside: avoid; page-break-inside: avoid; }
  .badge, p.verdict, .value { print-color-adjust: exact; -webkit-print-color-adjust: exact; }
  .badge { border: 1px solid #000; }
  a { color: inherit; text-decoration: none; }
}
"""

# Resize the responsive charts to the printed page width before printing, and a chart in
# the appendix when it is opened (it was drawn while hidden).
_PAGE_JS = """
window.addEventListener("beforeprint", function () {
  document.querySelectorAll(".plotly-graph-div").forEach(function (d) {
    if (window.Plotly) { Plotly.Plots.resize(d); }
  });
});
document.querySelectorAll("details.appendix").forEach(function (box) {
  box.addEventListener("toggle", function () {
    if (!box.open || !window.Plotly) { return; }
    box.querySelectorAll(".plotly-graph-div").forEach(function (d) {
      Plotly.Plots.resize(d);
    });
  });
});
"""


def _plotly_js() -> str:
    from plotly.offline import get_plotlyjs

    # A "</script" inside the library would end the element early; "<\/" is the same
    # string to JavaScript.
    return re.sub(r"</(script)", r"<\\/\1", get_plotlyjs(), flags=re.IGNORECASE)


def _script_json(value: Any) -> str:
    """JSON safe inside a <script> element: no "</" or "<!--" can end or comment it."""
    return (json.dumps(value, sort_keys=True, ensure_ascii=False, allow_nan=False)
            .replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _summary_data(folders: Sequence[ResultsFolder], readings: Sequence[dec.Reading],
                  overall: dec.Overall, history: History | None, lang: str) -> dict[str, Any]:
    """A machine-readable digest embedded in the page (id ``report-data``)."""
    runs = []
    for f in det.runs_of(folders):
        v = dec.run_verdict(f)
        j = f.journal or {}
        runs.append({"folder": str(f.path), "scenario": f.name,
                     "journal_hash": j.get("journal_hash"),
                     "scenario_hash": j.get("scenario_hash"), "verdict": v.state,
                     "held": v.held, "n": v.n, "share": v.share, "share_low": v.low,
                     "share_high": v.high, "required": v.required, "intact": f.intact})
    searches = [{"folder": str(f.path), "scenario": f.name, "shocks": [
        {k: s.get(k) for k in ("shock", "axis", "unit", "status", "mtd", "ci95", "target",
                               "meets_target", "binding_kpi", "runs", "runs_reused")}
        for s in (f.mtd or {}).get("shocks", [])]} for f in det.searches_of(folders)]
    return {"lang": lang, "overall": overall.cls,
            "review": history.current if history else None,
            "previous_review": history.previous if history else None,
            "readings": [{"scenario": r.scenario, "shock": r.shock, "indicator": r.indicator,
                          "value": r.value, "low": r.low, "high": r.high, "unit": r.unit,
                          "target": r.target, "state": r.state} for r in readings],
            "runs": runs, "mtd": searches}


def _safe_number(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _safe_number(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_safe_number(v) for v in value]
    return value


def _read_screen(path: str | Path) -> dict[str, Any]:
    """The JSON ``shocktwin screen --json`` prints, saved to a file."""
    from shocktwin.jsontext import read_json

    doc = read_json(Path(path), limit=64 * 1024 * 1024, error=SimulationError)
    if not isinstance(doc, dict) or not isinstance(doc.get("nodes"), list):
        raise SimulationError([Problem(str(path), "", "not a screen result (save what "
                                                      "`shocktwin screen --json` prints)")])
    return doc


def render_report(results_dirs: Sequence[str | Path], *, title: str | None = None,
                  generated_utc: str | None = None, unverified: bool = False,
                  history: str | Path | None = None, review: str | None = None,
                  lang: str | Language = "en", screen: str | Path | None = None) -> str:
    """The management-review report of the results folders and the history's review, as
    one HTML document in ``lang`` (en or zh-CN).

    Without ``history`` page one comes from the results folders alone. With it, page one is
    the history's ``review`` (default: the latest) compared with the review before it;
    results folders add their details. ``generated_utc`` is printed in the header when
    given; without it the same inputs always give the same bytes.
    """
    code = lang.code if isinstance(lang, Language) else lang
    if code not in LANGUAGES:
        raise SimulationError([Problem("--lang", "", f"unknown language {code!r}; the report "
                                                     f"is written in {', '.join(LANGUAGES)}")])
    if review is not None and history is None:
        raise SimulationError([Problem("--review", "", "a review is read from the history: "
                                                       "give --history FILE too")])
    problems: list[Problem] = []
    folders: list[ResultsFolder] = []
    hist: History | None = None
    scr: dict[str, Any] | None = None
    if results_dirs or history is None:
        try:
            folders = load_results(results_dirs, unverified=unverified)
        except ShocktwinError as err:
            problems.extend(err.problems)
    if history is not None:
        try:
            hist = read_history(history, review)
        except ShocktwinError as err:
            problems.extend(err.problems)
    if screen is not None:
        try:
            scr = _read_screen(screen)
        except ShocktwinError as err:
            problems.extend(err.problems)
    if problems:
        raise SimulationError(problems)
    with speaking(lang):
        return _render(folders, hist, scr, title=title, generated_utc=generated_utc,
                       lang=code)


def _render(folders: list[ResultsFolder], history: History | None,
            screen: dict[str, Any] | None, *, title: str | None, generated_utc: str | None,
            lang: str) -> str:
    review: str | None
    review_before: str | None
    if history is not None:
        # The history's review is page one; results folders add their details, and their
        # readings where the review has none of the same key.
        readings = dec.readings_of_history(history)
        keys = {r.key for r in readings}
        readings += [r for r in dec.readings_of_folders(folders) if r.key not in keys]
        review_before = history.previous
        review = history.current
    else:
        readings = dec.readings_of_folders(folders)
        review_before = review = None
    names = list(dict.fromkeys([*(f.name for f in folders), *(
        r.scenario for r in readings)]))
    if title is not None:
        heading = title
    elif review is not None:
        heading = t("Resilience management review {review}", review=review)
    else:
        heading = t("Resilience management review: {names}", names=", ".join(names))
    page = det.Page()
    o = dec.overall(readings)
    bodies = {
        "decision": dec.page_one(readings, folders=folders, history=history,
                                 review_before=review_before, screen=screen,
                                 unverified=_unverified(folders)),
        "indicators": _indicators(readings, review_before, page),
        "trends": _trends(history, page),
        "stress": _stress(folders),
        "rules": det.rules(folders, page),
        "cost": _cost(folders),
        "provenance": _provenance(folders) if folders else "",
        "reproducibility": _reproducibility(folders) if folders else "",
        "signoff": _signoff(review),
        "indicators_all": (dec.indicator_table(readings, review_before)
                           if review_before is not None
                           and any(not dec.changed(r) for r in readings) else ""),
        "kpis": det.kpi_tables(folders),
        "resilience": det.resilience(folders, page),
        "mtd": det.mtd_section(folders, page),
        "distributions": det.distributions(folders, page),
        "pareto": det.pareto_section(folders, page),
        "quality": det.quality(folders),
        "quality_system": det.quality_system(folders, page),
        "provenance_full": det.provenance(folders),
        "reproducibility_full": det.reproducibility(folders),
    }
    shown = [(anchor, head, printed) for anchor, head, printed in SECTIONS if bodies[anchor]]
    toc = "".join(f'<a href="#{anchor}">{T(head)}</a>' for anchor, head, _ in shown)

    def section(anchor: str, head: str) -> str:
        return f'<section id="{anchor}"><h2>{T(head)}</h2>{bodies[anchor]}</section>'

    main = "".join(section(a, h) for a, h, printed in shown if printed)
    appendix = "".join(section(a, h) for a, h, printed in shown if not printed)
    if appendix:
        main += (f'<details class="appendix" id="appendix"><summary>'
                 f"{T('Appendix: the details (not printed)')}</summary>{appendix}</details>")
    sub = []
    if folders:
        sub.append(T("{n} results folders: {labels}", n=count(len(folders)),
                     labels=", ".join(f.label for f in folders)))
    if history is not None:
        sub.append(T("history {file}: review {review}", file=history.path.name,
                     review=history.current)
                   + (" " + T("(compared with {review})", review=review_before)
                      if review_before else ""))
    started = sorted(str((f.journal or {}).get("started_utc")) for f in det.runs_of(folders))
    if started:
        sub.append(T("runs started {first}", first=date(started[0]))
                   + (f" … {e(date(started[-1]))}" if started[-1] != started[0] else ""))
    if generated_utc:
        sub.append(T("report generated {when}", when=date(generated_utc)))
    header = f"<h1>{e(heading)}</h1>" + "".join(f"<p>{s}</p>" for s in sub)
    data = _script_json(_safe_number(_summary_data(folders, readings, o, history, lang)))
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{lang}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="generator" content="shocktwin report">\n'
        f"<title>{e(heading)}</title>\n<style>{_CSS}</style>\n"
        "<script>window.PlotlyConfig = {MathJaxConfig: 'local'};</script>\n"
        f"<script>{_plotly_js()}</script>\n"
        f"{_plotly_locale(lang)}"
        "</head>\n<body>\n"
        f"<header>{header}</header>\n<nav class=\"toc\">{toc}</nav>\n"
        f"<main>{main}</main>\n"
        f'<script type="application/json" id="report-data">{data}</script>\n'
        f"<script>{_PAGE_JS}</script>\n"
        "</body>\n</html>\n"
    )


def _plotly_locale(lang: str) -> str:
    """plotly.js's own words (its chart toolbar) in the report's language, registered as a
    plotly locale before any chart is drawn."""
    if lang == "en":
        return ""
    from shocktwin.reports._zh_cn import PLOTLY_ZH_CN

    locale = {"moduleType": "locale", "name": lang, "dictionary": PLOTLY_ZH_CN,
              "format": {}}
    return (f"<script>Plotly.register({_script_json(locale)});"
            f"Plotly.setPlotConfig({{locale: {_script_json(lang)}}});</script>\n")


def write_report(results_dirs: Sequence[str | Path], out_path: str | Path, *,
                 title: str | None = None, generated_utc: str | None = None,
                 unverified: bool = False, history: str | Path | None = None,
                 review: str | None = None, lang: str | Language = "en",
                 screen: str | Path | None = None) -> Path:
    """Render the report and write it to ``out_path`` atomically; returns the path."""
    text = render_report(results_dirs, title=title, generated_utc=generated_utc,
                         unverified=unverified, history=history, review=review, lang=lang,
                         screen=screen)
    return write_atomic(out_path, text, error=SimulationError, what="the report")
