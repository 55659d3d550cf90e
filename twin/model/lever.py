"""Levers: model parameters that shocks move while the twin runs.

Several shocks may move one lever at once; each keeps its own contribution, and the lever
combines them (factors multiply, offsets add, caps take the minimum, floors the maximum), so a shock
that ends removes exactly its own effect.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from enum import StrEnum

__all__ = ["Combine", "Lever"]


class Combine(StrEnum):
    PRODUCT = "product"
    SUM = "sum"
    MIN = "min"
    MAX = "max"


class Lever:
    """A named parameter: ``value`` is the base combined with every active contribution."""

    __slots__ = ("_on_change", "_parts", "base", "combine", "name", "value")

    def __init__(self, name: str, base: float, combine: Combine = Combine.PRODUCT,
                 on_change: Callable[[float], None] | None = None) -> None:
        self.name = name
        self.base = base
        self.combine = combine
        self.value = base
        self._parts: dict[str, float] = {}
        self._on_change = on_change

    def set(self, source: str, value: float | None) -> None:
        """Set (or with None remove) the contribution of ``source``."""
        if value is None:
            self._parts.pop(source, None)
        else:
            self._parts[source] = value
        parts = self._parts.values()
        if not parts:
            new = self.base
        elif self.combine is Combine.PRODUCT:
            new = self.base * math.prod(parts)
        elif self.combine is Combine.SUM:
            new = self.base + math.fsum(parts)
        elif self.combine is Combine.MIN:
            new = min(self.base, *parts)
        else:
            new = max(self.base, *parts)
        if new != self.value:
            self.value = new
            if self._on_change is not None:
                self._on_change(new)
