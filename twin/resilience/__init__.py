"""Resilience analysis over replications: recovery indicators, the MTD search, the stress
gate, optimisation and network screening (TTS/TTR)."""

from __future__ import annotations

from shocktwin._lazy import lazy_exports

_MODULES = {
    "mtd": ("MtdResult", "MtdStatus", "find_mtd"),
    "stress": ("StressReport", "compare_rules"),
    "recovery": ("ResilienceMetrics", "resilience_of"),
}

__all__ = sorted(name for names in _MODULES.values() for name in names)

__getattr__, __dir__ = lazy_exports(__name__, _MODULES)
