"""Results store: writes a run's journal and KPI tables under an output folder.

Tables go to one DuckDB file (``results.duckdb``) or to Parquet files, written through
DuckDB from Arrow tables in bulk. The folder changes as a whole: everything is written into
a new folder beside it, which then takes its place in one step
(``shocktwin.files.write_folder_atomic``), so a run killed at any moment leaves the earlier
result or the new one, never new tables beside an old journal. A writer holds the folder's
lock (``shocktwin.locks``) from the check before the run to the swap after it, so a second
command writing the same folder is refused instead of mixing its files in.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from enum import StrEnum
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from shocktwin.edge_replay._sql import duckdb_path, lit
from shocktwin.errors import SimulationError
from shocktwin.files import write_folder_atomic
from shocktwin.locks import locked

__all__ = ["RESULT_FILES", "ResultsClaim", "ResultsFormat", "check_results_folder",
           "claim_results_folder", "write_results"]

Columns = Mapping[str, np.ndarray | list[object]]


class ResultsFormat(StrEnum):
    DUCKDB = "duckdb"
    PARQUET = "parquet"


#: Every name shocktwin writes into a results folder (runs, searches, optimisations, gates).
#: ``--force`` replaces a folder that holds only these; anything else in it is not ours to
#: delete.
RESULT_FILES = frozenset({
    "journal.json", "results.duckdb", "results.duckdb.wal", "replications.parquet",
    "series.parquet", "stations.parquet", "mtd.json", "pareto.json", "stress.json",
    "runs.jsonl"})


def check_results_folder(out_dir: str | Path, *, replace: bool = False) -> None:
    """Refuse an output folder that already holds something, unless told to replace it, so
    an earlier result is never overwritten by mistake (checked before a run starts); a
    folder that holds files shocktwin did not write is refused even then."""
    out = Path(out_dir)
    duckdb_path(out, SimulationError)  # before a run, not after it
    if out.is_symlink():
        raise SimulationError("is a symbolic link; a results folder is replaced as a whole, "
                              "so give the folder itself", file=str(out))
    if out.name in ("", ".", "..") or (out.exists() and os.path.ismount(out)):
        raise SimulationError("a results folder is replaced as a whole; give a folder of its "
                              "own by name (not '.', '..' or a mount point)", file=str(out))
    if out.exists() and not out.is_dir():
        raise SimulationError("is a file, not a folder for results", file=str(out))
    try:
        held = sorted(p.name for p in out.iterdir()) if out.is_dir() else []
    except OSError as e:
        raise SimulationError(f"cannot read the folder: {e.strerror}", file=str(out)) from None
    if held and not replace:
        raise SimulationError("the folder is not empty (it may hold an earlier result); give "
                              "--force to replace what is there, or another folder",
                              file=str(out))
    foreign = [name for name in held if name not in RESULT_FILES]
    if foreign:
        shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5
                                          else "")
        raise SimulationError(f"the folder holds files that are not shocktwin results "
                              f"({shown}); --force replaces a results folder as a whole, so "
                              "choose a folder of its own", file=str(out))


class ResultsClaim:
    """A results folder this process holds the lock of, checked and ready to be written."""

    def __init__(self, out: Path, *, replace: bool) -> None:
        self.out = out
        self.replace = replace

    def write(self, journal_json: str, tables: Mapping[str, Columns],
              fmt: ResultsFormat | str = ResultsFormat.DUCKDB) -> list[Path]:
        """Write ``journal.json`` and the tables as one new folder in place of the claimed
        one; returns the paths written."""
        fmt = ResultsFormat(fmt)
        arrow = {name: pa.table({k: pa.array(v) for k, v in cols.items()})
                 for name, cols in tables.items()}

        def fill(folder: Path) -> list[str]:
            names: list[str] = []
            if fmt is ResultsFormat.DUCKDB:
                _to_duckdb(folder / "results.duckdb", arrow)
                names.append("results.duckdb")
            else:
                for name, table in arrow.items():
                    _to_parquet(folder / f"{name}.parquet", table)
                    names.append(f"{name}.parquet")
            (folder / "journal.json").write_text(journal_json, encoding="utf-8")
            return [*names, "journal.json"]

        check_results_folder(self.out, replace=self.replace)  # it may have changed since
        try:
            names = write_folder_atomic(self.out, fill, error=SimulationError, what="results")
        except duckdb.Error as e:
            raise SimulationError(f"cannot write results: {e}", file=str(self.out)) from e
        return [self.out / name for name in names]


@contextlib.contextmanager
def claim_results_folder(out_dir: str | Path, *, replace: bool = False
                         ) -> Iterator[ResultsClaim]:
    """Hold ``out_dir``'s lock for the ``with`` block, after checking it may be written (a
    folder another command is writing is refused)."""
    out = Path(out_dir)
    with locked(out, what="results folder", error=SimulationError):
        check_results_folder(out, replace=replace)
        yield ResultsClaim(out, replace=replace)


def write_results(out_dir: str | Path, journal_json: str, tables: Mapping[str, Columns],
                  fmt: ResultsFormat | str = ResultsFormat.DUCKDB, *,
                  replace: bool = False) -> list[Path]:
    """Claim ``out_dir`` and write ``journal.json`` and the tables in its place."""
    with claim_results_folder(out_dir, replace=replace) as claim:
        return claim.write(journal_json, tables, fmt)


def _to_duckdb(path: Path, tables: Mapping[str, pa.Table]) -> None:
    con = duckdb.connect(duckdb_path(path, SimulationError))
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
        con.execute(f"COPY _src TO {lit(duckdb_path(path, SimulationError))} (FORMAT parquet)")
    finally:
        con.close()
