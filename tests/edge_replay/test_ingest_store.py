"""Store-level guarantees of ingest: idempotent, atomic, versioned, and generic round trips."""

from __future__ import annotations

import csv
import importlib
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from replay_testkit import REPO_DATA, new_store, rows

from shocktwin.edge_replay.ingest import IngestReport, ingest
from shocktwin.edge_replay.mapping import SourceMapping
from shocktwin.edge_replay.schema import SCHEMA_VERSION, Table, open_store
from shocktwin.errors import ReplayError
from shocktwin.locks import lock_path


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return new_store(tmp_path)


_TABLE_COUNTS = (
    "SELECT (SELECT count(*) FROM work_orders), (SELECT count(*) FROM operations), "
    "(SELECT count(*) FROM inspections), (SELECT count(*) FROM supplier_deliveries), "
    "(SELECT count(*) FROM features), (SELECT count(*) FROM feature_sets), "
    "(SELECT count(*) FROM quarantine), (SELECT count(*) FROM ingests)"
)


@pytest.fixture
def secom() -> Path:
    return REPO_DATA / "secom_labels_uci" / "secom_labels.data"


@pytest.fixture
def scms() -> Path:
    return REPO_DATA / "scms_delivery_history" / "SCMS_Delivery_History_Dataset.csv"


def _leftovers(store: Path) -> list[str]:
    """Files beside the store other than the store and its lock file (which stays, reused)."""
    kept = {store.name, lock_path(store).name}
    return sorted(p.name for p in store.parent.iterdir() if p.name not in kept)


def test_ingesting_twice_replaces_rows(
    secom: Path, scms: Path, store: Path
) -> None:
    ingest(secom, "secom", store)
    first = ingest(scms, "scms", store)
    before = rows(store, _TABLE_COUNTS)
    again = ingest(scms, "scms", store)
    assert rows(store, _TABLE_COUNTS) == before
    assert not first.replaced_previous and again.replaced_previous
    assert again.tables == first.tables
    assert rows(store, "SELECT count(*) FROM ingests WHERE table_name = 'supplier_deliveries'") \
        == [(1,)]
    # The other source was left alone.
    assert rows(store, "SELECT count(*) FROM inspections") == [(1567,)]


