"""The campaign history as the report reads it: the reviews in order, the rows of the review
being reported and of the one before it, read-only.

The store is the DuckDB file ``shocktwin campaign --history`` appends to (one row per
review × scenario × shock × indicator; schema version 1). A file that is missing, not such
a store, of another schema version, or without the review asked for is refused with the
reason, so the report is never written from the wrong review.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shocktwin.errors import Problem, SimulationError

__all__ = ["History", "HistoryRow", "ReviewInfo", "read_history"]

#: The schema version this report reads.
SCHEMA_VERSION = "1"
_ROW_COLUMNS = ("review", "scenario", "shock", "indicator", "value", "ci_low", "ci_high", "unit",
                "target", "status", "severity", "replications", "runs", "scenario_hash",
                "rules_hash", "engine", "version", "seed", "finished_utc", "detail")
_REVIEW_COLUMNS = ("review", "suite", "suite_hash", "started_utc", "finished_utc",
                   "interval_days", "engine", "version", "executor", "runs", "score",
                   "score_json")


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
    """The history at ``path`` with ``review`` as the one reported (default: the latest).

    Raises :class:`SimulationError` naming the file and the reason when it is missing, not
    a history store, of another schema version, empty, or lacks ``review``."""
    path = Path(path)
    where = str(path)
    if not path.is_file():
        raise SimulationError([Problem(where, "", "history store not found (shocktwin "
                                                  "campaign --history FILE writes one)")])
    import duckdb

    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as e:
        raise SimulationError([Problem(where, "", f"not a history store: {e}")]) from e
    try:
        return _read(con, path, review)
    except duckdb.Error as e:
        raise SimulationError([Problem(where, "", f"not a history store of schema version "
                                                  f"{SCHEMA_VERSION}: {e}")]) from e
    finally:
        con.close()


def _read(con: Any, path: Path, review: str | None) -> History:
    where = str(path)
    tables = {r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables").fetchall()}
    missing = sorted({"meta", "reviews", "results"} - tables)
    if missing:
        raise SimulationError([Problem(where, "", f"not a history store: no table "
                                                  f"{', '.join(missing)}")])
    meta = dict(con.execute("SELECT key, value FROM meta").fetchall())
    version = meta.get("schema_version")
    if version != SCHEMA_VERSION:
        raise SimulationError([Problem(where, "meta.schema_version", (
            f"history schema version {version!r}; this version of shocktwin reads version "
            f"{SCHEMA_VERSION}"))])
    review_rows = con.execute(
        f"SELECT {', '.join(_REVIEW_COLUMNS)} FROM reviews "
        "ORDER BY started_utc NULLS LAST, review").fetchall()
    reviews = tuple(ReviewInfo(
        review=str(r[0]), suite=str(r[1] or ""), started_utc=str(r[3] or ""),
        finished_utc=str(r[4] or ""), interval_days=_number(r[5]), engine=str(r[6] or ""),
        version=str(r[7] or ""), executor=str(r[8] or ""), runs=_whole(r[9]),
        score=_number(r[10]), score_detail=_json(r[11])) for r in review_rows)
    labels = [r.review for r in reviews]
    if not labels:
        raise SimulationError([Problem(where, "", "the history holds no review yet")])
    if review is None:
        review = labels[-1]
    elif review not in labels:
        raise SimulationError([Problem(where, "", (
            f"review {review!r} is not in the history (its reviews: {', '.join(labels)})"))])
    rows = tuple(HistoryRow(
        review=str(r[0]), scenario=str(r[1]), shock=str(r[2] or ""), indicator=str(r[3]),
        value=_number(r[4]), ci_low=_number(r[5]), ci_high=_number(r[6]), unit=str(r[7] or ""),
        target=_number(r[8]), status=str(r[9] or ""), severity=_number(r[10]),
        replications=_whole(r[11]), runs=_whole(r[12]), scenario_hash=str(r[13] or ""),
        rules_hash=str(r[14] or ""), engine=str(r[15] or ""), version=str(r[16] or ""),
        seed=_whole(r[17]), finished_utc=str(r[18] or ""), detail=_json(r[19]))
        for r in con.execute(f"SELECT {', '.join(_ROW_COLUMNS)} FROM results "
                             "ORDER BY review, scenario, shock, indicator").fetchall())
    return History(path=path, reviews=reviews, rows=rows, current=review)
