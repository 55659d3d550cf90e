"""Customer orders and the units made for them (each carries its true quality state), and
delivered lots on their way through incoming inspection."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Any

__all__ = ["LotJob", "Order", "Part", "new_order"]


class Order:
    """A customer order of ``remaining`` units of ``product``, due at ``due_h``."""

    __slots__ = ("created_h", "due_h", "index", "product", "remaining")

    def __init__(self, index: int, created_h: float, due_h: float, quantity: int,
                 product: Any = None) -> None:
        self.index = index
        self.created_h = created_h
        self.due_h = due_h
        self.remaining = quantity
        self.product = product  # the plant's route of the product ordered


def new_order(index: int, created_h: float, due_h: float, quantity: int,
              product: Any = None) -> Order:
    """``Order(index, created_h, due_h, quantity, product)`` without CPython's class call
    into ``__init__`` (a quarter of an order's cost to build; a plant builds one per
    arrival). It sets every slot ``Order.__init__`` sets: a change there goes here too."""
    order: Order = _new(Order)
    order.index = index
    order.created_h = created_h
    order.due_h = due_h
    order.remaining = quantity
    order.product = product
    return order


_new = object.__new__


class Part:
    """One unit in the plant (a ``Work`` for its stations). ``defective`` is the truth,
    whatever inspection concludes."""

    __slots__ = ("at_release_h", "defective", "needs", "order", "route", "start_h", "step")

    def __init__(self, order: Order) -> None:
        self.order = order
        self.route = order.product  # its product's routing through the plant
        self.step = 0  # index of the routing step it is at
        self.defective = False
        self.start_h = 0.0
        self.needs = 0  # index of the next bill-of-material line still to be picked
        self.at_release_h = -1.0  # when it reached quality release (-1: not yet)

    def took_defective(self, units: int) -> None:
        """``units`` of the material it took were defective, so it is too."""
        self.defective = True


class LotKind(StrEnum):
    """How a lot at an inspection station is inspected."""

    SAMPLE = "sample"  # the plan's sample of the lot
    SCREEN = "screen"  # every unit (100 %, a rejected lot's rest, a forced full inspection)
    RECALL = "recall"  # units shipped and called back


class LotJob:
    """A delivered lot waiting for, or under, incoming inspection (a ``Work`` for the
    inspection station)."""

    __slots__ = ("buffer", "defective", "done", "flags", "kind", "material", "ordered", "plan",
                 "sample", "supplier", "work_h")

    def __init__(self, material: str, buffer: Any, flags: list[bool], ordered: int,
                 kind: LotKind, plan: Any, sample: int, work_h: float,
                 done: Callable[[LotJob, Any], None], *, supplier: str | None = None) -> None:
        self.material = material
        self.buffer = buffer
        self.flags = flags
        self.ordered = ordered
        self.kind = kind
        self.plan = plan
        self.sample = sample
        self.work_h = work_h
        self.supplier = supplier  # who delivered the lot (None for recalled units)
        self.done = done  # called with (job, station) when its inspection ends
        # A lot's truth is unit by unit, in ``flags``; only process stations set ``defective``
        # and a lot visits none, so it stays False.
        self.defective = False
