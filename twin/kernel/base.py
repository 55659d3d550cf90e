"""The kernel interface: the narrow waist between the model and a simulation engine.

The model is written in the event-scheduling view: it asks the kernel to call a function
after a delay and reads the clock. Anything richer (queues, servers, breakdowns) lives in
the engine-neutral model, so SimPy and salabim run exactly the same model code.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

__all__ = ["Handler", "Kernel"]

#: A model callback; it receives the argument given to ``schedule``.
Handler = Callable[[Any], None]


class Kernel(Protocol):
    """What the model needs from an engine. Time is in hours."""

    name: str

    @property
    def scheduled(self) -> int:
        """Events scheduled so far (a count, for event-rate figures)."""
        ...

    def now(self) -> float:
        """The simulation clock in hours."""
        ...

    def schedule(self, delay_h: float, handler: Handler, arg: Any = None) -> None:
        """Call ``handler(arg)`` after ``delay_h`` hours. Ties run first-in, first-out."""
        ...

    def run(self, until_h: float) -> None:
        """Run until the clock reaches ``until_h``; events at exactly ``until_h`` do not run."""
        ...
