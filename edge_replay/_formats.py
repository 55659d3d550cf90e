"""Readers for each source format: file checks, DuckDB reads, and a staging plan per table.

Every reader reads its file with DuckDB's own reader, every CSV column as text, so that one bad
value quarantines one row instead of failing the read, and returns one ``Plan`` per store
table it fills. The generic CSV format first reads its numbers, timestamps and booleans typed,
which is faster, and falls back to text when the typed read cannot vouch for a row
(``_typed_csv_plan``). Readers with one plan and no use for the line in a field read the file
straight into the stage (``DirectRead``); the others first copy it into the temporary table
``__src``, exposed with the line of each row as ``__rel``. The quirks of each recorded dataset
are handled here; see each dataset's SOURCE.md for where they come from.
"""

from __future__ import annotations

import codecs
import csv
import difflib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np

from shocktwin.edge_replay._sql import (
    file_lit,
    first_line,
    ident,
    lit,
    quoted_value,
    run,
    text_of,
)
from shocktwin.edge_replay._stage import LINE, RAW, Check, DirectRead, Field, Plan
from shocktwin.edge_replay.mapping import LocatedMapping, SourceMapping
from shocktwin.edge_replay.schema import TABLES, Column, InspectionResult, Table
from shocktwin.errors import Problem, ReplayError

__all__ = [
    "Reader",
    "Reading",
    "check_parquet_file",
    "check_text_file",
    "read_4tu_production",
    "read_downtime",
    "read_generic_csv",
    "read_generic_parquet",
    "read_measurement_log",
    "read_scms",
    "read_secom",
    "read_snapshot",
    "read_steel_plate_measurements",
    "read_steel_plates",
]

#: The most structural CSV problems quoted in one refusal; the rest are counted.
MAX_LISTED = 50
#: The most columns a source may have. Every column is staged as text, and the memory an
#: ingest needs grows faster than its width: 100 rows of 2,000 columns took 0.35 GB, of
#: 10,000 columns 4 GB. The bundled sources have up to 34 columns, SECOM's sensor matrix 590.
MAX_COLUMNS = 2048

_SNIFF_BYTES = 64 * 1024
_INT = (
    "CASE WHEN try_cast({t} AS DOUBLE) = try_cast({t} AS BIGINT) "
    "THEN try_cast({t} AS BIGINT) END"
)
_NUMBER = "try_cast({t} AS DOUBLE)"
_WHOLE = "a whole number"


@dataclass(frozen=True)
class Reading:
    """What a reader found: the plans to load and how many records the source has."""

    plans: tuple[Plan, ...]
    #: None: as many as the first plan reads (known once it is staged).
    source_rows: int | None
    feature_names: tuple[str, ...] = ()
    #: The possible labels of a feature source; None: take the labels found in the data.
    label_names: tuple[str, ...] | None = None


Reader = Callable[[duckdb.DuckDBPyConnection, Path, LocatedMapping | None], Reading]


# --- file checks -------------------------------------------------------------------------


def _refuse(file: Path, message: str, path: str = "", line: int | None = None) -> ReplayError:
    return ReplayError([Problem(str(file), path, message, line)], file=str(file))


def _check_exists(path: Path) -> None:
    if not path.exists():
        raise _refuse(path, "source file does not exist")
    if not path.is_file():
        raise _refuse(path, "source is not a regular file")
    if path.stat().st_size == 0:
        raise _refuse(path, "source file is empty")


def check_text_file(path: Path) -> None:
    """Refuse a missing, empty or binary file, or one that is not UTF-8 text."""
    _check_exists(path)
    with path.open("rb") as f:
        head = f.read(_SNIFF_BYTES)
    nul = head.find(b"\x00")
    if nul >= 0:
        raise _refuse(path, f"binary file (NUL byte at offset {nul}), not CSV text")
    try:
        # The sniffed block may end inside a multi-byte character, unless it is the whole
        # file: then a cut character is an error (final=True).
        whole = len(head) < _SNIFF_BYTES
        codecs.getincrementaldecoder("utf-8")().decode(head, final=whole)
    except UnicodeDecodeError as e:
        raise _refuse(
            path,
            f"not UTF-8 text (byte 0x{head[e.start]:02x} at offset {e.start}); "
            "binary file or another encoding: re-export it as UTF-8",
        ) from e


def check_parquet_file(path: Path) -> None:
    """Refuse a missing or empty file, or one without the Parquet magic bytes."""
    _check_exists(path)
    with path.open("rb") as f:
        head = f.read(4)
        f.seek(max(path.stat().st_size - 4, 0))
        tail = f.read(4)
    if path.stat().st_size < 8 or head != b"PAR1" or tail != b"PAR1":
        raise _refuse(path, "not a Parquet file (no PAR1 magic bytes)")


def read_header(path: Path, delimiter: str) -> list[str]:
    """Field names in the first record of a CSV file (a UTF-8 byte-order mark is dropped)."""
    with path.open(encoding="utf-8-sig", newline="") as f:
        try:
            header = next(csv.reader(f, delimiter=delimiter))
        except StopIteration:
            raise _refuse(path, "source file is empty") from None
        except csv.Error as e:
            raise _refuse(path, f"cannot read the header: {e}", line=1) from e
    names = [h.strip() for h in header]
    _check_width(path, len(names))
    if not any(names):
        raise _refuse(path, "the first line (header) is empty", line=1)
    problems = [
        Problem(str(path), name, "column name appears more than once in the header", 1)
        for name in sorted({n for n in names if names.count(n) > 1})
    ]
    problems += [
        Problem(str(path), f"column {i + 1}", "column has no name in the header", 1)
        for i, n in enumerate(names)
        if not n
    ]
    if problems:
        raise ReplayError(problems, file=str(path))
    return names


def _check_width(path: Path, n_columns: int, line: int | None = 1) -> None:
    """Refuse a source with more than ``MAX_COLUMNS`` columns, before DuckDB reads it."""
    if n_columns > MAX_COLUMNS:
        raise _refuse(
            path, f"{n_columns:,} columns; at most {MAX_COLUMNS:,} can be ingested", line=line
        )


