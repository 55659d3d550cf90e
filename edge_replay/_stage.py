"""Staging of source rows into a store table: parse, check, then load or quarantine in bulk.

A format reader describes *how* each schema column is read from its source (a ``Plan``); this
module does the rest the same way for every format, in set-based SQL: it parses every row into
a temporary stage table together with the list of problems found, marks duplicates, then
writes the clean rows to the table and the others to ``quarantine`` with their reasons.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import NamedTuple

import duckdb

from edge_replay._sql import ident, lit, quoted_value, run
from edge_replay.schema import TABLES, Table, TableCheck

__all__ = [
    "LINE",
    "RAW",
    "Check",
    "Field",
    "LoadResult",
    "Plan",
    "RowProblem",
    "drop_stage",
    "load_plan",
    "quarantined_rows",
]

#: Columns every plan relation provides: the row's line in the source and the raw row as JSON.
LINE = "__line"
RAW = "__raw"
_PROBLEMS = "__problems"
_PROBLEM_TYPE = "STRUCT(\"column\" VARCHAR, message VARCHAR)"


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
class Plan:
    """Everything needed to stage one source into one table.

    ``relation`` is SQL usable in ``FROM`` with the columns ``__line`` and ``__raw``.
    ``helpers`` are extra SQL values over ``r`` that ``checks`` can refer to by name.
    """

    table: Table
    relation: str
    fields: Mapping[str, Field]
    helpers: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    checks: tuple[Check, ...] = ()


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


def _problem(when: str, column: str, message: str) -> str:
    # coalesce: a NULL message would make the whole reason NULL, and the row unexplained.
    return (
        f"CASE WHEN ({when}) THEN {{'column': {lit(column)}, "
        f"'message': coalesce(({message}), 'invalid value')}} END"
    )


def _stage_name(table: Table) -> str:
    return ident(f"__stage_{table}")


def load_plan(con: duckdb.DuckDBPyConnection, plan: Plan, source: str) -> LoadResult:
    """Stage ``plan``'s rows, then append the clean ones to its table and the rest to quarantine.

    The stage table is kept until ``drop_stage`` so that a refusal can quote its problems.
    """
    spec = TABLES[plan.table]
    stage = _stage_name(plan.table)
    columns = spec.data_columns
    labels = {c.name: (plan.fields[c.name].label if c.name in plan.fields else "") or c.name
              for c in columns}

    inner = [f"r.{LINE}", f"r.{RAW}"]
    for col in columns:
        f = plan.fields.get(col.name)
        t_name = ident(f"__t_{col.name}")
        if f is None:
            inner.append(f"NULL::VARCHAR AS {t_name}")
            inner.append(f"CAST({col.default or 'NULL'} AS {col.sql_type}) AS {ident(col.name)}")
            continue
        text = f"({f.text})"
        # replace, not format: parse templates may hold user-given formats with braces.
        value = f"CAST(({f.parse.replace('{t}', text)}) AS {col.sql_type})"
        if col.default is not None:
            # Only absent text takes the default; unreadable text stays NULL to be reported.
            value = f"CASE WHEN {text} IS NULL THEN {col.default} ELSE {value} END"
        inner.append(f"{text} AS {t_name}")
        inner.append(f"{value} AS {ident(col.name)}")
    inner += [f"({sql}) AS {ident(name)}" for name, sql in plan.helpers.items()]

    problems: list[str] = []
    for col in columns:
        f = plan.fields.get(col.name)
        t_name, c_name, label = ident(f"__t_{col.name}"), ident(col.name), labels[col.name]
        if f is not None and not f.lenient:
            problems.append(
                _problem(
                    f"{t_name} IS NOT NULL AND {c_name} IS NULL",
                    label,
                    f"'cannot read ' || {quoted_value(t_name)} || ' as ' || {lit(f.expected)}",
                )
            )
        if col.required and col.default is None:
            problems.append(
                _problem(f"{t_name} IS NULL AND {c_name} IS NULL", label, "'missing value'")
            )
        if col.non_negative:
            problems.append(
                _problem(f"{c_name} < 0", label, f"'negative: ' || CAST({c_name} AS VARCHAR)")
            )
    rules: tuple[TableCheck | Check, ...] = (*spec.checks, *plan.checks)
    for rule in rules:
        problems.append(_problem(rule.when, labels.get(rule.column, rule.column), rule.message))
    problem_list = (
        f"list_filter([{', '.join(problems)}], lambda p: p IS NOT NULL)"
        if problems
        else f"[]::{_PROBLEM_TYPE}[]"
    )
    outer = [LINE, RAW, *(ident(c.name) for c in columns), *(ident(h) for h in plan.helpers)]
    run(
        con,
        f"CREATE OR REPLACE TEMP TABLE {stage} AS "
        f"SELECT {', '.join(outer)}, {problem_list} AS {_PROBLEMS} "
        f"FROM (SELECT {', '.join(inner)} FROM ({plan.relation}) AS r) AS s",
    )
    _mark_duplicates(con, plan.table, stage, labels)

    names = ", ".join(ident(c.name) for c in columns)
    run(
        con,
        f"INSERT INTO {ident(plan.table)} (source, source_line, {names}) "
        f"SELECT ?, {LINE}, {names} FROM {stage} WHERE len({_PROBLEMS}) = 0 ORDER BY {LINE}",
        [source],
    )
    run(
        con,
        "INSERT INTO quarantine (source, table_name, source_line, raw, reason) "
        f"SELECT ?, ?, {LINE}, {RAW}, array_to_string(list_transform({_PROBLEMS}, "
        f"lambda p: p.column || ': ' || p.message), '; ') "
        f"FROM {stage} WHERE len({_PROBLEMS}) > 0 ORDER BY {LINE}",
        [source, str(plan.table)],
    )
    (read, loaded), = run(
        con, f"SELECT count(*), count(*) FILTER (WHERE len({_PROBLEMS}) = 0) FROM {stage}"
    )
    start: datetime | None = None
    end: datetime | None = None
    if spec.period is not None:
        (start, end), = run(
            con,
            f"SELECT CAST({spec.period[0]} AS TIMESTAMP), CAST({spec.period[1]} AS TIMESTAMP) "
            f"FROM {ident(plan.table)} WHERE source = ?",
            [source],
        )
    return LoadResult(plan.table, read, loaded, read - loaded, start, end)


def _mark_duplicates(
    con: duckdb.DuckDBPyConnection, table: Table, stage: str, labels: Mapping[str, str]
) -> None:
    """Add a problem to every clean row whose key an earlier clean row already has.

    Only clean rows take part, so that a row quarantined for another reason does not push out
    a later, usable row with the same key.
    """
    spec = TABLES[table]
    if not spec.key:
        return
    column = labels[spec.key[0]] if len(spec.key) <= 2 else "(row)"
    before, _, after = spec.duplicate_message.partition("{first}")
    message = f"{lit(before)} || CAST(d.first_line AS VARCHAR) || {lit(after)}"
    keys = ", ".join(ident(k) for k in spec.key)
    run(
        con,
        f"UPDATE {stage} SET {_PROBLEMS} = list_append({_PROBLEMS}, "
        f"{{'column': {lit(column)}, 'message': {message}}}) "
        f"FROM (SELECT {LINE} AS line, min({LINE}) OVER (PARTITION BY {keys}) AS first_line "
        f"FROM {stage} WHERE len({_PROBLEMS}) = 0 AND ({spec.key_when})) AS d "
        f"WHERE {stage}.{LINE} = d.line AND d.first_line < d.line",
    )


def quarantined_rows(
    con: duckdb.DuckDBPyConnection, table: Table, limit: int
) -> tuple[list[RowProblem], int]:
    """The first ``limit`` problems of a staged table's quarantined rows, and how many in all."""
    stage = _stage_name(table)
    rows = run(
        con,
        f"SELECT {LINE}, p.column, p.message FROM (SELECT {LINE}, unnest({_PROBLEMS}) AS p "
        f"FROM {stage}) ORDER BY {LINE} LIMIT ?",
        [limit],
    )
    (total,), = run(con, f"SELECT coalesce(sum(len({_PROBLEMS})), 0) FROM {stage}")
    return [RowProblem(table, line, col, msg) for line, col, msg in rows], int(total)


def drop_stage(con: duckdb.DuckDBPyConnection, table: Table) -> None:
    """Drop the stage table of ``table``, if any."""
    run(con, f"DROP TABLE IF EXISTS {_stage_name(table)}")
