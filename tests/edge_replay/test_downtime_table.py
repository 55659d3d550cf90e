"""The downtime table: the plain ``downtime`` format and the mapping route, its quarantine
rules, overlapping rows merged into outages, and stores of schema version 1 (before the
table) read and upgraded."""

from __future__ import annotations

from pathlib import Path

import pytest
from replay_testkit import BAD, as_version_1, new_store, rows, write_downtime_csv

from shocktwin.edge_replay.ingest import ingest
from shocktwin.edge_replay.schema import SCHEMA_VERSION, open_store
from shocktwin.errors import ReplayError

# The sample file, with what the ingest must do with each line: replay_testkit.DOWNTIME_CSV.


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return new_store(tmp_path)


@pytest.fixture
def downtime_csv(tmp_path: Path) -> Path:
    return write_downtime_csv(tmp_path)


def test_plain_downtime_file_quarantines_bad_rows_with_line_and_reason(
        downtime_csv: Path, store: Path) -> None:
    report = ingest(downtime_csv, "downtime", store)
    counts = report.counts("downtime")
    assert (counts.rows_read, counts.rows_loaded, counts.rows_quarantined) == (11, 5, 6)
    quarantined = rows(store, "SELECT source_line, reason FROM quarantine "
                       "WHERE table_name = 'downtime' ORDER BY source_line")
    assert quarantined == [
        (5, "end: end 2024-03-05 06:00:00 is before start 2024-03-05 07:00:00"),
        (6, "machine: missing value"),
        (7, "start: missing value"),
        (8, "end: missing value"),
        (9, "start: cannot read 'yesterday' as an ISO 8601 timestamp"),
        (10, "(row): same as the outage at line 2 in every field (double posting)"),
    ]
    loaded = rows(store, "SELECT source_line FROM downtime ORDER BY source_line")
    assert [line for (line,) in loaded] == [2, 3, 4, 11, 12]
    assert (counts.period_start.isoformat(), counts.period_end.isoformat()) == (
        "2024-03-03T22:00:00", "2024-03-06T01:00:00")


def test_overlapping_rows_of_a_machine_are_one_outage_over_their_union(
        downtime_csv: Path, store: Path) -> None:
    ingest(downtime_csv, "downtime", store)
    outages = rows(store, "SELECT machine, CAST(start_ts AS VARCHAR), CAST(end_ts AS VARCHAR), "
                   "duration_h, n_rows, first_line, causes FROM machine_outages "
                   "ORDER BY machine, start_ts")
    assert outages == [
        ("lathe", "2024-03-03 22:00:00", "2024-03-03 23:00:00", 1.0, 1, 11, []),
        ("press", "2024-03-04 10:15:00", "2024-03-04 12:15:00", 2.0, 1, 2, ["hydraulic leak"]),
        ("press", "2024-03-04 20:40:00", "2024-03-04 21:20:00", pytest.approx(2 / 3), 2, 3,
         ["guard open", "light curtain"]),
    ]
    [stats] = rows(store, "SELECT n_outages, down_h, mean_up_h FROM machine_downtime_stats "
                   "WHERE machine = 'press'")
    # Up from 12:15 to 20:40: 8 h 25 min between the two outages.
    assert stats == (2, pytest.approx(2 + 2 / 3), pytest.approx(8 + 25 / 60))


def test_touching_rows_are_one_outage(tmp_path: Path, store: Path) -> None:
    path = tmp_path / "touching.csv"
    path.write_text("machine,start,end\nm,2024-01-01 01:00,2024-01-01 02:00\n"
                    "m,2024-01-01 02:00,2024-01-01 02:30\n")
    ingest(path, "downtime", store)
    assert rows(store, "SELECT duration_h, n_rows FROM machine_outages") == [(1.5, 2)]


def test_a_file_without_an_end_column_is_refused(tmp_path: Path, store: Path) -> None:
    path = tmp_path / "no_end.csv"
    path.write_text("machine,start,until\npress,2024-01-01 01:00,2024-01-01 02:00\n")
    with pytest.raises(ReplayError) as caught:
        ingest(path, "downtime", store)
    [problem] = caught.value.problems
    assert (problem.path, problem.line) == ("end", 1)
    assert problem.message == "missing column; the header has instead: until"
    assert not store.exists()


def test_a_downtime_table_in_another_layout_goes_through_a_mapping_file(tmp_path: Path,
                                                                        store: Path) -> None:
    source = tmp_path / "alarme.csv"
    source.write_text("Anlage;Beginn;Ende;Meldung\n"
                      "Presse 1;04.03.2024 10:15;04.03.2024 12:15;Hydraulik\n"
                      "Presse 1;04.03.2024 13:00;04.03.2024 12:00;Uhr\n", encoding="utf-8")
    mapping = tmp_path / "alarme.yaml"
    mapping.write_text('table: downtime\n'
                       'columns: {Anlage: machine, Beginn: start_ts, Ende: end_ts, '
                       'Meldung: cause}\n'
                       'timestamp_format: "%d.%m.%Y %H:%M"\n'
                       'delimiter: ";"\n')
    report = ingest(source, "csv", store, mapping)
    assert report.counts("downtime").rows_loaded == 1
    assert rows(store, "SELECT source_line, reason FROM quarantine") == [
        (3, "Ende: end 2024-03-04 12:00:00 is before start 2024-03-04 13:00:00")]
    assert rows(store, "SELECT machine, CAST(start_ts AS VARCHAR), CAST(end_ts AS VARCHAR), "
                "cause FROM downtime") == [
        ("Presse 1", "2024-03-04 10:15:00", "2024-03-04 12:15:00", "Hydraulik")]


def test_a_version_1_store_is_read_and_the_next_ingest_upgrades_it(
        downtime_csv: Path, store: Path) -> None:
    ingest(BAD / "ops.csv", "csv", store, BAD / "mapping_ops.yaml")
    as_version_1(store)
    open_store(store).close()  # read as it is
    ingest(downtime_csv, "downtime", store)
    meta = dict(rows(store, "SELECT key, value FROM meta"))
    assert (meta["schema_version"], meta["upgraded_from"]) == (str(SCHEMA_VERSION), "1")
    assert rows(store, "SELECT count(*) FROM operations") == [(2,)]  # kept as they were
    assert rows(store, "SELECT count(*) FROM machine_outages") == [(3,)]
