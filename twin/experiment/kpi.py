"""KPIs of one replication: whole-run values over [warm-up, horizon] and time-bucketed series.

Definitions (times in hours):
- throughput_per_h: units released per hour.
- otd: share of orders due in the window that were complete by their due time; an order
  still open at the horizon is late.
- release_lead_time_mean / _p95: start of work (materials picked) → quality release.
- order_lead_time_mean: order arrival → last unit released, for orders completed.
- release_sla_met: share of released units whose release lead time was within the SLA.
- escaped_ppm: defective units released per million released (the truth, not inspection's).
- inspection_utilisation: inspectors' busy time / (inspectors × time).
- wip_mean: time-average of units between start of work and release or scrap.
- scrap: units scrapped (rejected at inspection).
- stockout_hours: hours with a buffer at zero stock, summed over buffers.

A plant with a quality system adds:
- time_to_valid_quality_system: from a shock's onset to every rule it invalidated
  regenerated and re-reviewed, the longest such episode ending in the window (0: no rule
  invalidated; NaN: an episode still open at the horizon, which cannot be shown to be
  within any bound).
- quality_backlog_peak / _mean: quality-work tasks waiting or in work (peak after the
  warm-up; time-average over the window).
- fallback_release_share: share of the units released in the window that were released
  under a rule set's fallback (held until valid, approved by deviation, or 100 %
  inspection).
- release_time_p50 / _p95: a unit's time at quality release, arrival to release.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from shocktwin.kpis import PRODUCT_KPIS, kpi_key
from shocktwin.scenarios.model import Kpi
from shocktwin.twin.model.base import bucket_edges_h
from shocktwin.twin.model.plant import PlantRecord

__all__ = ["SERIES_COLUMNS", "kpis_of", "series_of"]

SERIES_COLUMNS = ("t_start_h", "t_end_h", "released", "throughput_per_h", "otd",
                  "release_lead_time_mean", "release_lead_time_p95", "escaped_ppm", "scrap",
                  "wip_mean", "inspection_utilisation", "stockout_hours")


def _p95(x: np.ndarray) -> float:
    return float(np.percentile(x, 95)) if x.size else float("nan")


def _p95_of_sorted(x: np.ndarray) -> float:
    """``np.percentile(x, 95)`` of a sorted, non-empty ``x``, bit for bit, without the cost
    of a numpy call (one per bucket of a series made that a tenth of a short run).

    numpy's default (linear) method: the virtual index v = (n - 1) * 0.95 between the order
    statistics ``a`` at its floor and ``b`` after it, weight g = v - floor(v), interpolated as
    ``a + (b - a) * g``, or from g >= 0.5 as ``b - (b - a) * (1 - g)``; a single value is
    taken at index -1 with g = v + 1; NaN (sorted last) gives NaN.
    """
    n = x.size
    last = float(x[-1])
    if math.isnan(last):
        return math.nan
    virtual = (n - 1) * 0.95
    if virtual >= n - 1:
        prev, i, j = -1, n - 1, n - 1
    else:
        prev = i = math.floor(virtual)
        j = i + 1
    gamma = virtual - prev
    a, b = float(x[i]), float(x[j])
    diff = b - a
    return b - diff * (1 - gamma) if gamma >= 0.5 else a + diff * gamma


def _mean(x: np.ndarray) -> float:
    return float(x.mean()) if x.size else float("nan")


def _ratio(num: float, den: float) -> float:
    return num / den if den > 0 else float("nan")


def _area_at(rec: PlantRecord, key: str, times: np.ndarray) -> np.ndarray:
    """The area under a level up to each of ``times``, read from the snapshots taken
    there (time 0 has area 0). A snapshot a rounding error either side of a time is the
    one taken for it."""
    t = rec.snapshot_h
    out = np.zeros(times.size)
    later = times > 0
    want = times[later]
    if not want.size:
        return out
    if not t.size:
        raise ValueError(f"no snapshot for {key}: the record holds none")
    i = np.searchsorted(t, want)
    below = np.clip(i - 1, 0, t.size - 1)
    above = np.clip(i, 0, t.size - 1)
    near = np.where(np.abs(t[below] - want) <= np.abs(t[above] - want), below, above)
    off = np.abs(t[near] - want) > 1e-9 * np.maximum(1.0, want)
    if off.any():
        raise ValueError(f"no snapshot for {key} at {want[off][:5]} h")
    out[later] = rec.snapshots[key][near]
    return out


def _area_between(rec: PlantRecord, key: str, t0: float, t1: float) -> float:
    start, end = _area_at(rec, key, np.array([t0, t1]))
    return float(end - start)


def kpis_of(rec: PlantRecord) -> dict[str, float]:
    """Whole-run KPIs over [warm-up, horizon]; with several products, also the
    :data:`PRODUCT_KPIS` of each (``otd[valve_a]``)."""
    out = _flow_kpis(rec)
    for k, product in enumerate(rec.products):
        part = _flow_kpis(rec, k)
        out.update({kpi_key(kpi.value, product): part[kpi.value] for kpi in PRODUCT_KPIS})
    if rec.quality is not None:
        out.update(_quality_kpis(rec))
    return out


def _quality_kpis(rec: PlantRecord) -> dict[str, float]:
    """The quality system's KPIs over [warm-up, horizon] (see the module's docstring)."""
    q = rec.quality
    assert q is not None
    w, h = rec.warmup_h, rec.horizon_h
    lengths = [end - onset for onset, end in q.episodes if not end < w]  # NaN end: open
    ttv = (float("nan") if any(math.isnan(x) for x in lengths)
           else max(lengths, default=0.0))
    in_win = rec.release_h >= w
    times = rec.release_time_h[in_win]
    times = times[~np.isnan(times)]
    return {
        Kpi.TIME_TO_VALID_QUALITY_SYSTEM.value: ttv,
        Kpi.QUALITY_BACKLOG_PEAK.value: q.backlog_peak,
        Kpi.QUALITY_BACKLOG_MEAN.value: _area_between(rec, "quality_backlog_area", w, h)
        / (h - w),
        Kpi.FALLBACK_RELEASE_SHARE.value: _ratio(float(rec.release_fallback[in_win].sum()),
                                                 int(in_win.sum())),
        Kpi.RELEASE_TIME_P50.value: float(np.percentile(times, 50)) if times.size
        else float("nan"),
        Kpi.RELEASE_TIME_P95.value: _p95(times),
    }


def _flow_kpis(rec: PlantRecord, product: int | None = None) -> dict[str, float]:
    """The KPIs of the whole plant, or (``product``) of the releases, orders and scrap of
    one product (the plant-wide levels then stand for the plant as a whole)."""
    if product is not None:
        rel = rec.release_product == product
        orders = rec.order_product == product
        rec = dataclasses.replace(
            rec, release_h=rec.release_h[rel], release_lead_h=rec.release_lead_h[rel],
            release_escaped=rec.release_escaped[rel],
            scrap_h=rec.scrap_h[rec.scrap_product == product],
            order_created_h=rec.order_created_h[orders], order_due_h=rec.order_due_h[orders],
            order_done_h=rec.order_done_h[orders])
    w, h = rec.warmup_h, rec.horizon_h
    window = h - w
    in_win = rec.release_h >= w
    lead = rec.release_lead_h[in_win]
    released = int(in_win.sum())
    escaped = int(rec.release_escaped[in_win].sum())
    due_in_win = (rec.order_due_h >= w) & (rec.order_due_h < h)
    done = rec.order_done_h[due_in_win]
    on_time = int(np.sum(done <= rec.order_due_h[due_in_win]))  # NaN (open) compares False
    created_in_win = (rec.order_created_h >= w) & ~np.isnan(rec.order_done_h)
    order_lead = rec.order_done_h[created_in_win] - rec.order_created_h[created_in_win]
    return {
        Kpi.THROUGHPUT.value: released / window,
        Kpi.OTD.value: _ratio(on_time, int(due_in_win.sum())),
        Kpi.RELEASE_LEAD_TIME_MEAN.value: _mean(lead),
        Kpi.RELEASE_LEAD_TIME_P95.value: _p95(lead),
        Kpi.ORDER_LEAD_TIME_MEAN.value: _mean(order_lead),
        Kpi.RELEASE_SLA_MET.value: (_ratio(float(np.sum(lead <= rec.sla_h)), lead.size)
                                    if rec.sla_h is not None else float("nan")),
        Kpi.ESCAPED_PPM.value: _ratio(escaped * 1e6, released),
        Kpi.INSPECTION_UTILISATION.value: _ratio(
            _area_between(rec, "inspection_busy_area", w, h), rec.inspectors * window),
        Kpi.WIP_MEAN.value: _area_between(rec, "wip_area", w, h) / window,
        Kpi.SCRAP.value: float(np.sum(rec.scrap_h >= w)),
        Kpi.STOCKOUT_HOURS.value: _area_between(rec, "stockout_area", w, h),
        Kpi.COST_PER_UNIT.value: _ratio(_area_between(rec, "material_cost", w, h), released),
    }


def series_of(rec: PlantRecord, bucket_h: float) -> dict[str, np.ndarray]:
    """KPI series in buckets of ``bucket_h`` from time 0 (the last may be shorter)."""
    h = rec.horizon_h
    edges = bucket_edges_h(h, bucket_h)
    n = edges.size - 1
    width = np.diff(edges)
    idx = np.searchsorted(rec.release_h, edges)  # release times are in time order
    released = np.diff(idx).astype(float)
    lead_mean = np.full(n, np.nan)
    lead_p95 = np.full(n, np.nan)
    for b in np.flatnonzero(idx[1:] > idx[:-1]):
        seg = rec.release_lead_h[idx[b]:idx[b + 1]]
        lead_mean[b] = seg.mean()
        lead_p95[b] = _p95_of_sorted(np.sort(seg))
    # Counts: a cumulative sum is exact, so this equals each bucket's own sum.
    escaped_before = np.concatenate(([0], np.cumsum(rec.release_escaped, dtype=np.int64)))
    escaped = np.diff(escaped_before[idx]).astype(float)
    due_bucket = np.searchsorted(edges, rec.order_due_h, side="right") - 1
    valid = (due_bucket >= 0) & (due_bucket < n) & (rec.order_due_h < h)
    due_count = np.bincount(due_bucket[valid], minlength=n).astype(float)
    on_time = np.bincount(due_bucket[valid],
                          weights=(rec.order_done_h[valid] <= rec.order_due_h[valid]).astype(float),
                          minlength=n)
    scrap = np.histogram(rec.scrap_h, bins=edges)[0].astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return {
            "t_start_h": edges[:-1].copy(),
            "t_end_h": edges[1:].copy(),
            "released": released,
            "throughput_per_h": released / width,
            "otd": np.where(due_count > 0, on_time / np.maximum(due_count, 1), np.nan),
            "release_lead_time_mean": lead_mean,
            "release_lead_time_p95": lead_p95,
            "escaped_ppm": np.where(released > 0, escaped * 1e6 / np.maximum(released, 1),
                                    np.nan),
            "scrap": scrap,
            "wip_mean": np.diff(_area_at(rec, "wip_area", edges)) / width,
            "inspection_utilisation": (np.diff(_area_at(rec, "inspection_busy_area", edges))
                                       / (rec.inspectors * width) if rec.inspectors
                                       else np.full(n, np.nan)),
            "stockout_hours": np.diff(_area_at(rec, "stockout_area", edges)),
            "cost_per_unit": np.where(released > 0, np.diff(_area_at(rec, "material_cost",
                                                                     edges))
                                      / np.maximum(released, 1), np.nan),
        }
