"""Sampling tables: code letters and plans against MIL-STD-105E / Z1.4 published cells."""

from __future__ import annotations

import pytest

from shocktwin.rules_engine.sampling import (
    AQL_SERIES,
    CODE_LETTERS,
    InspectionLevel,
    SamplingPlan,
    Severity,
    acceptance_number_one_step_tighter,
    code_letter,
    normalise_aql,
    plan_table,
    single_sampling_plan,
)

STANDARD_SAMPLE_SIZES = {2, 3, 5, 8, 13, 20, 32, 50, 80, 125, 200, 315, 500, 800, 1250, 2000, 3150}


@pytest.mark.parametrize(
    ("lot_size", "level", "letter"),
    [
        (1000, "II", "J"),
        (5000, "II", "L"),
        (200, "II", "G"),
        (50_000, "S-1", "D"),
        (50_000, "S-2", "E"),
        (50_000, "S-3", "G"),
        (50_000, "S-4", "J"),
        (50_000, "I", "L"),
        (50_000, "II", "N"),
        (50_000, "III", "P"),
    ],
)
def test_code_letter_matches_table_i(lot_size: int, level: str, letter: str) -> None:
    assert code_letter(lot_size, level) == letter


def test_code_letter_range_edges_are_inclusive() -> None:
    # Table I ranges 281-500 (H at II) and 501-1200 (J at II); the last range is open.
    assert code_letter(500, InspectionLevel.II) == "H"
    assert code_letter(501, InspectionLevel.II) == "J"
    assert code_letter(2, InspectionLevel.III) == "B"
    assert code_letter(10_000_000, InspectionLevel.III) == "R"


@pytest.mark.parametrize(
    ("lot_size", "aql", "severity", "letter", "plan"),
    [
        (1000, "0.65", Severity.NORMAL, "J", (80, 1, 2)),
        (1000, "1.0", Severity.NORMAL, "J", (80, 2, 3)),
        (1000, "2.5", Severity.NORMAL, "J", (80, 5, 6)),
        (1000, "4.0", Severity.NORMAL, "J", (80, 7, 8)),
        (2000, "1.0", Severity.NORMAL, "K", (125, 3, 4)),
        (5000, "1.0", Severity.NORMAL, "L", (200, 5, 6)),
        (100, "1.0", Severity.NORMAL, "F", (13, 0, 1)),  # ↓ arrow leads to the E plan
        (200, "1.0", Severity.NORMAL, "G", (50, 1, 2)),  # ↓ arrow leads to the H plan
        (5, "10", Severity.NORMAL, "A", (5, 1, 2)),  # off-table ↑ resolved downwards
        (1000, "1.0", Severity.TIGHTENED, "J", (80, 1, 2)),
        (1000, "1.0", Severity.REDUCED, "J", (32, 1, 3)),
    ],
)
def test_single_sampling_plan_matches_published_cells(
    lot_size: int, aql: str, severity: Severity, letter: str, plan: tuple[int, int, int]
) -> None:
    found = single_sampling_plan(lot_size, InspectionLevel.II, aql, severity)
    assert found.code_letter == letter
    assert (found.n, found.ac, found.re) == plan
    assert found.severity is severity
    assert found.aql == aql


def test_full_inspection_when_sample_reaches_lot_size() -> None:
    small = single_sampling_plan(10, "II", 0.1)
    assert small.n >= 10
    assert small.full_inspection
    assert small.items_to_inspect == 10
    large = single_sampling_plan(1000, "II", 0.1)
    assert not large.full_inspection
    assert large.items_to_inspect == large.n


@pytest.mark.parametrize(
    ("given", "label"),
    [(1, "1.0"), (1.0, "1.0"), ("1", "1.0"), (" 1.0 ", "1.0"), (0.65, "0.65"), (0.1, "0.10"),
     ("0.010", "0.010"), (10, "10"), (10.0, "10"), (0.1 + 0.55, "0.65"), (1000, "1000")],
)  # fmt: skip
def test_aql_given_as_number_or_string_becomes_its_label(given: float | str, label: str) -> None:
    assert normalise_aql(given) == label
    assert single_sampling_plan(1000, "II", given).aql == label


def test_level_and_severity_accept_their_spellings() -> None:
    plan = single_sampling_plan(50_000, "s-1", "1.0", "Tightened")
    assert plan.level is InspectionLevel.S1
    assert plan.severity is Severity.TIGHTENED


def test_plan_table_is_read_only() -> None:
    table = plan_table(Severity.NORMAL)
    with pytest.raises(TypeError):
        table[("J", "1.0")] = (1, 0, 1)  # type: ignore[index]


@pytest.mark.parametrize("severity", list(Severity))
def test_tables_are_complete_and_use_standard_sample_sizes(severity: Severity) -> None:
    table = plan_table(severity)
    assert set(table) == {(letter, aql) for letter in CODE_LETTERS for aql in AQL_SERIES}
    assert all(cell.re > cell.ac >= 0 for cell in table.values())
    assert {cell.n for cell in table.values()} <= STANDARD_SAMPLE_SIZES


@pytest.mark.parametrize("severity", [Severity.NORMAL, Severity.TIGHTENED])
def test_normal_and_tightened_reject_one_above_accept(severity: Severity) -> None:
    assert all(cell.re == cell.ac + 1 for cell in plan_table(severity).values())


@pytest.mark.parametrize("severity", list(Severity))
def test_acceptance_numbers_never_decrease_along_rows_or_columns(severity: Severity) -> None:
    table = plan_table(severity)
    for letter in CODE_LETTERS:
        row = [table[(letter, aql)].ac for aql in AQL_SERIES]
        assert row == sorted(row), letter
    for aql in AQL_SERIES:
        column = [table[(letter, aql)].ac for letter in CODE_LETTERS]
        assert column == sorted(column), aql


def test_tightened_and_reduced_are_no_looser_than_normal() -> None:
    normal = plan_table(Severity.NORMAL)
    tightened = plan_table(Severity.TIGHTENED)
    reduced = plan_table(Severity.REDUCED)
    for key, cell in normal.items():
        assert tightened[key].ac <= cell.ac, key
        assert reduced[key].n <= cell.n, key


def test_tighter_aql_uses_the_same_sample_whenever_ac_is_two_or_more() -> None:
    # The ISO switching score compares with the next tighter AQL on the same sample; the
    # normal table must offer that comparison wherever the score needs it (Ac ≥ 2).
    for (letter, aql), cell in plan_table(Severity.NORMAL).items():
        if cell.ac < 2:
            continue
        plan = SamplingPlan(
            code_letter=letter,
            n=cell.n,
            ac=cell.ac,
            re=cell.re,
            full_inspection=False,
            severity=Severity.NORMAL,
            level=InspectionLevel.II,
            aql=aql,
            lot_size=10_000_000,
        )
        assert acceptance_number_one_step_tighter(plan) is not None, (letter, aql)
    plan = single_sampling_plan(1000, "II", "2.5")
    assert acceptance_number_one_step_tighter(plan) == 3  # J @ 1.5 = 80/3/4
    # J @ 25 is the n = 50 plan (↑ arrow); on that sample the tighter plan is H @ 15 = 50/14/15.
    edge = single_sampling_plan(1000, "II", "25")
    assert (edge.n, edge.ac) == (50, 21)
    assert acceptance_number_one_step_tighter(edge) == 14
    assert acceptance_number_one_step_tighter(single_sampling_plan(1000, "II", "0.010")) is None
