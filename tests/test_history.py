"""The history store: a review written again adds no duplicate rows, two reviews compare key
for key, and a store of another kind or schema version is refused with the reason."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import duckdb
import pytest

from shocktwin.edge_replay.history import HistoryError, check_history
from shocktwin.twin.resilience.history import (
    ResultRow,
    ReviewRow,
    compare,
    open_history,
    previous_review,
    results,
    reviews,
)


def review(label: str, started: str) -> ReviewRow:
    return ReviewRow(review=label, suite="s", suite_hash="h", started_utc=started,
                     finished_utc=started, interval_days=91.0, engine="simpy",
                     version="0", executor="local", runs=10, score=None, score_json="{}")


def row(label: str, scenario: str, shock: str, indicator: str, value: float | None,
        status: str = "passed") -> ResultRow:
    return ResultRow(review=label, scenario=scenario, shock=shock, indicator=indicator,
                     value=value, ci_low=None, ci_high=None, unit="h", target=24.0,
                     status=status, severity=None, replications=10, runs=100,
                     scenario_hash="a", rules_hash="b", engine="simpy", version="0", seed=1,
                     finished_utc="2027-01-01T00:00:00Z")


ROWS_A = [row("Q1", "valve", "quake", "mtd", 100.0), row("Q1", "valve", "", "hypothesis_share",
                                                         0.9),
          row("Q1", "column", "cut", "mtd", 50.0)]
ROWS_B = [row("Q2", "valve", "quake", "mtd", 80.0), row("Q2", "valve", "", "hypothesis_share",
                                                        0.95),
          row("Q2", "eda", "switch", "mtd", 10.0)]


def test_writing_a_review_again_adds_no_duplicate_rows(tmp_path: Path) -> None:
    store = open_history(tmp_path / "h.duckdb", create=True)
    store.append(review("Q1", "2027-01-01T00:00:00Z"), ROWS_A, replace=False)
    with pytest.raises(HistoryError, match="already in the history; give --replace"):
        store.append(review("Q1", "2027-01-01T00:00:00Z"), ROWS_A, replace=False)
    store.append(review("Q1", "2027-01-01T00:00:00Z"), ROWS_A, replace=True)
    store.append(review("Q1", "2027-01-01T00:00:00Z"), ROWS_A, replace=True)
    assert [r.review for r in reviews(tmp_path / "h.duckdb")] == ["Q1"]
    assert results(tmp_path / "h.duckdb", "Q1") == sorted(ROWS_A, key=lambda r: r.key)
    # A review written again with other rows swaps them as a whole.
    store.append(review("Q1", "2027-01-01T00:00:00Z"), ROWS_A[:1], replace=True)
    assert len(store.results()) == 1


def test_a_refused_write_leaves_the_store_as_it_was(tmp_path: Path) -> None:
    store = open_history(tmp_path / "h.duckdb", create=True)
    store.append(review("Q1", "2027-01-01T00:00:00Z"), ROWS_A, replace=False)
    twice = [*ROWS_B, ROWS_B[0]]  # one key twice: the primary key refuses the transaction
    with pytest.raises(duckdb.Error):
        store.append(review("Q2", "2027-04-01T00:00:00Z"), twice, replace=False)
    assert [r.review for r in store.reviews()] == ["Q1"]
    assert len(store.results()) == len(ROWS_A)


def test_two_reviews_compare_key_for_key(tmp_path: Path) -> None:
    path = tmp_path / "h.duckdb"
    store = open_history(path, create=True)
    store.append(review("Q1", "2027-01-01T00:00:00Z"), ROWS_A, replace=False)
    store.append(review("Q2", "2027-04-01T00:00:00Z"), ROWS_B, replace=False)
    pairs = compare(path, "Q1", "Q2")
    assert [p.key for p in pairs] == sorted({r.key for r in ROWS_A} | {r.key for r in ROWS_B})
    by = {p.key: p for p in pairs}
    assert by[("valve", "quake", "mtd")].change == -20.0
    assert by[("valve", "quake", "mtd")].relative_change == pytest.approx(-0.2)
    assert by[("valve", "quake", "mtd")].direction == "worse"
    assert by[("valve", "", "hypothesis_share")].direction == "better"
    assert by[("column", "cut", "mtd")].direction == "dropped"
    assert by[("eda", "switch", "mtd")].direction == "added"
    assert previous_review(path, "Q2") == "Q1"
    assert previous_review(path, "Q1") is None
    assert previous_review(path, "Q3") == "Q2"  # a review not written yet follows the last
    with pytest.raises(HistoryError, match="unknown review 'Q3'"):
        compare(path, "Q1", "Q3")


def test_a_lower_ttr_is_better(tmp_path: Path) -> None:
    from shocktwin.twin.resilience.history import compare_rows

    a = [row("Q1", "v", "s", "ttr_p90_h", 48.0)]
    b = [replace(a[0], review="Q2", value=24.0)]
    assert compare_rows(a, b)[0].direction == "better"


def test_a_store_of_another_kind_or_version_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "other.duckdb"
    con = duckdb.connect(str(other))
    con.execute("CREATE TABLE t(x INT)")
    con.close()
    with pytest.raises(HistoryError, match="not a shocktwin history store"):
        check_history(other, "Q1", replace=False)
    text = tmp_path / "notes.duckdb"
    text.write_text("not a database")
    with pytest.raises(HistoryError, match="not a readable DuckDB history store"):
        open_history(text, create=True)
    newer = tmp_path / "h.duckdb"
    open_history(newer, create=True).append(review("Q1", "2027-01-01T00:00:00Z"), ROWS_A,
                                            replace=False)
    con = duckdb.connect(str(newer))
    con.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    con.close()
    with pytest.raises(HistoryError, match="schema version '2'; this shocktwin reads version 1"):
        reviews(newer)
    with pytest.raises(HistoryError, match="no history store here"):
        open_history(tmp_path / "missing.duckdb", create=False)
