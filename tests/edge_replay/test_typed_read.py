"""A generic CSV source read typed by DuckDB's CSV reader decides every row as the text read
does: the same rows loaded with the same values, the same rows quarantined with the same lines,
raw text and reasons. The rows the typed read cannot vouch for (records DuckDB rejected,
fractions in a whole-number column, padded values) are staged by the text read."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from replay_testkit import new_store, rows

from shocktwin.edge_replay import _direct, _formats
from shocktwin.edge_replay.ingest import ingest
from shocktwin.edge_replay.mapping import LocatedMapping, SourceMapping
from shocktwin.edge_replay.schema import LOADABLE_TABLES, TABLES, prepare_store

MAPPING = SourceMapping(
    table="operations",
    columns={"order": "case_id", "step": "activity", "start": "start_ts", "end": "end_ts",
             "good": "qty_completed", "scrap": "qty_rejected", "rework": "rework",
             "who": "operator"},
    null_values=("-",),
)
HEADER = ["order", "step", "start", "end", "good", "scrap", "rework", "who", "note"]
CLEAN = ["A-1", "Turning", "2024-03-04 06:00:00", "2024-03-04 07:30:00", "10", "0", "N",
         "W1", "ok"]
#: Texts that each column may hold instead of its clean value: readable, unreadable, and
#: values the two reads could take differently if the typed one were trusted blindly.
ODD = {
    "order": ["", "-", " A-2 ", "A-1"],
    "start": ["", "-", " 2024-03-04 06:00:00", "2024-03-04T06:00", "2024-03-04", "soon",
              "2024-03-05 06:00:00"],
    "end": ["2024-03-04 05:00:00", "2024-13-01 00:00:00", "infinity"],
    "good": ["", "-", " 7 ", "2.0", "1.5", "1e3", "-3", "x", "nan", "9007199254740993"],
    "scrap": ["0.0", "-1", "+2"],
    "rework": ["", "y", "Yes", "TRUE", " n", "on", "0"],
    "who": ["", "-", " "],
}


def _write(path: Path, changes: list[tuple[int, str, str]], n_rows: int) -> None:
    lines = [list(CLEAN) for _ in range(n_rows)]
    for i, row in enumerate(lines):
        row[0] = f"A-{i % 5}"  # some rows repeat: double postings
    for i, column, value in changes:
        lines[i % n_rows][HEADER.index(column)] = value
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        writer.writerows(lines)


def _store_rows(db: Path) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    names = "source_line, case_id, activity, start_ts, end_ts, qty_completed, qty_rejected, " \
        "rework, operator"
    return (rows(db, f"SELECT {names} FROM operations ORDER BY source_line"),
            rows(db, "SELECT source_line, raw, reason FROM quarantine ORDER BY source_line"))


def _both_reads(tmp_path: Path, source: Path, monkeypatch: pytest.MonkeyPatch,
                mapping: SourceMapping = MAPPING, staged: bool | None = None) -> None:
    """The typed and the text read of ``source`` store the same rows and quarantine entries.

    ``staged``: the typed read must be written without a stage (False), must fall back to it
    (True), or either (None).
    """
    (tmp_path / "typed").mkdir()
    (tmp_path / "text").mkdir()
    typed, text = new_store(tmp_path / "typed"), new_store(tmp_path / "text")
    fallbacks: list[str] = []
    real = _direct.load_plan

    def stage(con: duckdb.DuckDBPyConnection, plan: object, source: str) -> object:
        fallbacks.append(source)
        return real(con, plan, source)  # type: ignore[arg-type]

    with monkeypatch.context() as m:
        m.setattr(_direct, "load_plan", stage)
        ingest(source, "csv", typed, mapping)
    if staged is not None:
        assert bool(fallbacks) == staged
    with monkeypatch.context() as m:
        m.setattr(_formats, "_typed_csv_plan", lambda path, header, mapping, plan: plan)
        ingest(source, "csv", text, mapping)
    assert _store_rows(typed) == _store_rows(text)
    if mapping is not MAPPING:
        return
    # Every record is loaded or quarantined once, and no placeholder row is left behind.
    (n, lines), = rows(typed, "SELECT count(*), count(DISTINCT source_line) FROM (SELECT "
                       "source_line FROM operations UNION ALL SELECT source_line FROM quarantine)")
    with source.open(encoding="utf-8", newline="") as f:
        assert n == lines == sum(1 for _ in csv.reader(f)) - 1


def test_a_clean_source_is_read_typed(tmp_path: Path) -> None:
    source = tmp_path / "ops.csv"
    _write(source, [], 5)
    reading = _formats.read_generic_csv(duckdb.connect(), source, LocatedMapping(MAPPING))
    assert reading.plans[0].fallback is not None


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(
    st.sampled_from(sorted(ODD)).flatmap(
        lambda c: st.tuples(st.integers(0, 29), st.just(c), st.sampled_from(ODD[c]))),
    max_size=6,
))
def test_typed_and_text_reads_load_and_quarantine_the_same_rows(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch,
    changes: list[tuple[int, str, str]],
) -> None:
    tmp_path = tmp_path_factory.mktemp("typed")
    source = tmp_path / "ops.csv"
    _write(source, changes, 30)
    _both_reads(tmp_path, source, monkeypatch)


def test_rows_the_typed_read_rejects_are_judged_as_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Padded, fractional and unreadable values, among them a double posting of a padded row
    and rows after them, whose lines the rejected records must not shift."""
    source = tmp_path / "ops.csv"
    _write(source, [(3, "good", " 7 "), (8, "good", " 7 "), (3, "order", "A-3"),
                    (8, "order", "A-3"), (5, "good", "1.5"), (6, "start", "soon"),
                    (7, "end", "2024-03-04 05:00:00"), (12, "who", " ")], 20)
    _both_reads(tmp_path, source, monkeypatch)
    _, quarantined = _store_rows(tmp_path / "typed" / "store" / "plant.duckdb")
    assert [line for line, _, _ in quarantined][:4] == [7, 8, 9, 10]


