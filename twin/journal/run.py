"""A run's life cycle, from scenario file to journaled results: load → validate → check the
output folder → run → journal → save, as ``shocktwin run`` does it.

The command line parses its options, calls :func:`run_scenario` and renders the
:class:`RunOutcome`; nothing of the life cycle is left to it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shocktwin.edge_replay.results import ResultsFormat, claim_results_folder
from shocktwin.jsontext import json_ready
from shocktwin.scenarios.loader import load_scenario
from shocktwin.twin.experiment.budget import RunEstimate, estimate_run
from shocktwin.twin.experiment.executor import LOCAL, ExecutorSpec
from shocktwin.twin.experiment.replication import (
    ExperimentResult,
    VerdictState,
    run_experiment,
    run_until_decided,
)
from shocktwin.twin.journal.record import journal_hash, make_journal, save_results, utc_now
from shocktwin.twin.kernel import Engine

__all__ = ["RunOutcome", "run_scenario"]


@dataclass(frozen=True)
class RunOutcome:
    """What a run gives its caller: the result, its hashes and the files written."""

    scenario_file: Path
    result: ExperimentResult
    #: The reproducibility hash (same inputs, same hash; see ``twin.journal.record``).
    journal_hash: str
    #: Files written under the output folder (empty when nothing was saved).
    written: tuple[Path, ...] = ()
    #: The saved journal's chain hash, to keep elsewhere for ``verify --chain-hash``.
    chain_hash: str | None = None

    @property
    def holds(self) -> bool:
        return self.result.verdict.holds

    @property
    def state(self) -> VerdictState:
        return self.result.verdict.state

    def summary(self) -> dict[str, Any]:
        """The outcome as ``run --json`` prints it (non-finite numbers as null)."""
        from shocktwin.twin.experiment.guarantee import to_record

        result = self.result
        verdict = result.verdict
        sc = result.scenario
        stations: dict[str, dict[str, float | None]] = {}
        for rep in result.replications:
            for row in rep.stations:
                acc = stations.setdefault(row["station"], {})
                for k, v in row.items():
                    if isinstance(v, int | float) and not isinstance(v, bool):
                        acc[k] = (acc.get(k) or 0.0) + v / len(result.replications)
        doc: dict[str, Any] = {
            "scenario": sc.name,
            "scenario_hash": sc.content_hash(),
            "seed": result.seed,
            "engine": result.engine.value,
            "replications": len(result.replications),
            "events": result.events,
            "kpis": {k: {"mean": s.mean, "std": s.std, "ci_low": s.ci_low,
                         "ci_high": s.ci_high, "n": s.n} for k, s in result.summary.items()},
            "stations": stations,
            "hypothesis": {
                "state": verdict.state.value,
                "holds": verdict.holds,
                "required": verdict.required,
                "observed": verdict.observed,
                "held": verdict.held,
                "n": verdict.n,
                "share_low": verdict.share_low,
                "share_high": verdict.share_high,
                "level": verdict.level,
                "checks": [{"kpi": c.tolerance.kpi.value,
                            **({"product": c.tolerance.product} if c.tolerance.product
                               else {}),
                            "min": c.tolerance.min,
                            "max": c.tolerance.max, "mean": c.mean,
                            "share_within": c.share_within} for c in verdict.checks],
            },
            "recovery": [to_record(g) for g in result.guarantees],
            "journal_hash": self.journal_hash,
            "output": [str(p) for p in self.written],
        }
        seq = result.sequential
        if seq is not None:
            doc["until_decided"] = {
                "looks": [{"n": look.n, "held": look.held, "state": look.state.value,
                           "share_low": look.interval.low, "share_high": look.interval.high}
                          for look in seq.looks],
                "planned": list(seq.plan.sizes), "alpha": seq.plan.alpha,
                "level": seq.plan.level, "stopped": seq.stopped}
        if self.chain_hash is not None:
            doc["chain_hash"] = self.chain_hash
        return json_ready(doc)


def run_scenario(scenario_file: str | Path, *, replications: int | None = None,
                 seed: int | None = None, engine: Engine | None = None,
                 executor: ExecutorSpec = LOCAL, out: str | Path | None = None,
                 fmt: ResultsFormat | str = ResultsFormat.DUCKDB, replace: bool = False,
                 progress: Callable[[int, int], None] | None = None,
                 estimated: Callable[[RunEstimate], None] | None = None,
                 allowed_roots: Sequence[str | Path] = (),
                 command: Sequence[str] | None = None,
                 until_decided: bool = False) -> RunOutcome:
    """Load and validate the scenario, run its replications, and — with ``out`` — journal
    and save the results there as a whole.

    The output folder is checked and locked before the clock starts (one that holds
    something is refused unless ``replace``; one another command is writing is refused) and
    stays locked until the results are in place, so bad input never runs and a run never
    mixes its files with another's. ``estimated`` is told what the run is expected to take
    (CPU time, memory) before it starts. Files the scenario names must lie in its folder or
    in one of ``allowed_roots``. With ``until_decided`` replications are added in looks
    (``run_until_decided``) until the hypothesis verdict is decided, starting from
    ``replications``.
    """
    path = Path(scenario_file)
    fmt = ResultsFormat(fmt)
    scenario = load_scenario(path, allowed_roots=allowed_roots)
    if estimated is not None:
        estimated(estimate_run(scenario, replications))
    folder = Path(out) if out is not None else None
    with (claim_results_folder(folder, replace=replace) if folder is not None
          else contextlib.nullcontext()) as claim:
        started = utc_now()
        run = run_until_decided if until_decided else run_experiment
        result = run(scenario, replications=replications, seed=seed, engine=engine,
                     executor=executor.kind, workers=executor.workers,
                     scheduler=executor.scheduler, progress=progress)
        digest = journal_hash(result)
        if claim is None:
            return RunOutcome(path, result, digest)
        journal = make_journal(result, started_utc=started, ended_utc=utc_now(),
                               scenario_file=str(path), command=list(command or []),
                               tables_format=fmt.value)
        written = save_results(result, journal, claim.out, claim=claim)
    return RunOutcome(path, result, digest, tuple(written), journal.chain_hash)