def test_same_file_by_another_path_is_the_same_source(
    secom: Path, store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ingest(secom, "secom", store)
    monkeypatch.chdir(secom.parent)
    ingest(Path("..") / secom.parent.name / secom.name, "secom", store)
    assert rows(store, "SELECT count(*), count(DISTINCT source) FROM inspections") == [(1567, 1)]


@pytest.mark.parametrize(
    ("target", "exception"),
    [
        ("shocktwin.edge_replay.ingest._record_ingest", RuntimeError),
        ("shocktwin.edge_replay.ingest.write_plan", KeyboardInterrupt),
        ("shocktwin.files._fsync_path", OSError),
    ],
)
def test_failed_ingest_leaves_the_previous_store_intact(
    secom: Path,
    scms: Path,
    store: Path,
    monkeypatch: pytest.MonkeyPatch,
    target: str,
    exception: type[BaseException],
) -> None:
    ingest(secom, "secom", store)
    before = store.read_bytes()
    module_name, name = target.rsplit(".", 1)
    # By module object: the package exports a function named like its ingest module.
    module = importlib.import_module(module_name)
    real = getattr(module, name)

    def fail(*args: object, **kwargs: object) -> object:
        real(*args, **kwargs)  # do the step's work, then die part-way through the ingest
        raise exception("simulated failure")

    monkeypatch.setattr(module, name, fail)
    with pytest.raises((exception, ReplayError)):
        ingest(scms, "scms", store)
    assert store.read_bytes() == before
    assert _leftovers(store) == []


@pytest.mark.parametrize("step", ["_append", "_settle"])
def test_failed_typed_csv_ingest_leaves_the_previous_store_intact(
    secom: Path, store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    """Killed after the typed read's pass (appended, or settled and committed), the store is
    the one before."""
    source = tmp_path / "ops.csv"
    source.write_text(
        "order,step,start,end,good\n"
        "A,Saw,2024-01-01 06:00,2024-01-01 07:00,3\n"
        "A,Saw,2024-01-01 06:00,2024-01-01 07:00,3\n"
        "B,Saw,2024-01-01 08:00,2024-01-01 07:00,-1\n",
        encoding="utf-8",
    )
    mapping = SourceMapping(table="operations", columns={
        "order": "case_id", "step": "activity", "start": "start_ts", "end": "end_ts",
        "good": "qty_completed"})
    ingest(secom, "secom", store)
    before = store.read_bytes()
    module = importlib.import_module("shocktwin.edge_replay._direct")
    real = getattr(module, step)

    def fail(*args: object, **kwargs: object) -> object:
        real(*args, **kwargs)
        raise KeyboardInterrupt("simulated failure")

    monkeypatch.setattr(module, step, fail)
    with pytest.raises(KeyboardInterrupt):
        ingest(source, "csv", store, mapping)
    assert store.read_bytes() == before
    assert _leftovers(store) == []
    monkeypatch.undo()
    report = ingest(source, "csv", store, mapping)
    assert (report.rows_loaded, report.rows_quarantined) == (1, 2)


def test_failed_first_ingest_leaves_no_store(
    secom: Path, store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*args: object, **kwargs: object) -> object:
        raise RuntimeError("simulated crash")

    monkeypatch.setattr(importlib.import_module("shocktwin.edge_replay.ingest"), "_record_ingest",
                        fail)
    with pytest.raises(RuntimeError):
        ingest(secom, "secom", store)
    assert not store.exists()
    assert _leftovers(store) == []


def test_other_schema_version_is_refused(secom: Path, scms: Path, store: Path) -> None:
    ingest(secom, "secom", store)
    con = open_store(store, read_only=False)
    con.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'").fetchall()
    con.close()
    before = store.read_bytes()
    with pytest.raises(ReplayError, match=f"schema version 99, this shocktwin reads version "
                                          f"{SCHEMA_VERSION}"):
        ingest(scms, "scms", store)
    with pytest.raises(ReplayError, match="schema version 99"):
        open_store(store)
    assert store.read_bytes() == before
    assert _leftovers(store) == []


def test_duckdb_file_that_is_not_a_store_is_refused(secom: Path, store: Path) -> None:
    con = duckdb.connect(str(store))
    con.execute("CREATE TABLE something_else (x INTEGER)").fetchall()
    con.close()
    with pytest.raises(ReplayError, match="not a shocktwin store"):
        ingest(secom, "secom", store)


def test_file_that_is_not_duckdb_is_refused(secom: Path, store: Path) -> None:
    store.write_text("order,step\n")
    with pytest.raises(ReplayError, match="not a DuckDB store"):
        ingest(secom, "secom", store)
    assert store.read_text() == "order,step\n"
    assert _leftovers(store) == []


def test_store_with_a_live_log_is_refused(secom: Path, store: Path) -> None:
    ingest(secom, "secom", store)
    store.with_name(store.name + ".wal").write_bytes(b"")
    with pytest.raises(ReplayError, match="another process has the store open"):
        ingest(secom, "secom", store)


def test_report_matches_ingests_table(secom: Path, store: Path) -> None:
    report = ingest(secom, "secom", store)
    assert isinstance(report, IngestReport)
    [row] = rows(
        store,
        "SELECT source, table_name, format, sha256, size_bytes, rows_read, rows_loaded, "
        "rows_quarantined, period_start, period_end FROM ingests",
    )
    counts = report.counts(Table.INSPECTIONS)
    assert row == (
        str(secom.resolve()), "inspections", "secom", report.sha256, 42205, counts.rows_read,
        counts.rows_loaded, counts.rows_quarantined, counts.period_start, counts.period_end,
    )
    assert report.sha256 == "c9255e9c997a716d60c07cb1111ea6f0e97e5c441c4deeb2c95ea2525231edb1"
    assert report.ingested_at_utc.utcoffset() == timedelta(0)


# --- generic CSV / Parquet --------------------------------------------------------------------

_OPS_MAPPING = """\
table: operations
delimiter: ";"
timestamp_format: "%d.%m.%Y %H:%M"
columns:
  Order: case_id
  Step: activity
  Machine: resource
  Began: start_ts
  Ended: end_ts
  Good: qty_completed
  Scrap: qty_rejected
  Hold: qty_review
  Redo: rework
  Who: operator
"""

_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zs", "Zl", "Zp")),
    min_size=1,
    max_size=12,
)
_minute = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2030, 1, 1)).map(
    lambda t: t.replace(second=0, microsecond=0)
)
_operation = st.fixed_dictionaries(
    {
        "case_id": _text,
        "activity": _text,
        "resource": _text,
        "start_ts": _minute,
        "duration": st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=30)),
        "qty_completed": st.integers(0, 10**9),
        "qty_rejected": st.integers(0, 10**6),
        "qty_review": st.integers(0, 10**6),
        "rework": st.booleans(),
        "operator": st.none() | _text,
    }
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=st.lists(_operation, min_size=1, max_size=20, unique_by=lambda r: r["case_id"]))
def test_generic_csv_round_trips_into_operations(
    tmp_path: Path, ops: list[dict[str, Any]]
) -> None:
    folder = Path(tempfile.mkdtemp(dir=tmp_path))  # tmp_path is shared by all examples
    source, mapping, store = folder / "ops.csv", folder / "ops.yaml", folder / "s.duckdb"
    mapping.write_text(_OPS_MAPPING)
    with source.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, delimiter=";")
        w.writerow(["Order", "Step", "Machine", "Began", "Ended", "Good", "Scrap", "Hold",
                    "Redo", "Who", "Unused"])
        for r in ops:
            end = (r["start_ts"] + r["duration"]).replace(second=0, microsecond=0)
            w.writerow([r["case_id"], r["activity"], r["resource"],
                        r["start_ts"].strftime("%d.%m.%Y %H:%M"), end.strftime("%d.%m.%Y %H:%M"),
                        r["qty_completed"], r["qty_rejected"], r["qty_review"],
                        "yes" if r["rework"] else "no", r["operator"] or "", "x"])
    report = ingest(source, "csv", store, mapping)
    assert report.counts(Table.OPERATIONS).rows_loaded == len(ops)
    got = rows(
        store,
        "SELECT case_id, activity, resource, start_ts, end_ts, qty_completed, qty_rejected, "
        "qty_review, rework, operator, source_line FROM operations ORDER BY source_line",
    )
    expected = [
        (r["case_id"], r["activity"], r["resource"], r["start_ts"],
         (r["start_ts"] + r["duration"]).replace(second=0, microsecond=0), r["qty_completed"],
         r["qty_rejected"], r["qty_review"], r["rework"], r["operator"], i + 2)
        for i, r in enumerate(ops)
    ]
    assert got == expected


