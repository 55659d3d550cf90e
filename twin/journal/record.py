"""The run journal: what was run, on what, when, with which outcome, and two kinds of hash.

Records are frozen dataclasses named in the past tense. A journal carries two hashes that
answer different questions:

- ``journal_hash`` — *can this run be reproduced?* It covers only what determines the
  results (scenario, seed, engine, replication count, rule sets and every measured number),
  not times or the platform, so the same inputs give the same hash on any machine and
  executor. Two runs of one scenario and seed have equal journal hashes.
- ``chain_hash`` — *was this journal file edited?* Every record carries ``seq`` (its
  position), ``prev_hash`` and ``hash``: ``hash`` is the sha256 of the record's canonical
  JSON (everything but ``hash``), and ``prev_hash`` is the ``hash`` of the record before it;
  the first record's ``prev_hash`` is the hash of the journal header (the fields in
  :data:`HEADER_FIELDS`, known when the run starts). ``chain_hash`` is the last record's
  hash. It covers UTC times, the platform and the command line, so it differs from run to
  run; that is expected. The closing facts (end time, status, ``journal_hash`` and the
  sha256 of each results table) are in the last record, ``RunFinished``, so they are in the
  chain too. ``twin.verify`` recomputes the chain and reports what was changed.

A chain shows edits made without recomputing the hashes that follow. Someone who rewrites a
journal and every hash after the edit, header and ``chain_hash`` included, is only caught by
comparing ``chain_hash`` with a copy kept elsewhere (a CI log, a ticket).
"""

from __future__ import annotations

import hashlib
import json
import platform
import sys
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from shocktwin.jsontext import canonical_json, json_ready
from shocktwin.scenarios.model import RecordedDist, Scenario
from shocktwin.twin.experiment.replication import ExperimentResult, VerdictState

if TYPE_CHECKING:
    from shocktwin.edge_replay.results import ResultsClaim

__all__ = ["CHAIN_FIELDS", "HEADER_FIELDS", "JOURNAL_FORMAT", "JOURNAL_FORMATS", "Journal",
           "ReplicationFinished", "RunFinished", "RunStarted", "canonical_json",
           "chain_records", "header_hash", "journal_hash", "json_ready", "make_journal",
           "record_hash", "table_digests", "utc_now", "version"]

#: 2: records are hash-chained (``seq``, ``prev_hash``, ``hash``; ``chain_hash``), and
#: ``RunFinished`` carries ``journal_hash`` and the sha256 of each results table.
#: 3: ``RunFinished`` also names the format the tables were written in, so tables that were
#: removed are found missing rather than not checked.
JOURNAL_FORMAT = 3
#: Journal formats ``verify`` and ``report`` read.
JOURNAL_FORMATS = (2, 3)
#: The journal's top-level fields the first record is chained to: all known when the run
#: starts (the end time, status and hashes are in the last record instead).
HEADER_FIELDS: tuple[str, ...] = (
    "format", "version", "platform", "python", "command", "scenario_file", "scenario",
    "scenario_hash", "seed", "engine", "replications", "started_utc", "data", "rules")
#: The keys the chain adds to every record.
CHAIN_FIELDS: tuple[str, ...] = ("seq", "prev_hash", "hash")
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
    #: True when the hypothesis holds, False when violated, None when undecided or when the
    #: scenario states none (kept for readers older than ``verdict``).
    hypothesis_holds: bool | None
    #: The reproducibility hash, also at the journal's top level.
    journal_hash: str = ""
    #: Results table name -> sha256 of its columns (see :func:`table_digests`).
    tables_sha256: dict[str, str] = field(default_factory=dict)
    #: "duckdb" or "parquet": where the tables are (format 3).
    tables_format: str = ""
    #: The verdict: "holds", "violated", "undecided" or "none" (no tolerances).
    verdict: str = ""
    #: Replications in which all tolerances held together, and the Wilson interval of that
    #: share at ``level`` (NaN, written null, without tolerances).
    held: int = 0
    share_low: float = float("nan")
    share_high: float = float("nan")
    level: float = 0.95
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
    #: The last record's ``hash`` (see the module docstring); empty when there are no records.
    chain_hash: str = ""

    def to_json(self) -> str:
        return json.dumps(json_ready(asdict(self)), indent=2, sort_keys=True, allow_nan=False)


