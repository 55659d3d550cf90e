"""The ONNX inspection model inside the twin, deciding on replayed Steel Plates features."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from conftest import ROOT

from shocktwin.edge_replay.ingest import ingest
from shocktwin.errors import RuleError
from shocktwin.rules_engine.ai_inspection import load_inspection_model
from shocktwin.scenarios import load_scenario
from shocktwin.twin.experiment.feed import gate_decisions
from shocktwin.twin.experiment.replication import run_replication

STEEL = ROOT / "data" / "steel_plates_faults_uci" / "Faults.NNA"
SCENARIO = ROOT / "scenarios" / "replay" / "steel_ai.yaml"


@pytest.fixture(scope="module")
def steel_scenario(tmp_path_factory) -> Path:  # type: ignore[no-untyped-def]
    folder = tmp_path_factory.mktemp("steel")
    ingest(STEEL, "steel-plates", folder / "plant.duckdb")
    doc = yaml.safe_load(SCENARIO.read_text())
    doc["plant"]["stations"][1]["ai"]["store"] = "plant.duckdb"
    path = folder / "steel_ai.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_held_out_rows_reproduce_the_model_cards_test_counts(steel_scenario) -> None:
    sc = load_scenario(steel_scenario)
    spec = sc.plant.stations[1].ai  # type: ignore[union-attr]
    d = gate_decisions(sc, spec)
    # steel_plates.json, test_set: 346 true rejects, 35 false accepts, 74 false rejects,
    # 128 true accepts on the 583 held-out rows.
    counts = load_inspection_model().metadata.test_counts
    assert counts is not None
    assert (int(d.defective_rejected.sum()), int((~d.defective_rejected).sum())) == (
        counts.true_rejects, counts.false_accepts) == (346, 35)
    assert (int(d.good_rejected.sum()), int((~d.good_rejected).sum())) == (
        counts.false_rejects, counts.true_accepts) == (74, 128)
    every = gate_decisions(sc, spec.model_copy(update={"rows": "all"}))
    assert every.defective_rejected.size + every.good_rejected.size == 1941


def test_the_gate_in_the_twin_catches_and_scraps_at_the_models_rates(steel_scenario) -> None:
    sc = load_scenario(steel_scenario)
    calm = sc.model_copy(update={"shocks": []})
    sens, fr, d = 346 / 381, 74 / 202, 0.05  # held-out rates; rolling makes 5 % defective
    rep = run_replication(calm, 0, seed=9)
    gate = next(s for s in rep.stations if s["station"] == "surface-ai")
    rejected = gate["rejected"] / gate["inspected"]
    expected = d * sens + (1 - d) * fr
    n = gate["inspected"]
    assert abs(rejected - expected) < 4 * (expected * (1 - expected) / n) ** 0.5
    escaped = rep.kpis["escaped_ppm"] / 1e6
    passed_defective = d * (1 - sens) / (d * (1 - sens) + (1 - d) * (1 - fr))  # 0.0076
    assert escaped == pytest.approx(passed_defective, rel=0.2)
    drift = run_replication(sc, 0, seed=9).kpis["escaped_ppm"] / 1e6
    assert drift > 1.5 * escaped  # the drift shock loses a third of the catches for 10 days


def test_a_store_without_the_models_split_is_refused_for_held_out_rows(tmp_path) -> None:
    # A copy of the data with one row dropped is not the data the model was tested on.
    lines = STEEL.read_text().splitlines()
    short = tmp_path / "Faults.NNA"
    short.write_text("\n".join(lines[1:]) + "\n")
    (tmp_path / "Faults27x7_var").write_text((STEEL.parent / "Faults27x7_var").read_text())
    ingest(short, "steel-plates", tmp_path / "plant.duckdb")
    doc = yaml.safe_load(SCENARIO.read_text())
    doc["plant"]["stations"][1]["ai"]["store"] = "plant.duckdb"
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(doc))
    sc = load_scenario(path)
    with pytest.raises(RuleError, match="not the ones the model was trained and tested on"):
        gate_decisions(sc, sc.plant.stations[1].ai)  # type: ignore[union-attr, arg-type]
    assert json.loads((ROOT / "rules_engine" / "models" / "steel_plates.json").read_text())[
        "rows"] == {"reject": 1268, "accept": 673}
