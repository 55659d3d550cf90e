"""Result documents besides a run's journal — ``mtd.json``, ``pareto.json``, ``stress.json`` —
as typed models with one writer and one reader, hash-chained like the journal.

A document is a header (what was searched, on which scenario and rule sets, by which
version, when, with which command) and a list of records (one per result: an MTD found, a
mitigation evaluated, a scenario compared) closed by a record that states the outcome. The
records carry ``seq``, ``prev_hash`` and ``hash`` exactly as a journal's do
(:func:`twin.journal.record.chain_records`); the first is chained to the sha256 of the
header, and ``chain_hash`` is the last record's hash. So an edited, removed, inserted or
reordered record, or an edited header, is found by ``shocktwin verify``; a document rewritten
as a whole, hashes and all, is found by comparing ``chain_hash`` with a copy kept elsewhere.

:func:`make_document` builds one from typed records, :func:`write_document` writes it (as a
whole, the caller's umask), :func:`read_document` reads it back into the typed model after the
bounded reader's checks. ``report`` and ``verify`` both read through :func:`read_document`.
"""

from __future__ import annotations

import hashlib
import json
import platform
import sys
from collections.abc import Mapping, Sequence
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shocktwin.errors import SimulationError
from shocktwin.files import write_atomic
from shocktwin.jsontext import read_json
from shocktwin.twin.journal.record import (
    canonical_json,
    chain_records,
    json_ready,
    utc_now,
    version,
)

__all__ = ["DOCUMENT_FILES", "DOCUMENT_FORMAT", "DOCUMENT_HEADER_FIELDS", "CampaignDocument",
           "CampaignFinished", "Document", "DocumentError", "DocumentKind", "GateDecided",
           "Guarantee", "MtdDocument", "MtdFound", "MtdStatus", "Objective",
           "OptimisationFinished", "ParetoDocument", "PointEvaluated", "ScenarioCompared",
           "ScenarioReviewed", "SearchFinished", "StressDocument", "Threshold", "closing_kind",
           "document_header_hash", "load_raw", "make_document", "read_document", "to_json",
           "write_document"]

#: 1: the first chained document format.
DOCUMENT_FORMAT = 1
#: The header fields the first record is chained to (all of them: a document is written once,
#: when its search has finished).
DOCUMENT_HEADER_FIELDS: tuple[str, ...] = (
    "format", "kind", "version", "platform", "python", "command", "created_utc", "scenario",
    "scenario_hash", "seed", "rules")
#: Largest document read back (a search over many shocks is a few hundred kB).
_READ_LIMIT = 64 * 1024 * 1024


class DocumentError(SimulationError):
    """A result document cannot be read, or is not one this version reads."""


class DocumentKind(StrEnum):
    """The kinds of result document, each written by one command."""

    MTD = "mtd"  # shocktwin mtd --out
    PARETO = "pareto"  # shocktwin optimize --out
    STRESS = "stress"  # shocktwin stress --out
    CAMPAIGN = "campaign"  # shocktwin campaign --out


#: The file each kind is written to inside a results folder.
DOCUMENT_FILES: dict[DocumentKind, str] = {
    DocumentKind.MTD: "mtd.json", DocumentKind.PARETO: "pareto.json",
    DocumentKind.STRESS: "stress.json", DocumentKind.CAMPAIGN: "campaign.json"}

class MtdStatus(StrEnum):
    """How an MTD search ended."""

    CONVERGED = "converged"  # the MTD is inside the range, to the resolution
    BELOW_RANGE = "below_range"  # the hypothesis fails already at the range's low end
    ABOVE_RANGE = "above_range"  # it still holds at the range's high end
    NOT_CONVERGED = "not_converged"  # the replications did not settle the question


# Numbers in documents: finite, or null; a censored MTD end is "above_range"/"below_range".
Number = float | None
Censored = float | Literal["above_range", "below_range"] | None


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    # The chain keys, present once a record has been chained.
    seq: int | None = None
    prev_hash: str | None = None
    hash: str | None = None


