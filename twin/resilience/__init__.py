"""Resilience analysis over replications: the MTD search, the stress gate, campaigns and
their history, optimisation and network screening (TTS/TTR). The recovery indicators of a
run (``twin.experiment.recovery``, ``twin.experiment.guarantee``) live with the
replications they are measured on."""

from __future__ import annotations

from shocktwin._lazy import lazy_exports

_MODULES = {
    "mtd": ("MtdResult", "MtdStatus", "find_mtd"),
    "stress": ("StressReport", "compare_rules"),
}

__all__ = sorted(name for names in _MODULES.values() for name in names)

__getattr__, __dir__ = lazy_exports(__name__, _MODULES)
