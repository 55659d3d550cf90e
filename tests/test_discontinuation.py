"""Discontinued acceptance inspection as a modelled state: the supplier is held for its
corrective action, and inspection resumes on tightened.

The rules checked are the standard's (ISO 2859-1:1999 §9.4, ANSI/ASQ Z1.4 §8.3.5): when the
cumulative number of lots not accepted in one run of tightened inspection reaches 5, the
acceptance procedures are discontinued; they are not resumed until the supplier has acted
to improve quality, and then tightened inspection is used.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import deep_update
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shocktwin import cli
from shocktwin.rules_engine.switching import LotOutcome, SwitchingProcedure
from shocktwin.scenarios import load_scenario, parse_scenario, reference_scenario
from shocktwin.twin.experiment.replication import run_experiment, run_replication
from shocktwin.twin.model.supplier import DEFAULT_CORRECTIVE_ACTION_H

# One supplier whose lots are mostly rejected on the plan's tightened start: lots of 1,000
# at level II are code letter J; at AQL 0.65 Z1.4 Table II-B points J down to K's plan,
# n 125, Ac 1, Re 2. At 5 % defective a lot is accepted with probability
# 0.95^125 + 125 · 0.05 · 0.95^124 ≈ 0.012, so the first five lots are almost surely not
# accepted and inspection is discontinued within days. Stock covers about five days.
HELD: dict[str, Any] = {
    "version": 1,
    "name": "held",
    "horizon": "90d",
    "plant": {
        "suppliers": [{"id": "sup", "material": "part", "lot_size": 1000,
                       "lead_time": "12h", "defect_rate": 0.05, "corrective_action": "20d"}],
        "buffers": [{"id": "stock", "material": "part", "initial": 3000,
                     "reorder_point": 2000}],
        "stations": [
            {"id": "iqc", "kind": "inspection", "role": "incoming", "inspectors": 4,
             "time_per_unit": "1s", "detection": 1.0},
            {"id": "release", "kind": "release", "sla": "4h"},
        ],
        "routing": ["release"],
        "demand": {"rate": "25/h", "due_in": "1d"},
    },
    "rules": "rules.yaml",
    "experiment": {"replications": 1, "seed": 11, "bucket": "5d"},
}
BACKUP = {"id": "alt", "material": "part", "lot_size": 1000, "lead_time": "2d",
          "defect_rate": 0.001}
J_TIGHTENED = {"n": 125, "ac": 1, "re": 2}


def _rules(switching: str = "z14") -> dict[str, Any]:
    return {"version": 1, "name": "r", "plans": [
        {"material": "part", "station": "iqc",
         "sampling": {"method": "single", "level": "II", "aql": 0.65,
                      "switching": switching, "start": "tightened"}}]}


def _scenario(folder: Path, doc: dict[str, Any], switching: str = "z14") -> Path:
    (folder / "rules.yaml").write_text(yaml.safe_dump(_rules(switching)))
    path = folder / "scenario.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def _log(rep: Any) -> list[dict[str, Any]]:
    return [e.record() for e in rep.log]


def _holds(log: list[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
    """Each hold's start record with its end record (None while still held at the end)."""
    out: list[tuple[dict[str, Any], dict[str, Any] | None]] = []
    for r in log:
        if r["kind"] == "SupplierHoldStarted":
            out.append((r, None))
        elif r["kind"] == "SupplierHoldEnded":
            i = next(i for i, (s, e) in enumerate(out) if e is None
                     and s["supplier"] == r["supplier"])
            out[i] = (out[i][0], r)
    return out