class Threshold(BaseModel):
    """One replication's tolerable and failing severity in an MTD search."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    replication: int
    tolerable: Censored
    failing: Censored
    broken: list[str]


class Guarantee(BaseModel):
    """The minimum recovery guarantee rate of a shock at one severity
    (:func:`shocktwin.twin.experiment.guarantee.to_record`): the share of replications whose
    binding KPIs were back at ``level_pct`` % of their pre-shock level within ``rto_h`` of
    the onset, with its Wilson interval; robustness and TTR percentiles with theirs. A null
    TTR percentile lies beyond the horizon (``never_recovered`` replications did not come
    back) or was not measured."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    shock: str
    severity: Number
    level_pct: float
    rto_h: float
    n: int
    recovered: int
    rate: Number
    low: Number
    high: Number
    target: Number
    state: Literal["meets", "misses", "undecided"] | None
    robustness_pct: Number
    robustness_low: Number
    robustness_high: Number
    robustness_min: Number
    ttr_p50_h: Number
    ttr_p50_low: Number
    ttr_p50_high: Number
    ttr_p90_h: Number
    ttr_p90_low: Number
    ttr_p90_high: Number
    failed_share: Number
    failure_pct: Number = None
    never_recovered: int = 0
    unmeasured: int = 0
    kpis: list[str] = Field(default_factory=list)
    binding_counts: dict[str, int] = Field(default_factory=dict)


class MtdFound(_Record):
    """The maximum tolerable disruption of one shock, with its interval and its evidence."""

    kind: Literal["MtdFound"] = "MtdFound"
    shock: str
    axis: str
    unit: str
    probability: float
    range: tuple[float, float]
    resolution: float
    status: MtdStatus
    mtd: Censored
    ci95: tuple[Censored, Censored]
    target: Number
    meets_target: bool | None
    binding_kpi: str | None
    binding_counts: dict[str, int]
    replications: int
    #: Runs the search needed; of them, ``runs_reused`` came from an earlier search's log.
    runs: int
    runs_reused: int
    non_monotone_replications: list[int]
    resilience_at_mtd: dict[str, float | str | None]
    iso22301: dict[str, Any]
    notes: list[str]
    thresholds: list[Threshold]
    fails: bool
    # The recovery guarantee (a hypothesis with a recovery only; left out otherwise, so a
    # search without one writes what it wrote before).
    #: The guarantee at each point of the scan grid, ascending in severity.
    guarantee_curve: list[Guarantee] = Field(default_factory=list,
                                             exclude_if=lambda v: not v)
    #: The guarantee at the MTD found.
    guarantee_at_mtd: Guarantee | None = Field(None, exclude_if=lambda v: v is None)
    #: The guarantee at the shock's own severity (the scenario as written).
    guarantee: Guarantee | None = Field(None, exclude_if=lambda v: v is None)


class SearchFinished(_Record):
    """The close of an MTD search: runs needed and, of them, reused from an earlier search's
    log; whether any MTD fails."""

    kind: Literal["SearchFinished"] = "SearchFinished"
    runs: int
    runs_reused: int
    fails: bool


class PointEvaluated(_Record):
    """One mitigation setting that an optimisation evaluated, and its objectives."""

    kind: Literal["PointEvaluated"] = "PointEvaluated"
    decisions: dict[str, Any]
    objectives: dict[str, Number]
    on_front: bool


