"""Reading a results folder's tables back: ``results.duckdb`` or ``NAME.parquet`` files.

The one reader behind ``verify`` and ``report``: columns come back through Arrow, numeric and
boolean ones as numpy arrays, the others as lists, so the values are the ones the run's table
digests were computed over.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from shocktwin.edge_replay._sql import duckdb_path, file_lit
from shocktwin.errors import Problem, ReplayError

__all__ = ["RESULTS_DB", "TableColumns", "read_duckdb_tables", "read_parquet_tables"]

#: The DuckDB file a results folder keeps its tables in (``--format duckdb``).
RESULTS_DB = "results.duckdb"

TableColumns = dict[str, Any]


def read_duckdb_tables(db: Path, names: Iterable[str], *,
                       order: Mapping[str, str] | None = None) -> dict[str, TableColumns]:
    """The tables of ``names`` that ``db`` holds (missing ones are left out), each optionally
    sorted by ``order[name]`` (an ORDER BY list of its columns)."""
    order = order or {}
    try:
        con = duckdb.connect(duckdb_path(db), read_only=True)
    except duckdb.Error as e:
        raise _unreadable(db, f"{db.name} cannot be read", e) from None
    try:
        present = {r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables").fetchall()}
        return {n: _columns(con, f'SELECT * FROM "{n}"{_order_by(order.get(n))}')
                for n in names if n in present}
    except duckdb.Error as e:
        raise _unreadable(db, f"{db.name} cannot be read", e) from None
    finally:
        con.close()


def read_parquet_tables(files: Mapping[str, Path], *,
                        order: Mapping[str, str] | None = None) -> dict[str, TableColumns]:
    """The tables of the Parquet ``files`` (name -> path) that exist."""
    order = order or {}
    con = duckdb.connect()
    out: dict[str, TableColumns] = {}
    try:
        for name, path in files.items():
            if not path.is_file():
                continue
            try:
                # file_lit: a results folder named like a glob (run[1]) must not read run1.
                out[name] = _columns(con, f"SELECT * FROM read_parquet({file_lit(path)})"
                                          f"{_order_by(order.get(name))}")
            except duckdb.Error as e:
                raise _unreadable(path, "cannot be read as Parquet", e) from None
    finally:
        con.close()
    return out


def _order_by(columns: str | None) -> str:
    return f" ORDER BY {columns}" if columns else ""


def _columns(con: Any, sql: str) -> TableColumns:
    table = con.sql(sql).to_arrow_table()
    out: TableColumns = {}
    for name, column in zip(table.column_names, table.columns, strict=True):
        kind = column.type
        if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind):
            out[name] = column.to_numpy()
        else:
            out[name] = column.to_pylist()
    return out


def _unreadable(path: Path, what: str, e: BaseException) -> ReplayError:
    text = str(e).strip()
    first = text.splitlines()[0] if text else type(e).__name__
    return ReplayError([Problem(str(path), "", f"{what}: {first}")], file=str(path))
