"""Numbers a scenario file may hold: finite everywhere, and distribution parameters the
samplers can draw from. What validation lets through must run."""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import BASE_PLANT, deep_update

from shocktwin.errors import ScenarioError
from shocktwin.scenarios import load_scenario
from shocktwin.twin.experiment.replication import run_replication

OUTAGE = [{"id": "out", "type": "supplier_outage", "target": "sup", "start": "2d",
           "duration": "1d"}]
OPTIMIZE = {"variables": [{"name": "rop", "path": "plant.buffers[0].reorder_point",
                           "low": 100, "high": 900, "cost": 1.0}],
            "objectives": [{"kpi": "otd"}, {"cost": True}]}


def write(tmp_path: Path, changes: dict[str, Any]) -> Path:
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(deep_update(BASE_PLANT, changes), sort_keys=False))
    return path


def problems_of(path: Path) -> list[Any]:
    with pytest.raises(ScenarioError) as e:
        load_scenario(path)
    return list(e.value.problems)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize(("changes", "where"), [
    (lambda x: {"hypothesis": [{"kpi": "otd", "min": x}]}, "hypothesis.tolerances[0].min"),
    (lambda x: {"hypothesis": {"tolerances": [{"kpi": "escaped_ppm", "max": x}]}},
     "hypothesis.tolerances[0].max"),
    (lambda x: {"optimize": deep_update(OPTIMIZE, {"variables": [
        {**OPTIMIZE["variables"][0], "cost": x}]})}, "optimize.variables[0].cost"),
    (lambda x: {"optimize": deep_update(OPTIMIZE, {"variables": [
        {**OPTIMIZE["variables"][0], "high": x}]})}, "optimize.variables[0].high"),
    (lambda x: {"shocks": OUTAGE, "mtd": {"shocks": [{"shock": "out", "low": 1,
                                                      "high": x}]}}, "mtd.shocks[0].high"),
], ids=["short-tolerance", "tolerance", "cost", "variable-high", "mtd-high"])
def test_non_finite_numbers_are_refused_with_their_line(tmp_path: Path, changes: Any,
                                                       where: str, bad: float) -> None:
    path = write(tmp_path, changes(bad))
    found = [p for p in problems_of(path) if p.path == where]
    assert found, f"no problem at {where}"
    assert all(p.line is not None and p.file == str(path) for p in found)
    text = path.read_text().splitlines()
    # The line named is the one holding the key (or its flow mapping).
    assert any(where.rpartition(".")[2] in text[p.line - 1] for p in found)


def test_a_nan_tolerance_no_longer_holds_by_default(tmp_path: Path) -> None:
    # NaN compares false both ways, so before this check "otd >= nan" never failed.
    problems = problems_of(write(tmp_path, {"hypothesis": [{"kpi": "otd", "min": math.nan}]}))
    assert any("finite" in p.message for p in problems)


def test_gamma_cv_lower_bound(tmp_path: Path) -> None:
    changes = {"plant": {"stations": [
        BASE_PLANT["plant"]["stations"][0],
        {"id": "work", "servers": 2, "process_time": {"dist": "gamma", "mean": "5min",
                                                      "cv": 1e-300}},
        BASE_PLANT["plant"]["stations"][2]]}}
    problems = problems_of(write(tmp_path, changes))
    assert [p.path for p in problems] == ["plant.stations[1].process_time.cv"]
    assert "fixed time" in problems[0].message
    # At the bound the gamma is almost a fixed time, and it runs.
    changes["plant"]["stations"][1]["process_time"]["cv"] = 1e-6
    scenario = load_scenario(write(tmp_path, changes)).model_copy(update={"horizon": 48.0})
    rep = run_replication(scenario, 0, seed=1)
    assert rep.kpis["throughput_per_h"] > 0


def weibull_plant(shape: float) -> dict[str, Any]:
    return {"plant": {"stations": [
        BASE_PLANT["plant"]["stations"][0],
        {"id": "work", "servers": 2, "process_time": {"dist": "weibull", "scale": "100d",
                                                      "shape": shape}},
        BASE_PLANT["plant"]["stations"][2]]}}


@pytest.mark.parametrize("shape", [1e-3, 0.05])
def test_weibull_shape_too_small_is_refused(tmp_path: Path, shape: float) -> None:
    problems = problems_of(write(tmp_path, weibull_plant(shape)))
    assert [p.path for p in problems] == ["plant.stations[1].process_time.shape"]
    assert problems[0].line is not None and "beyond any horizon" in problems[0].message


@pytest.mark.parametrize("shape", [0.1, 50.0])
def test_weibull_shapes_allowed_draw_without_overflow(tmp_path: Path, shape: float) -> None:
    scenario = load_scenario(write(tmp_path, weibull_plant(shape)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rep = run_replication(scenario, 0, seed=5)
    assert rep.snapshot_h[-1] == scenario.horizon
