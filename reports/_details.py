"""The report's detail sections: each run's curves, KPIs and shocks, each MTD search's
evidence, the KPI distributions, the Pareto front, the rule-set changes, the measured
quality and the quality system's recovery, and the full provenance and reproducibility.

Every label goes through the catalogue (:func:`t`), every number through the locale's
formats; user text is escaped where it is written.
"""

from __future__ import annotations

import math
import re
import shlex
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from shocktwin.kpis import base_kpi, kpi_key, kpis_to_show, product_of
from shocktwin.reports import _figures as figs
from shocktwin.reports import _quality_system as qs
from shocktwin.reports._decision import run_verdict
from shocktwin.reports._folders import ResultsFolder
from shocktwin.reports._folders import is_number as _is_number
from shocktwin.reports._html import badge, code, dl, e, note, state_badge, table
from shocktwin.reports._i18n import (
    NBSP,
    count,
    hours,
    kpi_name,
    kpi_value,
    num,
    pct,
    t,
    tagged,
    unit,
    word,
)
from shocktwin.twin.journal.document import MtdStatus

__all__ = ["Page", "distributions", "kpi_tables", "mtd_section", "pareto_section",
           "provenance", "quality", "quality_system", "reproducibility", "resilience",
           "rules"]

#: Series drawn besides the hypothesis's own KPIs, when present.
_CONTEXT_SERIES = ("throughput_per_h", "wip_mean", "stockout_hours", "inspection_utilisation")
_MAX_PANELS = 6


def T(label: str, **values: Any) -> str:
    """A label in the language being written, escaped for HTML."""
    return e(t(label, **values))


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _ci95(shock: Mapping[str, Any]) -> list[Any]:
    ci = shock.get("ci95")
    return list(ci) + [None] * (2 - len(ci)) if isinstance(ci, list) else [None, None]


# --------------------------------------------------------------------------- formatting


def _fmt_axis(value: object, unit: str) -> str:
    """A severity as text; ``above_range``/``below_range`` in words."""
    if value is None:
        return "–"
    if isinstance(value, str):
        return t(figs.RANGE_SHORT[value]) if value in figs.RANGE_SHORT else value
    if not _is_number(value):
        return str(value)
    x = float(value)
    if math.isinf(x):
        return t("above the searched range") if x > 0 else t("below the searched range")
    if math.isnan(x):
        return "–"
    return hours(x) if unit == "h" else num(x)


def tolerances(folder: ResultsFolder) -> dict[str, tuple[float | None, float | None]]:
    hyp = folder.scenario.get("hypothesis")
    tols = hyp.get("tolerances") if isinstance(hyp, dict) else None
    out: dict[str, tuple[float | None, float | None]] = {}
    for x in tols if isinstance(tols, list) else []:
        if isinstance(x, dict) and x.get("kpi"):
            lo, hi = x.get("min"), x.get("max")
            product = x.get("product")
            key = kpi_key(str(x["kpi"]), str(product) if product else None)
            out[key] = (float(lo) if _is_number(lo) else None,
                        float(hi) if _is_number(hi) else None)
    return out


def _shown(folder: ResultsFolder, values: Mapping[str, Any]) -> tuple[list[str], int]:
    """The KPIs to show one by one (all of a few products; of many, those bounded)."""
    return kpis_to_show(values, {p for p in map(product_of, tolerances(folder)) if p})


def _tolerance_text(kpi: str, bounds: tuple[float | None, float | None]) -> str:
    lo, hi = bounds
    parts = []
    if lo is not None:
        parts.append(f"≥ {kpi_value(kpi, lo)}")
    if hi is not None:
        parts.append(f"≤ {kpi_value(kpi, hi)}")
    return ", ".join(parts)


def _holds(value: float, bounds: tuple[float | None, float | None]) -> bool:
    lo, hi = bounds
    if not math.isfinite(value):
        return False
    return not ((lo is not None and value < lo) or (hi is not None and value > hi))


def _ci(values: np.ndarray) -> tuple[float, float, float, int]:
    from shocktwin.interval import t_interval

    s = t_interval(np.asarray(values, dtype=float))
    return s.mean, s.low, s.high, s.n


def _ok_badge(ok: bool | None, yes: str = "PASS", no: str = "FAIL", na: str = "n/a") -> str:
    if ok is None:
        return badge(t(na), "na")
    return badge(t(yes) if ok else t(no), "ok" if ok else "bad")


# --------------------------------------------------------------------------- the page


@dataclass
class Page:
    """Collects figures with deterministic ids while the sections are written; every
    figure carries a caption that says what to read from it."""

    figures: int = 0

    def figure(self, fig: Any, name: str, caption: str) -> str:
        """The figure and its caption (plain text, escaped here)."""
        if fig is None:
            return ""
        self.figures += 1
        div_id = f"fig-{self.figures}-{re.sub(r'[^a-z0-9]+', '-', name.lower())}"
        return (f'<figure class="figure">{figs.figure_html(fig, div_id)}'
                f"<figcaption>{e(caption)}</figcaption></figure>")


def runs_of(folders: Sequence[ResultsFolder]) -> list[ResultsFolder]:
    return [f for f in folders if f.journal is not None]


def searches_of(folders: Sequence[ResultsFolder]) -> list[ResultsFolder]:
    return [f for f in folders if f.mtd is not None]


def _mtd_rows(folder: ResultsFolder) -> list[dict[str, Any]]:
    return list((folder.mtd or {}).get("shocks", []))


def mtd_table(f: ResultsFolder) -> str:
    rows = []
    for s in _mtd_rows(f):
        unit = str(s.get("unit") or "")
        ci = _ci95(s)
        res = _dict(s.get("resilience_at_mtd"))
        iso = _dict(s.get("iso22301"))
        iso_text = "; ".join(f"{e(k.replace('_', ' '))}: {T('yes') if v else T('NO')}"
                             for k, v in iso.items() if isinstance(v, bool)) or "–"

        def hrs(key: str, res: dict[str, Any] = res) -> str:
            v = res.get(key)
            return e(hours(float(v))) if _is_number(v) and math.isfinite(v) else "–"

        robust = res.get("robustness_pct")
        loss = res.get("loss_pct_h")
        rows.append([
            e(s.get("shock")), e(word(str(s.get("axis") or "–"))),
            e(_fmt_axis(s.get("mtd"), unit)) if s.get("status") != MtdStatus.NOT_CONVERGED
            else T("not converged"),
            f"{e(_fmt_axis(ci[0], unit))} … {e(_fmt_axis(ci[1], unit))}",
            e(_fmt_axis(s.get("target"), unit)),
            _ok_badge(s.get("meets_target"), "MEETS TARGET", "MISSES TARGET", "NO TARGET"),
            e(s.get("binding_kpi") or "–"), hrs("tts_h"), hrs("ttr_h"),
            e(pct(robust / 100)) if _is_number(robust) and math.isfinite(robust) else "–",
            e(num(loss)) if _is_number(loss) and math.isfinite(loss) else "–",
            iso_text])
    out = table([T(h) for h in ("shock", "severity axis", "MTD", "95 % interval", "target",
                                "result", "binds first", "TTS", "TTR", "robustness",
                                "loss %·h", "ISO 22301")], rows, cls="num")
    if any(None in _ci95(s) for s in _mtd_rows(f)):
        out += note(T("–: too few replications to bound the interval on that side (at "
                      "p = 0.9, 36 replications bound it on both sides)."))
    outside = {str(s.get("mtd")) for s in _mtd_rows(f)} & set(figs.RANGE_WORDS)
    for token in sorted(outside):
        advice = (t("a lower low would place it, if any severity is tolerable at all")
                  if token == "below_range" else t("a higher high would place it"))
        out += note(e(t(figs.RANGE_SHORT[token])) + ": " + T(
            "the MTD is {where}; {advice}.", where=t(figs.RANGE_WORDS[token]), advice=advice))
    return out


