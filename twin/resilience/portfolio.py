"""The portfolio resilience score: one number for a whole suite, from its tests' outcomes, with
the components it is made of.

Formula. A *test* is a result row with a target, of an indicator that has one
(``mtd``, ``recovery_guarantee``, ``hypothesis_share``) — one per scenario × shock × indicator
key. For a review R finished at time T, the tests are those R ran and, for scenarios still
in the suite, those an earlier review ran that R did not (*not re-run*: their latest result is
carried forward). Each test earns a credit

    credit = c(status) × d(age)

with c = 1 for passed, ½ for undecided or not converged (the evidence does not decide), 0
for failed; ``age`` is the time from the test's review to T (0 for the tests R ran) and

    d(age) = 1                                   if age ≤ interval
    d(age) = 2 ^ −((age − interval) / interval)  otherwise

— a result keeps its full weight for its review interval and then halves with every further
interval. The score is

    score = 100 × Σ credit / number of tests     (no tests: no score)

so a suite whose every test passed in this review scores 100; failures, undecided results,
and results that were not re-run and have grown stale pull it down.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime

from shocktwin.twin.resilience.history import ResultRow, ResultStatus

__all__ = ["CREDIT", "SCORED_INDICATORS", "PortfolioScore", "ScoredTest", "decay",
           "portfolio_score"]

#: Indicators that are tests (they have a target).
SCORED_INDICATORS = frozenset({"mtd", "recovery_guarantee", "hypothesis_share"})
#: The credit of a status; statuses without a target are not tests.
CREDIT: dict[str, float] = {
    ResultStatus.PASSED: 1.0, ResultStatus.UNDECIDED: 0.5, ResultStatus.NOT_CONVERGED: 0.5,
    ResultStatus.FAILED: 0.0}


def decay(age_days: float, interval_days: float) -> float:
    """The weight left to a result ``age_days`` old whose review interval is
    ``interval_days``: 1 within the interval, then halved with each further interval."""
    if interval_days <= 0 or age_days <= interval_days:
        return 1.0
    return float(2.0 ** (-(age_days - interval_days) / interval_days))


@dataclass(frozen=True)
class ScoredTest:
    scenario: str
    shock: str
    indicator: str
    status: str
    review: str
    age_days: float
    interval_days: float
    rerun: bool
    credit: float


@dataclass(frozen=True)
class PortfolioScore:
    """The score and what it is made of: ``passed + failed + undecided + not_rerun ==
    tests`` (the first three count the tests this review ran)."""

    score: float | None
    tests: int
    passed: int
    failed: int
    undecided: int
    not_rerun: int
    #: Tests whose result is older than its review interval (their credit has decayed).
    stale: int
    #: Credit lost to decay, in tests (Σ c(status) × (1 − d(age))).
    decayed: float
    formula: str
    scored: tuple[ScoredTest, ...]

    def components(self) -> dict[str, object]:
        """The score's JSON form (``reviews.score_json``)."""
        data = asdict(self)
        data["scored"] = [asdict(t) for t in self.scored]
        return data

    def text(self) -> str:
        """``portfolio resilience score 62.5 / 100: 8 tests — 5 passed, 2 failed, ...``."""
        if self.score is None:
            return "portfolio resilience score: no tests with a target"
        return (f"portfolio resilience score {self.score:.1f} / 100: {self.tests} tests — "
                f"{self.passed} passed, {self.failed} failed, {self.undecided} undecided, "
                f"{self.not_rerun} not re-run ({self.stale} older than their review interval,"
                f" {self.decayed:.2f} tests of credit lost to decay)")


FORMULA = ("score = 100 × Σ c(status) × d(age) / tests; c: passed 1, undecided or not "
           "converged 0.5, failed 0; d = 1 within the review interval, then "
           "2^−((age − interval) / interval)")


def _days_between(earlier: str, later: str) -> float:
    a = datetime.fromisoformat(earlier.replace("Z", "+00:00"))
    b = datetime.fromisoformat(later.replace("Z", "+00:00"))
    return max(0.0, (b - a).total_seconds() / 86400.0)


def portfolio_score(current: Sequence[ResultRow], earlier: Iterable[ResultRow], *,
                    at_utc: str, interval_days: float,
                    scenarios: Iterable[str] | None = None,
                    intervals: dict[str, float] | None = None,
                    order: Mapping[str, str] | None = None) -> PortfolioScore:
    """The score of a review whose rows are ``current``, finished ``at_utc``.

    ``earlier``: rows of the reviews before it (any order); for each key the latest is
    carried forward when ``current`` has none and its scenario is in ``scenarios`` (default:
    the scenarios of ``current``). The latest is by ``order`` (review -> when it first
    started; a review run again keeps its place) when given, else by when a row finished.
    ``interval_days``: the review interval, or per scenario in ``intervals``.
    """
    keep = set(scenarios) if scenarios is not None else {r.scenario for r in current}
    intervals = intervals or {}
    ran = {r.key: r for r in current if r.indicator in SCORED_INDICATORS}
    carried: dict[tuple[str, str, str], ResultRow] = {}
    for row in earlier:
        if row.indicator not in SCORED_INDICATORS or row.key in ran or row.scenario not in keep:
            continue
        held = carried.get(row.key)
        def when(r: ResultRow) -> tuple[str, str]:
            return ((order.get(r.review, "") if order is not None else r.finished_utc),
                    r.review)

        if held is None or when(row) > when(held):
            carried[row.key] = row
    scored: list[ScoredTest] = []
    for rows, rerun in ((ran, True), (carried, False)):
        for key in sorted(rows):
            row = rows[key]
            if row.status not in CREDIT:
                continue  # no target: not a test
            interval = intervals.get(row.scenario, interval_days)
            age = 0.0 if rerun else _days_between(row.finished_utc, at_utc)
            scored.append(ScoredTest(row.scenario, row.shock, row.indicator, row.status,
                                     row.review, age, interval, rerun,
                                     CREDIT[row.status] * decay(age, interval)))
    n = len(scored)
    return PortfolioScore(
        score=100.0 * sum(t.credit for t in scored) / n if n else None,
        tests=n,
        passed=sum(t.rerun and t.status == ResultStatus.PASSED for t in scored),
        failed=sum(t.rerun and t.status == ResultStatus.FAILED for t in scored),
        undecided=sum(t.rerun and t.status in (ResultStatus.UNDECIDED,
                                               ResultStatus.NOT_CONVERGED) for t in scored),
        not_rerun=sum(not t.rerun for t in scored),
        stale=sum(t.age_days > t.interval_days for t in scored),
        decayed=sum(CREDIT[t.status] - t.credit for t in scored),
        formula=FORMULA, scored=tuple(scored))
