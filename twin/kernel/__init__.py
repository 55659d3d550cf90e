"""Engine adapters behind one narrow kernel interface: SimPy (default) and salabim."""

from __future__ import annotations

from shocktwin.twin.kernel.base import Handler, Kernel

__all__ = ["Handler", "Kernel", "make_kernel"]


def make_kernel(engine: str) -> Kernel:
    """A fresh kernel for ``engine`` ("simpy" or "salabim")."""
    if engine == "simpy":
        from shocktwin.twin.kernel.simpy_kernel import SimpyKernel

        return SimpyKernel()
    if engine == "salabim":
        from shocktwin.twin.kernel.salabim_kernel import SalabimKernel

        return SalabimKernel()
    raise ValueError(f"unknown engine {engine!r}")
