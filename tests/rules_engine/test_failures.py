"""Plans drafted from failure tables: the risk mapping by hand, the Jeffreys bound against its
definition, bad tables refused with every problem, the YAML round trip and `rules derive`."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, special
from typer.testing import CliRunner

from shocktwin import rules_engine
from shocktwin.cli.rules import EXIT_CLEAN, EXIT_INVALID, rules_app
from shocktwin.errors import RuleError
from shocktwin.rules_engine.failures import (
    COLUMNS,
    FailureRow,
    Risk,
    action_priority,
    assess_row,
    draft_plan,
    dump_rules,
    jeffreys_upper_bound,
    load_failures,
    parse_failures,
)
from shocktwin.rules_engine.ruleset import (
    FullInspection,
    RuleSet,
    SingleSampling,
    Spec,
    compile_plan,
    load_rules,
)
from shocktwin.rules_engine.sampling import InspectionLevel, Severity

HERE = Path(__file__).parent
BAD = HERE / "bad_failures"
ROOT = HERE.parents[1]
VALVE_TABLE = ROOT / "tests" / "rules_engine" / "examples" / "failures" / "valve_backup.csv"
# Files that cannot carry an "# expect:" comment.
NO_COMMENT = {
    "empty.csv": ["empty.csv: the file is empty"],
    "binary.csv": ["binary.csv: not a text file (it contains NUL bytes)"],
}


def row(**fields: Any) -> FailureRow:
    return FailureRow.model_validate({"material": "valve", "characteristic": "bore", **fields})


def sampling_of(ruleset: RuleSet, material: str = "valve") -> SingleSampling | FullInspection:
    plan = ruleset.plan(material)
    assert plan is not None
    return plan.sampling


# --------------------------------------------------------------------------- action priority


# Cells read off the AIAG & VDA FMEA Handbook (2019) action-priority table, one or more per
# band, including the corners where neighbouring bands differ.
HANDBOOK_AP = [
    ((9, 4, 3), "H"), ((10, 5, 1), "M"), ((9, 2, 7), "H"), ((9, 2, 5), "M"), ((9, 3, 4), "L"),
    ((10, 1, 10), "L"), ((9, 6, 1), "H"), ((8, 8, 1), "H"), ((7, 6, 1), "M"), ((7, 6, 2), "H"),
    ((7, 5, 7), "H"), ((7, 5, 4), "M"), ((8, 4, 1), "M"), ((7, 3, 7), "M"), ((8, 2, 5), "M"),
    ((7, 3, 4), "L"), ((7, 1, 10), "L"), ((6, 8, 5), "H"), ((5, 8, 4), "M"), ((4, 10, 1), "M"),
    ((6, 7, 7), "M"), ((4, 6, 2), "M"), ((5, 6, 1), "L"), ((6, 4, 7), "M"), ((4, 5, 6), "L"),
    ((6, 3, 10), "L"), ((3, 8, 7), "M"), ((2, 9, 5), "M"), ((3, 10, 4), "L"), ((3, 7, 10), "L"),
    ((1, 10, 10), "L"),
]  # fmt: skip


@pytest.mark.parametrize(("sod", "letter"), HANDBOOK_AP, ids=[str(c[0]) for c in HANDBOOK_AP])
def test_action_priority_matches_the_handbook(sod: tuple[int, int, int], letter: str) -> None:
    assert action_priority(*sod) is {"H": Risk.HIGH, "M": Risk.MEDIUM, "L": Risk.LOW}[letter]


ratings = st.integers(1, 10)


@given(ratings, ratings, ratings, st.sampled_from(["severity", "occurrence", "detection"]))
def test_a_worse_rating_never_lowers_the_action_priority(s: int, o: int, d: int,
                                                         which: str) -> None:
    worse = {"severity": (min(s + 1, 10), o, d), "occurrence": (s, min(o + 1, 10), d),
             "detection": (s, o, min(d + 1, 10))}[which]
    assert action_priority(*worse).rank >= action_priority(s, o, d).rank


def test_action_priority_refuses_ratings_off_the_scale() -> None:
    with pytest.raises(RuleError) as caught:
        action_priority(11, 0, True)  # type: ignore[arg-type]
    assert [p.path for p in caught.value.problems] == ["severity", "occurrence", "detection"]


# --------------------------------------------------------------------------- Jeffreys bound


def beta_cdf_by_quadrature(x: float, a: float, b: float) -> float:
    """∫₀ˣ Beta(a, b) density, with p = u² to take the p^(-1/2) singularity out of it."""
    def density(u: float) -> float:
        return 2 * u ** (2 * a - 1) * (1 - u * u) ** (b - 1) / special.beta(a, b)

    return float(integrate.quad(density, 0, math.sqrt(x), epsabs=1e-13, epsrel=1e-12)[0])


def test_jeffreys_bound_of_a_clean_sample_of_50() -> None:
    # Beta(0.5, 50.5) quantiles, worked out once with scipy.stats.beta.ppf in a REPL and
    # checked here against the definition: the integral of the density up to them.
    one_sided_95, two_sided_95_upper = 0.0375011, 0.0487585
    assert beta_cdf_by_quadrature(one_sided_95, 0.5, 50.5) == pytest.approx(0.95, abs=1e-6)
    assert beta_cdf_by_quadrature(two_sided_95_upper, 0.5, 50.5) == pytest.approx(0.975,
                                                                                  abs=1e-6)
    assert jeffreys_upper_bound(0, 50) == pytest.approx(one_sided_95, abs=1e-6)
    # The upper end of the two-sided 95 % interval is the 97.5 % quantile (≈ 0.0488).
    assert jeffreys_upper_bound(0, 50, confidence=0.975) == pytest.approx(two_sided_95_upper,
                                                                          abs=1e-6)


@pytest.mark.parametrize(("defects", "inspected"), [(3, 1200), (1, 20), (7, 90), (0, 2000)])
def test_jeffreys_bound_is_the_posterior_quantile(defects: int, inspected: int) -> None:
    upper = jeffreys_upper_bound(defects, inspected)
    cdf = beta_cdf_by_quadrature(upper, defects + 0.5, inspected - defects + 0.5)
    assert cdf == pytest.approx(0.95, abs=1e-6)


def test_jeffreys_bound_for_large_clean_samples_is_the_poisson_limit() -> None:
    # With no defects in n, Beta(½, n + ½) tends to Gamma(½)/n = χ²₁/(2n): the 95 % point is
    # z₀.₉₇₅² / (2n) with z₀.₉₇₅ = 1.959964.
    n = 10_000
    assert jeffreys_upper_bound(0, n) == pytest.approx(1.959964**2 / (2 * n), rel=1e-3)


def test_jeffreys_bound_edges() -> None:
    assert jeffreys_upper_bound(5, 5) == 1.0
    assert jeffreys_upper_bound(0, 100) > jeffreys_upper_bound(0, 1000)
    assert jeffreys_upper_bound(2, 100) > jeffreys_upper_bound(1, 100)
    with pytest.raises(RuleError) as caught:
        jeffreys_upper_bound(6, 5, confidence=1.0)
    assert [p.path for p in caught.value.problems] == ["defects", "confidence"]


# --------------------------------------------------------------------------- risk of a row


# Each row's class worked out by hand from the mapping in the module docstring.
@pytest.mark.parametrize(
    ("fields", "risk", "reasons"),
    [
        ({"severity": 9, "occurrence": 4, "detection": 3}, Risk.HIGH, ["S 9, O 4, D 3 → AP H"]),
        # AP L, but S ≥ 9 is high whatever O and D say.
        ({"severity": 9, "occurrence": 1, "detection": 1}, Risk.HIGH,
         ["S 9, O 1, D 1 → AP L", "S 9 ≥ 9"]),
        ({"severity": 7, "occurrence": 5, "detection": 4}, Risk.MEDIUM,
         ["S 7, O 5, D 4 → AP M"]),
        ({"severity": 6, "occurrence": 3, "detection": 2}, Risk.LOW, ["S 6, O 3, D 2 → AP L"]),
        ({"rpn": 200}, Risk.HIGH, ["RPN 200"]),
        ({"rpn": 199}, Risk.MEDIUM, ["RPN 199"]),
        ({"rpn": 100}, Risk.MEDIUM, ["RPN 100"]),
        ({"rpn": 99}, Risk.LOW, ["RPN 99"]),
        ({"rpn": 90, "severity": 9}, Risk.HIGH, ["RPN 90", "S 9 ≥ 9"]),
        # With all three ratings the RPN is redundant: action priority decides, not 240 ≥ 200.
        ({"severity": 6, "occurrence": 8, "detection": 5, "rpn": 240}, Risk.HIGH,
         ["S 6, O 8, D 5 → AP H"]),
        ({"severity": 4, "occurrence": 6, "detection": 10, "rpn": 240}, Risk.MEDIUM,
         ["S 4, O 6, D 10 → AP M"]),
        # 0 in 50: p95 = 3.75 % ≥ 1 %; 0 in 1 500: 0.128 %; 0 in 2 000: 0.096 % < 0.1 %.
        ({"defects": 0, "inspected": 50}, Risk.HIGH, ["0 in 50 → p95 ≤ 3.75 %"]),
        ({"defects": 0, "inspected": 1500}, Risk.MEDIUM, ["0 in 1,500 → p95 ≤ 0.13 %"]),
        ({"defects": 0, "inspected": 2000}, Risk.LOW, ["0 in 2,000 → p95 ≤ 0.096 %"]),
        # The worst basis wins: a low action priority with a small clean sample is high.
        ({"severity": 5, "occurrence": 2, "detection": 2, "defects": 0, "inspected": 50},
         Risk.HIGH, ["S 5, O 2, D 2 → AP L", "0 in 50 → p95 ≤ 3.75 %"]),
    ],
)
def test_row_risk_by_hand(fields: dict[str, int], risk: Risk, reasons: list[str]) -> None:
    a = assess_row(row(**fields))
    assert a.risk is risk
    assert list(a.reasons) == reasons
    assert a.inspect is (risk is not Risk.LOW)
    assert not a.full_inspection


def test_severity_10_asks_for_full_inspection() -> None:
    a = assess_row(row(severity=10, occurrence=1, detection=1))
    assert (a.risk, a.full_inspection, a.action_priority) == (Risk.HIGH, True, Risk.LOW)
    assert a.reasons[-1] == "S 10: 100 %"


def test_the_table_decides_only_below_high() -> None:
    assert assess_row(row(rpn=20, inspect=True)).inspect
    assert not assess_row(row(rpn=20)).inspect
    assert not assess_row(row(rpn=150, inspect=False)).inspect
    with pytest.raises(ValueError, match="a high-risk characteristic is always inspected"):
        row(rpn=500, inspect=False)


# --------------------------------------------------------------------------- the example


def test_valve_backup_table_rows_by_hand() -> None:
    rows = load_failures(VALVE_TABLE)
    got = [(r.characteristic, assess_row(r).risk) for r in rows]
    assert got == [
        ("leak_rate", Risk.HIGH),         # S 9, O 4, D 3: S 9-10, O 4-5, D 2-4 → H
        ("bore_diameter", Risk.MEDIUM),   # S 7, O 5, D 4: S 7-8, O 4-5, D 2-4 → M
        ("bore_diameter", Risk.LOW),      # S 7, O 3, D 4: S 7-8, O 2-3, D 2-4 → L
        ("thread_gauge", Risk.LOW),       # S 6, O 3, D 2: S 4-6, O 2-3 → L (inspect: yes)
        ("surface_finish", Risk.LOW),     # S 4, O 3, D 5: S 4-6, O 2-3 → L
        ("seat_defects", Risk.MEDIUM),    # 3 in 1 200: p95 0.585 %, within 0.1-1 %
    ]
    seat = assess_row(rows[-1])
    # Beta(3.5, 1197.5) at 95 %, worked out in a REPL; checked by quadrature above.
    assert seat.rate_upper == pytest.approx(0.0058502, abs=1e-6)


def test_valve_backup_plan() -> None:
    ruleset = draft_plan(load_failures(VALVE_TABLE), source="valve_backup.csv")
    assert [p.material for p in ruleset.plans] == ["valve"]
    assert ruleset.name == "valve-draft"
    (plan,) = ruleset.plans
    # The worst row is high (leak_rate): level III, AQL 0.65; a new supplier starts tightened.
    assert plan.sampling == SingleSampling(level=InspectionLevel.III, aql="0.65",
                                           start=Severity.TIGHTENED)
    assert plan.station == "iqc"
    assert plan.first_article is not None and plan.first_article.pieces == 5
    assert [(c.name, c.spec) for c in plan.characteristics] == [
        ("leak_rate", Spec(usl=0.5, unit="mL/min")),
        ("bore_diameter", Spec(lsl=11.95, usl=12.05, unit="mm")),
        ("thread_gauge", None),
        ("seat_defects", None),
    ]
    assert "set by leak_rate 'external leak at the stem seal' (S 9, O 4, D 3 → AP H)" \
        in ruleset.description
    assert "Not inspected: surface_finish (low)." in ruleset.description
    compiled = compile_plan(ruleset).plans["valve"]
    # Table I: a lot of 500 at level III is code J; Table II-A, J at AQL 0.65: 80, Ac 1, Re 2.
    normal = compiled.plan_for(500, Severity.NORMAL)
    assert normal is not None
    assert (normal.code_letter, normal.n, normal.ac, normal.re) == ("J", 80, 1, 2)
    assert compiled.start is Severity.TIGHTENED


def test_current_supplier_starts_normal_without_first_article() -> None:
    ruleset = draft_plan(load_failures(VALVE_TABLE), new_supplier=False, station=None)
    (plan,) = ruleset.plans
    assert isinstance(plan.sampling, SingleSampling)
    assert plan.sampling.start is Severity.NORMAL
    assert plan.first_article is None and plan.station is None
    assert "current supplier" in ruleset.description


def test_yaml_table_reads_like_the_csv(tmp_path: Path) -> None:
    rows = load_failures(VALVE_TABLE)
    path = tmp_path / "valve.yaml"
    path.write_text(yaml.safe_dump([r.model_dump(exclude_defaults=True) for r in rows]))
    assert load_failures(path) == rows
    assert parse_failures([r.model_dump() for r in rows]) == rows


# --------------------------------------------------------------------------- the mapping


@pytest.mark.parametrize(
    ("rows", "level", "aql"),
    [
        ([{"rpn": 240}], "III", "0.65"),
        ([{"rpn": 150}], "II", "1.0"),
        ([{"rpn": 80}], "II", "2.5"),
        # The tightest over the rows: one medium row among low ones sets AQL 1.0.
        ([{"rpn": 80, "failure_mode": "a"}, {"rpn": 120, "failure_mode": "b"},
          {"defects": 0, "inspected": 5000, "characteristic": "seat"}], "II", "1.0"),
        ([{"defects": 0, "inspected": 50}], "III", "0.65"),
        ([{"severity": 9, "occurrence": 1, "detection": 1}], "III", "0.65"),
    ],
)
def test_level_and_aql_by_risk(rows: list[dict[str, Any]], level: str, aql: str) -> None:
    sampling = sampling_of(draft_plan([row(**r) for r in rows]))
    assert isinstance(sampling, SingleSampling)
    assert (sampling.level.value, sampling.aql) == (level, aql)


def test_severity_10_puts_the_material_on_full_inspection() -> None:
    ruleset = draft_plan([row(severity=10, occurrence=2, detection=2, failure_mode="burst"),
                          row(characteristic="finish", rpn=10)])
    assert isinstance(sampling_of(ruleset), FullInspection)
    plan = ruleset.plan("valve")
    assert plan is not None and plan.first_article is not None
    assert [c.name for c in plan.characteristics] == ["bore"]
    assert "valve: 100 % inspection (high risk), set by bore 'burst'" in ruleset.description
    compile_plan(ruleset)


def test_which_characteristics_are_listed() -> None:
    ruleset = draft_plan([
        row(characteristic="low_unflagged", rpn=20),
        row(characteristic="low_flagged", rpn=20, inspect=True),
        row(characteristic="medium_dropped", rpn=150, inspect=False),
        # One row of a characteristic calling for it is enough.
        row(characteristic="mixed", rpn=20, failure_mode="a"),
        row(characteristic="mixed", rpn=150, failure_mode="b"),
        row(characteristic="limited", rpn=150, lsl=1.0, unit="mm"),
        row(characteristic="limited", rpn=20, failure_mode="b"),
    ])
    plan = ruleset.plans[0]
    assert [(c.name, c.spec) for c in plan.characteristics] == [
        ("low_flagged", None), ("mixed", None), ("limited", Spec(lsl=1.0, unit="mm"))]


def test_one_plan_per_material_in_table_order() -> None:
    rows = [row(material="housing", rpn=150), row(rpn=300), row(material="housing",
                                                               characteristic="flat", rpn=10)]
    ruleset = draft_plan(rows)
    assert [p.material for p in ruleset.plans] == ["housing", "valve"]
    assert ruleset.name == "draft"
    only = draft_plan(rows, material="housing", name="housing-backup")
    assert [p.material for p in only.plans] == ["housing"]
    assert only.name == "housing-backup"
    with pytest.raises(RuleError, match=r"no rows for 'pump' \(materials: housing, valve\)"):
        draft_plan(rows, material="pump")


def test_draft_refuses_contradicting_rows_and_bad_names() -> None:
    with pytest.raises(RuleError) as caught:
        draft_plan([row(rpn=10, lsl=1.0, unit="mm"), row(rpn=10, failure_mode="x", lsl=2.0,
                                                         unit="mm")])
    (problem,) = caught.value.problems
    assert problem.path == "[1].lsl"
    assert "limits [2, –] mm differ from [1, –] mm given for bore at [0]" in problem.message
    with pytest.raises(RuleError, match="the same material, characteristic and failure mode"):
        draft_plan([row(rpn=10), row(rpn=20)])
    with pytest.raises(RuleError) as caught:
        draft_plan([row(rpn=10)], station="1st station", name="has space",
                   first_article_pieces=0)
    assert [(p.path, p.message.split(" (")[0].split(",")[0]) for p in caught.value.problems] \
        == [("name", "must be an identifier"), ("station", "must be an identifier"),
            ("first_article_pieces", "must be a whole number from 1 to 10")]
    with pytest.raises(RuleError, match="no rows"):
        draft_plan([])
    with pytest.raises(TypeError):
        draft_plan([{"material": "valve"}])  # type: ignore[list-item]


# --------------------------------------------------------------------------- YAML out


@pytest.mark.parametrize("name", ["baseline", "weakened", "strict"])
def test_dump_rules_round_trips_the_bundled_rule_sets(name: str, tmp_path: Path) -> None:
    ruleset = load_rules(ROOT / "tests" / "rules_engine" / "examples" / f"{name}.yaml")
    path = tmp_path / "again.yaml"
    path.write_text(dump_rules(ruleset), encoding="utf-8")
    assert load_rules(path).content_hash() == ruleset.content_hash()


def test_dumped_draft_explains_itself_and_loads_back(tmp_path: Path) -> None:
    ruleset = draft_plan(load_failures(VALVE_TABLE), source="valve_backup.csv")
    text = dump_rules(ruleset)
    header = text.split("\nversion: 1\n")[0]
    assert all(line.startswith("#") or not line for line in header.splitlines())
    flat = " ".join(" ".join(line.lstrip("#") for line in header.splitlines()).split())
    assert "high S ≥ 9, action priority H, RPN ≥ 200, or defect rate ≥ 1 %" in flat
    assert "set by leak_rate 'external leak at the stem seal' (S 9, O 4, D 3 → AP H)" in flat
    path = tmp_path / "draft.yaml"
    path.write_text(text, encoding="utf-8")
    again = load_rules(path)
    assert again == ruleset
    assert again.content_hash() == ruleset.content_hash()


def test_dump_keeps_hostile_text_inside_comments(tmp_path: Path) -> None:
    rows = [row(rpn=10, failure_mode="line\rbreak\u2028plans: []\x85# x", inspect=True)]
    ruleset = draft_plan(rows, source="a\nb.csv")
    path = tmp_path / "r.yaml"
    path.write_text(dump_rules(ruleset), encoding="utf-8")
    assert load_rules(path).content_hash() == ruleset.content_hash()


names = st.sampled_from(["valve", "housing", "seal"])
characteristics = st.sampled_from(["bore", "leak", "thread", "finish", "seat"])
basis = st.one_of(
    st.fixed_dictionaries({"severity": ratings, "occurrence": ratings, "detection": ratings}),
    st.fixed_dictionaries({"rpn": st.integers(1, 1000)}),
    st.integers(1, 5000).flatmap(lambda n: st.fixed_dictionaries(
        {"defects": st.integers(0, n), "inspected": st.just(n)})),
)
LIMITS = {"bore": {"lsl": 11.95, "usl": 12.05, "unit": "mm"}, "leak": {"usl": 0.5,
                                                                       "unit": "mL/min"}}


@st.composite
def tables(draw: st.DrawFn) -> list[FailureRow]:
    out = []
    for i in range(draw(st.integers(1, 12))):
        characteristic = draw(characteristics)
        fields = {"material": draw(names), "characteristic": characteristic,
                  "failure_mode": f"mode {i}", **draw(basis), **LIMITS.get(characteristic, {})}
        if draw(st.booleans()):
            fields["inspect"] = True
        out.append(FailureRow.model_validate(fields))
    return out


@settings(max_examples=60, deadline=None)
@given(tables(), st.booleans())
def test_any_valid_table_drafts_a_compilable_rule_set_that_round_trips(
        rows: list[FailureRow], new_supplier: bool) -> None:
    ruleset = draft_plan(rows, new_supplier=new_supplier)
    compiled = compile_plan(ruleset)
    assert set(compiled.plans) == {r.material for r in rows}
    again = RuleSet.model_validate(yaml.safe_load(dump_rules(ruleset)))
    assert again.content_hash() == ruleset.content_hash()
    for plan in ruleset.plans:
        mine = [assess_row(r) for r in rows if r.material == plan.material]
        worst = max(a.risk.rank for a in mine)
        if isinstance(plan.sampling, SingleSampling):
            expected = {2: ("III", "0.65"), 1: ("II", "1.0"), 0: ("II", "2.5")}[worst]
            assert (plan.sampling.level.value, plan.sampling.aql) == expected
        else:
            assert any(a.full_inspection for a in mine)
        listed = {c.name for c in plan.characteristics}
        high = {r.characteristic for r, a in zip(rows, [assess_row(r) for r in rows],
                                                  strict=True)
                if r.material == plan.material and a.risk is Risk.HIGH}
        assert high <= listed


# --------------------------------------------------------------------------- bad tables


def expectations(path: Path) -> list[str]:
    if path.name in NO_COMMENT:
        return NO_COMMENT[path.name]
    found = re.findall(r"^# expect: (.+)$", path.read_text(), flags=re.M)
    assert found, f"{path.name} has no '# expect:' line"
    return found


BAD_FILES = sorted(p for p in BAD.iterdir() if p.is_file())


@pytest.mark.parametrize("path", BAD_FILES, ids=lambda p: p.name)
def test_bad_table_is_refused_with_every_problem(path: Path, tmp_path: Path,
                                                 runner: CliRunner) -> None:
    expected = expectations(path)
    with pytest.raises(RuleError) as caught:
        load_failures(path)
    assert len(caught.value.problems) == len(expected), caught.value
    out = tmp_path / "rules.yaml"
    result = runner.invoke(rules_app, ["derive", "--failures", str(path), "--out", str(out)])
    assert result.exit_code == EXIT_INVALID, result.output
    assert "Traceback" not in result.output
    assert result.stdout == "", "problems go to stderr"
    for fragment in expected:
        assert fragment in result.output, f"missing {fragment!r} in:\n{result.output}"
    for line in result.output.splitlines():
        assert line.startswith(f"error: {path}"), line
    assert list(tmp_path.iterdir()) == []


def test_bad_failures_folder_covers_the_required_cases() -> None:
    names = {p.stem for p in BAD_FILES}
    assert {"severity_11", "defects_over_inspected", "missing_columns", "empty",
            "binary"} <= names


def test_missing_table(tmp_path: Path) -> None:
    with pytest.raises(RuleError, match="no such file"):
        load_failures(tmp_path / "nothing.csv")


def test_columns_are_the_row_fields() -> None:
    assert COLUMNS[:3] == ("material", "characteristic", "failure_mode")
    assert set(COLUMNS) == set(FailureRow.model_fields)


# --------------------------------------------------------------------------- CLI


def derive(runner: CliRunner, *args: str) -> Any:
    return runner.invoke(rules_app, ["derive", "--failures", str(VALVE_TABLE), *args])


def test_derive_writes_a_loadable_rule_set(tmp_path: Path, runner: CliRunner) -> None:
    out = tmp_path / "valve_backup.yaml"
    result = derive(runner, "--out", str(out))
    assert result.exit_code == EXIT_CLEAN, result.output
    ruleset = load_rules(out)
    assert ruleset.name == "valve_backup"
    assert ("plan valve: single sampling, level III, AQL 0.65, starting tightened; first "
            "article 5 pieces; inspects leak_rate, bore_diameter, thread_gauge, seat_defects"
            ) in result.output
    assert f"wrote {out} (rule set valve_backup, content hash {ruleset.content_hash()})" \
        in result.output
    assert [p.name for p in tmp_path.iterdir()] == ["valve_backup.yaml"]
    plain = tmp_path / "plain.txt"
    plain.write_text("")
    assert out.stat().st_mode & 0o777 == plain.stat().st_mode & 0o777
    plain.unlink()
    assert runner.invoke(rules_app, ["lint", str(out)]).exit_code == EXIT_CLEAN
    # Loaded into a plant that inspects incoming valves at iqc, the station of the failure
    # table's rows (the valve_quality plant with its incoming station so named), it fits:
    # lint against that plant is clean and the scenario validates.
    from shocktwin import cli
    from shocktwin.scenarios import reference_scenario

    text = reference_scenario("valve_quality").read_text().replace("iqc-in", "iqc")
    plant = tmp_path / "plant.yaml"
    plant.write_text(re.sub(r"^rules: .*$", f"rules: {out.name}", text, flags=re.M))
    lint = runner.invoke(rules_app, ["lint", str(out), "--scenario", str(plant)])
    assert lint.exit_code == EXIT_CLEAN, lint.output
    checked = runner.invoke(cli.app, ["validate", str(plant)])
    assert checked.exit_code == 0, checked.output
    plant.unlink()


def test_derive_refuses_to_overwrite_without_force(tmp_path: Path, runner: CliRunner) -> None:
    out = tmp_path / "rules.yaml"
    out.write_text("keep me\n")
    result = derive(runner, "--out", str(out))
    assert result.exit_code == EXIT_INVALID
    assert f"error: {out}: exists; pass --force to overwrite it" in result.output
    assert out.read_text() == "keep me\n"
    result = derive(runner, "--out", str(out), "--force", "--existing-supplier")
    assert result.exit_code == EXIT_CLEAN, result.output
    (plan,) = load_rules(out).plans
    assert isinstance(plan.sampling, SingleSampling)
    assert plan.sampling.start is Severity.NORMAL and plan.first_article is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rules.yaml"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--material", "pump"], "no rows for 'pump' (materials: valve)"),
        (["--out", "{tmp}/missing/rules.yaml"], "missing does not exist"),
        (["--out", "{tmp}"], "is a directory"),
    ],
)
def test_derive_bad_arguments_exit_2(args: list[str], message: str, tmp_path: Path,
                                     runner: CliRunner) -> None:
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    if "--out" not in args:
        args += ["--out", str(tmp_path / "rules.yaml")]
    result = derive(runner, *args)
    assert result.exit_code == EXIT_INVALID, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_derive_has_help(runner: CliRunner) -> None:
    result = runner.invoke(rules_app, ["derive", "--help"])
    assert result.exit_code == 0
    assert "Draft inspection plans from a failure-mode table" in result.output
    assert "--existing-supplier" in result.output
    assert "derive" in runner.invoke(rules_app, ["--help"]).output


def test_package_exports() -> None:
    for name in ("FailureRow", "Risk", "RiskAssessment", "action_priority", "assess_row",
                 "draft_plan", "dump_rules", "jeffreys_upper_bound", "load_failures",
                 "parse_failures", "SAMPLING_BY_RISK"):
        assert name in rules_engine.__all__
        assert getattr(rules_engine, name) is not None
