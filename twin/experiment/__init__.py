"""Running the twin: replications on common random numbers, executors (local, process,
Dask), the run budget, KPI series and the recorded-data feeds handed to the model."""

from __future__ import annotations

__all__: list[str] = []
