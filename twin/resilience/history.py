"""The history of campaign reviews: typed rows over the DuckDB store
(:mod:`shocktwin.edge_replay.history`), the review before another, and a key-for-key
comparison of two reviews.

A result's key is (scenario, shock, indicator): ``scenario`` is the suite entry's label (so a
later review may point the same label at a changed file; the row's ``scenario_hash`` says
which), ``shock`` is empty for the scenario's baseline run (indicator ``hypothesis_share``).
Indicators and statuses are :class:`Indicator` and :class:`ResultStatus`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, fields
from enum import StrEnum
from pathlib import Path
from typing import Any

from shocktwin.scenarios.suite import Indicator

__all__ = ["BETTER", "Comparison", "History", "Indicator", "ResultRow", "ResultStatus",
           "ReviewRow", "compare", "open_history", "previous_review", "results", "reviews"]


#: +1 where a larger value is better, −1 where a smaller one is.
BETTER: dict[Indicator, int] = {
    Indicator.MTD: 1, Indicator.RECOVERY_GUARANTEE: 1, Indicator.ROBUSTNESS_PCT: 1,
    Indicator.TTR_P50_H: -1, Indicator.TTR_P90_H: -1, Indicator.HYPOTHESIS_SHARE: 1}


class ResultStatus(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    UNDECIDED = "undecided"
    NOT_CONVERGED = "not_converged"
    BELOW_RANGE = "below_range"  # no target; the hypothesis fails at the range's low end
    ABOVE_RANGE = "above_range"  # no target; it holds at the range's high end
    NO_TARGET = "no_target"


@dataclass(frozen=True)
class ReviewRow:
    """One review: a labelled campaign over a suite."""

    review: str
    suite: str
    suite_hash: str
    started_utc: str
    finished_utc: str
    interval_days: float
    engine: str
    version: str
    executor: str
    runs: int
    score: float | None
    score_json: str

    @property
    def score_components(self) -> dict[str, Any]:
        data = json.loads(self.score_json) if self.score_json else {}
        return data if isinstance(data, dict) else {}


@dataclass(frozen=True)
class ResultRow:
    """One indicator of one shock (or baseline run) of one scenario in one review."""

    review: str
    scenario: str
    shock: str
    indicator: str
    value: float | None
    ci_low: float | None
    ci_high: float | None
    unit: str
    target: float | None
    status: str
    severity: float | None
    replications: int
    runs: int
    scenario_hash: str
    rules_hash: str
    engine: str
    version: str
    seed: int
    finished_utc: str
    detail: str = "{}"

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.scenario, self.shock, self.indicator)

    @property
    def details(self) -> dict[str, Any]:
        data = json.loads(self.detail) if self.detail else {}
        return data if isinstance(data, dict) else {}

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _review(row: dict[str, Any]) -> ReviewRow:
    values: dict[str, Any] = {f.name: row.get(f.name) for f in fields(ReviewRow)}
    return ReviewRow(**values)


def _result(row: dict[str, Any]) -> ResultRow:
    values: dict[str, Any] = {f.name: row.get(f.name) for f in fields(ResultRow)}
    return ResultRow(**values)


class History:
    """A history store at ``path`` (checked when opened)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @property
    def exists(self) -> bool:
        return self.path.is_file()

    def reviews(self) -> list[ReviewRow]:
        """Every review, oldest first."""
        from shocktwin.edge_replay.history import read_reviews

        return [_review(r) for r in read_reviews(self.path)] if self.exists else []

    def review(self, label: str) -> ReviewRow | None:
        return next((r for r in self.reviews() if r.review == label), None)

    def results(self, review: str | None = None) -> list[ResultRow]:
        """The rows of ``review`` (all reviews' when None), in key order."""
        from shocktwin.edge_replay.history import read_results

        return [_result(r) for r in read_results(self.path, review)] if self.exists else []

    def previous_review(self, review: str) -> str | None:
        """The review before ``review``: the latest that started before it (for a label not
        in the store yet, the latest of all)."""
        rows = self.reviews()
        here = next((r for r in rows if r.review == review), None)
        earlier = [r for r in rows if r.review != review
                   and (here is None or (r.started_utc, r.review) < (here.started_utc,
                                                                      here.review))]
        return earlier[-1].review if earlier else None

    def compare(self, a: str, b: str) -> list[Comparison]:
        """Review ``a`` against review ``b``, key for key (see :func:`compare_rows`)."""
        from shocktwin.errors import unknown_name

        known = [r.review for r in self.reviews()]
        from shocktwin.edge_replay.history import HistoryError

        for label in (a, b):
            if label not in known:
                raise HistoryError(unknown_name("review", label, known, listed="reviews"),
                                   file=str(self.path))
        return compare_rows(self.results(a), self.results(b))

    def append(self, review: ReviewRow, rows: list[ResultRow], *, replace: bool) -> None:
        """Write ``review`` and its rows in one transaction (see
        :func:`shocktwin.edge_replay.history.write_review`)."""
        from shocktwin.edge_replay.history import write_review
        from shocktwin.twin.journal.record import version

        write_review(self.path, {f.name: getattr(review, f.name) for f in fields(review)},
                     [r.as_dict() for r in rows], replace=replace,
                     created_by=f"shocktwin {version()}")


