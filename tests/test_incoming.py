"""Rule-driven incoming inspection in the twin, and rule sets reloaded while it runs.

Outgoing quality and lot acceptance are checked against the textbook formulas of
rectifying single sampling (Montgomery, Introduction to Statistical Quality Control,
ch. 15): Pa = P(X <= Ac), X ~ Binomial(n, p) for a lot drawn from a process with fraction
defective p; AOQ = Pa p (N - n) / (N - p n - (1 - Pa) p (N - n)) when the nonconforming
units found are removed.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from conftest import deep_update
from scipy import stats

from shocktwin.errors import ScenarioError
from shocktwin.rules_engine.ruleset import load_rules
from shocktwin.rules_engine.switching import LotOutcome, SwitchingProcedure
from shocktwin.scenarios import load_scenario, reference_scenario
from shocktwin.twin.experiment.replication import run_replication

# One supplier, lots of 1,000, an incoming inspection station that misses nothing and
# rejects nothing good; units go straight to release, so every defect that passes
# incoming inspection is released (escaped_ppm is the outgoing quality).
INCOMING: dict[str, Any] = {
    "version": 1,
    "name": "incoming",
    "horizon": "400d",
    "plant": {
        "suppliers": [{"id": "sup", "material": "part", "lot_size": 1000,
                       "lead_time": "12h", "defect_rate": 0.02}],
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
    "experiment": {"replications": 1, "seed": 11, "bucket": "10d"},
}


def _rules(sampling: dict[str, Any], triggers: list[dict[str, Any]] | None = None,
           name: str = "r") -> dict[str, Any]:
    return {"version": 1, "name": name,
            "plans": [{"material": "part", "station": "iqc", "sampling": sampling}],
            "triggers": triggers or []}


def _write(folder: Path, scenario: dict[str, Any], **rules: dict[str, Any]) -> Path:
    for name, doc in rules.items():
        (folder / f"{name}.yaml").write_text(yaml.safe_dump(doc))
    path = folder / "scenario.yaml"
    path.write_text(yaml.safe_dump(scenario))
    return path


def _records(rep: Any, kind: str) -> list[dict[str, Any]]:
    return [r.record() for r in rep.log if r.kind == kind]


# Lot 1,000 at level II is code letter J; J at AQL 1.0 normal is n 80, Ac 2, Re 3.
J_NORMAL = {"method": "single", "level": "II", "aql": 1.0, "switching": "none"}


def test_lot_acceptance_and_outgoing_quality_follow_the_textbook(tmp_path) -> None:
    path = _write(tmp_path, INCOMING, rules=_rules(J_NORMAL))
    sc = load_scenario(path)
    accepted, lots, aoq = [], 0, []
    for r in range(3):
        rep = run_replication(sc, r, seed=5)
        decisions = _records(rep, "LotInspected")
        assert {d["n"] for d in decisions} == {80}  # no switching: always normal, no 100 %
        lots += len(decisions)
        accepted += [d["decision"] == "accepted" for d in decisions]
        aoq.append(rep.kpis["escaped_ppm"] / 1e6)
    p, n, big_n = 0.02, 80, 1000
    pa = stats.binom.cdf(2, n, p)  # 0.7838
    share = np.mean(accepted)
    assert abs(share - pa) < 3 * math.sqrt(pa * (1 - pa) / lots)
    expected = pa * p * (big_n - n) / (big_n - p * n - (1 - pa) * p * (big_n - n))
    # Lots are accepted or screened as a whole, so lots, not units, set the spread.
    se = p * (big_n - n) / big_n * math.sqrt(pa * (1 - pa) / lots)
    assert abs(np.mean(aoq) - expected) < 3 * se + 1e-4


def test_switching_in_the_twin_follows_the_standard(tmp_path) -> None:
    doc = deep_update(INCOMING, {"horizon": "120d"})
    rules = _rules({"method": "single", "level": "II", "aql": 1.0, "switching": "z14"})
    sc = load_scenario(_write(tmp_path, doc, rules=rules))
    rep = run_replication(sc, 0, seed=3)
    log = [r.record() for r in rep.log]
    switches = _records(rep, "InspectionSwitched")
    assert switches, "at 2 % defective, AQL 1.0 lots are rejected often enough to tighten"
    # Replay the recorded lots through the standard's state machine: same switches. Where
    # it discontinues, inspection resumes on tightened once the journal says the supplier's
    # corrective action is done.
    procedure = SwitchingProcedure("z14")
    expected = []
    for d in log:
        if d["kind"] == "SupplierHoldEnded" and procedure.discontinued:
            switched = procedure.resume()
            expected.append((switched.from_state.value, switched.to_state.value))
        if d["kind"] != "LotInspected" or d["severity"] is None:
            continue
        assert not procedure.discontinued, f"a lot decided while discontinued: {d}"
        plan = {"normal": (80, 2, 3), "tightened": (80, 1, 2), "reduced": (32, 1, 3)}[
            d["severity"]]
        assert d["n"] == plan[0]
        switched = procedure.record(LotOutcome(accepted=d["found"] < plan[2],
                                               nonconforming=d["found"], ac=plan[1],
                                               re=plan[2]))
        if switched is not None:
            expected.append((switched.from_state.value, switched.to_state.value))
    assert [(s["from_state"], s["to_state"]) for s in switches] == expected


def test_a_scheduled_reload_changes_the_plan_and_loses_no_lot(tmp_path) -> None:
    stricter = _rules({"method": "single", "level": "III", "aql": 0.4, "switching": "none"},
                      name="stricter")
    doc = deep_update(INCOMING, {"horizon": "60d",
                                 "rule_changes": [{"at": "30d", "rules": "stricter.yaml"}]})
    sc = load_scenario(_write(tmp_path, doc, rules=_rules(J_NORMAL), stricter=stricter))
    rep = run_replication(sc, 0, seed=2)
    [reload] = _records(rep, "RulesReloaded")
    assert reload["at_h"] == 720.0 and reload["reason"] == "schedule"
    assert reload["from_hash"] == load_rules(tmp_path / "rules.yaml").content_hash()
    assert reload["to_hash"] == load_rules(tmp_path / "stricter.yaml").content_hash()
    assert "part: AQL 1.0 → 0.40 (stricter)" in reload["changes"]
    decisions = _records(rep, "LotInspected")
    # Level III, lot 1,000 is code K; K at AQL 0.40 is n 125, Ac 1.
    before = {d["n"] for d in decisions if d["at_h"] < 720.0}
    assert before == {80}
    assert {125} <= {d["n"] for d in decisions if d["at_h"] > 720.0 + 24.0}
    # Each delivered lot gets exactly one sampling decision (none lost, none twice):
    # lots of 1,000 over 60 days at 25/h, minus those still in inspection at the end.
    delivered = rep.snapshots["released"][-1]
    assert len(decisions) == pytest.approx((delivered - 3000) / 1000, abs=3)


def test_a_trigger_waits_for_its_duration_then_acts(tmp_path) -> None:
    trigger = {"id": "always", "material": "part", "when": "lot.defect_rate >= 0",
               "for": "100h", "then": [{"type": "inspect_full", "material": "part",
                                        "lots": 2}]}
    doc = deep_update(INCOMING, {"horizon": "30d"})
    sc = load_scenario(_write(tmp_path, doc, rules=_rules(J_NORMAL, [trigger])))
    rep = run_replication(sc, 0, seed=4)
    first = _records(rep, "LotInspected")[0]["at_h"]
    [fired] = _records(rep, "TriggerFired")
    assert fired["at_h"] == pytest.approx(first + 100.0)
    # The next two lots are inspected in full, then sampling resumes.
    after = [d["decision"] for d in _records(rep, "LotInspected") if d["at_h"] > fired["at_h"]]
    assert after[:2] == ["inspected_full", "inspected_full"]
    assert after[2] in ("accepted", "rejected_screened")
    before = [d["decision"] for d in _records(rep, "LotInspected") if d["at_h"] < fired["at_h"]]
    assert "inspected_full" not in before


def test_the_bundled_regulation_change_reloads_its_plan_mid_run() -> None:
    path = reference_scenario("regulation_change")
    sc = load_scenario(path)
    rep = run_replication(sc, 0, seed=sc.experiment.seed)
    [started] = _records(rep, "ShockStarted")
    [reload] = _records(rep, "RulesReloaded")
    assert reload["at_h"] == started["at_h"] == 480.0
    folder = path.parent / "rules"
    assert reload["from_hash"] == load_rules(folder / "valve_incoming.yaml").content_hash()
    assert reload["to_hash"] == load_rules(
        folder / "valve_regulation_2027.yaml").content_hash()
    # Lot 4,000: level II is code L (n 200 at AQL 1.0); level III is M (n 315 at AQL 0.40).
    decisions = _records(rep, "LotInspected")
    assert {d["n"] for d in decisions if d["at_h"] < 480.0} == {200}
    assert {d["n"] for d in decisions if d["at_h"] > 500.0} == {315}


@pytest.mark.parametrize(("change", "rules", "message"), [
    ({}, _rules(J_NORMAL) | {"plans": [{"material": "part", "station": "release",
                                         "sampling": J_NORMAL}]},
     "'release' is not an incoming inspection station"),
    ({}, _rules(J_NORMAL, [{"id": "t", "when": "station.utilisation > 0.9",
                            "then": [{"type": "tighten", "material": "part"}]}]),
     "the twin does not measure 'station.utilisation'"),
    ({}, _rules(J_NORMAL, [{"id": "t", "when": "supplier.otd < 0.9",
                            "then": [{"type": "tighten", "material": "part"}]}]),
     "supplier.otd needs a promised lead time on supplier 'sup'"),
    ({}, _rules(J_NORMAL, [{"id": "t", "material": "part", "when": "supplier.cpk < 1",
                            "then": [{"type": "switch_supplier", "to": "nobody"}]}]),
     "'nobody' is not a supplier of part"),
    ({}, _rules(J_NORMAL, [{"id": "t", "when": "lot.defect_rate > 0.1",
                            "then": [{"type": "stop_line", "station": "release"}]}]),
     "the twin does not carry out 'stop_line' actions"),
    ({"rules": "missing.yaml"}, _rules(J_NORMAL), "rule file 'missing.yaml' does not exist"),
])
def test_rules_that_the_plant_cannot_apply_are_refused(tmp_path, change, rules,
                                                       message) -> None:
    doc = deep_update(copy.deepcopy(INCOMING), change)
    with pytest.raises(ScenarioError, match=message):
        load_scenario(_write(tmp_path, doc, rules=rules))


def test_the_photoresist_capability_rule_switches_to_the_alternate() -> None:
    sc = load_scenario(reference_scenario("photoresist_switch"))
    rep = run_replication(sc, 0, seed=sc.experiment.seed)
    [fired] = _records(rep, "TriggerFired")
    # The drift and the slip start on day 20; the rule needs two months of both.
    assert fired["trigger"] == "incapable-and-late" and fired["at_h"] >= (20 + 60) * 24.0
    [switched] = _records(rep, "SourceSwitched")
    assert switched["to_supplier"] == "resist-b" and switched["at_h"] == fired["at_h"]
    # The two lots after the switch are inspected in full, as the rule says.
    after = [d["decision"] for d in _records(rep, "LotInspected") if d["at_h"] > fired["at_h"]]
    assert after[:2] == ["inspected_full", "inspected_full"]
