"""Derive a runnable starting scenario from an MES log in a store (``shocktwin derive``).

From the operations of one ingested source it works out the resources and their parallel
capacity (the most reports each ran at once), whether each is a QC station, the routing
variants and how often each occurs, the work-time distribution per resource (scipy.stats
candidates ranked by AIC, with the Kolmogorov–Smirnov fit), QC reject rates, and the
order-release pattern. The scenario it writes replays the log as a job shop; the
statistics go into its header as comments, for the reviewer to read and adjust.
"""

from __future__ import annotations

import math
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from shocktwin.scenarios.model import ReplayMode
from shocktwin.twin.experiment.fitting import fit_durations

__all__ = ["DerivedScenario", "ResourceSummary", "derive_scenario", "resource_id",
           "write_derived_scenario"]

_QC = re.compile(r"quality|inspect|\bq\.?c\b|\bqc\d*\b", re.IGNORECASE)
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class ResourceSummary:
    id: str
    name: str
    servers: int
    kind: str
    operations: int
    busy_h: float
    utilisation: float  # busy / (servers × span)
    reject_rate: float  # rejected / (completed + rejected + to review)
    work_fit: str


@dataclass(frozen=True)
class DerivedScenario:
    """The scenario text and the figures it was derived from."""

    yaml_text: str
    source: str
    span_h: float
    cases: int
    operations: int
    resources: tuple[ResourceSummary, ...]
    variants: tuple[tuple[tuple[str, ...], int], ...]  # (resource ids), count; most first
    n_variants: int
    releases_per_weekday: dict[str, int]
    interarrival_fit: str
    notes: list[str] = field(default_factory=list)


def resource_id(name: str, taken: set[str]) -> str:
    """A scenario identifier for a log resource name: lowercase words joined by '-'."""
    words = re.findall(r"[A-Za-z0-9]+", name.lower())
    base = "-".join(words)[:60] or "resource"
    if not base[0].isalpha():
        base = "r-" + base
    out, n = base, 2
    while out in taken:
        out, n = f"{base}-{n}", n + 1
    taken.add(out)
    return out


def derive_scenario(store: str | Path, source: str | None = None, *, name: str | None = None,
                    store_ref: str | None = None, mode: ReplayMode = ReplayMode.TRACE,
                    top_variants: int = 10) -> DerivedScenario:
    """Build the scenario for the operations of ``source`` in ``store``.

    ``store_ref`` is how the scenario names the store (default: the path as given); write it
    relative to where the scenario file will live.
    """
    from shocktwin.twin.experiment.feed import ShopData

    data = ShopData(Path(store), source)
    log = data.log
    taken: set[str] = set()
    ids = [resource_id(r.name, taken) for r in log.resources]
    pool = data.pool
    work: dict[int, list[float]] = {}
    for job in pool:
        for r, w in zip(job.resource, job.work_h, strict=True):
            work.setdefault(r, []).append(w)
    span = log.span_h
    summaries = []
    for i, res in enumerate(log.resources):
        fit = fit_durations(work.get(i, [0.0]))
        fit_text = (f"{fit.fit.describe()}, {fit.p_zero:.0%} zero"
                    if fit.fit is not None else "all zero")
        handled = res.qty_completed + res.qty_rejected + res.qty_review
        summaries.append(ResourceSummary(
            ids[i], res.name, res.capacity, "inspection" if _QC.search(res.name) else "process",
            res.operations, res.busy_h,
            res.busy_h / (res.capacity * span) if span > 0 else math.nan,
            res.qty_rejected / handled if handled else math.nan, fit_text))

    variants = Counter(tuple(_collapse([ids[r] for r in job.resource])) for job in pool)
    weekday = Counter(_WEEKDAYS[(log.t0 + _hours(job.release_h)).weekday()] for job in pool)
    releases = np.sort([job.release_h for job in pool])
    gaps = np.diff(releases)
    inter = fit_durations(gaps) if gaps.size else None
    inter_text = (f"{inter.fit.describe()}, {inter.p_zero:.0%} zero"
                  if inter is not None and inter.fit is not None else "n/a")

    lead = np.array([b - a for a, b in log.case_lead_times().values()])
    horizon_days = max(1, math.ceil(span / 24.0))
    scenario_name = name or _name_from(log.source)
    doc: dict[str, Any] = {
        "version": 1,
        "name": scenario_name,
        "description": (f"Job shop replayed from {Path(log.source).name}: {log.cases} work "
                        f"orders, {log.operations} operation reports on "
                        f"{len(summaries)} resources over {span / 24:.1f} days."),
        "horizon": f"{horizon_days}d",
        "shop": {
            "store": store_ref if store_ref is not None else str(store),
            **({"source": source} if source else {}),
            "mode": mode.value,
            "resources": [{"id": s.id, "name": s.name, "servers": s.servers, "kind": s.kind}
                          for s in summaries],
        },
        "hypothesis": {"probability": 0.9, "tolerances": _tolerances(lead, log.cases, span)},
        "experiment": {"replications": 1 if mode is ReplayMode.TRACE else 10, "seed": 1,
                       "engine": "simpy", "bucket": "1d"},
    }
    body = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)
    header = _header(log, summaries, variants, top_variants, weekday, inter_text, lead)
    return DerivedScenario(
        yaml_text=header + body, source=log.source, span_h=span, cases=log.cases,
        operations=log.operations, resources=tuple(summaries),
        variants=tuple(variants.most_common()), n_variants=len(variants),
        releases_per_weekday={d: weekday.get(d, 0) for d in _WEEKDAYS},
        interarrival_fit=inter_text)


