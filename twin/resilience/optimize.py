"""Mitigation optimisation: NSGA-II (pymoo) over the decision variables a scenario declares,
against its objectives — cost, KPIs, and the MTD of its shocks — on common random numbers.

Every candidate is the scenario as written with the variables set at their paths (so
units, rule files and cross-checks are validated exactly as for a file), run on the same
seed and replication indices as every other candidate: differences between candidates are
the decisions', not the random numbers'. All evaluated points and the non-dominated front
are returned; ``shocktwin optimize --out`` saves them.
"""

from __future__ import annotations

import contextlib
import copy
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from shocktwin.errors import Problem, ScenarioError, SimulationError
from shocktwin.scenarios.model import DecisionVariable, Scenario
from shocktwin.twin.experiment.budget import check_budget, optimize_runs
from shocktwin.twin.experiment.executor import LOCAL, ExecutorSpec, Job, Runner, run_jobs
from shocktwin.twin.experiment.recovery import LOWER_IS_BETTER
from shocktwin.twin.journal.document import (
    DocumentKind,
    Objective,
    OptimisationFinished,
    ParetoDocument,
    PointEvaluated,
    make_document,
    write_document,
)
from shocktwin.twin.resilience.mtd import RUN_LOG, RunStore, run_key

__all__ = ["Candidate", "OptimizeOutcome", "OptimizeResult", "apply_decisions", "optimize",
           "pareto_document", "run_optimisation"]

_STEP = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]")


@dataclass(frozen=True)
class Candidate:
    decisions: dict[str, Any]
    objectives: dict[str, float]  # as reported (MTD and maxima as they are)


@dataclass(frozen=True)
class OptimizeResult:
    front: tuple[Candidate, ...]
    evaluated: tuple[Candidate, ...]
    objectives: tuple[str, ...]
    senses: tuple[str, ...]  # min | max per objective
    #: Runs the optimisation needed, computed now or taken from the run log (of an earlier,
    #: interrupted optimisation, or a setting evaluated twice): ``runs_reused`` of them.
    runs: int
    runs_reused: int = 0


def _decode(var: DecisionVariable, x: float) -> Any:
    if var.choices is not None:
        return var.choices[int(min(max(round(x), 0), len(var.choices) - 1))]
    value: float = float(np.clip(x, var.low, var.high))
    if var.integer:
        value = float(round(value))
    out: Any = int(value) if var.integer else value
    return f"{out}{var.unit}" if var.unit else out


def _cost(var: DecisionVariable, x: float) -> float:
    if var.choices is not None:
        idx = int(min(max(round(x), 0), len(var.choices) - 1))
        return var.choice_costs[idx] if var.choice_costs else var.cost * idx
    value = float(np.clip(x, var.low, var.high))
    return var.cost * (round(value) if var.integer else value)


def apply_decisions(scenario: Scenario, decisions: dict[str, Any]) -> Scenario:
    """The scenario as written with each variable's value put at its path, validated."""
    from shocktwin.scenarios.loader import parse_scenario

    source = scenario.binding.source
    if source is None or scenario.optimize is None:
        raise ValueError("the scenario was not loaded from data with an optimize block")
    data = copy.deepcopy(dict(source))
    problems = []
    for i, var in enumerate(scenario.optimize.variables):
        try:
            _set(data, var.path, decisions[var.name])
        except (KeyError, IndexError, TypeError):
            problems.append(Problem(None, f"optimize.variables[{i}].path",
                                    f"{var.path!r} names no setting of the scenario"))
    if problems:
        raise ScenarioError(problems)
    data.pop("optimize", None)
    try:
        return parse_scenario(data, base_dir=scenario.binding.base_dir,
                              allowed_roots=scenario.binding.allowed_roots)
    except ScenarioError as e:
        where = ", ".join(f"{k}={v!r}" for k, v in decisions.items())
        raise ScenarioError([Problem(p.file, p.path, f"{p.message} (with {where})", p.line)
                             for p in e.problems]) from e


def _set(data: Any, path: str, value: Any) -> None:
    steps: list[str | int] = [m.group(1) if m.group(1) is not None else int(m.group(2))
                              for m in _STEP.finditer(path)]
    target = data
    for step in steps[:-1]:
        target = target[step]
    last = steps[-1]
    if isinstance(last, int) and not 0 <= last < len(target):
        raise IndexError(last)
    if isinstance(last, str) and not isinstance(target, dict):
        raise TypeError(last)
    target[last] = value


