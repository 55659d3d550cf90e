"""The discrete-event twin of a plant and everything that runs it."""

from __future__ import annotations

from twin.errors import (
    Problem,
    ReplayError,
    RuleError,
    ScenarioError,
    ShockError,
    ShocktwinError,
    SimulationError,
)
from twin.experiment import (
    Executor,
    ExperimentResult,
    KpiSummary,
    ReplicationResult,
    Verdict,
    run_experiment,
    run_replication,
)
from twin.journal import Journal, journal_hash, make_journal, save_results

__all__ = [
    "Executor",
    "ExperimentResult",
    "Journal",
    "KpiSummary",
    "Problem",
    "ReplayError",
    "ReplicationResult",
    "RuleError",
    "ScenarioError",
    "ShockError",
    "ShocktwinError",
    "SimulationError",
    "Verdict",
    "journal_hash",
    "make_journal",
    "run_experiment",
    "run_replication",
    "save_results",
]
