"""The run journal: what was run, on what, when, with which outcome, and a content hash.

Records are frozen dataclasses named in the past tense. The journal hash covers only what
determines the results (scenario, seed, engine, replication count and every measured
number), not times or the platform, so the same inputs give the same hash on any machine
and executor.
"""

from __future__ import annotations

import hashlib
import json
import math
import platform
import sys
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

import numpy as np

from scenarios.model import RecordedDist, Scenario
from twin.experiment import ExperimentResult

__all__ = ["JOURNAL_FORMAT", "Journal", "ReplicationFinished", "RunFinished", "RunStarted",
           "journal_hash", "make_journal", "utc_now", "version"]

JOURNAL_FORMAT = 1
Status = Literal["completed", "failed"]


def version() -> str:
    try:
        return metadata.version("shocktwin")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0+unknown"


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class RunStarted:
    at_utc: str
    scenario: str
    scenario_hash: str
    seed: int
    engine: str
    replications: int
    kind: str = "RunStarted"


@dataclass(frozen=True)
class ReplicationFinished:
    replication: int
    events: int
    kpis: dict[str, float | None]
    kind: str = "ReplicationFinished"


@dataclass(frozen=True)
class RunFinished:
    at_utc: str
    status: Status
    hypothesis_holds: bool
    kind: str = "RunFinished"


@dataclass(frozen=True)
class Journal:
    """Everything needed to know what a run was and to reproduce it."""

    version: str
    platform: str
    python: str
    command: list[str]
    scenario_file: str | None
    scenario: dict[str, Any]
    scenario_hash: str
    seed: int
    engine: str
    replications: int
    started_utc: str
    ended_utc: str
    status: Status
    journal_hash: str
    records: list[dict[str, Any]] = field(default_factory=list)
    format: int = JOURNAL_FORMAT
    #: Stores the scenario replays, with every file ingested into them and its SHA-256.
    data: list[dict[str, Any]] = field(default_factory=list)
    #: Rule-set files the scenario can load (path -> content hash).
    rules: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(_clean(asdict(self)), indent=2, sort_keys=True, allow_nan=False)


def _clean(value: Any) -> Any:
    """JSON-safe: NaN and infinities become null, numpy scalars plain numbers."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def journal_hash(result: ExperimentResult) -> str:
    """sha256 over the inputs that matter and every number measured."""
    h = hashlib.sha256()
    head = {"scenario_hash": result.scenario.content_hash(), "seed": result.seed,
            "engine": result.engine.value, "replications": len(result.replications),
            # Rule sets by content, not by path, so a clone elsewhere hashes the same.
            "rules": sorted(result.scenario.rule_files().values())}
    h.update(json.dumps(head, sort_keys=True).encode())
    for rep in result.replications:
        h.update(json.dumps({"replication": rep.replication, "events": rep.events,
                             "kpis": {k: repr(v) for k, v in rep.kpis.items()},
                             "stations": [{k: repr(v) for k, v in s.items()}
                                          for s in rep.stations],
                             "log": [{k: repr(v) for k, v in e.items()} for e in rep.log]},
                            sort_keys=True).encode())
        for key in sorted(rep.series):
            h.update(key.encode())
            h.update(np.ascontiguousarray(rep.series[key], dtype="<f8").tobytes())
    return h.hexdigest()


def make_journal(result: ExperimentResult, *, started_utc: str, ended_utc: str,
                 scenario_file: str | None, command: list[str] | None = None) -> Journal:
    sc = result.scenario
    records: list[Any] = [RunStarted(started_utc, sc.name, sc.content_hash(), result.seed,
                                     result.engine.value, len(result.replications))]
    for r in result.replications:
        records += [{"replication": r.replication, **e} for e in r.log]
        records.append(ReplicationFinished(r.replication, r.events, dict(r.kpis)))
    records.append(RunFinished(ended_utc, "completed", result.verdict.holds))
    return Journal(
        version=version(),
        platform=platform.platform(),
        python=sys.version.split()[0],
        command=list(command or []),
        scenario_file=str(Path(scenario_file).resolve()) if scenario_file else None,
        scenario=sc.model_dump(mode="json"),
        scenario_hash=sc.content_hash(),
        seed=result.seed,
        engine=result.engine.value,
        replications=len(result.replications),
        started_utc=started_utc,
        ended_utc=ended_utc,
        status="completed",
        journal_hash=journal_hash(result),
        records=[_clean(r if isinstance(r, dict) else asdict(r)) for r in records],
        data=data_provenance(sc),
        rules=sc.rule_files(),
    )


def data_provenance(scenario: Scenario) -> list[dict[str, Any]]:
    """The recorded data a scenario reads: each store and what was ingested into it."""
    from edge_replay.replay import store_provenance

    stores: list[Path] = []
    if scenario.shop is not None:
        stores.append(scenario.store_path())
    if scenario.plant is not None:
        stores += [scenario.resolve(s.lead_time.store) for s in scenario.plant.suppliers
                   if isinstance(s.lead_time, RecordedDist)]
    out = []
    for store in dict.fromkeys(p.resolve() for p in stores):
        out.append(store_provenance(store))
    return out


def result_tables(result: ExperimentResult) -> dict[str, dict[str, Any]]:
    """The run's measurements as column tables: replications, series, stations."""
    reps = result.replications
    kpi_names = list(reps[0].kpis)
    replications: dict[str, Any] = {
        "replication": np.array([r.replication for r in reps], dtype=np.int64),
        "events": np.array([r.events for r in reps], dtype=np.int64),
    }
    for k in kpi_names:
        replications[k] = np.array([r.kpis[k] for r in reps], dtype=float)
    series: dict[str, Any] = {
        "replication": np.concatenate([np.full(r.series["t_start_h"].size, r.replication,
                                               dtype=np.int64) for r in reps]),
        "bucket": np.concatenate([np.arange(r.series["t_start_h"].size, dtype=np.int64)
                                  for r in reps]),
    }
    for k in reps[0].series:
        series[k] = np.concatenate([r.series[k] for r in reps])
    keys: list[str] = []
    for r in reps:
        for row in r.stations:
            keys += [k for k in row if k not in keys]
    stations: dict[str, Any] = {"replication": np.array(
        [r.replication for r in reps for _ in r.stations], dtype=np.int64)}
    for k in keys:
        values = [row.get(k) for r in reps for row in r.stations]
        if all(isinstance(v, str) for v in values):
            stations[k] = values
        else:
            stations[k] = np.array([np.nan if v is None else v for v in values], dtype=float)
    return {"replications": replications, "series": series, "stations": stations}


def save_results(result: ExperimentResult, journal: Journal, out_dir: str | Path,
                 fmt: str = "duckdb") -> list[Path]:
    """Write the journal and the measurement tables under ``out_dir``."""
    from edge_replay.results import write_results

    return write_results(out_dir, journal.to_json(), result_tables(result), fmt)