def _require_columns(
    path: Path,
    header: Sequence[str],
    required: Sequence[str],
    known: Sequence[str],
    line: int | None = 1,
) -> None:
    """Refuse a header that lacks any of ``required``, naming each one.

    Columns in neither ``required`` nor ``known`` are offered as what it may have been
    renamed to. ``line`` is the header's (None for a Parquet file's columns).
    """
    missing = [c for c in required if c not in header]
    if not missing:
        return
    unexpected = [h for h in header if h not in required and h not in known]
    hint = f"; the header has instead: {', '.join(unexpected)}" if unexpected else ""
    raise ReplayError(
        [Problem(str(path), c, f"missing column{hint}", line) for c in missing],
        file=str(path),
    )


def _did_you_mean(name: str, candidates: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, candidates, n=1) or [
        c for c in candidates if c.lower() == name.lower()
    ]
    return f" (did you mean {close[0]!r}?)" if close else ""


# --- reading into __src / __rel ------------------------------------------------------------


def _csv_relation(
    path: Path,
    columns: Sequence[str],
    *,
    header: bool,
    delim: str = ",",
    quote: str = '"',
    escape: str = '"',
    strict: bool = True,
    types: Mapping[str, str] | None = None,
    null_values: Sequence[str] = (),
) -> str:
    """SQL reading a CSV file, its broken records kept in ``__rejects``.

    Every column is read as text, unless ``types`` gives it a DuckDB type: then a record with a
    value not of that type is rejected too (kept in ``__rejects``, left out of the rows).
    ``null_values`` are read as NULL, besides empty fields.
    """
    types = types or {}
    spec = "{" + ", ".join(f"{lit(c)}: {lit(types.get(c, 'VARCHAR'))}" for c in columns) + "}"
    nulls = f"nullstr = [{', '.join(lit(v) for v in ('', *null_values))}], " if null_values else ""
    return (
        f"SELECT * FROM read_csv({file_lit(path)}, columns = {spec}, "
        f"header = {str(header).lower()}, delim = {lit(delim)}, quote = {lit(quote)}, "
        f"escape = {lit(escape)}, auto_detect = false, strict_mode = {str(strict).lower()}, "
        f"{nulls}store_rejects = true, rejects_table = '__rejects', "
        "rejects_scan = '__reject_scans')"
    )


def _raw_json(columns: Sequence[str]) -> str:
    """SQL for the raw row ``r`` as a JSON object, field name → value as read."""
    return "to_json({" + ", ".join(f"{lit(c)}: r.{ident(c)}" for c in columns) + "})"


def _cannot_read_csv(path: Path) -> Callable[[duckdb.Error], ReplayError]:
    return lambda e: _refuse(path, f"cannot read as CSV: {first_line(e)}")


