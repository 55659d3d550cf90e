"""Dispatching: which waiting item a station serves next (the logical layer of the twin).

A station's queue is first-in, first-out unless its scenario names another policy. The
built-in policies are ``fifo``, ``edd`` (earliest due date of the unit's order), ``spt``
(shortest processing time: the work time is drawn when the item arrives and the shortest
goes first) and ``priority`` (the product's priority class, 1 first; FIFO within a class).
More are installed through the entry-point group ``shocktwin.dispatching``: each entry
point names a :class:`Dispatching` subclass with a ``name`` and a ``key`` method.

Service is non-preemptive: a policy decides only when a server comes free. Ties are broken
by arrival order, so every policy is deterministic for a given stream of arrivals.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections import deque
from collections.abc import Callable, Iterator
from functools import cache
from importlib import metadata
from typing import Any, ClassVar, Protocol

__all__ = ["ENTRY_POINT_GROUP", "Dispatching", "KeyedQueue", "Waiting", "dispatching_policies",
           "make_queue"]

ENTRY_POINT_GROUP = "shocktwin.dispatching"


class Waiting(Protocol):
    """What a station does with its queue: a ``deque`` (FIFO) or a :class:`KeyedQueue`."""

    def append(self, entry: tuple[Any, float], /) -> None: ...

    def popleft(self) -> tuple[Any, float]: ...

    def __len__(self) -> int: ...

    def __iter__(self) -> Iterator[tuple[Any, float]]: ...


class KeyedQueue:
    """A queue of (item, arrived_h) served by smallest key, then arrival order; the same
    methods a station uses of its FIFO ``deque``."""

    __slots__ = ("_heap", "_key", "_seq")

    def __init__(self, key: Callable[[Any], float]) -> None:
        self._heap: list[tuple[float, int, Any, float]] = []
        self._key = key
        self._seq = itertools.count()

    def append(self, entry: tuple[Any, float]) -> None:
        item, arrived = entry
        heapq.heappush(self._heap, (self._key(item), next(self._seq), item, arrived))

    def popleft(self) -> tuple[Any, float]:
        _, _, item, arrived = heapq.heappop(self._heap)
        return item, arrived

    def __len__(self) -> int:
        return len(self._heap)

    def __iter__(self) -> Iterator[tuple[Any, float]]:
        return ((item, arrived) for _, _, item, arrived in self._heap)

    def __bool__(self) -> bool:
        return bool(self._heap)


class Dispatching:
    """A dispatching policy: the key of an item waiting at ``station`` (smallest first)."""

    #: The name a scenario gives (``dispatching: edd``).
    name: ClassVar[str]
    #: One line for ``shocktwin schema`` and the docs.
    summary: ClassVar[str] = ""
    #: The key needs the item's work time, drawn on arrival (kept in ``station.drawn`` by
    #: item, and taken at the start of service).
    draws_ahead: ClassVar[bool] = False

    def key(self, item: Any, station: Any) -> float:
        raise NotImplementedError

    def queue(self, station: Any) -> Waiting:
        """The queue ``station`` keeps its waiting items in under this policy."""
        return KeyedQueue(lambda item: self.key(item, station))


class Fifo(Dispatching):
    name = "fifo"
    summary = "first in, first out"

    def key(self, item: Any, station: Any) -> float:
        return 0.0

    def queue(self, station: Any) -> Waiting:
        return deque()


class EarliestDueDate(Dispatching):
    name = "edd"
    summary = "earliest due date of the unit's customer order first"

    def key(self, item: Any, station: Any) -> float:
        order = getattr(item, "order", None)
        return order.due_h if order is not None else math.inf


class PriorityClass(Dispatching):
    name = "priority"
    summary = "the product's priority class, 1 first; first in, first out within a class"

    def key(self, item: Any, station: Any) -> float:
        order = getattr(item, "order", None)
        product = getattr(order, "product", None)
        return float(product.priority) if product is not None else math.inf


class ShortestProcessingTime(Dispatching):
    name = "spt"
    summary = ("shortest processing time first: the work time is drawn when the item "
               "arrives, and that is the time it then takes")
    draws_ahead = True

    def key(self, item: Any, station: Any) -> float:
        work = station.work_time(item)
        station.drawn[id(item)] = work
        return float(work)


_BUILTIN: tuple[type[Dispatching], ...] = (Fifo, EarliestDueDate, ShortestProcessingTime,
                                           PriorityClass)


@cache
def dispatching_policies() -> dict[str, type[Dispatching]]:
    """Every known policy by name: built-ins first, then installed plug-ins."""
    out = {cls.name: cls for cls in _BUILTIN}
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        cls = ep.load()
        if not (isinstance(cls, type) and issubclass(cls, Dispatching)):
            raise TypeError(f"entry point {ep.name!r} is not a Dispatching subclass")
        out.setdefault(cls.name, cls)
    return out


def make_queue(name: str, station: Any) -> Waiting:
    """The queue for ``station`` under the policy called ``name``."""
    return dispatching_policies()[name]().queue(station)
