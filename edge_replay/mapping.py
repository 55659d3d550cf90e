"""The mapping file format: which store table a generic CSV or Parquet file fills, and how.

A mapping file is YAML::

    table: operations                 # one of the loadable store tables
    columns:                          # source column -> schema column
      Order: case_id
      Step: activity
      Machine: resource
      Began: start_ts
      Ended: end_ts
      Good: qty_completed
    timestamp_format: "%d.%m.%Y %H:%M"  # strptime format; ISO 8601 when left out
    null_values: ["n/a", "-"]           # texts that mean "no value"

Source columns not named are ignored (they still appear in ``quarantine.raw``). Schema columns
not mapped are NULL, except ``rework`` (false). Every problem in a file is reported at once,
with the line of the offending key where it is known.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from shocktwin.edge_replay.schema import LOADABLE_TABLES, TABLES, InspectionResult, Table
from shocktwin.errors import Problem, ReplayError, ScenarioError
from shocktwin.source import read_yaml

__all__ = ["LocatedMapping", "SourceMapping", "load_mapping", "locate_mapping", "mapping_problems"]

_VECTOR = "feature_vector"


class SourceMapping(BaseModel):
    """How the columns of a generic source fill one store table."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    table: Table = Field(description="Store table to fill: " + ", ".join(LOADABLE_TABLES))
    columns: dict[str, str] = Field(
        min_length=1, description="Source column name -> schema column name."
    )
    timestamp_format: str | None = Field(
        default=None,
        description="strptime format of TIMESTAMP columns, e.g. '%Y/%m/%d %H:%M:%S'; "
        "ISO 8601 when not given. Ignored for Parquet columns that already hold timestamps.",
    )
    date_format: str | None = Field(
        default=None, description="strptime format of DATE columns; ISO 8601 when not given."
    )
    delimiter: str = Field(
        default=",", min_length=1, max_length=1, description="CSV field delimiter."
    )
    null_values: tuple[str, ...] = Field(
        default=(), description="Texts that mean 'no value' (empty text always does)."
    )
    true_values: tuple[str, ...] = Field(
        default=("y", "yes", "true", "t", "1"),
        description="Texts read as true for boolean columns (case-insensitive).",
    )
    false_values: tuple[str, ...] = Field(
        default=("n", "no", "false", "f", "0"),
        description="Texts read as false for boolean columns (case-insensitive).",
    )
    result_values: dict[str, InspectionResult] = Field(
        default_factory=dict,
        description="inspections only: source text -> pass/fail. By default the texts "
        "'pass' and 'fail' (any case) are accepted.",
    )
    feature_columns: tuple[str, ...] = Field(
        default=(),
        description="features only: the source columns that make up feature_vector, in order.",
    )

    @field_validator("table", mode="before")
    @classmethod
    def _loadable(cls, table: object) -> object:
        # Before the enum check, so the message lists only the tables a source can fill.
        choose = "choose one of " + ", ".join(LOADABLE_TABLES)
        if table is None:  # YAML ``table:`` or ``table: null``
            raise ValueError(f"no table given; {choose}")
        if not isinstance(table, str) or table not in {t.value for t in LOADABLE_TABLES}:
            raise ValueError(f"{table!r} cannot be filled from a source; {choose}")
        return table

    def schema_to_source(self) -> dict[str, str]:
        """Schema column -> source column (the inverse of ``columns``)."""
        return {schema: src for src, schema in self.columns.items()}

    def source_columns(self) -> tuple[str, ...]:
        """Every source column the mapping reads, in mapping order."""
        return (*self.columns, *self.feature_columns)


