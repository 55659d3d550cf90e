"""The discrete-event twin and everything that runs it.

Sub-packages, lowest layer first: ``kernel`` (engine adapters), ``model`` (the engine-neutral
plant), ``experiment`` (replications, executors, budget, recorded-data feeds), ``journal``
(tamper-evident records and their verification) and ``resilience`` (KPIs over time, MTD,
recovery, stress gate, optimisation, screening). Importing this package imports none of them.
"""

from __future__ import annotations

__all__: list[str] = []
