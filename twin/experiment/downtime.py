"""Recorded breakdowns of a process station: the outages of its machine in a store's
``downtime`` table, replayed at their recorded times or resampled, as the model asks for
them (``RecordedFeeds.downtime``).

- **trace**: every recorded outage at its recorded time. Hour 0 of the run is 00:00 of the
  day of the earliest start in the file the machine's rows came from (``edge_replay.downtime``);
  outages beyond the horizon are never reached.
- **bootstrap**: an alternating renewal process. From the start, each cycle draws one
  recorded (time between outages, outage duration) pair from the replication's own stream:
  up for the first, then down for the second. Its long-run availability is the recorded
  cycles' total up time over their total length.

The store is read once per process while it is unchanged; a problem is reported at the
station's ``downtime`` key in the scenario file, naming the store.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from shocktwin.errors import Problem, ReplayError
from shocktwin.scenarios.model import ReplayMode, Scenario
from shocktwin.source import Loc, loc_text

if TYPE_CHECKING:
    from shocktwin.edge_replay.downtime import MachineOutages

__all__ = ["recorded_outages", "station_outages"]

#: The keys of a ``downtime`` binding a reader's problem can be about; others are the store's.
_KEYS = frozenset({"machine", "source"})


@functools.lru_cache(maxsize=16)
def _cached(store: Path, machine: str, source: str | None, mtime_ns: int,
            size: int) -> MachineOutages:
    from shocktwin.edge_replay.downtime import machine_outages

    return machine_outages(store, machine, source)


def recorded_outages(scenario: Scenario, spec: Any) -> MachineOutages:
    """The recorded outages the process station ``spec`` of ``scenario`` replays.

    Raises ReplayError at the station's ``downtime`` key of the scenario file when the store
    is missing or has no downtime, the machine is not in it (naming the nearest one), the
    source is unknown or ambiguous, or there is no outage to replay.
    """
    binding = spec.downtime
    if binding is None:
        raise ValueError(f"station {spec.id!r} replays no recorded downtime")
    at = _location(scenario, spec)
    store = scenario.resolve(binding.store).resolve()
    try:
        st = store.stat()
    except OSError as e:
        raise ReplayError([_problem(scenario, (*at, "store"), (
            f"store {store} does not exist; ingest the downtime table into it first "
            "(shocktwin ingest FILE --format downtime --db STORE)"))],
            file=scenario.source_file) from e
    try:
        return _cached(store, binding.machine, binding.source, st.st_mtime_ns, st.st_size)
    except ReplayError as e:
        # The reader names what each problem is about; the file and line are the binding's.
        raise ReplayError([_problem(scenario, (*at, p.path if p.path in _KEYS else "store"),
                                    f"{p.message} (store {store})") for p in e.problems],
                          file=scenario.source_file) from e


def station_outages(scenario: Scenario, spec: Any, rng: np.random.Generator
                    ) -> Iterator[tuple[float, float]]:
    """The outages of process station ``spec``, ``(start_h, end_h)`` in time order from the
    run's start: replayed, or resampled from ``rng`` (read lazily: the station takes the
    next when the last has ended). Everything is checked before the first is read."""
    recorded = recorded_outages(scenario, spec)
    if spec.downtime.mode is ReplayMode.TRACE:
        return zip(recorded.start_h.tolist(), recorded.end_h.tolist(), strict=True)
    up, down = recorded.cycles()
    if up.size == 0:
        raise ReplayError([_problem(scenario, (*_location(scenario, spec), "mode"), (
            f"bootstrap resamples the times between outages, and machine "
            f"{recorded.machine!r} has only one outage in {recorded.source}; use mode trace "
            f"(store {recorded.store})"))],
            file=scenario.source_file)
    return _renewal(up.tolist(), down.tolist(), rng)


def _renewal(up_h: list[float], down_h: list[float], rng: np.random.Generator
             ) -> Iterator[tuple[float, float]]:
    """Up, then down, for one recorded cycle drawn at random at a time, from hour 0."""
    n = len(up_h)
    ends_h = 0.0
    while True:
        k = int(rng.integers(n))
        starts_h = ends_h + up_h[k]
        ends_h = starts_h + down_h[k]
        yield starts_h, ends_h


def _problem(scenario: Scenario, loc: Loc, message: str) -> Problem:
    return Problem(scenario.source_file, loc_text(loc), message, scenario.line_of(*loc))


def _location(scenario: Scenario, spec: Any) -> Loc:
    """The key of ``spec``'s ``downtime`` in the scenario file."""
    stations = scenario.plant.stations if scenario.plant is not None else []
    index = next((i for i, s in enumerate(stations) if s.id == spec.id), None)
    if index is None:
        raise ValueError(f"station {spec.id!r} is not in the scenario")
    return ("plant", "stations", index, "downtime")
