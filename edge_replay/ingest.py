"""Ingest of recorded plant data into the DuckDB store: atomic, idempotent, nothing dropped.

``ingest`` reads one source file in one of the known formats, checks it, and writes it into
the store in one step:

- **Atomic.** The work happens in a temporary copy of the store beside it
  (``shocktwin.files.write_atomic``), which replaces the store only once everything is
  written. An error or an interruption leaves the previous store as it was, and the temporary
  file is removed; one left by a killed ingest is removed by the next. The new store keeps
  the mode of the one it replaces (a new one gets the caller's umask).
- **One writer at a time.** The whole read-copy-replace runs under the store's lock
  (``shocktwin.locks.locked``, the file ``.<store>.lock`` beside it); a second ingest into
  the same store waits for the first and then starts from its result, so both land.
- **Idempotent.** A source is identified by its absolute path; ingesting it again first
  removes the rows, quarantine entries and ingest records it left last time.
- **Nothing dropped silently.** A row that cannot be used (unreadable value, missing
  required value, end before start, negative quantity, duplicate key) goes to ``quarantine``
  with its line, its raw text and every reason. A source that cannot be used at all (missing,
  empty, binary, wrong columns, broken CSV structure, bad mapping, no usable row) is refused
  with a ``ReplayError`` that lists every problem found, each on one line.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import BinaryIO, Final

import duckdb

from shocktwin.edge_replay import _formats
from shocktwin.edge_replay._direct import write_plan
from shocktwin.edge_replay._sql import duckdb_path, first_line, one_line, run
from shocktwin.edge_replay._stage import LoadResult, drop_stage, quarantined_rows
from shocktwin.edge_replay.mapping import (
    LocatedMapping,
    SourceMapping,
    locate_mapping,
    mapping_problems,
)
from shocktwin.edge_replay.schema import LOADABLE_TABLES, Table, prepare_store
from shocktwin.errors import Problem, ReplayError
from shocktwin.files import entries_matching, remove_leftover, write_atomic
from shocktwin.locks import locked

__all__ = ["GENERIC_FORMATS", "IngestReport", "SourceFormat", "TableCounts", "ingest"]


class SourceFormat(StrEnum):
    """The source formats ``ingest`` reads."""

    PRODUCTION_4TU = "4tu-production"
    """4TU "Production Analysis with Process Mining Technology" event log (CSV)."""
    SECOM = "secom"
    """UCI SECOM ``secom_labels.data``: pass/fail label and timestamp per entity."""
    SCMS = "scms"
    """USAID SCMS Delivery History (CSV): supplier purchase-order lines."""
    STEEL_PLATES = "steel-plates"
    """UCI Steel Plates Faults ``Faults.NNA`` with ``Faults27x7_var`` beside it."""
    STEEL_PLATE_MEASUREMENTS = "steel-plates-measurements"
    """The same file read as recorded measurements of a plate line: the defect sizes and grey
    levels its surface inspection measured, times assigned from record order."""
    DOWNTIME = "downtime"
    """A plain downtime / alarm table (CSV): ``machine``, ``start``, ``end``, ``cause``."""
    SNAPSHOT = "snapshot"
    """A plain plant snapshot (CSV): ``taken_at``, ``kind``, ``item``, ``quantity``,
    ``due_at``, ``product``, ``state``."""
    MEASUREMENTS = "measurements"
    """A plain measurement log (CSV or Parquet), long format: ``time``, ``entity``,
    ``characteristic``, ``value``, ``station``, ``supplier``, ``lot``."""
    CSV = "csv"
    """Any CSV file with a header; needs a mapping file."""
    PARQUET = "parquet"
    """Any Parquet file; needs a mapping file."""


#: The formats that need a mapping file.
GENERIC_FORMATS: Final = frozenset({SourceFormat.CSV, SourceFormat.PARQUET})

_READERS: Final[dict[SourceFormat, _formats.Reader]] = {
    SourceFormat.PRODUCTION_4TU: _formats.read_4tu_production,
    SourceFormat.SECOM: _formats.read_secom,
    SourceFormat.SCMS: _formats.read_scms,
    SourceFormat.STEEL_PLATES: _formats.read_steel_plates,
    SourceFormat.STEEL_PLATE_MEASUREMENTS: _formats.read_steel_plate_measurements,
    SourceFormat.DOWNTIME: _formats.read_downtime,
    SourceFormat.SNAPSHOT: _formats.read_snapshot,
    SourceFormat.MEASUREMENTS: _formats.read_measurement_log,
    SourceFormat.CSV: _formats.read_generic_csv,
    SourceFormat.PARQUET: _formats.read_generic_parquet,
}

#: How many quarantined rows a refusal for "no usable row" quotes.
_MAX_QUOTED = 20


@dataclass(frozen=True)
class TableCounts:
    """What one ingest did to one table. ``rows_read == rows_loaded + rows_quarantined``."""

    table: Table
    rows_read: int
    rows_loaded: int
    rows_quarantined: int
    #: First and last timestamp of the loaded rows (local plant time); None without timestamps.
    period_start: datetime | None
    period_end: datetime | None


@dataclass(frozen=True)
class IngestReport:
    """The outcome of one ingest, as also recorded in the store's ``ingests`` table."""

    source: Path
    db: Path
    format: SourceFormat
    sha256: str
    size_bytes: int
    #: Records in the source file (data lines, header not counted).
    source_rows: int
    tables: tuple[TableCounts, ...]
    ingested_at_utc: datetime
    #: True when rows of an earlier ingest of the same source were replaced.
    replaced_previous: bool
    elapsed_s: float

    def counts(self, table: Table | str) -> TableCounts:
        """The counts for ``table``; KeyError when this ingest did not fill it."""
        for c in self.tables:
            if c.table == table:
                return c
        raise KeyError(f"this ingest did not fill {table}")

    @property
    def rows_loaded(self) -> int:
        """Rows loaded, all tables together."""
        return sum(c.rows_loaded for c in self.tables)

    @property
    def rows_quarantined(self) -> int:
        """Rows quarantined, all tables together."""
        return sum(c.rows_quarantined for c in self.tables)