def optimize(scenario: Scenario, *, executor: ExecutorSpec | Runner = LOCAL,
             seed: int | None = None, progress: Callable[[int, int], None] | None = None,
             store: RunStore | None = None) -> OptimizeResult:
    """Run NSGA-II over the scenario's ``optimize`` block."""
    from pymoo.algorithms.moo.nsga2 import NSGA2
    from pymoo.core.problem import Problem
    from pymoo.optimize import minimize
    from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

    spec = scenario.optimize
    if spec is None:
        raise ValueError("the scenario has no optimize block")
    seed = scenario.experiment.seed if seed is None else seed
    variables = spec.variables
    xl = np.array([0.0 if v.choices else v.low for v in variables], dtype=float)
    xu = np.array([len(v.choices) - 1.0 if v.choices else v.high for v in variables],
                  dtype=float)
    labels = tuple(o.label for o in spec.objectives)
    senses = tuple("max" if o.mtd is not None or (o.kpi is not None and o.kpi.value
                                                  not in LOWER_IS_BETTER) else "min"
                   for o in spec.objectives)
    check_budget(scenario, optimize_runs(scenario))
    # Both ends of every range must give a valid scenario before anything runs.
    for x in (xl, xu):
        apply_decisions(scenario, {v.name: _decode(v, xi) for v, xi in
                                   zip(variables, x, strict=True)})
    evaluated: list[Candidate] = []
    runs = 0  # computed now
    reused = 0  # taken from the run log (an interrupted earlier run's, or a point seen twice)
    runs_store = store or RunStore(None, resume=False)
    generations = spec.generations
    population = spec.population

    def evaluate(x: np.ndarray) -> dict[str, float]:
        nonlocal runs, reused
        decisions = {v.name: _decode(v, xi) for v, xi in zip(variables, x, strict=True)}
        sc = apply_decisions(scenario, decisions)
        values: dict[str, float] = {}
        kpis_needed = [o for o in spec.objectives if o.kpi is not None]
        if kpis_needed:
            n = spec.replications or scenario.experiment.replications
            engine = scenario.experiment.engine.value
            base = run_key(sc)
            keys = [f"opt|{base}|{r}|{seed}|{engine}" for r in range(n)]
            todo = [r for r, key in enumerate(keys) if runs_store.get(key) is None]

            def done(i: int, result: Any) -> None:
                runs_store.put(keys[todo[i]], {"kpis": dict(result.kpis)})

            run_jobs([Job(sc, r, seed, engine) for r in todo], executor, done)
            runs += len(todo)
            reused += len(keys) - len(todo)
            rows = [runs_store.get(key) or {"kpis": {}} for key in keys]
            for o in kpis_needed:
                assert o.kpi is not None
                column = [float(row["kpis"].get(o.kpi.value, math.nan)) for row in rows]
                finite = [c for c in column if not math.isnan(c)]
                values[o.label] = float(np.mean(finite)) if finite else math.nan
        for o in spec.objectives:
            if o.mtd is not None:
                values[o.label] = _mtd_of(sc, o.mtd, spec.mtd_replications, executor, seed,
                                          runs_store)
            elif o.cost:
                values[o.label] = float(sum(_cost(v, xi) for v, xi in
                                            zip(variables, x, strict=True)))
        evaluated.append(Candidate(decisions, values))
        return values

    class _Problem(Problem):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__(n_var=len(variables), n_obj=len(labels), xl=xl, xu=xu)

        def _evaluate(self, pop: np.ndarray, out: dict[str, Any], *args: Any,
                      **kwargs: Any) -> None:
            rows = []
            for x in pop:
                values = evaluate(x)
                rows.append([_minimised(values[label], sense)
                             for label, sense in zip(labels, senses, strict=True)])
            out["F"] = np.array(rows, dtype=float)
            if progress:
                progress(len(evaluated), population * generations)

    minimize(_Problem(), NSGA2(pop_size=spec.population), ("n_gen", generations), seed=seed,
             verbose=False)
    matrix = np.array([[_minimised(c.objectives[label], sense)
                        for label, sense in zip(labels, senses, strict=True)]
                       for c in evaluated], dtype=float)
    finite = np.isfinite(matrix).all(axis=1)
    order = np.flatnonzero(finite)
    front_idx = (order[NonDominatedSorting().do(matrix[finite], only_non_dominated_front=True)]
                 if order.size else np.array([], dtype=int))
    front = _unique([evaluated[i] for i in sorted(front_idx)])
    return OptimizeResult(front=tuple(front), evaluated=tuple(evaluated), objectives=labels,
                          senses=senses, runs=runs + reused, runs_reused=reused)


