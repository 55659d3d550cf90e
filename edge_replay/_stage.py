"""Staging of source rows into a store table: parse, check, then load or quarantine in bulk.

A format reader describes *how* each schema column is read from its source (a ``Plan``); this
module does the rest the same way for every format, in set-based SQL:

1. One pass over the source parses every row into a temporary stage table with its typed
   values and a flag for "has a problem". Only the flagged rows, usually few, also get the list
   of their problems and their raw text; building those for every row would cost more than
   the whole rest of the load.
2. Duplicates among the clean rows are found by a hash of their key, then confirmed on the
   key values themselves; only rows whose hash is shared are compared. Their raw text is read
   again from the source.
3. The clean rows are appended to the table, the others to ``quarantine`` with their reasons.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import NamedTuple

import duckdb
import numpy as np

from shocktwin.edge_replay._sql import ident, lit, quoted_value, run
from shocktwin.edge_replay.schema import TABLES, Table, TableCheck
from shocktwin.errors import ReplayError

__all__ = [
    "LINE",
    "RAW",
    "Check",
    "DirectRead",
    "Field",
    "LoadResult",
    "Plan",
    "RowProblem",
    "drop_stage",
    "labels_of",
    "load_plan",
    "period_of",
    "quarantined_rows",
]

#: Columns a plan relation provides: the row's line in the source and the raw row as JSON.
LINE = "__line"
RAW = "__raw"
_BAD = "__bad"
_PROBLEMS = "__problems"
_DUP = "__dup"
_KEY = "__key"
_ROW_HASH = "__row_hash"
_UNSURE = "__unsure"
_PROBLEM_TYPE = "STRUCT(\"column\" VARCHAR, message VARCHAR)"
#: The source row as a struct in the staging query, so that the raw text can be built from it
#: for the flagged rows only. Named ``r`` like the relation, so that ``r."col"`` reads the same
#: in a field's SQL and in ``Plan.raw``.
_ROW = "r"


@dataclass(frozen=True)
class Field:
    """How one schema column is read from the plan's relation (alias ``r``).

    ``text`` is SQL for the source text (NULL when absent); ``parse`` is SQL turning it into
    the column's type, with ``{t}`` standing for the text, and NULL when it cannot. A row whose
    text is present but unreadable is quarantined, unless the field is ``lenient`` (then the
    value is simply NULL: used for optional extras that sources fill with notes).
    """

    text: str
    parse: str = "{t}"
    label: str = ""
    expected: str = "text"
    lenient: bool = False


@dataclass(frozen=True)
class Check:
    """A format-specific rule: rows for which ``when`` is true are quarantined.

    SQL over the stage columns: the schema column names and the plan's helpers.
    """

    when: str
    column: str
    message: str


@dataclass(frozen=True)
class DirectRead:
    """A plan relation that reads the source file itself, rather than a copy of it.

    Such a relation has no ``__line`` column: it yields one row per record, in file order, and
    record ``n`` (from 0) is on line ``first_line + n``. The stage keeps that order, so a row's
    line is its position in the stage. ``refusal`` turns a failure of the read into the
    reader's refusal; ``check`` runs once the stage is built and refuses the source if the read
    found records it could not use (it raises ReplayError).

    ``reread(lines, scratch)`` gives a relation like the first, over just the given lines
    (ascending), copied to the file ``scratch``; None when it cannot. Its rows are checked
    against the stage, so it may assume one record per line.
    """

    first_line: int
    refusal: Callable[[duckdb.Error], ReplayError]
    check: Callable[[duckdb.DuckDBPyConnection], None]
    reread: Callable[[np.ndarray, Path], str | None]
    #: A typed read's relation reading such a copy as text (as its plan's fallback does).
    text_reread: Callable[[Path], str] | None = None


@dataclass(frozen=True)
class Plan:
    """Everything needed to stage one source into one table.

    ``relation`` is SQL usable in ``FROM`` with the column ``__line`` (unless ``direct`` is
    set). ``raw`` is SQL over its row ``r`` giving the row's raw text as JSON; it is evaluated
    only for quarantined rows. ``helpers`` are extra SQL values over ``r``, computed first:
    fields and checks can refer to them by name.

    ``fallback`` marks a typed read (``direct`` only): a plan over the same source read as
    text, which decides every row the same way. The rows the typed read is unsure of (records
    its reader rejected for a value, values a field cannot vouch for) are staged by
    ``fallback`` from a copy of their lines; a record the reader could not split makes the
    whole source staged by ``fallback``, which refuses it. The raw text of a quarantined row
    is read again, as text, from its line.
    """

    table: Table
    relation: str
    fields: Mapping[str, Field]
    helpers: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    checks: tuple[Check, ...] = ()
    raw: str = f"{_ROW}.{RAW}"
    direct: DirectRead | None = None
    fallback: Plan | None = None


class LoadResult(NamedTuple):
    """Counts of one plan's load."""

    table: Table
    rows_read: int
    rows_loaded: int
    rows_quarantined: int
    period_start: datetime | None
    period_end: datetime | None


