"""Journals of runs: hash-chained records of what ran and what came out, and their
verification against the results written beside them."""

from __future__ import annotations

from shocktwin._lazy import lazy_exports

_MODULES = {
    "record": ("Journal", "journal_hash", "make_journal", "save_results"),
    "verify": ("VerifyReport", "verify_journal"),
}

__all__ = sorted(name for names in _MODULES.values() for name in names)

__getattr__, __dir__ = lazy_exports(__name__, _MODULES)
