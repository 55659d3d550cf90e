"""Mitigation optimisation with NSGA-II on common random numbers."""

from __future__ import annotations

import json

import pytest
import yaml
from conftest import BASE_PLANT, deep_update, records_of

from shocktwin import cli
from shocktwin.errors import ScenarioError
from shocktwin.scenarios import load_scenario
from shocktwin.twin.resilience.optimize import apply_decisions, optimize

PLANT = deep_update(BASE_PLANT, {
    "horizon": "12d",
    "shocks": [{"id": "outage", "type": "supplier_outage", "target": "sup", "start": "3d",
                "duration": "3d"}],
    "optimize": {
        "variables": [
            {"name": "reorder_point", "path": "plant.buffers[0].reorder_point", "low": 300,
             "high": 3000, "integer": True, "cost": 1.0},
            {"name": "inspectors", "path": "plant.stations[0].inspectors",
             "choices": [1, 2, 3], "choice_costs": [0, 400, 800]}],
        "objectives": [{"cost": True}, {"kpi": "stockout_hours"}],
        "population": 6, "generations": 2, "replications": 2},
})


def load(tmp_path, doc=PLANT):  # type: ignore[no-untyped-def]
    path = tmp_path / "opt.yaml"
    path.write_text(yaml.safe_dump(doc))
    return load_scenario(path)


def test_the_front_is_non_dominated_and_reproducible(tmp_path) -> None:
    sc = load(tmp_path)
    result = optimize(sc)
    assert result.senses == ("min", "min")
    assert len(result.evaluated) == 6 * 2
    # Two replications per candidate evaluated; one seen again is taken from the run log,
    # not rerun, so what was computed is two per distinct candidate.
    distinct = {repr(sorted(c.decisions.items())) for c in result.evaluated}
    assert result.runs == 2 * len(result.evaluated)
    assert result.runs - result.runs_reused == 2 * len(distinct)
    points = [(c.objectives["cost"], c.objectives["stockout_hours"]) for c in result.front]
    for a in points:  # no point of the front is dominated by any evaluated point
        for c in result.evaluated:
            b = (c.objectives["cost"], c.objectives["stockout_hours"])
            assert not (b[0] <= a[0] and b[1] <= a[1] and b != a)
    # Cost is what the decisions say it is.
    for c in result.front:
        expected = c.decisions["reorder_point"] + [0, 400, 800][
            [1, 2, 3].index(c.decisions["inspectors"])]
        assert c.objectives["cost"] == pytest.approx(expected)
    again = optimize(sc)
    assert [c.decisions for c in again.front] == [c.decisions for c in result.front]


def test_common_random_numbers_make_more_stock_never_worse(tmp_path) -> None:
    sc = load(tmp_path)
    low = apply_decisions(sc, {"reorder_point": 300, "inspectors": 1})
    high = apply_decisions(sc, {"reorder_point": 3000, "inspectors": 1})
    from shocktwin.twin.experiment.replication import run_replication

    a = run_replication(low, 0, seed=1).kpis["stockout_hours"]
    b = run_replication(high, 0, seed=1).kpis["stockout_hours"]
    assert b <= a


def test_a_path_to_nothing_is_refused_before_anything_runs(tmp_path) -> None:
    doc = deep_update(PLANT, {})
    doc["optimize"]["variables"][0]["path"] = "plant.buffers[3].reorder_point"
    sc = load(tmp_path, doc)
    with pytest.raises(ScenarioError, match="names no setting of the scenario"):
        optimize(sc)


def test_optimize_command_saves_the_front(tmp_path, runner) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "opt.yaml"
    path.write_text(yaml.safe_dump(PLANT))
    result = runner.invoke(cli.app, ["optimize", str(path), "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    saved = json.loads((tmp_path / "o" / "pareto.json").read_text())
    [finished] = records_of(saved, "OptimisationFinished")
    front = [p for p in records_of(saved, "PointEvaluated") if p["on_front"]]
    assert front and {o["name"] for o in finished["objectives"]} == {"cost", "stockout_hours"}
    # Resumed, every run is found in the log: nothing is computed again, same front, and
    # the same count of runs needed.
    again = runner.invoke(cli.app, ["optimize", str(path), "--out", str(tmp_path / "o"),
                                    "--resume", "--json"])
    assert again.exit_code == 0, again.output
    resumed = json.loads(again.output)
    [closed] = records_of(resumed, "OptimisationFinished")
    assert closed["runs"] == finished["runs"] == closed["runs_reused"]
    strip = ("seq", "prev_hash", "hash")
    assert [{k: v for k, v in p.items() if k not in strip} for p in records_of(
        resumed, "PointEvaluated") if p["on_front"]] == [
        {k: v for k, v in p.items() if k not in strip} for p in front]
