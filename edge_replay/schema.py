"""The DuckDB store schema: tables, views and the version check every reader and writer makes.

A store is one DuckDB file. Ingest fills the eight data tables (``work_orders``,
``operations``, ``inspections``, ``supplier_deliveries``, ``features``, ``downtime``,
``snapshots``, ``measurements``) from recorded plant data and keeps the book in
``ingests``, ``quarantine``, ``feature_sets`` and ``meta``; the twin reads the data tables
and the views. ``SCHEMA.md`` beside this module is the long-form description and is checked
against the column specifications below by the tests.

Conventions, the same in every data table:

- ``source`` is the absolute path of the file a row came from. It is the unit of replacement:
  ingesting the same file again deletes that file's rows (and its quarantine and ingest records)
  before loading it again, so a store never holds two copies of one file.
- ``source_line`` is the 1-based line of the row in that file, the header counted, so an editor
  shows the row at that line (files whose fields span lines excepted). For Parquet it is the
  1-based row number.
- Timestamps are ``TIMESTAMP`` without a time zone, in local plant time, because none of the
  recorded sources say which zone they use. Only ``ingests.ingested_at_utc`` is UTC.
- Quantities of pieces are ``BIGINT``; durations in the views are in hours (``_h``) or days
  (``_days``).

Bumping ``SCHEMA_VERSION`` is required for any change to a table; views may change freely.
A version that differs from the current one only by tables added since (``ADDED_SINCE``) is
still read as it is, and the next ingest into it adds those tables (in its temporary copy, so
the upgrade is as atomic as the ingest); any other version is refused with the reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Final

import duckdb

from shocktwin.edge_replay._sql import duckdb_path, first_line
from shocktwin.errors import Problem, ReplayError

__all__ = [
    "ADDED_SINCE",
    "LOADABLE_TABLES",
    "SCHEMA_VERSION",
    "TABLES",
    "VIEWS",
    "Column",
    "InspectionResult",
    "SnapshotKind",
    "SwitchingState",
    "Table",
    "TableCheck",
    "TableSpec",
    "View",
    "check_schema",
    "create_schema",
    "open_store",
    "prepare_store",
]

#: Version of the table layout below, stored in ``meta`` under ``schema_version``.
#: 1: the first layout; 2: the ``downtime`` and ``snapshots`` tables added; 3: the
#: ``measurements`` table added.
SCHEMA_VERSION: Final = 3


class Table(StrEnum):
    """Every table of a store."""

    META = "meta"
    INGESTS = "ingests"
    QUARANTINE = "quarantine"
    WORK_ORDERS = "work_orders"
    OPERATIONS = "operations"
    INSPECTIONS = "inspections"
    SUPPLIER_DELIVERIES = "supplier_deliveries"
    FEATURES = "features"
    FEATURE_SETS = "feature_sets"
    DOWNTIME = "downtime"
    SNAPSHOTS = "snapshots"
    MEASUREMENTS = "measurements"


#: For each older version a store can have, the tables added since; every other table of it
#: is as this version has it. Such a store is read as it is (a reader of an added table finds
#: none) and upgraded by the next ingest into it.
ADDED_SINCE: Final[Mapping[int, tuple[Table, ...]]] = MappingProxyType(
    {1: (Table.DOWNTIME, Table.SNAPSHOTS, Table.MEASUREMENTS), 2: (Table.MEASUREMENTS,)})


#: The tables an ingest (or a mapping file) can fill with rows from a source.
LOADABLE_TABLES: Final = (
    Table.WORK_ORDERS,
    Table.OPERATIONS,
    Table.INSPECTIONS,
    Table.SUPPLIER_DELIVERIES,
    Table.FEATURES,
    Table.DOWNTIME,
    Table.SNAPSHOTS,
    Table.MEASUREMENTS,
)


class View(StrEnum):
    """The views the twin reads; see ``VIEWS`` for their SQL."""

    PROCESSING_TIMES = "processing_times"
    RESOURCE_PROCESSING_STATS = "resource_processing_stats"
    SUPPLIER_LEAD_TIMES = "supplier_lead_times"
    SUPPLIER_LEAD_TIME_STATS = "supplier_lead_time_stats"
    INSPECTION_ARRIVALS = "inspection_arrivals"
    INSPECTION_STATS = "inspection_stats"
    MACHINE_OUTAGES = "machine_outages"
    MACHINE_DOWNTIME_STATS = "machine_downtime_stats"
    SNAPSHOT_TIMES = "snapshot_times"
    MEASUREMENT_STATS = "measurement_stats"


class SnapshotKind(StrEnum):
    """What one row of a plant snapshot holds, as stored in ``snapshots.kind``."""

    STOCK = "stock"
    OPEN_ORDER = "open_order"
    WIP = "wip"
    INSPECTION = "inspection"


class SwitchingState(StrEnum):
    """Where a material's incoming inspection stands in its switching rules, as stored in
    ``snapshots.state``."""

    NORMAL = "normal"
    TIGHTENED = "tightened"
    REDUCED = "reduced"


class InspectionResult(StrEnum):
    """Outcome of one inspection, as stored in ``inspections.result``."""

    PASS = "pass"
    FAIL = "fail"


#: A value of each column type that meets NOT NULL, ``>= 0`` and ``isfinite``.
_PLACEHOLDERS: Final[Mapping[str, str]] = MappingProxyType({
    "VARCHAR": "''", "BIGINT": "0", "DOUBLE": "0.0", "BOOLEAN": "false",
    "TIMESTAMP": "TIMESTAMP '1970-01-01'", "DATE": "DATE '1970-01-01'",
    "DOUBLE[]": "[]::DOUBLE[]", "VARCHAR[]": "[]::VARCHAR[]",
})


@dataclass(frozen=True)
class Column:
    """One column of a store table.

    ``required`` columns make a row unusable (quarantined) when missing; ``non_negative`` ones
    when below zero. ``default`` fills a column the source does not give.
    """

    name: str
    sql_type: str
    doc: str
    required: bool = False
    non_negative: bool = False
    default: str | None = None
    #: Extra SQL ``CHECK`` condition, enforced by the database as a last line of defence.
    check: str | None = None
    #: SQL for a value meeting the column's constraints, for a NOT NULL column whose type's
    #: plain value (``''``, 0, …) does not (see ``placeholder_sql``).
    placeholder: str | None = None

    def placeholder_sql(self) -> str:
        """SQL for a value this column accepts: NULL where it may be NULL.

        An ingest writing a source straight into its table writes it in the place of an
        unusable row's values, and removes that row again before the ingest ends.
        """
        if not self.required and self.default is None:
            return "NULL"
        if self.placeholder is not None:
            return self.placeholder
        return _PLACEHOLDERS[self.sql_type]

    def ddl(self) -> str:
        """The column's definition inside ``CREATE TABLE``."""
        parts = [f'"{self.name}"', self.sql_type]
        if self.default is not None:
            parts.append(f"DEFAULT {self.default}")
        if self.required or self.default is not None:
            parts.append("NOT NULL")
        if self.non_negative:
            parts.append(f'CHECK ("{self.name}" >= 0)')
        if self.check is not None:
            parts.append(f"CHECK ({self.check})")
        return " ".join(parts)


