"""Suppliers that deliver lots after a lead time, and incoming-stock buffers with (s, Q)
replenishment. Every delivered unit's defect state is drawn when its lot is made.

Supplier levers that shocks move: ``capacity`` (share of each lot shipped; at zero nothing
ships and due lots wait until capacity returns), ``lead_time_factor``, ``lead_time_spread``
and ``defect_factor``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

import numpy as np

from twin.kernel import Kernel
from twin.model.level import Level
from twin.model.lever import Combine, Lever
from twin.model.part import Part

__all__ = ["Buffer", "Supplier"]


def _lot_flags(rng: np.random.Generator, size: int, defect_rate: float) -> list[bool]:
    """Defect flags of a lot, reversed so that ``pop()`` takes units first-in, first-out."""
    if defect_rate <= 0.0:
        return [False] * size
    return (rng.random(size) < defect_rate)[::-1].tolist()  # type: ignore[no-any-return]


class Supplier:
    """Delivers lots of one material after a random lead time."""

    def __init__(self, supplier_id: str, material: str, lead_time: Callable[[], float],
                 quality_rng: np.random.Generator, defect_rate: float, kernel: Kernel,
                 disruption_rng: np.random.Generator | None = None) -> None:
        self.id = supplier_id
        self.material = material
        self.lead_time = lead_time
        self.quality_rng = quality_rng
        self.defect_rate = defect_rate
        self.kernel = kernel
        self.lots_delivered = 0
        self.units_delivered = 0
        self.units_cancelled = 0
        self.capacity = Lever(f"{supplier_id}.capacity", 1.0, on_change=self._capacity_changed)
        self.lead_time_factor = Lever(f"{supplier_id}.lead_time_factor", 1.0)
        self.defect_factor = Lever(f"{supplier_id}.defect_factor", 1.0)
        # Extra log-normal spread of lead times (sigma); drawn from its own stream only
        # while a shock sets it, so undisturbed runs keep their random numbers.
        self.lead_time_spread = Lever(f"{supplier_id}.lead_time_spread", 0.0, Combine.MAX)
        self._disruption_rng = disruption_rng or np.random.default_rng(0)
        self._held: list[tuple[int, Buffer]] = []

    def order(self, quantity: int, buffer: Buffer) -> None:
        lead = self.lead_time() * self.lead_time_factor.value
        spread = self.lead_time_spread.value
        if spread > 0.0:
            lead *= float(self._disruption_rng.lognormal(0.0, spread))
        self.kernel.schedule(lead, self._deliver, (quantity, buffer))

    def _deliver(self, arg: tuple[int, Buffer]) -> None:
        capacity = self.capacity.value
        if capacity <= 0.0:
            self._held.append(arg)  # ships when the supplier can ship again
            return
        quantity, buffer = arg
        shipped = quantity if capacity >= 1.0 else int(quantity * capacity + 0.5)
        if shipped < quantity:
            # The shortfall is cancelled; the buffer's next review orders it again.
            self.units_cancelled += quantity - shipped
            buffer.on_order -= quantity - shipped
        if shipped == 0:
            buffer.review()
            return
        self.lots_delivered += 1
        self.units_delivered += shipped
        rate = min(self.defect_rate * self.defect_factor.value, 1.0)
        flags = _lot_flags(self.quality_rng, shipped, rate)
        if buffer.inbound is None:
            buffer.receive(flags)
        else:
            buffer.inbound(buffer, flags, self.id)

    def _capacity_changed(self, capacity: float) -> None:
        if capacity > 0.0 and self._held:
            held, self._held = self._held, []
            for arg in held:
                self._deliver(arg)


class Buffer:
    """Incoming stock of one material. Units wait here first-in, first-out when it is empty.

    Replenishment is continuous review: whenever the inventory position (on hand + on order
    − backorders) is at or below the reorder point, order the order quantity.
    """

    def __init__(self, buffer_id: str, material: str, initial: list[bool], reorder_point: int,
                 order_quantity: int, supplier: Supplier, kernel: Kernel) -> None:
        self.id = buffer_id
        self.material = material
        self.lots: deque[list[bool]] = deque([initial] if initial else [])
        self.on_hand = len(initial)
        self.on_order = 0
        self.backorder = 0
        self.waiting: deque[tuple[Part, int]] = deque()
        self.reorder_point = reorder_point
        self.order_quantity = order_quantity
        self.supplier = supplier
        self.kernel = kernel
        self.stockout = Level(1.0 if self.on_hand == 0 else 0.0)
        self.resume: Callable[[Part], None] = _unconnected
        # Incoming inspection, when a rule set plans it: lots go there before stock.
        self.inbound: Callable[[Buffer, list[bool], str], None] | None = None

    def start(self) -> None:
        self.review()

    def take(self, part: Part, quantity: int) -> bool:
        """Give ``quantity`` units to ``part`` now (True), or queue it until stock comes."""
        if self.waiting or self.on_hand < quantity:
            self.waiting.append((part, quantity))
            self.backorder += quantity
            self.review()
            return False
        self._withdraw(part, quantity)
        self.review()
        return True

    def receive(self, flags: list[bool], ordered: int | None = None) -> None:
        """Put a lot into stock; ``ordered`` units leave the pipeline (default the lot's
        size; more when inspection removed some)."""
        now = self.kernel.now()
        if self.on_hand == 0 and flags:
            self.stockout.add(now, -1)
        if flags:
            self.lots.append(flags)
        self.on_hand += len(flags)
        self.on_order -= len(flags) if ordered is None else ordered
        served: list[Part] = []
        while self.waiting and self.on_hand >= self.waiting[0][1]:
            part, quantity = self.waiting.popleft()
            self.backorder -= quantity
            self._withdraw(part, quantity)
            served.append(part)
        self.review()
        for part in served:
            self.resume(part)

    def _withdraw(self, part: Part, quantity: int) -> None:
        lots = self.lots
        for _ in range(quantity):
            flags = lots[0]
            if flags.pop():
                part.defective = True
            if not flags:
                lots.popleft()
        self.on_hand -= quantity
        if self.on_hand == 0:
            self.stockout.add(self.kernel.now(), 1)

    def review(self) -> None:
        position = self.on_hand + self.on_order - self.backorder
        while position <= self.reorder_point:
            self.on_order += self.order_quantity
            position += self.order_quantity
            self.supplier.order(self.order_quantity, self)


def _unconnected(part: Part) -> None:  # pragma: no cover - wiring error
    raise RuntimeError("buffer is not connected to the plant")