def _interval(kpi: str, low: float, high: float) -> tuple[str, bool]:
    """An interval as computed, and whether it reaches beyond what the KPI can take (below
    0, or above 100 % for a share)."""
    from shocktwin.kpis import SHARE_KPIS

    beyond = low < 0 or (base_kpi(kpi) in SHARE_KPIS and high > 1)
    return f"{kpi_value(kpi, low)} … {kpi_value(kpi, high)}", beyond


def kpi_table(f: ResultsFolder) -> str:
    values = f.kpi_values()
    tols = tolerances(f)
    verdict = run_verdict(f)
    rows = []
    shown, left_out = _shown(f, values)
    beyond_any = False
    for kpi in shown:
        v = values[kpi]
        mean, low, high, n = _ci(v)
        if n >= 2 and math.isfinite(low):
            text, beyond = _interval(kpi, low, high)
            ci = e(text) + (" †" if beyond else "")
            beyond_any |= beyond
        else:
            ci = "–"
        bounds = tols.get(kpi)
        tol = held = mean_vs = ""
        if bounds is not None:
            tol = e(_tolerance_text(kpi, bounds))
            ok = np.array([_holds(float(x), bounds) for x in v], dtype=bool)
            held = (T("{k} of {n} ({share})", k=count(int(ok.sum())), n=count(ok.size),
                      share=pct(ok.mean())) if ok.size else "–")
            mean_vs = T("mean within") if _holds(mean, bounds) else T("mean outside")
        rows.append([e(kpi_name(kpi)), e(kpi_value(kpi, mean)), ci, tol, held, mean_vs])
    n = max((v.size for v in values.values()), default=0)
    out = table([T("KPI"), T("mean of {n}", n=count(n)), T("95 % interval (t)"),
                 T("tolerance"), T("held in (replications)"), T("mean vs tolerance")],
                rows, cls="num")
    if beyond_any:
        out += note(T("† The interval is shown as computed: it reaches below 0 (or above "
                      "100 %), which the KPI cannot; with few or skewed replications the "
                      "Student-t interval does so. Add replications to narrow it."))
    if verdict.state != "none" and tols:
        out += note(T("The verdict counts the replications in which every tolerance held "
                      "together; the mean of a KPI can lie within its tolerance while too "
                      "few replications hold it (and the other way round)."))
    if left_out:
        out += note(T("The KPIs of {n} more products are in the results tables.",
                      n=count(left_out)))
    return out


def kpi_tables(folders: Sequence[ResultsFolder]) -> str:
    out: list[str] = []
    for f in runs_of(folders):
        v = run_verdict(f)
        out.append(f"<h3>{e(f.label)} {state_badge(v.state)}</h3>")
        desc = f.scenario.get("description")
        if desc:
            out.append(f'<p class="description">{e(desc)}</p>')
        out.append(kpi_table(f))
    return "".join(out)


# --------------------------------------------------------------------------- resilience


def shock_windows(f: ResultsFolder) -> list[figs.ShockWindow]:
    horizon = f.scenario.get("horizon")
    end_default = float(horizon) if _is_number(horizon) else math.nan
    open_: dict[tuple[Any, str], list[float]] = defaultdict(list)
    spans: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for r in f.records:
        kind, shock = r.get("kind"), str(r.get("shock"))
        at = r.get("at_h")
        if not _is_number(at):
            continue
        key = (r.get("replication"), shock)
        if kind == "ShockStarted":
            open_[key].append(float(at))
        elif kind == "ShockEnded" and open_[key]:
            spans[shock].append((open_[key].pop(0), float(at)))
    for (_, shock), starts in open_.items():
        spans[shock] += [(s, end_default) for s in starts]
    out = []
    for shock, pairs in spans.items():
        pairs = [(a, b if math.isfinite(b) else a) for a, b in pairs]
        out.append(figs.ShockWindow(shock, min(a for a, _ in pairs), max(b for _, b in pairs),
                                    len(set(pairs)) > 1))
    return sorted(out, key=lambda w: (w.start_h, w.shock))


def resilience(folders: Sequence[ResultsFolder], page: Page) -> str:
    out: list[str] = []
    for f in runs_of(folders):
        out.append(f"<h3>{e(f.label)}</h3>")
        windows = shock_windows(f)
        if f.series is None:
            out.append(note(T("No KPI series in this folder (results.duckdb or series.parquet "
                              "is missing).")))
        else:
            # The series are the plant's; a product's tolerance has none of its own.
            tols = {k: b for k, b in tolerances(f).items() if product_of(k) is None}
            kpis = list(dict.fromkeys([*tols, *_CONTEXT_SERIES]))[:_MAX_PANELS]
            warmup = f.scenario.get("warmup")
            fig = figs.resilience_figure(
                f.series, kpis, windows=windows,
                warmup_h=float(warmup) if _is_number(warmup) else 0.0, tolerances=tols)
            if fig is None:
                out.append(note(T("The KPI series hold no values.")))
            else:
                out.append(page.figure(fig, f"resilience {f.label}", t(
                    "How the KPIs moved through the shock: the line is the mean over the "
                    "replications per time bucket, the band its 95 % interval (cut at 0, "
                    "and at 100 % for shares, where it reaches beyond); shaded: each "
                    "shock's window (grey: the warm-up, not measured); dotted red: the "
                    "tolerances. Read where the line leaves a tolerance and how long it "
                    "takes to come back.")))
        out.append(_shock_table(f, windows))
        out.append(_events_table(f))
    return "".join(out)


