"""Suppliers that deliver lots after a lead time, and incoming-stock buffers with (s, Q)
replenishment. Every delivered unit's defect state is drawn when its lot is made.

Supplier levers that shocks move: ``capacity`` (share of each lot shipped; at zero nothing
ships and due lots wait until capacity returns), ``allocation`` (share of each order filled
on time; the rest stays on order with the supplier and ships when the allocation is
lifted), ``lead_time_factor``, ``lead_time_spread``, ``defect_factor`` and ``price_factor``
(tariffs). A supplier can also be **lost** for good (insolvency, export control): its open
orders are cancelled and the buffer moves to its next backup once that one is qualified.

A supplier can be put **on hold** while it corrects its process (acceptance inspection
discontinued, ISO 2859-1 §9.4 / Z1.4 §8.3.5): it ships nothing, lots falling due wait at
the supplier, and no buffer orders from it; when the hold ends the waiting lots ship. How
long the correction takes is drawn from the supplier's own corrective-action sampler
(:data:`DEFAULT_CORRECTIVE_ACTION_H` when the scenario gives none).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from shocktwin.twin.kernel import Kernel
from shocktwin.twin.model.level import Level
from shocktwin.twin.model.lever import Combine, Lever
from shocktwin.twin.model.measure import MeasuredLot, ValueStream, out_of_spec
from shocktwin.twin.model.part import Part

__all__ = ["DEFAULT_CORRECTIVE_ACTION_H", "Buffer", "Supplier"]

#: Time a supplier takes to correct its process when none is given: 30 days, the closure
#: time supplier-quality manuals commonly set for a permanent (8D) corrective action.
DEFAULT_CORRECTIVE_ACTION_H = 30 * 24.0


def _lot_flags(rng: np.random.Generator, size: int, defect_rate: float) -> list[bool]:
    """Defect flags of a lot, reversed so that ``pop()`` takes units first-in, first-out."""
    if defect_rate <= 0.0:
        return [False] * size
    return (rng.random(size) < defect_rate)[::-1].tolist()  # type: ignore[no-any-return]


class Taker(Protocol):
    """What takes units from a buffer: a unit made in the plant (``Part``) or a supplier's
    order waiting for its inputs."""

    def took_defective(self, units: int) -> None: ...


class _Order:
    __slots__ = ("bad_inputs", "buffer", "cancelled", "defective", "lead_factor", "needs",
                 "placed_h", "price", "quantity", "waiting_at")

    def __init__(self, quantity: int, buffer: Buffer, price: float = 1.0,
                 placed_h: float = 0.0, lead_factor: float = 1.0) -> None:
        self.quantity = quantity
        self.buffer = buffer
        self.cancelled = False
        self.placed_h = placed_h
        self.price = price  # multiplier on the unit price (an expediting premium)
        self.lead_factor = lead_factor
        # Inputs from the next tier: the next input line to take, where the order waits for
        # stock (None: not waiting), and the defective input units it took.
        self.needs = 0
        self.waiting_at: Buffer | None = None
        self.defective = False
        self.bad_inputs = 0

    def took_defective(self, units: int) -> None:
        self.defective = True
        self.bad_inputs += units


class Supplier:
    """Delivers lots of one material after a random lead time."""

    def __init__(self, supplier_id: str, material: str, lead_time: Callable[[], float],
                 quality_rng: np.random.Generator, defect_rate: float, kernel: Kernel,
                 disruption_rng: np.random.Generator | None = None, *,
                 unit_cost: float = 0.0, qualification_h: float = 0.0,
                 promised_h: float | None = None,
                 corrective_action: Callable[[], float] | None = None,
                 tier: int = 1, region: str | None = None, country: str | None = None) -> None:
        self.id = supplier_id
        self.material = material
        self.tier = tier
        self.region = region
        self.country = country
        # The materials it makes its lots from: (its stock of one, units per unit made).
        self.inputs: list[tuple[Buffer, int]] = []
        self.lead_time = lead_time
        self.quality_rng = quality_rng
        self.defect_rate = defect_rate
        self.kernel = kernel
        self.unit_cost = unit_cost
        self.qualification_h = qualification_h
        self.promised_h = promised_h
        # (delivered at, on time?) of recent lots, for the supplier.otd statistic.
        self.deliveries: deque[tuple[float, bool]] = deque(maxlen=10_000)
        self.lots_delivered = 0
        self.units_delivered = 0
        self.units_cancelled = 0
        self.cost = 0.0  # paid for units delivered
        self.lost = False  # gone for good (insolvent, cut off)
        self.on_hold = False  # correcting its process: ships nothing, takes no orders
        self._corrective_action = corrective_action
        self.capacity = Lever(f"{supplier_id}.capacity", 1.0, on_change=self._capacity_changed)
        self.allocation = Lever(f"{supplier_id}.allocation", 1.0,
                                on_change=self._allocation_changed)
        self.lead_time_factor = Lever(f"{supplier_id}.lead_time_factor", 1.0)
        self.defect_factor = Lever(f"{supplier_id}.defect_factor", 1.0)
        self.price_factor = Lever(f"{supplier_id}.price_factor", 1.0)
        # Extra log-normal spread of lead times (sigma); drawn from its own stream only
        # while a shock sets it, so undisturbed runs keep their random numbers.
        self.lead_time_spread = Lever(f"{supplier_id}.lead_time_spread", 0.0, Combine.MAX)
        self._disruption_rng = disruption_rng or np.random.default_rng(0)
        self._held: list[_Order] = []
        self._open: list[_Order] = []
        self._backlog: list[tuple[int, Buffer]] = []  # beyond the allocation
        self.serves: list[Buffer] = []  # buffers that list it as a source
        # Measured characteristics of its lots: (name, stream of true values, lsl, usl).
        self.characteristics: list[tuple[str, ValueStream, float | None, float | None]] = []

    def corrective_action_h(self) -> float:
        """How long this supplier's next corrective action takes (hours)."""
        if self._corrective_action is None:
            return DEFAULT_CORRECTIVE_ACTION_H
        return self._corrective_action()

    def hold(self) -> None:
        """Stop shipping and taking orders until :meth:`release`."""
        self.on_hold = True

    def release(self) -> None:
        """End the hold: lots that fell due meanwhile ship now (capacity permitting), and
        the buffers it serves review their stock."""
        if not self.on_hold:
            return
        self.on_hold = False
        self._capacity_changed(self.capacity.value)
        for buffer in self.serves:
            buffer.review()

    def order(self, quantity: int, buffer: Buffer) -> None:
        allocation = self.allocation.value
        if allocation < 1.0:
            filled = int(quantity * allocation + 0.5)
            if filled < quantity:
                self._backlog.append((quantity - filled, buffer))
            quantity = filled
            if quantity == 0:
                return
        self._place(quantity, buffer)

    def expedite(self, quantity: int, buffer: Buffer, lead_factor: float,
                 premium: float) -> None:
        """An emergency order outside the buffer's policy: faster, dearer, and placed even
        if this supplier is a backup not yet qualified."""
        buffer.on_order += quantity
        self._place(quantity, buffer, lead_factor, 1.0 + premium)

    def _place(self, quantity: int, buffer: Buffer, lead_factor: float = 1.0,
               price: float = 1.0) -> None:
        order = _Order(quantity, buffer, price, self.kernel.now(), lead_factor)
        self._open.append(order)
        if self.inputs:
            self.acquire(order)
        else:
            self._produce(order)

    def open_order(self, quantity: int, buffer: Buffer, arrives_in_h: float) -> None:
        """An order placed before the run began, arriving ``arrives_in_h`` from now (its
        inputs, if any, were taken before the start)."""
        order = _Order(quantity, buffer, 1.0, self.kernel.now())
        buffer.on_order += quantity
        self._open.append(order)
        self.kernel.schedule(arrives_in_h, self._deliver, order)

    def acquire(self, order: _Order) -> None:
        """Take the order's inputs from stock, line by line; its lead time starts once it
        has them all (a stock that is short calls back here when the next tier delivers)."""
        order.waiting_at = None
        if order.cancelled:
            return
        inputs = self.inputs
        while order.needs < len(inputs):
            stock, per_unit = inputs[order.needs]
            order.needs += 1
            if not stock.take(order, order.quantity * per_unit):
                order.waiting_at = stock
                return
        self._produce(order)

    def _produce(self, order: _Order) -> None:
        lead = self.lead_time() * self.lead_time_factor.value * order.lead_factor
        spread = self.lead_time_spread.value
        if spread > 0.0:
            lead *= float(self._disruption_rng.lognormal(0.0, spread))
        self.kernel.schedule(lead, self._deliver, order)

    def _deliver(self, order: _Order) -> None:
        if order.cancelled:
            return
        capacity = self.capacity.value
        if capacity <= 0.0 or self.on_hold:
            self._held.append(order)  # ships when the supplier can ship again
            return
        self._open.remove(order)
        quantity, buffer = order.quantity, order.buffer
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
        now = self.kernel.now()
        if self.promised_h is not None:
            self.deliveries.append((now, now - order.placed_h <= self.promised_h + 1e-9))
        self.cost += shipped * self.unit_cost * self.price_factor.value * order.price
        rate = min(self.defect_rate * self.defect_factor.value, 1.0)
        flags = self.make_lot(shipped, now) if self.characteristics \
            else _lot_flags(self.quality_rng, shipped, rate)
        if order.bad_inputs:
            # Each defective input unit spoils one unit made from it.
            spoiled = min(order.bad_inputs, shipped)
            for k in self.quality_rng.choice(shipped, spoiled, replace=False).tolist():
                flags[k] = True
        if buffer.inbound is None:
            buffer.receive(flags)
        else:
            buffer.inbound(buffer, flags, self.id)

    def make_lot(self, size: int, now: float) -> MeasuredLot:
        """A lot of measured units: each characteristic's true values, drawn as one block;
        a unit is defective when one of them is out of its limits (or, with an attribute
        defect rate as well, when that draw makes it so)."""
        values = np.column_stack([s.draw(size, now) for _, s, _, _ in self.characteristics])
        bad = np.zeros(size, dtype=bool)
        for j, (_, _, lsl, usl) in enumerate(self.characteristics):
            bad |= out_of_spec(values[:, j], lsl, usl)
        rate = min(self.defect_rate * self.defect_factor.value, 1.0)
        if rate > 0.0:
            bad |= self.quality_rng.random(size) < rate
        names = tuple(name for name, _, _, _ in self.characteristics)
        return MeasuredLot(bad.tolist(), values, names, self.id)

    def _capacity_changed(self, capacity: float) -> None:
        if capacity > 0.0 and self._held:
            held, self._held = self._held, []
            for order in held:
                self._deliver(order)

    def _allocation_changed(self, allocation: float) -> None:
        if allocation >= 1.0 and self._backlog:
            backlog, self._backlog = self._backlog, []
            for quantity, buffer in backlog:
                self._place(quantity, buffer)

    def cancel_orders(self, buffer: Buffer) -> int:
        """Cancel ``buffer``'s open orders (e.g. held at a site that is down), so they can be
        placed elsewhere; returns the units cancelled."""
        cancelled = 0
        keep = []
        for order in self._open:
            if order.buffer is buffer:
                order.cancelled = True
                buffer.on_order -= order.quantity
                cancelled += order.quantity
                if order.waiting_at is not None:
                    order.waiting_at.withdraw_waiting(order)
                    order.waiting_at = None
            else:
                keep.append(order)
        self._open = keep
        self._held = [o for o in self._held if not o.cancelled]
        self.units_cancelled += cancelled
        return cancelled

    def lose(self, extra_delay_h: float = 0.0) -> None:
        """The supplier is gone: every open order is cancelled, and each buffer it served
        moves to its next backup, which takes orders after its qualification time (or
        ``extra_delay_h``, e.g. a redesign, when that is longer)."""
        if self.lost:
            return
        self.lost = True
        buffers: dict[int, Buffer] = {id(o.buffer): o.buffer for o in self._open}
        for quantity, buffer in self._backlog:
            buffer.on_order -= quantity
            self.units_cancelled += quantity
            buffers[id(buffer)] = buffer
        self._backlog = []
        for buffer in self.serves:
            buffers[id(buffer)] = buffer
        for buffer in buffers.values():
            self.cancel_orders(buffer)  # held orders are open too
        for buffer in buffers.values():
            buffer.source_lost(self, extra_delay_h)


