"""What the model consumes of recorded data, and the protocol it is handed in by.

The model never opens the store: the experiment builds a :class:`Feeds` for the scenario
(``shocktwin.twin.experiment.feed.RecordedFeeds``) and hands it to the plant or shop, which
asks it for a supplier's recorded lead-time sampler, an AI gate's decisions, a shop's
recorded jobs, a station's recorded outages or the plant's state at the start. A model built
without feeds refuses recorded data with a clear error.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from shocktwin.errors import SimulationError

if TYPE_CHECKING:
    from shocktwin.twin.model.lever import Lever

__all__ = ["NO_FEEDS", "Feeds", "GateDecisions", "JobSpec", "LogState", "OrderOnTheWay",
           "PartTypeSummary", "PlantState", "ShopFeed", "UnitsInWork"]


@dataclass(frozen=True)
class JobSpec:
    """One job to release: its tasks as parallel lists (resource index into the log's
    resource names, work, enabled after the earlier tasks or with the previous, wait), the
    pieces each report rejected and handled (empty: none recorded), and what the work order
    made: its part type and ordered quantity, where the log records them."""

    case_id: str
    release_h: float
    resource: list[int]
    work_h: list[float]
    after: list[bool]
    wait_h: list[float]
    rejected: list[int] = field(default_factory=list)
    handled: list[int] = field(default_factory=list)
    part: str | None = None
    quantity: int | None = None


@dataclass
class PartTypeSummary:
    """The recorded work orders of one part type: how many, their units and operation
    reports, and the resources (indices into the log's resource names) they work on."""

    part: str | None
    jobs: int = 0
    units: int = 0
    operations: int = 0
    resources: set[int] = field(default_factory=set)


@dataclass(frozen=True)
class GateDecisions:
    """An inspection model's decision on every recorded row, split by the row's true class."""

    model: str
    onnx_sha256: str
    threshold: float
    defective_rejected: np.ndarray  # decision per defective row
    good_rejected: np.ndarray  # decision per acceptable row

    @property
    def sensitivity(self) -> float:
        return float(self.defective_rejected.mean())

    @property
    def false_reject_rate(self) -> float:
        return float(self.good_rejected.mean())


@dataclass(frozen=True)
class OrderOnTheWay:
    """A purchase order open at the start: ``quantity`` from ``supplier``, arriving
    ``arrives_in`` hours after the start."""

    supplier: str
    quantity: int
    arrives_in: float


@dataclass(frozen=True)
class UnitsInWork:
    """``units`` of ``product`` (None: the plant's only one) at ``station`` at the start, for
    an order due ``due_in`` hours after the start (negative: already late)."""

    station: str
    units: int
    product: str | None
    due_in: float


@dataclass(frozen=True)
class PlantState:
    """The plant as it stands when a run starts (a warm start), as a scenario's
    ``start_state`` gives it: units on hand per stock, open purchase orders, units in work
    and each material's inspection switching state. The plant reads a written
    ``start_state`` the same way, by these attribute names."""

    stock: Mapping[str, int]
    open_orders: tuple[OrderOnTheWay, ...]
    wip: tuple[UnitsInWork, ...]
    inspection: Mapping[str, str]


@dataclass(frozen=True)
class LogState:
    """The work orders of a log as they stand at a moment ``at_h`` hours after the log's
    first start: each order released before it and not finished, as the rest of its work.

    An order's spec holds the tasks it has left: a task running at that moment with the
    work it has left, dispatched at once (with any other running one); a task not begun,
    as recorded, except that the first, if the order waits between tasks at that moment,
    waits only what is left of its recorded wait. ``release_h`` is the recorded release in
    hours from the moment (≤ 0) and ``quantity`` the units it has left after the pieces its
    finished reports rejected."""

    at_h: float
    in_progress: tuple[JobSpec, ...]


class ShopFeed(Protocol):
    """The recorded jobs of a shop (or of a plant that replays a log), in the three replay
    modes."""

    resource_names: list[str]

    @property
    def part_types(self) -> Mapping[str | None, PartTypeSummary]:
        """What the log holds of each part type (None: orders of no recorded type)."""
        ...

    def trace(self) -> Iterator[JobSpec]: ...

    def bootstrap(self, rng: np.random.Generator, horizon_h: float,
                  demand_factor: Lever) -> Iterator[JobSpec]: ...

    def fitted(self, rng: np.random.Generator, demand_factor: Lever) -> Iterator[JobSpec]: ...


class Feeds(Protocol):
    """Recorded data for one scenario, handed to the model by whoever builds it."""

    def lead_time_sampler(self, dist: Any, rng: np.random.Generator) -> Callable[[], float]:
        """Draws (hours) from the recorded lead times a ``recorded`` distribution names."""
        ...

    def gate_decisions(self, spec: Any) -> GateDecisions:
        """The decisions of an AI inspection gate on its recorded feature rows."""
        ...

    def shop(self) -> ShopFeed:
        """The recorded jobs of the scenario's shop, or of the log its plant replays."""
        ...

    def downtime(self, spec: Any, rng: np.random.Generator) -> Iterator[tuple[float, float]]:
        """A process station's recorded outages, ``(start_h, end_h)`` from the run's start in
        time order: replayed, or resampled from ``rng``, as its ``downtime`` says."""
        ...

    def start_state(self, spec: Any) -> PlantState:
        """The plant's state at the start from the snapshot a ``start_state: {store, at}``
        names, due times in hours from ``at``."""
        ...

    def measurements(self, spec: Any, name: str) -> np.ndarray:
        """The values of a characteristic recorded in a store, in recorded order, as its
        ``{dist: recorded}`` names them (``name``: the characteristic's own name)."""
        ...

    def log_state(self, spec: Any) -> LogState:
        """The work orders of the log the plant replays as they stand at the warm start's
        ``at`` (``spec`` is the scenario's ``start_state``)."""
        ...


class _NoFeeds:
    """Feeds of a model built without recorded data: asking for any is a programming error
    turned into a clear one."""

    def _refuse(self, what: str) -> SimulationError:
        return SimulationError(f"the scenario replays recorded {what}, but the model was built "
                               "without feeds (build it with twin.experiment.build_model)")

    def lead_time_sampler(self, dist: Any, rng: np.random.Generator) -> Callable[[], float]:
        raise self._refuse("lead times")

    def gate_decisions(self, spec: Any) -> GateDecisions:
        raise self._refuse("feature rows")

    def shop(self) -> ShopFeed:
        raise self._refuse("work orders")

    def downtime(self, spec: Any, rng: np.random.Generator) -> Iterator[tuple[float, float]]:
        raise self._refuse("downtime")

    def start_state(self, spec: Any) -> PlantState:
        raise self._refuse("snapshots")

    def log_state(self, spec: Any) -> LogState:
        raise self._refuse("work orders")

    def measurements(self, spec: Any, name: str) -> np.ndarray:
        raise self._refuse("measurements")


#: The feeds of a model built without recorded data.
NO_FEEDS: Feeds = _NoFeeds()
