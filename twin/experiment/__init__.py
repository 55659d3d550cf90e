"""Running the twin: replications on common random numbers, executors (local, process,
Dask), the run budget, KPI series, the recorded-data feeds handed to the model, and the
recovery indicators measured on a run's replications (resilience metrics around a shock,
the minimum recovery guarantee rate)."""

from __future__ import annotations

from shocktwin._lazy import lazy_exports

_MODULES = {
    "replication": ("ExperimentResult", "ReplicationResult", "Verdict", "build_model",
                    "run_experiment", "run_replication"),
    "executor": ("Executor", "ExecutorSpec"),
    "recovery": ("ResilienceMetrics", "resilience_of"),
    "guarantee": ("RecoveryGuarantee", "guarantees_of"),
}

__all__ = sorted(name for names in _MODULES.values() for name in names)

__getattr__, __dir__ = lazy_exports(__name__, _MODULES)