@dataclass(frozen=True)
class TableCheck:
    """A rule over several columns of one row; a row for which ``when`` is true is quarantined.

    ``when`` and ``message`` are SQL over the table's column names. ``column`` names the
    column the problem is reported against.
    """

    when: str
    column: str
    message: str


_SOURCE = Column(
    "source", "VARCHAR", "Absolute path of the file the row was ingested from.", required=True
)
_SOURCE_LINE = Column(
    "source_line",
    "BIGINT",
    "1-based line of the row in its source file, header counted (Parquet: row number).",
    required=True,
)


@dataclass(frozen=True)
class TableSpec:
    """What a table holds, its columns, its natural key and its row rules."""

    table: Table
    doc: str
    columns: tuple[Column, ...]
    #: Columns that identify a row within one source; a later row with the same values is a
    #: duplicate and is quarantined (the first one is kept). Empty: no duplicate check.
    key: tuple[str, ...] = ()
    #: SQL condition a row must meet to take part in the duplicate check (e.g. a key present).
    key_when: str = "true"
    #: How a duplicate is described in ``quarantine.reason``; ``{first}`` is the kept row's line.
    duplicate_message: str = ""
    primary_key: tuple[str, ...] = ()
    checks: tuple[TableCheck, ...] = ()
    #: SQL for the first and last timestamp a set of rows covers (``ingests.period_*``).
    period: tuple[str, str] | None = None

    def column(self, name: str) -> Column:
        """The column called ``name``; KeyError when there is none."""
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"{self.table} has no column {name!r}")

    @property
    def column_names(self) -> tuple[str, ...]:
        """Column names in table order."""
        return tuple(c.name for c in self.columns)

    @property
    def data_columns(self) -> tuple[Column, ...]:
        """The columns filled from a source (all but ``source`` and ``source_line``)."""
        return tuple(c for c in self.columns if c.name not in ("source", "source_line"))

    def ddl(self) -> str:
        """``CREATE TABLE IF NOT EXISTS`` for this table."""
        items = [c.ddl() for c in self.columns]
        if self.primary_key:
            items.append("PRIMARY KEY (" + ", ".join(f'"{k}"' for k in self.primary_key) + ")")
        body = ",\n    ".join(items)
        return f'CREATE TABLE IF NOT EXISTS "{self.table}" (\n    {body}\n)'