def _refuse_rejects(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Refuse the file if reading it found records that cannot be split into their fields.

    Every such line is listed: the fields of such a record cannot be told apart, and it usually
    means a wrong delimiter or format.
    """
    # DuckDB reports a short record once per missing field; one problem per line is enough.
    rejects = run(
        con,
        "SELECT line, arg_min(column_name, column_idx), arg_min(error_message, column_idx) "
        "FROM __rejects GROUP BY line ORDER BY line LIMIT ?",
        [MAX_LISTED + 1],
    )
    if rejects:
        (n_rejects,), = run(con, "SELECT count(DISTINCT line) FROM __rejects")
        problems = [
            Problem(str(path), name or "", first_line(msg), int(line))
            for line, name, msg in rejects[:MAX_LISTED]
        ]
        if n_rejects > MAX_LISTED:
            problems.append(
                Problem(str(path), "", f"… and {n_rejects - MAX_LISTED} more lines like these")
            )
        raise ReplayError(problems, file=str(path))


def _load_csv(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    columns: Sequence[str],
    *,
    header: bool,
    delim: str = ",",
    quote: str = '"',
    escape: str = '"',
    strict: bool = True,
) -> int:
    """Read a CSV file, every column as text, into ``__src``; returns the number of rows.

    For readers that make several plans of one file, or need the line in a field. A record
    that cannot be split into the expected fields (too many or too few, broken quotes, bad
    encoding) makes the whole file refused, every such line listed.
    """
    relation = _csv_relation(
        path, columns, header=header, delim=delim, quote=quote, escape=escape, strict=strict
    )
    try:
        run(con, f"CREATE OR REPLACE TEMP TABLE __src AS {relation}")
    except duckdb.Error as e:
        raise _cannot_read_csv(path)(e) from e
    _refuse_rejects(con, path)
    offset = 2 if header else 1
    run(
        con,
        f"CREATE OR REPLACE TEMP VIEW __rel AS "
        f"SELECT rowid + {offset} AS {LINE}, s.* FROM __src AS s",
    )
    (n,), = run(con, "SELECT count(*) FROM __src")
    return int(n)


def _direct_csv(
    path: Path, columns: Sequence[str], *, delim: str = ","
) -> tuple[str, DirectRead]:
    """A relation reading a CSV file with a header straight into the stage, and its checks.

    For single-plan readers: no copy of the file is made, and its records are split once. A
    record that cannot be split into the expected fields makes the file refused, as in
    ``_load_csv``, once the stage is built.
    """
    def reread(lines: np.ndarray, scratch: Path) -> str | None:
        if not _copy_lines(path, lines.astype(np.int64), scratch):
            return None
        return _csv_relation(scratch, columns, header=True, delim=delim)

    return _csv_relation(path, columns, header=True, delim=delim), DirectRead(
        first_line=2,
        refusal=_cannot_read_csv(path),
        check=lambda con: _refuse_rejects(con, path),
        reread=reread,
    )


#: Bytes read at a time when looking for lines.
_BLOCK_BYTES = 16 << 20


def _plain_csv(
    path: Path, required: Sequence[str], known: Sequence[str]
) -> tuple[list[str], str, DirectRead]:
    """A comma-separated text file whose header holds ``required`` (``_require_columns``),
    read straight into the stage: its header, relation and checks (``_direct_csv``)."""
    check_text_file(path)
    header = read_header(path, ",")
    _require_columns(path, header, required, known)
    relation, direct = _direct_csv(path, header)
    return header, relation, direct


def _copy_lines(source: Path, lines: np.ndarray, target: Path) -> bool:
    """Copy line 1 and ``lines`` (1-based, ascending) of ``source`` to ``target``, in order.

    Lines end at LF, which they keep (with any CR before it). False when ``source`` has fewer
    lines than asked for. One pass over the file in large blocks, each searched for its line
    ends with numpy; only the lines asked for are kept.
    """
    wanted = np.concatenate(([1], lines)).astype(np.int64)
    done = 0  # lines of ``wanted`` written
    number = 1  # the line that starts at the beginning of the block
    carry = b""  # the start of that line, read with the block before
    with source.open("rb") as f, target.open("wb") as out:
        while done < len(wanted) and (block := f.read(_BLOCK_BYTES)):
            data = np.frombuffer(block, dtype=np.uint8)
            ends = np.flatnonzero(data == 10) + 1
            upto = int(np.searchsorted(wanted, number + len(ends)))
            index = wanted[done:upto] - number  # of each wanted line among the block's lines
            if len(index) and index[0] == 0 and carry:
                out.write(carry + block[:ends[0]])
                index = index[1:]
            starts = np.where(index > 0, ends[np.maximum(index - 1, 0)], 0)
            out.write(_gather(data, starts, ends[index]))
            done = upto
            tail = int(ends[-1]) if len(ends) else 0
            carry = carry + block[tail:] if not len(ends) else block[tail:]
            number += len(ends)
        # A last line without LF ends at the end of the file (after a last LF, it is empty).
        if done < len(wanted) and wanted[done] == number:
            out.write(carry)
            done += 1
    return done == len(wanted)
def _gather(data: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> bytes:
    """The byte ranges ``[starts, ends)`` of ``data``, one after the other."""
    lengths = ends - starts
    offsets = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
    return data[offsets + np.arange(int(lengths.sum()))].tobytes()


def _col(name: str, null_values: Sequence[str] = ()) -> str:
    return text_of(f"r.{ident(name)}", null_values)


# --- 4TU production log ----------------------------------------------------------------------

_4TU_TS = "%Y/%m/%d %H:%M:%S.%g"
_4TU_TS_TEXT = "a timestamp YYYY/MM/DD HH:MM:SS.000"
_4TU_COLUMNS = (
    "Case ID", "Activity", "Resource", "Start Timestamp", "Complete Timestamp",
    "Work Order Qty", "Part Desc.", "Worker ID", "Report Type", "Qty Completed",
    "Qty Rejected", "Qty for MRB", "Rework",
)
_4TU_UNUSED = ("Span",)


def read_4tu_production(
    con: duckdb.DuckDBPyConnection, path: Path, _: LocatedMapping | None
) -> Reading:
    """The 4TU machine-shop event log: one operation report per row, orders derived from it.

    ``Span`` is not read: the source system sometimes records ``000:00`` for work that took
    hours, so durations come from the two timestamps. ``Work Order Qty`` is the order's size,
    repeated on each report; ``Qty Completed``/``Rejected``/``for MRB`` are per report.
    """
    check_text_file(path)
    header = read_header(path, ",")
    _require_columns(path, header, _4TU_COLUMNS, _4TU_UNUSED)
    n = _load_csv(con, path, header, header=True)
    ts = "try_strptime({t}, " + lit(_4TU_TS) + ")"
    operations = Plan(
        Table.OPERATIONS,
        "SELECT * FROM __rel",
        {
            "case_id": Field(_col("Case ID"), label="Case ID"),
            "activity": Field(_col("Activity"), label="Activity"),
            "resource": Field(_col("Resource"), label="Resource"),
            "start_ts": Field(_col("Start Timestamp"), ts, "Start Timestamp", _4TU_TS_TEXT),
            "end_ts": Field(_col("Complete Timestamp"), ts, "Complete Timestamp", _4TU_TS_TEXT),
            "qty_completed": Field(_col("Qty Completed"), _INT, "Qty Completed", _WHOLE),
            "qty_rejected": Field(_col("Qty Rejected"), _INT, "Qty Rejected", _WHOLE),
            "qty_review": Field(_col("Qty for MRB"), _INT, "Qty for MRB", _WHOLE),
            "rework": Field(
                _col("Rework"), "CASE WHEN upper({t}) = 'Y' THEN true END", "Rework",
                "'Y' or empty",
            ),
            "operator": Field(_col("Worker ID"), label="Worker ID"),
            "report_type": Field(_col("Report Type"), label="Report Type"),
        },
        raw=_raw_json(header),
    )
    # One work order per case. Part and order quantity are repeated on every report of the
    # case; if the reports disagree the order is quarantined rather than one value guessed.
    orders_rel = f"""
SELECT {LINE},
       to_json({{'Case ID': case_t, 'Part Desc.': parts, 'Work Order Qty': qtys,
                 'lines': lines}}) AS {RAW},
       case_t, parts, qtys, release
FROM (
    SELECT case_t, min({LINE}) AS {LINE},
           list_sort(list_distinct(list(part_t))) AS parts,
           list_sort(list_distinct(list(qty_t))) AS qtys,
           list({LINE} ORDER BY {LINE}) AS lines,
           min(try_strptime(start_t, {lit(_4TU_TS)})) AS release
    FROM (SELECT {LINE}, {_col("Case ID")} AS case_t, {_col("Part Desc.")} AS part_t,
                 {_col("Work Order Qty")} AS qty_t, {_col("Start Timestamp")} AS start_t
          FROM __rel AS r)
    WHERE case_t IS NOT NULL
    GROUP BY case_t
)"""
    orders = Plan(
        Table.WORK_ORDERS,
        orders_rel,
        {
            "order_id": Field("r.case_t", label="Case ID"),
            "part": Field("CASE WHEN len(r.parts) = 1 THEN r.parts[1] END", label="Part Desc."),
            "quantity": Field(
                "CASE WHEN len(r.qtys) = 1 THEN r.qtys[1] END", _INT, "Work Order Qty", _WHOLE
            ),
            "release_ts": Field(
                "CAST(r.release AS VARCHAR)", "CAST({t} AS TIMESTAMP)", "Start Timestamp",
                lenient=True,
            ),
        },
        helpers={"__parts": "r.parts", "__qtys": "r.qtys"},
        checks=(
            Check(
                "len(__parts) > 1",
                "Part Desc.",
                "'the reports of this order disagree: ' || array_to_string(__parts, ' / ')",
            ),
            Check(
                "len(__qtys) > 1",
                "Work Order Qty",
                "'the reports of this order disagree: ' || array_to_string(__qtys, ' / ')",
            ),
        ),
    )
    return Reading((operations, orders), n)


# --- UCI SECOM labels --------------------------------------------------------------------------

_SECOM_TS = "%d/%m/%Y %H:%M:%S"


def _load_lines(con: duckdb.DuckDBPyConnection, path: Path) -> int:
    """Read a text file into ``__src`` as (line number, text), blank lines left out."""
    try:
        run(
            con,
            "CREATE OR REPLACE TEMP TABLE __src AS SELECT line_no, text FROM ("
            "SELECT unnest(generate_series(1, len(parts))) AS line_no, unnest(parts) AS text "
            "FROM (SELECT string_split(content, chr(10)) AS parts "
            f"FROM read_text({file_lit(path)}))) WHERE {text_of('text')} IS NOT NULL",
        )
    except duckdb.Error as e:
        raise _refuse(path, f"cannot read as text: {first_line(e)}") from e
    (n,), = run(con, "SELECT count(*) FROM __src")
    return int(n)


def read_secom(
    con: duckdb.DuckDBPyConnection, path: Path, _: LocatedMapping | None
) -> Reading:
    """UCI ``secom_labels.data``: ``label "DD/MM/YYYY HH:MM:SS"`` per line.

    Read line by line rather than as CSV: the lines end in CR CR LF, which the strict CSV
    reader rejects and the relaxed one handles by silently dropping surplus fields. Here the
    first word is the label and the rest, quotes removed, the timestamp, so anything extra
    makes the timestamp unreadable and the row is quarantined with its text. The entity id is
    the line number, because the sensor file ``secom.data`` (not bundled) matches this file
    line for line.
    """
    check_text_file(path)
    n = _load_lines(con, path)
    words = (
        "regexp_extract(trim(text, ' ' || chr(9) || chr(13)), '^(\\S*)\\s*(.*)$', "
        "['label', 'rest'])"
    )
    plan = Plan(
        Table.INSPECTIONS,
        f"SELECT line_no AS {LINE}, to_json({{'line': {text_of('text')}}}) AS {RAW}, "
        f"w.label AS label, trim(w.rest, '\"') AS timestamp "
        f"FROM (SELECT line_no, text, {words} AS w FROM __src)",
        {
            "entity_id": Field(f"CAST(r.{LINE} AS VARCHAR)", label="(line)"),
            "ts": Field(
                _col("timestamp"),
                "try_strptime({t}, " + lit(_SECOM_TS) + ")",
                "timestamp",
                "a timestamp DD/MM/YYYY HH:MM:SS",
            ),
            "result": Field(
                _col("label"),
                f"CASE {{t}} WHEN '-1' THEN '{InspectionResult.PASS}' "
                f"WHEN '1' THEN '{InspectionResult.FAIL}' END",
                "label",
                "-1 (pass) or 1 (fail)",
            ),
        },
    )
    return Reading((plan,), n)


# --- USAID SCMS delivery history -----------------------------------------------------------

_SCMS_DAY = "try_strptime({t}, '%d-%b-%y')"
_SCMS_DAY_TEXT = "a date DD-Mon-YY"
# PO dates mix M/D/YY, M/D/YYYY and values that look like ISO dates but are 20MM-DD-YY
# (2002-01-13 is 2013-02-01): rewrite those to MM/DD/YY first. Real dates run 2006-2015, and
# no ISO reading of them gives plausible lead times (see SOURCE.md).
_SCMS_PO = (
    "coalesce(try_strptime(regexp_replace({t}, '^20(\\d\\d)-(\\d\\d)-(\\d\\d)$', "
    "'\\1/\\2/\\3'), '%m/%d/%y'), try_strptime({t}, '%m/%d/%Y'))"
)
_SCMS_PO_TEXT = "a date M/D/YY, M/D/YYYY or the mangled 20MM-DD-YY"
_SCMS_NO_PO = ("N/A - From RDC", "Date Not Captured")
_SCMS_COLUMNS = (
    "ID", "PO / SO #", "Country", "Fulfill Via", "Vendor INCO Term", "Shipment Mode",
    "PO Sent to Vendor Date", "Scheduled Delivery Date", "Delivered to Client Date",
    "Product Group", "Vendor", "Item Description", "Line Item Quantity", "Line Item Value",
    "Weight (Kilograms)", "Freight Cost (USD)",
)
_SCMS_UNUSED = (
    "Project Code", "PQ #", "ASN/DN #", "Managed By", "PQ First Sent to Client Date",
    "Delivery Recorded Date", "Sub Classification", "Molecule/Test Type", "Brand", "Dosage",
    "Dosage Form", "Unit of Measure (Per Pack)", "Pack Price", "Unit Price",
    "Manufacturing Site", "First Line Designation", "Line Item Insurance (USD)",
)


def read_scms(
    con: duckdb.DuckDBPyConnection, path: Path, _: LocatedMapping | None
) -> Reading:
    """USAID SCMS delivery history: one purchase-order line per row.

    ``N/A - From RDC`` and ``Date Not Captured`` mean there is no PO date (stock shipments
    from a distribution centre, or a gap in the record); such lines are kept with a NULL
    ``order_date``. Weight and freight hold notes (``Freight Included in Commodity Cost``,
    ``See ASN-…``) on many lines; they become NULL, the line is kept.
    """
    header, relation, direct = _plain_csv(path, _SCMS_COLUMNS, _SCMS_UNUSED)

    def text(name: str, parse: str = "{t}", expected: str = "text", lenient: bool = False) -> Field:
        nulls: tuple[str, ...] = ()
        if name in ("PO Sent to Vendor Date", "Vendor INCO Term"):
            nulls = _SCMS_NO_PO
        elif name == "Shipment Mode":
            nulls = ("N/A",)
        return Field(_col(name, nulls), parse, name, expected, lenient)

    plan = Plan(
        Table.SUPPLIER_DELIVERIES,
        relation,
        {
            "delivery_id": text("ID"),
            "order_ref": text("PO / SO #"),
            "supplier": text("Vendor"),
            "product": text("Item Description"),
            "product_group": text("Product Group"),
            "country": text("Country"),
            "mode": text("Shipment Mode"),
            "incoterm": text("Vendor INCO Term"),
            "fulfill_via": text("Fulfill Via"),
            "order_date": text("PO Sent to Vendor Date", _SCMS_PO, _SCMS_PO_TEXT),
            "promised_date": text("Scheduled Delivery Date", _SCMS_DAY, _SCMS_DAY_TEXT),
            "actual_date": text("Delivered to Client Date", _SCMS_DAY, _SCMS_DAY_TEXT),
            "quantity": text("Line Item Quantity", _NUMBER, "a number"),
            "value_usd": text("Line Item Value", _NUMBER, "a number"),
            "freight_usd": text("Freight Cost (USD)", _NUMBER, "a number", lenient=True),
            "weight_kg": text("Weight (Kilograms)", _NUMBER, "a number", lenient=True),
        },
        raw=_raw_json(header),
        direct=direct,
    )
    return Reading((plan,), None)


# --- UCI Steel Plates Faults -----------------------------------------------------------------

_STEEL_NAMES_FILE = "Faults27x7_var"
_STEEL_N_FEATURES = 27
_STEEL_N_CLASSES = 7


def _steel_names(path: Path) -> list[str]:
    names_file = path.with_name(_STEEL_NAMES_FILE)
    if not names_file.is_file():
        raise _refuse(
            names_file,
            f"the column names file {_STEEL_NAMES_FILE} is missing beside {path.name}",
        )
    try:
        text = names_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise _refuse(names_file, f"cannot read the column names: {e}") from e
    names = [n.strip() for n in text.replace("\r", "\n").split("\n") if n.strip()]
    expected = _STEEL_N_FEATURES + _STEEL_N_CLASSES
    problems = []
    if len(names) != expected:
        problems.append(
            Problem(
                str(names_file), "", f"expected {expected} column names, found {len(names)}"
            )
        )
    problems += [
        Problem(str(names_file), n, "column name appears more than once")
        for n in sorted({n for n in names if names.count(n) > 1})
    ]
    if problems:
        raise ReplayError(problems, file=str(names_file))
    return names


def _vector(texts: Sequence[tuple[str, str]]) -> tuple[Field, dict[str, str], tuple[Check, ...]]:
    """A ``feature_vector`` field from (text SQL, label) pairs, with a check per element.

    Each text is a helper ``__x<i>``, which the field and the checks refer to.
    """
    helpers = {f"__x{i}": t for i, (t, _) in enumerate(texts)}
    values = [f"try_cast(__x{i} AS DOUBLE)" for i in range(len(texts))]
    checks: list[Check] = []
    for i, (_, label) in enumerate(texts):
        checks += [
            Check(f"__x{i} IS NULL", label, "'missing value'"),
            Check(
                f"{values[i]} IS NULL AND __x{i} IS NOT NULL",
                label,
                f"'cannot read ' || {quoted_value(f'__x{i}')} || ' as a number'",
            ),
            Check(f"NOT isfinite({values[i]})", label, f"'not a finite number: ' || __x{i}"),
        ]
    # Lenient: the elements are checked one by one above, each against its own column name.
    field = Field(
        "'(' || array_to_string([" + ", ".join(helpers) + "], ',') || ')'",
        "[" + ", ".join(values) + "]",
        lenient=True,
    )
    return field, helpers, tuple(checks)


def _load_steel_plates(con: duckdb.DuckDBPyConnection, path: Path) -> tuple[int, list[str]]:
    """Read ``Faults.NNA`` into ``__src`` under the names in ``Faults27x7_var`` beside it;
    returns the number of rows and the names.

    In the bundled copy each line is wrapped in double quotes and TAB-separated inside, so the
    file is read without quoting; ``_steel_text`` strips the quote from a field.
    """
    check_text_file(path)
    names = _steel_names(path)
    with path.open(encoding="utf-8", newline="") as f:
        first = f.readline().strip().strip('"')
    n_fields = len(first.split("\t"))
    if n_fields != len(names):
        raise _refuse(
            path, f"expected {len(names)} TAB-separated values, found {n_fields}", line=1
        )
    return _load_csv(con, path, names, header=False, delim="\t", quote="", escape=""), names


def _steel_text(row: str, name: str) -> str:
    """SQL for the text of the Steel Plates field ``name`` of ``row``, its quote stripped (the
    first and last field of a line carry the line's quotes)."""
    return text_of(f"trim({row}.{ident(name)}, '\"')")


def read_steel_plates(
    con: duckdb.DuckDBPyConnection, path: Path, _: LocatedMapping | None
) -> Reading:
    """UCI ``Faults.NNA``: 27 features and 7 one-hot fault flags per line, no header.

    Column names come from ``Faults27x7_var`` beside it (``_load_steel_plates``). A row must
    have exactly one fault flag set; its name is the label.
    """
    n, names = _load_steel_plates(con, path)
    features, classes = names[:_STEEL_N_FEATURES], names[_STEEL_N_FEATURES:]

    def text(name: str) -> str:
        return _steel_text("r", name)

    vector, helpers, checks = _vector([(text(c), c) for c in features])
    flags = {f"__flag{j}": text(c) for j, c in enumerate(classes)}
    n_set = " + ".join(f"(CASE WHEN {h} = '1' THEN 1 ELSE 0 END)" for h in flags)
    flag_checks = tuple(
        Check(
            f"__flag{j} IS NULL OR __flag{j} NOT IN ('0', '1')",
            c,
            f"'expected 0 or 1, found ' || coalesce({quoted_value(f'__flag{j}')}, 'nothing')",
        )
        for j, c in enumerate(classes)
    )
    one_class = Check(
        f"({n_set}) <> 1",
        "fault class",
        f"'expected exactly one of the {len(classes)} fault flags set, found ' "
        f"|| CAST(({n_set}) AS VARCHAR)",
    )
    label = "CASE " + " ".join(
        f"WHEN {h} = '1' THEN {lit(c)}" for h, c in zip(flags, classes, strict=True)
    ) + " END"
    plan = Plan(
        Table.FEATURES,
        "SELECT * FROM __rel",
        {
            "entity_id": Field(f"CAST(r.{LINE} AS VARCHAR)", label="(line)"),
            "label": Field(label, label="fault class"),
            "feature_vector": vector,
        },
        helpers={**helpers, **flags},
        checks=(*checks, *flag_checks, one_class),
        raw=_raw_json(names),
    )
    return Reading((plan,), n, tuple(features), tuple(classes))


# --- UCI Steel Plates Faults as recorded measurements ------------------------------------------

#: The Steel Plates columns read as measurements: what the line's surface inspection measures
#: on each defect it finds, which a quality engineer charts (the defect's area and perimeters
#: and its grey levels). Why these and not the others: examples/steel_plate_measurements.
STEEL_MEASURED = (
    "Pixels_Areas", "X_Perimeter", "Y_Perimeter",
    "Sum_of_Luminosity", "Minimum_of_Luminosity", "Maximum_of_Luminosity",
)
#: The file has no timestamps. Its records are given times from their order: the first at
#: ``STEEL_FIRST_RECORD``, then one every ``STEEL_CADENCE_MIN`` minutes. Both are assumptions.
STEEL_FIRST_RECORD = "2010-01-01 00:00:00"
STEEL_CADENCE_MIN = 10


def read_steel_plate_measurements(
    con: duckdb.DuckDBPyConnection, path: Path, _: LocatedMapping | None
) -> Reading:
    """UCI ``Faults.NNA`` as recorded measurements: the ``STEEL_MEASURED`` values of each
    record (a defect found on a plate), one row per value.

    The entity is the record's line, as in the ``features`` table, so the two join. Times come
    from the record's order at ``STEEL_CADENCE_MIN``, since the file has none. A quarantined
    value keeps the column it came from as its raw text (``{"Pixels_Areas": "abc"}``).
    """
    n, _names = _load_steel_plates(con, path)
    characteristics = ", ".join(lit(c) for c in STEEL_MEASURED)
    texts = ", ".join(_steel_text("s", c) for c in STEEL_MEASURED)
    # Six rows share a line; the duplicate check, which marks rows by line, never matches
    # them, as the entity is the line and the characteristics differ.
    relation = (
        f"SELECT s.{LINE} AS {LINE}, unnest([{characteristics}]) AS characteristic, "
        f"unnest([{texts}]) AS value FROM __rel AS s"
    )
    at = (f"TIMESTAMP {lit(STEEL_FIRST_RECORD)} "
          f"+ (r.{LINE} - 1) * INTERVAL {STEEL_CADENCE_MIN} MINUTE")
    plan = Plan(
        Table.MEASUREMENTS,
        relation,
        {
            "ts": Field(f"CAST({at} AS VARCHAR)", "CAST({t} AS TIMESTAMP)", "(line)",
                        lenient=True),
            "entity_id": Field(f"CAST(r.{LINE} AS VARCHAR)", label="(line)"),
            "characteristic": Field("r.characteristic", label="(column)"),
            "value": Field("r.value", _NUMBER, "value", "a number"),
        },
        raw="to_json(map([r.characteristic], [r.value]))",
    )
    return Reading((plan,), n)


# --- plain downtime / alarm table ------------------------------------------------------------

_DOWNTIME_COLUMNS = ("machine", "start", "end")
_DOWNTIME_OPTIONAL = ("cause",)
_ISO_TS = "try_cast({t} AS TIMESTAMP)"
_ISO_TS_TEXT = "an ISO 8601 timestamp"


def read_downtime(
    con: duckdb.DuckDBPyConnection, path: Path, _: LocatedMapping | None
) -> Reading:
    """A plain downtime or alarm table: one outage per row, ``machine``, ``start``, ``end``
    and optionally ``cause``, timestamps in ISO 8601 (``2024-03-04 06:30``) local plant time.

    Other columns are not read (they are kept in ``quarantine.raw``). Another layout is
    ingested with ``--format csv`` or ``parquet`` and a mapping file (``table: downtime``).
    """
    header, relation, direct = _plain_csv(path, _DOWNTIME_COLUMNS, _DOWNTIME_OPTIONAL)
    fields = {
        "machine": Field(_col("machine"), label="machine"),
        "start_ts": Field(_col("start"), _ISO_TS, "start", _ISO_TS_TEXT),
        "end_ts": Field(_col("end"), _ISO_TS, "end", _ISO_TS_TEXT),
    }
    if "cause" in header:
        fields["cause"] = Field(_col("cause"), label="cause")
    plan = Plan(Table.DOWNTIME, relation, fields, raw=_raw_json(header), direct=direct)
    return Reading((plan,), None)


# --- plain plant snapshot ----------------------------------------------------------------------

_SNAPSHOT_COLUMNS = ("taken_at", "kind", "item")
_SNAPSHOT_OPTIONAL = ("quantity", "due_at", "product", "state")


def read_snapshot(
    con: duckdb.DuckDBPyConnection, path: Path, _: LocatedMapping | None
) -> Reading:
    """A plain plant snapshot: one item of the plant's state per row, ``taken_at``, ``kind``
    (stock, open_order, wip, inspection) and ``item``, and as the kind needs ``quantity``,
    ``due_at``, ``product`` and ``state``; timestamps in ISO 8601 local plant time.

    Other columns are not read (they are kept in ``quarantine.raw``). Another layout is
    ingested with ``--format csv`` or ``parquet`` and a mapping file (``table: snapshots``).
    """
    header, relation, direct = _plain_csv(path, _SNAPSHOT_COLUMNS, _SNAPSHOT_OPTIONAL)
    fields = {
        "taken_at": Field(_col("taken_at"), _ISO_TS, "taken_at", _ISO_TS_TEXT),
        "kind": Field(_col("kind"), label="kind"),
        "item": Field(_col("item"), label="item"),
    }
    if "quantity" in header:
        fields["quantity"] = Field(_col("quantity"), _INT, "quantity", _WHOLE)
    if "due_at" in header:
        fields["due_at"] = Field(_col("due_at"), _ISO_TS, "due_at", _ISO_TS_TEXT)
    for name in ("product", "state"):
        if name in header:
            fields[name] = Field(_col(name), label=name)
    plan = Plan(Table.SNAPSHOTS, relation, fields, raw=_raw_json(header), direct=direct)
    return Reading((plan,), None)


# --- plain measurement log ----------------------------------------------------------------------

#: The columns of a plain measurement log and the store column each fills.
_MEASUREMENT_COLUMNS = {
    "time": "ts", "entity": "entity_id", "characteristic": "characteristic", "value": "value",
    "station": "station", "supplier": "supplier", "lot": "lot",
}
_MEASUREMENT_REQUIRED = ("time", "entity", "characteristic", "value")
_MEASUREMENT_OPTIONAL = ("station", "supplier", "lot")


def read_measurement_log(
    con: duckdb.DuckDBPyConnection, path: Path, _: LocatedMapping | None
) -> Reading:
    """A plain measurement log, long format: one measured value per row, ``time``, ``entity``,
    ``characteristic`` and ``value``, and optionally ``station``, ``supplier`` and ``lot``.

    CSV with a header, or Parquet (told by its first bytes). Times are ISO 8601 text in local
    plant time, or in Parquet also a timestamp column. The file is read as the generic formats
    read one, with the mapping of these columns; other columns are not read (they are kept
    in ``quarantine.raw``). Another layout is ingested with ``--format csv`` or ``parquet``
    and a mapping file (``table: measurements``).
    """
    if _starts_as_parquet(path):
        types = _parquet_types(con, path)
        _require_columns(path, list(types), _MEASUREMENT_REQUIRED, _MEASUREMENT_OPTIONAL,
                         line=None)
        n = _load_parquet(con, path)
        return Reading((_generic_plan(_measurement_mapping(types), types),), n)
    header, relation, direct = _plain_csv(path, _MEASUREMENT_REQUIRED, _MEASUREMENT_OPTIONAL)
    plan = _generic_plan(
        _measurement_mapping(header), dict.fromkeys(header, "VARCHAR"), relation, direct
    )
    return Reading((plan,), None)


def _measurement_mapping(columns: Iterable[str]) -> SourceMapping:
    """The mapping of a plain measurement log's ``columns`` to the ``measurements`` table."""
    present = {c: _MEASUREMENT_COLUMNS[c] for c in columns if c in _MEASUREMENT_COLUMNS}
    return SourceMapping(table=Table.MEASUREMENTS, columns=present)


def _starts_as_parquet(path: Path) -> bool:
    """True when ``path`` begins with Parquet's magic bytes (a missing file: False)."""
    try:
        with path.open("rb") as f:
            return f.read(4) == b"PAR1"
    except OSError:
        return False


# --- generic CSV / Parquet with a mapping file -------------------------------------------------


def _generic_parse(col: Column, mapping: SourceMapping, source_type: str) -> tuple[str, str]:
    """Parse template and description of a valid value for one mapped schema column."""
    temporal = source_type.startswith(("TIMESTAMP", "DATE"))
    if col.name == "result":
        if mapping.result_values:
            cases = " ".join(
                f"WHEN {lit(k)} THEN {lit(v)}" for k, v in mapping.result_values.items()
            )
            return f"CASE {{t}} {cases} END", "one of " + ", ".join(mapping.result_values)
        return "CASE WHEN lower({t}) IN ('pass', 'fail') THEN lower({t}) END", "pass or fail"
    if col.sql_type == "TIMESTAMP":
        if mapping.timestamp_format and not temporal:
            fmt = mapping.timestamp_format
            return "try_strptime({t}, " + lit(fmt) + ")", f"a timestamp {fmt}"
        return "try_cast({t} AS TIMESTAMP)", "an ISO 8601 timestamp"
    if col.sql_type == "DATE":
        if mapping.date_format and not temporal:
            fmt = mapping.date_format
            return "try_strptime({t}, " + lit(fmt) + ")", f"a date {fmt}"
        return (
            "coalesce(try_cast({t} AS DATE), CAST(try_cast({t} AS TIMESTAMP) AS DATE))",
            "an ISO 8601 date",
        )
    if col.sql_type == "BIGINT":
        return _INT, _WHOLE
    if col.sql_type == "DOUBLE":
        return _NUMBER, "a number"
    if col.sql_type == "BOOLEAN":
        # CASE ... WHEN rather than IN: DuckDB turns a long IN list into a join.
        words = [(v, "true") for v in mapping.true_values]
        words += [(v, "false") for v in mapping.false_values]
        cases = " ".join(f"WHEN {lit(v.lower())} THEN {b}" for v, b in words)
        return (
            f"CASE lower({{t}}) {cases} END",
            "one of " + ", ".join((*mapping.true_values, *mapping.false_values)),
        )
    return "{t}", "text"


def _generic_plan(
    mapping: SourceMapping,
    source_types: Mapping[str, str],
    relation: str = "SELECT * FROM __rel",
    direct: DirectRead | None = None,
) -> Plan:
    spec = TABLES[mapping.table]
    fields: dict[str, Field] = {}
    for src, target in mapping.columns.items():
        parse, expected = _generic_parse(spec.column(target), mapping, source_types[src])
        fields[target] = Field(_col(src, mapping.null_values), parse, src, expected)
    helpers: dict[str, str] = {}
    checks: tuple[Check, ...] = ()
    if mapping.feature_columns:
        vector, helpers, checks = _vector(
            [(_col(c, mapping.null_values), c) for c in mapping.feature_columns]
        )
        fields["feature_vector"] = vector
    return Plan(
        mapping.table, relation, fields, helpers, checks, _raw_json(list(source_types)), direct
    )


def _unknown_columns(
    located: LocatedMapping, available: Sequence[str], path: Path
) -> ReplayError | None:
    """A refusal naming every source column of the mapping that the file lacks, if any."""
    mapping = located.mapping
    listing = ", ".join(available)
    problems = [
        located.problem(
            ("columns", c) if c in mapping.columns else ("feature_columns",),
            f"no column {c!r} in {path.name}{_did_you_mean(c, available)}; "
            f"its columns are: {listing}",
        )
        for c in mapping.source_columns()
        if c not in available
    ]
    return ReplayError(problems, file=located.file) if problems else None


def read_generic_csv(
    con: duckdb.DuckDBPyConnection, path: Path, located: LocatedMapping | None
) -> Reading:
    """Any CSV file with a header row, its columns assigned by a mapping file."""
    if located is None:
        raise ValueError("the csv format needs a mapping")
    mapping = located.mapping
    check_text_file(path)
    header = read_header(path, mapping.delimiter)
    refusal = _unknown_columns(located, header, path)
    if refusal is not None:
        raise refusal
    relation, direct = _direct_csv(path, header, delim=mapping.delimiter)
    plan = _generic_plan(mapping, dict.fromkeys(header, "VARCHAR"), relation, direct)
    return Reading((_typed_csv_plan(path, header, mapping, plan),), None,
                   tuple(mapping.feature_columns))


#: The DuckDB type a CSV column mapped to a schema column of this type is read as, in the
#: typed read; integers as DOUBLE, since DuckDB's integer parsing rounds ``1.5`` to 2.
_TYPED_READ = {
    "TIMESTAMP": "TIMESTAMP", "BIGINT": "DOUBLE", "DOUBLE": "DOUBLE", "BOOLEAN": "BOOLEAN",
}
#: The words DuckDB reads as a BOOLEAN, in any case: the mapping's defaults.
_DUCKDB_TRUE = frozenset({"y", "yes", "true", "t", "1"})
_DUCKDB_FALSE = frozenset({"n", "no", "false", "f", "0"})
#: The largest magnitude below which every whole DOUBLE is exactly one BIGINT (2**53).
_EXACT_WHOLE = 9007199254740992


def _duckdb_booleans(mapping: SourceMapping) -> bool:
    """True when DuckDB reads booleans with the words of ``mapping``, no more, no fewer."""
    return ({v.lower() for v in mapping.true_values} == _DUCKDB_TRUE
            and {v.lower() for v in mapping.false_values} == _DUCKDB_FALSE)


def _typed_csv_plan(
    path: Path, header: Sequence[str], mapping: SourceMapping, text: Plan
) -> Plan:
    """The plan of a generic CSV source read typed by DuckDB's CSV reader, ``text`` its fallback.

    Numbers, ISO 8601 timestamps and booleans (with the default words) are parsed by the
    reader, the rest read as text as in ``text``. The typed read must give every row the
    values the text read would: where it cannot tell (DuckDB rejected a record for a value, or
    a whole-number column holds a fraction, an infinity or a value beyond 2**53), ``load_plan``
    stages those rows with ``text`` instead. Timestamps with a ``timestamp_format`` and
    feature columns stay text. ``text`` is returned when nothing would be read typed.
    """
    spec = TABLES[mapping.table]
    types: dict[str, str] = {}
    fields = dict(text.fields)
    featured = set(mapping.feature_columns)
    for src, target in mapping.columns.items():
        sql_type = spec.column(target).sql_type
        if src in featured or sql_type not in _TYPED_READ:
            continue
        if sql_type == "TIMESTAMP" and mapping.timestamp_format:
            continue
        if sql_type == "BOOLEAN" and not _duckdb_booleans(mapping):
            continue
        types[src] = _TYPED_READ[sql_type]
        value = f"r.{ident(src)}"
        if sql_type == "BIGINT":
            parse = (f"CASE WHEN {{t}} = trunc({{t}}) AND abs({{t}}) < {_EXACT_WHOLE} "
                     "THEN CAST({t} AS BIGINT) END")
        else:
            parse = "{t}"
        old = text.fields[target]
        fields[target] = Field(value, parse, old.label, old.expected, old.lenient)
    # DuckDB takes a field as NULL when it equals a marker as written; the text read trims the
    # field first, so a marker that trimming changes would make the reads differ.
    padded = any(v != v.strip(" \t\r\n") for v in mapping.null_values)
    if not types or text.direct is None or padded:
        return text
    relation = _csv_relation(path, header, header=True, delim=mapping.delimiter, types=types,
                             null_values=mapping.null_values)

    def reread(lines: np.ndarray, scratch: Path) -> str | None:
        if not _copy_lines(path, lines.astype(np.int64), scratch):
            return None
        return _csv_relation(scratch, header, header=True, delim=mapping.delimiter,
                             types=types, null_values=mapping.null_values)

    direct = DirectRead(
        first_line=2,
        refusal=text.direct.refusal,
        check=lambda con: None,
        reread=reread,
        text_reread=lambda copy: _csv_relation(copy, header, header=True,
                                               delim=mapping.delimiter),
    )
    return Plan(text.table, relation, fields, text.helpers, text.checks, text.raw, direct,
                fallback=text)


def read_generic_parquet(
    con: duckdb.DuckDBPyConnection, path: Path, located: LocatedMapping | None
) -> Reading:
    """Any Parquet file, its columns assigned by a mapping file; typed columns are kept."""
    if located is None:
        raise ValueError("the parquet format needs a mapping")
    mapping = located.mapping
    types = _parquet_types(con, path)
    refusal = _unknown_columns(located, list(types), path)
    if refusal is not None:
        raise refusal
    n = _load_parquet(con, path)
    return Reading((_generic_plan(mapping, types),), n, tuple(mapping.feature_columns))


def _parquet_types(con: duckdb.DuckDBPyConnection, path: Path) -> dict[str, str]:
    """The columns of a Parquet file and their DuckDB types, in file order; refuses a file
    that is not Parquet or is too wide."""
    check_parquet_file(path)
    try:
        described = run(con, f"DESCRIBE SELECT * FROM read_parquet({file_lit(path)})")
    except duckdb.Error as e:
        raise _refuse(path, f"cannot read as Parquet: {first_line(e)}") from e
    types = {str(name): str(kind) for name, kind, *_ in described}
    _check_width(path, len(types), line=None)
    return types


def _load_parquet(con: duckdb.DuckDBPyConnection, path: Path) -> int:
    """Read a Parquet file into ``__src``, exposed with its 1-based row numbers as the lines
    of ``__rel``; returns the number of rows."""
    try:
        run(
            con,
            "CREATE OR REPLACE TEMP TABLE __src AS SELECT * "
            f"FROM read_parquet({file_lit(path)}, file_row_number = true)",
        )
    except duckdb.Error as e:
        raise _refuse(path, f"cannot read as Parquet: {first_line(e)}") from e
    run(
        con,
        "CREATE OR REPLACE TEMP VIEW __rel AS "
        f"SELECT file_row_number + 1 AS {LINE}, s.* FROM __src AS s",
    )
    (n,), = run(con, "SELECT count(*) FROM __src")
    return int(n)
