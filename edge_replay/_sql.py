"""Small SQL helpers shared by the ingest modules: quoting and running statements to the end."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb

from shocktwin.errors import ReplayError, ShocktwinError, one_line

__all__ = ["duckdb_path", "file_lit", "first_line", "ident", "lit", "one_line", "quoted_value",
           "run", "text_of"]

#: The characters DuckDB's file readers expand as a glob pattern (``**`` is two ``*``).
_GLOB = re.compile(r"[*?\[]")


def ident(name: str) -> str:
    """``name`` as a quoted SQL identifier (source column names hold spaces, dots, slashes)."""
    return '"' + name.replace('"', '""') + '"'


def lit(text: str) -> str:
    """``text`` as a SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def file_lit(path: str | Path) -> str:
    """``path`` as a SQL string literal that DuckDB's readers take as exactly that file.

    ``read_csv``, ``read_parquet`` and ``read_text`` treat ``*``, ``?`` and ``[...]`` in a
    path as a glob, also inside a list of paths, so ``p?.csv`` would read ``p1.csv`` and
    ``p2.csv`` too. Each such character is put in a one-character class (``[?]``), which
    matches only itself.
    """
    return lit(_GLOB.sub(lambda m: f"[{m.group()}]", duckdb_path(path)))


def duckdb_path(path: str | Path, error: type[ShocktwinError] = ReplayError) -> str:
    """``path`` as the text DuckDB opens it by: DuckDB takes UTF-8 only, so a name holding
    bytes that are not UTF-8 (kept by Python as lone surrogates) is refused with a reason
    instead of failing inside DuckDB."""
    text = str(path)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        byte = text[e.start].encode("utf-8", "surrogateescape")
        raise error(f"the path holds the byte 0x{byte.hex()} that is not UTF-8 text, and the "
                    "DuckDB store opens UTF-8 paths only; rename it", file=text) from None
    return text


def run(
    con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] | None = None
) -> list[tuple[Any, ...]]:
    """Run one statement and fetch its whole result.

    Fetching everything matters: DuckDB keeps a partly fetched result open on the connection
    and then refuses the next relation query.
    """
    return con.execute(sql, params).fetchall()


def text_of(expr: str, null_values: Sequence[str] = ()) -> str:
    """SQL for the trimmed text of ``expr``, NULL when empty or one of ``null_values``."""
    value = f"(CAST({expr} AS VARCHAR))"
    # CR and LF too: some exports end lines with a stray CR that the CSV reader keeps.
    trimmed = f"nullif(trim({value}, ' ' || chr(9) || chr(10) || chr(13)), '')"
    # trim copies every value, which costs more than the rest of a parse; only a value that is
    # empty or starts or ends with a space or control character (below '!') can change.
    text = f"(CASE WHEN {value} < '!' OR {value}[-1] < '!' THEN {trimmed} ELSE {value} END)"
    # One nullif per marker rather than IN: DuckDB turns a long IN list into a join, and the
    # text is written once.
    for marker in null_values:
        text = f"nullif({text}, {lit(marker)})"
    return text


def quoted_value(expr: str, max_chars: int = 80) -> str:
    """SQL that renders a text value for a message, in quotes and cut to ``max_chars``."""
    return f"('''' || left({expr}, {max_chars}) || '''')"


def first_line(e: BaseException | str) -> str:
    """The first line of an error message; DuckDB's go on with hints meant for SQL users."""
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__