class RowProblem(NamedTuple):
    """One problem with one quarantined row."""

    table: Table
    line: int
    column: str
    message: str


class _Problem(NamedTuple):
    when: str
    column: str
    message: str


def _problem_struct(p: _Problem) -> str:
    # coalesce: a NULL message would make the whole reason NULL, and the row unexplained.
    return (
        f"CASE WHEN ({p.when}) THEN {{'column': {lit(p.column)}, "
        f"'message': coalesce(({p.message}), 'invalid value')}} END"
    )


def _stage_name(table: Table) -> str:
    return ident(f"__stage_{table}")


def _dups_name(table: Table) -> str:
    return ident(f"__dups_{table}")


def _quarantine_name(table: Table) -> str:
    return ident(f"__quarantine_{table}")


def quarantine_rows(con: duckdb.DuckDBPyConnection, plan: Plan, source: str) -> None:
    """Append the rows ``plan``'s quarantine view holds, with their reasons, in line order."""
    run(
        con,
        "INSERT INTO quarantine (source, table_name, source_line, raw, reason) "
        "SELECT ?, ?, line, raw, array_to_string(list_transform(problems, "
        "lambda p: p.column || ': ' || p.message), '; ') "
        f"FROM {_quarantine_name(plan.table)} ORDER BY line",
        [source, str(plan.table)],
    )


def load_plan(con: duckdb.DuckDBPyConnection, plan: Plan, source: str) -> LoadResult:
    """Stage ``plan``'s rows, then append the clean ones to its table and the rest to quarantine.

    The stage is kept until ``drop_stage`` so that a refusal can quote its problems.
    """
    spec = TABLES[plan.table]
    stage = _stage_name(plan.table)
    columns = spec.data_columns
    labels = labels_of(plan)
    # A direct stage is in file order, so a row's line follows from its position.
    line = LINE if plan.direct is None else f"(rowid + {plan.direct.first_line})"
    if plan.fallback is not None:
        try:
            _build_stage(con, plan, labels)
            delegated = _delegate(con, plan, labels)
        except duckdb.Error:
            delegated = None
        if delegated is None:
            drop_stage(con, plan.table)
            # DuckDB adds to the rejects tables; the text read must find only its own.
            run(con, "DROP TABLE IF EXISTS __rejects")
            run(con, "DROP TABLE IF EXISTS __reject_scans")
            return load_plan(con, plan.fallback, source)
        if delegated:
            line = LINE
    else:
        _build_stage(con, plan, labels)
    n_dups = _mark_duplicates(con, plan, line, labels)
    if plan.fallback is not None:
        _read_typed_raws(con, plan, line)
    _create_quarantine_view(con, plan, line)

    names = ", ".join(ident(c.name) for c in columns)
    insert = (
        f"INSERT INTO {ident(plan.table)} (source, source_line, {names}) "
        f"SELECT ?, {line}, {names} FROM {stage} WHERE NOT ({_BAD} OR {_DUP})"
    )
    if plan.direct is None:
        run(con, f"{insert} ORDER BY {LINE}", [source])
    else:
        # Each row carries its line, so the rows of a large direct read are stored in whatever
        # order the threads finish: keeping file order costs over a tenth of the whole load.
        run(con, "SET preserve_insertion_order = false")
        run(con, insert, [source])
        run(con, "SET preserve_insertion_order = true")
    quarantine_rows(con, plan, source)
    (read, clean), = run(
        con, f"SELECT count(*), count(*) FILTER (WHERE NOT {_BAD}) FROM {stage}"
    )
    loaded = clean - n_dups
    start, end = period_of(con, plan.table, source)
    return LoadResult(plan.table, read, loaded, read - loaded, start, end)


