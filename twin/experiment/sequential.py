"""The verdict rule on the share of replications in which a hypothesis held, and sequential
replications: looks at n0, 2·n0, 4·n0 … replications until the verdict is decided.

A verdict is decided from the Wilson score interval (with continuity correction, see
``shocktwin.interval.wilson_interval``) of the held share (held / n) at a confidence
``level``: its lower end at or above the required probability — the hypothesis
HOLDS; its upper end below it — VIOLATED; the interval straddling it — UNDECIDED (more
replications can tell). A required probability of 1 asks for every replication: the
hypothesis holds when all held, and is violated by the first that did not.

Sequentially, each look judges all the replications so far; the first decided look ends the
run. Looking several times gives chance several tries to decide wrongly, so each of the K
planned looks uses the level 1 − α/K (Bonferroni): the probability that any look decides
wrongly is at most α (the tests measure it on a Bernoulli simulation, required shares 80 to
99 %, at the true share and 5 points either side of it). With α = 0.05 and looks at 10, 20,
40, 80, 160 and 320 replications, each look uses a 99.17 % interval.

Everything here is a pure function of the held counts, so the rule is simulated on Bernoulli
outcomes without the twin (``tests/test_sequential.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from shocktwin.interval import ShareInterval, wilson_interval

__all__ = ["ALPHA", "Look", "LookPlan", "LookRefused", "SequentialOutcome", "VerdictState",
           "decide", "plan_looks", "run_sequential"]

#: The chance of a wrong decided verdict allowed over all looks of a sequential run.
ALPHA = 0.05


class VerdictState(StrEnum):
    """The steady-state hypothesis verdict."""

    HOLDS = "holds"
    VIOLATED = "violated"
    UNDECIDED = "undecided"
    NONE = "none"  # the scenario states no tolerances: nothing to judge


def decide(held: int, n: int, required: float, level: float = 1 - ALPHA,
           ) -> tuple[VerdictState, ShareInterval]:
    """The verdict on ``held`` of ``n`` replications against the ``required`` share, with
    the Wilson interval of the held share at ``level``."""
    interval = wilson_interval(held, n, level)
    if required >= 1.0:
        return (VerdictState.HOLDS if held == n else VerdictState.VIOLATED), interval
    if interval.low >= required:
        return VerdictState.HOLDS, interval
    if interval.high < required:
        return VerdictState.VIOLATED, interval
    return VerdictState.UNDECIDED, interval


@dataclass(frozen=True)
class LookPlan:
    """The replication counts at which a sequential run looks, and the α they share."""

    sizes: tuple[int, ...]
    alpha: float = ALPHA

    @property
    def level(self) -> float:
        """The confidence level of every look's interval: 1 − α/K for K planned looks."""
        return 1.0 - self.alpha / len(self.sizes)


def plan_looks(first: int, most: int, alpha: float = ALPHA) -> LookPlan:
    """Looks at ``first``, twice, four times … as many replications while below ``most``,
    then at ``most`` itself; a single look at ``first`` when it is not below ``most``."""
    if first < 1:
        raise ValueError(f"the first look needs at least one replication, not {first}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, not {alpha}")
    sizes = [first]
    while sizes[-1] < most:
        sizes.append(min(2 * sizes[-1], most))
    return LookPlan(tuple(sizes), alpha)


@dataclass(frozen=True)
class Look:
    """One look: the replications so far, how many held, and the verdict at the plan's
    level."""

    n: int
    held: int
    state: VerdictState
    interval: ShareInterval


class LookRefused(Exception):
    """Raised by a held-count source that may not run the next look's replications (a
    resource budget); the run stops with what it has and says why."""


@dataclass(frozen=True)
class SequentialOutcome:
    """The looks taken, in order; the last one's verdict is the run's."""

    plan: LookPlan
    looks: tuple[Look, ...]
    #: Why the run stopped before a decided or last planned look (the budget's reason).
    stopped: str | None = None

    @property
    def final(self) -> Look:
        return self.looks[-1]

    @property
    def state(self) -> VerdictState:
        return self.final.state

    @property
    def n(self) -> int:
        return self.final.n


def run_sequential(held_after: Callable[[int], int], plan: LookPlan, required: float,
                   ) -> SequentialOutcome:
    """Look at each of the plan's sizes in turn until the verdict is decided.

    ``held_after(n)`` gives how many of the first n replications held (it runs those not run
    yet); it raises :class:`LookRefused` when the next look may not be run, which ends the
    run at the last look taken (a refused first look is re-raised).
    """
    looks: list[Look] = []
    for size in plan.sizes:
        try:
            held = held_after(size)
        except LookRefused as refused:
            if not looks:
                raise
            return SequentialOutcome(plan, tuple(looks), str(refused))
        state, interval = decide(held, size, required, plan.level)
        looks.append(Look(size, held, state, interval))
        if state is not VerdictState.UNDECIDED:
            break
    return SequentialOutcome(plan, tuple(looks))
