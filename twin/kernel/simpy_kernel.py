"""The SimPy adapter of the kernel interface (the default, fast engine)."""

from __future__ import annotations

from typing import Any

import simpy
from simpy.events import Timeout

from shocktwin.twin.kernel.base import Handler

__all__ = ["SimpyKernel"]


class SimpyKernel:
    """Schedules model callbacks as SimPy timeouts on a private environment."""

    name = "simpy"

    def __init__(self) -> None:
        self.env = simpy.Environment()
        self.scheduled = 0
        # One SimPy-side callback per model handler, made once: SimPy passes the event.
        self._wrapped: dict[Handler, Any] = {}

    def now(self) -> float:
        return self.env.now

    def schedule(self, delay_h: float, handler: Handler, arg: Any = None) -> None:
        wrapped = self._wrapped.get(handler)
        if wrapped is None:
            wrapped = self._wrapped[handler] = _wrap(handler)
        Timeout(self.env, delay_h, arg).callbacks.append(wrapped)  # type: ignore[union-attr]
        self.scheduled += 1

    def run(self, until_h: float) -> None:
        if until_h > self.env.now:
            self.env.run(until=until_h)


def _wrap(handler: Handler) -> Any:
    def fire(event: Timeout) -> None:
        handler(event.value)

    return fire
