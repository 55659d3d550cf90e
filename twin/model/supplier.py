"""Suppliers that deliver lots after a lead time, and incoming-stock buffers with (s, Q)
replenishment. Every delivered unit's defect state is drawn when its lot is made."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

import numpy as np

from twin.kernel import Kernel
from twin.model.level import Level
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
                 quality_rng: np.random.Generator, defect_rate: float, kernel: Kernel) -> None:
        self.id = supplier_id
        self.material = material
        self.lead_time = lead_time
        self.quality_rng = quality_rng
        self.defect_rate = defect_rate
        self.kernel = kernel
        self.lots_delivered = 0
        self.units_delivered = 0

    def order(self, quantity: int, buffer: Buffer) -> None:
        self.kernel.schedule(self.lead_time(), self._deliver, (quantity, buffer))

    def _deliver(self, arg: tuple[int, Buffer]) -> None:
        quantity, buffer = arg
        self.lots_delivered += 1
        self.units_delivered += quantity
        buffer.receive(_lot_flags(self.quality_rng, quantity, self.defect_rate))


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

    def start(self) -> None:
        self._review()

    def take(self, part: Part, quantity: int) -> bool:
        """Give ``quantity`` units to ``part`` now (True), or queue it until stock comes."""
        if self.waiting or self.on_hand < quantity:
            self.waiting.append((part, quantity))
            self.backorder += quantity
            self._review()
            return False
        self._withdraw(part, quantity)
        self._review()
        return True

    def receive(self, flags: list[bool]) -> None:
        now = self.kernel.now()
        if self.on_hand == 0 and flags:
            self.stockout.add(now, -1)
        self.lots.append(flags)
        self.on_hand += len(flags)
        self.on_order -= len(flags)
        served: list[Part] = []
        while self.waiting and self.on_hand >= self.waiting[0][1]:
            part, quantity = self.waiting.popleft()
            self.backorder -= quantity
            self._withdraw(part, quantity)
            served.append(part)
        self._review()
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

    def _review(self) -> None:
        position = self.on_hand + self.on_order - self.backorder
        while position <= self.reorder_point:
            self.on_order += self.order_quantity
            position += self.order_quantity
            self.supplier.order(self.order_quantity, self)


def _unconnected(part: Part) -> None:  # pragma: no cover - wiring error
    raise RuntimeError("buffer is not connected to the plant")
