"""Resilience analysis over replications: recovery indicators, the MTD search, the stress
gate, optimisation and network screening (TTS/TTR)."""

from __future__ import annotations

__all__: list[str] = []