def _decisions_while_held(log: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Lot decisions on a supplier's lots between its hold's start and end, in log order."""
    held: set[str] = set()
    out = []
    for r in log:
        if r["kind"] == "SupplierHoldStarted":
            held.add(r["supplier"])
        elif r["kind"] == "SupplierHoldEnded":
            held.discard(r["supplier"])
        elif r["kind"] == "LotInspected" and r["supplier"] in held:
            out.append(r)
    return out


def _check_hold_sequence(log: list[dict[str, Any]], horizon_h: float) -> None:
    """Every hold follows a discontinuation and ends after its corrective action with a
    resume on tightened; the held supplier's lots get no decision meanwhile."""
    for start, end in _holds(log):
        i = log.index(start)
        # The lot that made the fifth not accepted, then the hold it caused.
        lot = log[i - 1]
        assert lot["kind"] == "LotInspected" and lot["decision"] == "rejected_screened", lot
        assert (lot["supplier"], lot["at_h"]) == (start["supplier"], start["at_h"])
        switched = next(r for r in reversed(log[:i]) if r["kind"] == "InspectionSwitched")
        assert (switched["from_state"], switched["to_state"], switched["reason"]) == (
            "tightened", "discontinued", "five_not_accepted_on_tightened")
        assert switched["at_h"] == start["at_h"]
        assert start["reason"] == "five_not_accepted_on_tightened"
        if end is None:
            assert start["at_h"] + start["corrective_action_h"] > horizon_h - 1e-6
            continue
        assert end["at_h"] == pytest.approx(start["at_h"] + start["corrective_action_h"])
        assert end["held_h"] == pytest.approx(start["corrective_action_h"])
        resumed = log[log.index(end) + 1]
        assert resumed["kind"] == "InspectionSwitched", resumed
        assert (resumed["from_state"], resumed["to_state"], resumed["reason"]) == (
            "discontinued", "tightened", "resumed_after_correction")
        assert resumed["at_h"] == end["at_h"]
    assert _decisions_while_held(log) == []
    # Lots wait only while their supplier is held.
    for r in log:
        if r["kind"] == "LotQuarantined":
            assert any(s["supplier"] == r["supplier"] and s["at_h"] <= r["at_h"]
                       and (e is None or r["at_h"] < e["at_h"]) for s, e in _holds(log)), r


def test_five_lots_not_accepted_on_tightened_hold_the_supplier_then_resume_tightened(
        tmp_path: Path) -> None:
    sc = load_scenario(_scenario(tmp_path, HELD))
    rep = run_replication(sc, 0, seed=11)
    log = _log(rep)
    holds = _holds(log)
    assert holds and holds[0][1] is not None, "the supplier is held and released in the run"
    _check_hold_sequence(log, sc.horizon)
    start, _ = holds[0]
    assert start["corrective_action_h"] == 20 * 24.0  # the scenario's corrective_action
    # Nothing else on order: the buffer waits rather than ordering from the held supplier.
    assert any(r["kind"] == "BackupMissing" and r["at_h"] == start["at_h"] for r in log)
    # Replay the lot decisions through the standard's state machine, resuming where the
    # journal says the correction was made: the same five rejections discontinue, and the
    # lots after the resume are inspected on tightened.
    procedure = SwitchingProcedure("z14", start="tightened")
    ends = iter(sorted(e["at_h"] for _, e in holds if e is not None))
    next_end = next(ends, None)
    expected, seen = [], []
    for r in log:
        if r["kind"] == "InspectionSwitched":
            seen.append((r["from_state"], r["to_state"], r["reason"]))
        if r["kind"] != "LotInspected":
            continue
        if procedure.discontinued:
            assert next_end is not None and r["at_h"] >= next_end, r
            expected.append(("discontinued", "tightened", "resumed_after_correction"))
            procedure.resume()
            next_end = next(ends, None)
        assert r["severity"] == procedure.severity.value, r
        plan = J_TIGHTENED if r["severity"] == "tightened" else None
        assert plan is not None and r["n"] == plan["n"], r
        switched = procedure.record(LotOutcome(accepted=r["found"] < plan["re"],
                                               nonconforming=r["found"], ac=plan["ac"],
                                               re=plan["re"]))
        assert (r["decision"] == "accepted") == (r["found"] < plan["re"])
        if switched is not None:
            expected.append((switched.from_state.value, switched.to_state.value,
                             switched.reason.value))
    if procedure.discontinued and next_end is not None:
        expected.append(("discontinued", "tightened", "resumed_after_correction"))
    assert seen == expected


def test_the_default_corrective_action_applies_when_the_scenario_gives_none(
        tmp_path: Path) -> None:
    doc = deep_update(HELD, {"horizon": "60d"})
    del doc["plant"]["suppliers"][0]["corrective_action"]
    rep = run_replication(load_scenario(_scenario(tmp_path, doc)), 0, seed=11)
    starts = [r for r in _log(rep) if r["kind"] == "SupplierHoldStarted"]
    assert starts and starts[0]["corrective_action_h"] == DEFAULT_CORRECTIVE_ACTION_H


def test_a_random_corrective_action_is_drawn_from_the_suppliers_own_stream(
        tmp_path: Path) -> None:
    doc = deep_update(HELD, {})
    doc["plant"]["suppliers"][0]["corrective_action"] = {
        "dist": "uniform", "low": "5d", "high": "15d"}
    sc = load_scenario(_scenario(tmp_path, doc))
    times = []
    for seed in (1, 2, 3):
        log = _log(run_replication(sc, 0, seed=seed))
        _check_hold_sequence(log, sc.horizon)
        times += [r["corrective_action_h"] for r in log if r["kind"] == "SupplierHoldStarted"]
    assert times and all(5 * 24.0 <= t <= 15 * 24.0 for t in times)
    assert len(set(times)) == len(times), "each hold draws its own duration"


def test_orders_go_to_the_backup_while_the_supplier_is_held(tmp_path: Path) -> None:
    doc = deep_update(HELD, {"horizon": "60d"})
    doc["plant"]["suppliers"].append(BACKUP)
    rep = run_replication(load_scenario(_scenario(tmp_path, doc)), 0, seed=11)
    log = _log(rep)
    start, _ = _holds(log)[0]
    switched = [r for r in log if r["kind"] == "SupplierSwitchOrdered"]
    assert [(r["at_h"], r["to_supplier"], r["reason"]) for r in switched][:1] == [
        (start["at_h"], "alt", "hold sup")]
    backup_lots = [r for r in log if r["kind"] == "LotInspected" and r["supplier"] == "alt"]
    assert backup_lots and backup_lots[0]["at_h"] > start["at_h"]
    _check_hold_sequence(log, 60 * 24.0)


def test_a_hold_is_felt_by_the_kpis_on_common_random_numbers(tmp_path: Path) -> None:
    """The same plant, seed and lots, once with switching (discontinued, supplier held 20
    days) and once without (the plan stays tightened and never discontinues)."""
    held_dir, plain_dir = tmp_path / "held", tmp_path / "plain"
    held_dir.mkdir()
    plain_dir.mkdir()
    held = run_replication(load_scenario(_scenario(held_dir, HELD)), 0, seed=11)
    plain = run_replication(load_scenario(_scenario(plain_dir, HELD, switching="none")), 0,
                            seed=11)
    held_log, plain_log = _log(held), _log(plain)
    start, _ = _holds(held_log)[0]
    assert not _holds(plain_log)
    # Common random numbers: every lot decided before the hold is the same in both runs.
    lots_before = [r for r in held_log if r["kind"] == "LotInspected"
                   and r["at_h"] <= start["at_h"]]
    assert lots_before == [r for r in plain_log if r["kind"] == "LotInspected"
                           and r["at_h"] <= start["at_h"]]
    assert held.kpis["stockout_hours"] > plain.kpis["stockout_hours"]
    assert held.kpis["otd"] < plain.kpis["otd"]
    # The stock runs out while held: the buffer is at zero for part of the hold's buckets.
    assert held.kpis["stockout_hours"] > 0.0


hold_plants = st.fixed_dictionaries({
    "seed": st.integers(0, 10_000),
    "defect_rate": st.sampled_from([0.02, 0.05, 0.1]),
    "corrective_action": st.sampled_from(
        ["0h", "2d", "10d", {"dist": "exponential", "mean": "5d"}]),
    "backup": st.booleans(),
    "detection": st.sampled_from([0.8, 1.0]),
})


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=hold_plants)
def test_no_lot_of_a_held_supplier_is_accepted_while_it_is_held(
        tmp_path: Path, case: dict[str, Any]) -> None:
    doc = deep_update(HELD, {"horizon": "40d"})
    supplier = doc["plant"]["suppliers"][0]
    supplier.update(defect_rate=case["defect_rate"],
                    corrective_action=case["corrective_action"])
    doc["plant"]["stations"][0]["detection"] = case["detection"]
    if case["backup"]:
        doc["plant"]["suppliers"].append(BACKUP)
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(_rules()))
    sc = parse_scenario(doc, base_dir=tmp_path)
    rep = run_replication(sc, 0, seed=case["seed"])
    log = _log(rep)
    _check_hold_sequence(log, sc.horizon)
    accepted_while_held = [r for r in _decisions_while_held(log)
                           if r["decision"] in ("accepted", "skipped", "inspected_full")]
    assert accepted_while_held == []
    times = [r["at_h"] for r in log]
    assert times == sorted(times)


