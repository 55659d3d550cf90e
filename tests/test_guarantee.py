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
from shocktwin.twin.experiment.guarantee import (
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
from shocktwin.twin.experiment.replication import ReplicationResult
from shocktwin.twin.model.events import ShockEnded, ShockStarted

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


def newcombe_cc(k: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson's score interval with continuity correction, Newcombe's closed form
    (Stat. Med. 17:857, 1998, method 4): the interval verdicts and guarantees decide on."""
    p = k / n
    low = 0.0 if k == 0 else (2 * n * p + z * z - 1 - z * math.sqrt(
        z * z - 2 - 1 / n + 4 * p * (n * (1 - p) + 1))) / (2 * (n + z * z))
    high = 1.0 if k == n else (2 * n * p + z * z + 1 + z * math.sqrt(
        z * z + 2 - 1 / n + 4 * p * (n * (1 - p) - 1))) / (2 * (n + z * z))
    return low, high


@pytest.mark.parametrize(("k", "n", "target", "state"), [
    (50, 50, 0.9, MEETS),  # low 0.911 ≥ 0.9
    (40, 40, 0.9, UNDECIDED),  # low 0.891: all 40 recovered is not yet enough
    (45, 50, 0.9, UNDECIDED),  # 0.774 … 0.963
    (35, 50, 0.9, MISSES),  # high 0.817 < 0.9
    (20, 20, 1.0, MEETS),
    (19, 20, 1.0, MISSES),
])
def test_the_guarantee_states_by_the_wilson_rule(k, n, target, state) -> None:
    spec = Recovery(within="24h", guarantee=target)
    g = recovery_guarantee(records(k, n), shock="cut", severity=24.0, spec=spec)
    assert (g.n, g.recovered, g.rate) == (n, k, k / n)
    low, high = newcombe_cc(k, n)
    assert (g.low, g.high) == pytest.approx((low, high), abs=1e-6)
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


# --------------------------------------------------------------------------- known by construction

# A backlog after an outage: orders every hour (λ = 1/h) on one machine of 30 min (μ = 2/h);
# a power outage of d hours at a random time stops it. The d orders that arrive meanwhile
# (λd) are cleared at μ − λ = 1/h once power is back, so the work in progress is back at its
# pre-shock level d + λd / (μ − λ) = 2d after the onset. The onset is a Poisson arrival (so
# it falls anywhere inside a bucket, and only the replication's shock log knows it).
BACKLOG: dict[str, Any] = {
    "version": 1, "name": "backlog", "horizon": "400h", "warmup": "10h",
    "plant": {"stations": [{"id": "m", "process_time": "30min"}], "routing": ["m"],
              "demand": {"every": "1h", "due_in": "24h"}},
    "shocks": [{"id": "power", "type": "power_outage", "start": "20h", "duration": "10h",
                "onset": {"rate": "1/50h", "max_occurrences": 1}}],
    "hypothesis": {"tolerances": [{"kpi": "wip_mean", "max": 2}],
                   "recovery": {"within": "21h", "kpis": ["wip_mean"]}},
    "experiment": {"replications": 20, "seed": 1, "bucket": "1h"},
}
LAM, MU, D, BUCKET = 1.0, 2.0, 10.0, 1.0
DERIVED = D + LAM * D / (MU - LAM)  # 20 h after the onset


def backlog(**changes: Any) -> Any:
    return parse_scenario(deep_update(BACKLOG, changes))


@pytest.fixture(scope="module")
def backlog_runs() -> Any:
    from shocktwin.twin.experiment.replication import run_replication

    sc = backlog()
    return sc, [run_replication(sc, r, seed=1) for r in range(20)]


def test_recovery_time_matches_the_backlog_derivation(backlog_runs) -> None:
    sc, runs = backlog_runs
    onsets = set()
    for run in runs:
        got = recovery_of(run, sc, "power")
        assert got.recovered is not None and got.kpi == "wip_mean"
        # Known to a bucket: the first whole bucket after the backlog is gone.
        assert abs(got.recovery_h - DERIVED) <= BUCKET
        assert abs(got.ttr_h - (DERIVED - D)) <= BUCKET
        onsets.add(round(next(e.at_h for e in run.log if isinstance(e, ShockStarted)), 3))
    assert len(onsets) == len(runs)  # the onsets differ: each read from its own log


@pytest.mark.parametrize(("rto", "expected"), [(DERIVED + BUCKET, 1.0),
                                               (DERIVED - BUCKET, 0.0)])
def test_the_guarantee_is_one_just_above_the_derived_time_and_zero_below(
        backlog_runs, rto, expected) -> None:
    sc, runs = backlog_runs
    # 20 of 20 give an interval from 0.80 up; none of 20, up to 0.20.
    spec = Recovery(within=f"{rto}h", kpis=["wip_mean"], guarantee=0.75)
    g = recovery_guarantee([recovery_of(r, sc, "power", spec=spec) for r in runs],
                           shock="power", severity=D, spec=spec)
    assert g.n == 20 and g.rate == expected
    assert g.state == (MEETS if expected == 1.0 else MISSES)
    # TTR from the end of the outage: λd / (μ − λ) = 10 h, to a bucket.
    assert abs(g.ttr_p50_h - (DERIVED - D)) <= BUCKET
    # The work in progress at the peak: λd + 1/2 waiting and in work against 1/2 before.
    assert g.robustness_min == pytest.approx(100 * 0.5 / (LAM * D + 0.5), rel=0.1)


def test_the_curve_over_severity_follows_the_derivation() -> None:
    from shocktwin.twin.resilience.mtd import find_mtd

    # RTO 30 h: an outage of d recovers in 2d, so within it up to d = 15 h. (An MTD search
    # needs a fixed start.)
    sc = backlog(shocks=[{"id": "power", "type": "power_outage", "start": "50.3h",
                          "duration": "10h"}],
                 hypothesis={"recovery": {"within": "30h"}},
                 mtd={"shocks": [{"shock": "power", "low": "2h", "high": "42h",
                                  "resolution": "4h"}], "replications": 6,
                      "max_replications": 6, "probability": 0.5})
    result = find_mtd(sc, sc.mtd.shocks[0])
    curve = {g.severity: g for g in result.guarantee_curve if g.severity is not None}
    assert sorted(curve) == [2.0, 12.0, 22.0, 32.0, 42.0]  # the scan grid
    for d, g in curve.items():
        assert g.n == 6 and g.rate == (1.0 if 2 * d <= 30 else 0.0), d
    # The scenario's own outage (10 h) recovers within 30 h in every replication.
    assert result.guarantee is not None and result.guarantee.severity == 10.0
    assert result.guarantee.rate == 1.0 and result.guarantee.n == 6
    # More replications for the guarantee than for the search: the same six, then the
    # next ones, every one recovering; the curve keeps the search's six.
    more = sc.model_copy(update={"mtd": sc.mtd.model_copy(update={"guarantee_replications":
                                                                  15})})
    wider = find_mtd(more, more.mtd.shocks[0])
    assert wider.guarantee is not None and (wider.guarantee.n, wider.guarantee.rate) == (15, 1.0)
    assert wider.guarantee.low > result.guarantee.low
    assert all(g.n == 6 for g in wider.guarantee_curve) and wider.mtd == result.mtd
    assert wider.runs == result.runs + 9


def test_a_run_gets_one_guarantee_per_shock(backlog_runs) -> None:
    from shocktwin.twin.experiment.guarantee import guarantees_of

    sc, runs = backlog_runs
    [g] = guarantees_of(sc, runs)
    assert (g.shock, g.severity, g.rto_h, g.n) == ("power", D, 21.0, 20)
    assert g.rate == 1.0 and g.kpis == ("wip_mean",)
    assert guarantees_of(parse_scenario(BASE_PLANT), runs) == ()


def test_run_reports_the_guarantee_in_its_output_json_and_journal(tmp_path) -> None:
    """`run` on the backlog plant: every replication recovers by 20 h after the onset, so
    with an RTO of 21 h the guarantee is 20 of 20, printed, in --json and in the journal's
    RecoveryGuaranteeMeasured record, with the continuity-corrected interval of 20 of 20."""
    import json

    import yaml
    from typer.testing import CliRunner

    from shocktwin import cli
    from shocktwin.interval import wilson_interval

    path = tmp_path / "backlog.yaml"
    path.write_text(yaml.safe_dump(deep_update(BACKLOG, {"hypothesis": {"recovery": {
        "within": "21h", "kpis": ["wip_mean"], "guarantee": 0.75}}})))
    runner = CliRunner()
    shown = runner.invoke(cli.app, ["run", str(path), "--out", str(tmp_path / "out")])
    assert shown.exit_code in (0, 1, 4), shown.output
    low = wilson_interval(20, 20).low
    assert low > 0.75
    assert "recovery guarantee of power (back at ≥ 95 % of the pre-shock level within 21h " \
        "of the onset): 20/20" in shown.output.replace("\n", "")
    doc = json.loads(runner.invoke(cli.app, ["run", str(path), "--json"]).stdout)
    [g] = doc["recovery"]
    assert (g["shock"], g["recovered"], g["n"], g["state"]) == ("power", 20, 20, "meets")
    assert g["low"] == pytest.approx(low)
    records = json.loads((tmp_path / "out" / "journal.json").read_text())["records"]
    [measured] = [r for r in records if r["kind"] == "RecoveryGuaranteeMeasured"]
    assert {k: measured[k] for k in ("shock", "recovered", "n", "state")} == \
        {"shock": "power", "recovered": 20, "n": 20, "state": "meets"}
    verified = runner.invoke(cli.app, ["verify", str(tmp_path / "out")])
    assert verified.exit_code == 0, verified.output
