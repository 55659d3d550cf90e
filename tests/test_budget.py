"""Absurd runs are refused up front with the estimate that made them absurd."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

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


# --------------------------------------------------------------------------- every source


def _plant_file(tmp_path, name: str, changes: dict) -> Path:  # type: ignore[type-arg]
    import yaml
    from conftest import BASE_PLANT, deep_update

    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(deep_update(BASE_PLANT, changes), sort_keys=False))
    return path


def _line(path: Path, start: str) -> int:
    return next(n for n, text in enumerate(path.read_text().splitlines(), 1)
                if text.strip().startswith(start))


def _reproducers(tmp_path) -> list[tuple[Path, str, str]]:  # type: ignore[no-untyped-def]
    """(file, key refused, line it starts with) of runs that used to run for weeks or end in
    MemoryError: an MTBF of 1 ms over 10 years; initial stock at the schema's maximum in
    twelve buffers; a bill of materials needing 2e9 units of stock for one unit made."""
    from conftest import BASE_PLANT

    stations = [dict(s) for s in BASE_PLANT["plant"]["stations"]]
    stations[1]["mtbf"] = "1ms"
    materials = [f"m{i}" for i in range(12)]
    stocked = {
        "suppliers": [{"id": f"s{i}", "material": m, "lot_size": 500,
                       "lead_time": {"dist": "constant", "value": "2d"}}
                      for i, m in enumerate(materials)],
        "buffers": [{"id": f"b{i}", "material": m, "initial": 100_000_000,
                     "reorder_point": 800} for i, m in enumerate(materials)]}
    return [
        (_plant_file(tmp_path, "mtbf", {"horizon": "3650d",
                                        "plant": {"stations": stations}}),
         "plant.stations[1].mtbf", "mtbf:"),
        (_plant_file(tmp_path, "initial", {"plant": stocked}),
         "plant.buffers[0].initial", "initial:"),
        (_plant_file(tmp_path, "bom", {"plant": {
            "bom": {"part": 2_000_000_000},
            "buffers": [{"id": "stock", "material": "part", "initial": 1500,
                         "reorder_point": 800, "order_quantity": 100_000_000}]}}),
         "plant.bom.part", "part:"),
    ]


def _capped(*args: str) -> subprocess.CompletedProcess[str]:
    """The CLI in a child process whose address space is capped at 2 GiB: a run that
    allocated what these files ask for would end in MemoryError, not exit 2."""
    import resource

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (2 * 2**30, 2 * 2**30))

    return subprocess.run([sys.executable, "-m", "shocktwin", *args], capture_output=True,
                          text=True, preexec_fn=cap, timeout=600, check=False)


@pytest.mark.parametrize("command", ["validate", "run"])
def test_absurd_sources_are_refused_before_anything_runs(tmp_path, command) -> None:  # type: ignore[no-untyped-def]
    for path, key, start in _reproducers(tmp_path):
        started = time.process_time()
        result = _capped(command, str(path))
        out = result.stdout + result.stderr
        assert result.returncode == 2, out
        first = next(n for n, text in enumerate(path.read_text().splitlines(), 1)
                     if text.strip().startswith(start)
                     and (key != "plant.stations[1].mtbf" or "1ms" in text))
        assert f"{path}:{first}: {key}: one replication would " in result.stderr, out
        assert "MemoryError" not in out and "Traceback" not in out
        assert time.process_time() - started < 60  # CPU of this process only: a bound


def test_the_estimate_counts_every_source(make_scenario) -> None:  # type: ignore[no-untyped-def]
    from shocktwin.twin.experiment.budget import estimate_run

    sc = make_scenario(horizon="3650d", plant={"bom": {"part": 3}}, shocks=[
        {"id": "quake", "type": "supplier_outage", "target": "sup", "start": "10d",
         "duration": "5d", "onset": {"rate": "1/365d", "max_occurrences": 50}}])
    keys = {s.key: s for s in estimate_run(sc).sources}
    assert set(keys) == {"horizon", "plant.stations[1].mtbf", "plant.buffers[0].initial",
                         "plant.suppliers[0].lot_size", "plant.bom.part",
                         "shocks[0].onset.rate"}
    # 2 servers x 87,600 h / 20 h, each a failure, a repair and a completion scheduled again.
    assert keys["plant.stations[1].mtbf"].events == pytest.approx(3 * 2 * 87_600 / 20)
    # 15/h x 87,600 h x 3 units of stock each, plus the reorder point, in lots of 500.
    assert keys["plant.suppliers[0].lot_size"].events == pytest.approx(
        (15 * 87_600 * 3 + 800) / 500 + 1)
    # About 10 occurrences expected in 3,640 days; the bound allows for the Poisson spread.
    assert 10 < keys["shocks[0].onset.rate"].events / 2 < 50


@pytest.mark.parametrize("changes", [
    {}, {"plant": {"stations": [
        {"id": "iqc", "kind": "inspection", "time_per_unit": "2min"},
        {"id": "work", "servers": 2, "process_time": "5min", "mtbf": "30s", "mttr": "6s"},
        {"id": "release", "kind": "release", "sla": "4h"}]}},
    {"experiment": {"bucket": "1min"}},
])
def test_counted_events_bound_the_kernels_own_count(make_scenario, changes) -> None:  # type: ignore[no-untyped-def]
    from shocktwin.twin.experiment.budget import estimate_run
    from shocktwin.twin.experiment.replication import run_replication

    sc = make_scenario(horizon="3d", warmup="0h", **changes)
    counted = estimate_run(sc, 1).events_per_run
    happened = run_replication(sc, 0, seed=1).events
    assert happened <= counted <= 2 * happened, (happened, counted)


def test_the_estimate_reads_as_one_line(make_scenario) -> None:  # type: ignore[no-untyped-def]
    from shocktwin.twin.experiment.budget import RunEstimate, Source, estimate_run

    line = str(estimate_run(make_scenario(horizon="3650d"), replications=10))
    assert re.fullmatch(r"about [\d.,]+ CPU-(seconds|minutes|hours|days) and [\d.,]+ [MG]B "
                        r"for 10 replications", line), line
    fixed = RunEstimate(10, 10, 0.0, (Source(("horizon",), "x", 0, 19.2, 410e6),))
    assert str(fixed) == "about 3.2 CPU-minutes and 410 MB for 10 replications"


def test_bundled_scenarios_pass_the_plan_check() -> None:
    from shocktwin.scenarios import load_scenario, reference_scenario
    from shocktwin.twin.experiment.budget import check_plan

    for name in ("demo_plant", "mmc", "valve_quake", "valve_disruptions", "valve_earthquake",
                 "valve_quality", "regulation_change", "photoresist_switch",
                 "column_discontinued"):
        check_plan(load_scenario(reference_scenario(name)))


# --------------------------------------------------------------------------- mtd, stores


def test_mtd_budget_errors_name_the_mtd_block(runner, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from shocktwin import cli

    mtd = {"shocks": [{"shock": "q", "low": "1h", "high": "65h", "resolution": "1h"}],
           "replications": 40, "max_replications": 100_000, "scan": 3}
    shocks = [{"id": "q", "type": "supplier_outage", "target": "sup", "start": "5d",
               "duration": "1d"}]
    for budget, key in [(500_000, "mtd.budget"), (10_000_000, "mtd.max_replications")]:
        path = _plant_file(tmp_path, key, {"horizon": "3000d", "shocks": shocks,
                                           "mtd": {**mtd, "budget": budget}})
        result = runner.invoke(cli.app, ["validate", str(path)])
        assert result.exit_code == 2, result.output
        line = _line(path, key.split(".")[1] + ":")
        assert f"{path}:{line}: {key}: " in result.stderr, result.stderr
        assert "experiment.replications" not in result.stderr


@pytest.mark.parametrize(("where", "key"), [
    ({"suppliers": [{"id": "sup", "material": "part", "lot_size": 500, "lead_time": {
        "dist": "recorded", "store": "nowhere.duckdb", "supplier": "ACME"}}]},
     "plant.suppliers[0].lead_time.store"),
    ({"stations": [
        {"id": "iqc", "kind": "inspection", "time_per_unit": "2min",
         "ai": {"store": "nowhere.duckdb"}},
        {"id": "work", "process_time": "5min"}, {"id": "release", "kind": "release",
                                                 "sla": "4h"}]},
     "plant.stations[0].ai.store"),
])
@pytest.mark.parametrize("command", ["validate", "run"])
def test_a_missing_store_is_refused_by_validate_as_by_run(runner, tmp_path, where, key,
                                                          command) -> None:  # type: ignore[no-untyped-def]
    from shocktwin import cli

    path = _plant_file(tmp_path, "stored", {"plant": where})
    result = runner.invoke(cli.app, [command, str(path)])
    assert result.exit_code == 2, result.output
    line = _line(path, "store:")
    assert f"{path}:{line}: {key}: store nowhere.duckdb ({tmp_path.resolve()}" \
           in result.stderr, result.stderr
    assert "does not exist" in result.stderr and "Traceback" not in result.output


@pytest.mark.skipif(sys.platform != "linux", reason="address-space caps via setrlimit")
def test_big_models_do_not_pile_up_between_replications(tmp_path: Path) -> None:
    """A plant of 10^8 units in stock (about 0.75 GB a replication) runs 4 replications in
    2.5 GB of address space: each dead model is collected before the next is built. Left to
    the collector's own pace, dead models piled up to 3.4 GB and the run failed."""
    import resource

    import yaml
    from conftest import BASE_PLANT, deep_update

    doc = deep_update(BASE_PLANT, {"experiment": {"replications": 4}})
    doc["plant"]["buffers"][0]["initial"] = 100_000_000
    path = tmp_path / "big.yaml"
    path.write_text(yaml.safe_dump(doc))
    cap = 2500 * 1024 * 1024

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    done = subprocess.run([sys.executable, "-m", "shocktwin", "run", str(path)],
                          capture_output=True, text=True, preexec_fn=limit, timeout=600)
    assert done.returncode in (0, 1, 4), done.stderr[-2000:]
