"""The snapshots table: the plain ``snapshot`` format and the mapping route, its quarantine
rules (each kind with what it needs), the snapshot_times view, and stores of schema
version 1 (before the table) upgraded."""

from __future__ import annotations

from pathlib import Path

import pytest
from replay_testkit import BAD, as_version_1, new_store, rows, write_snapshot_csv

from shocktwin.edge_replay.ingest import ingest
from shocktwin.edge_replay.schema import SCHEMA_VERSION, open_store
from shocktwin.errors import ReplayError

# The sample file, with what the ingest must do with each line: replay_testkit.SNAPSHOT_CSV.


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return new_store(tmp_path)


@pytest.fixture
def snapshot_csv(tmp_path: Path) -> Path:
    return write_snapshot_csv(tmp_path)


def test_plain_snapshot_file_quarantines_bad_rows_with_line_and_reason(
        snapshot_csv: Path, store: Path) -> None:
    report = ingest(snapshot_csv, "snapshot", store)
    counts = report.counts("snapshots")
    assert (counts.rows_read, counts.rows_loaded, counts.rows_quarantined) == (17, 7, 10)
    quarantined = rows(store, "SELECT source_line, reason FROM quarantine "
                       "WHERE table_name = 'snapshots' ORDER BY source_line")
    assert quarantined == [
        (8, "kind: must be stock, open_order, wip or inspection, not stok"),
        (9, "(row): a second value for this item at this time (first at line 2)"),
        (10, "due_at: the order arrives 2012-02-28 09:00:00, before the snapshot was taken "
             "2012-03-01 06:00:00"),
        (11, "quantity: must be at least 1 for kind wip; due_at: missing value for kind wip"),
        (12, "state: must be normal, tightened or reduced, not strict"),
        (13, "state: missing value for kind inspection"),
        (14, "quantity: negative: -3"),
        (15, "quantity: missing value for kind stock"),
        (16, "quantity: cannot read 'five' as a whole number; "
             "quantity: missing value for kind open_order"),
        (17, "taken_at: cannot read 'yesterday' as an ISO 8601 timestamp"),
    ]
    loaded = rows(store, "SELECT source_line FROM snapshots ORDER BY source_line")
    assert [line for (line,) in loaded] == [2, 3, 4, 5, 6, 7, 18]
    assert (counts.period_start.isoformat(), counts.period_end.isoformat()) == (
        "2012-03-01T06:00:00", "2012-03-08T06:00:00")


def test_snapshot_times_counts_each_snapshot_by_kind(snapshot_csv: Path, store: Path) -> None:
    ingest(snapshot_csv, "snapshot", store)
    assert rows(store, "SELECT CAST(taken_at AS VARCHAR), n_rows, n_stock, n_open_orders, "
                "n_wip, n_inspection, first_line FROM snapshot_times ORDER BY taken_at") == [
        ("2012-03-01 06:00:00", 6, 2, 2, 1, 1, 2),
        ("2012-03-08 06:00:00", 1, 1, 0, 0, 0, 18),
    ]


def test_a_file_without_an_item_column_is_refused(tmp_path: Path, store: Path) -> None:
    path = tmp_path / "no_item.csv"
    path.write_text("taken_at,kind,buffer,quantity\n2012-03-01 06:00,stock,valves,10\n")
    with pytest.raises(ReplayError) as caught:
        ingest(path, "snapshot", store)
    [problem] = caught.value.problems
    assert (problem.path, problem.line) == ("item", 1)
    assert problem.message == "missing column; the header has instead: buffer"
    assert not store.exists()


def test_a_snapshot_in_another_layout_goes_through_a_mapping_file(tmp_path: Path,
                                                                  store: Path) -> None:
    source = tmp_path / "bestand.csv"
    source.write_text("Stichtag;Art;Objekt;Menge;Termin\n"
                      "01.03.2012 06:00;stock;valves;10;\n"
                      "01.03.2012 06:00;open_order;maker;50;01.03.2012 20:00\n"
                      "01.03.2012 06:00;open_order;maker;50;\n", encoding="utf-8")
    mapping = tmp_path / "bestand.yaml"
    mapping.write_text('table: snapshots\n'
                       'columns: {Stichtag: taken_at, Art: kind, Objekt: item, '
                       'Menge: quantity, Termin: due_at}\n'
                       'timestamp_format: "%d.%m.%Y %H:%M"\n'
                       'delimiter: ";"\n')
    report = ingest(source, "csv", store, mapping)
    assert report.counts("snapshots").rows_loaded == 2
    assert rows(store, "SELECT source_line, reason FROM quarantine") == [
        (4, "Termin: missing value for kind open_order")]
    assert rows(store, "SELECT kind, item, quantity, CAST(due_at AS VARCHAR) FROM snapshots "
                "ORDER BY source_line") == [
        ("stock", "valves", 10, None), ("open_order", "maker", 50, "2012-03-01 20:00:00")]


def test_a_version_1_store_is_upgraded_with_the_snapshots_table(snapshot_csv: Path,
                                                                store: Path) -> None:
    ingest(BAD / "ops.csv", "csv", store, BAD / "mapping_ops.yaml")
    as_version_1(store)
    open_store(store).close()  # read as it is
    ingest(snapshot_csv, "snapshot", store)
    meta = dict(rows(store, "SELECT key, value FROM meta"))
    assert (meta["schema_version"], meta["upgraded_from"]) == (str(SCHEMA_VERSION), "1")
    assert rows(store, "SELECT count(*) FROM operations") == [(2,)]
    assert rows(store, "SELECT count(*) FROM snapshot_times") == [(2,)]
    assert rows(store, "SELECT count(*) FROM downtime") == [(0,)]