def labels_of(plan: Plan) -> dict[str, str]:
    """The name each schema column of ``plan``'s table goes by in messages: its source's."""
    return {c.name: (plan.fields[c.name].label if c.name in plan.fields else "") or c.name
            for c in TABLES[plan.table].data_columns}


def period_of(
    con: duckdb.DuckDBPyConnection, table: Table, source: str
) -> tuple[datetime | None, datetime | None]:
    """The first and last timestamp of ``source``'s rows in ``table`` (None without any)."""
    period = TABLES[table].period
    if period is None:
        return None, None
    (start, end), = run(
        con,
        f"SELECT CAST({period[0]} AS TIMESTAMP), CAST({period[1]} AS TIMESTAMP) "
        f"FROM {ident(table)} WHERE source = ?",
        [source],
    )
    return start, end


class _Checked(NamedTuple):
    """A plan's rows parsed and checked: ``sql`` is a subquery with the schema columns, the
    source texts (``__t_<column>``), the raw row ``r`` and ``__bad``."""

    sql: str
    problems: list[_Problem]
    #: Conditions, each true when a field's text is present but its value unreadable.
    unreadable: list[str]


def _checked(plan: Plan, labels: Mapping[str, str]) -> _Checked:
    """The parsing and checking of every row of ``plan``, shared by its stage and by a typed
    read written straight into its table."""
    spec = TABLES[plan.table]
    helpers = [f"({sql}) AS {ident(name)}" for name, sql in plan.helpers.items()]
    inner = ["*"]
    if plan.direct is None:
        inner.append(f"{_ROW}.{LINE} AS {LINE}")
    problems: list[_Problem] = []
    unreadable: list[str] = []
    for col in spec.data_columns:
        f = plan.fields.get(col.name)
        t_name, c_name, label = ident(f"__t_{col.name}"), ident(col.name), labels[col.name]
        if f is None:
            inner.append(f"NULL::VARCHAR AS {t_name}")
            inner.append(f"CAST({col.default or 'NULL'} AS {col.sql_type}) AS {c_name}")
        else:
            text = f"({f.text})"
            # replace, not format: parse templates may hold user-given formats with braces.
            value = f"CAST(({f.parse.replace('{t}', text)}) AS {col.sql_type})"
            if col.default is not None:
                # Only absent text takes the default; unreadable text stays NULL to be reported.
                value = f"CASE WHEN {text} IS NULL THEN {col.default} ELSE {value} END"
            inner.append(f"{text} AS {t_name}")
            inner.append(f"{value} AS {c_name}")
        if f is not None and not f.lenient:
            unreadable.append(f"{t_name} IS NOT NULL AND {c_name} IS NULL")
            problems.append(_Problem(
                f"{t_name} IS NOT NULL AND {c_name} IS NULL",
                label,
                f"'cannot read ' || {quoted_value(f'CAST({t_name} AS VARCHAR)')} || ' as ' "
                f"|| {lit(f.expected)}",
            ))
        if col.required and col.default is None:
            problems.append(
                _Problem(f"{t_name} IS NULL AND {c_name} IS NULL", label, "'missing value'")
            )
        if col.non_negative:
            problems.append(
                _Problem(f"{c_name} < 0", label, f"'negative: ' || CAST({c_name} AS VARCHAR)")
            )
    rules: tuple[TableCheck | Check, ...] = (*spec.checks, *plan.checks)
    problems += [_Problem(r.when, labels.get(r.column, r.column), r.message) for r in rules]

    # OR of all conditions: TRUE as soon as one is, and NULL (no problem) otherwise.
    bad = (
        "coalesce(" + " OR ".join(f"({p.when})" for p in problems) + ", false)"
        if problems
        else "false"
    )
    sql = (
        f"(SELECT *, {bad} AS {_BAD} FROM (SELECT {', '.join(inner)} "
        f"FROM (SELECT {', '.join([f'{_ROW} AS {_ROW}', *helpers])} "
        f"FROM ({plan.relation}) AS {_ROW}) AS s) AS s)"
    )
    return _Checked(sql, problems, unreadable)