_RESULTS_SQL = ", ".join(f"'{r}'" for r in InspectionResult)
_KINDS_SQL = ", ".join(f"'{k}'" for k in SnapshotKind)
_STATES_SQL = ", ".join(f"'{s}'" for s in SwitchingState)
#: The kinds of snapshot row that count units, and those that have a due time.
_COUNTED_SQL = "'stock', 'open_order', 'wip'"
_DUE_SQL = "'open_order', 'wip'"

_SPECS: tuple[TableSpec, ...] = (
    TableSpec(
        Table.META,
        "Facts about the store itself; ``schema_version`` is checked on every open.",
        (
            Column("key", "VARCHAR", "Name of the fact, e.g. ``schema_version``.", required=True),
            Column("value", "VARCHAR", "Its value, as text.", required=True),
        ),
        primary_key=("key",),
    ),
    TableSpec(
        Table.INGESTS,
        "One row per (source file, table) of the last ingest of that file: what was read, "
        "loaded and quarantined, and the period the loaded rows cover.",
        (
            _SOURCE,
            Column("table_name", "VARCHAR", "Table the rows went to.", required=True),
            Column("format", "VARCHAR", "Source format, e.g. ``4tu-production``.", required=True),
            Column("sha256", "VARCHAR", "SHA-256 of the source file, hex.", required=True),
            Column("size_bytes", "BIGINT", "Size of the source file, bytes.", required=True),
            Column(
                "rows_read",
                "BIGINT",
                "Candidate rows for this table found in the source.",
                required=True,
            ),
            Column("rows_loaded", "BIGINT", "Rows written to the table.", required=True),
            Column(
                "rows_quarantined",
                "BIGINT",
                "Rows written to ``quarantine`` instead; read = loaded + quarantined.",
                required=True,
            ),
            Column("ingested_at_utc", "TIMESTAMP", "When the ingest ran, UTC.", required=True),
            Column(
                "period_start",
                "TIMESTAMP",
                "Earliest timestamp among the loaded rows (NULL when the table has none).",
            ),
            Column("period_end", "TIMESTAMP", "Latest timestamp among the loaded rows."),
            Column(
                "mapping",
                "VARCHAR",
                "The mapping file used, as JSON (generic formats only).",
            ),
        ),
        primary_key=("source", "table_name"),
    ),
    TableSpec(
        Table.QUARANTINE,
        "Source rows that could not be used, with the reason; nothing is dropped silently.",
        (
            _SOURCE,
            Column("table_name", "VARCHAR", "Table the row was meant for.", required=True),
            _SOURCE_LINE,
            Column(
                "raw",
                "VARCHAR",
                "The source row as a JSON object, field name → text as read.",
                required=True,
            ),
            Column(
                "reason",
                "VARCHAR",
                "Every problem found with the row, ``column: message`` joined by ``; ``.",
                required=True,
            ),
        ),
    ),
    TableSpec(
        Table.WORK_ORDERS,
        "Production orders released to the shop floor.",
        (
            _SOURCE,
            _SOURCE_LINE,
            Column("order_id", "VARCHAR", "Work order / case id, e.g. ``Case 1``.", required=True),
            Column("part", "VARCHAR", "Part or product made, e.g. ``Cable Head``."),
            Column("quantity", "BIGINT", "Ordered quantity, pieces.", non_negative=True),
            Column(
                "release_ts",
                "TIMESTAMP",
                "Release to the shop floor; for 4TU the start of the order's first operation.",
            ),
            Column("due_ts", "TIMESTAMP", "Due date and time, where the source has one."),
        ),
        key=("order_id",),
        duplicate_message="duplicate order_id (first at line {first})",
        primary_key=("source", "order_id"),
        period=("min(release_ts)", "max(coalesce(due_ts, release_ts))"),
    ),
    TableSpec(
        Table.OPERATIONS,
        "Operation reports from the shop floor: one row per report of work on a work order "
        "at a resource (machine or QC station).",
        (
            _SOURCE,
            _SOURCE_LINE,
            Column("case_id", "VARCHAR", "Work order the work was for.", required=True),
            Column(
                "activity",
                "VARCHAR",
                "Operation, e.g. ``Turning & Milling - Machine 4``.",
                required=True,
            ),
            Column("resource", "VARCHAR", "Machine or station that did the work."),
            Column("start_ts", "TIMESTAMP", "Start of the work.", required=True),
            Column(
                "end_ts", "TIMESTAMP", "End of the work; never before ``start_ts``.", required=True
            ),
            Column(
                "qty_completed", "BIGINT", "Pieces reported completed.", non_negative=True
            ),
            Column(
                "qty_rejected", "BIGINT", "Pieces scrapped / rejected.", non_negative=True
            ),
            Column(
                "qty_review",
                "BIGINT",
                "Pieces sent to review (Material Review Board) for quality disposition.",
                non_negative=True,
            ),
            Column(
                "rework",
                "BOOLEAN",
                "True when the report is for rework.",
                default="false",
            ),
            Column("operator", "VARCHAR", "Worker who reported it, e.g. ``ID4932``."),
            Column(
                "report_type",
                "VARCHAR",
                "Source system's report code (4TU: ``D``, ``S``, ``B``).",
            ),
        ),
        # No natural id: a report identical in every field to an earlier one is a double
        # posting (it would occupy the same machine twice at the same time).
        key=(
            "case_id", "activity", "resource", "start_ts", "end_ts", "qty_completed",
            "qty_rejected", "qty_review", "rework", "operator", "report_type",
        ),
        duplicate_message="same as the report at line {first} in every field (double posting)",
        checks=(
            TableCheck(
                "end_ts < start_ts",
                "end_ts",
                "'end ' || CAST(end_ts AS VARCHAR) || ' is before start '"
                " || CAST(start_ts AS VARCHAR)",
            ),
        ),
        period=("min(start_ts)", "max(end_ts)"),
    ),
    TableSpec(
        Table.INSPECTIONS,
        "Inspection results per produced entity (wafer, lot, part), optionally with one "
        "measured characteristic per row.",
        (
            _SOURCE,
            _SOURCE_LINE,
            Column(
                "entity_id",
                "VARCHAR",
                "Inspected entity; for SECOM its 1-based row (= line) in the file.",
                required=True,
            ),
            Column("ts", "TIMESTAMP", "When it was inspected.", required=True),
            Column("station", "VARCHAR", "Inspection station, where the source says."),
            Column(
                "result",
                "VARCHAR",
                "``pass`` or ``fail`` (SECOM: -1 → pass, 1 → fail).",
                required=True,
                check=f"result IN ({_RESULTS_SQL})",
                placeholder=f"'{InspectionResult.PASS}'",
            ),
            Column("characteristic", "VARCHAR", "What was measured, if anything."),
            Column("measured_value", "DOUBLE", "The measured value, in the source's unit."),
        ),
        key=("entity_id", "characteristic"),
        duplicate_message="duplicate entity_id/characteristic (first at line {first})",
        checks=(
            TableCheck(
                f"result NOT IN ({_RESULTS_SQL})",
                "result",
                "'must be pass or fail, not ' || result",
            ),
        ),
        period=("min(ts)", "max(ts)"),
    ),
    TableSpec(
        Table.SUPPLIER_DELIVERIES,
        "Purchase-order lines delivered by suppliers: ordered, promised and actual dates.",
        (
            _SOURCE,
            _SOURCE_LINE,
            Column("delivery_id", "VARCHAR", "Line-item id (SCMS ``ID``)."),
            Column("order_ref", "VARCHAR", "Purchase / sales order number (SCMS ``PO / SO #``)."),
            Column("supplier", "VARCHAR", "Supplier (SCMS ``Vendor``).", required=True),
            Column("product", "VARCHAR", "Item delivered (SCMS ``Item Description``)."),
            Column("product_group", "VARCHAR", "Product group (SCMS ``ARV``, ``HRDT`` …)."),
            Column("country", "VARCHAR", "Destination country."),
            Column("mode", "VARCHAR", "Shipment mode (Air, Truck, Ocean …); NULL when unknown."),
            Column("incoterm", "VARCHAR", "Incoterm of the supplier (EXW, DDP, FCA …)."),
            Column(
                "fulfill_via",
                "VARCHAR",
                "SCMS ``Direct Drop`` (from the supplier) or ``From RDC`` (from stock).",
            ),
            Column(
                "order_date",
                "DATE",
                "Order sent to the supplier; NULL when there was none (SCMS ``From RDC``) or "
                "it was not captured.",
            ),
            Column("promised_date", "DATE", "Promised / scheduled delivery date."),
            Column("actual_date", "DATE", "Actual delivery date.", required=True),
            Column(
                "quantity",
                "DOUBLE",
                "Quantity delivered, in the source's unit (SCMS: packs).",
                non_negative=True,
            ),
            Column("value_usd", "DOUBLE", "Line value, USD."),
            Column(
                "freight_usd",
                "DOUBLE",
                "Freight cost, USD; NULL where SCMS gives a note instead of a number.",
            ),
            Column(
                "weight_kg",
                "DOUBLE",
                "Shipment weight, kg; NULL where SCMS gives a note instead of a number.",
            ),
        ),
        key=("delivery_id",),
        key_when="delivery_id IS NOT NULL",
        duplicate_message="duplicate delivery_id (first at line {first})",
        checks=(
            TableCheck(
                "actual_date < order_date",
                "actual_date",
                "'delivered ' || CAST(actual_date AS VARCHAR)"
                " || ' before the order was sent ' || CAST(order_date AS VARCHAR)",
            ),
            TableCheck(
                "promised_date < order_date",
                "promised_date",
                "'promised ' || CAST(promised_date AS VARCHAR)"
                " || ' before the order was sent ' || CAST(order_date AS VARCHAR)",
            ),
        ),
        period=(
            "min(least(order_date, promised_date, actual_date))::TIMESTAMP",
            "max(greatest(order_date, promised_date, actual_date))::TIMESTAMP",
        ),
    ),
    TableSpec(
        Table.FEATURES,
        "One numeric feature vector per entity, with its class label, for classifiers and "
        "defect-mix sampling. The names of the vector's elements are in ``feature_sets``.",
        (
            _SOURCE,
            _SOURCE_LINE,
            Column(
                "entity_id",
                "VARCHAR",
                "Entity; for Steel Plates its 1-based row (= line) in the file.",
                required=True,
            ),
            Column("label", "VARCHAR", "Class label, e.g. the fault class ``Bumps``."),
            Column(
                "feature_vector",
                "DOUBLE[]",
                "Feature values, in the order of ``feature_sets.feature_names``.",
                required=True,
            ),
        ),
        key=("entity_id",),
        duplicate_message="duplicate entity_id (first at line {first})",
        primary_key=("source", "entity_id"),
    ),
    TableSpec(
        Table.FEATURE_SETS,
        "The names of the feature vector elements, stored once per source.",
        (
            _SOURCE,
            Column(
                "feature_names",
                "VARCHAR[]",
                "Name of each element of ``features.feature_vector``, in order.",
                required=True,
            ),
            Column(
                "label_names",
                "VARCHAR[]",
                "The possible labels (Steel Plates: the 7 fault classes in file order).",
            ),
        ),
        primary_key=("source",),
    ),
    TableSpec(
        Table.DOWNTIME,
        "Recorded outages of machines (a downtime or alarm log): which machine was down, "
        "from when to when, and why. Rows of one machine may overlap; the "
        "``machine_outages`` view merges them.",
        (
            _SOURCE,
            _SOURCE_LINE,
            Column(
                "machine",
                "VARCHAR",
                "Machine or station that was down, as the source names it.",
                required=True,
            ),
            Column("start_ts", "TIMESTAMP", "When the outage began.", required=True),
            Column(
                "end_ts",
                "TIMESTAMP",
                "When the machine was back; never before ``start_ts``.",
                required=True,
            ),
            Column("cause", "VARCHAR", "Cause or alarm text, where the source gives one."),
        ),
        # A row identical in every field to an earlier one is a double posting; rows that
        # only overlap are kept (a second alarm while the first is active is common).
        key=("machine", "start_ts", "end_ts", "cause"),
        duplicate_message="same as the outage at line {first} in every field (double posting)",
        checks=(
            TableCheck(
                "end_ts < start_ts",
                "end_ts",
                "'end ' || CAST(end_ts AS VARCHAR) || ' is before start '"
                " || CAST(start_ts AS VARCHAR)",
            ),
        ),
        period=("min(start_ts)", "max(end_ts)"),
    ),
    TableSpec(
        Table.SNAPSHOTS,
        "The state of a plant at a moment, one row per item: stock per buffer, open purchase "
        "orders, work in progress per station and the switching state of each material's "
        "incoming inspection. The rows of one ``taken_at`` are one snapshot; a run can start "
        "from it (a warm start).",
        (
            _SOURCE,
            _SOURCE_LINE,
            Column(
                "taken_at",
                "TIMESTAMP",
                "When the state was taken; hour 0 of a run that starts from it.",
                required=True,
            ),
            Column(
                "kind",
                "VARCHAR",
                "``stock``, ``open_order``, ``wip`` or ``inspection``.",
                required=True,
                check=f"kind IN ({_KINDS_SQL})",
                placeholder=f"'{SnapshotKind.STOCK}'",
            ),
            Column(
                "item",
                "VARCHAR",
                "stock: the buffer id, or ``supplier/material`` for a supplier's input stock; "
                "open_order: the supplier id; wip: the station id; inspection: the material.",
                required=True,
            ),
            Column(
                "quantity",
                "BIGINT",
                "Units on hand (stock), on order (open_order) or at the station (wip); "
                "needed for these kinds, at least 1 for an open order or wip.",
                non_negative=True,
            ),
            Column(
                "due_at",
                "TIMESTAMP",
                "open_order: when it arrives (its confirmed due date), not before "
                "``taken_at``; wip: when its order is due. Needed for these kinds.",
            ),
            Column(
                "product",
                "VARCHAR",
                "wip: the product the units are (needed when the plant makes several).",
            ),
            Column(
                "state",
                "VARCHAR",
                "inspection: ``normal``, ``tightened`` or ``reduced``.",
                check=f"state IN ({_STATES_SQL})",
            ),
        ),
        # A stock or inspection row gives the one value an item has at that moment, so a
        # second one is a double posting or a conflict; open orders and units in work may
        # repeat (two orders alike are two orders).
        key=("taken_at", "kind", "item"),
        key_when="kind IN ('stock', 'inspection')",
        duplicate_message="a second value for this item at this time (first at line {first})",
        checks=(
            TableCheck(
                f"kind NOT IN ({_KINDS_SQL})",
                "kind",
                "'must be stock, open_order, wip or inspection, not ' || kind",
            ),
            TableCheck(
                f"quantity IS NULL AND kind IN ({_COUNTED_SQL})",
                "quantity",
                "'missing value for kind ' || kind",
            ),
            TableCheck(
                f"quantity = 0 AND kind IN ({_DUE_SQL})",
                "quantity",
                "'must be at least 1 for kind ' || kind",
            ),
            TableCheck(
                f"due_at IS NULL AND kind IN ({_DUE_SQL})",
                "due_at",
                "'missing value for kind ' || kind",
            ),
            TableCheck(
                "kind = 'open_order' AND due_at < taken_at",
                "due_at",
                "'the order arrives ' || CAST(due_at AS VARCHAR) || ', before the snapshot "
                "was taken ' || CAST(taken_at AS VARCHAR)",
            ),
            TableCheck(
                "state IS NULL AND kind = 'inspection'",
                "state",
                "'missing value for kind inspection'",
            ),
            TableCheck(
                f"state NOT IN ({_STATES_SQL})",
                "state",
                "'must be normal, tightened or reduced, not ' || state",
            ),
        ),
        period=("min(taken_at)", "max(taken_at)"),
    ),
    TableSpec(
        Table.MEASUREMENTS,
        "Recorded values of measured characteristics (edge or SPC data), long format: one "
        "measured value of one characteristic of one entity per row. A characteristic of "
        "the twin can replay them.",
        (
            _SOURCE,
            _SOURCE_LINE,
            Column("ts", "TIMESTAMP", "When the value was measured.", required=True),
            Column(
                "entity_id",
                "VARCHAR",
                "What was measured: the unit, lot or plate id as the source names it.",
                required=True,
            ),
            Column(
                "characteristic",
                "VARCHAR",
                "The measured characteristic, e.g. ``film_thickness``.",
                required=True,
            ),
            Column(
                "value",
                "DOUBLE",
                "The measured value, in the characteristic's unit; finite.",
                required=True,
                check="isfinite(value)",
            ),
            Column("station", "VARCHAR", "Station or gauge that measured it, where given."),
            Column("supplier", "VARCHAR", "Supplier of the measured material, where given."),
            Column("lot", "VARCHAR", "Lot or batch the entity belongs to, where given."),
        ),
        # One entity has one value of a characteristic at one time; a second one is a double
        # posting or a conflict, and replaying both would count the measurement twice.
        key=("entity_id", "characteristic", "ts"),
        duplicate_message="a second value of this characteristic for this entity at this time "
        "(first at line {first})",
        checks=(
            TableCheck(
                "NOT isfinite(value)",
                "value",
                "'not a finite number: ' || CAST(value AS VARCHAR)",
            ),
        ),
        period=("min(ts)", "max(ts)"),
    ),
)