def write_derived_scenario(store: str | Path, out: str | Path, source: str | None = None, *,
                           name: str | None = None, mode: ReplayMode = ReplayMode.TRACE,
                           replace: bool = False) -> DerivedScenario:
    """Derive the scenario of ``source`` in ``store`` and write it to ``out``, which names
    the store relative to itself (so the pair can move together). An existing ``out`` is
    refused unless ``replace``; a device, pipe or folder never."""
    from shocktwin.errors import Problem, ScenarioError
    from shocktwin.files import write_atomic

    target = Path(out)
    if target.exists() and not replace:
        raise ScenarioError([Problem(str(target), "", "the file exists; use --force to replace "
                                     "it")], file=str(target))
    store_ref = os.path.relpath(Path(store).resolve(), target.resolve().parent)
    derived = derive_scenario(store, source, name=name, store_ref=store_ref, mode=mode)
    write_atomic(target, derived.yaml_text, error=ScenarioError, what="the scenario")
    return derived


def _tolerances(lead: np.ndarray, cases: int, span_h: float) -> list[dict[str, Any]]:
    """A starting hypothesis: no worse than the log by more than 10 %."""
    if lead.size == 0 or span_h <= 0:
        return []
    mean_h = float(lead.mean())
    return [
        {"kpi": "throughput_per_h", "min": round(0.9 * cases / span_h, 6)},
        {"kpi": "release_lead_time_mean", "max": f"{math.ceil(1.1 * mean_h)}h"},
    ]


def _collapse(seq: list[str]) -> list[str]:
    out: list[str] = []
    for x in seq:
        if not out or out[-1] != x:
            out.append(x)
    return out


def _hours(h: float) -> Any:
    from datetime import timedelta

    return timedelta(hours=h)


def _name_from(source: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9_.\-]+", "-", Path(source).stem).strip("-.") or "shop"
    return ("shop-" + stem if not stem[0].isalpha() else stem)[:64]


def _header(log: Any, summaries: list[ResourceSummary], variants: Counter[tuple[str, ...]],
            top: int, weekday: Counter[str], inter_text: str, lead: np.ndarray) -> str:
    lines = [
        f"Derived by `shocktwin derive` from {log.source}",
        f"period {log.t0:%Y-%m-%d %H:%M} + {log.span_h:.1f} h; {log.cases} work orders, "
        f"{log.operations} operation reports",
        "",
        "Resources: servers = the most reports the log shows running at once;",
        "utilisation = busy / (servers x period); reject = rejected / handled pieces.",
    ]
    for s in summaries:
        reject = "n/a" if math.isnan(s.reject_rate) else f"{s.reject_rate:.2%}"
        lines.append(f"  {s.id}: {s.kind}, {s.servers} server(s), {s.operations} reports, "
                     f"busy {s.busy_h:.0f} h, utilisation {s.utilisation:.0%}, reject {reject}")
        lines.append(f"      work time: {s.work_fit}")
    lines += ["", f"Routing variants (consecutive reports on one resource merged): "
                  f"{len(variants)} distinct over {log.cases} orders; the most frequent:"]
    for seq, count in variants.most_common(top):
        lines.append(f"  {count:>4} ({count / log.cases:.1%}): {' > '.join(seq)}")
    lines += ["", "Order releases per weekday: "
              + ", ".join(f"{d} {weekday.get(d, 0)}" for d in _WEEKDAYS),
              f"Time between releases (h): {inter_text}"]
    if lead.size:
        lines.append(f"Recorded order lead time (first start to last end): median "
                     f"{np.median(lead):.1f} h, mean {lead.mean():.1f} h, p95 "
                     f"{np.percentile(lead, 95):.1f} h")
    lines += ["", "mode: trace replays the log exactly; bootstrap resamples recorded days; "
              "fit draws", "from the distributions above. Add mtbf/mttr to a resource, or "
              "shocks, to stress it.", ""]
    return "".join(f"# {line}".rstrip() + "\n" for line in lines)
