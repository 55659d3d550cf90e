"""The minimum recovery guarantee rate: the hypothesis's recovery format, one replication's
recovery from hand-made series, the rate's interval and state, and a plant whose recovery
time is known by construction."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from conftest import BASE_PLANT, deep_update
from scipy import stats

from shocktwin.errors import ScenarioError
from shocktwin.scenarios import parse_scenario
from shocktwin.scenarios.model import Recovery
from shocktwin.twin.experiment.replication import ReplicationResult
from shocktwin.twin.model.events import ShockEnded, ShockStarted
from shocktwin.twin.resilience.guarantee import (
    MEETS,
    MISSES,
    UNDECIDED,
    ReplicationRecovery,
    quantile_with_interval,
    recovery_from_record,
    recovery_guarantee,
    recovery_of,
    recovery_record,
    to_record,
)

# --------------------------------------------------------------------------- the format


def with_recovery(recovery: Any, **hypothesis: Any) -> Any:
    hyp = {"tolerances": [{"kpi": "otd", "min": 0.9}], "recovery": recovery, **hypothesis}
    return parse_scenario(deep_update(BASE_PLANT, {"hypothesis": hyp}))


def test_recovery_format_reads_and_defaults() -> None:
    sc = with_recovery({"within": "2d"})
    r = sc.hypothesis.recovery
    assert r is not None
    assert (r.level, r.failure, r.within, r.guarantee, r.kpis) == (95.0, None, 48.0, None, None)
    assert sc.hypothesis.recovery_kpis == ["otd"]
    sc = with_recovery({"within": "36h", "level": 90, "failure": 50, "guarantee": 0.8,
                        "kpis": ["throughput_per_h", "otd"]})
    assert sc.hypothesis.recovery_kpis == ["throughput_per_h", "otd"]


def test_a_scenario_without_recovery_keeps_its_hash() -> None:
    plain = parse_scenario(BASE_PLANT)
    assert "recovery" not in plain.canonical_json()
    # The defaults are left out of the canonical form too: stating them changes nothing.
    a = with_recovery({"within": "2d"})
    b = with_recovery({"within": "2d", "level": 95})
    assert a.content_hash() == b.content_hash()
    assert a.content_hash() != plain.content_hash()


@pytest.mark.parametrize(("recovery", "message"), [
    ({"within": "2d", "level": 80, "failure": 80}, r"failure \(80 %\) must be below level"),
    ({"within": "2d", "kpis": ["otdd"]}, "unknown KPI 'otdd'; did you mean 'otd'"),
    ({"within": "2d", "kpis": ["otd", "otd"]}, "listed twice"),
    ({"level": 90}, "within"),
    ({"within": "2d", "guarantee": 1.5}, "less than or equal to 1"),
    ({"within": 3}, "unit"),
])
def test_bad_recovery_blocks_are_refused(recovery, message) -> None:
    with pytest.raises(ScenarioError, match=message) as e:
        with_recovery(recovery)
    assert "hypothesis.recovery" in str(e.value)


def test_recovery_without_kpis_needs_tolerances() -> None:
    doc = deep_update(BASE_PLANT, {})
    doc["hypothesis"] = {"recovery": {"within": "1d"}}
    with pytest.raises(ScenarioError, match="give kpis, or tolerances"):
        parse_scenario(doc)


# --------------------------------------------------------------------------- one replication

DAY = 24.0


def replication(series: dict[str, list[float]], *, onset: float | None = 2 * DAY,
                end: float = 3 * DAY, r: int = 0) -> ReplicationResult:
    """Daily buckets from hour 0 with the given KPI values; the shock 'cut' from ``onset``
    to ``end``."""
    n = len(next(iter(series.values())))
    start = np.arange(n) * DAY
    log: tuple[Any, ...] = ()
    if onset is not None:
        log = (ShockStarted(onset, shock="cut", type="supplier_outage", target="sup",
                            severity=end - onset), ShockEnded(end, shock="cut",
                                                              recovered_at_h=end))
    return ReplicationResult(replication=r, kpis={}, series={
        "t_start_h": start, "t_end_h": start + DAY,
        **{k: np.asarray(v, dtype=float) for k, v in series.items()}},
        stations=(), snapshot_h=np.zeros(0), snapshots={}, events=0, wall_s=0.0, log=log)


def plant(recovery: dict[str, Any], tolerances: Any = None) -> Any:
    hyp = {"tolerances": tolerances or [{"kpi": "otd", "min": 0.9}], "recovery": recovery}
    return parse_scenario(deep_update(BASE_PLANT, {"horizon": "7d", "warmup": "0h",
                                                   "hypothesis": hyp}))


def test_recovery_of_a_dip_and_return_by_hand() -> None:
    # Baseline 1.0 over days 0-1; onset at 48 h; OTD 0.5, 0.8, 0.96, 1, 1 from day 2.
    sc = plant({"within": "3d", "level": 95})
    rep = replication({"otd": [1.0, 1.0, 0.5, 0.8, 0.96, 1.0, 1.0]})
    got = recovery_of(rep, sc, "cut")
    # Back at ≥ 95 % from the bucket starting at 96 h: 48 h after the onset, 24 h after
    # the shock's end; lowest Q 50 %; the 0.9 tolerance was broken, so it failed.
    assert got == ReplicationRecovery(0, True, 48.0, 50.0, 24.0, True, "otd")
    # An RTO of 47 h is missed by one hour.
    assert recovery_of(rep, plant({"within": "47h"}), "cut").recovered is False
    # With a failure level of 40 %, a fall to 50 % is not a failure.
    assert recovery_of(rep, plant({"within": "3d", "failure": 40}), "cut").failed is False
    assert recovery_of(rep, plant({"within": "3d", "failure": 60}), "cut").failed is True


def test_a_kpi_that_never_falls_recovers_at_zero_and_one_that_stays_low_never() -> None:
    sc = plant({"within": "1h"})
    steady = recovery_of(replication({"otd": [1.0] * 7}), sc, "cut")
    assert steady.recovered is True and steady.recovery_h == 0.0 and steady.ttr_h == 0.0
    assert steady.robustness_pct == 100.0 and not steady.failed
    low = recovery_of(replication({"otd": [1.0, 1.0, 0.5, 0.6, 0.7, 0.8, 0.9]}), sc, "cut")
    assert low.recovered is False and math.isinf(low.recovery_h) and math.isinf(low.ttr_h)


def test_a_relapse_restarts_the_clock_and_empty_buckets_prove_nothing() -> None:
    sc = plant({"within": "10d"})
    # Back at day 3, below again at day 4, back for good at day 5.
    rep = replication({"otd": [1.0, 1.0, 0.5, 1.0, 0.5, 1.0, 1.0]})
    assert recovery_of(rep, sc, "cut").recovery_h == 3 * DAY
    # A bucket with nothing finished (NaN) after the last low one is not yet recovery.
    rep = replication({"otd": [1.0, 1.0, 0.5, math.nan, 1.0, 1.0, 1.0]})
    assert recovery_of(rep, sc, "cut").recovery_h == 2 * DAY


def test_lower_is_better_and_several_kpis_the_last_one_binds() -> None:
    sc = plant({"within": "10d", "level": 90, "kpis": ["otd", "release_lead_time_mean"]})
    # The lead time doubles (Q = 50 %) and is back within 10 % on day 5; OTD on day 3.
    rep = replication({"otd": [1.0, 1.0, 0.5, 1.0, 1.0, 1.0, 1.0],
                       "release_lead_time_mean": [2.0, 2.0, 4.0, 3.0, 2.5, 2.1, 2.0]})
    got = recovery_of(rep, sc, "cut")
    assert got.kpi == "release_lead_time_mean"
    assert got.recovery_h == 3 * DAY  # 2.1 h is Q = 95 %: back from the bucket at 120 h
    assert got.robustness_pct == pytest.approx(50.0)


def test_not_measurable_without_the_shock_or_a_baseline() -> None:
    sc = plant({"within": "1d"})
    none = recovery_of(replication({"otd": [1.0] * 7}, onset=None), sc, "cut")
    assert none.recovered is None
    # Onset in the first bucket: no pre-shock level.
    early = recovery_of(replication({"otd": [0.5] + [1.0] * 6}, onset=1.0), sc, "cut")
    assert early.recovered is None
    # A recurring shock's repeat (cut#2) stands for it when it is the first to start.
    rep = replication({"otd": [1.0] * 7})
    rep = ReplicationResult(**{**rep.__dict__, "log": (
        ShockStarted(48.0, shock="cut#2", type="x", target=None, severity=1.0),)})
    assert recovery_of(rep, sc, "cut").recovered is True


def test_the_run_log_record_round_trips() -> None:
    for r in (ReplicationRecovery(3, True, 12.0, 80.0, 0.0, False, "otd"),
              ReplicationRecovery(4, False, math.inf, 10.0, math.inf, True, "otd"),
              ReplicationRecovery(5, None, math.nan, math.nan, math.nan, False, None)):
        back = recovery_from_record(recovery_record(r))
        assert recovery_record(back) == recovery_record(r)


# --------------------------------------------------------------------------- over replications


def records(recovered: int, n: int) -> list[ReplicationRecovery]:
    return [ReplicationRecovery(i, i < recovered, float(i), 50.0 + i, float(i), i >= recovered,
                                "otd") for i in range(n)]


@pytest.mark.parametrize(("k", "n", "target", "state"), [
    (40, 40, 0.9, MEETS),  # Wilson low 0.912 ≥ 0.9
    (36, 40, 0.9, UNDECIDED),  # 0.769 … 0.960
    (28, 40, 0.9, MISSES),  # high 0.825 < 0.9
    (20, 20, 1.0, MEETS),
    (19, 20, 1.0, MISSES),
])
def test_the_guarantee_states_by_the_wilson_rule(k, n, target, state) -> None:
    spec = Recovery(within="24h", guarantee=target)
    g = recovery_guarantee(records(k, n), shock="cut", severity=24.0, spec=spec)
    assert (g.n, g.recovered, g.rate) == (n, k, k / n)
    # Wilson's score interval by its formula.
    z = stats.norm.ppf(0.975)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    assert g.low == pytest.approx(max(centre - half, 0.0), abs=1e-9)
    assert g.high == pytest.approx(min(centre + half, 1.0), abs=1e-9)
    assert g.state == state
    assert g.failed_share == pytest.approx((n - k) / n)
    assert recovery_guarantee(records(k, n), shock="cut", severity=24.0,
                              spec=Recovery(within="24h")).state is None


def test_robustness_and_ttr_percentiles_with_their_intervals() -> None:
    recs = records(40, 40)  # robustness 50 … 89, TTR 0 … 39 h
    g = recovery_guarantee(recs, shock="cut", severity=1.0, spec=Recovery(within="100h"))
    assert g.robustness_pct == pytest.approx(69.5) and g.robustness_min == 50.0
    t = stats.t.ppf(0.975, 39) * np.std(np.arange(40), ddof=1) / math.sqrt(40)
    assert (g.robustness_low, g.robustness_high) == pytest.approx((69.5 - t, 69.5 + t))
    # Median of 40: X(20) = 19 h; p90: X(36) = 35 h; ranks of the order-statistic intervals.
    assert g.ttr_p50_h == 19.0 and g.ttr_p90_h == 35.0
    from shocktwin.twin.resilience.mtd import quantile_interval

    lo, hi = quantile_interval(40, 0.5)
    assert lo is not None and hi is not None
    assert (g.ttr_p50_low, g.ttr_p50_high) == (lo - 1, hi - 1)
    # A replication that never recovered is the longest TTR, not left out.
    assert quantile_with_interval([1.0, 2.0, math.inf], 0.9)[0] == math.inf
    doc = to_record(g)
    assert doc["rate"] == 1.0 and doc["shock"] == "cut"
    never = recovery_guarantee(records(0, 3)[:0] + [
        ReplicationRecovery(0, False, math.inf, 5.0, math.inf, True, "otd")] * 3,
        shock="cut", severity=1.0, spec=Recovery(within="1h"))
    assert to_record(never)["ttr_p50_h"] is None and never.never_recovered == 3
