"""SimPy and salabim run the same model; results are reproducible from the seed."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from conftest import BASE_PLANT, deep_update
from scipy import stats

from shocktwin.errors import SimulationError
from shocktwin.scenarios import load_scenario, parse_scenario
from shocktwin.twin.experiment.replication import run_experiment, run_replication
from shocktwin.twin.journal.record import journal_hash
from shocktwin.twin.kernel import make_kernel

CHECKED = ("throughput_per_h", "release_lead_time_mean", "release_lead_time_p95",
           "wip_mean", "inspection_utilisation", "scrap")


def test_engines_agree_within_confidence_intervals(demo_path) -> None:  # type: ignore[no-untyped-def]
    sc = load_scenario(demo_path).model_copy(update={"horizon": 20 * 24.0, "warmup": 48.0})
    # Independent random draws: different seeds on the two engines.
    a = run_experiment(sc, replications=6, seed=101, engine="simpy")
    b = run_experiment(sc, replications=6, seed=202, engine="salabim")
    for kpi in CHECKED:
        x = np.array([r.kpis[kpi] for r in a.replications])
        y = np.array([r.kpis[kpi] for r in b.replications])
        sa, sb = a.summary[kpi], b.summary[kpi]
        # The 95 % intervals overlap, and Welch's test sees no difference at the 1 % level.
        assert sa.ci_low <= sb.ci_high and sb.ci_low <= sa.ci_high, kpi
        assert stats.ttest_ind(x, y, equal_var=False).pvalue > 0.01, kpi


def test_same_seed_gives_identical_results_on_both_engines(make_scenario) -> None:  # type: ignore[no-untyped-def]
    # Ties are first-in, first-out on both engines, so the same draws give the same path.
    sc = make_scenario()
    a = run_replication(sc, 0, seed=5, engine="simpy")
    b = run_replication(sc, 0, seed=5, engine="salabim")
    assert a.kpis == b.kpis
    assert a.events == b.events


@pytest.mark.parametrize("engine", ["simpy", "salabim"])
def test_events_at_the_horizon_do_not_run(engine: str) -> None:
    # The kernel contract: run(until) runs events before ``until`` only, ends with the
    # clock at ``until``, and leaves later events (and those exactly at it) pending.
    kernel = make_kernel(engine)
    ran: list[tuple[str, float]] = []

    def record(label: str) -> None:
        ran.append((label, kernel.now()))
        if label == "before":  # scheduled during the run, landing exactly on the horizon
            kernel.schedule(6.0, record, "chained_at")

    for delay, label in ((4.0, "before"), (9.999, "just_before"), (10.0, "at"),
                         (10.5, "after"), (0.0, "now")):
        kernel.schedule(delay, record, label)
    kernel.run(10.0)
    assert ran == [("now", 0.0), ("before", 4.0), ("just_before", 9.999)]
    assert kernel.now() == 10.0
    # What was left pending runs on the next stretch, in schedule order for ties.
    kernel.run(11.0)
    assert [label for label, _ in ran[3:]] == ["at", "chained_at", "after"]
    assert kernel.now() == 11.0


def test_a_shock_ending_at_the_horizon_gives_the_same_journal_on_both_engines() -> None:
    # 10-day horizon; the outage ends at exactly 240 h, so its end must not run on either.
    sc = parse_scenario(deep_update(BASE_PLANT, {"shocks": [
        {"id": "o", "type": "supplier_outage", "target": "sup", "start": "2d",
         "duration": "8d"}]}))
    a = run_experiment(sc, replications=2, seed=5, engine="simpy")
    b = run_experiment(sc, replications=2, seed=5, engine="salabim")
    assert [[e.kind for e in r.log] for r in a.replications] == [["ShockStarted"]] * 2
    # The hash names the engine; with that field aligned every measured number must match.
    assert journal_hash(dataclasses.replace(b, engine=a.engine)) == journal_hash(a)


def test_same_seed_same_journal_hash_and_different_seed_differs(make_scenario) -> None:  # type: ignore[no-untyped-def]
    sc = make_scenario()
    h1 = journal_hash(run_experiment(sc, replications=2, seed=9))
    h2 = journal_hash(run_experiment(sc, replications=2, seed=9))
    other = run_experiment(sc, replications=2, seed=10)
    assert h1 == h2
    assert journal_hash(other) != h1
    base = run_experiment(sc, replications=2, seed=9)
    assert [r.kpis for r in base.replications] != [r.kpis for r in other.replications]


def test_process_and_dask_executors_give_the_same_hash(make_scenario) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("distributed")
    sc = make_scenario()
    local = run_experiment(sc, replications=3, seed=4)
    proc = run_experiment(sc, replications=3, seed=4, executor="process", workers=2)
    one = run_experiment(sc, replications=3, seed=4, executor="process", workers=1)
    dask = run_experiment(sc, replications=3, seed=4, executor="dask", workers=2)
    assert journal_hash(local) == journal_hash(proc) == journal_hash(one) == journal_hash(dask)


def test_an_unreachable_dask_scheduler_fails_fast_and_clearly(make_scenario,
                                                               monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import re
    import time

    pytest.importorskip("distributed")

    from shocktwin.twin.experiment import executor

    monkeypatch.setattr(executor, "DASK_CONNECT_TIMEOUT_S", 2)
    started = time.monotonic()
    with pytest.raises(SimulationError, match=re.escape(
            "cannot reach the Dask scheduler at tcp://127.0.0.1:9 within 2 s")):
        run_experiment(make_scenario(), replications=1, executor="dask",
                       scheduler="tcp://127.0.0.1:9")
    assert time.monotonic() - started < 20


def test_streams_are_per_component(make_scenario) -> None:  # type: ignore[no-untyped-def]
    # Giving inspection random times (so it now draws numbers) must not change the demand
    # stream: exactly the same orders arrive (common random numbers). With one generator
    # shared by all components, inspection's draws would shift the later arrivals.
    from shocktwin.twin.experiment.replication import build_model
    from shocktwin.twin.kernel import make_kernel

    slower = make_scenario(plant={"stations": [
        {"id": "iqc", "kind": "inspection", "inspectors": 1,
         "time_per_unit": {"dist": "exponential", "mean": "2min"},
         "detection": 0.9, "false_reject": 0.01},
        {"id": "work", "servers": 2, "process_time": {"dist": "gamma", "mean": "5min",
                                                      "cv": 0.5}, "mtbf": "20h", "mttr": "1h"},
        {"id": "release", "kind": "release", "sla": "4h"}]})
    a = build_model(make_scenario(), make_kernel("simpy"), seed=1, replication=0).run()
    b = build_model(slower, make_kernel("simpy"), seed=1, replication=0).run()
    np.testing.assert_array_equal(a.order_created_h, b.order_created_h)
    assert not np.array_equal(a.release_lead_h[:100], b.release_lead_h[:100])
