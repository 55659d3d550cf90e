"""Lint of rule sets: impossible conditions, conflicting triggers, references to nothing."""

from __future__ import annotations

import copy
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from shocktwin.errors import Problem, RuleError
from shocktwin.rules_engine.lint import LintCode, LintFinding, LintSeverity, lint_file, lint_rules
from shocktwin.rules_engine.ruleset import parse_rules
from shocktwin.scenarios import Scenario, load_scenario, parse_scenario, reference_scenario

RULES = Path(__file__).resolve().parent / "examples"

BASE: dict[str, Any] = {
    "version": 1,
    "name": "lint-test",
    "plans": [{"material": "part", "station": "iqc", "sampling": {"aql": 1.0}}],
    "triggers": [],
}


def rules(*triggers: dict[str, Any], **changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    data.update(changes)
    data["triggers"] = list(triggers)
    return data


def trigger(tid: str, when: str, *actions: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"id": tid, "when": when,
            "then": list(actions) or [{"type": "tighten", "material": "part"}], **extra}


def lint(data: dict[str, Any], scenario: Scenario | None = None) -> list[LintFinding]:
    return lint_rules(parse_rules(data), scenario)


def codes(findings: list[LintFinding]) -> list[tuple[str, LintCode]]:
    return [(f.path, f.code) for f in findings]


#: The findings of the check loading shares (what the twin does not do, what the plant lacks).
LOADING = frozenset({LintCode.NOT_IN_TWIN, LintCode.DOES_NOT_FIT_PLANT})


def own(findings: list[LintFinding]) -> list[LintFinding]:
    """Lint's own findings, without those of the check it shares with loading."""
    return [f for f in findings if f.code not in LOADING]


def loading(findings: list[LintFinding]) -> list[tuple[str, LintCode]]:
    return sorted((f.path, f.code) for f in findings if f.code in LOADING)


# --------------------------------------------------------------------------- examples


#: What the format examples ask of the twin that it does not do (their only errors).
NOT_IN_TWIN = {"baseline": set(), "weakened": set(),
               "strict": {"triggers[2].when", "triggers[2].then[0].type"}}


@pytest.mark.parametrize("name", ["baseline", "weakened", "strict"])
def test_format_examples_lint_with_only_what_the_twin_does_not_do(name: str) -> None:
    findings = lint_file(RULES / f"{name}.yaml")
    assert {f.path for f in findings} == NOT_IN_TWIN[name]
    assert {f.code for f in findings} <= {LintCode.NOT_IN_TWIN}
    assert all(f.severity is LintSeverity.ERROR for f in findings)


def _rule_files() -> list[Path]:
    bundled = Path(str(reference_scenario("mmc"))).parent / "rules"
    return sorted(RULES.glob("*.yaml")) + sorted(bundled.glob("*.yaml"))


def _plants() -> list[str]:
    folder = Path(str(reference_scenario("mmc"))).parent
    return sorted(p.stem for p in folder.glob("*.yaml")
                  if "plant" in yaml.safe_load(p.read_text()))


@pytest.mark.parametrize("rules", _rule_files(), ids=lambda p: p.stem)
def test_a_rule_set_that_lints_clean_against_a_plant_also_loads_into_it(rules: Path) -> None:
    """Lint and load are one check: for every rule file and every bundled plant, lint reports
    an error exactly when binding the rule set to that plant refuses it."""
    from shocktwin.errors import ScenarioError

    for name in _plants():
        path = reference_scenario(name)
        doc = yaml.safe_load(path.read_text())
        doc["rules"] = str(rules)
        for key in ("rule_changes", "mtd", "optimize"):
            doc.pop(key, None)
        doc["shocks"] = [s for s in doc.get("shocks", []) if "rules" not in s]
        try:
            # The rule file lies outside the bundled scenario's folder: allowed by name.
            bound = parse_scenario(doc, file=str(path), base_dir=path.parent,
                                   allowed_roots=[rules.parent])
        except ScenarioError as e:
            refused = [p for p in e.problems if p.file == str(rules)]
            assert refused, e.problems  # nothing else of the scenario may be wrong
        else:
            refused = []
        findings = lint_file(rules, bound if not refused else load_scenario(path))
        errors = [f for f in findings if f.severity is LintSeverity.ERROR]
        assert bool(errors) == bool(refused), (name, errors, refused)
        assert {p.path for p in refused} <= {f.path for f in errors}, (name, errors, refused)


def test_a_trigger_that_needs_longer_than_the_horizon_is_noted() -> None:
    sc = load_scenario(reference_scenario("demo_plant"))  # 60 d horizon
    findings = lint_file(RULES / "baseline.yaml", sc)
    (note,) = [f for f in findings if f.code is LintCode.LONGER_THAN_HORIZON]
    assert note.severity is LintSeverity.INFO
    assert note.path == "triggers[0].for"
    assert note.line is not None and "for: 60d" in (RULES / "baseline.yaml").read_text(
    ).splitlines()[note.line - 1]


# --------------------------------------------------------------------------- conditions


@pytest.mark.parametrize("when", [
    "supplier.cpk < 1 and supplier.cpk > 2",
    "supplier.cpk > 2 and supplier.otd < 0.9 and supplier.cpk < 1",
    "supplier.cpk < 1 and supplier.cpk >= 1",
    "supplier.cpk <= 1 and supplier.cpk > 1",
    "supplier.cpk == 1 and supplier.cpk == 2",
    "2 < supplier.cpk < 1",
    "1 > supplier.cpk and 2 < supplier.cpk",
    "supplier.otd > 1.5",
    "supplier.otd < 0",
    "-1 > supplier.ppm",
    "lot.rejected_in_last_5 > 5",
    "supplier.cpk > 1.33 * 2 and supplier.cpk < 2.5",
    "supplier.cpk > 2 and (supplier.cpk < 1 or supplier.cpk < 0)",
    "(supplier.cpk < 1 and supplier.cpk > 2) or (kpi.otd > 1)",
    "1 > 2",
    "false",
    "1 == 2 and true",
    "supplier.cpk < 1 and false and supplier.ppm > 5",
    "supplier.ppm > 1 and (supplier.otd > 2 or 1 > 3)",
])
def test_conditions_that_can_never_be_true(when: str) -> None:
    findings = own(lint(rules(trigger("t", when))))
    assert codes(findings) == [("triggers[0].when", LintCode.NEVER_TRUE)]
    assert findings[0].severity is LintSeverity.ERROR
    assert findings[0].message.startswith("can never be true")


@pytest.mark.parametrize("when", [
    "supplier.cpk < 1.33 and supplier.otd < 0.92",
    "supplier.cpk <= 1 and supplier.cpk >= 1",
    "supplier.cpk == 1 and supplier.cpk <= 1",
    "supplier.cpk < 1 or supplier.cpk > 2",
    "(supplier.cpk < 1 and supplier.cpk > 2) or supplier.ppm > 0",
    "not (supplier.cpk < 1 and supplier.cpk > 2)",
    "supplier.otd >= 1",
    "supplier.otd <= 0",
    "supplier.cpk < 0",  # Cpk is negative when the mean is outside the limits
    "supplier.cpk * 2 > 5 and supplier.cpk < 1",  # not a plain bound: not judged
    "supplier.ppm != 0 and supplier.ppm < 1",
])
def test_conditions_that_can_be_true_are_not_flagged(when: str) -> None:
    assert lint(rules(trigger("t", when))) == []


def test_the_contradiction_is_named() -> None:
    (finding,) = lint(rules(trigger("t", "supplier.cpk < 1 and supplier.cpk > 2")))
    assert finding.message == "can never be true: supplier.cpk would have to be > 2 and < 1"
    (finding,) = lint(rules(trigger("t", "supplier.otd > 1.5")))
    assert finding.message == ("can never be true: supplier.otd would have to be > 1.5 and "
                               "≤ 1 (its greatest value)")


def test_a_constant_true_condition_is_a_warning() -> None:
    findings = lint(rules(trigger("t", "2 > 1")))
    assert codes(findings) == [("triggers[0].when", LintCode.ALWAYS_TRUE)]
    assert findings[0].severity is LintSeverity.WARNING


# --------------------------------------------------------------------------- conflicts


def test_same_condition_with_contradictory_actions_is_a_conflict() -> None:
    findings = lint(rules(
        trigger("tight", "supplier.cpk < 1.33", {"type": "tighten", "material": "part"}),
        trigger("other", "supplier.ppm > 100"),
        trigger("loose", "supplier.cpk<1.33", {"type": "normal", "material": "part"}),
    ))
    assert codes(findings) == [("triggers[2].then[0]", LintCode.CONFLICTING_ACTIONS)]
    assert "'tight' and 'loose'" in findings[0].message
    assert "normal and tighten on 'part'" in findings[0].message


def test_contradictory_actions_in_one_trigger() -> None:
    findings = lint(rules(trigger("t", "supplier.cpk < 1", {"type": "inspect_full",
                                                            "material": "part", "lots": 3},
                                  {"type": "normal", "material": "part"})))
    assert codes(findings) == [("triggers[0].then[1]", LintCode.CONFLICTING_ACTIONS)]
    assert "in one trigger" in findings[0].message


def test_different_conditions_or_materials_do_not_conflict() -> None:
    data = rules(
        trigger("tight", "supplier.cpk < 1.33", {"type": "tighten", "material": "part"}),
        trigger("loose", "supplier.cpk >= 1.67", {"type": "normal", "material": "part"}),
        trigger("a", "supplier.ppm > 9", {"type": "tighten", "material": "part"},
                material="part"),
        trigger("b", "supplier.ppm > 9", {"type": "normal", "material": "bolt"},
                material="bolt"),
    )
    # Sampled, as triggers are evaluated after sampled lots only.
    data["plans"].append({"material": "bolt", "sampling": {"aql": 1.0}})
    assert lint(data) == []


def test_switching_to_two_suppliers_on_one_condition_conflicts() -> None:
    findings = lint(rules(
        trigger("a", "supplier.otd < 0.8", {"type": "switch_supplier", "to": "sup"}),
        trigger("b", "supplier.otd < 0.8", {"type": "switch_supplier", "to": "other"}),
    ))
    assert codes(findings) == [("triggers[1].then[0]", LintCode.CONFLICTING_ACTIONS)]
    assert "'other' and 'sup'" in findings[0].message


# --------------------------------------------------------------------------- references


def test_actions_on_materials_without_a_plan() -> None:
    findings = lint(rules(trigger(
        "t", "supplier.cpk < 1",
        {"type": "tighten", "material": "bolt"},
        {"type": "inspect_full", "material": "nut", "lots": 2},
        {"type": "normal", "material": "part"},
        {"type": "quarantine", "material": "washer"},
        material="screw",
    )))
    assert loading(findings) == []  # the twin carries out every one of these actions
    findings = own(findings)
    assert codes(findings) == [
        ("triggers[0].material", LintCode.NO_PLAN),
        ("triggers[0].then[0].material", LintCode.NO_PLAN),
        ("triggers[0].then[1].material", LintCode.NO_PLAN),
        ("triggers[0].then[3].material", LintCode.NO_PLAN),
    ]
    assert all(f.severity is LintSeverity.ERROR for f in findings)
    assert "no plan for material 'bolt'" in findings[1].message


def test_references_against_a_scenario(make_scenario: Callable[..., Scenario]) -> None:
    sc = make_scenario()  # material part from supplier sup; stations iqc, work, release
    data = rules(
        trigger("a", "supplier.ppm > 100",
                {"type": "stop_line", "station": "paint"},
                {"type": "stop_line", "station": "work"},
                {"type": "switch_supplier", "to": "acme"},
                {"type": "quarantine", "material": "glue"},
                {"type": "quarantine", "material": "part"}),
        trigger("b", "supplier.otd < 0.5", {"type": "switch_supplier", "to": "sup"}),
        plans=[{"material": "part", "station": "work", "sampling": {"aql": 1.0}},
               {"material": "gasket", "station": "dock", "sampling": "full"}],
    )
    findings = lint(data, sc)
    # What loading the rules into the scenario refuses: stop_line is not carried out;
    # 'work' is no incoming inspection station (this replaces the warning that it is not an
    # inspection station); supplier.otd needs a promised lead time.
    assert loading(findings) == [
        ("plans[0].station", LintCode.DOES_NOT_FIT_PLANT),
        *[(f"triggers[0].then[{k}].type", LintCode.NOT_IN_TWIN) for k in (0, 1)],
        ("triggers[1].when", LintCode.DOES_NOT_FIT_PLANT),
    ]
    findings = own(findings)
    assert codes(findings) == [
        ("plans[1].material", LintCode.UNUSED_PLAN),
        ("triggers[0].then[0].station", LintCode.UNKNOWN_STATION),
        ("triggers[0].then[2].to", LintCode.UNKNOWN_SUPPLIER),
        ("triggers[0].then[3].material", LintCode.UNKNOWN_MATERIAL),
    ]
    severities = [f.severity for f in findings]
    assert severities == [LintSeverity.INFO, LintSeverity.ERROR, LintSeverity.ERROR,
                          LintSeverity.ERROR]
    assert "stations: iqc, work, release" in findings[1].message
    # Without a scenario stations and suppliers cannot be checked; glue has no plan.
    assert codes(own(lint(data))) == [("triggers[0].then[3].material", LintCode.NO_PLAN)]


def test_a_supplier_of_another_material(make_scenario: Callable[..., Scenario]) -> None:
    sc = make_scenario()
    data = rules(trigger("a", "supplier.otd < 0.5", {"type": "switch_supplier", "to": "sup"},
                         material="bolt"),
                 plans=[*BASE["plans"], {"material": "bolt", "sampling": "full"}])
    findings = lint(data, sc)
    # Loading refuses it, so the warning that the supplier delivers another material gives
    # way to that error.
    (switch,) = [f for f in findings if f.path == "triggers[0].then[0].to"]
    assert switch.code is LintCode.DOES_NOT_FIT_PLANT and switch.severity is LintSeverity.ERROR
    assert "'sup' is not a supplier of bolt" in switch.message


def write(folder: Path, name: str, data: dict[str, Any]) -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_load_rules_files_are_checked(tmp_path: Path) -> None:
    shutil.copy(RULES / "baseline.yaml", tmp_path / "baseline.yaml")
    (tmp_path / "broken.yaml").write_text("version: 1\nname: broken\nplans: []\n")
    path = write(tmp_path, "main.yaml", rules(
        trigger("fine", "supplier.ppm > 1", {"type": "load_rules", "file": "baseline.yaml"}),
        trigger("gone", "supplier.ppm > 2", {"type": "load_rules", "file": "missing.yaml"}),
        trigger("bad", "supplier.ppm > 3", {"type": "load_rules", "file": "broken.yaml"}),
        trigger("self", "supplier.ppm > 4", {"type": "load_rules", "file": "main.yaml"}),
    ))
    findings = lint_file(path)
    assert codes(findings) == [
        ("triggers[1].then[0].file", LintCode.MISSING_FILE),
        ("triggers[2].then[0].file", LintCode.INVALID_FILE),
        ("triggers[3].then[0].file", LintCode.LOADS_ITSELF),
    ]
    assert "broken.yaml:3: plans: List should have at least 1 item" in findings[1].message
    # Lines point into the file.
    lines = path.read_text().splitlines()
    for f in findings:
        assert f.file == str(path)
        assert f.line is not None and "file:" in lines[f.line - 1]
    # Without the file's location there is nothing to resolve against.
    assert lint_rules(parse_rules(yaml.safe_load(path.read_text()))) == []


def test_ai_model_paths_are_checked(tmp_path: Path) -> None:
    (tmp_path / "alone.onnx").write_bytes(b"x")
    data = rules(plans=[
        {"material": "a", "sampling": "full", "ai": {"model": "models/none.onnx"}},
        {"material": "b", "sampling": "full", "ai": {"model": "alone.onnx"}},
        {"material": "c", "sampling": "full", "ai": {"model": "steel_plates"}},
    ])
    findings = lint_file(write(tmp_path, "ai.yaml", data))
    assert codes(findings) == [("plans[0].ai.model", LintCode.MISSING_FILE),
                               ("plans[1].ai.model", LintCode.MISSING_FILE)]
    assert "metadata file" in findings[1].message


def test_duplicate_trigger_ids_are_refused_before_lint(tmp_path: Path) -> None:
    path = write(tmp_path, "dup.yaml", rules(trigger("t", "supplier.ppm > 1"),
                                             trigger("t", "supplier.ppm > 2")))
    with pytest.raises(RuleError) as caught:
        lint_file(path)
    (problem,) = caught.value.problems
    assert (problem.path, problem.message) == ("triggers[1].id", "duplicate trigger id 't'")
    assert problem.line is not None


def test_findings_are_problems_in_file_order(tmp_path: Path) -> None:
    path = write(tmp_path, "r.yaml", rules(
        trigger("late", "supplier.otd > 2"),
        trigger("early", "supplier.ppm < 0", {"type": "normal", "material": "nope"}),
    ))
    findings = lint_file(path)
    assert all(isinstance(f, Problem) for f in findings)
    assert [f.line for f in findings] == sorted(f.line or 0 for f in findings)
    assert str(findings[0]).startswith(f"{path}:")
    assert codes(findings) == [("triggers[0].when", LintCode.NEVER_TRUE),
                               ("triggers[1].when", LintCode.NEVER_TRUE),
                               ("triggers[1].then[0].material", LintCode.NO_PLAN)]
