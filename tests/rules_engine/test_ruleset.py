"""Rule-set files: the bundled examples, the compiled lookups, hashing, diffs and the schema."""

from __future__ import annotations

import copy
import csv
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from shocktwin.errors import RuleError
from shocktwin.rules_engine.expression import compile_expression
from shocktwin.rules_engine.ruleset import (
    STATISTICS,
    FullInspection,
    InspectFull,
    RuleSet,
    SamplingMethod,
    SingleSampling,
    Switching,
    Tighten,
    compile_plan,
    diff_rules,
    load_rules,
    parse_rules,
    rules_json_schema,
)
from shocktwin.rules_engine.sampling import (
    AQL_SERIES,
    InspectionLevel,
    Severity,
    single_sampling_plan,
)
from shocktwin.rules_engine.spc import NelsonRule, WesternElectricRule
from shocktwin.rules_engine.switching import SwitchingVariant

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "tests" / "rules_engine" / "examples"
DATA = ROOT / "rules_engine" / "data"
EXAMPLES = ("baseline", "weakened", "strict")

MINIMAL: dict[str, Any] = {
    "version": 1,
    "name": "minimal",
    "plans": [{"material": "valve", "sampling": {"level": "II", "aql": 1.0}}],
    "triggers": [{"id": "late", "when": "supplier.otd < 0.9", "for": "14d",
                  "then": [{"type": "tighten", "material": "valve"}]}],
}


