"""Time-weighted levels (WIP, busy servers, stock-outs): exact areas under a step function."""

from __future__ import annotations

__all__ = ["Level"]


class Level:
    """A piecewise-constant quantity; ``area_at(t)`` is its integral from time 0 to t."""

    __slots__ = ("area", "last_h", "value")

    def __init__(self, value: float = 0.0) -> None:
        self.value = value
        self.area = 0.0
        self.last_h = 0.0

    def add(self, now_h: float, delta: float) -> None:
        self.area += self.value * (now_h - self.last_h)
        self.last_h = now_h
        self.value += delta

    def area_at(self, now_h: float) -> float:
        return self.area + self.value * (now_h - self.last_h)
