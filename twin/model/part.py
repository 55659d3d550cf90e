"""Customer orders and the units made for them; each unit carries its true quality state."""

from __future__ import annotations

__all__ = ["Order", "Part"]


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