#: Every table's specification, by table.
TABLES: Final[Mapping[Table, TableSpec]] = MappingProxyType({s.table: s for s in _SPECS})

#: SQL of each view. Durations are in hours (``_h``) or days (``_days``).
VIEWS: Final[Mapping[View, str]] = MappingProxyType(
    {
        View.PROCESSING_TIMES: """
SELECT source, case_id, activity, resource, operator, report_type, rework,
       start_ts, end_ts,
       epoch(end_ts - start_ts) / 3600.0 AS duration_h,
       qty_completed, qty_rejected, qty_review
FROM operations""",
        View.RESOURCE_PROCESSING_STATS: """
SELECT source, resource,
       count(*) AS n_operations,
       sum(duration_h) AS busy_h,
       avg(duration_h) AS mean_h,
       median(duration_h) AS median_h,
       quantile_cont(duration_h, 0.9) AS p90_h,
       sum(qty_completed) AS qty_completed,
       sum(qty_rejected) AS qty_rejected,
       sum(qty_review) AS qty_review,
       sum(qty_rejected) / nullif(sum(qty_completed) + sum(qty_rejected) + sum(qty_review), 0)
           AS reject_rate
FROM processing_times
GROUP BY source, resource""",
        View.SUPPLIER_LEAD_TIMES: """
SELECT source, delivery_id, supplier, product, product_group, country, mode,
       order_date, promised_date, actual_date, quantity,
       date_diff('day', order_date, actual_date) AS lead_time_days,
       date_diff('day', order_date, promised_date) AS promised_lead_time_days,
       date_diff('day', promised_date, actual_date) AS lateness_days,
       actual_date <= promised_date AS on_time
FROM supplier_deliveries""",
        View.SUPPLIER_LEAD_TIME_STATS: """
SELECT source, supplier,
       count(*) AS n_deliveries,
       count(lead_time_days) AS n_with_order_date,
       avg(lead_time_days) AS mean_lead_time_days,
       median(lead_time_days) AS median_lead_time_days,
       quantile_cont(lead_time_days, 0.9) AS p90_lead_time_days,
       avg(lateness_days) AS mean_lateness_days,
       avg(CASE WHEN on_time THEN 1.0 ELSE 0.0 END)
           FILTER (WHERE on_time IS NOT NULL) AS on_time_rate
FROM supplier_lead_times
GROUP BY source, supplier""",
        View.INSPECTION_ARRIVALS: """
SELECT source, station, entity_id, ts, result,
       epoch(ts - lag(ts) OVER w) / 3600.0 AS interarrival_h
FROM inspections
WINDOW w AS (PARTITION BY source, station ORDER BY ts, source_line)""",
        View.INSPECTION_STATS: """
SELECT source, station,
       count(*) AS n_inspected,
       count(*) FILTER (WHERE result = 'fail') AS n_failed,
       avg(CASE WHEN result = 'fail' THEN 1.0 ELSE 0.0 END) AS fail_rate,
       min(ts) AS first_ts,
       max(ts) AS last_ts
FROM inspections
GROUP BY source, station""",
        # Rows of one machine that overlap or touch are one outage, over their union; rows
        # that take no time are no outage.
        View.MACHINE_OUTAGES: """
SELECT source, machine,
       min(start_ts) AS start_ts,
       max(end_ts) AS end_ts,
       epoch(max(end_ts) - min(start_ts)) / 3600.0 AS duration_h,
       count(*) AS n_rows,
       min(source_line) AS first_line,
       coalesce(list(DISTINCT cause ORDER BY cause) FILTER (WHERE cause IS NOT NULL),
                []::VARCHAR[]) AS causes
FROM (
    SELECT *, sum(CASE WHEN start_ts <= reach THEN 0 ELSE 1 END)
                  OVER (PARTITION BY source, machine ORDER BY start_ts, end_ts, source_line
                        ROWS UNBOUNDED PRECEDING) AS outage
    FROM (
        SELECT source, source_line, machine, start_ts, end_ts, cause,
               max(end_ts) OVER (PARTITION BY source, machine
                                 ORDER BY start_ts, end_ts, source_line
                                 ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS reach
        FROM downtime
        WHERE end_ts > start_ts
    )
)
GROUP BY source, machine, outage""",
        View.MACHINE_DOWNTIME_STATS: """
SELECT source, machine,
       count(*) AS n_outages,
       sum(duration_h) AS down_h,
       avg(duration_h) AS mean_duration_h,
       (epoch(max(end_ts) - min(start_ts)) / 3600.0 - sum(duration_h))
           / nullif(count(*) - 1, 0) AS mean_up_h,
       min(start_ts) AS first_start,
       max(end_ts) AS last_end
FROM machine_outages
GROUP BY source, machine""",
        View.SNAPSHOT_TIMES: """
SELECT source, taken_at,
       count(*) AS n_rows,
       count(*) FILTER (WHERE kind = 'stock') AS n_stock,
       count(*) FILTER (WHERE kind = 'open_order') AS n_open_orders,
       count(*) FILTER (WHERE kind = 'wip') AS n_wip,
       count(*) FILTER (WHERE kind = 'inspection') AS n_inspection,
       min(source_line) AS first_line
FROM snapshots
GROUP BY source, taken_at""",
        View.MEASUREMENT_STATS: """
SELECT source, characteristic,
       count(*) AS n_values,
       count(DISTINCT entity_id) AS n_entities,
       avg(value) AS mean,
       stddev_samp(value) AS sd,
       min(value) AS min,
       max(value) AS max,
       min(ts) AS first_ts,
       max(ts) AS last_ts
FROM measurements
GROUP BY source, characteristic""",
    }
)


