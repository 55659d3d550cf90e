"""Resilience metrics from a replication's KPI series around a shock.

For a KPI series, performance Q(t) is the bucket's value as a percentage of its pre-shock
level (the mean over the buckets between warm-up and the shock's onset); for KPIs where
lower is better (lead times, escaped PPM, WIP, scrap, stock-out hours, cost) the ratio is
inverted, so Q = 100 is "as before" and lower is worse. Then, as in the resilience
literature (Bruneau et al., Earthquake Spectra 19(4), 2003) and in ISO 22301's words:

- robustness: min Q over the buckets from onset on;
- TTS (time to survive, here time to breach): onset → the start of the first bucket in
  which the KPI is outside its tolerance (NaN when it never is);
- TTR (time to recover): shock end → the start of the first bucket from which the KPI is
  within tolerance for good (0 when it never left it after the end; NaN when it never came
  back before the horizon);
- loss: ∫ (100 − Q)⁺ dt from onset to the horizon, in %·hours (the resilience triangle).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from shocktwin.kpis import LOWER_IS_BETTER, base_kpi
from shocktwin.scenarios.model import Tolerance

__all__ = ["LOWER_IS_BETTER", "ResilienceMetrics", "baseline_of", "performance_pct",
           "resilience_of"]


@dataclass(frozen=True)
class ResilienceMetrics:
    kpi: str
    baseline: float
    robustness_pct: float
    tts_h: float
    ttr_h: float
    loss_pct_h: float
    q_pct: np.ndarray  # per bucket


def resilience_of(series: dict[str, np.ndarray], tolerance: Tolerance, *, onset_h: float,
                  end_h: float, warmup_h: float = 0.0) -> ResilienceMetrics:
    """The metrics of ``tolerance``'s KPI in one replication's ``series``."""
    kpi = tolerance.kpi.value
    values = np.asarray(series[kpi], dtype=float)
    start = np.asarray(series["t_start_h"], dtype=float)
    stop = np.asarray(series["t_end_h"], dtype=float)
    width = stop - start
    baseline = baseline_of(values, start, stop, onset_h=onset_h, warmup_h=warmup_h)
    q = performance_pct(values, baseline, kpi)
    after = stop > onset_h
    robustness = float(np.nanmin(q[after])) if np.any(after & ~np.isnan(q)) else math.nan
    within = np.array([tolerance.holds(v) or math.isnan(v) for v in values])
    breach = np.flatnonzero(after & ~within)
    tts = float(max(start[breach[0]], onset_h) - onset_h) if breach.size else math.nan
    ttr = _recovery(start, stop, within, end_h)
    shortfall = np.where(np.isnan(q), 0.0, np.clip(100.0 - q, 0.0, None))
    overlap = np.clip(np.minimum(stop, np.inf) - np.maximum(start, onset_h), 0.0, width)
    loss = float(np.sum(shortfall * overlap))
    return ResilienceMetrics(kpi, baseline, robustness, tts, ttr, loss, q)


def baseline_of(values: np.ndarray, start: np.ndarray, stop: np.ndarray, *, onset_h: float,
                warmup_h: float = 0.0) -> float:
    """The pre-shock level: the mean of the buckets wholly between warm-up and the onset
    (NaN when there is none with a value)."""
    before = (start >= warmup_h) & (stop <= onset_h) & ~np.isnan(values)
    return float(values[before].mean()) if before.any() else math.nan


def performance_pct(values: np.ndarray, baseline: float, kpi: str) -> np.ndarray:
    """Q per bucket: ``kpi``'s value as % of ``baseline``, inverted where lower is better,
    capped at 100 ("as before"); NaN where the bucket has no value or there is no
    baseline."""
    return _performance(values, baseline, base_kpi(kpi) in LOWER_IS_BETTER)


def _performance(values: np.ndarray, baseline: float, inverted: bool) -> np.ndarray:
    if math.isnan(baseline):
        return np.full(values.shape, math.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        if inverted:
            # Lower is better: Q = 100 while at or below the baseline.
            q = np.where(values <= baseline, 100.0, 100.0 * baseline / values)
        else:
            q = np.where(values >= baseline, 100.0, 100.0 * values / baseline)
    return np.where(np.isnan(values), np.nan, q)


def _recovery(start: np.ndarray, stop: np.ndarray, within: np.ndarray, end_h: float) -> float:
    """Shock end → the start of the first bucket from which the KPI stays within tolerance."""
    later = np.flatnonzero(stop > end_h)
    if later.size == 0:
        return math.nan
    bad = [i for i in later if not within[i]]
    if not bad:
        return 0.0
    last_bad = bad[-1]
    if last_bad == len(start) - 1:
        return math.nan  # still out of tolerance at the horizon
    return float(max(start[last_bad + 1] - end_h, 0.0))
