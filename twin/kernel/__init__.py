"""Engine adapters behind one narrow kernel interface: SimPy (default) and salabim."""

from __future__ import annotations

from enum import StrEnum

from shocktwin.twin.kernel.base import Handler, Kernel

__all__ = ["Engine", "Handler", "Kernel", "make_kernel"]


class Engine(StrEnum):
    """The simulation engines the twin runs on."""

    SIMPY = "simpy"  # the production engine
    SALABIM = "salabim"  # the independent cross-check


def make_kernel(engine: str) -> Kernel:
    """A fresh kernel for ``engine`` ("simpy" or "salabim"); the engine is imported here."""
    if engine == Engine.SIMPY:
        from shocktwin.twin.kernel.simpy_kernel import SimpyKernel

        return SimpyKernel()
    if engine == Engine.SALABIM:
        from shocktwin.twin.kernel.salabim_kernel import SalabimKernel

        return SalabimKernel()
    raise ValueError(f"unknown engine {engine!r}")