def test_a_typed_read_is_written_without_a_stage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Problems, double postings (among them of rows only the text read keeps) and values the
    typed read cannot vouch for, all decided without staging the source."""
    source = tmp_path / "ops.csv"
    _write(source, [(2, "scrap", "-1"), (4, "end", "2024-03-04 05:00:00"),
                    (6, "good", "9007199254740993"), (11, "good", "9007199254740993"),
                    (9, "good", "1.5"), (13, "order", "-"), (14, "who", "")], 20)
    _both_reads(tmp_path, source, monkeypatch, staged=False)
    _, quarantined = _store_rows(tmp_path / "typed" / "store" / "plant.duckdb")
    assert {line for line, _, _ in quarantined} >= {4, 6, 11, 13, 15}


def test_a_record_spanning_lines_makes_the_typed_read_staged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A quoted line break shifts every line after it: the copied lines are not the records
    the pass saw there, so the source is staged, with every row's place as before."""
    source = tmp_path / "ops.csv"
    _write(source, [(3, "note", "two\nlines"), (6, "scrap", "-1"), (9, "good", "1.5")], 12)
    _both_reads(tmp_path, source, monkeypatch, staged=True)


def test_a_typed_row_repeating_one_only_the_text_read_keeps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An order whose quantity only the text read can vouch for, after the same order read
    typed: the second is a duplicate of the first whichever read kept it."""
    mapping = SourceMapping(table="work_orders", columns={"order": "order_id", "qty": "quantity"})
    source = tmp_path / "orders.csv"
    source.write_text("order,qty\nA,9007199254740993\nB,2\nA,3\nC,4\n", encoding="utf-8")
    _both_reads(tmp_path, source, monkeypatch, mapping)


@pytest.mark.parametrize("table", LOADABLE_TABLES)
def test_placeholders_meet_the_table_constraints(table: str) -> None:
    """A row of placeholders, written for a record an ingest drops again, is accepted."""
    spec = TABLES[table]
    con = duckdb.connect()
    prepare_store(con, file=":memory:")
    values = ["'s'", "0"] + [c.placeholder_sql() for c in spec.data_columns]
    con.execute(f'INSERT INTO "{table}" VALUES ({", ".join(values)})')
    assert con.execute(f'SELECT count(*) FROM "{table}"').fetchall() == [(1,)]


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    text=st.lists(st.sampled_from(["a", "bc", ",", "\r", "\n", "\r\n", "é"]), max_size=40),
    picks=st.lists(st.integers(2, 30), max_size=8, unique=True),
    block=st.sampled_from([1, 2, 5, 64]),
)
def test_copied_lines_are_those_of_the_file(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch,
    text: list[str], picks: list[int], block: int,
) -> None:
    """The lines a typed read copies out, found block by block, are the file's lines."""
    folder = tmp_path_factory.mktemp("lines")
    source, copy = folder / "source.csv", folder / "copy.csv"
    data = "".join(text).encode()
    source.write_bytes(data)
    parts = data.split(b"\n")
    monkeypatch.setattr(_formats, "_BLOCK_BYTES", block)
    wanted = sorted(picks)
    copied = _formats._copy_lines(source, np.array(wanted, dtype=np.int64), copy)
    assert copied == all(n <= len(parts) for n in wanted)
    if copied:
        expected = [parts[n - 1] + (b"\n" if n < len(parts) else b"") for n in [1, *wanted]]
        assert copy.read_bytes() == b"".join(expected)
