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

Everything is deterministic for the same inputs: seeds from the scenarios, a fixed seed for
the bootstrap, and no times in the numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from shocktwin.errors import Problem, ScenarioError
from shocktwin.interval import t_interval
from shocktwin.scenarios.model import Scenario
from shocktwin.twin.experiment.budget import check_budget
from shocktwin.twin.experiment.executor import LOCAL, ExecutorSpec, Job, Runner, run_jobs
from shocktwin.twin.resilience.mtd import BELOW, MtdResult, MtdStatus, RunStore, find_mtd

__all__ = ["KpiComparison", "MtdComparison", "ScenarioComparison", "StressReport",
           "compare_rules", "scenario_with_rules"]

BOOTSTRAP_SAMPLES = 2000
BOOTSTRAP_SEED = 20_240_601


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
    kpis: tuple[KpiComparison, ...]
    mtds: tuple[MtdComparison, ...]
    hypothesis_baseline: bool
    hypothesis_candidate: bool

    @property
    def failed(self) -> bool:
        return any(k.newly_broken for k in self.kpis) or any(m.regression for m in self.mtds)


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
        return any(s.failed for s in self.scenarios)


def scenario_with_rules(scenario: Scenario, rules: Path, file: str | None = None) -> Scenario:
    """The scenario with ``rules`` in force, its rule sets loaded and checked again."""
    from shocktwin.scenarios._rules import bind_rules

    return bind_rules(scenario.model_copy(update={"rules": str(rules.resolve())}), file)


def compare_rules(scenarios: list[tuple[str, Scenario]], baseline: Path, candidate: Path, *,
                  tolerance: float = 0.0, executor: ExecutorSpec | Runner = LOCAL,
                  store: RunStore | None = None) -> StressReport:
    """Compare the candidate rule set with the baseline on every scenario."""
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
    out = [_compare(file, base, cand, tolerance, executor, store)
           for file, base, cand in pairs]
    return StressReport(str(baseline), str(candidate), base_rules.content_hash(),
                        cand_rules.content_hash(), tolerance, tuple(out))


def _compare(file: str, base: Scenario, cand: Scenario, tolerance: float,
             executor: ExecutorSpec | Runner, store: RunStore | None) -> ScenarioComparison:
    n = base.experiment.replications
    check_budget(base, 2 * n, kept=2 * n, file=file)
    seed = base.experiment.seed
    engine = base.experiment.engine.value
    runs_b = run_jobs([Job(base, r, seed, engine) for r in range(n)], executor)
    runs_c = run_jobs([Job(cand, r, seed, engine) for r in range(n)], executor)
    bounds = {t.kpi.value: t for t in base.hypothesis.tolerances}
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
    all_b = np.mean([all(t.holds(r.kpis[t.kpi.value]) for t in bounds.values())
                     for r in runs_b]) if bounds else 1.0
    all_c = np.mean([all(t.holds(r.kpis[t.kpi.value]) for t in bounds.values())
                     for r in runs_c]) if bounds else 1.0
    mtds = []
    if base.mtd is not None:
        for item in base.mtd.shocks:
            rb = find_mtd(base, item, executor=executor, store=store)
            rc = find_mtd(cand, item, executor=executor, store=store)
            mtds.append(_compare_mtd(rb, rc, base.hypothesis.probability
                                     if base.mtd.probability is None else base.mtd.probability,
                                     tolerance))
    return ScenarioComparison(base.name, file, n, tuple(kpis), tuple(mtds),
                              bool(all_b >= required), bool(all_c >= required))


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