def test_generic_parquet_into_inspections(tmp_path: Path, store: Path) -> None:
    source = tmp_path / "inspections.parquet"
    table = pa.table(
        {
            "part": ["P1", "P2", "P3", "P2"],
            "checked": pa.array(
                [datetime(2024, 5, 1, 8), datetime(2024, 5, 1, 9), None,
                 datetime(2024, 5, 1, 10)],
                pa.timestamp("us"),
            ),
            "verdict": ["OK", "NOK", "OK", "OK"],
            "bore_mm": [10.01, 10.07, 9.99, 10.0],
        }
    )
    pq.write_table(table, source)
    mapping = SourceMapping(
        table=Table.INSPECTIONS,
        columns={"part": "entity_id", "checked": "ts", "verdict": "result",
                 "bore_mm": "measured_value"},
        result_values={"OK": "pass", "NOK": "fail"},  # type: ignore[dict-item]
    )
    report = ingest(source, "parquet", store, mapping)
    counts = report.counts(Table.INSPECTIONS)
    assert (counts.rows_read, counts.rows_loaded, counts.rows_quarantined) == (4, 2, 2)
    assert rows(store, "SELECT entity_id, ts, result, measured_value FROM inspections") == [
        ("P1", datetime(2024, 5, 1, 8), "pass", 10.01),
        ("P2", datetime(2024, 5, 1, 9), "fail", 10.07),
    ]
    assert rows(store, "SELECT source_line, reason FROM quarantine ORDER BY 1") == [
        (3, "checked: missing value"),
        (4, "part: duplicate entity_id/characteristic (first at line 2)"),
    ]


def test_generic_csv_into_features(tmp_path: Path, store: Path) -> None:
    source, mapping = tmp_path / "f.csv", tmp_path / "f.yaml"
    source.write_text("id,kind,a,b\n1,good,0.5,1\n2,bad,1.5,nan\n3,bad,2.5,3\n")
    mapping.write_text("table: features\ncolumns: {id: entity_id, kind: label}\n"
                       "feature_columns: [a, b]\n")
    report = ingest(source, "csv", store, mapping)
    assert report.counts(Table.FEATURES).rows_quarantined == 1
    assert rows(store, "SELECT entity_id, label, feature_vector FROM features") == [
        ("1", "good", [0.5, 1.0]), ("3", "bad", [2.5, 3.0])
    ]
    assert rows(store, "SELECT feature_names, label_names FROM feature_sets") == [
        (["a", "b"], ["bad", "good"])
    ]
    assert rows(store, "SELECT reason FROM quarantine") == [("b: not a finite number: nan",)]


def test_stage_tables_are_not_kept(secom: Path, store: Path) -> None:
    ingest(secom, "secom", store)
    names = {n for (n,) in rows(store, "SELECT table_name FROM duckdb_tables()")}
    assert names == {t.value for t in Table}
    assert not any(name.startswith("__") for name in names)
    from shocktwin.edge_replay import _stage

    assert _stage.LINE.startswith("__")