def header_hash(header: Mapping[str, Any]) -> str:
    """sha256 of the journal's :data:`HEADER_FIELDS` (a missing one counts as null)."""
    head = {name: header.get(name) for name in HEADER_FIELDS}
    return hashlib.sha256(canonical_json(head).encode()).hexdigest()


def record_hash(record: Mapping[str, Any]) -> str:
    """sha256 of a record's canonical JSON without its own ``hash`` key."""
    body = {k: v for k, v in record.items() if k != "hash"}
    return hashlib.sha256(canonical_json(body).encode()).hexdigest()


def chain_records(records: Iterable[Mapping[str, Any]], head: str
                  ) -> tuple[list[dict[str, Any]], str]:
    """The records with ``seq``, ``prev_hash`` and ``hash`` added, and the chain's last hash.

    ``records`` must be JSON-ready (see ``json_ready``) and hold none of :data:`CHAIN_FIELDS`;
    ``head`` is the :func:`header_hash` the first record is chained to.
    """
    out: list[dict[str, Any]] = []
    prev = head
    for seq, record in enumerate(records):
        taken = [k for k in CHAIN_FIELDS if k in record]
        if taken:
            raise ValueError(f"record {seq} already has the chain key(s) {', '.join(taken)}")
        linked = {**record, "seq": seq, "prev_hash": prev}
        prev = linked["hash"] = record_hash(linked)
        out.append(linked)
    return out, prev


def table_digests(tables: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """sha256 of each table's columns (name, kind and values, in order).

    Columns are numpy arrays or lists of text, as :func:`result_tables` makes them or as they
    are read back from DuckDB or Parquet; integers hash as int64 and floats as float64 with
    one NaN, so a table hashes the same before writing and after reading.
    """
    out: dict[str, str] = {}
    for name, columns in tables.items():
        h = hashlib.sha256()
        for column, values in columns.items():
            tag, data = _column_bytes(values)
            h.update(canonical_json([column, tag, len(values)]).encode())
            h.update(data)
        out[name] = h.hexdigest()
    return out


def _column_bytes(values: Any) -> tuple[str, bytes]:
    arr = np.asarray(values)
    if arr.dtype.kind in "iu":
        return "int64", np.ascontiguousarray(arr, dtype="<i8").tobytes()
    if arr.dtype.kind == "b":
        return "bool", np.ascontiguousarray(arr, dtype="u1").tobytes()
    if arr.dtype.kind == "f":
        floats = np.asarray(arr, dtype="<f8")
        # NaN has many bit patterns; a store may hand back another one than was written.
        floats = np.where(np.isnan(floats), np.nan, floats).astype("<f8")
        return "float64", np.ascontiguousarray(floats).tobytes()
    text = json.dumps([json_ready(v) for v in arr.tolist()], ensure_ascii=True, allow_nan=False)
    return "json", text.encode()


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
                             "log": [{k: repr(v) for k, v in e.record().items()}
                                     for e in rep.log]},
                            sort_keys=True).encode())
        for key in sorted(rep.series):
            h.update(key.encode())
            h.update(np.ascontiguousarray(rep.series[key], dtype="<f8").tobytes())
    return h.hexdigest()


