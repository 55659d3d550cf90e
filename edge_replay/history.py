"""The campaign history store: one DuckDB file holding every review of a suite, one row per
review × scenario × shock × indicator.

Tables (schema version 1):

- ``meta(key, value)``: ``schema_version`` and ``created_by`` (the shocktwin version).
- ``reviews``: one row per review (its label, the suite and its hash, when it ran, the review
  interval, engine, version, executor, the runs it took and its portfolio score).
- ``results``: one row per review × scenario × shock × indicator (value, interval, unit,
  target, status, severity, replications, runs, the scenario's and rule sets' hashes, engine,
  version, seed, when, and a JSON ``detail``); its primary key keeps a review from holding a
  key twice.

A review is written in one transaction: its rows land together or not at all, and writing a
review again (``replace``) swaps its rows, so re-running a review never adds duplicates. A new
store is created as a whole (:func:`shocktwin.files.write_atomic`). A store of another schema
version is migrated where a migration exists, else refused with the reason. Writers hold the
store's lock (``shocktwin.locks``) and queue behind one another.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb

from shocktwin.edge_replay._sql import duckdb_path
from shocktwin.errors import ReplayError
from shocktwin.files import write_atomic
from shocktwin.locks import locked

__all__ = ["HISTORY_SCHEMA_VERSION", "RESULT_COLUMNS", "REVIEW_COLUMNS", "HistoryError",
           "check_history", "read_results", "read_reviews", "write_review"]

#: The schema this version reads and writes.
HISTORY_SCHEMA_VERSION = "1"

REVIEW_COLUMNS: tuple[tuple[str, str], ...] = (
    ("review", "VARCHAR PRIMARY KEY"), ("suite", "VARCHAR"), ("suite_hash", "VARCHAR"),
    ("started_utc", "VARCHAR"), ("finished_utc", "VARCHAR"), ("interval_days", "DOUBLE"),
    ("engine", "VARCHAR"), ("version", "VARCHAR"), ("executor", "VARCHAR"),
    ("runs", "BIGINT"), ("score", "DOUBLE"), ("score_json", "VARCHAR"))
RESULT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("review", "VARCHAR"), ("scenario", "VARCHAR"), ("shock", "VARCHAR"),
    ("indicator", "VARCHAR"), ("value", "DOUBLE"), ("ci_low", "DOUBLE"), ("ci_high", "DOUBLE"),
    ("unit", "VARCHAR"), ("target", "DOUBLE"), ("status", "VARCHAR"), ("severity", "DOUBLE"),
    ("replications", "BIGINT"), ("runs", "BIGINT"), ("scenario_hash", "VARCHAR"),
    ("rules_hash", "VARCHAR"), ("engine", "VARCHAR"), ("version", "VARCHAR"),
    ("seed", "BIGINT"), ("finished_utc", "VARCHAR"), ("detail", "VARCHAR"))
_RESULT_KEY = "PRIMARY KEY (review, scenario, shock, indicator)"

#: Migrations from an older schema version to the next, run in one transaction. Version 1 is
#: the first: there is nothing to migrate yet, and any other version is refused.
MIGRATIONS: dict[str, Callable[[duckdb.DuckDBPyConnection], str]] = {}


class HistoryError(ReplayError):
    """The history store cannot be read or written, or a review cannot go into it."""


def _ddl() -> list[str]:
    reviews = ", ".join(f"{name} {kind}" for name, kind in REVIEW_COLUMNS)
    results = ", ".join(f"{name} {kind}" for name, kind in RESULT_COLUMNS)
    return ["CREATE TABLE meta(key VARCHAR PRIMARY KEY, value VARCHAR)",
            f"CREATE TABLE reviews({reviews})",
            f"CREATE TABLE results({results}, {_RESULT_KEY})"]


@contextlib.contextmanager
def _connect(path: Path, *, read_only: bool) -> Iterator[duckdb.DuckDBPyConnection]:
    text = duckdb_path(path, HistoryError)
    if not path.is_file():
        raise HistoryError("no history store here (it is created by the first campaign "
                           "that writes to it)", file=str(path))
    try:
        con = duckdb.connect(text, read_only=read_only)
    except duckdb.Error as e:
        raise HistoryError(f"not a readable DuckDB history store ({type(e).__name__})",
                           file=str(path)) from None
    try:
        yield con
    finally:
        con.close()


def _schema_version(con: duckdb.DuckDBPyConnection, path: Path) -> str:
    tables = {row[0] for row in con.execute(
        "SELECT table_name FROM information_schema.tables").fetchall()}
    if "meta" not in tables:
        raise HistoryError("not a shocktwin history store (it has no meta table with a "
                           "schema version)", file=str(path))
    row = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    if row is None:
        raise HistoryError("not a shocktwin history store (its meta table has no "
                           "schema_version)", file=str(path))
    return str(row[0])


def _checked(con: duckdb.DuckDBPyConnection, path: Path, *, migrate: bool) -> None:
    """Refuse a store of another schema version, or migrate it when a migration exists (and
    ``migrate``: the connection can write)."""
    found = _schema_version(con, path)
    while found != HISTORY_SCHEMA_VERSION:
        step = MIGRATIONS.get(found)
        if step is None:
            raise HistoryError(f"history store schema version {found!r}; this shocktwin "
                               f"reads version {HISTORY_SCHEMA_VERSION} and knows no "
                               "migration from it (written by another shocktwin version?)",
                               file=str(path))
        if not migrate:
            return  # a reader sees it as it is; the next writer migrates it
        con.execute("BEGIN TRANSACTION")
        found = step(con)
        con.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", [found])
        con.execute("COMMIT")


def check_history(path: str | Path, review: str, *, replace: bool) -> bool:
    """Before a campaign runs: whether the store exists; refuse one that is not a history
    store, one of a schema version that cannot be migrated, or a ``review`` it already holds
    (unless ``replace``)."""
    file = Path(path)
    if file.exists() and not file.is_file():
        raise HistoryError("is not a regular file", file=str(file))
    if not file.exists():
        parent = file.parent if str(file.parent) else Path(".")
        if parent.exists() and not parent.is_dir():
            raise HistoryError(f"{parent} is not a folder", file=str(file))
        return False
    with locked(file, what="history store", wait=True, timeout_s=60, error=HistoryError,
                if_possible=True, shared=True), _connect(file, read_only=True) as con:
        _checked(con, file, migrate=False)
        held = con.execute("SELECT count(*) FROM reviews WHERE review = ?", [review]).fetchone()
    if held and held[0] and not replace:
        raise HistoryError(f"review {review!r} is already in the history; give --replace to "
                           "run it again in its place, or another --review label",
                           file=str(file))
    return True


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any]
          ) -> list[dict[str, Any]]:
    cur = con.execute(sql, list(params))
    names = [d[0] for d in cur.description or []]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def read_reviews(path: str | Path) -> list[dict[str, Any]]:
    """Every review in the store, oldest first (by start time, then label)."""
    file = Path(path)
    with locked(file, what="history store", wait=True, timeout_s=60, error=HistoryError,
                if_possible=True, shared=True), _connect(file, read_only=True) as con:
        _checked(con, file, migrate=False)
        return _rows(con, "SELECT * FROM reviews ORDER BY started_utc, review", ())


def read_results(path: str | Path, review: str | None = None) -> list[dict[str, Any]]:
    """The result rows of one review (every review's when None), in key order."""
    file = Path(path)
    with locked(file, what="history store", wait=True, timeout_s=60, error=HistoryError,
                if_possible=True, shared=True), _connect(file, read_only=True) as con:
        _checked(con, file, migrate=False)
        where = "" if review is None else "WHERE review = ?"
        return _rows(con, f"SELECT * FROM results {where} ORDER BY review, scenario, shock, "
                     "indicator", () if review is None else (review,))


def _insert(con: duckdb.DuckDBPyConnection, review: Mapping[str, Any],
            results: Sequence[Mapping[str, Any]]) -> None:
    names = [n for n, _ in REVIEW_COLUMNS]
    con.execute(f"INSERT INTO reviews ({', '.join(names)}) VALUES "
                f"({', '.join('?' for _ in names)})", [review.get(n) for n in names])
    names = [n for n, _ in RESULT_COLUMNS]
    if results:
        con.executemany(f"INSERT INTO results ({', '.join(names)}) VALUES "
                        f"({', '.join('?' for _ in names)})",
                        [[row.get(n) for n in names] for row in results])


def write_review(path: str | Path, review: Mapping[str, Any],
                 results: Sequence[Mapping[str, Any]], *, replace: bool,
                 created_by: str) -> None:
    """Append one review and its result rows in one transaction (a new store is created as a
    whole with them). A review already in the store is refused unless ``replace``, which
    swaps its rows in the same transaction. Every result row must carry the review's label."""
    file = Path(path)
    label = str(review["review"])
    if any(row.get("review") != label for row in results):
        raise ValueError("every result row must belong to the review written")
    with locked(file, what="history store", wait=True, timeout_s=600, error=HistoryError):
        if not file.exists():
            def create(tmp: Path) -> None:
                con = duckdb.connect(duckdb_path(tmp, HistoryError))
                try:
                    for statement in _ddl():
                        con.execute(statement)
                    con.executemany("INSERT INTO meta VALUES (?, ?)", [
                        ["schema_version", HISTORY_SCHEMA_VERSION], ["created_by", created_by]])
                    _insert(con, review, results)
                    con.execute("CHECKPOINT")
                finally:
                    con.close()

            write_atomic(file, create, error=HistoryError, what="the history store")
            return
        with _connect(file, read_only=False) as con:
            _checked(con, file, migrate=True)
            con.execute("BEGIN TRANSACTION")
            try:
                held = con.execute("SELECT count(*) FROM reviews WHERE review = ?",
                                   [label]).fetchone()
                if held and held[0]:
                    if not replace:
                        raise HistoryError(f"review {label!r} is already in the history; give "
                                           "--replace to run it again in its place",
                                           file=str(file))
                    con.execute("DELETE FROM results WHERE review = ?", [label])
                    con.execute("DELETE FROM reviews WHERE review = ?", [label])
                _insert(con, review, results)
                con.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(duckdb.Error):
                    con.execute("ROLLBACK")
                raise
            con.execute("CHECKPOINT")
