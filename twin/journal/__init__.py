"""Journals of runs: hash-chained records of what ran and what came out, and their
verification against the results written beside them."""

from __future__ import annotations

__all__: list[str] = []
