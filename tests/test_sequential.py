"""Sequential replications (`run --until-decided`): the looks, the error rates of the rule on
a Bernoulli simulation, and on the twin the same result as a plain run of the final size,
the budget respected, the progress reported."""

from __future__ import annotations

import importlib
import json
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import BASE_PLANT, deep_update
from typer.testing import CliRunner

from shocktwin import cli
from shocktwin.errors import SimulationError
from shocktwin.scenarios.loader import parse_scenario
from shocktwin.twin.experiment import replication
from shocktwin.twin.experiment.sequential import (
    LookPlan,
    LookRefused,
    SequentialOutcome,
    VerdictState,
    plan_looks,
    run_sequential,
)
from shocktwin.twin.journal.record import journal_hash

# --------------------------------------------------------------------------- the plan


@pytest.mark.parametrize(("first", "most", "sizes"), [
    (10, 320, (10, 20, 40, 80, 160, 320)),
    (10, 100, (10, 20, 40, 80, 100)),
    (3, 3, (3,)),
    (500, 320, (500,)),  # a first look past the most: one look
])
def test_looks_double_up_to_the_most(first: int, most: int, sizes: tuple[int, ...]) -> None:
    plan = plan_looks(first, most)
    assert plan.sizes == sizes
    assert plan.level == pytest.approx(1 - 0.05 / len(sizes))  # Bonferroni over the looks


def test_a_look_the_budget_refuses_ends_the_run_with_the_looks_taken() -> None:
    def held_after(n: int) -> int:
        if n > 20:
            raise LookRefused("the budget refuses 40 replications")
        return n - 1  # one replication fails: never decided at 90 % with so few

    outcome = run_sequential(held_after, plan_looks(10, 320), 0.9)
    assert [look.n for look in outcome.looks] == [10, 20]
    assert outcome.state is VerdictState.UNDECIDED
    assert outcome.stopped == "the budget refuses 40 replications"
    with pytest.raises(LookRefused):  # nothing to report without a first look
        run_sequential(lambda n: (_ for _ in ()).throw(LookRefused("no")), plan_looks(10, 20),
                       0.9)


# --------------------------------------------------------------------------- error rates

PATHS = 4000


def _simulate(p: float, required: float, plan: LookPlan, seed: int) -> list[SequentialOutcome]:
    """PATHS sequential runs on Bernoulli(p) outcomes (True: the hypothesis held)."""
    rng = np.random.default_rng(seed)
    outcomes = rng.random((PATHS, plan.sizes[-1])) < p
    held = np.cumsum(outcomes, axis=1)
    return [run_sequential(lambda n, row=row: int(row[n - 1]), plan, required) for row in held]


def _rate(runs: list[SequentialOutcome], state: VerdictState) -> float:
    return sum(r.state is state for r in runs) / len(runs)


#: The allowed wrong-verdict rate, with three standard errors of a rate of 0.05 over PATHS.
LIMIT = 0.05 + 3 * math.sqrt(0.05 * 0.95 / PATHS)
MARGIN = 0.05

PLANS = [(10, 320), (20, 320), (10, 100)]
CELLS = [(first, most, required) for first, most in PLANS
         for required in (0.8, 0.9, 0.95, 0.99)]


@pytest.mark.parametrize(("first", "most", "required"), CELLS)
def test_a_wrong_decided_verdict_is_rare(first: int, most: int, required: float) -> None:
    """True p at the required probability: VIOLATED is wrong; a margin below it HOLDS is
    wrong, a margin above it VIOLATED is. Each at most 5 % over all looks."""
    plan = plan_looks(first, most)
    seed = int(required * 1000) + first + most
    at = _simulate(required, required, plan, seed)
    assert _rate(at, VerdictState.VIOLATED) <= LIMIT
    below = _simulate(required - MARGIN, required, plan, seed + 1)
    assert _rate(below, VerdictState.HOLDS) <= LIMIT
    above = _simulate(required + MARGIN, required, plan, seed + 2) if required + MARGIN < 1 \
        else []
    if above:
        assert _rate(above, VerdictState.VIOLATED) <= LIMIT


@pytest.mark.parametrize("required", [0.8, 0.9])
def test_a_margin_away_the_rule_decides_rightly_more_often_than_not(required: float) -> None:
    """Not a rule that never decides (it would pass the test above): with looks up to 320
    replications, 5 points off the required share is told apart in most runs."""
    plan = plan_looks(10, 320)
    assert _rate(_simulate(required - MARGIN, required, plan, 5), VerdictState.VIOLATED) > 0.3
    assert _rate(_simulate(required + MARGIN, required, plan, 6), VerdictState.HOLDS) > 0.3


def test_looking_once_per_doubling_without_the_bonferroni_level_errs_more_often() -> None:
    """The per-look level matters: the same looks at 95 % each decide VIOLATED wrongly
    about twice as often at p = 0.9 (the error rates above would fail)."""
    plan = plan_looks(10, 320)
    naive = LookPlan(plan.sizes, alpha=0.05 * len(plan.sizes))  # level 0.95 at every look
    assert naive.level == pytest.approx(0.95)
    runs = _simulate(0.9, 0.9, naive, seed=9)
    assert _rate(runs, VerdictState.VIOLATED) > LIMIT