def open_history(path: str | Path, *, create: bool) -> History:
    """The history store at ``path``. One that exists is checked (a shocktwin history store
    of a schema version this version reads or migrates); a missing one is refused unless
    ``create`` (it is then written by the first review appended)."""
    from shocktwin.edge_replay.history import HistoryError, read_reviews

    file = Path(path)
    if file.exists():
        read_reviews(file)  # refuses another kind of file or an unreadable version
    elif not create:
        raise HistoryError("no history store here", file=str(file))
    return History(file)


def reviews(path: str | Path) -> list[ReviewRow]:
    return open_history(path, create=False).reviews()


def results(path: str | Path, review: str) -> list[ResultRow]:
    history = open_history(path, create=False)
    if history.review(review) is None:
        from shocktwin.edge_replay.history import HistoryError
        from shocktwin.errors import unknown_name

        raise HistoryError(unknown_name("review", review, [r.review for r in
                                                           history.reviews()],
                                        listed="reviews"), file=str(path))
    return history.results(review)


def previous_review(path: str | Path, review: str) -> str | None:
    return open_history(path, create=False).previous_review(review)


@dataclass(frozen=True)
class Comparison:
    """One key in two reviews: either side may be missing (a test added or not re-run)."""

    scenario: str
    shock: str
    indicator: str
    a: ResultRow | None
    b: ResultRow | None

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.scenario, self.shock, self.indicator)

    @property
    def change(self) -> float | None:
        """b − a, where both have a finite value."""
        if self.a is None or self.b is None or self.a.value is None or self.b.value is None:
            return None
        if not (math.isfinite(self.a.value) and math.isfinite(self.b.value)):
            return None
        return self.b.value - self.a.value

    @property
    def relative_change(self) -> float | None:
        """b / a − 1 (None where a is zero or a side is missing)."""
        change = self.change
        if change is None or self.a is None or not self.a.value:
            return None
        return change / abs(self.a.value)

    @property
    def direction(self) -> str:
        """``better``, ``worse``, ``same``, ``added`` (only in b), ``dropped`` (only in a)
        or ``unknown`` (a value missing)."""
        if self.a is None:
            return "added"
        if self.b is None:
            return "dropped"
        change = self.change
        if change is None:
            return "unknown"
        if change == 0:
            return "same"
        try:
            sense = BETTER[Indicator(self.indicator)]
        except ValueError:
            return "unknown"
        return "better" if change * sense > 0 else "worse"


def compare_rows(a: list[ResultRow], b: list[ResultRow]) -> list[Comparison]:
    """Every key of either review, in key order, with its row in each."""
    by_a = {r.key: r for r in a}
    by_b = {r.key: r for r in b}
    return [Comparison(*key, by_a.get(key), by_b.get(key))
            for key in sorted(set(by_a) | set(by_b))]


def compare(path: str | Path, a: str, b: str) -> list[Comparison]:
    """Review ``a`` against review ``b`` of the store at ``path``, key for key."""
    return open_history(path, create=False).compare(a, b)