def _shock_table(f: ResultsFolder, windows: Sequence[figs.ShockWindow]) -> str:
    declared = {str(s.get("id")): s for s in f.scenario.get("shocks") or []
                if isinstance(s, dict)}
    started: dict[str, list[dict[str, Any]]] = defaultdict(list)
    hit: dict[str, set[str]] = defaultdict(set)
    for r in f.records:
        if r.get("kind") == "ShockStarted":
            started[str(r.get("shock"))].append(r)
        elif r.get("kind") == "SelectorMatched" and isinstance(r.get("suppliers"), list):
            hit[str(r.get("shock"))].update(str(x) for x in r["suppliers"])
    reps = len({r.get("replication") for r in f.records
                if r.get("kind") == "ReplicationFinished"})
    rows = []
    for w in windows:
        recs = started.get(w.shock, [])
        spec = declared.get(w.shock, {})
        severities = sorted({float(r["severity"]) for r in recs
                             if _is_number(r.get("severity"))})
        sev = ", ".join(num(s) for s in severities[:4]) + (" …" if len(severities) > 4
                                                             else "")
        in_reps = len({r.get("replication") for r in recs})
        first = recs[0] if recs else {}
        kind = str(spec.get("type") or first.get("type") or "")
        target = first.get("target") or spec.get("target")
        where = e(target) if target else "–"
        if hit.get(w.shock):
            where += ": " + e(", ".join(sorted(hit[w.shock])))
        rows.append([e(w.shock), e(kind or "–"), where, e(_layers(kind)),
                     f"{e(hours(w.start_h))} → {e(hours(w.end_h))}"
                     + (f" ({T('envelope')})" if w.varies else ""),
                     e(sev or "–"), T("{k} of {n}", k=count(in_reps), n=count(reps))])
    if not rows:
        return note(T("No shock occurred in this run."))
    return table([T(h) for h in ("shock", "type", "target (what it hit)", "layers touched",
                                 "window (from the start)", "severity", "occurred in")], rows)


def _layers(shock_type: str) -> str:
    """The layers of the twin a shock type touches (physical, logical, semantic), or "–"
    for a type this installation does not know."""
    from shocktwin.shock_library.base import Layer
    from shocktwin.shock_library.registry import shock_types

    cls = shock_types().get(shock_type)
    if cls is None:
        return "–"
    return ", ".join(tagged("layer", layer.value) for layer in Layer if layer in cls.layers)


_COVERED = frozenset({"RunStarted", "RunFinished", "ReplicationFinished", "ShockStarted",
                      "ShockEnded", "RulesReloaded", "LotInspected", "InspectionSwitched",
                      "TriggerFired"})


def _events_table(f: ResultsFolder) -> str:
    counts = Counter(str(r.get("kind")) for r in f.records if r.get("kind") not in _COVERED)
    if not counts:
        return ""
    rows = [[e(k), count(n)] for k, n in sorted(counts.items())]
    return f"<h4>{T('Other events recorded')}</h4>" + table(
        [T("event"), T("count (all replications)")], rows)


def mtd_section(folders: Sequence[ResultsFolder], page: Page) -> str:
    out: list[str] = []
    for f in searches_of(folders):
        rows = _mtd_rows(f)
        out.append(f"<h3>{e(f.label)}</h3>")
        probability = next((s.get("probability") for s in rows
                            if _is_number(s.get("probability"))), None)
        caption = t("Each shock's MTD — the largest severity at which the steady-state "
                    "hypothesis still holds in at least {p} of replications — as a bar with "
                    "its 95 % interval; the diamond is the target (green: met, red: "
                    "missed), the dots each replication's own tolerable severity. A bar "
                    "short of its diamond is a shock the plant cannot take as long as the "
                    "target asks.", p=pct(probability) if probability is not None else "p")
        out.append(page.figure(figs.mtd_figure(rows), f"mtd {f.label}", caption))
        out.append(mtd_table(f))
        for s in rows:
            notes = [n for n in s.get("notes") or [] if isinstance(n, str)]
            non_mono = s.get("non_monotone_replications") or []
            counts = _dict(s.get("binding_counts"))
            items = []
            if counts:
                items.append((T("KPIs breaking first (replications)"),
                              ", ".join(f"{e(k)}: {e(v)}" for k, v in counts.items())))
            runs, reused = s.get("runs"), s.get("runs_reused")
            runs_text = (count(runs) if _is_number(runs) else "–")
            if _is_number(reused) and reused:
                runs_text = t("{runs} (of them {reused} reused from an earlier search)",
                              runs=runs_text, reused=count(reused))
            items.append((T("replications / runs the search needed"),
                          f"{e(count(s.get('replications')))} / {e(runs_text)}"))
            if non_mono:
                items.append((T("non-monotone replications"), e(", ".join(map(str, non_mono)))))
            for n in notes:
                items.append((T("note"), e(n)))
            out.append(f"<h4>{e(s.get('shock'))}</h4>" + dl(items))
    return "".join(out)


def distributions(folders: Sequence[ResultsFolder], page: Page) -> str:
    runs = [(f.label, f.kpi_values()) for f in runs_of(folders)]
    if not runs:
        return ""
    kpis = list(dict.fromkeys(k for f, (_, values) in zip(runs_of(folders), runs, strict=True)
                              for k in _shown(f, values)[0]))
    fig = figs.distribution_figure(runs, kpis)
    if fig is None:
        return note(T("No KPI values to show."))
    legend = ""
    if len(runs) > 1:
        legend = note(T("Boxes from left to right:") + " " + ", ".join(
            f'<span style="color:{figs.PALETTE[i % len(figs.PALETTE)]}">&#9632;</span> '
            f"{e(label)}" for i, (label, _) in enumerate(runs)) + ".")
    return legend + page.figure(fig, "distributions", t(
        "How much each KPI varies between replications: one point per replication, the box "
        "spans the middle half, the line is the median. A wide box or a point far out is a "
        "KPI the verdict is less sure of."))


def pareto_section(folders: Sequence[ResultsFolder], page: Page) -> str:
    out: list[str] = []
    for f in folders:
        if f.pareto is None:
            continue
        p = f.pareto
        out.append(f"<h3>{e(f.label)}</h3>")
        names = [t("{objective} (minimised)", objective=o) if p.senses.get(o) == "min"
                 else t("{objective} (maximised)", objective=o) if p.senses.get(o) == "max"
                 else o for o in p.objectives]
        evaluated = (t("{k} non-dominated settings of {n} evaluated", k=count(len(p.points)),
                       n=count(len(p.evaluated))) if p.evaluated else
                     t("{k} non-dominated settings", k=count(len(p.points))))
        out.append(page.figure(
            figs.pareto_figure(p.points, p.objectives, p.labels, titles=names,
                               evaluated=p.evaluated), f"pareto {f.label}",
            t("{evaluated}: none of them can improve one objective without giving up "
              "another; grey dots are the settings tried on the way that are beaten by one "
              "on the front. Choose along the front by what an objective is worth to you.",
              evaluated=evaluated)))
        first = p.objectives[0]
        order = sorted(range(len(p.points)), key=lambda i: p.points[i].get(first, math.inf))
        rows = [[e(p.labels[i]) or "–", *[e(num(p.points[i][o])) if o in p.points[i] else "–"
                                         for o in p.objectives]] for i in order]
        out.append(table([T("setting"), *[e(n) for n in names]], rows, cls="num"))
    return "".join(out)