def _build_stage(
    con: duckdb.DuckDBPyConnection,
    plan: Plan,
    labels: Mapping[str, str],
    name: str | None = None,
    every_raw: bool = False,
) -> None:
    """Parse and check every row of ``plan`` into its stage table, in one pass.

    The stage holds the typed values, ``__bad`` (the row has a problem), and for those rows
    only, the list of problems and the raw text. For the duplicate check it also holds the
    hash of the key of each clean row, and for a direct read the hash of its raw row, by which
    the raw text of a duplicate is found again.

    The query must stay free of joins (an ``IN`` list of five values or more is one): a join
    may reorder rows, and a direct stage gets a row's line from its position.
    """
    spec = TABLES[plan.table]
    checked, problems, unreadable = _checked(plan, labels)
    problem_list = (
        f"list_filter([{', '.join(_problem_struct(p) for p in problems)}], "
        "lambda p: p IS NOT NULL)"
        if problems
        else f"[]::{_PROBLEM_TYPE}[]"
    )
    in_check = f"NOT {_BAD} AND ({spec.key_when})"
    key = f"hash({', '.join(ident(k) for k in spec.key)})" if spec.key else "NULL"
    row_hash = f"hash({_ROW})" if plan.direct is not None else "NULL"
    # A typed read takes the raw text of its quarantined rows from their lines, too.
    hashed = in_check if plan.fallback is None else f"{_BAD} OR {in_check}"
    unsure = (
        "coalesce(" + " OR ".join(f"({u})" for u in unreadable) + ", false)"
        if plan.fallback is not None and unreadable
        else "false"
    )
    outer = [
        *([LINE] if plan.direct is None else []),
        *(ident(c.name) for c in spec.data_columns),
        _BAD,
        f"false AS {_DUP}",
        f"CASE WHEN {_BAD} THEN {problem_list} END AS {_PROBLEMS}",
        f"CASE WHEN {_BAD} OR {str(every_raw).lower()} THEN {plan.raw} END AS {RAW}",
        f"CAST(CASE WHEN {in_check} THEN {key} END AS UBIGINT) AS {_KEY}",
        f"CAST(CASE WHEN {hashed} THEN {row_hash} END AS UBIGINT) AS {_ROW_HASH}",
        f"{unsure} AS {_UNSURE}",
    ]
    sql = (
        f"CREATE OR REPLACE TEMP TABLE {name or _stage_name(plan.table)} AS "
        f"SELECT {', '.join(outer)} FROM {checked} AS s"
    )
    if plan.direct is None or plan.fallback is not None:
        run(con, sql)
        return
    try:
        run(con, sql)
    except duckdb.Error as e:
        raise plan.direct.refusal(e) from e
    plan.direct.check(con)


def _mark_duplicates(
    con: duckdb.DuckDBPyConnection, plan: Plan, line: str, labels: Mapping[str, str]
) -> int:
    """Mark every clean row whose key an earlier clean row already has; returns how many.

    Only clean rows take part, so that a row quarantined for another reason does not push out
    a later, usable row with the same key. The rows whose key hash is shared are found first;
    the key values themselves then decide among those few. Each duplicate goes to the
    duplicates table with its problem and its raw text, and ``__dup`` is set in the stage.
    """
    spec = TABLES[plan.table]
    stage, dups = _stage_name(plan.table), _dups_name(plan.table)
    empty = (
        f"CREATE OR REPLACE TEMP TABLE {dups} "
        f"(line BIGINT, first_line BIGINT, problem {_PROBLEM_TYPE}, raw VARCHAR, "
        "row_hash UBIGINT)"
    )
    if not spec.key:
        run(con, empty)
        return 0
    keys = ", ".join(ident(k) for k in spec.key)
    run(
        con,
        f"CREATE OR REPLACE TEMP TABLE {dups} AS "
        f"SELECT line, first_line, row_hash FROM ("
        f"SELECT {line} AS line, min({line}) OVER (PARTITION BY {keys}) AS first_line, "
        f"{_ROW_HASH} AS row_hash FROM {stage} "
        f"WHERE {_KEY} IN (SELECT {_KEY} FROM {stage} WHERE {_KEY} IS NOT NULL "
        f"GROUP BY {_KEY} HAVING count(*) > 1)) WHERE first_line < line",
    )
    (n,), = run(con, f"SELECT count(*) FROM {dups}")
    if n == 0:
        run(con, empty)
        return 0
    run(con, f"UPDATE {stage} SET {_DUP} = true WHERE {line} IN (SELECT line FROM {dups})")
    column = labels[spec.key[0]] if len(spec.key) <= 2 else "(row)"
    before, _, after = spec.duplicate_message.partition("{first}")
    message = f"{lit(before)} || CAST(d.first_line AS VARCHAR) || {lit(after)}"
    # A typed read looks up the raw text of its duplicates with its flagged rows'.
    raws = (
        "SELECT NULL::BIGINT AS line, NULL::VARCHAR AS raw WHERE false"
        if plan.fallback is not None
        else _raws(con, plan, dups)
    )
    run(
        con,
        f"CREATE OR REPLACE TEMP TABLE {dups} AS "
        f"SELECT d.line, d.first_line, "
        f"{{'column': {lit(column)}, 'message': {message}}}::{_PROBLEM_TYPE} AS problem, w.raw, "
        f"d.row_hash FROM {dups} AS d LEFT JOIN ({raws}) AS w ON w.line = d.line",
    )
    return int(n)


