"""A typed read written straight into its table: one pass over the source, no stage.

``load_plan`` stages every row of a source (its values, flags and hashes in a temporary table)
and then copies the clean ones into the store: two copies of every row, the second costing
about as much as reading the file. For a typed read of a CSV file (``Plan.fallback``),
``write_plan`` writes every record straight into the table, in file order, then removes the
few not to be kept, so that the rows, lines, quarantine entries and reasons are exactly those
``load_plan`` gives:

1. One ``INSERT ... SELECT`` parses and checks every record and appends it to the table in
   file order, so that record ``n`` (from 0) gets row id ``base + n``. Until its line is set,
   ``source_line`` holds a hash of the record's raw row, negative for a record the typed read
   cannot keep (a problem, or a value it cannot vouch for); such a record's values are
   written as placeholders that meet the table's constraints.
2. Those records, and the clean ones whose key hash another clean one shares, are copied out
   by line and read again (``DirectRead.reread``); each copied line must be the record the
   pass saw there (the hash of its raw row). The text plan (``Plan.fallback``) stages them,
   so a record the typed read cannot keep is judged, and its raw text given, as the text read
   gives them.
3. Duplicates are found among those clean rows, every row gets its line, the records not
   kept are removed, and those the text read finds clean are appended.

If DuckDB rejected a record (the records after it would be out of place), the pass is rolled
back; if step 2 or 3 finds the pass cannot be trusted (a copied line that is not its record, a
row the two reads judge differently) its rows are deleted. Either way ``load_plan`` then
stages the source: read typed, or as text where lines are not their records (the typed stage
would copy the same wrong lines). All of it runs under a DuckDB memory limit of its own. The
store being a temporary copy until the ingest ends, a failure part-way leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

import duckdb
import numpy as np

from shocktwin.edge_replay._sql import ident, lit, run
from shocktwin.edge_replay._stage import (
    _BAD,
    _PROBLEM_TYPE,
    _PROBLEMS,
    _ROW,
    LINE,
    RAW,
    LoadResult,
    Plan,
    _build_stage,
    _checked,
    _dups_name,
    _quarantine_name,
    _stage_name,
    drop_stage,
    labels_of,
    load_plan,
    period_of,
    quarantine_rows,
)
from shocktwin.edge_replay.schema import TABLES

__all__ = ["write_plan"]

#: DuckDB's memory limit while a typed read is written without a stage.
_MEMORY = "512MB"
#: The hash of a raw row as ``source_line`` holds it during the pass: 62 bits, non-negative.
_ROW_HASH = f"CAST(hash({_ROW}) >> 2 AS BIGINT)"


def write_plan(con: duckdb.DuckDBPyConnection, plan: Plan, source: str) -> LoadResult:
    """``load_plan``'s result for ``plan``; a typed read is written without a stage where
    it can be."""
    if plan.fallback is None or plan.direct is None or plan.direct.text_reread is None:
        return load_plan(con, plan, source)
    # The pass streams, and grouping the key hashes spills: with DuckDB's default limit (80 %
    # of the RAM) they held 1.1 GB at 10 M rows, with this one 0.6 GB, as fast. Should it
    # not suffice, DuckDB fails, and the stage, under the default limit, takes over.
    run(con, f"SET memory_limit = '{_MEMORY}'")
    try:
        if not _append(con, plan, source):
            misplaced = None
        else:
            try:
                return _settle(con, plan, source)
            except (_Untrusted, duckdb.Error) as e:
                misplaced = isinstance(e, _Untrusted) and e.misplaced
    finally:
        with contextlib.suppress(duckdb.Error):
            run(con, "RESET memory_limit")
    if misplaced is None:
        return _staged(con, plan, source)
    run(con, f"DELETE FROM {ident(plan.table)} WHERE source = ?", [source])
    drop_stage(con, plan.table)
    # Lines that are not their records would mislead the typed stage's look-ups too.
    return _staged(con, plan.fallback if misplaced else plan, source)


class _Untrusted(Exception):
    """The pass cannot be used; ``misplaced``: some line is not the record at its place."""

    def __init__(self, misplaced: bool) -> None:
        super().__init__()
        self.misplaced = misplaced


def _staged(con: duckdb.DuckDBPyConnection, plan: Plan, source: str) -> LoadResult:
    # The rejects tables of the pass would be added to by the stage's read.
    run(con, "DROP TABLE IF EXISTS __rejects")
    run(con, "DROP TABLE IF EXISTS __reject_scans")
    return load_plan(con, plan, source)


def _append(con: duckdb.DuckDBPyConnection, plan: Plan, source: str) -> bool:
    """Step 1, committed only if every record was read (DuckDB rejected none)."""
    spec = TABLES[plan.table]
    checked = _checked(plan, labels_of(plan))
    columns = spec.data_columns
    names = ", ".join(ident(c.name) for c in columns)
    unsure = " OR ".join(f"({u})" for u in checked.unreadable) or "false"
    dropped = f"({_BAD} OR coalesce({unsure}, false))"
    values = [
        f"CASE WHEN __dropped THEN {c.placeholder_sql()} ELSE {ident(c.name)} END"
        if c.required or c.default is not None or c.non_negative or c.check is not None
        else ident(c.name)
        for c in columns
    ]
    # Insertion order kept: record n gets row id base + n.
    run(con, "SET preserve_insertion_order = true")
    # A transaction for the pass alone: updating rows a transaction has not yet committed
    # costs as much again at its commit.
    run(con, "BEGIN TRANSACTION")
    try:
        run(
            con,
            f"INSERT INTO {ident(plan.table)} (source, source_line, {names}) "
            f"SELECT ?, CASE WHEN __dropped THEN -1 - __h ELSE __h END, {', '.join(values)} "
            f"FROM (SELECT *, {dropped} AS __dropped, {_ROW_HASH} AS __h "
            f"FROM {checked.sql} AS s)",
            [source],
        )
        (rejected,), = run(con, "SELECT count(*) FROM __rejects")
    except duckdb.Error:
        rejected = -1
    except BaseException:
        run(con, "ROLLBACK")
        raise
    run(con, "ROLLBACK" if rejected else "COMMIT")
    return not rejected


def _settle(con: duckdb.DuckDBPyConnection, plan: Plan, source: str) -> LoadResult:
    """Steps 2 and 3, once the pass is committed; raises _Untrusted where it cannot be used."""
    assert plan.direct is not None
    spec = TABLES[plan.table]
    table = ident(plan.table)
    labels = labels_of(plan)
    names = ", ".join(ident(c.name) for c in spec.data_columns)
    (base, last, read), = run(
        con, f"SELECT min(rowid), max(rowid), count(*) FROM {table} WHERE source = ?", [source]
    )
    if read == 0 or last - base + 1 != read:
        raise _Untrusted(misplaced=False)
    line = f"(rowid - {base} + {plan.direct.first_line})"
    keyed = ", ".join(ident(k) for k in spec.key)
    # The typed read's clean rows that take part in the duplicate check.
    clean_typed = (
        f"FROM {table} WHERE source = ? AND source_line >= 0 AND ({spec.key_when})"
        f"{'' if spec.key else ' AND false'}"
    )
    # The key hashes two clean rows share (few): the rows that have them are copied out with
    # the dropped records, so that one read of the source finds every line needed.
    shared = ident(f"__shared_{plan.table}")
    run(
        con,
        f"CREATE OR REPLACE TEMP TABLE {shared} AS SELECT hash({keyed or 'NULL'}) AS k "
        f"{clean_typed} GROUP BY k HAVING count(*) > 1",
        [source],
    )
    wanted = con.execute(
        f"SELECT {line} AS line, source_line AS h, false AS dropped {clean_typed} "
        f"AND hash({keyed or 'NULL'}) IN (SELECT k FROM {shared}) UNION ALL "
        f"SELECT {line}, -1 - source_line, true FROM {table} "
        "WHERE source = ? AND source_line < 0 ORDER BY line",
        [source, source],
    ).fetchnumpy()
    run(con, f"DROP TABLE {shared}")
    restaged = _stage_name(plan.table)
    if not _restage(con, plan, wanted["line"], wanted["h"], restaged):
        raise _Untrusted(misplaced=True)
    dropped = ident(f"__dropped_{plan.table}")
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {dropped} AS SELECT unnest(?) AS line",
        [wanted["line"][wanted["dropped"]].tolist()],
    ).fetchall()
    is_dropped = f"{LINE} IN (SELECT line FROM {dropped})"
    (disagree,), = run(con, f"SELECT count(*) FROM {restaged} WHERE {_BAD} AND NOT {is_dropped}")
    if disagree:  # the text read quarantines a row the typed read vouched for
        raise _Untrusted(misplaced=True)
    # Every clean row that may be a duplicate is in the restaged rows: the typed read's whose
    # key hash is shared, and those the text read keeps of the records the typed read dropped
    # (unless one repeats a typed row whose hash was not shared: then the stage decides).
    clean = f"SELECT * FROM {restaged} WHERE NOT {_BAD} AND ({spec.key_when})"
    dups = _dups_name(plan.table)
    if spec.key:
        (kept,), = run(con, f"SELECT count(*) FROM ({clean}) WHERE {is_dropped}")
        (unseen,), = run(
            con,
            f"SELECT count(*) {clean_typed} AND {line} NOT IN (SELECT {LINE} FROM {restaged}) "
            f"AND hash({keyed}) IN (SELECT hash({keyed}) FROM ({clean}) WHERE {is_dropped})",
            [source],
        ) if kept else [(0,)]
        if unseen:
            raise _Untrusted(misplaced=False)
        column = labels[spec.key[0]] if len(spec.key) <= 2 else "(row)"
        before, _, after = spec.duplicate_message.partition("{first}")
        message = f"{lit(before)} || CAST(first_line AS VARCHAR) || {lit(after)}"
        run(
            con,
            f"CREATE OR REPLACE TEMP TABLE {dups} AS SELECT line, "
            f"{{'column': {lit(column)}, 'message': {message}}}::{_PROBLEM_TYPE} AS problem, "
            f"raw FROM (SELECT {LINE} AS line, {RAW} AS raw, "
            f"min({LINE}) OVER (PARTITION BY {keyed}) AS first_line FROM ({clean})) "
            "WHERE first_line < line",
        )
    else:
        run(
            con,
            f"CREATE OR REPLACE TEMP TABLE {dups} "
            f"(line BIGINT, problem {_PROBLEM_TYPE}, raw VARCHAR)",
        )
    run(
        con,
        f"CREATE OR REPLACE TEMP VIEW {_quarantine_name(plan.table)} AS "
        f"SELECT {LINE} AS line, {RAW} AS raw, {_PROBLEMS} AS problems FROM {restaged} "
        f"WHERE {_BAD} UNION ALL SELECT line, raw, [problem] FROM {dups}",
    )
    # Every row gets its line; then the rows not kept go, and the text read's come in.
    run(con, f"UPDATE {table} SET source_line = {line} WHERE source = ?", [source])
    run(
        con,
        f"DELETE FROM {table} WHERE source = ? AND source_line IN ("
        f"SELECT line FROM {dropped} UNION ALL SELECT line FROM {dups})",
        [source],
    )
    run(
        con,
        f"INSERT INTO {table} (source, source_line, {names}) "
        f"SELECT ?, {LINE}, {names} FROM {restaged} WHERE NOT {_BAD} AND {is_dropped} "
        f"AND {LINE} NOT IN (SELECT line FROM {dups}) ORDER BY {LINE}",
        [source],
    )
    quarantine_rows(con, plan, source)
    (loaded,), = run(con, f"SELECT count(*) FROM {table} WHERE source = ?", [source])
    start, end = period_of(con, plan.table, source)
    return LoadResult(plan.table, read, loaded, read - loaded, start, end)


def _restage(
    con: duckdb.DuckDBPyConnection, plan: Plan, lines: np.ndarray, hashes: np.ndarray,
    name: str,
) -> bool:
    """Stage ``lines`` (ascending) of a typed read's source into ``name`` with its text plan,
    every row's raw text kept; False unless each line is the record whose raw row hashes to
    its entry of ``hashes`` (a record spanning lines shifts those after it)."""
    assert plan.direct is not None and plan.direct.text_reread is not None
    assert plan.fallback is not None
    numbered = ident(f"__lines_{plan.table}")
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {numbered} AS SELECT unnest(?) AS line, "
        "unnest(?) AS h, unnest(range(1, ? + 1)) AS __i",
        [lines.tolist(), hashes.tolist(), len(lines)],
    ).fetchall()
    with tempfile.TemporaryDirectory(prefix="edge-replay-") as scratch:
        copy = Path(scratch) / "lines.csv"
        typed = plan.direct.reread(lines, copy)
        if typed is None:
            return False
        (matched, copied), = run(
            con,
            f"SELECT count(l.line), count(*) FROM (SELECT row_number() OVER () AS __i, "
            f"{_ROW_HASH} AS h FROM ({typed}) AS {_ROW}) AS w "
            f"LEFT JOIN {numbered} AS l ON l.__i = w.__i AND l.h = w.h",
        )
        if matched != len(lines) or copied != len(lines):
            return False
        relation = (
            f"SELECT l.line AS {LINE}, s.* EXCLUDE (__i) FROM "
            f"(SELECT row_number() OVER () AS __i, * FROM ({plan.direct.text_reread(copy)})) "
            f"AS s JOIN {numbered} AS l USING (__i)"
        )
        text = plan.fallback
        lined = Plan(text.table, relation, text.fields, text.helpers, text.checks, text.raw)
        _build_stage(con, lined, labels_of(plan), name, every_raw=True)
    run(con, f"DROP TABLE {numbered}")
    (n,), = run(con, f"SELECT count(*) FROM {name}")
    return bool(n == len(lines))