def ingest(
    source: str | Path,
    fmt: SourceFormat | str,
    db: str | Path,
    mapping: str | Path | SourceMapping | None = None,
) -> IngestReport:
    """Ingest ``source`` (in format ``fmt``) into the store ``db``, creating the store if needed.

    ``mapping`` (a mapping file or a ``SourceMapping``) is required for ``csv`` and ``parquet``
    formats and refused for the others. Raises ReplayError listing every problem when the
    source, the mapping or the existing store cannot be used; the store is then unchanged.
    """
    try:
        return _ingest(source, fmt, db, mapping)
    except ReplayError as e:
        # A source's header or values quoted in a message may hold line breaks or escape
        # codes; each problem must stay one line of plain text.
        clean = [
            Problem(p.file and one_line(p.file), one_line(p.path), one_line(p.message), p.line)
            for p in e.problems
        ]
        if clean == list(e.problems):
            raise
        raise ReplayError(clean, file=e.file and one_line(e.file)) from e


@dataclass
class _Written:
    """What the ingest wrote into the temporary store, for the report."""

    counts: list[LoadResult]
    source_rows: int
    replaced: bool
    at: datetime


def _ingest(
    source: str | Path,
    fmt: SourceFormat | str,
    db: str | Path,
    mapping: str | Path | SourceMapping | None,
) -> IngestReport:
    started = time.perf_counter()
    fmt = _to_format(fmt)
    source_path = Path(source).resolve()
    db_path = Path(db).resolve()
    # Everything checkable up front is checked together, so one refusal lists it all.
    problems: list[Problem] = []
    located: LocatedMapping | None = None
    try:
        located = _resolve_mapping(fmt, mapping)
    except ReplayError as e:
        problems += e.problems
    if not source_path.exists():
        problems.append(Problem(str(source_path), "", "source file does not exist"))
    elif not source_path.is_file():
        problems.append(Problem(str(source_path), "", "source is not a regular file"))
    problems += _target_problems(db_path)
    if problems:
        raise ReplayError(problems, file=str(source_path))
    # The file's SHA-256 is computed by a thread while DuckDB reads it (hashlib lets go of the
    # GIL): a tenth of a small ingest's time otherwise.
    hashing = _Digest(source_path)
    try:
        return _write_store(source_path, db_path, fmt, located, hashing, started)
    finally:
        hashing.wait()