# --------------------------------------------------------------------------- rules


def rules(folders: Sequence[ResultsFolder], page: Page) -> str:
    out: list[str] = []
    for f in runs_of(folders):
        body = _rule_changes(f, page) + _switching(f)
        if body:
            out.append(f"<h3>{e(f.label)}</h3>{body}")
    quiet = [f.label for f in runs_of(folders) if not (
        any(r.get("kind") in ("RulesReloaded", "InspectionSwitched", "TriggerFired")
            for r in f.records))]
    if quiet:
        out.append(note(T("No rule set was loaded or changed during the run of: {runs}.",
                          runs=", ".join(quiet))))
    return "".join(out)


def _rule_changes(f: ResultsFolder, page: Page) -> str:
    reloads = [r for r in f.records if r.get("kind") == "RulesReloaded"]
    if not reloads:
        return ""
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    for r in reloads:
        changes = tuple(str(c) for c in r.get("changes") or [])
        key = (r.get("from_rules"), r.get("from_hash"), r.get("to_rules"), r.get("to_hash"),
               changes, r.get("reason"))
        groups[key].append(r)
    reps = len({r.get("replication") for r in f.records
                if r.get("kind") == "ReplicationFinished"}) or None
    bounds = _reload_times(reloads)
    out = []
    for (from_name, from_hash, to_name, to_hash, changes, reason), recs in groups.items():
        times = sorted(float(r["at_h"]) for r in recs if _is_number(r.get("at_h")))
        when = ""
        if times:
            when = e(hours(times[0])) if times[0] == times[-1] else (
                f"{e(hours(times[0]))} … {e(hours(times[-1]))}")
        title = f"{e(from_name or t('none'))} → {e(to_name)}"
        out.append(f"<h4>{title}</h4>")
        out.append(dl([
            (T("from"), f"{e(from_name or '–')} {code(from_hash or '–')}"),
            (T("to"), f"{e(to_name)} {code(to_hash)}"),
            (T("reason"), e(reason or "–")),
            (T("when (from the start)"), when or "–"),
            (T("replications"), count(len(recs)) + (" " + T("of {n}", n=count(reps))
                                                    if reps else "")),
        ]))
        if changes:
            out.append('<ul class="changes">' + "".join(f"<li>{e(c)}</li>" for c in changes)
                       + "</ul>")
        out.append(_plan_effect(f, recs, bounds, f"{from_name or t('none')} → {to_name}",
                                page))
    return "".join(out)


def _reload_times(reloads: Sequence[dict[str, Any]]) -> dict[Any, list[float]]:
    """Per replication, the times the rule set changed (sorted)."""
    out: dict[Any, list[float]] = defaultdict(list)
    for r in reloads:
        if _is_number(r.get("at_h")):
            out[r.get("replication")].append(float(r["at_h"]))
    return {k: sorted(v) for k, v in out.items()}


def _plan_effect(f: ResultsFolder, recs: Sequence[dict[str, Any]],
                 bounds: Mapping[Any, list[float]], title: str, page: Page) -> str:
    """Lots inspected per sampling plan in the windows before and after the change."""
    lots = defaultdict(list)
    for r in f.records:
        if r.get("kind") == "LotInspected" and _is_number(r.get("at_h")):
            lots[r.get("replication")].append(r)
    horizon = f.scenario.get("horizon")
    end = float(horizon) if _is_number(horizon) else math.inf
    before: Counter[tuple[Any, Any]] = Counter()
    after: Counter[tuple[Any, Any]] = Counter()
    rejected = {"before": [0, 0], "after": [0, 0]}
    sampled = {"before": 0, "after": 0}
    span = {"before": 0.0, "after": 0.0}
    n_reps = 0
    for rec in recs:
        if not _is_number(rec.get("at_h")):
            continue
        rep, at = rec.get("replication"), float(rec["at_h"])
        changes = bounds.get(rep, [at])
        i = changes.index(at) if at in changes else 0
        lo = changes[i - 1] if i > 0 else 0.0
        hi = changes[i + 1] if i + 1 < len(changes) else end
        n_reps += 1
        span["before"] += at - lo
        span["after"] += (hi - at) if math.isfinite(hi) else 0.0
        for lot in lots.get(rep, []):
            when = float(lot["at_h"])
            side = "before" if lo <= when < at else "after" if at <= when < hi else None
            if side is None:
                continue
            plan = (lot.get("n"), lot.get("severity") or lot.get("decision"))
            (before if side == "before" else after)[plan] += 1
            rejected[side][1] += 1
            rejected[side][0] += lot.get("decision") == "rejected_screened"
            sampled[side] += int(lot["n"]) if _is_number(lot.get("n")) else 0
    if not n_reps or not (before or after):
        return note(T("No lots were inspected around this change."))
    plans = sorted(set(before) | set(after), key=lambda p: (
        p[0] if _is_number(p[0]) else -1, str(p[1])))
    names = [f"n = {n} ({word(str(sev))})" for n, sev in plans]
    rows = [[e(name), e(num(before[p] / n_reps, 3)), e(num(after[p] / n_reps, 3))]
            for name, p in zip(names, plans, strict=True)]

    def share(side: str) -> str:
        bad, total = rejected[side]
        return e(pct(bad / total, 1)) if total else "–"

    def per_lot(side: str) -> str:
        total = rejected[side][1]
        return e(count(sampled[side] / total)) if total else "–"

    rows.append([f"<i>{T('units inspected per lot (mean)')}</i>", per_lot("before"),
                 per_lot("after")])
    rows.append([f"<i>{T('lots rejected (screened 100 %)')}</i>", share("before"),
                 share("after")])
    rows.append([f"<i>{T('window length per replication')}</i>",
                 e(hours(span["before"] / n_reps)), e(hours(span["after"] / n_reps))])
    fig = figs.plan_figure(names, [before[p] / n_reps for p in plans],
                           [after[p] / n_reps for p in plans],
                           t("Lots inspected per replication: {change}", change=title))
    return (table([T("sampling plan (sample size n, severity)"),
                   T("lots before (per replication)"), T("lots after (per replication)")],
                  rows, cls="num")
            + page.figure(fig, f"plans {title}", t(
                "Lots inspected per replication under each sampling plan before and after "
                "the rule change: a shift to larger samples is the stricter plan at work, "
                "and the inspection load it adds.")))