class Objective(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    sense: Literal["min", "max"]


class OptimisationFinished(_Record):
    """The close of an optimisation: its objectives and the runs it took."""

    kind: Literal["OptimisationFinished"] = "OptimisationFinished"
    objectives: list[Objective]
    runs: int
    runs_reused: int


class ScenarioCompared(_Record):
    """The stress gate's comparison of baseline and candidate rules on one scenario: the
    paired KPI differences and MTD differences, or why it does not test the candidate."""

    kind: Literal["ScenarioCompared"] = "ScenarioCompared"
    scenario: str
    file: str
    replications: int
    hypothesis_baseline: bool | None
    hypothesis_candidate: bool | None
    #: Why the scenario cannot tell the candidate from the baseline (None: it tests it).
    untested: str | None
    #: A KPI tolerance newly broken or a significant MTD drop beyond the tolerance.
    failed: bool
    kpis: list[dict[str, Any]]
    mtds: list[dict[str, Any]]


class GateDecided(_Record):
    """The close of a stress gate: regression, untested scenarios, and the verdict under
    the policy for untested scenarios."""

    kind: Literal["GateDecided"] = "GateDecided"
    baseline: str
    candidate: str
    baseline_hash: str
    candidate_hash: str
    tolerance: float
    #: ``--fail-on-untested``: any, all or never.
    policy: Literal["any", "all", "never"]
    regression: bool
    failed: bool
    untested: list[str]


class ScenarioReviewed(_Record):
    """One scenario of a campaign review: its baseline verdict, where its run and searches
    are (folders relative to the campaign's), and its result rows as the history holds them
    (one per shock × indicator, and the baseline's ``hypothesis_share``)."""

    kind: Literal["ScenarioReviewed"] = "ScenarioReviewed"
    label: str
    scenario: str
    file: str
    scenario_hash: str
    rules_hash: str
    run: str
    mtd: str
    verdict: dict[str, Any]
    shocks: list[str]
    #: Library shock types a ``shocks: all`` sweep left out, and why.
    skipped_library_shocks: dict[str, str]
    mitigations: list[dict[str, Any]]
    review_interval_days: float
    results: list[dict[str, Any]]


class CampaignFinished(_Record):
    """The close of a campaign review: the counts of tests, the portfolio score and its
    components, the regressions against the previous review, and whether it fails."""

    kind: Literal["CampaignFinished"] = "CampaignFinished"
    review: str
    suite: str
    suite_hash: str
    started_utc: str
    finished_utc: str
    previous_review: str | None
    history: str
    runs: int
    runs_computed: int
    passed: int
    failed: int
    undecided: int
    score: float | None
    score_components: dict[str, Any]
    regressions: list[dict[str, Any]]
    fails: bool


class _Header(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    format: int
    kind: DocumentKind
    version: str
    platform: str
    python: str
    command: list[str]
    created_utc: str
    #: The scenario's name (a stress gate over several: null, see its records).
    scenario: str | None
    scenario_hash: str | None
    seed: int | None
    #: Rule-set files the result depends on (path -> content hash).
    rules: dict[str, str]
    chain_hash: str


class MtdDocument(_Header):
    """``mtd.json``."""

    kind: Literal[DocumentKind.MTD] = DocumentKind.MTD
    records: list[Annotated[MtdFound | SearchFinished, Field(discriminator="kind")]]

    @property
    def shocks(self) -> list[MtdFound]:
        return [r for r in self.records if isinstance(r, MtdFound)]

    @property
    def finished(self) -> SearchFinished | None:
        return next((r for r in self.records if isinstance(r, SearchFinished)), None)


class ParetoDocument(_Header):
    """``pareto.json``."""

    kind: Literal[DocumentKind.PARETO] = DocumentKind.PARETO
    records: list[Annotated[PointEvaluated | OptimisationFinished, Field(discriminator="kind")]]

    @property
    def points(self) -> list[PointEvaluated]:
        return [r for r in self.records if isinstance(r, PointEvaluated)]

    @property
    def finished(self) -> OptimisationFinished | None:
        return next((r for r in self.records if isinstance(r, OptimisationFinished)), None)


class StressDocument(_Header):
    """``stress.json``."""

    kind: Literal[DocumentKind.STRESS] = DocumentKind.STRESS
    records: list[Annotated[ScenarioCompared | GateDecided, Field(discriminator="kind")]]

    @property
    def comparisons(self) -> list[ScenarioCompared]:
        return [r for r in self.records if isinstance(r, ScenarioCompared)]

    @property
    def decided(self) -> GateDecided | None:
        return next((r for r in self.records if isinstance(r, GateDecided)), None)


class CampaignDocument(_Header):
    """``campaign.json`` (its header's scenario and scenario_hash are the suite's name and
    hash)."""

    kind: Literal[DocumentKind.CAMPAIGN] = DocumentKind.CAMPAIGN
    records: list[Annotated[ScenarioReviewed | CampaignFinished, Field(discriminator="kind")]]

    @property
    def scenarios(self) -> list[ScenarioReviewed]:
        return [r for r in self.records if isinstance(r, ScenarioReviewed)]

    @property
    def finished(self) -> CampaignFinished | None:
        return next((r for r in self.records if isinstance(r, CampaignFinished)), None)


Document = MtdDocument | ParetoDocument | StressDocument | CampaignDocument
_MODELS: dict[DocumentKind, type[MtdDocument] | type[ParetoDocument] | type[StressDocument]
              | type[CampaignDocument]] = {
    DocumentKind.MTD: MtdDocument, DocumentKind.PARETO: ParetoDocument,
    DocumentKind.STRESS: StressDocument, DocumentKind.CAMPAIGN: CampaignDocument}
_CLOSING: dict[DocumentKind, str] = {DocumentKind.MTD: "SearchFinished",
                                     DocumentKind.PARETO: "OptimisationFinished",
                                     DocumentKind.STRESS: "GateDecided",
                                     DocumentKind.CAMPAIGN: "CampaignFinished"}


def closing_kind(kind: DocumentKind) -> str:
    """The record kind that closes a document of ``kind`` (its last record)."""
    return _CLOSING[kind]


def document_header_hash(header: Mapping[str, Any]) -> str:
    """sha256 of a document's :data:`DOCUMENT_HEADER_FIELDS` (a missing one counts as null)."""
    head = {name: header.get(name) for name in DOCUMENT_HEADER_FIELDS}
    return hashlib.sha256(canonical_json(head).encode()).hexdigest()


def make_document(kind: DocumentKind, records: Sequence[BaseModel], *,
                  scenario: str | None, scenario_hash: str | None, seed: int | None,
                  rules: Mapping[str, str] | None = None,
                  command: Sequence[str] | None = None) -> Document:
    """A document of ``kind`` from its records (the closing record last), chained."""
    if not records or getattr(records[-1], "kind", None) != _CLOSING[kind]:
        raise ValueError(f"a {kind} document ends with its {_CLOSING[kind]} record")
    header: dict[str, Any] = json_ready({
        "format": DOCUMENT_FORMAT, "kind": kind.value, "version": version(),
        "platform": platform.platform(), "python": sys.version.split()[0],
        "command": list(command or []), "created_utc": utc_now(), "scenario": scenario,
        "scenario_hash": scenario_hash, "seed": seed, "rules": dict(rules or {})})
    bodies = [json_ready(r.model_dump(mode="json", exclude={"seq", "prev_hash", "hash"}))
              for r in records]
    chained, last = chain_records(bodies, document_header_hash(header))
    return _MODELS[kind].model_validate({**header, "records": chained, "chain_hash": last})


def to_json(doc: Document) -> str:
    """The document's file text (sorted keys, two-space indent, no NaN)."""
    return json.dumps(doc.model_dump(mode="json"), indent=2, sort_keys=True,
                      allow_nan=False) + "\n"


def write_document(folder: str | Path, doc: Document) -> Path:
    """Write ``doc`` into ``folder`` under its kind's file name, as a whole."""
    return write_atomic(Path(folder) / DOCUMENT_FILES[doc.kind], to_json(doc),
                        error=SimulationError, what="results")


def load_raw(file: Path) -> dict[str, Any]:
    """A document file as JSON, with the bounded reader's checks (no pipes, no devices,
    nothing over the size limit): for ``verify``, which must see it as written."""
    name = str(file)
    doc = read_json(file, limit=_READ_LIMIT, error=DocumentError)
    if not isinstance(doc, dict) or not isinstance(doc.get("records"), list):
        raise DocumentError("not a shocktwin result document (no list of records); a file "
                            "written before results were hash-chained must be made again",
                            file=name)
    fmt = doc.get("format")
    if fmt != DOCUMENT_FORMAT:
        raise DocumentError(f"unknown document format {fmt!r}; this version reads format "
                            f"{DOCUMENT_FORMAT}", file=name)
    return doc


def read_document(file: str | Path, kind: DocumentKind | None = None) -> Document:
    """Read a document into its typed model (of ``kind`` when given, else of the kind the
    file says). Raises DocumentError naming the file and every problem. The hash chain is
    not checked here: ``twin.journal.verify`` does that."""
    path = Path(file)
    doc = load_raw(path)
    said = doc.get("kind")
    if kind is None:
        try:
            kind = DocumentKind(str(said))
        except ValueError:
            raise DocumentError(f"unknown result kind {said!r}", file=str(path)) from None
    elif said != kind.value:
        raise DocumentError(f"holds a {said!r} result, not {kind.value!r}", file=str(path))
    try:
        return _MODELS[kind].model_validate(doc)
    except ValidationError as e:
        from shocktwin.errors import Problem

        problems = [Problem(str(path), ".".join(str(x) for x in err["loc"]),
                            _reason(err["type"], err["msg"])) for err in e.errors()[:20]]
        raise DocumentError(problems, file=str(path)) from None


def _reason(kind: str, message: str) -> str:
    """A validation failure in our words (never the validation library's own text)."""
    words = {"missing": "missing", "extra_forbidden": "not a field of this record",
             "literal_error": "not one of the allowed values",
             "union_tag_invalid": "an unknown record kind",
             "union_tag_not_found": "a record without a kind"}
    if kind in words:
        return words[kind]
    if kind.endswith("_type") or kind.endswith("_parsing"):
        return "a value of the wrong type"
    return "an invalid value"