def _minimised(value: float, sense: str) -> float:
    if math.isnan(value):
        return math.inf
    if value == math.inf and sense == "max":
        return -1e300
    return -value if sense == "max" else value


def _unique(candidates: list[Candidate]) -> list[Candidate]:
    seen: set[str] = set()
    out = []
    for c in candidates:
        key = _key(c)
        if key not in seen:
            seen.add(key)
            out.append(c)
    return out


def _mtd_of(sc: Scenario, shock: str, replications: int, executor: ExecutorSpec | Runner,
            seed: int, store: RunStore) -> float:
    from shocktwin.twin.resilience.mtd import find_mtd

    assert sc.mtd is not None
    item = next(i for i in sc.mtd.shocks if i.shock == shock)
    small = sc.model_copy(update={"mtd": sc.mtd.model_copy(update={
        "replications": replications, "max_replications": replications, "precision": None})})
    result = find_mtd(small, item, executor=executor, seed=seed, store=store)
    if result.mtd is None:
        return math.nan
    return result.mtd if math.isfinite(result.mtd) else (
        result.high if result.mtd > 0 else result.low)


# --------------------------------------------------------------------------- life cycle


@dataclass(frozen=True)
class OptimizeOutcome:
    """An optimisation as ``shocktwin optimize`` reports it: the result and its document."""

    scenario: Scenario
    result: OptimizeResult
    document: ParetoDocument
    written: tuple[Path, ...] = ()


def run_optimisation(scenario_file: str | Path, *, out: str | Path | None = None,
                     resume: bool = False, seed: int | None = None,
                     executor: ExecutorSpec = LOCAL,
                     progress: Callable[[int, int], None] | None = None,
                     allowed_roots: Sequence[str | Path] = (),
                     command: Sequence[str] | None = None) -> OptimizeOutcome:
    """Load the scenario, run NSGA-II over its optimize block (every finished run kept in
    ``out``'s run log, so ``resume`` continues an interrupted optimisation), and write
    ``pareto.json`` there as a whole. The output folder is locked throughout."""
    from shocktwin.locks import locked
    from shocktwin.scenarios.loader import load_scenario

    path = Path(scenario_file)
    if resume and out is None:
        raise ScenarioError("--resume needs --out, the folder of the interrupted run")
    scenario = load_scenario(path, allowed_roots=allowed_roots)
    if scenario.optimize is None:
        raise ScenarioError("the scenario has no optimize block", file=str(path))
    folder = Path(out) if out is not None else None
    with (locked(folder, what="results folder", error=SimulationError) if folder is not None
          else contextlib.nullcontext()), Runner(executor) as runner:
        store = RunStore(folder / RUN_LOG if folder is not None else None, resume=resume)
        result = optimize(scenario, executor=runner, seed=seed, progress=progress, store=store)
        doc = pareto_document(scenario, result, seed=seed, command=command)
        written = (write_document(folder, doc),) if folder is not None else ()
    return OptimizeOutcome(scenario, result, doc, written)


def pareto_document(scenario: Scenario, result: OptimizeResult, *, seed: int | None,
                    command: Sequence[str] | None = None) -> ParetoDocument:
    """``pareto.json``: every evaluated point (those on the non-dominated front marked),
    closed by the objectives and the runs taken."""
    on_front = {_key(c) for c in result.front}
    records: list[Any] = []
    for c in result.evaluated:
        key = _key(c)
        records.append(PointEvaluated(decisions=c.decisions, on_front=key in on_front,
                                      objectives=c.objectives))  # made JSON-ready there
        on_front.discard(key)  # a point evaluated twice is on the front once
    records.append(OptimisationFinished(
        objectives=[Objective(name=n, sense="max" if s == "max" else "min")
                    for n, s in zip(result.objectives, result.senses, strict=True)],
        runs=result.runs, runs_reused=result.runs_reused))
    doc = make_document(DocumentKind.PARETO, records, scenario=scenario.name,
                        scenario_hash=scenario.content_hash(),
                        seed=scenario.experiment.seed if seed is None else seed,
                        rules=scenario.rule_files(), command=command)
    assert isinstance(doc, ParetoDocument)
    return doc


def _key(c: Candidate) -> str:
    return repr(sorted(c.decisions.items()))