def _switching(f: ResultsFolder) -> str:
    switched = Counter((str(r.get("material")), str(r.get("from_state")), str(r.get("to_state")),
                        str(r.get("reason"))) for r in f.records
                       if r.get("kind") == "InspectionSwitched")
    fired = Counter((str(r.get("trigger")), str(r.get("material")), str(r.get("when")))
                    for r in f.records if r.get("kind") == "TriggerFired")
    out = []
    if switched:
        out.append(f"<h4>{T('Switching between normal, tightened and reduced inspection')}</h4>")
        out.append(table([T(h) for h in ("material", "from", "to", "reason",
                                         "times (all replications)")],
                         [[e(m), e(word(a)), e(word(b)), e(why), count(n)]
                          for (m, a, b, why), n in sorted(switched.items())]))
    if fired:
        out.append(f"<h4>{T('Triggers fired')}</h4>")
        out.append(table([T(h) for h in ("trigger", "material", "condition",
                                         "times (all replications)")],
                         [[e(tr), e(m), code(w), count(n)]
                          for (tr, m, w), n in sorted(fired.items())]))
    return "".join(out)


# --------------------------------------------------------------------------- measured quality


def quality(folders: Sequence[ResultsFolder]) -> str:
    """Per run with measured characteristics: each supplier's capability pooled over the
    replications, the control charts' signals, comparability studies, the gauges'
    misclassification and the process stations' output capability. Empty when no run
    measured anything."""
    out: list[str] = []
    for f in runs_of(folders):
        body = (_capability_table(f) + _signal_table(f) + _study_table(f)
                + _misclassification_table(f) + _output_table(f))
        if body:
            out.append(f"<h3>{e(f.label)}</h3>{body}")
    return "".join(out)


def of_kind(f: ResultsFolder, kind: str) -> list[dict[str, Any]]:
    return [r for r in f.records if r.get("kind") == kind]


