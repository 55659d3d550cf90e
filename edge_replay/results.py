"""Results store: writes a run's journal and KPI tables under an output folder.

Tables go to one DuckDB file (``results.duckdb``) or to Parquet files, written through
DuckDB from Arrow tables in bulk. Every file is written beside its final name and renamed
into place (``shocktwin.files.write_atomic``), so a failed write never leaves a half-written
result; a new file gets the caller's umask, a replaced one keeps its mode.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from enum import StrEnum
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from shocktwin.errors import SimulationError
from shocktwin.files import write_atomic

__all__ = ["ResultsFormat", "check_results_folder", "write_results"]

Columns = Mapping[str, np.ndarray | list[object]]


class ResultsFormat(StrEnum):
    DUCKDB = "duckdb"
    PARQUET = "parquet"


def check_results_folder(out_dir: str | Path, *, replace: bool = False) -> None:
    """Refuse an output folder that already holds something, unless told to replace it, so
    an earlier result is never overwritten by mistake (checked before a run starts)."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise SimulationError("is a file, not a folder for results", file=str(out))
    if not replace and out.is_dir() and any(out.iterdir()):
        raise SimulationError("the folder is not empty (it may hold an earlier result); give "
                              "--force to replace what is there, or another folder",
                              file=str(out))


def write_results(out_dir: str | Path, journal_json: str, tables: Mapping[str, Columns],
                  fmt: ResultsFormat | str = ResultsFormat.DUCKDB, *,
                  replace: bool = False) -> list[Path]:
    """Write ``journal.json`` and the tables; returns the paths written. A folder that
    already holds something is refused unless ``replace``."""
    out = Path(out_dir)
    check_results_folder(out, replace=replace)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise SimulationError(f"cannot create output folder: {e.strerror}", file=str(out)) from e
    arrow = {name: pa.table({k: pa.array(v) for k, v in cols.items()})
             for name, cols in tables.items()}
    written: list[Path] = []
    fmt = ResultsFormat(fmt)

    def write(target: Path, content: str | Callable[[Path], None]) -> None:
        written.append(write_atomic(target, content, error=SimulationError, what="results"))

    try:
        if fmt is ResultsFormat.DUCKDB:
            write(out / "results.duckdb", lambda tmp: _to_duckdb(tmp, arrow))
        else:
            for name, table in arrow.items():
                write(out / f"{name}.parquet", functools.partial(_to_parquet, table=table))
        write(out / "journal.json", journal_json)
        if replace:  # the other format's tables of an earlier result would not verify
            stale = ([out / f"{name}.parquet" for name in arrow] if fmt is ResultsFormat.DUCKDB
                     else [out / "results.duckdb", out / "results.duckdb.wal"])
            for path in stale:
                path.unlink(missing_ok=True)
    except duckdb.Error as e:
        raise SimulationError(f"cannot write results: {e}", file=str(out)) from e
    except OSError as e:
        raise SimulationError(f"cannot write results: {e.strerror or e}", file=str(out)) from e
    return written


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