def create_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create every table and view of a new store and record ``SCHEMA_VERSION`` in ``meta``."""
    for spec in _SPECS:
        con.execute(spec.ddl()).fetchall()
    con.execute(
        "INSERT OR REPLACE INTO meta VALUES ('schema_version', ?), ('created_by', ?)",
        [str(SCHEMA_VERSION), "shocktwin edge_replay"],
    ).fetchall()
    _create_views(con)


def _create_views(con: duckdb.DuckDBPyConnection) -> None:
    for view, sql in VIEWS.items():
        con.execute(f'CREATE OR REPLACE VIEW "{view}" AS {sql}').fetchall()


def check_schema(con: duckdb.DuckDBPyConnection, *, file: str | None = None) -> int:
    """The schema version of the store ``con``: ``SCHEMA_VERSION`` or an older one it can
    read as it is (``ADDED_SINCE``). Raise ReplayError for anything else."""
    has_meta = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'meta' AND NOT temporary"
    ).fetchall()
    if has_meta[0][0] == 0:
        raise ReplayError(
            [Problem(file, "meta", "not a shocktwin store: it has no meta table")], file=file
        )
    # fetchall, not fetchone: an unfinished result would block the caller's next query.
    rows = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall()
    found = rows[0][0] if rows else None
    readable = {str(v): v for v in (SCHEMA_VERSION, *ADDED_SINCE)}
    if found not in readable:
        older = ", ".join(str(v) for v in sorted(ADDED_SINCE))
        raise ReplayError(
            [
                Problem(
                    file,
                    "meta.schema_version",
                    f"store has schema version {found}, this shocktwin reads version "
                    f"{SCHEMA_VERSION} (and upgrades {older}); ingest the sources again "
                    "into a new store",
                )
            ],
            file=file,
        )
    return readable[found]


def prepare_store(con: duckdb.DuckDBPyConnection, *, file: str | None = None) -> bool:
    """Make ``con`` ready for writing: create the schema in an empty database, else check it
    and upgrade an older readable version by adding the tables it lacks.

    Returns True when the schema was created. The views are (re)created either way, so a
    store picks up corrected view SQL without a version bump.
    """
    n_tables = con.execute("SELECT count(*) FROM duckdb_tables() WHERE NOT temporary").fetchall()
    if n_tables[0][0] == 0:
        create_schema(con)
        return True
    version = check_schema(con, file=file)
    if version != SCHEMA_VERSION:
        for table in ADDED_SINCE[version]:
            con.execute(TABLES[table].ddl()).fetchall()
        con.execute(
            "INSERT OR REPLACE INTO meta VALUES ('schema_version', ?), ('upgraded_from', ?)",
            [str(SCHEMA_VERSION), str(version)],
        ).fetchall()
    _create_views(con)
    return False


def open_store(path: str | Path, *, read_only: bool = True) -> duckdb.DuckDBPyConnection:
    """Open an existing store and check its schema version; the caller closes the connection.

    Raises ReplayError when the file is missing, is not a DuckDB database or has a schema
    version this shocktwin cannot read (``check_schema``).
    """
    p = Path(path)
    file = str(p)
    if not p.is_file():
        raise ReplayError([Problem(file, "", "store file does not exist")], file=file)
    try:
        con = duckdb.connect(duckdb_path(file), read_only=read_only)
    except duckdb.Error as e:
        raise ReplayError(
            [Problem(file, "", f"cannot open as a DuckDB store: {first_line(e)}")], file=file
        ) from e
    try:
        check_schema(con, file=file)
    except BaseException:
        con.close()
        raise
    return con
