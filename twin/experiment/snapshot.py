"""A warm start read from a store: the snapshot a scenario's ``start_state: {store, at,
source?}`` names, as the stock, open purchase orders, work in progress and inspection states
the plant starts from (``RecordedFeeds.start_state``), exactly as a written ``start_state``
gives them; and, for a plant that replays an operations log, the log's own orders as they
stand at ``at`` (``RecordedFeeds.log_state``).

``at`` is hour 0 of the run: an open order arrives, and a wip order is due, its hours after
``at`` (a wip order due before ``at`` is already late). The store is read once per process
while it is unchanged. A problem with the binding (no store, no snapshots table, nothing
taken at ``at``, an unknown source) is reported at its key of the scenario file, naming the
store; an item the plant does not have at the snapshot row's own file and line; and a
snapshot none of whose items the plant has, as another plant's, at the binding's ``store``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from shocktwin.errors import Problem, ReplayError
from shocktwin.scenarios.model import Scenario, warm_start_problems
from shocktwin.source import Loc, loc_text
from shocktwin.twin.model.feed import LogState, OrderOnTheWay, PlantState, UnitsInWork

if TYPE_CHECKING:
    from shocktwin.edge_replay.snapshot import PlantSnapshot, SnapshotItem

__all__ = ["log_state", "stored_start_state"]

#: The keys of a ``start_state`` binding a reader's problem can be about; others are the
#: store's.
_KEYS = frozenset({"at", "source"})
#: The most unknown items a refusal of another plant's snapshot quotes.
_MAX_QUOTED = 5


@functools.lru_cache(maxsize=8)
def _cached(store: Path, at: datetime, source: str | None, mtime_ns: int,
            size: int) -> PlantSnapshot:
    from shocktwin.edge_replay.snapshot import plant_snapshot

    return plant_snapshot(store, at, source)


def stored_start_state(scenario: Scenario) -> PlantState:
    """The plant's state at the start of a run of ``scenario``, from the snapshot its
    ``start_state`` names in a store.

    Raises ReplayError, at the binding's key of the scenario file, when the store is missing
    or holds no snapshots, the source is unknown or ambiguous, or nothing was taken at
    ``at`` (naming the nearest times held); at the snapshot row, when it names something the
    plant does not have or two files disagree; at ``store``, when the plant has none of the
    snapshot's items (another plant's snapshot).
    """
    binding = scenario.start_state
    plant = scenario.plant
    if binding is None or binding.store is None or binding.at is None or plant is None:
        raise ValueError("the scenario's plant starts from no stored snapshot")
    store = scenario.resolve(binding.store).resolve()
    try:
        st = store.stat()
    except OSError as e:
        raise ReplayError([_problem(scenario, "store", (
            f"store {store} does not exist; ingest the snapshot into it first "
            "(shocktwin ingest FILE --format snapshot --db STORE)"))],
            file=scenario.source_file) from e
    try:
        snapshot = _cached(store, binding.at, binding.source, st.st_mtime_ns, st.st_size)
    except ReplayError as e:
        raise ReplayError(list(_relocated(scenario, store, e.problems)),
                          file=scenario.source_file) from e
    state, rows = _state(snapshot)
    found = list(warm_start_problems(plant, state))
    if not found:
        return state
    unknown = {id(rows[loc[:2]]) for loc, _ in found}
    if len(unknown) == len(snapshot.items):
        raise ReplayError([_problem(scenario, "store", _another_plant(snapshot, found, rows))],
                          file=scenario.source_file)
    where = _where(scenario, ("start_state",))
    problems = []
    for loc, message in found:
        row = rows[loc[:2]]
        problems.append(Problem(row.source, "product" if loc[-1] == "product" else "item",
                                f"{message} (read for the warm start at {where})", row.line))
    raise ReplayError(problems, file=problems[0].file)


def log_state(scenario: Scenario) -> LogState:
    """The work orders of the log ``scenario``'s plant replays as they stand at its warm
    start's ``at``: those released before it and unfinished, each as the rest of its work.

    Raises ReplayError at ``start_state.at`` when ``at`` lies outside the log (before its
    first start or after its last end).
    """
    from shocktwin.edge_replay.snapshot import snapshot_time_text
    from shocktwin.twin.experiment.feed import load_shop_data

    binding = scenario.start_state
    if binding is None or binding.at is None:
        raise ValueError("the scenario's plant starts from no moment of its log")
    data = load_shop_data(scenario)
    log = data.log
    at_h = (binding.at - log.t0).total_seconds() / 3600.0
    if not 0.0 <= at_h <= log.span_h:
        end = log.t0 + timedelta(hours=log.span_h)
        raise ReplayError([_problem(scenario, "at", (
            f"{snapshot_time_text(binding.at)} is outside the log the plant replays: it runs "
            f"from {snapshot_time_text(log.t0)} to {snapshot_time_text(end)} "
            f"({log.source} in store {log.store})"))], file=scenario.source_file)
    return LogState(at_h, tuple(data.in_progress(at_h)))


def _state(snapshot: PlantSnapshot) -> tuple[PlantState, dict[Loc, SnapshotItem]]:
    """The snapshot as the state the plant starts from, and the row behind each of its
    places (as ``warm_start_problems`` names them)."""
    from shocktwin.edge_replay.schema import SnapshotKind

    stock: dict[str, int] = {}
    orders: list[OrderOnTheWay] = []
    wip: list[UnitsInWork] = []
    inspection: dict[str, str] = {}
    rows: dict[Loc, SnapshotItem] = {}
    # The ingest guarantees what each kind needs (quantity, due_at, state).
    for row in snapshot.items:
        if row.kind is SnapshotKind.STOCK:
            stock[row.item] = int(row.quantity or 0)
            rows[("stock", row.item)] = row
        elif row.kind is SnapshotKind.OPEN_ORDER:
            rows[("open_orders", len(orders))] = row
            orders.append(OrderOnTheWay(row.item, int(row.quantity or 0), float(row.due_h or 0)))
        elif row.kind is SnapshotKind.WIP:
            rows[("wip", len(wip))] = row
            wip.append(UnitsInWork(row.item, int(row.quantity or 0), row.product,
                                   float(row.due_h or 0)))
        else:
            inspection[row.item] = str(row.state)
            rows[("inspection", row.item)] = row
    return PlantState(stock, tuple(orders), tuple(wip), inspection), rows


def _another_plant(snapshot: PlantSnapshot, found: list[tuple[Loc, str]],
                   rows: dict[Loc, SnapshotItem]) -> str:
    from shocktwin.edge_replay.snapshot import snapshot_time_text

    quoted = list(dict.fromkeys(f"{rows[loc[:2]].kind} {rows[loc[:2]].item!r}"
                                for loc, _ in found))
    more = f", … ({len(quoted)} in all)" if len(quoted) > _MAX_QUOTED else ""
    files = ", ".join(snapshot.sources)
    return (f"the plant has none of the {len(snapshot.items)} items of the snapshot taken at "
            f"{snapshot_time_text(snapshot.taken_at)} ({', '.join(quoted[:_MAX_QUOTED])}{more}); "
            f"it looks like another plant's snapshot: check store and at (files: {files}; "
            f"store {snapshot.store})")


def _relocated(scenario: Scenario, store: Path, problems: Sequence[Problem]
               ) -> Iterator[Problem]:
    """The reader's problems where the user can act on them: one about the binding at its key
    of the scenario file, naming the store; one about a row at the row."""
    for p in problems:
        if p.file == str(store):
            yield _problem(scenario, p.path if p.path in _KEYS else "store",
                           f"{p.message} (store {store})")
        else:
            yield Problem(p.file, p.path, f"{p.message} (read for the warm start at "
                          f"{_where(scenario, ('start_state',))})", p.line)


def _where(scenario: Scenario, loc: Loc) -> str:
    """``scenario.yaml:12`` (or the key's path when the scenario was built in code)."""
    line = scenario.line_of(*loc)
    file = scenario.source_file
    if file is None:
        return loc_text(loc)
    return f"{file}:{line}" if line is not None else file


def _problem(scenario: Scenario, key: str, message: str) -> Problem:
    loc = ("start_state", key)
    return Problem(scenario.source_file, loc_text(loc), message, scenario.line_of(*loc))
