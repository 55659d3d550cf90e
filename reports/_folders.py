"""Results folders as the report reads them: verified, then read through each result's one
reader — a run's journal and tables, ``mtd.json``, ``pareto.json``, ``stress.json`` — and a
campaign folder as the run and MTD folders of its entries.
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeGuard

import numpy as np

from shocktwin.errors import Problem, ReplayError, ShocktwinError, SimulationError

__all__ = ["REPORT_FORMAT", "ParetoFront", "ResultsFolder", "is_number", "load_results"]

#: Journal format versions this report reads (2 adds the hash chain, 3 names the tables'
#: format; a format 1 journal cannot be verified, so it is read only when told
#: ``unverified``).
REPORT_FORMAT = frozenset({1, 2, 3})
#: Largest journal or document read.
_READ_LIMIT = 1024 * 1024 * 1024
_NOT_KPIS = frozenset({"replication", "events", "bucket", "t_start_h", "t_end_h", "released"})
_JOURNAL_KEYS = ("scenario", "scenario_hash", "seed", "records", "journal_hash")
#: What a campaign folder holds besides its entries' folders (``shocktwin campaign --out``).
CAMPAIGN_FILE = "campaign.json"


def _kinds() -> tuple[Any, ...]:
    from shocktwin.twin.journal.document import DocumentKind

    return (DocumentKind.MTD, DocumentKind.PARETO, DocumentKind.STRESS)

# --------------------------------------------------------------------------- loading


@dataclass(frozen=True)
class ParetoFront:
    """Non-dominated points (objective name -> value) with a label each (their settings),
    and the dominated points evaluated on the way, as ``shocktwin optimize`` saves them."""

    objectives: tuple[str, ...]
    points: tuple[dict[str, float], ...]
    labels: tuple[str, ...]
    senses: dict[str, str] = field(default_factory=dict)  # objective -> "min" | "max"
    evaluated: tuple[dict[str, float], ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)  # scenario, scenario_hash, seed, runs


@dataclass(frozen=True)
class ResultsFolder:
    """What one results folder holds; any part may be absent."""

    path: Path
    journal: dict[str, Any] | None = None
    mtd: dict[str, Any] | None = None
    replications: dict[str, np.ndarray] | None = None
    series: dict[str, np.ndarray] | None = None
    pareto: ParetoFront | None = None
    #: ``stress.json`` as plain values: "header", "scenarios" (one per ScenarioCompared),
    #: "decided" (the GateDecided record).
    stress: dict[str, Any] | None = None
    #: Per station and replication, as the run's ``stations`` table holds them.
    stations: dict[str, np.ndarray] | None = None
    #: ``campaign.json`` of the campaign this folder is an entry of (plain JSON).
    campaign: dict[str, Any] | None = None
    #: The campaign entry's label (the history's key for the scenario), for a folder read
    #: from a campaign folder.
    entry: str = ""
    label: str = ""
    #: True when every result in the folder verified (hash chains, headers and tables as
    #: written); False when one did not and the report was asked for ``unverified``.
    intact: bool = True
    #: What ``verify`` found, one line per finding (empty when intact).
    findings: tuple[str, ...] = ()

    @property
    def scenario(self) -> dict[str, Any]:
        sc = (self.journal or {}).get("scenario")
        return sc if isinstance(sc, dict) else {}

    @property
    def name(self) -> str:
        if self.entry:
            return self.entry
        if self.scenario.get("name"):
            return str(self.scenario["name"])
        if self.mtd and self.mtd.get("scenario"):
            return str(self.mtd["scenario"])
        if self.pareto and self.pareto.meta.get("scenario"):
            return str(self.pareto.meta["scenario"])
        if self.stress and self.stress.get("scenarios"):
            return ", ".join(str(s.get("scenario")) for s in self.stress["scenarios"])
        return self.path.name

    @property
    def records(self) -> list[dict[str, Any]]:
        recs = (self.journal or {}).get("records")
        return [r for r in recs if isinstance(r, dict)] if isinstance(recs, list) else []

    def kpi_values(self) -> dict[str, np.ndarray]:
        """Each KPI over replications, from the replications table or the journal."""
        if self.replications is not None:
            return {k: np.asarray(v, dtype=float) for k, v in self.replications.items()
                    if k not in _NOT_KPIS}
        rows = [r.get("kpis") for r in self.records if r.get("kind") == "ReplicationFinished"]
        table: dict[str, list[float]] = {}
        for kpis in rows:
            if isinstance(kpis, dict):
                for k in kpis:
                    table.setdefault(k, [])
        for kpis in rows:
            for k in table:
                v = kpis.get(k) if isinstance(kpis, dict) else None
                table[k].append(float(v) if _is_number(v) else math.nan)
        return {k: np.array(v, dtype=float) for k, v in table.items()}


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _ci95(shock: Mapping[str, Any]) -> list[Any]:
    ci = shock.get("ci95")
    return list(ci) + [None] * (2 - len(ci)) if isinstance(ci, list) else [None, None]


def _is_number(value: object) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


is_number = _is_number


def load_results(results_dirs: Sequence[str | Path], *,
                 unverified: bool = False) -> list[ResultsFolder]:
    """Verify and read every results folder; raise :class:`SimulationError` listing all
    problems. A folder whose results do not verify (``shocktwin verify``) is refused unless
    ``unverified``; then it is read as far as it can be and marked as not intact."""
    if not results_dirs:
        raise SimulationError("no results folders given")
    problems: list[Problem] = []
    folders: list[ResultsFolder] = []
    for raw in results_dirs:
        path = Path(raw)
        if (path / CAMPAIGN_FILE).is_file():
            folders += _campaign_folders(path, problems, unverified=unverified)
            continue
        folder = _load_folder(path, problems, unverified=unverified)
        if folder is not None:
            folders.append(folder)
    if problems:
        raise SimulationError(problems)
    return _labelled(folders)


def _verify(path: Path) -> list[str]:
    """What ``verify`` finds in the folder: one line per finding; empty when intact."""
    from shocktwin.twin.journal.verify import verify_results

    try:
        reports = verify_results(path)
    except ShocktwinError as e:
        return [f"cannot be verified: {p}" for p in e.problems]
    return [f"{r.journal.name}: {x}" for r in reports for x in r.findings]


def _labelled(folders: list[ResultsFolder]) -> list[ResultsFolder]:
    """Each folder's label: its scenario's name, with the folder's name (or path) added
    where several folders hold the same scenario."""
    names = Counter(f.name for f in folders)
    short = Counter(f"{f.name} [{f.path.name}]" for f in folders)
    out = []
    for f in folders:
        label = f.name
        if names[f.name] > 1:
            label = f"{f.name} [{f.path.name}]"
            if short[label] > 1:
                label = f"{f.name} [{f.path}]"
        out.append(dataclasses.replace(f, label=label))
    return out


def _load_folder(path: Path, problems: list[Problem], *,
                 unverified: bool) -> ResultsFolder | None:
    from shocktwin.twin.journal.document import DOCUMENT_FILES

    where = str(path)
    if not path.exists():
        problems.append(Problem(where, "", "results folder not found"))
        return None
    if not path.is_dir():
        problems.append(Problem(where, "", "not a folder (give the folder a run, an MTD "
                                           "search, an optimisation, a stress gate or a "
                                           "campaign wrote with --out)"))
        return None
    files = [path / "journal.json", *(path / DOCUMENT_FILES[k] for k in _kinds())]
    if not any(f.is_file() for f in files):
        problems.append(Problem(where, "", "holds no journal.json (shocktwin run --out), "
                                           "mtd.json (shocktwin mtd --out), pareto.json "
                                           "(shocktwin optimize --out), stress.json "
                                           "(shocktwin stress --out) or campaign.json "
                                           "(shocktwin campaign --out)"))
        return None
    from shocktwin.locks import locked

    # Held while the folder is verified and read, so no writer swaps it in between.
    try:
        with locked(path, what="results folder", error=SimulationError, if_possible=True,
                    shared=True):
            return _verified_folder(path, problems, unverified=unverified)
    except SimulationError as e:
        problems.extend(e.problems)
        return None


def _verified_folder(path: Path, problems: list[Problem], *,
                     unverified: bool) -> ResultsFolder | None:
    from shocktwin.twin.journal.document import DOCUMENT_FILES, DocumentKind

    where = str(path)
    journal_file = path / "journal.json"
    mtd_file = path / DOCUMENT_FILES[DocumentKind.MTD]
    pareto_file = path / DOCUMENT_FILES[DocumentKind.PARETO]
    stress_file = path / DOCUMENT_FILES[DocumentKind.STRESS]
    findings = _verify(path)
    if findings and not unverified:
        more = f" (and {len(findings) - 1} more)" if len(findings) > 1 else ""
        problems.append(Problem(where, "", f"does not verify: {findings[0]}{more}; "
                                           f"`shocktwin verify {path}` lists what changed; "
                                           "give --unverified to report it anyway"))
        return None
    before = len(problems)
    journal = _read_journal(journal_file, problems) if journal_file.is_file() else None
    mtd = _read_mtd(mtd_file, problems) if mtd_file.is_file() else None
    tables: dict[str, dict[str, np.ndarray]] = {}
    if journal is not None:
        tables = _read_tables(path, ("replications", "series", "stations"), problems)
    pareto = _read_pareto(pareto_file, problems) if pareto_file.is_file() else None
    stress = _read_stress(stress_file, problems) if stress_file.is_file() else None
    if len(problems) > before:
        return None
    return ResultsFolder(path=path, journal=journal, mtd=mtd,
                         replications=tables.get("replications"), series=tables.get("series"),
                         stations=tables.get("stations"), pareto=pareto, stress=stress,
                         intact=not findings, findings=tuple(findings))


def _read_stress(file: Path, problems: list[Problem]) -> dict[str, Any] | None:
    """``stress.json`` through its one reader, as plain values."""
    from shocktwin.twin.journal.document import DocumentKind, StressDocument, read_document

    try:
        doc = read_document(file, DocumentKind.STRESS)
    except ShocktwinError as e:
        problems.extend(e.problems)
        return None
    assert isinstance(doc, StressDocument)
    skip = {"seq", "prev_hash", "hash", "kind"}
    decided = doc.decided
    try:
        return {"header": doc.model_dump(mode="json", exclude={"records"}),
                "scenarios": [r.model_dump(mode="json", exclude=skip)
                              for r in doc.comparisons],
                "decided": decided.model_dump(mode="json", exclude=skip) if decided else None}
    except (ValueError, RecursionError):
        # A value nested deeper than any result writes (a damaged or crafted file).
        problems.append(Problem(str(file), "", "a value is nested too deep to be a stress "
                                               "gate's result"))
        return None


def _campaign_folders(path: Path, problems: list[Problem], *,
                      unverified: bool) -> list[ResultsFolder]:
    """A campaign folder: each entry's run and MTD folders (``<entry>/run``,
    ``<entry>/mtd``), each verified and read as a folder of its own, carrying the
    campaign's ``campaign.json`` (read as plain JSON; its entries' results are what count)."""
    doc = _read_json(path / CAMPAIGN_FILE, problems)
    if doc is None:
        return []
    if not isinstance(doc, dict):
        problems.append(Problem(str(path / CAMPAIGN_FILE), "", "not a campaign document "
                                                               "(expected a JSON object)"))
        return []
    out: list[ResultsFolder] = []
    entries = sorted(p for p in path.iterdir() if p.is_dir())
    for entry in entries:
        for part in ("run", "mtd"):
            sub = entry / part
            if sub.is_dir():
                folder = _load_folder(sub, problems, unverified=unverified)
                if folder is not None:
                    out.append(dataclasses.replace(folder, campaign=doc, entry=entry.name))
    if not out and not problems:
        problems.append(Problem(str(path), "", "a campaign folder without results (no "
                                               "<entry>/run or <entry>/mtd folder)"))
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return value


def _read_json(file: Path, problems: list[Problem]) -> Any:
    from shocktwin.jsontext import read_json

    try:
        return read_json(file, limit=_READ_LIMIT, error=SimulationError)
    except ShocktwinError as e:
        problems.extend(e.problems)
    return None


def _read_journal(file: Path, problems: list[Problem]) -> dict[str, Any] | None:
    doc = _read_json(file, problems)
    if doc is None:
        return None
    if not isinstance(doc, dict):
        problems.append(Problem(str(file), "", "not a run journal (expected a JSON object)"))
        return None
    fmt = doc.get("format")
    if isinstance(fmt, bool) or not isinstance(fmt, int | float) or fmt not in REPORT_FORMAT:
        known = ", ".join(str(v) for v in sorted(REPORT_FORMAT))
        what = "has no format version" if fmt is None else f"has unknown format {fmt!r}"
        problems.append(Problem(str(file), "format", f"the journal {what}; this version of "
                                                     f"shocktwin reads format {known}"))
        return None
    missing = [k for k in _JOURNAL_KEYS if k not in doc]
    if missing:
        problems.append(Problem(str(file), "", f"not a complete run journal: missing "
                                               f"{', '.join(missing)}"))
        return None
    if not isinstance(doc["scenario"], dict) or not isinstance(doc["records"], list):
        problems.append(Problem(str(file), "", "not a run journal: scenario must be an "
                                               "object and records a list"))
        return None
    return doc


def _read_mtd(file: Path, problems: list[Problem]) -> dict[str, Any] | None:
    """``mtd.json`` through its one reader, as the plain values the report shows."""
    from shocktwin.twin.journal.document import DocumentKind, MtdDocument, read_document

    try:
        doc = read_document(file, DocumentKind.MTD)
    except ShocktwinError as e:
        problems.extend(e.problems)
        return None
    assert isinstance(doc, MtdDocument)
    finished = doc.finished
    skip = {"seq", "prev_hash", "hash", "kind"}
    return {"scenario": doc.scenario, "scenario_hash": doc.scenario_hash, "seed": doc.seed,
            "runs": finished.runs if finished else None,
            "runs_reused": finished.runs_reused if finished else 0,
            "command": list(doc.command), "created_utc": doc.created_utc,
            "version": doc.version, "rules": dict(doc.rules),
            "chain_hash": doc.chain_hash,
            "shocks": [r.model_dump(mode="json", exclude=skip) for r in doc.shocks]}


def _read_pareto(file: Path, problems: list[Problem]) -> ParetoFront | None:
    """``pareto.json`` through its one reader: the front, labelled by its settings."""
    from shocktwin.twin.journal.document import DocumentKind, ParetoDocument, read_document

    try:
        doc = read_document(file, DocumentKind.PARETO)
    except ShocktwinError as e:
        problems.extend(e.problems)
        return None
    assert isinstance(doc, ParetoDocument)
    finished = doc.finished
    objectives = [o.name for o in finished.objectives] if finished else []
    if len(objectives) < 2:
        problems.append(Problem(str(file), "", "a Pareto front needs at least two objectives"))
        return None

    def values(p: Any) -> dict[str, float]:
        return {k: float(v) for k, v in p.objectives.items() if v is not None}

    front = [p for p in doc.points if p.on_front]
    return ParetoFront(
        objectives=tuple(objectives), points=tuple(values(p) for p in front),
        labels=tuple(_point_label(p.decisions) for p in front),
        senses={o.name: o.sense for o in finished.objectives} if finished else {},
        evaluated=tuple(values(p) for p in doc.points),
        meta={"scenario": doc.scenario, "scenario_hash": doc.scenario_hash, "seed": doc.seed,
              "runs": finished.runs if finished else None, "chain_hash": doc.chain_hash})


def _read_tables(folder: Path, names: Iterable[str],
                 problems: list[Problem]) -> dict[str, dict[str, np.ndarray]]:
    """The run's tables from ``results.duckdb`` or from ``NAME.parquet`` files."""
    from shocktwin.edge_replay.result_tables import (
        RESULTS_DB,
        read_duckdb_tables,
        read_parquet_tables,
    )

    order = {"series": "replication, bucket", "replications": "replication"}
    db = folder / RESULTS_DB
    try:
        if db.is_file():
            tables = read_duckdb_tables(db, names, order=order)
        else:
            tables = read_parquet_tables({n: folder / f"{n}.parquet" for n in names},
                                         order=order)
    except ReplayError as e:
        problems.extend(Problem(p.file, p.path, f"results tables: {p.message}")
                        for p in e.problems)
        return {}
    return {name: {k: np.asarray(v) for k, v in columns.items()}
            for name, columns in tables.items()}


def _point_label(fields: Mapping[str, Any]) -> str:
    parts = []
    for k, v in fields.items():
        if isinstance(v, dict):
            parts += [f"{kk} = {vv}" for kk, vv in v.items()]
        else:
            parts.append(f"{k} = {v}")
    return ", ".join(parts)

