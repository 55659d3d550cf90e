"""A plant's state at a moment, read from a store's ``snapshots`` table for a warm start.

The rows taken exactly at the moment asked for are one snapshot: of one named source, or of
every source (a snapshot may come in several files, stock from one system and orders from
another). Due times are hours from that moment, which is hour 0 of a run that starts from
it. See SCHEMA.md for the table and its quarantine rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from shocktwin.edge_replay._store_table import StoreTable, read_table
from shocktwin.edge_replay.schema import SnapshotKind, Table
from shocktwin.errors import Problem, ReplayError

__all__ = ["PlantSnapshot", "SnapshotItem", "plant_snapshot", "snapshot_time_text"]

#: How many of the nearest snapshot times a refusal lists.
_NEAREST = 3


@dataclass(frozen=True)
class SnapshotItem:
    """One row of a snapshot, with where it came from."""

    kind: SnapshotKind
    item: str
    quantity: int | None
    #: open_order: hours from the snapshot to its arrival; wip: to its order's due time
    #: (negative when already late).
    due_h: float | None
    product: str | None
    state: str | None
    source: str
    line: int


@dataclass(frozen=True)
class PlantSnapshot:
    """The rows of one snapshot in (source, line) order."""

    store: Path
    taken_at: datetime
    sources: tuple[str, ...]
    items: tuple[SnapshotItem, ...]


def snapshot_time_text(when: datetime) -> str:
    """``2012-03-01 06:00`` (seconds only where there are any), as a refusal quotes it."""
    spec = "minutes" if when.second == 0 and when.microsecond == 0 else "seconds"
    return when.isoformat(sep=" ", timespec=spec)


def plant_snapshot(store: str | Path, at: datetime, source: str | None = None
                   ) -> PlantSnapshot:
    """The snapshot of the plant taken at ``at`` (local plant time) in ``store``.

    ``source`` (the path recorded at ingest, or any unique suffix of it such as the file
    name) keeps the rows of that file only; without it the rows of every file taken at
    ``at`` are read together.

    Raises ReplayError when the store cannot be opened or holds no snapshots, the source is
    unknown or ambiguous, nothing was taken at ``at`` (naming the nearest times it holds),
    or two files give a stock or inspection item different values. A problem about the
    binding names ``store``, ``source`` or ``at`` as its ``path`` and the store as its file;
    one about a row names the row's file and line, with ``item`` as its path.
    """
    return read_table(store, Table.SNAPSHOTS, "snapshot",
                      lambda table: _read(table, at, source))


def _read(table: StoreTable, at: datetime, source: str | None) -> PlantSnapshot:
    con = table.con
    sources = [s for (s,) in con.execute(
        "SELECT DISTINCT source FROM snapshots ORDER BY source").fetchall()]
    chosen: list[str] = sources
    where = "in the snapshots table"
    if source is not None:
        chosen = [table.named_source(sources, source)]
        where = f"in {chosen[0]}"
    rows = con.execute(
        "SELECT kind, item, quantity, epoch(due_at - ?) / 3600.0, product, state, source, "
        "source_line FROM snapshots WHERE taken_at = ? AND list_contains(?, source) "
        "ORDER BY source, source_line", [at, at, chosen]).fetchall()
    if not rows:
        raise table.refuse("at", _nothing_at(con, at, chosen, where))
    items = tuple(SnapshotItem(SnapshotKind(kind), str(item),
                               None if quantity is None else int(quantity),
                               None if due_h is None else float(due_h),
                               product, state, str(src), int(line))
                  for kind, item, quantity, due_h, product, state, src, line in rows)
    _refuse_conflicts(items, at)
    return PlantSnapshot(table.path, at, tuple(dict.fromkeys(i.source for i in items)), items)


def _nothing_at(con: duckdb.DuckDBPyConnection, at: datetime, sources: list[str],
                where: str) -> str:
    """The refusal for a moment no snapshot was taken at: how many the store holds, over
    what period, and the nearest."""
    (n, first, last), = con.execute(
        "SELECT count(DISTINCT taken_at), min(taken_at), max(taken_at) FROM snapshots "
        "WHERE list_contains(?, source)", [sources]).fetchall()
    nearest = [t for t, _ in con.execute(
        "SELECT DISTINCT taken_at, abs(epoch(taken_at - ?)) AS gap FROM snapshots "
        "WHERE list_contains(?, source) ORDER BY gap, taken_at LIMIT ?",
        [at, sources, _NEAREST]).fetchall()]
    held = (f"the only one is at {snapshot_time_text(first)}" if n == 1 else
            f"{n} snapshots are held from {snapshot_time_text(first)} to "
            f"{snapshot_time_text(last)}; the nearest: "
            + ", ".join(snapshot_time_text(t) for t in sorted(nearest)))
    return f"no snapshot taken at {snapshot_time_text(at)} {where}; {held}"


def _refuse_conflicts(items: tuple[SnapshotItem, ...], at: datetime) -> None:
    """Refuse a stock or inspection item that two files give (within one file the ingest
    has quarantined the second row already)."""
    first: dict[tuple[SnapshotKind, str], SnapshotItem] = {}
    problems = []
    for row in items:
        if row.kind not in (SnapshotKind.STOCK, SnapshotKind.INSPECTION):
            continue
        seen = first.setdefault((row.kind, row.item), row)
        if seen is not row:
            problems.append(Problem(
                row.source, "item",
                f"{row.kind} of {row.item!r} at {snapshot_time_text(at)} is also given by "
                f"{seen.source} line {seen.line}; name one file as the source", row.line))
    if problems:
        raise ReplayError(problems, file=problems[0].file)
