"""The SimPy adapter of the kernel interface (the default engine).

SimPy's environment is the clock and the event queue: a model callback is an entry of its
heap, ``(time, NORMAL, eid, handler, arg)``, pushed with the environment's own event-id
counter at ``now + delay`` exactly as a ``Timeout`` is, so ties run first-in, first-out in
the order SimPy would run them. What is skipped is the per-event ``Timeout`` object and the
callback list SimPy walks for it (a fifth of the run time on the demo plant): the run loop
below pops an entry and calls its handler directly. A genuine SimPy event in the same heap
(a SimPy process sharing the environment) is processed as ``Environment.step`` does, and
``run(until)`` stops on an urgent stop event at ``until`` as ``Environment.run`` does.
"""

from __future__ import annotations

from heapq import heappop, heappush
from typing import Any

import simpy
from simpy.core import StopSimulation
from simpy.events import NORMAL, URGENT, Event

from shocktwin.twin.kernel.base import Handler

__all__ = ["SimpyKernel"]


class SimpyKernel:
    """Schedules model callbacks on a private SimPy environment's event queue."""

    name = "simpy"

    def __init__(self) -> None:
        env = self.env = simpy.Environment()
        queue: list[Any] = env._queue
        eid = env._eid
        scheduled = 0
        push, normal = heappush, NORMAL  # closure cells, not module globals, per event

        # A closure over the queue and the counters: it runs once per event, and the
        # attribute look-ups a method would make cost a tenth of the kernel's time.
        def schedule(delay_h: float, handler: Handler, arg: Any = None) -> None:
            nonlocal scheduled
            if delay_h < 0.0:
                raise ValueError(f"negative delay {delay_h}")
            # The entry a Timeout would make, with the callback in place of the event.
            push(queue, (env._now + delay_h, normal, next(eid), handler, arg))
            scheduled += 1

        def count() -> int:
            return scheduled

        # The clock, a closure too: the model reads it a few times per unit.
        def now() -> float:
            return env._now  # type: ignore[no-any-return]

        self.schedule = schedule
        self.now = now
        self._count = count

    @property
    def scheduled(self) -> int:
        """Model callbacks scheduled so far."""
        return self._count()

    def run(self, until_h: float) -> None:
        env = self.env
        if not until_h > env._now:
            return
        # As Environment.run(until): an urgent stop event at now + (until - now), so an
        # entry due at exactly ``until`` stays pending and the clock ends at that time.
        at = until_h if isinstance(until_h, int) else float(until_h)
        stop = Event(env)
        stop._ok = True
        stop._value = None
        env.schedule(stop, URGENT, at - env._now)
        stop.callbacks.append(StopSimulation.callback)  # type: ignore[union-attr]
        queue: list[Any] = env._queue
        try:
            while True:
                entry: Any = heappop(queue)
                try:
                    env._now, _, _, handler, arg = entry
                except ValueError:  # a SimPy event (four fields), not a model callback
                    env._now = entry[0]
                    _process(env, entry[3])
                    continue
                handler(arg)
        except StopSimulation:
            return


def _process(env: simpy.Environment, event: Event) -> None:
    """The rest of ``Environment.step`` for an event already popped off the queue."""
    callbacks, event.callbacks = event.callbacks, None  # type: ignore[assignment]
    assert callbacks is not None
    try:
        for callback in callbacks:
            callback(event)
    except StopSimulation:
        # As SimPy does: the callbacks not yet run go with the event, rescheduled first.
        event.callbacks = callbacks[callbacks.index(callback) + 1:]
        env.schedule(event, -1)  # type: ignore[arg-type]
        raise
    if not event._ok and not hasattr(event, "_defused"):
        exc = type(event._value)(*event._value.args)
        exc.__cause__ = event._value
        raise exc
