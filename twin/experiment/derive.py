"""Derive a runnable starting scenario from an MES log in a store (``shocktwin derive``).

From the operations of one ingested source it works out the resources and their parallel
capacity (the most reports each ran at once), whether each is a QC station, the routing
variants and how often each occurs, the work-time distribution per resource (scipy.stats
candidates ranked by AIC, with the Kolmogorov–Smirnov fit), QC reject rates, and the
order-release pattern. The scenario it writes replays the log as a job shop, or
(``DerivedForm.PLANT``) as a plant: each part type a recorded product, each resource a
station (QC resources inspection stations) with its per-piece time fitted, so that the
reviewer can add suppliers, stock, incoming inspection and a rule set around the recorded
work. The statistics go into its header as comments, for the reviewer to read and adjust.

Its starting hypothesis holds on the log it came from: the run measures a window of the
log's length, over which the tolerances are computed (see :func:`derive_scenario`).
"""

from __future__ import annotations

import math
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from shocktwin.scenarios.model import ReplayMode
from shocktwin.twin.experiment.fitting import fit_durations

__all__ = ["CHANCE_TAIL", "MARGIN", "DerivedForm", "DerivedScenario", "ResourceSummary",
           "derive_scenario", "resource_id", "time_dist", "write_derived_scenario"]

_QC = re.compile(r"quality|inspect|\bq\.?c\b|\bqc\d*\b", re.IGNORECASE)
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

#: The least margin of the starting hypothesis: how much worse than its record the shop may
#: do before a reviewer calls it changed.
MARGIN = 0.10
#: How often, per KPI, a period of the log's length made of recorded days drawn at random
#: may fall outside a resampling mode's tolerance by chance alone.
CHANCE_TAIL = 0.01
_RESAMPLES = 10_000
_RESAMPLE_SEED = 20_120_102  # fixed: the same log always derives the same scenario


class DerivedForm(StrEnum):
    """What a derived scenario replays the log as."""

    SHOP = "shop"  # a job shop of the log's resources only
    PLANT = "plant"  # a plant: recorded products over stations bound to the resources


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
    warmup_h: float = 0.0  # the run's warm-up; it measures from there to the horizon
    window_h: float = 0.0  # horizon - warm-up: the log's span and the minute after it
    margins: dict[str, float] = field(default_factory=dict)  # KPI -> relative margin
    notes: list[str] = field(default_factory=list)
    products: tuple[ProductSummary, ...] = ()  # the plant form's recorded products