def _write_store(
    source_path: Path,
    db_path: Path,
    fmt: SourceFormat,
    located: LocatedMapping | None,
    hashing: _Digest,
    started: float,
) -> IngestReport:
    written: list[_Written] = []
    temporary: list[Path] = []

    def write(tmp: Path) -> None:
        temporary.append(tmp)
        if db_path.exists():
            # Private while it is staged (it holds the store's rows); copyfile keeps the mode.
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            shutil.copyfile(db_path, tmp)
            what = "not a DuckDB store"
        else:
            what = "cannot create the store"
        try:
            con = duckdb.connect(duckdb_path(tmp))
        except duckdb.Error as e:
            raise ReplayError(
                [Problem(str(db_path), "", f"{what}: {first_line(e)}")], file=str(db_path)
            ) from e
        try:
            _configure(con)
            prepare_store(con, file=str(db_path))
            counts, source_rows, replaced = _load(con, source_path, fmt, located)
            the_mapping = located.mapping if located is not None else None
            digest, size = hashing.result()
            at = _record_ingest(con, source_path, fmt, the_mapping, digest, size, counts)
            run(con, "CHECKPOINT")
        finally:
            con.close()
            # An exception's traceback keeps this frame alive; without the reference the
            # closed connection can be freed before interpreter exit.
            del con
        written.append(_Written(counts, source_rows, replaced, at))

    # Held from the copy of the store to its replacement: a writer that copied the store
    # while another was still writing it would replace the other's rows with its own.
    with locked(db_path, what="store", wait=True, error=ReplayError):
        _remove_old_temporaries(db_path)
        try:
            write_atomic(db_path, write, error=ReplayError, what="the store")
        except duckdb.Error as e:
            raise _failed(e, source_path, db_path, temporary) from e
    done = written[0]
    counts, source_rows, replaced, at = done.counts, done.source_rows, done.replaced, done.at
    digest, size = hashing.result()
    return IngestReport(
        source=source_path,
        db=db_path,
        format=fmt,
        sha256=digest,
        size_bytes=size,
        source_rows=source_rows,
        tables=tuple(
            TableCounts(c.table, c.rows_read, c.rows_loaded, c.rows_quarantined,
                        c.period_start, c.period_end)
            for c in counts
        ),
        ingested_at_utc=at,
        replaced_previous=replaced,
        elapsed_s=time.perf_counter() - started,
    )


def _configure(con: duckdb.DuckDBPyConnection) -> None:
    """DuckDB settings for one ingest.

    Threads stay at DuckDB's default, one per core it may use: twice as many gave no gain on
    2 cores and took a quarter more memory. Insertion order is preserved, as the stage of a
    direct read, and a typed read written straight into its table, get each row's line from
    its position; ``load_plan`` lifts it where order does not matter.
    """
    run(con, "SET preserve_insertion_order = true")


def _to_format(fmt: SourceFormat | str) -> SourceFormat:
    try:
        return SourceFormat(fmt)
    except ValueError:
        known = ", ".join(f.value for f in SourceFormat)
        raise ReplayError(
            [Problem(None, "format", f"unknown format {fmt!r}; known formats: {known}")]
        ) from None


def _resolve_mapping(
    fmt: SourceFormat, mapping: str | Path | SourceMapping | None
) -> LocatedMapping | None:
    if fmt not in GENERIC_FORMATS:
        if mapping is not None:
            raise ReplayError(
                [Problem(None, "mapping", f"the {fmt} format has fixed columns; "
                         "a mapping file is only used with csv and parquet")]
            )
        return None
    if mapping is None:
        raise ReplayError(
            [Problem(None, "mapping", f"the {fmt} format needs a mapping file (--mapping)")]
        )
    if isinstance(mapping, SourceMapping):
        problems = mapping_problems(mapping)
        if problems:
            raise ReplayError(problems)
        return LocatedMapping(mapping)
    return locate_mapping(mapping)


def _target_problems(db: Path) -> list[Problem]:
    problems = []
    if db.exists() and not db.is_file():
        problems.append(Problem(str(db), "", "store path exists and is not a file"))
    if not db.parent.is_dir():
        problems.append(Problem(str(db), "", f"directory {db.parent} does not exist"))
    wal = db.with_name(db.name + ".wal")
    if wal.exists():
        # Copying the store without its log would lose writes, and replacing the store under
        # a live log would corrupt it: another process has the store open, or one crashed.
        problems.append(
            Problem(
                str(db),
                "",
                f"{wal.name} exists: another process has the store open, or a writer stopped "
                "before finishing; close it (or open and close the store once) and retry",
            )
        )
    return problems


def _failed(
    e: duckdb.Error, source: Path, db: Path, temporary: list[Path]
) -> ReplayError:
    """The refusal for a DuckDB error while writing the temporary store.

    An I/O error, or one naming the temporary store or its log (a full disk fails the
    commit), is the store's: it could not be written. Anything else is the source's.
    """
    message = first_line(e)
    if isinstance(e, duckdb.IOException) or any(t.name in message for t in temporary):
        return ReplayError([Problem(str(db), "", f"cannot write the store: {message}")],
                           file=str(db))
    return ReplayError([Problem(str(source), "", f"ingest failed: {message}")],
                       file=str(source))


def _remove_old_temporaries(db: Path) -> None:
    """Remove the temporary stores of ingests killed before they used ``write_atomic``
    (named ``.<store>.<12 hex digits>.duckdb.tmp``), with DuckDB's log and spill folder.

    Called under the store's lock, so no live ingest owns one.
    """
    old = re.compile(re.escape(f".{db.name}.") + r"[0-9a-f]{12}\.duckdb\.tmp(?:\.wal|\.tmp)?")
    for path in entries_matching(db.parent, old):
        remove_leftover(path)


