"""Running the twin: replications on common random numbers, executors (local, process,
Dask), the run budget, KPI series and the recorded-data feeds handed to the model."""

from __future__ import annotations

from shocktwin._lazy import lazy_exports

_MODULES = {
    "replication": ("ExperimentResult", "ReplicationResult", "Verdict", "build_model",
                    "run_experiment", "run_replication"),
    "executor": ("Executor", "ExecutorSpec"),
}

__all__ = sorted(name for names in _MODULES.values() for name in names)

__getattr__, __dir__ = lazy_exports(__name__, _MODULES)
