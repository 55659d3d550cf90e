"""The measurements table: the plain ``measurements`` format (CSV and Parquet) and the mapping
route, its quarantine rules, refusals through the CLI, stores of schema versions 1 and 2
(before the table) read and upgraded, and the bundled Steel Plates data read as measurements
of a plate line."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import duckdb
import numpy as np
import pytest
from replay_testkit import (
    BAD,
    REPO_DATA,
    as_version,
    new_store,
    rows,
    write_measurements_csv,
)
from typer.testing import CliRunner

from shocktwin import cli
from shocktwin.edge_replay._formats import STEEL_CADENCE_MIN, STEEL_MEASURED
from shocktwin.edge_replay.ingest import ingest
from shocktwin.edge_replay.measurements import measured_characteristics, read_measurements
from shocktwin.edge_replay.schema import SCHEMA_VERSION, open_store
from shocktwin.errors import ReplayError

# The sample file, with what the ingest must do with each line:
# replay_testkit.MEASUREMENTS_CSV.

STEEL = REPO_DATA / "steel_plates_faults_uci" / "Faults.NNA"
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "steel_plate_measurements"


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return new_store(tmp_path)


@pytest.fixture
def measurements_csv(tmp_path: Path) -> Path:
    return write_measurements_csv(tmp_path)


def test_plain_log_quarantines_each_bad_row_with_line_and_reason(
        measurements_csv: Path, store: Path) -> None:
    report = ingest(measurements_csv, "measurements", store)
    counts = report.counts("measurements")
    assert (counts.rows_read, counts.rows_loaded, counts.rows_quarantined) == (14, 5, 9)
    assert rows(store, "SELECT source_line, reason FROM quarantine ORDER BY source_line") == [
        (5, "value: cannot read 'abc' as a number"),
        (6, "value: not a finite number: nan"),
        (7, "value: not a finite number: -inf"),
        (8, "time: missing value"),
        (9, "entity: missing value"),
        (10, "characteristic: missing value"),
        (11, "time: cannot read '04.03.2024 08:00' as an ISO 8601 timestamp"),
        (12, "(row): a second value of this characteristic for this entity at this time "
             "(first at line 2)"),
        (15, "value: missing value"),
    ]
    [raw] = rows(store, "SELECT raw FROM quarantine WHERE source_line = 5")
    assert json.loads(raw[0])["value"] == "abc"
    assert rows(store, "SELECT source_line, CAST(ts AS VARCHAR), entity_id, characteristic, "
                "value, station, supplier, lot FROM measurements ORDER BY source_line") == [
        (2, "2024-03-04 06:00:00", "W1", "film_thickness", 1.02, "coater 1", "acme", "L1"),
        (3, "2024-03-04 06:00:00", "W1", "sheet_resistance", 45.1, "probe", "acme", "L1"),
        (4, "2024-03-04 05:30:00", "W2", "film_thickness", 0.98, "coater 2", "bolt", "L2"),
        (13, "2024-03-04 08:30:00", "W10", "film_thickness", 1.01, "coater 2", None, None),
        (14, "2024-03-04 08:30:00", "W11", "film_thickness", 1.04, "coater 1", "acme", "L1"),
    ]
    assert (counts.period_start.isoformat(), counts.period_end.isoformat()) == (
        "2024-03-04T05:30:00", "2024-03-04T08:30:00")
    assert rows(store, "SELECT characteristic, n_values, n_entities, mean FROM "
                "measurement_stats ORDER BY characteristic") == [
        ("film_thickness", 4, 4, pytest.approx((1.02 + 0.98 + 1.01 + 1.04) / 4)),
        ("sheet_resistance", 1, 1, 45.1)]


def test_the_store_itself_refuses_a_value_that_is_not_finite(store: Path,
                                                             measurements_csv: Path) -> None:
    """The database's CHECK backs up the ingest's quarantine of NaN and infinite values."""
    ingest(measurements_csv, "measurements", store)
    con = duckdb.connect(str(store))
    try:
        with pytest.raises(duckdb.ConstraintException):
            con.execute("INSERT INTO measurements (source, source_line, ts, entity_id, "
                        "characteristic, value) VALUES ('x', 2, TIMESTAMP '2024-01-01', 'e', "
                        "'c', 'nan'::DOUBLE)").fetchall()
    finally:
        con.close()


def _write_parquet(path: Path, select: str) -> Path:
    con = duckdb.connect()
    try:
        con.execute(f"COPY ({select}) TO '{path}' (FORMAT parquet)").fetchall()
    finally:
        con.close()
    return path


def test_a_parquet_log_is_read_with_its_types_and_the_same_rules(tmp_path: Path,
                                                                store: Path) -> None:
    source = _write_parquet(tmp_path / "gauge.parquet", """
        SELECT * FROM (VALUES
            (TIMESTAMP '2024-03-04 06:00', 'W1', 'bore_mm', 12.01, 'cmm'),
            (TIMESTAMP '2024-03-04 06:05', 'W2', 'bore_mm', 'nan'::DOUBLE, 'cmm'),
            (NULL, 'W3', 'bore_mm', 12.0, 'cmm'),
            (TIMESTAMP '2024-03-04 06:00', 'W1', 'bore_mm', 12.02, 'cmm'),
            (TIMESTAMP '2024-03-04 06:10', 'W4', 'bore_mm', 11.98, NULL)
        ) AS t(time, entity, characteristic, value, station)""")
    counts = ingest(source, "measurements", store).counts("measurements")
    assert (counts.rows_read, counts.rows_loaded, counts.rows_quarantined) == (5, 2, 3)
    # Parquet rows are numbered from 1: the line of a Parquet row is its row number.
    assert rows(store, "SELECT source_line, reason FROM quarantine ORDER BY source_line") == [
        (2, "value: not a finite number: nan"),
        (3, "time: missing value"),
        (4, "(row): a second value of this characteristic for this entity at this time "
            "(first at line 1)"),
    ]
    assert rows(store, "SELECT entity_id, value, station FROM measurements "
                "ORDER BY source_line") == [("W1", 12.01, "cmm"), ("W4", 11.98, None)]


def test_a_parquet_log_without_a_value_column_is_refused(tmp_path: Path, store: Path) -> None:
    source = _write_parquet(tmp_path / "gauge.parquet", """
        SELECT TIMESTAMP '2024-03-04 06:00' AS time, 'W1' AS entity, 'bore_mm' AS characteristic,
               12.0 AS reading""")
    with pytest.raises(ReplayError) as caught:
        ingest(source, "measurements", store)
    [problem] = caught.value.problems
    assert (problem.path, problem.line) == ("value", None)  # a Parquet file has no header line
    assert problem.message == "missing column; the header has instead: reading"
    assert not store.exists()


def test_a_log_in_another_layout_goes_through_a_mapping_file(tmp_path: Path,
                                                            store: Path) -> None:
    source = tmp_path / "messwerte.csv"
    source.write_text("Zeit;Teil;Merkmal;Messwert;Lieferant\n"
                      "04.03.2024 06:00;T1;Schichtdicke;1.02;Acme\n"
                      "04.03.2024 06:10;T2;Schichtdicke;dick;Acme\n", encoding="utf-8")
    mapping = tmp_path / "messwerte.yaml"
    mapping.write_text("table: measurements\n"
                       "columns: {Zeit: ts, Teil: entity_id, Merkmal: characteristic, "
                       "Messwert: value, Lieferant: supplier}\n"
                       'timestamp_format: "%d.%m.%Y %H:%M"\n'
                       'delimiter: ";"\n')
    report = ingest(source, "csv", store, mapping)
    assert report.counts("measurements").rows_loaded == 1
    assert rows(store, "SELECT source_line, reason FROM quarantine") == [
        (3, "Messwert: cannot read 'dick' as a number")]
    assert rows(store, "SELECT CAST(ts AS VARCHAR), entity_id, characteristic, value, supplier "
                "FROM measurements") == [
        ("2024-03-04 06:00:00", "T1", "Schichtdicke", 1.02, "Acme")]


def test_a_mapping_must_fill_every_required_column(tmp_path: Path, store: Path) -> None:
    mapping = tmp_path / "m.yaml"
    mapping.write_text("table: measurements\ncolumns: {Zeit: ts, Teil: entity_id}\n")
    source = tmp_path / "m.csv"
    source.write_text("Zeit,Teil\n2024-03-04 06:00,T1\n")
    with pytest.raises(ReplayError) as caught:
        ingest(source, "csv", store, mapping)
    messages = {p.message for p in caught.value.problems}
    assert messages == {"required column 'characteristic' of measurements is not mapped",
                        "required column 'value' of measurements is not mapped"}


@pytest.mark.parametrize("version", [1, 2])
def test_an_older_store_is_read_and_the_next_ingest_upgrades_it(
        version: int, measurements_csv: Path, store: Path) -> None:
    ingest(BAD / "ops.csv", "csv", store, BAD / "mapping_ops.yaml")
    as_version(store, version)
    open_store(store).close()  # read as it is
    assert measured_characteristics(store) == {}
    with pytest.raises(ReplayError, match="holds no measurements table"):
        read_measurements(store, "film_thickness")
    ingest(measurements_csv, "measurements", store)
    meta = dict(rows(store, "SELECT key, value FROM meta"))
    assert (meta["schema_version"], meta["upgraded_from"]) == (str(SCHEMA_VERSION), str(version))
    assert rows(store, "SELECT count(*) FROM operations") == [(2,)]  # kept as they were
    assert measured_characteristics(store) == {"film_thickness": 4, "sheet_resistance": 1}
    assert rows(store, "SELECT count(*) FROM measurement_stats") == [(2,)]
    if version == 1:  # the tables version 2 added come too
        assert rows(store, "SELECT count(*) FROM downtime") == [(0,)]


# --- refusals through the CLI: exit code 2, every problem on its own line, no traceback ----

REFUSED = [
    ("measurements_only_bad_rows.csv",
     [":2: value: cannot read 'thick' as a number", ":3: value: not a finite number: inf",
      ":4: time: missing value", ": no row could be used; nothing was ingested"]),
    ("measurements_renamed_value.csv", [":1: value: missing column; the header has instead: "
                                        "reading"]),
    ("measurements_ragged.csv", [":3: characteristic: "]),
    ("4tu_header_only.csv", [f":1: {c}: missing column; the header has instead: Case ID"
                             for c in ("time", "entity", "characteristic", "value")]),
]


@pytest.mark.parametrize(("name", "expected"), REFUSED, ids=[r[0] for r in REFUSED])
def test_the_cli_refuses_an_unusable_file_and_leaves_the_store(
        name: str, expected: list[str], runner: CliRunner, measurements_csv: Path,
        store: Path) -> None:
    assert runner.invoke(cli.app, ["ingest", str(measurements_csv), "--format", "measurements",
                                   "--db", str(store)]).exit_code == 0
    before = store.read_bytes()
    result = runner.invoke(cli.app, ["ingest", str(BAD / name), "--format", "measurements",
                                     "--db", str(store)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = result.output.splitlines()
    for fragment in expected:
        assert any(f"{BAD / name}{fragment}" in line for line in lines), (fragment, lines)
    assert store.read_bytes() == before


def test_the_cli_refuses_a_file_with_only_a_header(runner: CliRunner, tmp_path: Path,
                                                   store: Path) -> None:
    source = tmp_path / "header_only.csv"
    source.write_text("time,entity,characteristic,value\n")
    result = runner.invoke(cli.app, ["ingest", str(source), "--format", "measurements",
                                     "--db", str(store)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert f"{source}: no data rows" in result.output
    assert not store.exists()


# --- the bundled Steel Plates data as measurements of a plate line --------------------------


def _steel_columns() -> dict[str, np.ndarray]:
    """Every column of the bundled file, read with the csv module alone."""
    names_text = (STEEL.with_name("Faults27x7_var")).read_text(encoding="utf-8")
    names = [n.strip() for n in names_text.replace("\r", "\n").split("\n") if n.strip()]
    with STEEL.open(encoding="utf-8", newline="") as f:
        records = [[field.strip('"') for field in record]
                   for record in csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)]
    table = np.array(records, dtype=float)
    assert table.shape == (1941, 34)
    return {name: table[:, i] for i, name in enumerate(names)}


def test_the_bundled_steel_plates_are_ingested_as_measurements(runner: CliRunner,
                                                               store: Path) -> None:
    result = runner.invoke(cli.app, ["ingest", str(STEEL), "--format",
                                     "steel-plates-measurements", "--db", str(store), "--json"])
    assert result.exit_code == 0, result.output
    [table] = json.loads(result.stdout)["tables"]
    n = len(STEEL_MEASURED)
    assert (table["table"], table["read"], table["loaded"], table["quarantined"]) == (
        "measurements", 1941 * n, 1941 * n, 0)
    assert measured_characteristics(store) == dict.fromkeys(sorted(STEEL_MEASURED), 1941)
    raw = _steel_columns()
    stats = dict(rows(store, "SELECT characteristic, mean FROM measurement_stats"))
    for name in STEEL_MEASURED:
        recorded = read_measurements(store, name)
        # One record every STEEL_CADENCE_MIN minutes from the first, in file order.
        assert recorded.count == 1941
        assert np.array_equal(recorded.times_h, np.arange(1941) * STEEL_CADENCE_MIN / 60)
        assert np.array_equal(recorded.values, raw[name]), name
        assert stats[name] == pytest.approx(raw[name].mean(), rel=1e-12)
    # The entity is the record's line, as in the features table, so the two join.
    assert rows(store, "SELECT entity_id, value FROM measurements "
                "WHERE characteristic = 'Pixels_Areas' ORDER BY source_line LIMIT 2") == [
        ("1", raw["Pixels_Areas"][0]), ("2", raw["Pixels_Areas"][1])]


def test_a_bad_steel_plates_value_is_quarantined_with_its_column(store: Path) -> None:
    counts = ingest(BAD / "steel_bad_rows.NNA", "steel-plates-measurements",
                    store).counts("measurements")
    n = len(STEEL_MEASURED)
    assert (counts.rows_read, counts.rows_loaded, counts.rows_quarantined) == (3 * n, 3 * n - 2, 2)
    assert rows(store, "SELECT source_line, raw, reason FROM quarantine ORDER BY raw") == [
        (3, '{"Pixels_Areas":"abc"}', "value: cannot read 'abc' as a number"),
        (3, '{"X_Perimeter":null}', "value: missing value"),
    ]


def test_the_example_names_its_columns_and_cadence() -> None:
    readme = (EXAMPLE / "README.md").read_text(encoding="utf-8")
    for name in STEEL_MEASURED:
        assert f"`{name}`" in readme, name
    assert f"one record every {STEEL_CADENCE_MIN} minutes" in readme
    assert "--format steel-plates-measurements" in readme
    assert "CC BY 4.0" in readme and "https://doi.org/10.24432/C5J88N" in readme
