"""Recorded values of one measured characteristic, read from a store's ``measurements`` table
for a characteristic of the twin to replay.

The values of every ingested file are read together, in recorded order: by time, then in the
order they were ingested (the file ingested first, then its line). Times are hours from the
first value read, which is hour 0. See SCHEMA.md for the table and its quarantine rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np

from shocktwin.edge_replay._sql import first_line
from shocktwin.edge_replay._store_table import StoreTable, not_held, read_table
from shocktwin.edge_replay.schema import Table, open_store
from shocktwin.errors import Problem, ReplayError

__all__ = ["RecordedMeasurements", "measured_characteristics", "read_measurements"]

#: The filters a reader may set, by the store column each one matches.
_FILTERS = {"entity": "entity_id", "supplier": "supplier", "station": "station"}
#: How many values held twice a refusal quotes.
_MAX_QUOTED = 5
#: Microseconds in an hour: the store's timestamps are read as microseconds.
_US_PER_H = 3_600_000_000


@dataclass(frozen=True)
class RecordedMeasurements:
    """The recorded values of one characteristic in recorded order (time, then ingest order).

    The arrays are read-only.
    """

    store: Path
    characteristic: str
    #: When the first value was measured (local plant time): hour 0.
    origin: datetime
    #: When each value was measured, hours from ``origin``; never decreasing.
    times_h: np.ndarray
    #: The values, in the characteristic's unit.
    values: np.ndarray

    @property
    def count(self) -> int:
        """How many values were read."""
        return int(self.values.size)


def read_measurements(store: str | Path, characteristic: str, *, entity: str | None = None,
                      supplier: str | None = None, station: str | None = None
                      ) -> RecordedMeasurements:
    """The recorded values of ``characteristic`` in ``store``, of every ingested file,
    optionally only those of one ``entity``, ``supplier`` or ``station``.

    Raises ReplayError when the store cannot be opened or holds no measurements, when it
    holds no value of the characteristic or none matching a filter (naming the nearest names
    it holds), or when two ingested files hold a value of one entity at one time (the same
    measurement ingested twice). A problem's ``path`` names what it is about:
    ``characteristic``, ``entity``, ``supplier``, ``station`` or ``store``.
    """
    filters = {what: value for what, value in
               (("entity", entity), ("supplier", supplier), ("station", station))
               if value is not None}
    return read_table(store, Table.MEASUREMENTS, "measurements",
                      lambda table: _read(table, characteristic, filters))


def measured_characteristics(store: str | Path) -> dict[str, int]:
    """Every characteristic ``store`` holds values of, with how many, by name; empty when it
    holds none (or its schema version predates the table).

    Raises ReplayError when the store cannot be opened.
    """
    path = Path(store).resolve()
    con = open_store(path)
    try:
        (has_table,), = con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name = ? AND NOT temporary",
            [str(Table.MEASUREMENTS)]).fetchall()
        if not has_table:
            return {}
        counts = con.execute("SELECT characteristic, count(*) FROM measurements "
                             "GROUP BY characteristic ORDER BY characteristic").fetchall()
    except duckdb.Error as e:
        raise ReplayError([Problem(str(path), "store",
                                   f"cannot read the measurements: {first_line(e)}")],
                          file=str(path)) from e
    finally:
        con.close()
    return {str(name): int(n) for name, n in counts}


def _read(table: StoreTable, characteristic: str, filters: dict[str, str]
          ) -> RecordedMeasurements:
    con = table.con
    _refuse_names_not_held(table, characteristic, filters)
    where = " AND ".join(["m.characteristic = ?",
                          *(f"m.{_FILTERS[what]} = ?" for what in filters)])
    params = [characteristic, *filters.values()]
    chosen = (
        "SELECT m.source, m.source_line, m.entity_id, m.ts, m.value, i.ingested_at_utc "
        "FROM measurements AS m JOIN ingests AS i "
        f"ON i.source = m.source AND i.table_name = 'measurements' WHERE {where}")
    _refuse_values_held_twice(table, chosen, params, characteristic)
    found = con.execute(
        f"SELECT epoch_us(ts) AS us, value FROM ({chosen}) "
        "ORDER BY ts, ingested_at_utc, source, source_line", params).fetchnumpy()
    us = np.asarray(found["us"], dtype=np.int64)
    if us.size == 0:
        named = " and ".join(f"{what} {value!r}" for what, value in filters.items())
        raise table.refuse(next(iter(filters), "characteristic"),
                           f"no {characteristic} measurement has {named}")
    times_h = (us - us[0]) / _US_PER_H
    values = np.asarray(found["value"], dtype=np.float64)
    for array in (times_h, values):
        array.flags.writeable = False
    origin = datetime(1970, 1, 1) + timedelta(microseconds=int(us[0]))
    return RecordedMeasurements(table.path, characteristic, origin, times_h, values)


def _refuse_names_not_held(table: StoreTable, characteristic: str,
                           filters: dict[str, str]) -> None:
    """Refuse a characteristic the store holds no value of, or a filter that no value of it
    matches, each with the nearest names it holds; every such problem at once."""
    con = table.con
    known = [c for (c,) in con.execute(
        "SELECT DISTINCT characteristic FROM measurements ORDER BY 1").fetchall()]
    if characteristic not in known:
        raise table.refuse("characteristic", not_held(
            "characteristic", characteristic, known, "in the measurements table"))
    problems = []
    for what, value in filters.items():
        column = _FILTERS[what]
        held = [v for (v,) in con.execute(
            f"SELECT DISTINCT {column} FROM measurements WHERE characteristic = ? "
            f"AND {column} IS NOT NULL ORDER BY 1", [characteristic]).fetchall()]
        if value not in held:
            where = f"among the {characteristic} measurements"
            if not held:
                problems.append(Problem(table.file, what, f"no {what} {value!r} {where}: "
                                        f"none of them names a {what}"))
                continue
            plural = "entities" if what == "entity" else None
            problems.append(Problem(table.file, what,
                                    not_held(what, value, held, where, plural)))
    if problems:
        raise ReplayError(problems, file=table.file)


def _refuse_values_held_twice(table: StoreTable, chosen: str, params: list[str],
                              characteristic: str) -> None:
    """Refuse values of one entity at one time that two ingested files hold: the same
    measurement ingested twice would be replayed twice. (Within one file the ingest has
    quarantined the second already.)"""
    twice = table.con.execute(
        f"SELECT entity_id, ts, list(source || ' line ' || source_line "
        f"ORDER BY ingested_at_utc, source, source_line), count(*) OVER () "
        f"FROM ({chosen}) GROUP BY entity_id, ts HAVING count(*) > 1 "
        f"ORDER BY ts, entity_id LIMIT {_MAX_QUOTED}", params).fetchall()
    if not twice:
        return
    problems = [Problem(table.file, "characteristic",
                        f"{characteristic} of entity {entity!r} at {ts} is held more than once: "
                        + ", ".join(places))
                for entity, ts, places, _ in twice]
    n = twice[0][3]
    if n > len(twice):
        problems.append(Problem(table.file, "characteristic",
                                f"… and {n - len(twice)} more values held more than once"))
    problems.append(Problem(table.file, "characteristic",
                            "the same measurement is in several ingested files; build the "
                            "store from files that do not overlap"))
    raise ReplayError(problems, file=table.file)
