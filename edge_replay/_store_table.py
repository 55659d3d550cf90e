"""One table of a store opened for a reader: the store opened, the table found to hold rows
and the ingested file a reader names chosen, with the same refusals for every table."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import duckdb

from shocktwin.edge_replay._sql import first_line
from shocktwin.edge_replay.schema import Table, open_store
from shocktwin.errors import Problem, ReplayError, close_names

__all__ = ["StoreTable", "not_held", "read_table"]

T = TypeVar("T")

#: The most names a refusal lists.
_MAX_LISTED = 20


@dataclass(frozen=True)
class StoreTable:
    """A table of an open store that holds rows; the connection is open while it is read."""

    con: duckdb.DuckDBPyConnection
    path: Path
    table: Table

    @property
    def file(self) -> str:
        return str(self.path)

    def refuse(self, what: str, message: str) -> ReplayError:
        """A refusal about the binding (``what``: store, source, machine, …) of this store."""
        return ReplayError([Problem(self.file, what, message)], file=self.file)

    def named_source(self, sources: Sequence[str], source: str) -> str:
        """The one of ``sources`` that ``source`` names: the path recorded at ingest, or any
        unique suffix of it such as the file name. Refuses a name that matches none or
        several."""
        named = [s for s in sources if s == source or s.endswith("/" + source.lstrip("/"))]
        if len(named) != 1:
            what = "no" if not named else "more than one"
            raise self.refuse("source", f"{what} file ingested into the {self.table} table "
                              f"matches {source!r}; files: " + ", ".join(sources))
        return named[0]


def not_held(what: str, name: str, known: Sequence[str], where: str,
             plural: str | None = None) -> str:
    """The refusal of a ``name`` the store does not hold, with the nearest it does: ``no
    machine 'Press' in the downtime table; did you mean 'press'? (machines: lathe, press)``.
    ``known`` is listed in its order, the first 20 of it."""
    message = f"no {what} {name!r} {where}"
    close = close_names(name, known)
    if close:
        message += f"; did you mean {' or '.join(map(repr, close))}?"
    listed = ", ".join(known[:_MAX_LISTED])
    more = f", … ({len(known)} in all)" if len(known) > _MAX_LISTED else ""
    return f"{message} ({plural or what + 's'}: {listed}{more})"


def read_table(store: str | Path, table: Table, ingest_format: str,
               read: Callable[[StoreTable], T]) -> T:
    """``read`` applied to ``table`` of ``store``, the connection closed after.

    Raises ReplayError when the store cannot be opened, the table is missing or empty (saying
    how to ingest one with ``--format ingest_format``) or DuckDB fails to read it.
    """
    path = Path(store).resolve()
    file = str(path)
    con = open_store(path)
    try:
        found = StoreTable(con, path, table)
        (has_table,), = con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name = ? AND NOT temporary",
            [str(table)]).fetchall()
        if not has_table or not con.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchall():
            raise found.refuse("store", f"the store {path.name} holds no {table} table; ingest "
                               f"one first (shocktwin ingest FILE --format {ingest_format} "
                               f"--db {file})")
        return read(found)
    except duckdb.Error as e:
        raise ReplayError([Problem(file, "store", f"cannot read the {table}: {first_line(e)}")],
                          file=file) from e
    finally:
        con.close()