def _delegate(
    con: duckdb.DuckDBPyConnection, plan: Plan, labels: Mapping[str, str]
) -> bool | None:
    """Stage the rows a typed read of ``plan`` is unsure of as its text plan does.

    Those are the records DuckDB rejected for a value it cannot convert, and the rows with a
    value a field cannot vouch for. Their lines are copied out and read as text, and their
    staged rows replace them in the stage, which then has the line of every row in ``LINE``.
    Returns False when there are none (the stage is left as it is), None when the source
    must be staged as text as a whole: a record DuckDB could not split, which the text read
    refuses, or lines that cannot be copied one record each.
    """
    assert plan.fallback is not None and plan.direct is not None
    text, first = plan.fallback, plan.direct.first_line
    stage = _stage_name(plan.table)
    kinds = run(con, "SELECT DISTINCT CAST(error_type AS VARCHAR) FROM __rejects")
    if any(kind != "CAST" for kind, in kinds):
        return None
    rejected = con.execute(
        "SELECT DISTINCT CAST(line AS BIGINT) AS line FROM __rejects ORDER BY line"
    ).fetchnumpy()["line"]
    (unsure,), = run(con, f"SELECT count(*) FROM {stage} WHERE {_UNSURE}")
    if len(rejected) == 0 and unsure == 0:
        return False
    # The stage holds the records DuckDB read, in file order: the row at position p is on line
    # first + p + (rejected lines before it). After the i-th rejected line (from 1), that
    # count is i from position line - first - (i - 1) on.
    shifts = ident(f"__shifts_{plan.table}")
    run(con, f"CREATE OR REPLACE TEMP TABLE {shifts} (pos BIGINT, n BIGINT)")
    if len(rejected):
        at = rejected - first - np.arange(len(rejected))
        con.execute(
            f"INSERT INTO {shifts} SELECT pos, max(n) FROM (SELECT unnest(?) AS pos, "
            "unnest(?) AS n) GROUP BY pos",
            [at.tolist(), list(range(1, len(rejected) + 1))],
        ).fetchall()
    lined_stage = (
        f"SELECT s.__pos + {first} + coalesce(k.n, 0) AS {LINE}, s.* EXCLUDE (__pos) "
        f"FROM (SELECT rowid AS __pos, * FROM {stage} WHERE {{where}}) AS s "
        f"ASOF LEFT JOIN {shifts} AS k ON s.__pos >= k.pos"
    )
    unsure_lines = con.execute(
        f"SELECT {LINE} AS line FROM ({lined_stage.format(where=_UNSURE)})"
    ).fetchnumpy()["line"]
    lines = np.unique(np.concatenate([rejected, unsure_lines]).astype(np.int64))
    delegated = ident(f"__delegated_{plan.table}")
    with tempfile.TemporaryDirectory(prefix="edge-replay-") as scratch:
        relation = (
            text.direct.reread(lines, Path(scratch) / "unsure.csv")
            if text.direct is not None
            else None
        )
        if relation is None:
            run(con, f"DROP TABLE {shifts}")
            return None
        numbered = ident(f"__unsure_lines_{plan.table}")
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {numbered} AS SELECT unnest(?) AS line, "
            "unnest(range(1, ? + 1)) AS __i",
            [lines.tolist(), len(lines)],
        ).fetchall()
        # The copy holds the lines in order, one record each: its n-th row is the n-th line.
        lined = replace(
            text,
            relation=(
                f"SELECT l.line AS {LINE}, s.* EXCLUDE (__i) FROM "
                f"(SELECT row_number() OVER () AS __i, * FROM ({relation})) AS s "
                f"JOIN {numbered} AS l USING (__i)"
            ),
            direct=None,
        )
        _build_stage(con, lined, labels, delegated, every_raw=True)
        run(con, f"DROP TABLE {numbered}")
    (n,), = run(con, f"SELECT count(*) FROM {delegated}")
    if n != len(lines):
        run(con, f"DROP TABLE {shifts}")
        run(con, f"DROP TABLE {delegated}")
        return None
    # One copy of the stage: its lines added, the rows it was unsure of replaced.
    run(
        con,
        f"CREATE OR REPLACE TEMP TABLE {stage} AS "
        f"{lined_stage.format(where=f'NOT {_UNSURE}')} "
        f"UNION ALL BY NAME SELECT * FROM {delegated}",
    )
    run(con, f"DROP TABLE {shifts}")
    run(con, f"DROP TABLE {delegated}")
    return True