@dataclass(frozen=True)
class ProductSummary:
    """A recorded product of the plant form: the part type it replays and its orders."""

    id: str
    part: str | None  # None: the orders of a log that records no part types
    orders: int
    units: int
    lead_time_max_h: float
    due_in_days: int
    top_variant: tuple[str, ...]  # its most frequent routing (station ids)


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
                    top_variants: int = 10,
                    form: DerivedForm = DerivedForm.PLANT) -> DerivedScenario:
    """Build the scenario for the operations of ``source`` in ``store``, as a shop or a
    plant (``form``).

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
        # A resource whose reports all took no time never ran one "at once"; it still
        # needs a server to take them.
        servers = max(1, res.capacity)
        summaries.append(ResourceSummary(
            ids[i], res.name, servers, "inspection" if _QC.search(res.name) else "process",
            res.operations, res.busy_h,
            res.busy_h / (servers * span) if span > 0 else math.nan,
            res.qty_rejected / handled if handled else math.nan, fit_text))

    variants = Counter(tuple(_collapse([ids[r] for r in job.resource])) for job in pool)
    weekday = Counter(_WEEKDAYS[(log.t0 + _hours(job.release_h)).weekday()] for job in pool)
    releases = np.sort([job.release_h for job in pool])
    gaps = np.diff(releases)
    inter = fit_durations(gaps) if gaps.size else None
    inter_text = (f"{inter.fit.describe()}, {inter.p_zero:.0%} zero"
                  if inter is not None and inter.fit is not None else "n/a")

    recorded = log.case_lead_times()
    lead = np.array([b - a for a, b in recorded.values()])
    # The run measures [warm-up, horizon); the tolerances are the log's KPIs over a window
    # of the same length: the log's span, not a calendar rounded up to whole days. A longer
    # window counts an empty tail the log never had (a 125.5 h log run for 144 h shows 13 %
    # less throughput, past a 10 % margin), and it would dilute a shock a reviewer injects
    # into a period the length of the record. The window ends one whole minute (MES times
    # are to the minute) past the last recorded end: the run does not count what happens
    # at its horizon itself.
    # Trace replays the recorded period from its recorded start: no warm-up. The resampling
    # modes release orders from an empty shop for as long as the run lasts; measured from
    # 0, the orders released in the last lead time are still open at the horizon and those
    # that finish are the short ones (4TU log: throughput 24 % and mean lead time 32 % under
    # the log's). After a warm-up as long as the longest recorded order, every order in
    # the shop was released within the run, as in steady state: the window's throughput is
    # the release rate and its lead times are not cut short (4TU, 40 bootstrap
    # replications: 0.1057 against the log's 0.1051 orders/h, 494.5 h against 494.9 h).
    window_min = math.floor(span * 60.0 + 1e-6) + 1
    window_h = window_min / 60.0
    warmup_days = (0 if mode is ReplayMode.TRACE or not lead.size
                   else math.ceil(float(lead.max()) / 24.0 - 1e-9))
    warmup_h = 24.0 * warmup_days
    plant = form is DerivedForm.PLANT
    release_h = np.array([a for a, _ in recorded.values()])
    # A plant ships units: its throughput is what the orders shipped (their quantity less
    # what their reports rejected), and its release lead time is measured per unit shipped,
    # so each order's lead time counts as many times as it shipped units.
    shipped = _shipped_units(pool)
    units = (np.array([shipped[c] for c in recorded], dtype=float) if plant else None)
    margins = _margins(release_h, lead, span, resampled=mode is not ReplayMode.TRACE,
                       units=units)
    lead_mean = (float(np.average(lead, weights=units))
                 if units is not None and units.sum() > 0
                 else float(lead.mean()) if lead.size else math.nan)
    scenario_name = name or _name_from(log.source)
    store_text = store_ref if store_ref is not None else str(store)
    what = "Plant" if plant else "Job shop"
    doc: dict[str, Any] = {
        "version": 1,
        "name": scenario_name,
        "description": (f"{what} replayed from {Path(log.source).name}: {log.cases} work "
                        f"orders, {log.operations} operation reports on "
                        f"{len(summaries)} resources over {span / 24:.1f} days."),
        "horizon": _duration_text(24 * 60 * warmup_days + window_min),
        **({"warmup": f"{warmup_days}d"} if warmup_days else {}),
    }
    products: list[ProductSummary] = []
    if plant:
        products = _products(data, recorded)
        doc["plant"] = _plant_section(data, summaries, products, store_text, source, mode)
        tolerances = _tolerances(lead_mean, sum(shipped.values()), window_h, margins)
    else:
        doc["shop"] = {
            "store": store_text,
            **({"source": source} if source else {}),
            "mode": mode.value,
            "resources": [{"id": s.id, "name": s.name, "servers": s.servers, "kind": s.kind}
                          for s in summaries],
        }
        tolerances = _tolerances(lead_mean, log.cases, window_h, margins)
    doc["hypothesis"] = {"probability": 0.9, "tolerances": tolerances}
    doc["experiment"] = {"replications": 1 if mode is ReplayMode.TRACE else 10, "seed": 1,
                         "engine": "simpy", "bucket": "1d"}
    body = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)
    header = _header(log, summaries, variants, top_variants, weekday, inter_text, lead,
                     mode, warmup_days, margins, products)
    return DerivedScenario(
        yaml_text=header + body, source=log.source, span_h=span, cases=log.cases,
        operations=log.operations, resources=tuple(summaries),
        variants=tuple(variants.most_common()), n_variants=len(variants),
        releases_per_weekday={d: weekday.get(d, 0) for d in _WEEKDAYS},
        interarrival_fit=inter_text, warmup_h=warmup_h, window_h=window_h, margins=margins,
        products=tuple(products))


def write_derived_scenario(store: str | Path, out: str | Path, source: str | None = None, *,
                           name: str | None = None, mode: ReplayMode = ReplayMode.TRACE,
                           replace: bool = False,
                           form: DerivedForm = DerivedForm.PLANT) -> DerivedScenario:
    """Derive the scenario of ``source`` in ``store`` (as a shop or a plant, ``form``) and
    write it to ``out``, which names the store relative to itself (so the pair can move
    together). An existing ``out`` is refused unless ``replace``; a device, pipe or folder
    never."""
    from shocktwin.errors import Problem, ScenarioError
    from shocktwin.files import write_atomic

    target = Path(out)
    if target.exists() and not replace:
        raise ScenarioError([Problem(str(target), "", "the file exists; use --force to replace "
                                     "it")], file=str(target))
    store_ref = os.path.relpath(Path(store).resolve(), target.resolve().parent)
    derived = derive_scenario(store, source, name=name, store_ref=store_ref, mode=mode,
                              form=form)
    write_atomic(target, derived.yaml_text, error=ScenarioError, what="the scenario")
    return derived


def _shipped_units(pool: list[Any]) -> dict[str, int]:
    """Units each recorded order ships in a plant: its quantity less what its reports
    rejected (one unit where the log records no quantity)."""
    return {job.case_id: max((job.quantity or 1) - sum(job.rejected), 0) for job in pool}


def _products(data: Any, recorded: dict[str, tuple[float, float]]) -> list[ProductSummary]:
    """One recorded product per part type, most orders first; one for every order where
    the log records no part types. Each is due a margin after its longest recorded order
    (whole days), so the record itself is on time and a delay a shock causes shows."""
    taken: set[str] = set()
    ids = [resource_id(r.name, set()) for r in data.log.resources]
    by_part: dict[str | None, list[Any]] = {}
    for job in data.pool:
        by_part.setdefault(job.part, []).append(job)
    out = []
    for part, jobs in sorted(by_part.items(), key=lambda kv: (-len(kv[1]), str(kv[0]))):
        lead = max((recorded[j.case_id][1] - recorded[j.case_id][0] for j in jobs),
                   default=0.0)
        variants = Counter(tuple(_collapse([ids[r] for r in j.resource])) for j in jobs)
        out.append(ProductSummary(
            resource_id(part if part is not None else "orders", taken), part, len(jobs),
            sum(j.quantity or 1 for j in jobs), lead,
            max(1, math.ceil((1.0 + MARGIN) * lead / 24.0 - 1e-9)),
            variants.most_common(1)[0][0]))
    return out


def _plant_section(data: Any, summaries: list[ResourceSummary], products: list[ProductSummary],
                   store: str, source: str | None, mode: ReplayMode) -> dict[str, Any]:
    """The plant form: each resource a station of its capacity whose own time per piece is
    fitted from the log (for modelled products and incoming lots; recorded tasks keep
    their recorded work), bound to the resource; each part type a recorded product."""
    per_piece: dict[int, list[float]] = {}
    for job in data.pool:
        for r, w, n in zip(job.resource, job.work_h, job.handled or [0] * len(job.resource),
                           strict=True):
            if n > 0:
                per_piece.setdefault(r, []).append(w / n)
    stations: list[dict[str, Any]] = []
    for i, s in enumerate(summaries):
        time = time_dist(per_piece.get(i, []))
        if s.kind == "inspection":
            stations.append({"id": s.id, "kind": "inspection", "inspectors": s.servers,
                             "time_per_unit": time})
        else:
            stations.append({"id": s.id, "servers": s.servers, "process_time": time})
    return {
        "log": {"store": store, **({"source": source} if source else {}), "mode": mode.value,
                "resources": [{"name": s.name, "station": s.id} for s in summaries]},
        "stations": stations,
        "products": [{"id": p.id, "recorded": {
            **({"part_types": [p.part]} if p.part is not None else {}),
            "due_in": f"{p.due_in_days}d"}} for p in products],
    }


def time_dist(values: list[float] | np.ndarray) -> Any:
    """A scenario time (hours in, text with units out) for ``values``: the best-fitting
    distribution by AIC that the scenario format can state, a fixed time for a single
    value, '0min' for none. Zeros are left out (a time per piece is not zero)."""
    from shocktwin.twin.experiment.fitting import fit_positive

    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x) & (x > 0)]
    if x.size == 0:
        return "0min"
    if x.size < 2 or x.min() == x.max():
        return _time_text(float(np.median(x)))
    for fit in fit_positive(x):
        dist = _scenario_dist(fit.name, fit.params)
        if dist is not None:
            return dist
    return _time_text(float(np.mean(x)))


def _scenario_dist(name: str, params: tuple[float, ...]) -> dict[str, Any] | None:
    """A scipy.stats fit (location 0) as a scenario distribution, or None when its
    parameters are outside what the format accepts."""
    from shocktwin.scenarios.model import MIN_GAMMA_CV, MIN_WEIBULL_SHAPE

    if name == "expon":
        return {"dist": "exponential", "mean": _time_text(params[-1])}
    if name == "gamma":
        shape, scale = params[0], params[-1]
        cv = 1.0 / math.sqrt(shape)
        if MIN_GAMMA_CV <= cv <= 10:
            return {"dist": "gamma", "mean": _time_text(shape * scale), "cv": _round(cv)}
    elif name == "lognorm":
        sigma, scale = params[0], params[-1]
        if 0 < sigma <= 5:
            return {"dist": "lognormal", "median": _time_text(scale), "sigma": _round(sigma)}
    elif name == "weibull_min":
        shape, scale = params[0], params[-1]
        if MIN_WEIBULL_SHAPE <= shape <= 50:
            return {"dist": "weibull", "scale": _time_text(scale), "shape": _round(shape)}
    return None


def _round(x: float) -> float:
    return float(f"{x:.4g}")


def _time_text(hours: float) -> str:
    """Hours as duration text to four significant digits, in the unit that reads best."""
    for unit, size in (("d", 24.0), ("h", 1.0), ("min", 1 / 60), ("s", 1 / 3600)):
        if hours >= size:
            return f"{float(f'{hours / size:.4g}'):g}{unit}"
    return f"{max(float(f'{hours * 3600:.4g}'), 1e-3):g}s"


def _tolerances(lead_mean_h: float, released: int, window_h: float,
                margins: dict[str, float]) -> list[dict[str, Any]]:
    """A starting hypothesis: the log's throughput (``released`` orders, or units a plant
    ships) and mean release lead time (per order of a shop, per unit a plant ships), over a
    window of ``window_h`` (the run's), no worse by more than ``margins``."""
    if math.isnan(lead_mean_h) or window_h <= 0:
        return []
    rate = released / window_h
    lead_max = math.ceil((1.0 + margins["release_lead_time_mean"]) * lead_mean_h)
    return [
        {"kpi": "throughput_per_h",
         "min": _down((1.0 - margins["throughput_per_h"]) * rate)},
        {"kpi": "release_lead_time_mean", "max": f"{lead_max}h"},
    ]


def _margins(release_h: np.ndarray, lead: np.ndarray, span_h: float, *,
             resampled: bool, units: np.ndarray | None = None) -> dict[str, float]:
    """Relative margins of the throughput and mean lead-time tolerances.

    A trace replays the recorded period (to within 1 % per order), so its margin is
    :data:`MARGIN`. A resampling mode's replication is another period of the same length,
    and such periods differ by chance: on the 4TU log by 10 % (throughput) and 9 % (mean
    lead time), one standard deviation. A tolerance inside that spread would reject the
    unshocked shop it came from, so each margin is the larger of :data:`MARGIN` and how far
    a period of the log's length made of recorded days drawn at random (as the bootstrap
    mode makes them) falls from the log at the :data:`CHANCE_TAIL` quantile (the fit mode,
    whose releases are Poisson, spreads less). An unshocked replication then misses each
    tolerance about once in a hundred, and the ten default replications hold the 90 %
    hypothesis with a probability near 98 %; a shock must cost more than chance does in
    one period of the record to be seen. With ``units`` (a plant's units shipped per order)
    the throughput counts units, not orders, and the lead time is the mean per unit.
    """
    out = {"throughput_per_h": MARGIN, "release_lead_time_mean": MARGIN}
    if not resampled or lead.size == 0:
        return out
    n_days = max(1, math.ceil(span_h / 24.0))
    day = np.clip((release_h // 24.0).astype(np.int64), 0, n_days - 1)
    count = np.bincount(day, minlength=n_days).astype(float)
    if units is not None:
        shipped = np.bincount(day, weights=units, minlength=n_days)
        lead_sum = np.bincount(day, weights=lead * units, minlength=n_days)
        mean = float(np.average(lead, weights=units)) if units.sum() > 0 else 0.0
    else:
        shipped = count
        lead_sum = np.bincount(day, weights=lead, minlength=n_days)
        mean = float(lead.mean())
    rng = np.random.default_rng(_RESAMPLE_SEED)
    chunk = max(1, min(_RESAMPLES, 4_000_000 // n_days))  # a few tens of MB at most
    totals, sums, made = [], [], []
    for start in range(0, _RESAMPLES, chunk):
        drawn = rng.integers(n_days, size=(min(chunk, _RESAMPLES - start), n_days))
        totals.append(count[drawn].sum(axis=1))
        sums.append(lead_sum[drawn].sum(axis=1))
        made.append(shipped[drawn].sum(axis=1))
    made_all, summed = np.concatenate(made), np.concatenate(sums)
    total = made_all if units is not None else np.concatenate(totals)
    some = total > 0
    fewer = (1.0 - float(np.quantile(made_all, CHANCE_TAIL))
             / float(shipped.sum())) if shipped.sum() > 0 else 0.0
    longer = (float(np.quantile(summed[some] / total[some], 1.0 - CHANCE_TAIL))
              / mean - 1.0) if mean > 0 else 0.0
    out["throughput_per_h"] = min(max(MARGIN, fewer), 1.0)
    out["release_lead_time_mean"] = max(MARGIN, longer)
    return out


def _down(x: float, digits: int = 6) -> float:
    """``x`` to ``digits`` significant digits, rounded down (a lower bound never tightens)."""
    if x <= 0:
        return 0.0
    scale = 10.0 ** (digits - 1 - math.floor(math.log10(x)))
    return math.floor(x * scale) / scale


def _duration_text(minutes: int) -> str:
    """Whole minutes as scenario duration text: 128505 -> '89d5h45min'."""
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = [f"{days}d" if days else "", f"{hours}h" if hours else "",
             f"{mins}min" if mins else ""]
    return "".join(parts) or "0min"


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
            top: int, weekday: Counter[str], inter_text: str, lead: np.ndarray,
            mode: ReplayMode, warmup_days: int, margins: dict[str, float],
            products: list[ProductSummary] | None = None) -> str:
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
    if products:
        lines += ["", "Plant: each part type is a recorded product. Its orders (of their ordered "
                  "quantity) take their", "bill of materials from the buffers, then run their "
                  "recorded reports over the stations", "bound to the resources in plant.log; "
                  "what a report rejected is scrapped. A station's own",
                  "time per piece (fitted from work / pieces handled) serves modelled products "
                  "and incoming", "lots; recorded tasks keep their recorded work. Each product "
                  f"is due {MARGIN:.0%} after its longest", "recorded order, in whole days.",
                  "Products: orders, units, longest recorded lead time, due, most frequent "
                  "routing:"]
        for p in products:
            lines.append(f"  {p.id}: {p.orders} orders, {p.units} units, "
                         f"{p.lead_time_max_h:.0f} h, due {p.due_in_days} d: "
                         + " > ".join(p.top_variant))
        lines += ["To add supply: suppliers and buffers of a material, a bom on the products, "
                  "an inspection", "station with role: incoming (a QC station of the log may "
                  "take that role) and rules:."]
        mode_what = "a station"
    else:
        mode_what = "a resource"
    lines += ["", "mode: trace replays the log exactly; bootstrap resamples recorded days; "
              "fit draws", f"from the distributions above. Add mtbf/mttr to {mode_what}, or "
              "shocks, to stress it.", ""]
    if lead.size:
        lines.append("Hypothesis: the KPIs are measured over a window of the log's length, "
                     + ("after a warm-up" if warmup_days else "from the log's start."))
        if warmup_days:
            lines += [f"of {warmup_days} d (the longest recorded order), which fills the shop "
                      "as in steady state.",
                      "Shocks count from the start of the run: put them after the warm-up."]
        tp, lt = margins["throughput_per_h"], margins["release_lead_time_mean"]
        shipped = " (units shipped)" if products else ""
        lines.append(f"Margins against the log: throughput{shipped} {tp:.0%} lower, mean lead "
                     f"time {lt:.0%} longer;")
        lines += (["a trace replays the recorded period."] if mode is ReplayMode.TRACE else
                  [f"each {MARGIN:.0%}, or, if further, as far as a period of recorded days "
                   "drawn at random", f"falls from the log {CHANCE_TAIL * 100:g} time in "
                   f"{1 / CHANCE_TAIL:g} (by chance alone)."])
        lines.append("")
    return "".join(f"# {line}".rstrip() + "\n" for line in lines)
