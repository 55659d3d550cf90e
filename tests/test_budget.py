"""Absurd runs are refused up front with the estimate that made them absurd."""

from __future__ import annotations

import time

import pytest

from shocktwin.errors import SimulationError
from shocktwin.twin.experiment.replication import run_experiment


def test_an_absurd_horizon_is_refused_with_its_estimate(make_scenario) -> None:  # type: ignore[no-untyped-def]
    sc = make_scenario(horizon="100000000d", warmup="1d")
    started = time.process_time()
    with pytest.raises(SimulationError) as caught:
        run_experiment(sc, replications=1)
    assert time.process_time() - started < 5
    text = str(caught.value)
    # 15 units an hour for 2.4e9 hours: 3.6e10 units, about 2,146 GiB of records.
    assert "36,000,000,000 units per replication" in text and "GiB" in text
    assert "KPI buckets per replication" in text


def test_absurd_replication_counts_are_refused(make_scenario) -> None:  # type: ignore[no-untyped-def]
    sc = make_scenario(horizon="5000d")
    with pytest.raises(SimulationError, match="CPU-days"):
        run_experiment(sc, replications=50_000)


def test_ordinary_runs_pass_the_check(make_scenario) -> None:  # type: ignore[no-untyped-def]
    from shocktwin.twin.experiment.budget import check_budget

    check_budget(make_scenario(), 1000)


def test_validate_refuses_an_absurd_plan_naming_file_and_line(runner, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import yaml
    from conftest import BASE_PLANT, deep_update

    from shocktwin import cli

    path = tmp_path / "absurd.yaml"
    path.write_text(yaml.safe_dump(deep_update(BASE_PLANT, {
        "horizon": "3000d", "experiment": {"replications": 20_000}})))
    result = runner.invoke(cli.app, ["validate", str(path)])
    assert result.exit_code == 2, result.output
    line = next(n for n, text in enumerate(path.read_text().splitlines(), 1)
                if text.strip().startswith("replications:"))
    # 20,000 replications x 3,000 buckets x 256 B = 14.3 GiB of kept KPI series.
    assert f"error: {path}:{line}: experiment.replications: 20,000 replications kept with " \
           "3,000 KPI buckets each would need about 14.3 GiB" in result.stderr, result.stderr
    assert "Traceback" not in result.output


def test_kept_results_are_bounded_but_searches_keep_none(make_scenario) -> None:  # type: ignore[no-untyped-def]
    from shocktwin.twin.experiment.budget import MAX_MEMORY_GIB, check_budget

    sc = make_scenario(horizon="3000d", plant={"demand": {"rate": "1/d"}})
    # Just over the limit with results kept; MTD-style runs keep only KPIs.
    kept = int(MAX_MEMORY_GIB * 2**30 / (3000 * 256)) + 1
    with pytest.raises(SimulationError, match="replications kept"):
        check_budget(sc, kept, kept=kept)
    check_budget(sc, kept, kept=0)


def test_mtd_runs_count_the_scan_and_bisection(make_scenario) -> None:  # type: ignore[no-untyped-def]
    from shocktwin.twin.experiment.budget import mtd_runs

    sc = make_scenario(
        shocks=[{"id": "q", "type": "supplier_outage", "target": "sup", "start": "5d",
                 "duration": "1d"}],
        mtd={"shocks": [{"shock": "q", "low": "1h", "high": "65h", "resolution": "1h"}],
             "replications": 40, "max_replications": 100, "scan": 3, "budget": 10_000})
    # Per replication: both ends, 3 interior points, then log2(64 / 1) = 6 bisections.
    assert mtd_runs(sc, "q") == 100 * (2 + 3 + 6)
    capped = sc.model_copy(update={"mtd": sc.mtd.model_copy(update={"budget": 500})})
    assert mtd_runs(capped, "q") == 500
