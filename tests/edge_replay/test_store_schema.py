"""The store schema: versioning, the documented columns, and the views."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from shocktwin.edge_replay import schema
from shocktwin.edge_replay.schema import (
    SCHEMA_VERSION,
    TABLES,
    VIEWS,
    Table,
    check_schema,
    create_schema,
    open_store,
    prepare_store,
)
from shocktwin.errors import ReplayError

SCHEMA_MD = Path(schema.__file__).with_name("SCHEMA.md")


@pytest.fixture
def memory() -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect()
    yield con
    con.close()


def test_new_store_records_its_version(memory: duckdb.DuckDBPyConnection) -> None:
    assert prepare_store(memory) is True
    assert memory.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall() == [
        (str(SCHEMA_VERSION),)
    ]
    check_schema(memory)
    assert prepare_store(memory) is False


def test_created_columns_match_the_specification(memory: duckdb.DuckDBPyConnection) -> None:
    create_schema(memory)
    for table, spec in TABLES.items():
        got = memory.execute(
            "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = ? "
            "ORDER BY column_index",
            [str(table)],
        ).fetchall()
        assert got == [(c.name, c.sql_type) for c in spec.columns]


def test_views_run_on_an_empty_store(memory: duckdb.DuckDBPyConnection) -> None:
    create_schema(memory)
    for view in VIEWS:
        assert memory.execute(f'SELECT count(*) FROM "{view}"').fetchall() == [(0,)]


def test_schema_md_documents_every_table_and_column() -> None:
    text = SCHEMA_MD.read_text(encoding="utf-8")
    assert f"# Store schema (version {SCHEMA_VERSION})" in text
    sections = re.split(r"^### ", text, flags=re.MULTILINE)
    by_table = {s.split("\n", 1)[0].strip("` "): s for s in sections[1:]}
    assert set(by_table) == {str(t) for t in Table}
    for table, spec in TABLES.items():
        for col in spec.columns:
            assert f"| `{col.name}` | `{col.sql_type}` |" in by_table[str(table)], col.name
    for view in VIEWS:
        assert f"`{view}`" in text


def test_every_column_has_a_docstring() -> None:
    for spec in TABLES.values():
        assert spec.doc
        assert all(c.doc.strip() for c in spec.columns), spec.table


def test_open_store_refuses_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ReplayError, match="store file does not exist"):
        open_store(tmp_path / "nothing.duckdb")


def test_open_store_refuses_a_non_duckdb_file(tmp_path: Path) -> None:
    path = tmp_path / "store.duckdb"
    path.write_text("not a database")
    with pytest.raises(ReplayError, match="cannot open as a DuckDB store"):
        open_store(path)


def test_check_schema_refuses_another_version(memory: duckdb.DuckDBPyConnection) -> None:
    create_schema(memory)
    memory.execute("UPDATE meta SET value = '0' WHERE key = 'schema_version'").fetchall()
    with pytest.raises(ReplayError) as caught:
        check_schema(memory, file="plant.duckdb")
    [problem] = caught.value.problems
    assert problem.file == "plant.duckdb" and problem.path == "meta.schema_version"
    assert "schema version 0" in problem.message


def test_database_rules_back_up_the_ingest(memory: duckdb.DuckDBPyConnection) -> None:
    """The CHECK and NOT NULL constraints catch a row that skipped the ingest's checks."""
    create_schema(memory)
    with pytest.raises(duckdb.ConstraintException):
        memory.execute(
            "INSERT INTO inspections (source, source_line, entity_id, ts, result) "
            "VALUES ('x', 1, 'e', TIMESTAMP '2020-01-01', 'maybe')"
        ).fetchall()
    with pytest.raises(duckdb.ConstraintException):
        memory.execute(
            "INSERT INTO operations (source, source_line, case_id, activity, start_ts, end_ts, "
            "qty_completed) VALUES ('x', 1, 'c', 'a', TIMESTAMP '2020-01-01', "
            "TIMESTAMP '2020-01-01', -1)"
        ).fetchall()
