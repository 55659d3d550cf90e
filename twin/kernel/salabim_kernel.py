"""The salabim adapter of the kernel interface, used to cross-check the SimPy engine.

Creating a salabim Component costs about 150 µs, far too much per event or per part, so a
small pool of reusable timer components is kept: each scheduled callback borrows one idle
component, which salabim's own event list wakes at the right time.
"""

from __future__ import annotations

import math
from typing import Any

import salabim as sim

from shocktwin.twin.kernel.base import Handler

__all__ = ["SalabimKernel"]

# Generator processes: the greenlet-based "yieldless" mode is not needed here.
sim.yieldless(False)


class _Timer(sim.Component):  # type: ignore[misc]
    def setup(self, kernel: SalabimKernel) -> None:
        self.kernel = kernel
        self.handler: Handler | None = None
        self.arg: Any = None

    def process(self):  # type: ignore[no-untyped-def]
        pool = self.kernel._pool
        while True:
            handler, arg = self.handler, self.arg
            self.handler = self.arg = None
            handler(arg)  # type: ignore[misc]
            # Back in the pool only after the callback: it may schedule new events itself.
            pool.append(self)
            yield self.passivate()


class SalabimKernel:
    """Schedules model callbacks on a private salabim environment."""

    name = "salabim"

    def __init__(self) -> None:
        self.env = sim.Environment(trace=False, random_seed="*")
        self.scheduled = 0
        self._pool: list[_Timer] = []

    def now(self) -> float:
        return float(self.env.now())

    def schedule(self, delay_h: float, handler: Handler, arg: Any = None) -> None:
        if delay_h < 0:
            raise ValueError(f"negative delay {delay_h}")
        if self._pool:
            timer = self._pool.pop()
            timer.handler, timer.arg = handler, arg
            timer.activate(delay=delay_h)
        else:
            timer = _Timer(env=self.env, kernel=self, delay=delay_h)
            timer.handler, timer.arg = handler, arg
        self.scheduled += 1

    def run(self, until_h: float) -> None:
        # salabim wakes its main component at ``till`` with priority +inf by default, i.e.
        # after every event due at that time, so events at the horizon would run. Timers
        # use priority 0; waking main at -inf (and urgent) ends the run before any of them,
        # as the contract and the SimPy adapter do. Events at ``until_h`` stay pending.
        if until_h > self.now():
            self.env.run(till=until_h, priority=-math.inf, urgent=True)