def make_journal(result: ExperimentResult, *, started_utc: str, ended_utc: str,
                 scenario_file: str | None, command: list[str] | None = None,
                 tables_format: str = "duckdb") -> Journal:
    """The journal of a finished run whose tables are saved in ``tables_format``."""
    sc = result.scenario
    digest = journal_hash(result)
    records: list[Any] = [RunStarted(started_utc, sc.name, sc.content_hash(), result.seed,
                                     result.engine.value, len(result.replications))]
    for r in result.replications:
        records += [{"replication": r.replication, **e.record()} for e in r.log]
        records.append(ReplicationFinished(r.replication, r.events, dict(r.kpis)))
    if result.guarantees:
        from shocktwin.twin.experiment.guarantee import to_record

        # The minimum recovery guarantee rate of each shock (hypothesis.recovery).
        records += [{"kind": "RecoveryGuaranteeMeasured", **to_record(g)}
                    for g in result.guarantees]
    v = result.verdict
    holds = {VerdictState.HOLDS: True, VerdictState.VIOLATED: False}.get(v.state)
    records.append(RunFinished(ended_utc, "completed", holds, digest,
                               table_digests(result_tables(result)), tables_format,
                               v.state.value, v.held, v.share_low, v.share_high, v.level))
    header: dict[str, Any] = json_ready({
        "format": JOURNAL_FORMAT,
        "version": version(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "command": list(command or []),
        "scenario_file": str(Path(scenario_file).resolve()) if scenario_file else None,
        "scenario": sc.model_dump(mode="json"),
        "scenario_hash": sc.content_hash(),
        "seed": result.seed,
        "engine": result.engine.value,
        "replications": len(result.replications),
        "started_utc": started_utc,
        "data": data_provenance(sc),
        "rules": sc.rule_files(),
    })
    chained, last = chain_records(
        [json_ready(r if isinstance(r, dict) else asdict(r)) for r in records], header_hash(header))
    return Journal(
        version=header["version"],
        platform=header["platform"],
        python=header["python"],
        command=header["command"],
        scenario_file=header["scenario_file"],
        scenario=header["scenario"],
        scenario_hash=header["scenario_hash"],
        seed=header["seed"],
        engine=header["engine"],
        replications=header["replications"],
        started_utc=started_utc,
        ended_utc=ended_utc,
        status="completed",
        journal_hash=digest,
        records=chained,
        data=header["data"],
        rules=header["rules"],
        chain_hash=last,
    )


def data_provenance(scenario: Scenario) -> list[dict[str, Any]]:
    """The recorded data a scenario reads: each store and what was ingested into it."""
    from shocktwin.edge_replay.replay import store_provenance

    stores: list[Path] = []
    if scenario.shop is not None:
        stores.append(scenario.store_path())
    plant = scenario.plant
    if plant is not None:
        # Recorded lead times, the operations log, recorded downtime, AI-gate features, the
        # snapshot of a warm start.
        stores += [scenario.resolve(s.lead_time.store) for s in plant.suppliers
                   if isinstance(s.lead_time, RecordedDist)]
        log = getattr(plant, "log", None)
        if log is not None:
            stores.append(scenario.resolve(log.store))
        start = scenario.start_state
        if start is not None and start.store is not None:
            stores.append(scenario.resolve(start.store))
        for st in plant.stations:
            for spec in (getattr(st, "downtime", None), getattr(st, "ai", None)):
                if spec is not None:
                    stores.append(scenario.resolve(spec.store))
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


def save_results(result: ExperimentResult, journal: Journal, out_dir: str | Path, *,
                 replace: bool = False, claim: ResultsClaim | None = None) -> list[Path]:
    """Write the journal and the measurement tables under ``out_dir`` as a whole, in the
    format the journal names (a folder that holds something already is refused unless
    ``replace``). ``claim``: the folder's lock, when the caller took it before the run."""
    from shocktwin.edge_replay.results import claim_results_folder

    closing = journal.records[-1] if journal.records else {}
    fmt = closing.get("tables_format") or "duckdb"
    tables = result_tables(result)
    if claim is not None:
        return claim.write(journal.to_json(), tables, fmt)
    with claim_results_folder(out_dir, replace=replace) as held:
        return held.write(journal.to_json(), tables, fmt)
