"""The discrete-event twin and everything that runs it.

Sub-packages, lowest layer first: ``kernel`` (engine adapters), ``model`` (the engine-neutral
plant), ``experiment`` (replications, executors, budget, recorded-data feeds), ``journal``
(tamper-evident records and their verification) and ``resilience`` (KPIs over time, MTD,
recovery, stress gate, optimisation, screening). Importing this package imports none of them;
the names most code needs are exported here and imported on first use.
"""

from __future__ import annotations

from shocktwin._lazy import lazy_exports

_MODULES = {
    "experiment.replication": ("ExperimentResult", "ReplicationResult", "Verdict",
                               "run_experiment", "run_replication"),
    "experiment.executor": ("Executor",),
    "journal.record": ("Journal", "journal_hash", "make_journal", "save_results"),
}

__all__ = sorted(name for names in _MODULES.values() for name in names)

__getattr__, __dir__ = lazy_exports(__name__, _MODULES)
