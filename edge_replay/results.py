"""Results store: writes a run's journal and KPI tables under an output folder.

Tables go to one DuckDB file (``results.duckdb``) or to Parquet files, written through
DuckDB from Arrow tables in bulk. Every file is written beside its final name and renamed
into place, so a failed write never leaves a half-written result.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from shocktwin.errors import SimulationError

__all__ = ["ResultsFormat", "write_results"]

Columns = Mapping[str, np.ndarray | list[object]]


class ResultsFormat(StrEnum):
    DUCKDB = "duckdb"
    PARQUET = "parquet"


def write_results(out_dir: str | Path, journal_json: str, tables: Mapping[str, Columns],
                  fmt: ResultsFormat | str = ResultsFormat.DUCKDB) -> list[Path]:
    """Write ``journal.json`` and the tables; returns the paths written."""
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise SimulationError(f"cannot create output folder: {e.strerror}", file=str(out)) from e
    arrow = {name: pa.table({k: pa.array(v) for k, v in cols.items()})
             for name, cols in tables.items()}
    written: list[Path] = []
    fmt = ResultsFormat(fmt)
    try:
        if fmt is ResultsFormat.DUCKDB:
            written.append(_atomic(out / "results.duckdb", lambda tmp: _to_duckdb(tmp, arrow)))
        else:
            for name, table in arrow.items():
                written.append(_atomic(out / f"{name}.parquet",
                                       lambda tmp, t=table: _to_parquet(tmp, t)))
        written.append(_atomic(out / "journal.json",
                               lambda tmp: tmp.write_text(journal_json, encoding="utf-8")))
    except (OSError, duckdb.Error) as e:
        raise SimulationError(f"cannot write results: {e}", file=str(out)) from e
    return written


def _atomic(target: Path, write) -> Path:  # type: ignore[no-untyped-def]
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        tmp.unlink()  # DuckDB wants to create its file itself
        write(tmp)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        Path(str(tmp) + ".wal").unlink(missing_ok=True)
        raise
    return target


def _to_duckdb(path: Path, tables: Mapping[str, pa.Table]) -> None:
    con = duckdb.connect(str(path))
    try:
        for name, table in tables.items():
            con.register("_src", table)
            con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM _src')
            con.unregister("_src")
        con.execute("CHECKPOINT")
    finally:
        con.close()


def _to_parquet(path: Path, table: pa.Table) -> None:
    con = duckdb.connect()
    try:
        con.register("_src", table)
        con.execute(f"COPY _src TO '{_sql_path(path)}' (FORMAT parquet)")
    finally:
        con.close()


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")