def _index_text(value: float | None, low: float | None, high: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "–"
    if low is None or high is None:
        return num(value, 3)
    return f"{num(value, 3)} ({num(low, 3)} … {num(high, 3)})"


def _capability_table(f: ResultsFolder) -> str:
    from shocktwin.rules_engine.quality import Moments

    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in of_kind(f, "CapabilityEstimated"):
        groups[(str(r["material"]), str(r["supplier"]), str(r["characteristic"]))].append(r)
    if not groups:
        return ""
    rows = []
    for (material, supplier, name), recs in sorted(groups.items()):
        # Pooled over the replications: each one's readings as one block of lots.
        pooled = Moments()
        for r in recs:
            n, lots = int(r["n"]), int(r["lots"])
            within_dof = n - lots  # each lot's readings less one
            pooled.merge(lots, n, float(r["mean"]), float(r["sigma_overall"]) ** 2 * (n - 1),
                         float(r["sigma_within"]) ** 2 * within_dof, within_dof)
        est = pooled.estimate(recs[0].get("lsl"), recs[0].get("usl"))
        if est is None:
            continue
        rows.append([e(material), e(supplier), e(name), count(len(recs)), count(pooled.lots),
                     count(est.n), e(_index_text(est.cpk, est.cpk_low, est.cpk_high)),
                     e(_index_text(est.ppk, est.ppk_low, est.ppk_high))])
    return (f"<h4>{T('Supplier capability at incoming inspection (readings, all replications)')}"
            "</h4>"
            + table([T(h) for h in ("material", "supplier", "characteristic", "replications",
                                    "lots", "readings", "Cpk (95 % interval)",
                                    "Ppk (95 % interval)")], rows)
            + note(T("Cpk with the pooled within-lot σ, Ppk with the overall σ (a drift "
                     "between lots lowers Ppk, not Cpk); intervals by Bissell (1990).")))


def _signal_table(f: ResultsFolder) -> str:
    points: Counter[tuple[str, str, str, str, str]] = Counter()
    reps: dict[tuple[str, str, str, str, str], set[Any]] = defaultdict(set)
    first: dict[tuple[str, str, str, str, str], dict[Any, float]] = defaultdict(dict)
    for r in of_kind(f, "ChartSignalled"):
        key = (str(r["material"]), str(r.get("supplier") or "–"), str(r["characteristic"]),
               str(r["chart"]), str(r["signal"]))
        points[key] += int(r.get("points") or 1)
        reps[key].add(r.get("replication"))
        if _is_number(r.get("at_h")):
            first[key].setdefault(r.get("replication"), float(r["at_h"]))
    if not points:
        return ""
    total = len({r.get("replication") for r in of_kind(f, "ReplicationFinished")}) or None
    rows = [[e(m), e(s), e(c), e(chart), e(sig), count(points[k]),
             count(len(reps[k])) + (" " + T("of {n}", n=count(total)) if total else ""),
             e(hours(float(np.median(list(first[k].values()))))) if first[k] else "–"]
            for k in sorted(points) for (m, s, c, chart, sig) in [k]]
    return (f"<h4>{T('Control-chart signals')}</h4>"
            + table([T(h) for h in ("material", "supplier", "characteristic", "chart",
                                    "signal", "points (all replications)", "replications",
                                    "first (median)")], rows))


def _study_table(f: ResultsFolder) -> str:
    groups: dict[tuple[str, str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in of_kind(f, "ComparabilityStudied"):
        groups[(str(r["material"]), str(r["characteristic"]), str(r.get("from_supplier")),
                str(r["to_supplier"]))].append(r)
    if not groups:
        return ""
    rows = []
    for (material, name, old, new), recs in sorted(groups.items()):
        outcomes = Counter(str(r["outcome"]) for r in recs)
        diffs = [float(r["difference"]) for r in recs if _is_number(r.get("difference"))]
        rows.append([e(material), e(name), f"{e(old)} → {e(new)}", count(len(recs)),
                     ", ".join(f"{e(word(k))} {count(v)}" for k, v in sorted(outcomes.items())),
                     f"{num(min(diffs), 3)} … {num(max(diffs), 3)}" if diffs else "–",
                     f"± {num(float(recs[0]['margin']), 3)}"])
    return (f"<h4>{T('Comparability studies (two one-sided tests)')}</h4>"
            + table([T(h) for h in ("material", "characteristic", "source change", "studies",
                                    "outcomes", "difference of means (range)", "margin")],
                    rows))


def _misclassification_table(f: ResultsFolder) -> str:
    sums: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for r in of_kind(f, "ReadingsClassified"):
        row = sums[str(r["station"])]
        row[0] += int(r["units"])
        row[1] += int(r["false_accepts"])
        row[2] += int(r["false_rejects"])
    if not sums:
        return ""
    rows = [[e(st), count(u), f"{count(fa)} ({count(1e6 * fa / u)} ppm)",
             f"{count(fr)} ({count(1e6 * fr / u)} ppm)"]
            for st, (u, fa, fr) in sorted(sums.items()) if u]
    return (f"<h4>{T('Gauge misclassification at incoming inspection (all replications)')}"
            "</h4>"
            + table([T(h) for h in ("station", "units read", "false accepts",
                                    "false rejects")], rows))


def _output_table(f: ResultsFolder) -> str:
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in of_kind(f, "OutputMeasured"):
        groups[(str(r["station"]), str(r["characteristic"]))].append(r)
    if not groups:
        return ""
    rows = []
    for (station, name), recs in sorted(groups.items()):
        units = sum(int(r["units"]) for r in recs)
        out = sum(int(r["out_of_spec"]) for r in recs)
        ppks = [float(r["ppk"]) for r in recs if _is_number(r.get("ppk"))]
        rows.append([e(station), e(name), count(units),
                     f"{count(out)} ({count(1e6 * out / units)} ppm)" if units else "–",
                     f"{num(min(ppks), 3)} … {num(max(ppks), 3)}" if ppks else "–"])
    return (f"<h4>{T('Process output (true values)')}</h4>"
            + table([T(h) for h in ("station", "characteristic", "units made",
                                    "out of limits", "Ppk (range over replications)")], rows))


# --------------------------------------------------------------------------- quality system

#: The backlog and fallback series the quality-system chart adds to the plant's.
_BACKLOG_SERIES = "quality backlog (tasks of open work items)"
_FALLBACK_SERIES = "under the fallback (share of replications)"


def quality_system(folders: Sequence[ResultsFolder], page: Page) -> str:
    """Per run whose journal has quality-system records: what was invalidated, the
    response, each work item and life test, when the quality system was valid again, and
    its backlog and fallback window over time next to the plant's KPIs. Empty when no run
    has such records."""
    out: list[str] = []
    for f in runs_of(folders):
        if not qs.has_quality_events(f.records):
            continue
        out.append(f"<h3>{e(f.label)}</h3>")
        out.append(_qs_headline(f) + _qs_invalidated(f) + _qs_response(f) + _qs_work(f)
                   + _qs_life_tests(f) + _qs_chart(f, page))
    if out:
        out.append(note(T("Times are from the shock's onset in each replication. A single "
                          "value is the same in every replication; otherwise the mean over "
                          "the replications and its 95 % interval (Student t). Every number "
                          "here is recomputed from the run's journal.")))
    return "".join(out)


def _same(values: Sequence[float]) -> bool:
    return max(values) - min(values) <= 1e-9 * max(1.0, abs(max(values)))


def _spread(values: Sequence[float], fmt: Any = None) -> str:
    """One value when every replication gave it, else the mean and its 95 % interval."""
    show = fmt or hours
    values = [v for v in values if math.isfinite(v)]
    if not values:
        return "–"
    if _same(values):
        return e(show(values[0]))
    mean, low, high, n = _ci(np.asarray(values))
    if n < 2 or not math.isfinite(low):
        return e(show(mean))
    return f"{e(show(mean))} ({e(show(low))} … {e(show(high))})"


def _whole(x: float) -> str:
    return count(x) if float(x).is_integer() else num(x)


def _test_hours(x: float) -> str:
    """Life-test hours as test plans write them: whole hours, not days."""
    return f"{count(x)}{NBSP}{unit('h')}"


def _qs_setup(f: ResultsFolder) -> tuple[list[Any], dict[Any, float], float]:
    """The replications, each one's shock onset (0 without a shock) and the warm-up."""
    reps = qs.replication_ids(f.records)
    onsets = qs.shock_onsets(f.records)
    warmup = f.scenario.get("warmup")
    return (reps, {r: onsets.get(r, 0.0) for r in reps},
            float(warmup) if _is_number(warmup) else 0.0)


def _since(r: Mapping[str, Any], onsets: Mapping[Any, float], key: str = "at_h") -> float:
    at = r.get(key)
    return float(at) - onsets.get(r.get("replication"), 0.0) if _is_number(at) else math.nan


def _qs_headline(f: ResultsFolder) -> str:
    reps, _, warmup = _qs_setup(f)
    n = len(reps)
    ttv = qs.time_to_valid(f.records, reps, warmup)
    valid = [v for v in ttv.values() if math.isfinite(v)]
    never = n - len(valid)
    when = (T("{time} after the shock's onset ({k} of {n} replications)", time="\x00",
              k=count(len(valid)), n=count(n)).replace("\x00", _spread(valid))
            if valid else "–")
    if never:
        when += "; " + T("not valid again by the horizon in {k} of {n} replications",
                         k=count(never), n=count(n))
    modes = sorted({str(r.get("fallback")) for r in of_kind(f, "RulesInvalidated")})
    spans = qs.fallback_spans(f.records)
    # Per replication, the hours under the fallback where it ended before the horizon.
    lengths, still = [], 0
    for rep in reps:
        mine = spans.get(rep, [])
        if any(math.isnan(s.end_h) for s in mine):
            still += 1
        elif mine:
            lengths.append(sum(s.end_h - s.start_h for s in mine))
    window = e(", ".join(word(m.replace("_", " ")) for m in modes) or "–")
    if lengths:
        window += ", " + T("ended after {time} ({k} of {n} replications)", time="\x00",
                           k=count(len(lengths)), n=count(n)).replace("\x00", _spread(lengths))
    if still:
        window += "; " + T("still in force at the horizon in {k} of {n} replications",
                           k=count(still), n=count(n))
    return dl([(T("Quality system valid again"), when), (T("Fallback in force"), window)])


def _qs_invalidated(f: ResultsFolder) -> str:
    reps, onsets, _ = _qs_setup(f)
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for r in of_kind(f, "RulesInvalidated"):
        key = tuple(str(r.get(k)) for k in ("context", "old", "new", "rules", "kinds",
                                            "fallback", "reason"))
        groups[key].append(r)
    rows = [[code(ctx), f"{e(old)} → {e(new)}", e(rules), e(kinds),
             e(word(fallback.replace("_", " "))), e(reason),
             _spread([_since(r, onsets) for r in recs]),
             T("{k} of {n}", k=count(len({r.get('replication') for r in recs})),
               n=count(len(reps)))]
            for (ctx, old, new, rules, kinds, fallback, reason), recs in groups.items()]
    if not rows:
        return ""
    return (f"<h4>{T('What was invalidated')}</h4>"
            + table([T(h) for h in ("context", "old → new", "rules", "kinds", "fallback",
                                    "reason", "invalidated (after the shock's onset)",
                                    "replications")], rows))


def _qs_response(f: ResultsFolder) -> str:
    reps, _, _ = _qs_setup(f)
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in of_kind(f, "ResponseStarted"):
        groups[(str(r.get("playbook")), str(r.get("on")))].append(r)
    rows = [[code(book), e(on),
             _spread([float(r["at_h"]) - float(r["event_h"]) for r in recs
                      if _is_number(r.get("at_h")) and _is_number(r.get("event_h"))]),
             _spread([float(r["tasks"]) for r in recs if _is_number(r.get("tasks"))],
                     _whole),
             T("{k} of {n}", k=count(len({r.get('replication') for r in recs})),
               n=count(len(reps)))]
            for (book, on), recs in groups.items()]
    if not rows:
        return ""
    return (f"<h4>{T('Response')}</h4>"
            + table([T(h) for h in ("playbook", "started by", "latency", "tasks",
                                    "replications")], rows))


def _qs_work(f: ResultsFolder) -> str:
    reps, onsets, _ = _qs_setup(f)
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    # Every item of a playbook that responded, finished or not, in the playbook's order.
    books = {str(r.get("playbook")) for r in of_kind(f, "ResponseStarted")}
    quality_ = _dict(_dict(f.scenario.get("plant")).get("quality"))
    meta: dict[tuple[str, str], tuple[str, str]] = {}
    for b in quality_.get("playbooks") or []:
        if isinstance(b, dict) and str(b.get("id")) in books:
            for it in b.get("items") or []:
                if isinstance(it, dict):
                    key = (str(b["id"]), str(it.get("id")))
                    groups[key] = []
                    meta[key] = (str(it.get("kind")), str(it.get("pool")))
    for r in of_kind(f, "WorkFinished"):
        key = (str(r.get("playbook")), str(r.get("item")))
        groups.setdefault(key, []).append(r)
        meta[key] = (str(r.get("work")), str(r.get("pool")))
    rows = []
    for (book, item), recs in groups.items():
        work, pool = meta[(book, item)]
        rows.append([code(book), code(item), e(word(work.replace("_", " "))), code(pool),
                     _spread([float(r["tasks"]) for r in recs if _is_number(r.get("tasks"))],
                             _whole),
                     _spread([_since(r, onsets, "started_h") for r in recs]),
                     _spread([_since(r, onsets) for r in recs]),
                     T("{k} of {n}", k=count(len({r.get('replication') for r in recs})),
                       n=count(len(reps)))])
    if not rows:
        return ""
    return (f"<h4>{T('Work items')}</h4>"
            + table([T(h) for h in ("playbook", "item", "work", "pool", "tasks",
                                    "could start (after the onset)",
                                    "finished (after the onset)", "finished in")],
                    rows, cls="num"))


def _qs_life_tests(f: ResultsFolder) -> str:
    reps, _, _ = _qs_setup(f)
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in of_kind(f, "LifeTestCompleted"):
        groups[(str(r.get("playbook")), str(r.get("item")), str(r.get("supplier")))].append(r)
    rows = []
    for (book, item, supplier), recs in groups.items():
        def values(key: str, recs: list[dict[str, Any]] = recs) -> list[float]:
            return [float(r[key]) for r in recs if _is_number(r.get(key))]

        criterion = str(recs[0].get("criterion"))
        show = _test_hours if criterion == "b_life" else (lambda x: num(x))
        test_h, use_h = values("test_h"), values("use_h")
        factor = (f" (× {num(use_h[0] / test_h[0])})" if test_h and use_h and test_h[0] > 0
                  else "")
        failures = Counter(int(x) for x in values("failures"))
        passed = sum(r.get("passed") is True for r in recs)
        rows.append([
            code(book), code(item), e(supplier), _spread(values("units"), _whole),
            f"{_spread(test_h, _test_hours)} → {_spread(use_h, _test_hours)}{e(factor)}",
            ", ".join(T("{failures} in {k} of {n}", failures=count(k), k=count(v),
                        n=count(len(recs))) for k, v in sorted(failures.items())),
            e(word(criterion.replace("_", " "))),
            f"{_spread(values('bound'), show)} {T('vs')} "
            f"{_spread(values('requirement'), show)}",
            f"{_ok_badge(passed == len(recs), 'PASS', 'FAILED')} "
            + T("{k} of {n} passed (run in {runs} of {reps} replications)",
                k=count(passed), n=count(len(recs)),
                runs=count(len({r.get('replication') for r in recs})),
                reps=count(len(reps)))])
    if not rows:
        return ""
    return (f"<h4>{T('Life tests')}</h4>"
            + table([T(h) for h in ("playbook", "item", "supplier", "units",
                                    "test hours → use hours", "failures", "criterion",
                                    "lower bound vs requirement", "passed")],
                    rows, cls="num"))


def _qs_chart(f: ResultsFolder, page: Page) -> str:
    """The backlog and the fallback over the plant's buckets, above the plant's own KPIs."""
    if f.series is None or "bucket" not in f.series or "replication" not in f.series:
        return note(T("No KPI series in this folder, so no chart over time."))
    reps_col = np.asarray(f.series["replication"], dtype=np.int64)
    buckets = np.asarray(f.series["bucket"], dtype=np.int64)
    if not buckets.size:
        return ""
    n_buckets = int(buckets.max()) + 1
    edges = np.full(n_buckets + 1, np.nan)
    edges[buckets] = np.asarray(f.series["t_start_h"], dtype=float)
    edges[buckets + 1] = np.asarray(f.series["t_end_h"], dtype=float)
    ids = [int(x) for x in np.unique(reps_col)]
    row_of = np.searchsorted(np.asarray(ids), reps_col)
    backlog = qs.bucket_means(qs.work_spans(f.records, f.scenario), ids, edges)
    fallback = qs.bucket_means(qs.fallback_spans(f.records), ids, edges)
    series = dict(f.series)
    backlog_name, fallback_name = t(_BACKLOG_SERIES), t(_FALLBACK_SERIES)
    series[backlog_name] = backlog[row_of, buckets]
    series[fallback_name] = fallback[row_of, buckets]
    tols = {k: b for k, b in tolerances(f).items() if product_of(k) is None}
    plant = [k for k in dict.fromkeys([*tols, "throughput_per_h"]) if k in f.series]
    kpis = [backlog_name, fallback_name, *plant][:_MAX_PANELS]
    horizon = float(edges[-1])
    spans = [s for ss in qs.fallback_spans(f.records).values() for s in ss]
    shaded = []
    if spans:
        ends = [horizon if math.isnan(s.end_h) else s.end_h for s in spans]
        starts = [s.start_h for s in spans]
        varies = not (_same(starts) and _same(ends))
        shaded.append((t("fallback in force") + (" " + t("(envelope over replications)")
                                                 if varies else ""), min(starts), max(ends)))
    warmup = f.scenario.get("warmup")
    fig = figs.resilience_figure(series, kpis, windows=shock_windows(f),
                                 warmup_h=float(warmup) if _is_number(warmup) else 0.0,
                                 tolerances=tols, spans=shaded, shares={fallback_name})
    if fig is None:
        return ""
    return (f"<h4>{T('Quality backlog and the plant over time')}</h4>"
            + page.figure(fig, f"quality system {f.label}", t(
                "Top: quality-work tasks of the work items that could start and were not "
                "done yet (an item's tasks count until its last one is done, so this is an "
                "upper bound of the twin's per-task backlog; approvals of single units under "
                "a deviation fallback are not in it), and the share of replications running "
                "under the fallback; below: the plant's own KPIs over the same buckets. Mean "
                "over replications with its 95 % band. Read how long the backlog takes to "
                "clear and whether the plant's KPIs stay within tolerance meanwhile.")))


# --------------------------------------------------------------------------- provenance


def provenance(folders: Sequence[ResultsFolder]) -> str:
    out: list[str] = []
    for f in runs_of(folders):
        j = f.journal or {}
        out.append(f"<h3>{e(f.label)}</h3>")
        out.append(dl([(T("scenario file"), code(j.get("scenario_file") or "–")),
                       (T("scenario hash (SHA-256)"), code(j.get("scenario_hash", "–")))]))
        rows = []
        for store in j.get("data") or []:
            if not isinstance(store, dict):
                continue
            ingests = [i for i in store.get("ingests") or [] if isinstance(i, dict)]
            for i in ingests or [{}]:
                period = (f"{e(i.get('period_start'))} – {e(i.get('period_end'))}"
                          if i.get("period_start") else "–")
                rows.append([code(store.get("store", "–")), code(i.get("source", "–")),
                             e(i.get("table", "–")), e(i.get("format", "–")),
                             code(i.get("sha256", "–")), count(i.get("rows_read")),
                             count(i.get("rows_loaded")), count(i.get("rows_quarantined")),
                             period])
        out.append(f"<h4>{T('Recorded data')}</h4>")
        out.append(table([T(h) for h in ("store", "ingested file", "table", "format",
                                         "SHA-256", "rows read", "loaded", "quarantined",
                                         "period")], rows, cls="wide")
                   or note(T("The scenario replays no recorded data.")))
        rules_ = _dict(j.get("rules"))
        out.append(f"<h4>{T('Rule files')}</h4>")
        out.append(table([T("rule file"), T("SHA-256 (content)")],
                         [[code(p), code(h)] for p, h in sorted(rules_.items())], cls="wide")
                   or note(T("The scenario loads no rule set.")))
        finished = next((r for r in f.records if r.get("kind") == "RunFinished"), {})
        tables_ = _dict(finished.get("tables_sha256"))
        if tables_:
            out.append(f"<h4>{T('Results tables as the run wrote them')}</h4>")
            out.append(table([T("table"), T("SHA-256 (columns)")],
                             [[code(x), code(h)] for x, h in sorted(tables_.items())],
                             cls="wide"))
    for f in folders:
        if f.journal is None:
            meta = f.mtd or (f.pareto.meta if f.pareto else {}) or (
                (f.stress or {}).get("header") or {})
            what = (t("MTD search") if f.mtd else t("optimisation") if f.pareto
                    else t("stress gate"))
            out.append(f"<h3>{e(f.label)} ({e(what)})</h3>")
            out.append(dl([(T("scenario"), e(meta.get("scenario") or "–")),
                           (T("scenario hash (SHA-256)"),
                            code(meta.get("scenario_hash") or "–"))]))
    return "".join(out)


def integrity_html(f: ResultsFolder) -> str:
    """Whether the folder's results are as they were written, and what ``verify`` found."""
    if f.intact:
        head = (badge(t("INTACT"), "ok") + " " + T(
            "every result is as it was written (hash chains, headers and table digests "
            "recomputed)"))
    else:
        head = badge(t("UNVERIFIED"), "bad") + " " + T(
            "the results changed after they were written, or cannot be verified")
    lines = list(f.findings)
    more = "".join(f"<li>{e(x)}</li>" for x in lines[:20])
    if len(lines) > 20:
        more += f"<li>{T('… and {n} more', n=count(len(lines) - 20))}</li>"
    return head + (f"<ul>{more}</ul>" if more else "")


def reproduce_command(f: ResultsFolder) -> str:
    j = f.journal or {}
    if not j.get("scenario_file"):
        return ""
    return shlex.join(["shocktwin", "run", str(j["scenario_file"]), "--replications",
                       str(j.get("replications")), "--seed", str(j.get("seed")),
                       "--engine", str(j.get("engine"))])


def reproducibility(folders: Sequence[ResultsFolder]) -> str:
    from shocktwin.reports._i18n import date

    out: list[str] = []
    for f in folders:
        out.append(f"<h3>{e(f.label)}</h3>")
        items: list[tuple[str, str]] = [
            (T("results folder"), code(f.path)),
            (T("integrity"), integrity_html(f))]
        j = f.journal
        if j is not None:
            command = j.get("command")
            cmd = shlex.join(str(c) for c in command) if isinstance(command, list) else ""
            items += [
                (T("shocktwin version"), e(j.get("version", "–"))),
                (T("journal format"), e(j.get("format"))),
                (T("status"), e(word(str(j.get("status", "–"))))),
                (T("seed"), e(j.get("seed"))),
                (T("engine"), e(j.get("engine", "–"))),
                (T("replications"), e(j.get("replications", "–"))),
                (T("scenario hash"), code(j.get("scenario_hash"))),
                (T("journal hash"), code(j.get("journal_hash"))),
                (T("chain hash"), code(j["chain_hash"]) if j.get("chain_hash") else "–"),
                (T("platform"), e(j.get("platform", "–"))),
                ("Python", e(j.get("python", "–"))),
                (T("command line"), code(cmd) if cmd else "–"),
                (T("started (UTC)"), f"{e(j.get('started_utc', '–'))} "
                                     f"({e(date(j.get('started_utc')))})"),
                (T("ended (UTC)"), e(j.get("ended_utc", "–"))),
            ]
            again = reproduce_command(f)
            if again:
                items.append((T("to reproduce"), code(again)))
        if f.mtd is not None:
            m = f.mtd
            items += [(T("MTD scenario hash"), code(m.get("scenario_hash", "–"))),
                      (T("MTD seed"), e(m.get("seed", "–"))),
                      (T("MTD runs the search needed"), e(count(m.get("runs")))),
                      (T("of them reused from an earlier search"),
                       e(count(m.get("runs_reused", 0))))]
        if f.pareto is not None and f.pareto.meta:
            m = f.pareto.meta
            items += [(T("optimisation scenario hash"), code(m.get("scenario_hash", "–"))),
                      (T("optimisation seed"), e(m.get("seed", "–"))),
                      (T("optimisation runs"), e(m.get("runs", "–")))]
        if f.stress is not None:
            h = f.stress.get("header") or {}
            items += [(T("stress gate chain hash"), code(h.get("chain_hash", "–"))),
                      (T("command line"), code(shlex.join(str(c) for c in h.get("command")
                                                          or [])) or "–")]
        out.append(dl(items))
    out.append(note(T("The journal hash covers the scenario, seed, engine, replication "
                      "count, rule-set contents and every measured number, not times or "
                      "platform: the same inputs give the same hash on any machine.")))
    return "".join(out)
