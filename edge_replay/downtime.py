"""Recorded outages of one machine, read from a store's ``downtime`` table for replay.

The rows of one machine that overlap or touch are one outage over their union (the
``machine_outages`` view; see SCHEMA.md), and rows that take no time are none. Times are
hours from the **time origin**: 00:00 of the day of the earliest start in the chosen source,
over all its machines, so that stations replayed from one table keep the recorded order and
overlap of their outages.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from shocktwin.edge_replay._store_table import StoreTable, not_held, read_table
from shocktwin.edge_replay.schema import VIEWS, Table, View

__all__ = ["MachineOutages", "machine_outages"]


@dataclass(frozen=True)
class MachineOutages:
    """The merged outages of one machine, in hours from ``origin``, in time order."""

    store: Path
    source: str
    machine: str
    #: 00:00 of the day of the earliest start in ``source`` (local plant time): hour 0.
    origin: datetime
    start_h: np.ndarray
    end_h: np.ndarray
    #: The ``downtime`` rows merged into these outages.
    rows: int

    @property
    def duration_h(self) -> np.ndarray:
        """How long each outage lasted, hours."""
        return self.end_h - self.start_h

    def cycles(self) -> tuple[np.ndarray, np.ndarray]:
        """The recorded (up, down) cycles: for each outage after the first, the hours up since
        the one before ended and the hours it lasted. The time before the first outage is
        left out: the record does not say when that up time began."""
        return self.start_h[1:] - self.end_h[:-1], self.duration_h[1:]


def machine_outages(store: str | Path, machine: str, source: str | None = None
                    ) -> MachineOutages:
    """The outages of ``machine`` recorded in ``store``'s ``downtime`` table.

    ``source`` (the path recorded at ingest, or any unique suffix of it such as the file
    name) is needed only when several ingested files hold the machine.

    Raises ReplayError when the store cannot be opened, has no downtime, does not hold the
    machine (naming the nearest machine it holds), or when the source is unknown, ambiguous or
    holds no outage of the machine. Each problem's ``path`` names what it is about: ``store``,
    ``machine`` or ``source``.
    """
    return read_table(store, Table.DOWNTIME, "downtime",
                      lambda table: _read(table, machine, source))


def _read(table: StoreTable, machine: str, source: str | None) -> MachineOutages:
    con = table.con
    by_source = con.execute(
        "SELECT source, list(DISTINCT machine ORDER BY machine) FROM downtime "
        "GROUP BY source ORDER BY source").fetchall()
    holding = [s for s, machines in by_source if machine in machines]
    if source is not None:
        named = table.named_source([s for s, _ in by_source], source)
        if named not in holding:
            raise table.refuse("machine", not_held(
                "machine", machine, dict(by_source)[named], f"in {named}"))
        holding = [named]
    if not holding:
        every = sorted({m for _, machines in by_source for m in machines})
        raise table.refuse("machine", not_held("machine", machine, every,
                                               "in the downtime table"))
    if len(holding) > 1:
        raise table.refuse("source", f"machine {machine!r} is in {len(holding)} ingested files; "
                           "name one as source: " + ", ".join(holding))
    chosen = holding[0]
    (origin,), = con.execute(
        "SELECT date_trunc('day', min(start_ts)) FROM downtime WHERE source = ?",
        [chosen]).fetchall()
    outages = con.execute(
        f"SELECT epoch(start_ts - ?) / 3600.0 AS start_h, epoch(end_ts - ?) / 3600.0 AS end_h, "
        f"n_rows FROM ({VIEWS[View.MACHINE_OUTAGES]}) WHERE source = ? AND machine = ? "
        "ORDER BY start_ts", [origin, origin, chosen, machine]).fetchnumpy()
    if outages["start_h"].size == 0:
        raise table.refuse("machine", f"machine {machine!r} has no outage that takes time in "
                           f"{chosen} (its rows all end when they start)")
    return MachineOutages(table.path, chosen, machine, origin,
                          np.asarray(outages["start_h"], dtype=float),
                          np.asarray(outages["end_h"], dtype=float),
                          int(np.sum(outages["n_rows"])))
