"""The stress gate for pipelines that change inspection rules (``shocktwin stress``).

For every scenario, the baseline and the candidate rule set each replace the scenario's
``rules`` and run on the same seeds and replication indices (common random numbers):

- **KPIs**: every replication under both rule sets; per KPI the paired difference
  (candidate − baseline) with its 95 % t-interval; a hypothesis tolerance that held in the
  required share of replications under the baseline and does not under the candidate is
  *newly broken*.
- **MTD** of each shock of the scenario's mtd block under both; the difference of the MTDs
  with a 95 % interval from a paired bootstrap over replications (each replication keeps
  its baseline and candidate tolerable severities together). A **regression** is a
  candidate MTD lower than the baseline's by more than the tolerance (a share of the
  baseline MTD) with significance: the whole interval of the difference lies below
  −tolerance × baseline MTD.

A scenario that cannot tell the two rule sets apart is **not tested**, never passed:

- before anything runs, each rule set is reduced to what acts on the scenario's plant when
  it is in force: the plans of the materials the plant stocks (their station resolved), the
  triggers evaluated for those materials, nested rule sets by content. Names, descriptions
  and plans or triggers for other materials drop out. When both reduce to the same content
  the candidate changes nothing the scenario uses, and nothing is run;
- otherwise both run, and when every replication gives the same journal (rule-set names and
  hashes aside) and the same KPIs, and every MTD search the same tolerable severities, the
  changed rules never made a difference: not tested either.

The reduction errs towards *tested*: an applied trigger keeps all its actions, nested and
AI model files count by content wherever they are, and a plan written with its station and
the same plan without it compare equal only when the station is the first incoming one. A
rule set the scenario replaces before any lot arrives is found by the run check only. Which
of the candidate's changes some scenario tests is not worked out change by change.

Whether untested scenarios fail the gate is the caller's choice (:class:`UntestedPolicy`);
a CI pipeline should keep the default, :attr:`UntestedPolicy.ANY`.

Everything is deterministic for the same inputs: seeds from the scenarios, a fixed seed for
the bootstrap, and no times in the numbers.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from shocktwin.errors import Problem, ScenarioError, SimulationError
from shocktwin.interval import t_interval
from shocktwin.jsontext import json_ready
from shocktwin.scenarios.model import Scenario
from shocktwin.twin.experiment.budget import check_budget
from shocktwin.twin.experiment.executor import LOCAL, ExecutorSpec, Job, Runner, run_jobs
from shocktwin.twin.journal.document import (
    DocumentKind,
    GateDecided,
    ScenarioCompared,
    StressDocument,
    make_document,
    write_document,
)
from shocktwin.twin.model.kinds import StationKind
from shocktwin.twin.resilience.mtd import (
    BELOW,
    RUN_LOG,
    MtdResult,
    MtdStatus,
    RunStore,
    find_mtd,
)

if TYPE_CHECKING:
    from shocktwin.rules_engine.ruleset import RuleSet
    from shocktwin.twin.experiment.replication import ReplicationResult

__all__ = ["KpiComparison", "MtdComparison", "ScenarioComparison", "StressOutcome",
           "StressReport", "UntestedPolicy", "compare_rules", "run_stress_gate",
           "scenario_with_rules", "stress_document"]

BOOTSTRAP_SAMPLES = 2000
#: The largest file a plan names (an ONNX model) that is hashed to compare rule sets.
MODEL_READ_LIMIT = 256 * 1024 * 1024
BOOTSTRAP_SEED = 20_240_601


class UntestedPolicy(StrEnum):
    """When scenarios that do not test the candidate fail the gate (``--fail-on-untested``)."""

    ANY = "any"  # any untested scenario fails it: the recommended CI default
    ALL = "all"  # only when no scenario tests the candidate
    NEVER = "never"  # untested scenarios are reported and never fail it


@dataclass(frozen=True)
class KpiComparison:
    kpi: str
    baseline: float
    candidate: float
    difference: float
    ci_low: float
    ci_high: float
    tolerance: str | None  # the hypothesis bound on this KPI, if any
    held_baseline: float | None  # share of replications within it
    held_candidate: float | None
    newly_broken: bool


@dataclass(frozen=True)
class MtdComparison:
    shock: str
    unit: str
    baseline: float | None
    candidate: float | None
    difference: float | None
    ci_low: float | None
    ci_high: float | None
    allowed_drop: float | None
    regression: bool
    message: str


@dataclass(frozen=True)
class ScenarioComparison:
    scenario: str
    file: str
    replications: int
    kpis: tuple[KpiComparison, ...]  # empty when nothing was run (see ``untested``)
    mtds: tuple[MtdComparison, ...]
    hypothesis_baseline: bool | None  # None when nothing was run
    hypothesis_candidate: bool | None
    # sha256 of what of each rule set acts on this scenario's plant
    baseline_applied: str = ""
    candidate_applied: str = ""
    untested: str | None = None  # why the scenario does not test the candidate

    @property
    def tested(self) -> bool:
        return self.untested is None

    @property
    def failed(self) -> bool:
        return self.tested and (any(k.newly_broken for k in self.kpis)
                                or any(m.regression for m in self.mtds))


@dataclass(frozen=True)
class StressReport:
    baseline: str
    candidate: str
    baseline_hash: str
    candidate_hash: str
    tolerance: float
    scenarios: tuple[ScenarioComparison, ...] = field(default_factory=tuple)

    @property
    def failed(self) -> bool:
        """A regression on some scenario that tests the candidate."""
        return any(s.failed for s in self.scenarios)

    @property
    def untested(self) -> tuple[ScenarioComparison, ...]:
        """The scenarios that do not test the candidate, each with its reason."""
        return tuple(s for s in self.scenarios if not s.tested)

    def gate_failed(self, fail_on_untested: UntestedPolicy = UntestedPolicy.ANY) -> bool:
        """Whether the gate fails: a regression, or untested scenarios as the policy says
        (no scenario at all tests nothing, so it counts as untested)."""
        if self.failed:
            return True
        untested = len(self.untested)
        if fail_on_untested is UntestedPolicy.ANY:
            return untested > 0 or not self.scenarios
        if fail_on_untested is UntestedPolicy.ALL:
            return untested == len(self.scenarios)
        return False


def scenario_with_rules(scenario: Scenario, rules: Path, file: str | None = None) -> Scenario:
    """The scenario with ``rules`` in force, its rule sets loaded and checked again."""
    from shocktwin.scenarios._rules import bind_rules

    return bind_rules(scenario.model_copy(update={"rules": str(rules.resolve())}), file)


def compare_rules(scenarios: list[tuple[str, Scenario]], baseline: Path, candidate: Path, *,
                  tolerance: float = 0.0, executor: ExecutorSpec | Runner = LOCAL,
                  store: RunStore | None = None) -> StressReport:
    """Compare the candidate rule set with the baseline on every scenario.

    A scenario that does not test the candidate is in the report with its reason
    (``ScenarioComparison.untested``, ``StressReport.untested``); it never counts as passed
    or failed, and :meth:`StressReport.gate_failed` says what the gate makes of it.
    """
    from shocktwin.rules_engine.ruleset import load_rules

    base_rules, cand_rules = load_rules(baseline), load_rules(candidate)
    base_materials = {p.material for p in base_rules.plans}
    cand_materials = {p.material for p in cand_rules.plans}
    if base_materials != cand_materials:
        raise ScenarioError([Problem(str(candidate), "plans", (
            f"the candidate plans materials {sorted(cand_materials)}, the baseline "
            f"{sorted(base_materials)}: a candidate must cover the same materials"))],
            file=str(candidate))
    problems: list[Problem] = []
    pairs = []
    for file, sc in scenarios:
        if sc.plant is None:
            problems.append(Problem(file, "plant", "the stress gate compares rule sets on a "
                                    "plant with incoming inspection"))
            continue
        try:
            pairs.append((file, scenario_with_rules(sc, baseline, file),
                          scenario_with_rules(sc, candidate, file)))
        except ScenarioError as e:
            problems.extend(e.problems)
    if problems:
        raise ScenarioError(problems)
    changes = _changes(base_rules, cand_rules)
    out = [_compare(file, base, cand, tolerance, executor, store, changes)
           for file, base, cand in pairs]
    return StressReport(str(baseline), str(candidate), base_rules.content_hash(),
                        cand_rules.content_hash(), tolerance, tuple(out))


def _compare(file: str, base: Scenario, cand: Scenario, tolerance: float,
             executor: ExecutorSpec | Runner, store: RunStore | None,
             changes: list[str]) -> ScenarioComparison:
    applied_b, applied_c = _applied_hash(base), _applied_hash(cand)
    n = base.experiment.replications
    shocks = [item.shock for item in base.mtd.shocks] if base.mtd is not None else []
    if applied_b == applied_c:
        reason = _unused_reason(base, changes)
        skipped = tuple(MtdComparison(shock, "", None, None, None, None, None, None, False,
                                      reason) for shock in shocks)
        return ScenarioComparison(base.name, file, n, (), skipped, None, None, applied_b,
                                  applied_c, reason)
    check_budget(base, 2 * n, kept=2 * n, file=file)
    seed = base.experiment.seed
    engine = base.experiment.engine.value
    runs_b = run_jobs([Job(base, r, seed, engine) for r in range(n)], executor)
    runs_c = run_jobs([Job(cand, r, seed, engine) for r in range(n)], executor)
    bounds = {t.key: t for t in base.hypothesis.tolerances}
    required = base.hypothesis.probability
    kpis = []
    for kpi in runs_b[0].kpis:
        b = np.array([r.kpis[kpi] for r in runs_b], dtype=float)
        c = np.array([r.kpis[kpi] for r in runs_c], dtype=float)
        ok = ~(np.isnan(b) | np.isnan(c))
        diff = c[ok] - b[ok]
        paired = t_interval(diff)
        mean, low, high = paired.mean, paired.low, paired.high
        tol = bounds.get(kpi)
        held_b = float(np.mean([tol.holds(v) for v in b])) if tol else None
        held_c = float(np.mean([tol.holds(v) for v in c])) if tol else None
        newly = bool(tol and held_b is not None and held_c is not None
                     and held_b >= required > held_c)
        kpis.append(KpiComparison(
            kpi, _nanmean(b), _nanmean(c), mean, low, high,
            _bound_text(tol) if tol else None, held_b, held_c, newly))
    all_b = np.mean([all(t.holds(r.kpis[t.key]) for t in bounds.values())
                     for r in runs_b]) if bounds else 1.0
    all_c = np.mean([all(t.holds(r.kpis[t.key]) for t in bounds.values())
                     for r in runs_c]) if bounds else 1.0
    mtds = []
    same_searches = True
    if base.mtd is not None:
        for item in base.mtd.shocks:
            rb = find_mtd(base, item, executor=executor, store=store)
            rc = find_mtd(cand, item, executor=executor, store=store)
            same_searches &= _same_search(rb, rc)
            mtds.append(_compare_mtd(rb, rc, base.hypothesis.probability
                                     if base.mtd.probability is None else base.mtd.probability,
                                     tolerance))
    untested = None
    if same_searches and all(_same_run(rb, rc) for rb, rc in zip(runs_b, runs_c, strict=True)):
        untested = (f"the candidate's changes ({_changes_text(changes)}) never made a "
                    f"difference in this scenario: all {n} replications gave the same "
                    "journal and KPIs under both rule sets"
                    + (" and the MTD searches the same tolerable severities" if mtds else ""))
    return ScenarioComparison(base.name, file, n, tuple(kpis), tuple(mtds),
                              bool(all_b >= required), bool(all_c >= required),
                              applied_b, applied_c, untested)


# --------------------------------------------------------------------------- what applies


def _applied(sc: Scenario) -> dict[str, Any]:
    """What of the rule set in force at the start acts on the scenario's plant, as plain
    data: the plans of the materials the plant stocks, with the station that applies them;
    the triggers evaluated for those materials, with nested rule sets by content hash.
    Rule-set names and descriptions, which change nothing a run does, are left out."""
    from shocktwin.rules_engine.ruleset import LoadRules

    plant = sc.plant
    assert plant is not None and sc.rules is not None  # compare_rules checked both
    path = sc.resolve(sc.rules).resolve()
    ruleset = sc.ruleset(path)
    incoming = _incoming(sc)
    if not incoming:  # the twin builds no rule engine: no rule set is ever applied
        return {"plans": {}, "triggers": []}
    stocked = {b.material for b in plant.buffers}
    plans: dict[str, Any] = {}
    for plan in ruleset.plans:
        if plan.material not in stocked:
            continue  # no lot of it is ever delivered
        data = plan.model_dump(mode="json", by_alias=True)
        data["station"] = plan.station or incoming[0]  # where the twin applies it
        if plan.ai is not None and not plan.ai.bundled:
            data["ai"]["model"] = _file_digest(path.parent / plan.ai.model)
        plans[plan.material] = data
    triggers = []
    for trigger in ruleset.triggers:
        # A trigger is evaluated after a lot decision of its material (or of each planned
        # material when it names none): never for a material the plant has no lots of.
        if not plans or (trigger.material is not None and trigger.material not in plans):
            continue
        data = trigger.model_dump(mode="json", by_alias=True)
        for a, action in enumerate(trigger.then):
            if isinstance(action, LoadRules):
                data["then"][a]["file"] = sc.ruleset(path.parent / action.file).content_hash()
        triggers.append(data)
    return {"plans": plans, "triggers": triggers}


def _applied_hash(sc: Scenario) -> str:
    text = json.dumps(_applied(sc), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _incoming(sc: Scenario) -> list[str]:
    assert sc.plant is not None
    return [st.id for st in sc.plant.stations
            if st.kind == StationKind.INSPECTION and st.role == "incoming"]


def _file_digest(path: Path) -> str:
    # A missing file is the lint's business; here it only has to differ from a present one.
    # Read through the bounded reader: a pipe or a device named as a model never blocks.
    from shocktwin.errors import ShocktwinError
    from shocktwin.files import read_bytes

    try:
        return hashlib.sha256(read_bytes(path, limit=MODEL_READ_LIMIT)).hexdigest()
    except ShocktwinError:
        return f"unreadable {path.resolve()}"


def _changes(old: RuleSet, new: RuleSet) -> list[str]:
    """What the candidate changes, names and descriptions aside."""
    from shocktwin.rules_engine.ruleset import diff_rules

    return [line for line in diff_rules(old, new)
            if not line.startswith("name: ") and line != "description changed"]


def _changes_text(changes: list[str]) -> str:
    return "; ".join(changes) if changes else "none"


def _unused_reason(sc: Scenario, changes: list[str]) -> str:
    """Why the same content applies under both rule sets."""
    if not changes:
        return ("the candidate's plans and triggers are the same as the baseline's: "
                "there is nothing to test")
    assert sc.plant is not None
    incoming = _incoming(sc)
    if not incoming:
        return (f"the scenario's plant has no incoming inspection station, so neither rule "
                f"set is ever applied; the candidate's changes: {_changes_text(changes)}")
    stocked = sorted({b.material for b in sc.plant.buffers})
    return (f"the candidate's changes touch only what this scenario does not use (its plant "
            f"stocks {', '.join(stocked)}, inspected at {', '.join(incoming)}): "
            f"{_changes_text(changes)}")


def _same_run(b: ReplicationResult, c: ReplicationResult) -> bool:
    """The same KPIs and the same journal, rule-set names and hashes aside."""
    same_kpis = b.kpis.keys() == c.kpis.keys() and all(
        _same_number(b.kpis[k], c.kpis[k]) for k in b.kpis)
    return same_kpis and b.events == c.events and _journal(b) == _journal(c)


def _journal(run: ReplicationResult) -> list[Any]:
    from shocktwin.twin.model.events import RulesReloaded

    # A reload names the rule sets it went from and to; what it changed in the run shows
    # in the records after it.
    return [(e.kind, e.at_h, e.reason) if isinstance(e, RulesReloaded) else e
            for e in run.log]


def _same_search(b: MtdResult, c: MtdResult) -> bool:
    return (b.status == c.status and _same_number(b.mtd, c.mtd)
            and [(t.replication, t.tolerable, t.failing, t.broken) for t in b.thresholds]
            == [(t.replication, t.tolerable, t.failing, t.broken) for t in c.thresholds])


def _same_number(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return a == b or (math.isnan(a) and math.isnan(b))


def _compare_mtd(rb: MtdResult, rc: MtdResult, p: float, tolerance: float) -> MtdComparison:
    span = rb.high - rb.low

    def finite(x: float) -> float:  # censored ends count as the range's ends
        return rb.low - span if x == BELOW else (rb.high if math.isinf(x) else x)

    b = np.array([finite(t.tolerable) for t in rb.thresholds])
    c = np.array([finite(t.tolerable) for t in rc.thresholds])
    if rb.mtd is None or rc.mtd is None or b.size != c.size or b.size == 0:
        return MtdComparison(rb.shock, rb.unit, rb.mtd, rc.mtd, None, None, None, None, False,
                             "a search did not converge; no comparison")
    k = math.floor((1.0 - p) * b.size + 1e-9)
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    idx = rng.integers(0, b.size, size=(BOOTSTRAP_SAMPLES, b.size))
    qb = np.sort(b[idx], axis=1)[:, min(k, b.size - 1)]
    qc = np.sort(c[idx], axis=1)[:, min(k, c.size - 1)]
    low, high = (float(x) for x in np.percentile(qc - qb, [2.5, 97.5]))
    base_mtd, cand_mtd = finite(rb.mtd), finite(rc.mtd)
    diff = cand_mtd - base_mtd
    allowed = tolerance * abs(base_mtd)
    regression = high < -allowed
    unit = rb.unit
    message = (f"MTD {_fmt_mtd(rb, base_mtd)} → {_fmt_mtd(rc, cand_mtd)} "
               f"(difference {_fmt(diff, unit)}, 95 % CI {_fmt(low, unit)} … "
               f"{_fmt(high, unit)}; allowed drop {_fmt(allowed, unit)})")
    return MtdComparison(rb.shock, unit, base_mtd, cand_mtd, diff, low, high, allowed,
                         regression, message)


def _fmt_mtd(result: MtdResult, value: float) -> str:
    if result.status == MtdStatus.ABOVE_RANGE:
        return f"≥ {_fmt(result.high, result.unit)} (holds over the whole range)"
    if result.status == MtdStatus.BELOW_RANGE:
        return f"< {_fmt(result.low, result.unit)} (fails over the whole range)"
    return _fmt(value, result.unit)


def _fmt(x: float, unit: str) -> str:
    return f"{x:.4g} h" if unit == "h" else f"{x:.4g}"


def _nanmean(x: np.ndarray) -> float:
    finite = x[~np.isnan(x)]
    return float(finite.mean()) if finite.size else math.nan


def _bound_text(tol: Any) -> str:
    parts = []
    if tol.min is not None:
        parts.append(f"≥ {tol.min:g}")
    if tol.max is not None:
        parts.append(f"≤ {tol.max:g}")
    return " and ".join(parts)


# --------------------------------------------------------------------------- life cycle


@dataclass(frozen=True)
class StressOutcome:
    """A stress gate as ``shocktwin stress`` reports it: the comparison, the policy for
    scenarios that do not test the candidate, and the ``stress.json`` document."""

    report: StressReport
    policy: UntestedPolicy
    document: StressDocument
    written: tuple[Path, ...] = ()

    @property
    def failed(self) -> bool:
        return self.report.gate_failed(self.policy)


def run_stress_gate(scenario_files: Sequence[str | Path], baseline: str | Path,
                    candidate: str | Path, *, tolerance: float = 0.0,
                    policy: UntestedPolicy = UntestedPolicy.ANY,
                    out: str | Path | None = None, resume: bool = False,
                    executor: ExecutorSpec = LOCAL, allowed_roots: Sequence[str | Path] = (),
                    outputs: Sequence[str | Path] = (),
                    command: Sequence[str] | None = None) -> StressOutcome:
    """Load the scenarios and both rule sets, compare them on common random numbers (every
    run kept in ``out``'s run log as it ends, so ``resume`` reuses them), and write
    ``stress.json`` there as a whole. The output folder is locked throughout; ``outputs``
    (the JUnit and Markdown files the caller will write) are checked before anything runs."""
    from shocktwin.files import check_writable
    from shocktwin.locks import locked
    from shocktwin.scenarios.loader import load_scenario

    base, cand = Path(baseline), Path(candidate)
    missing = [Problem(str(f), "", "rule file does not exist") for f in (base, cand)
               if not f.is_file()]
    if missing:
        raise ScenarioError(missing)
    if resume and out is None:
        raise ScenarioError("--resume needs --out, the folder of the interrupted gate")
    for target in outputs:
        check_writable(target, error=SimulationError)
    loaded = [(str(p), load_scenario(p, allowed_roots=allowed_roots))
              for p in map(Path, scenario_files)]
    folder = Path(out) if out is not None else None
    with (locked(folder, what="results folder", error=SimulationError) if folder is not None
          else contextlib.nullcontext()), Runner(executor) as runner:
        store = RunStore(folder / RUN_LOG if folder is not None else None, resume=resume)
        report = compare_rules(loaded, base, cand, tolerance=tolerance, executor=runner,
                               store=store)
        doc = stress_document(report, policy, command=command)
        written = (write_document(folder, doc),) if folder is not None else ()
    return StressOutcome(report, policy, doc, written)


def stress_document(report: StressReport, policy: UntestedPolicy, *,
                    command: Sequence[str] | None = None) -> StressDocument:
    """``stress.json``: one record per scenario compared, closed by the gate's decision."""
    records: list[Any] = [ScenarioCompared(
        scenario=s.scenario, file=s.file, replications=s.replications,
        hypothesis_baseline=s.hypothesis_baseline, hypothesis_candidate=s.hypothesis_candidate,
        untested=s.untested, failed=s.failed,
        kpis=[json_ready(dataclasses.asdict(k)) for k in s.kpis],
        mtds=[json_ready(dataclasses.asdict(m)) for m in s.mtds]) for s in report.scenarios]
    records.append(GateDecided(
        baseline=report.baseline, candidate=report.candidate,
        baseline_hash=report.baseline_hash, candidate_hash=report.candidate_hash,
        tolerance=report.tolerance, policy=policy.value, regression=report.failed,
        failed=report.gate_failed(policy), untested=[s.scenario for s in report.untested]))
    doc = make_document(DocumentKind.STRESS, records, scenario=None, scenario_hash=None,
                        seed=None, rules={report.baseline: report.baseline_hash,
                                          report.candidate: report.candidate_hash},
                        command=command)
    assert isinstance(doc, StressDocument)
    return doc
