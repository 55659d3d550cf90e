"""A campaign: one review of a suite — per scenario a baseline run and, per shock, the MTD
search and the recovery guarantee — written to a folder, compared with the previous review,
scored, and appended to the history store.

Life cycle (:func:`run_campaign`): load and check the suite, every scenario and shock it
names, the history store (its schema version; the review label is new unless ``replace``) and
the output folder, all before anything runs; then per entry

- the baseline ``run`` of the scenario file as it is (``DIR/<label>/run``, a results folder
  any ``run`` would write, which ``report`` and ``verify`` read), and
- one MTD search per shock on the effective scenario (the suite's ranges, settings and
  recovery terms; ``DIR/<label>/mtd/mtd.json``), with the recovery guarantee at the shock's
  own severity and its curve over the search's scan grid;

and at the end ``DIR/campaign.json`` (a result document, kind ``campaign``) and the review's
rows in the history store, in one transaction.

Resumable: every run of a search is kept in ``DIR/runs.jsonl`` as it ends, keyed by what it
depends on (``RunStore``), and a baseline run whose folder is complete, verifies and matches
the scenario is not run again; so ``resume`` continues an interrupted campaign and runs
nothing twice.

Outcome: passed when every test with a target passed and no indicator regressed beyond the
suite's tolerance against the previous review; undecided results are named as such (add
replications) and count half in the portfolio score.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shocktwin.errors import ScenarioError, SimulationError
from shocktwin.scenarios.suite import (
    CampaignPlan,
    PlannedEntry,
    PlannedShock,
    load_suite,
    plan_campaign,
)
from shocktwin.twin.experiment.executor import LOCAL, ExecutorSpec
from shocktwin.twin.resilience.history import (
    BETTER,
    History,
    Indicator,
    ResultRow,
    ResultStatus,
    ReviewRow,
    open_history,
)
from shocktwin.twin.resilience.mtd import RUN_LOG, MtdResult, MtdStatus, RunStore
from shocktwin.twin.resilience.portfolio import PortfolioScore, portfolio_score

__all__ = ["CAMPAIGN_FILE", "BaselineVerdict", "CampaignOutcome", "EntryOutcome",
           "Progress", "Regression", "ShockOutcome", "check_review_label", "rules_hash",
           "run_campaign"]

CAMPAIGN_FILE = "campaign.json"
#: A review label: a letter or digit first (2027-Q1), then letters, digits, '_', '-', '.'.
REVIEW_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")

#: ``progress(task, done, total)``: task "campaign" for the whole, else "<label>: <step>".
Progress = Callable[[str, int, int], None]


def check_review_label(label: str) -> str:
    if not REVIEW_LABEL.fullmatch(label):
        raise ScenarioError(f"--review {label!r}: a review label is a letter or digit, then "
                            "letters, digits, '_', '-' or '.' (at most 64), e.g. 2027-Q1")
    return label


def rules_hash(rule_files: dict[str, str]) -> str:
    """One hash of a scenario's rule sets (their content hashes, by name)."""
    text = json.dumps(sorted(rule_files.values()), separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _fin(x: Any) -> float | None:
    if x is None or isinstance(x, bool):
        return None
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


@dataclass(frozen=True)
class BaselineVerdict:
    """The baseline run's verdict: the share of replications in which the hypothesis held,
    with its Wilson interval, against the required share."""

    state: str  # holds / violated / undecided / none
    held: int
    n: int
    low: float | None
    high: float | None
    required: float | None
    level: float
    journal_hash: str
    chain_hash: str | None
    reused: bool

    @property
    def share(self) -> float | None:
        return self.held / self.n if self.n else None


@dataclass(frozen=True)
class ShockOutcome:
    planned: PlannedShock
    result: MtdResult
    guarantee: Any  # RecoveryGuarantee | None
    curve: tuple[Any, ...]


@dataclass(frozen=True)
class EntryOutcome:
    planned: PlannedEntry
    baseline: BaselineVerdict
    shocks: tuple[ShockOutcome, ...]


@dataclass(frozen=True)
class Regression:
    """An indicator worse than in the previous review by more than its tolerance."""

    scenario: str
    shock: str
    indicator: str
    previous: float
    #: None when the indicator was measured in the previous review and is not now (a
    #: recovery that never came before the horizon, a search that did not converge).
    current: float | None
    tolerance: float
    previous_review: str

    @property
    def message(self) -> str:
        where = f"{self.scenario} {self.shock}".strip()
        if self.current is None:
            return (f"{where} {self.indicator}: {self.previous:.4g} in "
                    f"{self.previous_review} → not measured now (never recovered before "
                    "the horizon, or the search did not settle)")
        return (f"{where} {self.indicator}: {self.previous:.4g} in {self.previous_review} → "
                f"{self.current:.4g} (worse by more than {self.tolerance:.0%} of the "
                "previous value)")


@dataclass(frozen=True)
class CampaignOutcome:
    review: str
    suite: Any
    out: Path
    history: Path
    entries: tuple[EntryOutcome, ...]
    rows: tuple[ResultRow, ...]
    score: PortfolioScore
    previous_review: str | None
    regressions: tuple[Regression, ...]
    #: Runs the campaign needed; of them, computed now (the rest taken from DIR).
    runs: int
    runs_computed: int
    document: Any
    written: tuple[Path, ...] = field(default=())

    def _tests(self, status: str) -> list[ResultRow]:
        return [r for r in self.rows if r.status == status]

    @property
    def failed(self) -> list[ResultRow]:
        return self._tests(ResultStatus.FAILED)

    @property
    def undecided(self) -> list[ResultRow]:
        return [r for r in self.rows
                if r.status in (ResultStatus.UNDECIDED, ResultStatus.NOT_CONVERGED)]

    @property
    def passed(self) -> list[ResultRow]:
        return self._tests(ResultStatus.PASSED)

    @property
    def fails(self) -> bool:
        return bool(self.failed or self.regressions)


# --------------------------------------------------------------------------- baseline


def _verdict_of(result: Any) -> tuple[str, int, int, float | None, float | None, float]:
    """(state, held, n, low, high, level) of an experiment's verdict."""
    from shocktwin.interval import wilson_interval

    v = result.verdict
    n = int(getattr(v, "n", 0) or len(result.replications))
    tolerances = result.scenario.hypothesis.tolerances
    held = getattr(v, "held", None)
    if held is None:
        held = sum(all(t.holds(rep.kpis.get(t.key, math.nan)) for t in tolerances)
                   for rep in result.replications)
    state = getattr(v, "state", None)
    if state is None:
        state = "none" if not tolerances else ("holds" if v.holds else "violated")
    low, high = getattr(v, "share_low", None), getattr(v, "share_high", None)
    if low is None and tolerances and n:
        w = wilson_interval(int(held), n)
        low, high = w.low, w.high
    return str(getattr(state, "value", state)), int(held), n, _fin(low), _fin(high), \
        float(getattr(v, "level", 0.95))


def _reusable_baseline(folder: Path, entry: PlannedEntry, replications: int
                       ) -> BaselineVerdict | None:
    """The verdict of a baseline run already in ``folder`` when it is complete, verifies,
    and ran this scenario with these replications."""
    from shocktwin.interval import wilson_interval
    from shocktwin.jsontext import read_json
    from shocktwin.twin.journal.verify import verify_results

    journal = folder / "journal.json"
    if not journal.is_file():
        return None
    try:
        if not all(r.intact for r in verify_results(folder)):
            return None
        doc = read_json(journal, limit=512 * 1024 * 1024, error=SimulationError)
    except SimulationError:
        return None
    sc = entry.scenario
    if (doc.get("scenario_hash") != sc.content_hash() or doc.get("replications") != replications
            or doc.get("seed") != sc.experiment.seed):
        return None
    finished = next((r for r in doc.get("records", []) if r.get("kind") == "RunFinished"), None)
    if finished is None:
        return None
    tolerances = sc.hypothesis.tolerances
    reps = [r for r in doc["records"] if r.get("kind") == "ReplicationFinished"]
    n = len(reps)
    if finished.get("verdict"):
        state, held = str(finished["verdict"]), int(finished.get("held", 0))
        low, high = _fin(finished.get("share_low")), _fin(finished.get("share_high"))
        level = float(finished.get("level", 0.95))
    else:
        held = sum(all(t.holds(_fin(r["kpis"].get(t.key)) if _fin(r["kpis"].get(t.key))
                               is not None else math.nan) for t in tolerances) for r in reps)
        state = ("none" if not tolerances else
                 "holds" if finished.get("hypothesis_holds") else "violated")
        w = wilson_interval(held, n) if n and tolerances else None
        low, high, level = (w.low, w.high, w.level) if w else (None, None, 0.95)
    return BaselineVerdict(state, held, n, low, high,
                           sc.hypothesis.probability if tolerances else None, level,
                           str(doc.get("journal_hash", "")), doc.get("chain_hash"), True)


def _baseline(entry: PlannedEntry, out: Path, *, resume: bool, executor: ExecutorSpec,
              progress: Progress | None, command: Sequence[str] | None) -> BaselineVerdict:
    from shocktwin.twin.journal.run import run_scenario

    folder = out / entry.label / "run"
    if resume:
        kept = _reusable_baseline(folder, entry, entry.replications)
        if kept is not None:
            return kept
    task = f"{entry.label}: run"

    def tick(done: int, total: int) -> None:
        if progress is not None:
            progress(task, done, total)

    outcome = run_scenario(entry.scenario_file, replications=entry.replications,
                           executor=executor, out=folder, replace=True, progress=tick,
                           allowed_roots=entry.scenario.binding.allowed_roots,
                           command=command)
    state, held, n, low, high, level = _verdict_of(outcome.result)
    sc = entry.scenario
    return BaselineVerdict(state, held, n, low, high,
                           sc.hypothesis.probability if sc.hypothesis.tolerances else None,
                           level, outcome.journal_hash, outcome.chain_hash, False)


# --------------------------------------------------------------------------- searches


class _CountingStore(RunStore):
    """The campaign's run log, counting the runs computed now (for progress and the count of
    runs a resumed campaign did not repeat)."""

    def __init__(self, path: Path, *, resume: bool) -> None:
        super().__init__(path, resume=resume)
        self.computed = 0
        #: Every run this campaign needed, computed now or taken from the log.
        self.used: set[str] = set()
        self.on_put: Callable[[], None] | None = None

    def get(self, key: str) -> dict[str, Any] | None:
        found = super().get(key)
        if found is not None:
            self.used.add(key)
        return found

    def put(self, key: str, record: dict[str, Any]) -> None:
        super().put(key, record)
        self.used.add(key)
        self.computed += 1
        if self.on_put is not None:
            self.on_put()


def _searched(entry: PlannedEntry, planned: PlannedShock, index: int, *, store: _CountingStore,
              executor: ExecutorSpec, progress: Progress | None) -> ShockOutcome:
    from shocktwin.twin.resilience.mtd import search_mtds

    sc = planned.scenario
    recovery = sc.hypothesis.recovery
    if planned.guarantee is not None and recovery is not None:
        recovery = recovery.model_copy(update={"guarantee": planned.guarantee})
        sc = sc.model_copy(update={"hypothesis": sc.hypothesis.model_copy(
            update={"recovery": recovery})})
    item = sc.mtd.shocks[planned.index]
    task = f"{entry.label}: {planned.shock}"
    start = store.computed

    def tick() -> None:
        if progress is not None:
            done = store.computed - start
            progress(task, done, max(planned.estimated_runs, done))

    store.on_put = tick
    tick()
    try:
        (result,) = search_mtds(sc, [item], executor=executor, store=store)
    finally:
        store.on_put = None
    if progress is not None:
        done = store.computed - start
        progress(task, max(done, 1), max(done, 1))
    return ShockOutcome(planned, result, getattr(result, "guarantee", None),
                        tuple(getattr(result, "guarantee_curve", ()) or ()))


# --------------------------------------------------------------------------- rows


def _status_of_state(state: str | None) -> ResultStatus:
    return {"holds": ResultStatus.PASSED, "meets": ResultStatus.PASSED,
            "violated": ResultStatus.FAILED, "misses": ResultStatus.FAILED,
            "undecided": ResultStatus.UNDECIDED}.get(state or "", ResultStatus.NO_TARGET)


def _mtd_row(entry: PlannedEntry, s: ShockOutcome, base: dict[str, Any]) -> dict[str, Any]:
    r = s.result
    censored = None
    value = _fin(r.mtd)
    if r.status is MtdStatus.BELOW_RANGE:
        value, censored = r.low, "below_range"
    elif r.status is MtdStatus.ABOVE_RANGE:
        value, censored = r.high, "above_range"
    if r.target is None:
        # Without a target it is no test (the portfolio score counts tests with a
        # target), converged or not; a search that did not settle says so in the detail.
        status = ResultStatus(censored) if censored is not None else ResultStatus.NO_TARGET
    elif r.status is MtdStatus.NOT_CONVERGED:
        status = ResultStatus.NOT_CONVERGED
    else:
        status = ResultStatus.PASSED if r.meets_target else ResultStatus.FAILED
    detail = {"type": s.planned.type, "source": s.planned.source, "axis": r.axis,
              "probability": r.probability, "range": [r.low, r.high],
              "resolution": r.resolution, "censored": censored,
              "converged": r.status is not MtdStatus.NOT_CONVERGED,
              "binding_kpi": r.binding_kpi, "binding_counts": dict(r.binding_counts),
              "notes": list(r.notes), "iso22301": dict(r.iso22301),
              "resilience_at_mtd": {k: (_fin(v) if isinstance(v, float) else v)
                                    for k, v in r.resilience.items()}}
    return {**base, "indicator": Indicator.MTD.value, "value": value,
            "ci_low": _fin(r.ci_low), "ci_high": _fin(r.ci_high), "unit": r.unit,
            "target": _fin(r.target), "status": status.value,
            "replications": r.replications, "runs": r.runs, "detail": detail}


def _guarantee_rows(s: ShockOutcome, base: dict[str, Any]) -> list[dict[str, Any]]:
    g = s.guarantee
    if g is None:
        return []
    from shocktwin.twin.experiment.guarantee import to_record

    curve = [to_record(c) for c in s.curve]
    common = {**base, "severity": _fin(g.severity), "replications": g.n,
              "runs": s.result.runs}
    never = int(getattr(g, "never_recovered", 0))
    return [
        {**common, "indicator": Indicator.RECOVERY_GUARANTEE.value, "value": _fin(g.rate),
         "ci_low": _fin(g.low), "ci_high": _fin(g.high), "unit": "", "target": _fin(g.target),
         "status": _status_of_state(g.state).value if g.target is not None
         else ResultStatus.NO_TARGET.value,
         "detail": {"level_pct": g.level_pct, "rto_h": g.rto_h, "recovered": g.recovered,
                    "failed_share": _fin(g.failed_share), "never_recovered": never,
                    "kpis": list(getattr(g, "kpis", ())), "curve": curve}},
        {**common, "indicator": Indicator.ROBUSTNESS_PCT.value, "value": _fin(g.robustness_pct),
         "ci_low": _fin(g.robustness_low), "ci_high": _fin(g.robustness_high), "unit": "%",
         "target": None, "status": ResultStatus.NO_TARGET.value,
         "detail": {"min": _fin(g.robustness_min)}},
        {**common, "indicator": Indicator.TTR_P50_H.value, "value": _fin(g.ttr_p50_h),
         "ci_low": _fin(g.ttr_p50_low), "ci_high": _fin(g.ttr_p50_high), "unit": "h",
         "target": None, "status": ResultStatus.NO_TARGET.value,
         "detail": {"never_recovered": never}},
        {**common, "indicator": Indicator.TTR_P90_H.value, "value": _fin(g.ttr_p90_h),
         "ci_low": _fin(g.ttr_p90_low), "ci_high": _fin(g.ttr_p90_high), "unit": "h",
         "target": None, "status": ResultStatus.NO_TARGET.value,
         "detail": {"never_recovered": never}},
    ]


def _rows(review: str, outcome: EntryOutcome, finished: str, version: str
          ) -> list[ResultRow]:
    entry = outcome.planned
    sc = entry.scenario
    mitigations = [m.model_dump(mode="json") for m in entry.mitigations]
    common = {"review": review, "scenario": entry.label, "scenario_hash": sc.content_hash(),
              "rules_hash": rules_hash(sc.rule_files()), "engine": sc.experiment.engine.value,
              "version": version, "seed": sc.experiment.seed, "finished_utc": finished}
    b = outcome.baseline
    rows: list[dict[str, Any]] = [{
        **common, "shock": "", "indicator": Indicator.HYPOTHESIS_SHARE.value,
        "value": b.share, "ci_low": b.low, "ci_high": b.high, "unit": "",
        "target": b.required, "status": _status_of_state(b.state).value,
        "severity": None, "replications": b.n, "runs": b.n,
        "detail": {"state": b.state, "held": b.held, "level": b.level,
                   "journal_hash": b.journal_hash, "chain_hash": b.chain_hash,
                   "file": str(entry.scenario_file), "name": sc.name,
                   "review_interval_days": entry.interval_days,
                   "mitigations": mitigations,
                   "skipped_library_shocks": dict(entry.skipped)}}]
    for s in outcome.shocks:
        base = {**common, "shock": s.planned.shock, "severity": s.planned.severity}
        addressed = [m for m in mitigations if not m["shocks"] or s.planned.shock in m["shocks"]]
        for row in [_mtd_row(entry, s, base), *_guarantee_rows(s, base)]:
            row["detail"] = {**row["detail"], "mitigations": addressed}
            rows.append(row)
    out = []
    for row in rows:
        row["detail"] = json.dumps(row["detail"], sort_keys=True, allow_nan=False,
                                   default=str)
        out.append(ResultRow(**row))
    return out


def _regressions(rows: Sequence[ResultRow], previous: Sequence[ResultRow], label: str | None,
                 tolerances: dict[str, dict[str, float]]) -> list[Regression]:
    before = {r.key: r for r in previous}
    found = []
    for row in rows:
        prev = before.get(row.key)
        tolerance = tolerances.get(row.scenario, {}).get(row.indicator)
        if prev is None or tolerance is None or label is None:
            continue
        if prev.value is None:
            continue
        if row.value is None:
            # Measured before, not now: a TTR beyond the horizon (never recovered), a rate
            # without a measurable replication, a search that did not settle. The worst
            # case, not a pass.
            found.append(Regression(row.scenario, row.shock, row.indicator, prev.value,
                                    None, tolerance, label))
            continue
        sense = BETTER[Indicator(row.indicator)]
        worse = (prev.value - row.value) * sense
        if worse > tolerance * abs(prev.value) + 1e-12:
            found.append(Regression(row.scenario, row.shock, row.indicator, prev.value,
                                    row.value, tolerance, label))
    return found


# --------------------------------------------------------------------------- life cycle


def _check_out(out: Path, *, resume: bool) -> None:
    from shocktwin.files import check_writable

    if out.exists() and not out.is_dir():
        raise SimulationError("is not a folder", file=str(out))
    check_writable(out / CAMPAIGN_FILE, error=SimulationError, what="the campaign")
    if out.is_dir() and any(out.iterdir()) and not resume:
        raise SimulationError("holds an earlier campaign; give --resume to continue it "
                              "(nothing finished is run again), or another --out",
                              file=str(out))


def run_campaign(suite_file: str | Path, *, review: str, history: str | Path,
                 out: str | Path, resume: bool = False, replace: bool = False,
                 executor: ExecutorSpec = LOCAL, progress: Progress | None = None,
                 allowed_roots: Sequence[str | Path] = (),
                 command: Sequence[str] | None = None,
                 outputs: Sequence[Path] = ()) -> CampaignOutcome:
    """Run one review of the suite into ``out`` and append it to the ``history`` store.

    Everything is checked before the first run: the suite, the scenarios and shocks it names
    (ScenarioError, every problem at once), the review label (new in the history unless
    ``replace``), the history store's schema version, the output folder (empty unless
    ``resume``) and the extra files to write (``outputs``, e.g. JUnit). The output folder is
    locked for the whole campaign. A review run again (``replace``) keeps its place among
    the reviews, which are ordered by when each first started.
    """
    from shocktwin.edge_replay.history import check_history
    from shocktwin.files import check_writable
    from shocktwin.locks import locked
    from shocktwin.twin.journal.record import utc_now, version

    check_review_label(review)
    suite = load_suite(suite_file)
    plan = plan_campaign(suite, allowed_roots=allowed_roots)
    history_path = Path(history)
    check_history(history_path, review, replace=replace)
    folder = Path(out)
    _check_out(folder, resume=resume)
    for path in outputs:
        check_writable(path, error=SimulationError, what="the output")
    started = utc_now()
    with locked(folder, what="campaign folder", error=SimulationError):
        store = _CountingStore(folder / RUN_LOG, resume=True)
        entries = _run_entries(plan, folder, store=store, resume=resume, executor=executor,
                               progress=progress, command=command)
        finished = utc_now()
        ver = version()
        rows = [row for e in entries for row in _rows(review, e, finished, ver)]
        hist = open_history(history_path, create=True)
        replaced = hist.review(review)
        if replaced is not None:
            # A review run again keeps its place among the reviews (the order is by start).
            started = replaced.started_utc
        previous_label = hist.previous_review(review)
        previous_rows = hist.results(previous_label) if previous_label else []
        # The reviews before this one (by when each first started): a review run again
        # in its place is scored against those, not against reviews that came after it.
        starts = {r.review: r.started_utc or "" for r in hist.reviews()}
        earlier = [r for r in hist.results()
                   if r.review != review and starts.get(r.review, "") < started]
        tolerances = {e.planned.label: e.planned.regression for e in entries}
        regressions = _regressions(rows, previous_rows, previous_label, tolerances)
        score = portfolio_score(rows, earlier, at_utc=finished,
                                interval_days=suite.review_interval / 24.0,
                                scenarios=[e.label for e in plan.entries],
                                intervals={e.label: e.interval_days for e in plan.entries},
                                order=starts)
        runs = sum(e.baseline.n for e in entries) + len(store.used)
        computed = store.computed + sum(e.baseline.n for e in entries if not e.baseline.reused)
        outcome = CampaignOutcome(review, suite, folder, history_path, tuple(entries),
                                  tuple(rows), score, previous_label, tuple(regressions), runs,
                                  computed, None)
        doc = campaign_document(outcome, started=started, finished=finished, command=command)
        from shocktwin.twin.journal.document import write_document

        written = (write_document(folder, doc),)
        engines = sorted({e.planned.scenario.experiment.engine.value for e in entries})
        hist.append(ReviewRow(
            review=review, suite=suite.name, suite_hash=suite.content_hash(),
            started_utc=started, finished_utc=finished,
            interval_days=suite.review_interval / 24.0, engine=",".join(engines), version=ver,
            executor=_executor_text(executor), runs=runs, score=score.score,
            score_json=json.dumps(score.components(), sort_keys=True, allow_nan=False)),
            rows, replace=replace)
    import dataclasses

    return dataclasses.replace(outcome, document=doc, written=written)


def _executor_text(spec: ExecutorSpec) -> str:
    text = str(getattr(spec.kind, "value", spec.kind))
    if spec.workers:
        text += f" ×{spec.workers}"
    if spec.scheduler:
        text += f" @ {spec.scheduler}"
    return text


def _run_entries(plan: CampaignPlan, folder: Path, *, store: _CountingStore, resume: bool,
                 executor: ExecutorSpec, progress: Progress | None,
                 command: Sequence[str] | None) -> list[EntryOutcome]:
    from shocktwin.twin.journal.document import write_document
    from shocktwin.twin.resilience.mtd import mtd_document

    steps = sum(1 + len(e.shocks) for e in plan.entries)
    done = 0

    def step() -> None:
        if progress is not None:
            progress("campaign", done, steps)

    step()
    entries: list[EntryOutcome] = []
    for entry in plan.entries:
        baseline = _baseline(entry, folder, resume=resume, executor=executor,
                             progress=progress, command=command)
        done += 1
        step()
        shocks: list[ShockOutcome] = []
        for j, planned in enumerate(entry.shocks):
            shocks.append(_searched(entry, planned, j, store=store, executor=executor,
                                    progress=progress))
            done += 1
            step()
        doc = mtd_document(entry.scenario, [s.result for s in shocks], seed=None,
                           command=command)
        with contextlib.suppress(FileExistsError):
            (folder / entry.label / "mtd").mkdir(parents=True, exist_ok=True)
        write_document(folder / entry.label / "mtd", doc)
        entries.append(EntryOutcome(entry, baseline, tuple(shocks)))
    return entries


def campaign_document(outcome: CampaignOutcome, *, started: str, finished: str,
                      command: Sequence[str] | None) -> Any:
    """``campaign.json``: one chained record per scenario (its baseline verdict and every
    result row), closed by the review's outcome (score, regressions, counts)."""
    from shocktwin.twin.journal.document import (
        CampaignFinished,
        DocumentKind,
        ScenarioReviewed,
        make_document,
    )

    records: list[Any] = []
    rules: dict[str, str] = {}
    for e in outcome.entries:
        p = e.planned
        rules.update(p.scenario.rule_files())
        b = e.baseline
        records.append(ScenarioReviewed(
            label=p.label, scenario=p.scenario.name, file=str(p.scenario_file),
            scenario_hash=p.scenario.content_hash(),
            rules_hash=rules_hash(p.scenario.rule_files()),
            run=f"{p.label}/run", mtd=f"{p.label}/mtd",
            verdict={"state": b.state, "held": b.held, "n": b.n, "share_low": b.low,
                     "share_high": b.high, "required": b.required, "level": b.level,
                     "journal_hash": b.journal_hash, "reused": b.reused},
            shocks=[s.planned.shock for s in e.shocks],
            skipped_library_shocks=dict(p.skipped),
            mitigations=[m.model_dump(mode="json") for m in p.mitigations],
            review_interval_days=p.interval_days,
            results=[_row_json(r) for r in outcome.rows if r.scenario == p.label]))
    s = outcome.score
    records.append(CampaignFinished(
        review=outcome.review, suite=outcome.suite.name,
        suite_hash=outcome.suite.content_hash(), started_utc=started, finished_utc=finished,
        previous_review=outcome.previous_review, history=str(outcome.history),
        runs=outcome.runs, runs_computed=outcome.runs_computed,
        passed=len(outcome.passed), failed=len(outcome.failed),
        undecided=len(outcome.undecided), score=s.score,
        score_components={k: v for k, v in s.components().items() if k != "scored"},
        regressions=[{"scenario": r.scenario, "shock": r.shock, "indicator": r.indicator,
                      "previous": r.previous, "current": r.current,
                      "tolerance": r.tolerance, "previous_review": r.previous_review}
                     for r in outcome.regressions],
        fails=outcome.fails))
    return make_document(DocumentKind.CAMPAIGN, records, scenario=outcome.suite.name,
                         scenario_hash=outcome.suite.content_hash(), seed=None, rules=rules,
                         command=command)


def _row_json(r: ResultRow) -> dict[str, Any]:
    d = r.as_dict()
    d["detail"] = json.loads(r.detail)
    return d


def planned_runs(suite_file: str | Path, *, allowed_roots: Sequence[str | Path] = ()) -> int:
    """The suite's estimated runs (checked as :func:`run_campaign` checks it)."""
    return plan_campaign(load_suite(suite_file), allowed_roots=allowed_roots).estimated_runs


def history_of(outcome: CampaignOutcome) -> History:
    return History(outcome.history)