def test_the_reproducer_of_issue_15_runs_to_the_end(tmp_path: Path, runner: Any) -> None:
    """The bundled column scenario at 100 units an order discontinues the backup's plan;
    the run completes, holding the backup (it has no backup of its own)."""
    bundled = reference_scenario("column_discontinued")
    for folder in ("rules", "failures"):
        shutil.copytree(bundled.parent / folder, tmp_path / folder)
    doc = yaml.safe_load(bundled.read_text())
    doc["plant"]["demand"]["quantity"] = 100
    # The scenario as the issue reported it: columns with attribute defect rates, no
    # measured characteristic, and the backup's comparability study as its qualification.
    doc["plant"].pop("characteristics")
    for supplier, rate, qualification in zip(doc["plant"]["suppliers"], (0.004, 0.008),
                                             ("0h", "20d"), strict=True):
        supplier["defect_rate"] = rate
        if qualification != "0h":
            supplier["qualification"] = qualification
    rules_file = tmp_path / "rules" / "column_incoming.yaml"
    rules = yaml.safe_load(rules_file.read_text())
    for plan in rules["plans"]:
        plan.pop("characteristics", None)
        plan.pop("comparability", None)
    rules_file.write_text(yaml.safe_dump(rules))
    path = tmp_path / "column_discontinued.yaml"
    path.write_text(yaml.safe_dump(doc))
    result = runner.invoke(cli.app, ["run", str(path), "-n", "2", "--json"])
    assert result.exit_code in (0, 1, 4), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    sc = load_scenario(path)
    runs = run_experiment(sc, replications=2)
    logs = [_log(rep) for rep in runs.replications]
    held = [log for log in logs if _holds(log)]
    assert held, "at 100 units an order the backup's tightened plan is discontinued"
    for log in logs:
        _check_hold_sequence(log, sc.horizon)
    start, end = _holds(held[0])[0]
    assert start["supplier"] == "column-b"
    assert end is not None
    after = [r for r in held[0] if r["kind"] == "LotInspected" and r["at_h"] >= end["at_h"]]
    assert after and after[0]["severity"] == "tightened"
