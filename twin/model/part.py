"""Customer orders and the units made for them (each carries its true quality state), and
delivered lots on their way through incoming inspection."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["LotJob", "Order", "Part"]


class Order:
    """A customer order of ``remaining`` units, due at ``due_h``."""

    __slots__ = ("created_h", "due_h", "index", "remaining")

    def __init__(self, index: int, created_h: float, due_h: float, quantity: int) -> None:
        self.index = index
        self.created_h = created_h
        self.due_h = due_h
        self.remaining = quantity


class Part:
    """One unit in the plant. ``defective`` is the truth, whatever inspection concludes."""

    __slots__ = ("defective", "needs", "order", "start_h")

    def __init__(self, order: Order) -> None:
        self.order = order
        self.defective = False
        self.start_h = 0.0
        self.needs = 0  # index of the next bill-of-material line still to be picked


class LotJob:
    """A delivered lot waiting for, or under, incoming inspection."""

    __slots__ = ("buffer", "done", "flags", "kind", "material", "ordered", "plan", "sample",
                 "work_h")

    def __init__(self, material: str, buffer: Any, flags: list[bool], ordered: int,
                 kind: str, plan: Any, sample: int, work_h: float,
                 done: Callable[[LotJob, Any], None]) -> None:
        self.material = material
        self.buffer = buffer
        self.flags = flags
        self.ordered = ordered
        self.kind = kind  # "sample" or "screen"
        self.plan = plan
        self.sample = sample
        self.work_h = work_h
        self.done = done  # called with (job, station) when its inspection ends