def _read_typed_raws(con: duckdb.DuckDBPyConnection, plan: Plan, line: str) -> None:
    """Read the raw text of a typed stage's quarantined rows (flagged and duplicates) into
    its raws table, in one look-up."""
    wanted, raws = ident(f"__raw_lines_{plan.table}"), _bad_raws_name(plan.table)
    run(
        con,
        f"CREATE OR REPLACE TEMP TABLE {wanted} AS SELECT {line} AS line, "
        f"{_ROW_HASH} AS row_hash FROM {_stage_name(plan.table)} "
        f"WHERE {_BAD} AND {_ROW_HASH} IS NOT NULL "
        f"UNION ALL SELECT line, row_hash FROM {_dups_name(plan.table)} "
        "WHERE row_hash IS NOT NULL",
    )
    (n,), = run(con, f"SELECT count(*) FROM {wanted}")
    if n == 0:
        run(con, f"CREATE OR REPLACE TEMP TABLE {raws} (line BIGINT, raw VARCHAR)")
    else:
        run(con, f"CREATE OR REPLACE TEMP TABLE {raws} AS {_raws(con, plan, wanted)}")
    run(con, f"DROP TABLE {wanted}")


def _bad_raws_name(table: Table) -> str:
    return ident(f"__bad_raws_{table}")


def _raws(con: duckdb.DuckDBPyConnection, plan: Plan, lines_table: str) -> str:
    """SQL giving (line, raw) for the rows of ``lines_table`` (line, row_hash).

    Used for duplicates, and for every quarantined row of a typed read: the stage holds no raw
    text for those, so the source is read again for them. A direct read has no line to look
    them up by, and numbering the rows as they are read costs more than the read itself: its
    lines are copied out (``DirectRead.reread``) and read back, and each is taken only if the
    hash of its raw row is the one the stage holds for that line; a typed read takes the raw
    text from its text plan's read of the same lines. Only if that fails (a record spanning
    lines, say) is the whole source numbered and read.
    """
    text = plan.fallback or plan
    if plan.direct is not None and text.direct is not None:
        raws = ident(f"__raws_{plan.table}")
        lines = con.execute(
            f"SELECT line FROM {lines_table} ORDER BY line"
        ).fetchnumpy()["line"]
        with tempfile.TemporaryDirectory(prefix="edge-replay-") as scratch:
            copy = Path(scratch) / "rows.csv"
            relation = plan.direct.reread(lines, copy)
            texts = relation
            if relation is not None and plan.direct.text_reread is not None:
                texts = plan.direct.text_reread(copy)
            if relation is not None:
                try:
                    run(
                        con,
                        f"CREATE OR REPLACE TEMP TABLE {raws} AS SELECT d.line, t.raw FROM ("
                        f"SELECT line, row_hash, row_number() OVER (ORDER BY line) AS i "
                        f"FROM {lines_table}) AS d JOIN ("
                        f"SELECT row_number() OVER () AS i, hash({_ROW}) AS row_hash "
                        f"FROM ({relation}) AS {_ROW}) AS w "
                        "ON w.i = d.i AND w.row_hash = d.row_hash JOIN ("
                        f"SELECT row_number() OVER () AS i, {text.raw} AS raw "
                        f"FROM ({texts}) AS {_ROW}) AS t ON t.i = d.i",
                    )
                    (matched,), = run(con, f"SELECT count(*) FROM {raws}")
                except duckdb.Error:
                    matched = -1
                if matched == len(lines):
                    return f"SELECT line, raw FROM {raws}"
        lined = (
            f"SELECT row_number() OVER () + {text.direct.first_line - 1} AS {LINE}, {_ROW} "
            f"FROM ({text.relation}) AS {_ROW}"
        )
    else:
        lined = f"SELECT {_ROW}.{LINE} AS {LINE}, {_ROW} FROM ({plan.relation}) AS {_ROW}"
    return (
        f"SELECT s.{LINE} AS line, {text.raw} AS raw FROM ({lined}) AS s "
        f"WHERE s.{LINE} IN (SELECT line FROM {lines_table})"
    )


