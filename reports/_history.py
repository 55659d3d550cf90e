"""The campaign history as the report reads it: the reviews in order, the rows of the review
being reported and of the one before it, read-only.

The store is the DuckDB file ``shocktwin campaign --history`` appends to (one row per
review × scenario × shock × indicator), read through the history's own reader. A file that
is missing, not such a store, of a schema version this version cannot read, or without the
review asked for is refused with the reason, so the report is never written from the wrong
review.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shocktwin.errors import Problem, SimulationError

__all__ = ["History", "HistoryRow", "ReviewInfo", "read_history"]



@dataclass(frozen=True)
class HistoryRow:
    """One indicator of one shock in one scenario in one review."""

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
    severity: float | None = None
    replications: int | None = None
    runs: int | None = None
    scenario_hash: str = ""
    rules_hash: str = ""
    engine: str = ""
    version: str = ""
    seed: int | None = None
    finished_utc: str = ""
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.scenario, self.shock, self.indicator)


@dataclass(frozen=True)
class ReviewInfo:
    """One review (a labelled campaign) of the history."""

    review: str
    suite: str = ""
    started_utc: str = ""
    finished_utc: str = ""
    interval_days: float | None = None
    engine: str = ""
    version: str = ""
    executor: str = ""
    runs: int | None = None
    score: float | None = None
    score_detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class History:
    """The reviews of a history store in the order they were run, and every row."""

    path: Path
    reviews: tuple[ReviewInfo, ...]
    rows: tuple[HistoryRow, ...]
    #: The review reported (the latest unless asked for another).
    current: str

    def of(self, review: str | None) -> list[HistoryRow]:
        return [r for r in self.rows if r.review == review]

    @property
    def review(self) -> ReviewInfo:
        return next(r for r in self.reviews if r.review == self.current)

    @property
    def previous(self) -> str | None:
        """The review run before the current one, if any."""
        labels = [r.review for r in self.reviews]
        i = labels.index(self.current)
        return labels[i - 1] if i > 0 else None

    @property
    def up_to_current(self) -> list[str]:
        """The reviews up to and including the current one, oldest first."""
        labels = [r.review for r in self.reviews]
        return labels[: labels.index(self.current) + 1]


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _whole(value: object) -> int | None:
    v = _number(value)
    return int(v) if v is not None else None


def _json(text: object) -> dict[str, Any]:
    if not isinstance(text, str) or not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def read_history(path: str | Path, review: str | None = None) -> History:
    """The history at ``path`` with ``review`` as the one reported (default: the latest),
    read through the history's own reader (:mod:`shocktwin.twin.resilience.history`).

    Raises a :class:`ShocktwinError` naming the file and the reason when it is missing, not
    a history store, of a schema version this version cannot read, empty, or lacks
    ``review``."""
    from shocktwin.twin.resilience.history import open_history

    path = Path(path)
    where = str(path)
    store = open_history(path, create=False)
    reviews = tuple(ReviewInfo(
        review=r.review, suite=r.suite or "", started_utc=r.started_utc or "",
        finished_utc=r.finished_utc or "", interval_days=_number(r.interval_days),
        engine=r.engine or "", version=r.version or "", executor=r.executor or "",
        runs=_whole(r.runs), score=_number(r.score), score_detail=_json(r.score_json))
        for r in store.reviews())
    labels = [r.review for r in reviews]
    if not labels:
        raise SimulationError([Problem(where, "", "the history holds no review yet")])
    if review is None:
        review = labels[-1]
    elif review not in labels:
        raise SimulationError([Problem(where, "", (
            f"review {review!r} is not in the history (its reviews: {', '.join(labels)})"))])
    rows = tuple(HistoryRow(
        review=r.review, scenario=r.scenario, shock=r.shock or "", indicator=str(r.indicator),
        value=_number(r.value), ci_low=_number(r.ci_low), ci_high=_number(r.ci_high),
        unit=r.unit or "", target=_number(r.target), status=str(r.status or ""),
        severity=_number(r.severity), replications=_whole(r.replications),
        runs=_whole(r.runs), scenario_hash=r.scenario_hash or "",
        rules_hash=r.rules_hash or "", engine=r.engine or "", version=r.version or "",
        seed=_whole(r.seed), finished_utc=r.finished_utc or "", detail=_json(r.detail))
        for r in store.results(None))
    return History(path=path, reviews=reviews, rows=rows, current=review)