def mapping_problems(
    mapping: SourceMapping,
    *,
    file: str | None = None,
    lines: Mapping[tuple[str, ...], int] | None = None,
) -> list[Problem]:
    """Every inconsistency between ``mapping`` and the store schema; empty when it is usable."""

    def problem(path: tuple[str, ...], message: str) -> Problem:
        return _problem_at(file, lines or {}, path, message)

    spec = TABLES[mapping.table]
    known = [c.name for c in spec.data_columns if c.name != _VECTOR]
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    for src, target in mapping.columns.items():
        if target == _VECTOR:
            problems.append(
                problem(("columns", src), "feature_vector is filled from feature_columns")
            )
        elif target not in known:
            problems.append(
                problem(
                    ("columns", src),
                    f"{target!r} is not a column of {spec.table}; its columns are: "
                    + ", ".join(known),
                )
            )
        elif target in seen:
            problems.append(
                problem(
                    ("columns", src),
                    f"{target!r} is already filled from source column {seen[target]!r}",
                )
            )
        else:
            seen[target] = src
    for col in spec.data_columns:
        if col.required and col.default is None and col.name != _VECTOR and col.name not in seen:
            problems.append(
                problem(("columns",), f"required column {col.name!r} of {spec.table} is not mapped")
            )
    if spec.table is Table.FEATURES:
        if not mapping.feature_columns:
            problems.append(
                problem(("feature_columns",), "features needs at least one feature column")
            )
        names = mapping.feature_columns
        doubled = sorted({c for c in names if names.count(c) > 1})
        if doubled:
            problems.append(
                problem(("feature_columns",), "named more than once: " + ", ".join(doubled))
            )
    elif mapping.feature_columns:
        problems.append(problem(("feature_columns",), "only used when table is features"))
    if mapping.result_values and spec.table is not Table.INSPECTIONS:
        problems.append(problem(("result_values",), "only used when table is inspections"))
    for key in ("timestamp_format", "date_format"):
        fmt = getattr(mapping, key)
        if fmt is not None:
            message = _format_problem(fmt)
            if message:
                problems.append(problem((key,), message))
    return problems


def _format_problem(fmt: str) -> str | None:
    """Why DuckDB cannot use ``fmt`` as a strptime format, or None when it can."""
    if "%" not in fmt:
        return f"{fmt!r} has no % field, e.g. '%Y-%m-%d %H:%M:%S'"
    con = duckdb.connect()
    try:
        con.execute("SELECT try_strptime('', ?)", [fmt]).fetchall()
    except duckdb.Error as e:
        return f"not a usable strptime format: {str(e).splitlines()[0]}"
    finally:
        con.close()
    return None


@dataclass(frozen=True)
class LocatedMapping:
    """A mapping and where it came from, to point problems found later at the right line."""

    mapping: SourceMapping
    file: str | None = None
    lines: Mapping[tuple[str, ...], int] = field(default_factory=dict)

    def problem(self, path: tuple[str, ...], message: str) -> Problem:
        """A problem at ``path`` (e.g. ``("columns", "Machine")``) of the mapping file."""
        return _problem_at(self.file, self.lines, path, message)


def _problem_at(
    file: str | None, lines: Mapping[tuple[str, ...], int], path: tuple[str, ...], message: str
) -> Problem:
    """A problem at ``path``, on the line of that key or else of its nearest parent."""
    line = next((lines[path[:n]] for n in range(len(path), 0, -1) if path[:n] in lines), None)
    return Problem(file, ".".join(path), message, line)


def _error_path(loc: tuple[int | str, ...], value: object) -> tuple[str, ...]:
    """A validation error's place in the mapping file, as the YAML reader names it.

    Pydantic names a null mapping key ``None``; the file (and the line table) says ``null``.
    """
    path = tuple(str(x) for x in loc)
    if path[-1:] == ("[key]",) and value is None:
        path = (*path[:-2], "null", "[key]")
    return path


def load_mapping(path: str | Path) -> SourceMapping:
    """Read and check a mapping file; ReplayError listing every problem when it is not usable."""
    return locate_mapping(path).mapping


def locate_mapping(path: str | Path) -> LocatedMapping:
    """``load_mapping``, keeping the file name and the line of each key."""
    file = str(path)
    try:
        # The scenario reader's safe YAML: size limit, regular files only, alias bombs and
        # recursive anchors refused, constructor failures reported as problems.
        data, value_lines = read_yaml(path)
    except ScenarioError as e:
        raise ReplayError(e.problems, file=file) from None
    lines = {tuple(str(x) for x in loc): line for loc, line in value_lines.items()}
    if not isinstance(data, dict):
        raise ReplayError(
            [Problem(file, "", "a mapping file must be a YAML mapping with 'table' and 'columns'")],
            file=file,
        )
    try:
        mapping = SourceMapping.model_validate(data)
    except ValidationError as e:
        problems = [
            _problem_at(
                file,
                lines,
                _error_path(err["loc"], err.get("input")),
                err["msg"].removeprefix("Value error, "),
            )
            for err in e.errors()
        ]
        raise ReplayError(problems, file=file) from e
    problems = mapping_problems(mapping, file=file, lines=lines)
    if problems:
        raise ReplayError(problems, file=file)
    return LocatedMapping(mapping, file, lines)