class Buffer:
    """Incoming stock of one material. Units wait here first-in, first-out when it is empty.

    Replenishment is continuous review: whenever the inventory position (on hand + on order
    − backorders) is at or below the reorder point, order the order quantity from the active
    source — the first supplier listed for the material, or, once it is lost, the next
    backup from the time that one is qualified.
    """

    def __init__(self, buffer_id: str, material: str, initial: list[bool], reorder_point: int,
                 order_quantity: int, supplier: Supplier, kernel: Kernel,
                 backups: list[Supplier] | None = None) -> None:
        self.id = buffer_id
        self.material = material
        self.lots: deque[list[bool]] = deque([initial] if initial else [])
        self.lot_times: deque[float] = deque([0.0] if initial else [])  # when stocked
        self.on_hand = len(initial)
        self.on_order = 0
        self.backorder = 0
        self.waiting: deque[tuple[Taker, int]] = deque()
        self.reorder_point = reorder_point
        self.order_quantity = order_quantity
        self.supplier = supplier
        self.sources = [supplier, *(backups or [])]
        for source in self.sources:
            source.serves.append(self)
        self.ready_at_h = 0.0  # the active source takes orders from this time
        self.kernel = kernel
        self.stockout = Level(1.0 if self.on_hand == 0 else 0.0)
        self.resume: Callable[[Any], None] = _unconnected
        # Incoming inspection, when a rule set plans it: lots go there before stock.
        self.inbound: Callable[[Buffer, list[bool], str], None] | None = None
        self.on_switch: Callable[[Buffer, Supplier | None, float], None] | None = None
        self.on_empty: Callable[[Buffer], None] | None = None

    def start(self) -> None:
        self.review()

    def take(self, part: Taker, quantity: int) -> bool:
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
            self.lot_times.append(now)
        self.on_hand += len(flags)
        self.on_order -= len(flags) if ordered is None else ordered
        served: list[Taker] = []
        while self.waiting and self.on_hand >= self.waiting[0][1]:
            part, quantity = self.waiting.popleft()
            self.backorder -= quantity
            self._withdraw(part, quantity)
            served.append(part)
        self.review()
        for part in served:
            self.resume(part)

    def _withdraw(self, part: Taker, quantity: int) -> None:
        lots = self.lots
        bad = 0
        for _ in range(quantity):
            flags = lots[0]
            if flags.pop():
                bad += 1
            if not flags:
                lots.popleft()
                self.lot_times.popleft()
        if bad:
            part.took_defective(bad)
        self.on_hand -= quantity
        if self.on_hand == 0:
            self.stockout.add(self.kernel.now(), 1)
            if self.on_empty is not None:
                self.on_empty(self)

    def withdraw_waiting(self, part: Taker) -> None:
        """``part`` no longer waits here for stock (its order was cancelled)."""
        for k, (waiting, quantity) in enumerate(self.waiting):
            if waiting is part:
                del self.waiting[k]
                self.backorder -= quantity
                break
        if self.waiting and self.on_hand >= self.waiting[0][1]:
            self.receive([], 0)  # the next in line may be served from stock now

    def pull_recent(self, since_h: float) -> list[list[bool]]:
        """Take the lots stocked at or after ``since_h`` out of stock (e.g. to inspect them
        again); the oldest stock, used first, stays."""
        pulled: list[list[bool]] = []
        while self.lot_times and self.lot_times[-1] >= since_h:
            self.lot_times.pop()
            flags = self.lots.pop()
            self.on_hand -= len(flags)
            pulled.append(flags)
        if pulled and self.on_hand == 0:
            self.stockout.add(self.kernel.now(), 1)
        return pulled

    def review(self) -> None:
        supplier = self.supplier
        if supplier.lost or supplier.on_hold or self.kernel.now() < self.ready_at_h:
            return  # no source to order from yet
        position = self.on_hand + self.on_order - self.backorder
        while position <= self.reorder_point:
            self.on_order += self.order_quantity
            position += self.order_quantity
            supplier.order(self.order_quantity, self)

    def source_lost(self, lost: Supplier, extra_delay_h: float = 0.0) -> None:
        """Move to the next backup that is not lost; it takes orders once qualified."""
        if lost is not self.supplier:
            self.review()
            return
        backup = next((s for s in self.sources if not s.lost), None)
        now = self.kernel.now()
        if backup is None:
            if self.on_switch is not None:
                self.on_switch(self, None, now)
            return  # nothing left to order from
        self.supplier = backup
        self.ready_at_h = now + max(backup.qualification_h, extra_delay_h)
        if self.on_switch is not None:
            self.on_switch(self, backup, self.ready_at_h)
        if self.ready_at_h > now:
            if math.isfinite(self.ready_at_h):  # else a qualification playbook says when
                self.kernel.schedule(self.ready_at_h - now, self._qualified)
        else:
            self.review()

    def switch_to(self, supplier: Supplier) -> None:
        """Order from ``supplier`` from now on (once it is qualified); orders already placed
        with the previous supplier still arrive."""
        if supplier is self.supplier or supplier.lost:
            return
        self.supplier = supplier
        now = self.kernel.now()
        self.ready_at_h = now + supplier.qualification_h
        if self.on_switch is not None:
            self.on_switch(self, supplier, self.ready_at_h)
        if self.ready_at_h > now:
            if math.isfinite(self.ready_at_h):  # else a qualification playbook says when
                self.kernel.schedule(self.ready_at_h - now, self._qualified)
        else:
            self.review()

    def _qualified(self, _: Any) -> None:
        self.review()


def _unconnected(part: Part) -> None:  # pragma: no cover - wiring error
    raise RuntimeError("buffer is not connected to the plant")