def test_near_certainty_the_corrected_interval_keeps_its_level() -> None:
    """Next to 1 the score interval without continuity correction undercovers (Brown, Cai
    and DasGupta 2001): at a required 99 %, with looks from 10 replications, it called a
    process exactly at 99 % VIOLATED 12.5 % of the time (one failure among few
    replications). The corrected interval the verdict uses keeps that within the level."""
    runs = _simulate(0.99, 0.99, plan_looks(10, 320), seed=99)
    assert _rate(runs, VerdictState.VIOLATED) <= LIMIT


# --------------------------------------------------------------------------- on the twin

#: A short plant whose throughput bound always holds: 2 of 2 replications leave the 98.75 %
#: interval (4 looks: 2, 4, 8, 16) at 0.139, 4 of 4 at 0.302, 8 of 8 at 0.496 ≥ 0.45:
#: decided HOLDS at the third look.
SHORT = {"horizon": "2d", "warmup": "0h",
         "hypothesis": {"probability": 0.45,
                        "tolerances": [{"kpi": "throughput_per_h", "min": 0.001}]},
         "experiment": {"replications": 2, "seed": 3, "max_replications": 16}}


def test_until_decided_equals_a_plain_run_of_the_final_size() -> None:
    scenario = parse_scenario(deep_update(BASE_PLANT, SHORT))
    seen: list[tuple[int, int]] = []
    result = replication.run_until_decided(scenario, progress=lambda d, t: seen.append((d, t)))
    seq = result.sequential
    assert seq is not None and [look.n for look in seq.looks] == [2, 4, 8]
    assert seq.plan.sizes == (2, 4, 8, 16) and seq.stopped is None
    assert result.verdict.state is VerdictState.HOLDS and result.verdict.n == 8
    assert result.verdict.level == pytest.approx(1 - 0.05 / 4)
    z = 2.4977  # two-sided 98.75 %
    low = (2 * 8 + z * z - 1 - z * math.sqrt(z * z + 2 - 1 / 8)) / (2 * (8 + z * z))
    assert result.verdict.share_low == pytest.approx(low, abs=1e-3)
    plain = replication.run_experiment(scenario, replications=8)
    assert journal_hash(result) == journal_hash(plain)
    assert [r.replication for r in result.replications] == list(range(8))
    assert seen[-1] == (8, 8) and (2, 2) in seen and (4, 4) in seen  # the bar grows per look


def test_until_decided_stops_where_the_budget_refuses(monkeypatch: pytest.MonkeyPatch) -> None:
    scenario = parse_scenario(deep_update(BASE_PLANT, SHORT))
    budget: Callable[..., None] = replication.check_budget

    def small_budget(sc: object, runs: int, **kw: object) -> None:
        if runs > 4:
            raise SimulationError(f"{runs:,} runs would take too long (limit 4)")
        budget(sc, runs, **kw)

    monkeypatch.setattr(replication, "check_budget", small_budget)
    result = replication.run_until_decided(scenario)
    seq = result.sequential
    assert seq is not None and [look.n for look in seq.looks] == [2, 4]
    assert len(result.replications) == 4 and result.verdict.state is VerdictState.UNDECIDED
    assert seq.stopped == "the budget refuses 8 replications: 8 runs would take too long " \
        "(limit 4)"


def test_run_until_decided_prints_the_looks_and_exits_by_the_verdict(
        tmp_path: Path, runner: CliRunner) -> None:
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(deep_update(BASE_PLANT, SHORT)))
    done = runner.invoke(cli.app, ["run", str(path), "--until-decided"])
    assert done.exit_code == 0, done.output
    assert ("until decided: 3 of 4 planned looks (2, 4, 8 replications; up to 16), each at "
            "the 98.75 % level; decided at 8 replications") in done.stdout
    assert "HOLDS: all tolerances held in 8 of 8 replications" in done.stdout
    digest = done.stdout.split("journal hash ")[1].split()[0]
    plain = runner.invoke(cli.app, ["run", str(path), "-n", "8", "--json"])
    assert json.loads(plain.stdout)["journal_hash"] == digest
    doc = json.loads(runner.invoke(cli.app, ["run", str(path), "--until-decided",
                                             "--json"]).stdout)
    assert [look["n"] for look in doc["until_decided"]["looks"]] == [2, 4, 8]
    assert doc["until_decided"]["stopped"] is None and doc["replications"] == 8


def test_the_cli_says_when_the_budget_stopped_the_replications(
        tmp_path: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(deep_update(BASE_PLANT, SHORT)))
    budget = replication.check_budget

    def small_budget(sc: object, runs: int, **kw: object) -> None:
        if runs > 2:
            raise SimulationError("too many runs (limit 2)")
        budget(sc, runs, **kw)

    monkeypatch.setattr(replication, "check_budget", small_budget)
    done = runner.invoke(cli.app, ["run", str(path), "--until-decided"])
    assert done.exit_code == importlib.import_module("shocktwin.cli.app").EXIT_UNDECIDED
    assert ("stopped at 2 replications: the budget refuses 4 replications: too many runs "
            "(limit 2)") in done.stdout.replace("\n", "")
    assert "undecided: the budget stopped the replications" in done.stdout.replace("\n", "")