def _create_quarantine_view(con: duckdb.DuckDBPyConnection, plan: Plan, line: str) -> None:
    """The view of a staged table's quarantined rows: line, raw text, and list of problems."""
    table = plan.table
    flagged = (
        f"SELECT {line} AS line, {RAW} AS raw, {_PROBLEMS} AS problems "
        f"FROM {_stage_name(table)} WHERE {_BAD}"
    )
    duplicates = f"SELECT line, raw, [problem] AS problems FROM {_dups_name(table)}"
    if plan.fallback is not None:
        # A row staged by the text plan (no row hash) has its raw text in the stage.
        texts = (
            f"SELECT {line} AS line, {RAW} AS raw FROM {_stage_name(table)} "
            f"WHERE {_ROW_HASH} IS NULL AND {RAW} IS NOT NULL"
        )
        flagged = (
            f"SELECT s.line, coalesce(b.raw, t.raw) AS raw, s.problems FROM ("
            f"SELECT line, problems FROM ({flagged}) UNION ALL "
            f"SELECT line, [problem] FROM {_dups_name(table)}) AS s "
            f"LEFT JOIN {_bad_raws_name(table)} AS b ON b.line = s.line "
            f"LEFT JOIN ({texts}) AS t ON t.line = s.line"
        )
        duplicates = "SELECT NULL, NULL, NULL WHERE false"
    run(
        con,
        f"CREATE OR REPLACE TEMP VIEW {_quarantine_name(table)} AS "
        f"{flagged} UNION ALL {duplicates}",
    )


def quarantined_rows(
    con: duckdb.DuckDBPyConnection, table: Table, limit: int
) -> tuple[list[RowProblem], int]:
    """The first ``limit`` problems of a staged table's quarantined rows, and how many in all."""
    view = _quarantine_name(table)
    rows = run(
        con,
        f"SELECT line, p.column, p.message FROM (SELECT line, unnest(problems) AS p "
        f"FROM {view}) ORDER BY line LIMIT ?",
        [limit],
    )
    (total,), = run(con, f"SELECT coalesce(sum(len(problems)), 0) FROM {view}")
    return [RowProblem(table, line, col, msg) for line, col, msg in rows], int(total)


def drop_stage(con: duckdb.DuckDBPyConnection, table: Table) -> None:
    """Drop the stage of ``table`` (table, duplicates and quarantine view), if any."""
    run(con, f"DROP VIEW IF EXISTS {_quarantine_name(table)}")
    run(con, f"DROP TABLE IF EXISTS {ident(f'__dropped_{table}')}")
    run(con, f"DROP TABLE IF EXISTS {ident(f'__shared_{table}')}")
    run(con, f"DROP TABLE IF EXISTS {ident(f'__raws_{table}')}")
    run(con, f"DROP TABLE IF EXISTS {_bad_raws_name(table)}")
    run(con, f"DROP TABLE IF EXISTS {_dups_name(table)}")
    run(con, f"DROP TABLE IF EXISTS {_stage_name(table)}")