def minimal(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(MINIMAL)
    data.update(changes)
    return data


def table_cell(lot_size: int, level: str, aql: str, table: str) -> tuple[str, int, int, int]:
    """Code letter and (n, Ac, Re) read straight from the package's CSV transcription."""
    with (DATA / "code_letters.csv").open() as f:
        for row in csv.DictReader(f):
            if int(row["lot_min"]) <= lot_size and (not row["lot_max"]
                                                   or lot_size <= int(row["lot_max"])):
                letter = row[level]
                break
    with (DATA / table).open() as f:
        for row in csv.DictReader(f):
            if row["code_letter"] == letter and row["aql"] == aql:
                return letter, int(row["n"]), int(row["ac"]), int(row["re"])
    raise AssertionError("cell not found")


# --------------------------------------------------------------------------- examples


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_rule_files_load_and_compile(name: str) -> None:
    ruleset = load_rules(RULES / f"{name}.yaml")
    compiled = compile_plan(ruleset)
    assert ruleset.name == name
    assert set(compiled.plans) == {"valve", "housing"}
    assert compiled.content_hash == ruleset.content_hash()
    assert len(compiled.triggers) == len(ruleset.triggers) >= 1


def test_baseline_valve_plan_for_a_lot_of_1000_is_the_published_one() -> None:
    plan = compile_plan(load_rules(RULES / "baseline.yaml")).plans["valve"]
    # Z1.4 Table I: 501-1200 at level II is J; Tables II-A/B/C at J, AQL 1.0: normal 80/2/3,
    # tightened 80/1/2, reduced 32/1/3 (the 105E/Z1.4 reduced table).
    published = {Severity.NORMAL: (80, 2, 3), Severity.TIGHTENED: (80, 1, 2),
                 Severity.REDUCED: (32, 1, 3)}
    tables = {Severity.NORMAL: "single_normal.csv", Severity.TIGHTENED: "single_tightened.csv",
              Severity.REDUCED: "single_reduced.csv"}
    for severity, cell in published.items():
        p = plan.plan_for(1000, severity)
        assert p is not None
        assert (p.code_letter, p.n, p.ac, p.re) == ("J", *cell)
        assert table_cell(1000, "II", "1.0", tables[severity]) == ("J", *cell)
        assert not p.full_inspection
    # Default severity is the plan's start severity (normal).
    default = plan.plan_for(1000)
    assert default is not None and (default.n, default.ac, default.re) == (80, 2, 3)


def test_a_sample_as_large_as_the_lot_is_100_percent_inspection() -> None:
    plan = compile_plan(load_rules(RULES / "baseline.yaml")).plans["valve"]
    p = plan.plan_for(10)  # Table I: 9-15 at II is B; B @ 1.0 → the 13/0/1 plan
    assert p is not None
    assert (p.code_letter, p.n, p.ac, p.re, p.full_inspection) == ("B", 13, 0, 1, True)
    assert p.items_to_inspect == 10


def test_strict_plan_starts_tightened_at_level_iii() -> None:
    compiled = compile_plan(load_rules(RULES / "strict.yaml"))
    valve = compiled.plans["valve"]
    assert (valve.level, valve.aql, valve.start) == (InspectionLevel.III, "0.65",
                                                     Severity.TIGHTENED)
    p = valve.plan_for(1000)
    # 501-1200 at level III is K; tightened K @ 0.65 is 125/1/2.
    assert p is not None and (p.code_letter, p.n, p.ac, p.re) == ("K", 125, 1, 2)
    assert table_cell(1000, "III", "0.65", "single_tightened.csv") == ("K", 125, 1, 2)
    procedure = valve.switching_procedure()
    assert procedure is not None
    assert procedure.variant is SwitchingVariant.ISO2859
    assert procedure.severity is Severity.TIGHTENED
    housing = compiled.plans["housing"]
    assert housing.method is SamplingMethod.FULL
    assert housing.plan_for(500) is None
    assert housing.switching_procedure() is None
    assert housing.ai is not None and housing.ai.bundled and housing.ai.threshold == 0.35


def test_run_rules_compile_to_the_spc_rule_names() -> None:
    def rules_of(name: str) -> tuple[object, ...]:
        plan = compile_plan(load_rules(RULES / f"{name}.yaml")).plans["valve"]
        bore = next(c for c in plan.characteristics if c.name == "bore_diameter")
        return bore.run_rules

    assert rules_of("baseline") == tuple(WesternElectricRule)
    assert rules_of("weakened") == (WesternElectricRule.ONE_BEYOND_3_SIGMA,
                                    WesternElectricRule.TWO_OF_THREE_BEYOND_2_SIGMA,
                                    WesternElectricRule.FOUR_OF_FIVE_BEYOND_1_SIGMA)
    assert rules_of("strict") == tuple(NelsonRule)
    data = minimal()
    data["plans"][0]["characteristics"] = [
        {"name": "gap", "spc": {"chart": "p", "run_rules": {"family": "nelson",
                                                            "numbers": [8, 2, 5]}}}]
    (gap,) = compile_plan(parse_rules(data)).plans["valve"].characteristics
    assert gap.run_rules == (NelsonRule.NINE_SAME_SIDE, NelsonRule.TWO_OF_THREE_BEYOND_2_SIGMA,
                             NelsonRule.EIGHT_OUTSIDE_1_SIGMA)
    assert gap.subgroup_size is None


def test_compiled_trigger_evaluates_the_condition() -> None:
    compiled = compile_plan(load_rules(RULES / "baseline.yaml"))
    (trigger,) = compiled.triggers
    assert trigger.id == "incapable-and-late"
    assert trigger.for_h == 60 * 24
    assert compiled.statistics == {"supplier.cpk", "supplier.otd"}
    assert trigger.condition.evaluate({"supplier.cpk": 1.2, "supplier.otd": 0.9}) is True
    assert trigger.condition.evaluate({"supplier.cpk": 1.4, "supplier.otd": 0.9}) is False
    assert trigger.condition.evaluate({"supplier.cpk": 1.2, "supplier.otd": 0.95}) is False
    assert trigger.actions == (Tighten(type="tighten", material="valve"),
                               InspectFull(type="inspect_full", material="valve", lots=5))


# --------------------------------------------------------------------------- compiled = tables


@settings(max_examples=300, deadline=None)
@given(
    lot_size=st.one_of(st.integers(2, 2_000), st.integers(2, 2_000_000)),
    level=st.sampled_from(list(InspectionLevel)),
    aql=st.sampled_from(AQL_SERIES),
    severity=st.sampled_from(list(Severity)),
)
def test_compiled_lookup_equals_the_table_lookup(lot_size: int, level: InspectionLevel,
                                                 aql: str, severity: Severity) -> None:
    data = minimal(plans=[{"material": "m", "sampling": {"level": level.value, "aql": aql}}])
    plan = compile_plan(parse_rules(data)).plans["m"]
    assert plan.plan_for(lot_size, severity) == single_sampling_plan(lot_size, level, aql,
                                                                     severity)


@pytest.mark.parametrize("lot_size", [1, 0, -5])
def test_plan_for_a_lot_below_two_is_refused(lot_size: int) -> None:
    plan = compile_plan(parse_rules(MINIMAL)).plans["valve"]
    with pytest.raises(RuleError, match="at least 2") as caught:
        plan.plan_for(lot_size)
    assert caught.value.problems[0].path == "lot_size"


def test_plan_for_refuses_a_bool_and_a_float() -> None:
    plan = compile_plan(parse_rules(MINIMAL)).plans["valve"]
    with pytest.raises(RuleError):
        plan.plan_for(True)
    with pytest.raises(RuleError):
        plan.plan_for(99.5)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- parsing


def test_sampling_short_forms_and_defaults() -> None:
    data = minimal(plans=[
        {"material": "a", "sampling": "full"},
        {"material": "b", "sampling": {"aql": "2.5"}},
        {"material": "c", "sampling": {"method": "single", "level": "s-3", "aql": 4}},
    ])
    rs = parse_rules(data)
    a, b, c = (p.sampling for p in rs.plans)
    assert isinstance(a, FullInspection)
    assert isinstance(b, SingleSampling)
    assert (b.level, b.aql, b.switching, b.start) == (InspectionLevel.II, "2.5", Switching.Z14,
                                                      Severity.NORMAL)
    assert isinstance(c, SingleSampling)
    assert (c.level, c.aql) == (InspectionLevel.S3, "4.0")


def test_switching_none_gives_no_procedure() -> None:
    data = minimal(plans=[{"material": "v", "sampling": {"aql": 1.0, "switching": "none",
                                                         "start": "reduced"}}])
    plan = compile_plan(parse_rules(data)).plans["v"]
    assert plan.switching_procedure() is None
    p = plan.plan_for(1000)
    assert p is not None and (p.n, p.ac, p.re) == (32, 1, 3)


def test_top_level_must_be_a_mapping() -> None:
    with pytest.raises(RuleError, match="top level must be a mapping"):
        parse_rules(["version", 1])


def test_missing_file_is_a_rule_error(tmp_path: Path) -> None:
    with pytest.raises(RuleError, match="no such file") as caught:
        load_rules(tmp_path / "nope.yaml")
    assert caught.value.problems[0].file == str(tmp_path / "nope.yaml")


def test_all_problems_are_reported_at_once() -> None:
    data = minimal(plans=[
        {"material": "v", "sampling": {"aql": 0.7, "level": "IV"}},
        {"material": "w", "sampling": {"aql": 1.0},
         "characteristics": [{"name": "x", "spec": {"lsl": 2, "usl": 1, "unit": "mm"}}]},
    ])
    data["triggers"][0]["when"] = "__import__('os').system('x')"
    data["triggers"][0]["for"] = 60
    with pytest.raises(RuleError) as caught:
        parse_rules(data, file="r.yaml")
    paths = [p.path for p in caught.value.problems]
    assert "plans[0].sampling.aql" in paths
    assert "plans[0].sampling.level" in paths
    assert "plans[1].characteristics[0].spec" in paths
    assert "triggers[0].when" in paths
    assert "triggers[0].for" in paths
    assert all(p.file == "r.yaml" for p in caught.value.problems)


@pytest.mark.parametrize("when", [
    "__import__('os').system('x')",
    "().__class__.__bases__",
    "supplier.cpk.__class__ == 1",
    "2 ** 10 ** 10 > supplier.ppm",
    "(" * 40 + "supplier.cpk" + ")" * 40 + " < 1",
    " or ".join(["supplier.cpk < 1.33"] * 120),
    "open('/etc/passwd') == 'x'",
    "[x for x in ()] == 1",
    "lambda: 1",
])
def test_hostile_conditions_are_refused_at_validation(when: str) -> None:
    data = minimal()
    data["triggers"][0]["when"] = when
    with pytest.raises(RuleError) as caught:
        parse_rules(data)
    assert {p.path for p in caught.value.problems} == {"triggers[0].when"}


def test_every_statistic_name_can_be_used_in_a_condition() -> None:
    for name, stat in STATISTICS.items():
        compiled = compile_expression(f"{name} >= 0", STATISTICS)
        assert compiled.names == {name}
        assert stat.low <= stat.high
        assert stat.description


# --------------------------------------------------------------------------- hashing, diffs


def test_same_meaning_same_hash() -> None:
    a = minimal()
    b = minimal(plans=[{"sampling": {"aql": "1.0", "level": "II"}, "material": "valve"}])
    b["triggers"][0]["for"] = "336h"
    c = minimal()
    c["plans"][0]["characteristics"] = [
        {"name": "x", "spc": {"chart": "i_mr", "run_rules": {"numbers": [2, 1]}}}]
    d = minimal()
    d["plans"][0]["characteristics"] = [
        {"name": "x", "spc": {"chart": "i_mr", "subgroup_size": 1,
                              "run_rules": {"family": "western_electric", "numbers": [1, 2]}}}]
    assert parse_rules(a).content_hash() == parse_rules(b).content_hash()
    assert parse_rules(c).content_hash() == parse_rules(d).content_hash()
    assert parse_rules(a).content_hash() != parse_rules(c).content_hash()
    e = minimal(plans=[{"material": "valve", "sampling": {"aql": 1.5}}])
    assert parse_rules(a).content_hash() != parse_rules(e).content_hash()


@pytest.mark.parametrize("name", EXAMPLES)
def test_dump_and_parse_round_trip(name: str) -> None:
    rs = load_rules(RULES / f"{name}.yaml")
    again = parse_rules(json.loads(json.dumps(rs.model_dump(mode="json", by_alias=True))))
    assert again == rs
    assert again.content_hash() == rs.content_hash()


def test_diff_of_baseline_and_weakened() -> None:
    baseline = load_rules(RULES / "baseline.yaml")
    weakened = load_rules(RULES / "weakened.yaml")
    assert diff_rules(baseline, weakened) == [
        "name: baseline → weakened",
        "description changed",
        "housing: AQL 1.0 → 2.5 (looser)",
        "valve: AQL 1.0 → 2.5 (looser)",
        "valve: skip-lot added (1 in 4 after 10 accepted lots)",
        "valve: bore_diameter: western_electric rules removed: 4",
    ]
    assert diff_rules(weakened, baseline)[2:] == [
        "housing: AQL 2.5 → 1.0 (stricter)",
        "valve: AQL 2.5 → 1.0 (stricter)",
        "valve: skip-lot removed (was 1 in 4 after 10 accepted lots)",
        "valve: bore_diameter: western_electric rules added: 4",
    ]
    assert diff_rules(baseline, baseline) == []


def test_diff_names_plans_and_triggers_added_and_removed() -> None:
    old = parse_rules(minimal())
    data = minimal(plans=[{"material": "housing", "sampling": "full"}])
    data["triggers"] = [{"id": "escapes", "when": "kpi.escaped_ppm > 200",
                         "then": [{"type": "stop_line", "station": "assembly"}]}]
    data["triggers"][0]["then"].append({"type": "quarantine", "material": "housing"})
    new = parse_rules(data)
    changes = diff_rules(old, new)
    assert "plan removed: valve" in changes
    assert "plan added: housing (100 % inspection)" in changes
    assert "trigger removed: late" in changes
    assert "trigger added: escapes (when kpi.escaped_ppm > 200, for 0h)" in changes
    changed = minimal()
    changed["triggers"][0]["for"] = "30d"
    changed["triggers"][0]["then"] = [{"type": "normal", "material": "valve"}]
    (line,) = diff_rules(old, parse_rules(changed))
    assert line == ("trigger changed: late: for 14d → 30d; then [tighten valve] → "
                    "[normal valve]")
    level = minimal(plans=[{"material": "valve", "sampling": {"level": "S-4", "aql": 1.0}}])
    assert diff_rules(old, parse_rules(level)) == ["valve: level II → S-4 (smaller samples)"]


# --------------------------------------------------------------------------- schema


def test_schema_describes_the_file_format() -> None:
    schema = rules_json_schema()
    assert {"version", "name", "plans"} <= set(schema["required"])
    trigger = schema["$defs"]["Trigger"]
    assert "for" in trigger["properties"] and "for_h" not in trigger["properties"]
    assert "supplier.cpk" in trigger["properties"]["when"]["description"]
    assert trigger["properties"]["then"]["items"]["discriminator"]["propertyName"] == "type"
    json.dumps(schema)  # plain JSON


@pytest.mark.parametrize("name", EXAMPLES)
def test_schema_accepts_the_example_files(name: str) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    data = yaml.safe_load((RULES / f"{name}.yaml").read_text())
    jsonschema.validate(data, rules_json_schema())


def test_schema_refuses_an_unknown_aql_and_action() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = rules_json_schema()
    bad = minimal(plans=[{"material": "v", "sampling": {"aql": 0.7}}])
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)
    bad = minimal()
    bad["triggers"][0]["then"] = [{"type": "explode"}]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


def test_ruleset_is_frozen() -> None:
    rs = parse_rules(MINIMAL)
    with pytest.raises(ValueError, match="frozen"):
        rs.name = "other"  # type: ignore[misc]
    assert isinstance(rs, RuleSet)