class _Digest:
    """The SHA-256 and size of a file, read by a thread of its own.

    The file is opened at once, so that a file that cannot be opened is refused before the
    store is touched; a failure to read it later is refused by ``result``.
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._error: OSError | None = None
        self._digest = ""
        self._size = 0
        try:
            file = path.open("rb")
        except OSError as e:
            raise self._refusal(e) from e
        self._thread = threading.Thread(target=self._read, args=(file,), name="sha256",
                                        daemon=True)
        self._thread.start()

    def _read(self, file: BinaryIO) -> None:
        h = hashlib.sha256()
        size = 0
        try:
            with file:
                for block in iter(lambda: file.read(1 << 20), b""):
                    h.update(block)
                    size += len(block)
        except OSError as e:
            self._error = e
            return
        self._digest, self._size = h.hexdigest(), size

    def _refusal(self, e: OSError) -> ReplayError:
        return ReplayError(
            [Problem(str(self._path), "", f"cannot read source: {e.strerror or e}")],
            file=str(self._path),
        )

    def wait(self) -> None:
        """Wait until the file is read."""
        self._thread.join()

    def result(self) -> tuple[str, int]:
        """The file's SHA-256 (hex) and size in bytes; ReplayError if it could not be read."""
        self.wait()
        if self._error is not None:
            raise self._refusal(self._error) from self._error
        return self._digest, self._size


def _load(
    con: duckdb.DuckDBPyConnection, source: Path, fmt: SourceFormat, located: LocatedMapping | None
) -> tuple[list[LoadResult], int, bool]:
    """Replace the source's rows in the (temporary) store; returns counts, records, replaced."""
    key = str(source)
    (previous,), = run(con, "SELECT count(*) FROM ingests WHERE source = ?", [key])
    for table in (*LOADABLE_TABLES, Table.FEATURE_SETS, Table.QUARANTINE, Table.INGESTS):
        run(con, f'DELETE FROM "{table}" WHERE source = ?', [key])

    reading = _READERS[fmt](con, source, located)
    if reading.source_rows == 0:
        raise ReplayError([Problem(key, "", "no data rows")], file=key)
    results = [write_plan(con, plan, key) for plan in reading.plans]
    source_rows = reading.source_rows
    if source_rows is None:
        source_rows = results[0].rows_read
        if source_rows == 0:
            raise ReplayError([Problem(key, "", "no data rows")], file=key)
    if all(r.rows_loaded == 0 for r in results):
        raise _nothing_usable(con, source, results)
    for r in results:
        drop_stage(con, r.table)
    if any(p.table is Table.FEATURES for p in reading.plans):
        labels = reading.label_names
        if labels is None:
            (found,), = run(
                con,
                "SELECT list(DISTINCT label ORDER BY label) FILTER (WHERE label IS NOT NULL) "
                "FROM features WHERE source = ?",
                [key],
            )
            labels = tuple(found or ())
        run(
            con,
            "INSERT INTO feature_sets VALUES (?, ?, ?)",
            [key, list(reading.feature_names), list(labels)],
        )
    return results, source_rows, previous > 0


def _nothing_usable(
    con: duckdb.DuckDBPyConnection, source: Path, results: list[LoadResult]
) -> ReplayError:
    """A refusal quoting the first problems of a source in which no row can be used.

    Loading nothing would replace a good earlier ingest of the same file with an empty one;
    a file in which every row fails is a wrong file or a wrong mapping, not bad rows.
    """
    problems: list[Problem] = []
    for r in results:
        quoted, total = quarantined_rows(con, r.table, _MAX_QUOTED)
        problems += [Problem(str(source), q.column, q.message, q.line) for q in quoted]
        if total > len(quoted):
            problems.append(
                Problem(str(source), "", f"… and {total - len(quoted)} more problems")
            )
    problems.append(Problem(str(source), "", "no row could be used; nothing was ingested"))
    return ReplayError(problems, file=str(source))


def _record_ingest(
    con: duckdb.DuckDBPyConnection,
    source: Path,
    fmt: SourceFormat,
    mapping: SourceMapping | None,
    digest: str,
    size: int,
    counts: list[LoadResult],
) -> datetime:
    """Write one ``ingests`` row per table; returns the UTC time recorded."""
    at = datetime.now(UTC)
    mapping_json = mapping.model_dump_json() if mapping is not None else None
    for c in counts:
        run(
            con,
            "INSERT INTO ingests VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                str(source), str(c.table), str(fmt), digest, size, c.rows_read, c.rows_loaded,
                c.rows_quarantined, at.replace(tzinfo=None), c.period_start, c.period_end,
                mapping_json,
            ],
        )
    return at


