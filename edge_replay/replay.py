"""Replay feed: the recorded operations of a store as a stream of tasks for the twin.

An MES log is a job shop: a case (work order) is released, and its operation reports follow
one another on machines and QC stations, sometimes overlapping (parallel reports on one
order), with gaps in between. The twin needs each report as a **task** with

- its resource and its recorded work time (``work_h`` = end − start);
- how it was enabled: ``after`` the case's earlier reports had all ended (its ``front``), or
  ``with`` an earlier report still running (it overlapped it in the record), at an offset
  from the previous report's start;
- its **extraneous delay** ``wait_h``: for an ``after`` task, the recorded gap between the
  front and its start *minus* the time within that gap during which its resource was
  saturated (busy at its full observed parallel capacity). What remains is waiting the
  resource does not explain: shifts and weekends, transport, material, paperwork, work
  not in the log. In the twin a task waits ``wait_h``, then queues for its resource, so
  contention is the twin's own and everything else is replayed from the record;
- for a ``with`` task, ``wait_h`` is the recorded offset from the previous report's start.

All of this is computed by DuckDB in one query (window functions over each case, a sweep
over each resource's busy intervals, a range join for the saturated time), and reaches the
twin as Arrow record batches ordered by case release — no SQL per event, and a 10 M-row log
streams through bounded memory.

Times are hours from the log's first start (``t0``).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from shocktwin.edge_replay._sql import first_line, lit
from shocktwin.edge_replay.schema import open_store
from shocktwin.errors import Problem, ReplayError

__all__ = ["TASK_COLUMNS", "FeatureRows", "ResourceStats", "ShopLog", "open_shop_log",
           "read_features", "store_provenance", "supplier_lead_times_days"]

#: Columns of each task batch, in order.
TASK_COLUMNS = ("case_id", "release_h", "seq", "resource", "work_h", "after", "wait_h",
                "qty_completed", "qty_rejected", "qty_review", "start_h", "end_h")

BATCH_ROWS = 65_536
#: DuckDB's memory for the replay query; larger logs spill to the temporary directory.
REPLAY_MEMORY_LIMIT = "384MB"


@dataclass(frozen=True)
class ResourceStats:
    """What the log says about one resource."""

    name: str
    capacity: int  # most reports it ever ran at once
    operations: int
    busy_h: float
    qty_completed: int
    qty_rejected: int
    qty_review: int


@dataclass(frozen=True)
class ShopLog:
    """The operations of one ingested source, ready to replay (holds no rows itself)."""

    store: Path
    source: str
    t0: datetime
    span_h: float
    cases: int
    operations: int
    resources: tuple[ResourceStats, ...]

    def task_batches(self, batch_rows: int = BATCH_ROWS) -> Iterator[pa.RecordBatch]:
        """Every task, ordered by case release then case then sequence, in record batches."""
        con = _connect(self.store)
        try:
            # Closed here, not when the frame goes: a generator or an exception the caller
            # keeps would hold the result, and with it DuckDB's memory and spill files.
            with con.sql(_tasks_sql(self.source)).to_arrow_reader(batch_rows) as reader:
                yield from reader
        except duckdb.Error as e:
            raise ReplayError(f"cannot read the operations: {first_line(e)}",
                              file=str(self.store)) from e
        finally:
            con.close()

    def task_table(self) -> pa.Table:
        """All tasks at once, for resampling (bootstrap and fit modes)."""
        return pa.Table.from_batches(list(self.task_batches()), schema=_TASK_SCHEMA)

    def case_lead_times(self) -> dict[str, tuple[float, float]]:
        """Recorded (release_h, end_h) of every case: first start and last end."""
        con = _connect(self.store)
        try:
            rows = con.sql(
                f"SELECT case_id, {_hours('min(start_ts)', self.t0)}, "
                f"{_hours('max(end_ts)', self.t0)} FROM operations "
                f"WHERE source = {lit(self.source)} GROUP BY case_id").fetchall()
        finally:
            con.close()
        return {str(c): (float(a), float(b)) for c, a, b in rows}

    def case_orders(self) -> dict[str, tuple[str | None, int | None]]:
        """(part type, ordered quantity) of every case the source's work orders record;
        cases without a work order (a log of operations only) are absent."""
        con = _connect(self.store)
        try:
            rows = con.execute("SELECT order_id, part, quantity FROM work_orders "
                               "WHERE source = ?", [self.source]).fetchall()
        except duckdb.Error as e:
            raise ReplayError(f"cannot read the work orders: {first_line(e)}",
                              file=str(self.store)) from e
        finally:
            con.close()
        return {str(c): (None if p is None else str(p), None if q is None else int(q))
                for c, p, q in rows}


def _connect(store: Path) -> duckdb.DuckDBPyConnection:
    """The store opened for the replay's queries: DuckDB's memory is bounded, and the
    window functions and sorts spill to the temporary directory beyond it."""
    file = str(store)
    con = open_store(store)
    try:
        con.execute(f"SET memory_limit = '{REPLAY_MEMORY_LIMIT}'")
        # Connections to one store in a process share its database, whose temporary
        # directory cannot be set again once something has spilled there.
        tmp = tempfile.gettempdir()
        (current,), = con.execute("SELECT current_setting('temp_directory')").fetchall()
        if current != tmp:
            con.execute("SET temp_directory = ?", [tmp])
    except duckdb.Error as e:
        con.close()
        raise ReplayError(f"cannot read the operations: {first_line(e)}", file=file) from e
    return con


def open_shop_log(store: str | Path, source: str | None = None) -> ShopLog:
    """Describe the operations of ``source`` in ``store`` (the only source when omitted).

    ``source`` may be the full path recorded at ingest or any unique suffix of it, such as
    the file name. Raises ReplayError when the store holds no operations, or when the
    source is unknown or ambiguous.
    """
    path = Path(store).resolve()
    file = str(path)
    # The capacity sweep sorts every start and end of the log: it needs the same bound.
    con = _connect(path)
    try:
        sources = [r[0] for r in con.sql(
            "SELECT DISTINCT source FROM operations ORDER BY source").fetchall()]
        chosen = _choose_source(sources, source, file)
        where = f"source = {lit(chosen)}"
        t0, t1, n_ops, n_cases = con.sql(
            f"SELECT min(start_ts), max(end_ts), count(*), count(DISTINCT case_id) "
            f"FROM operations WHERE {where}").fetchall()[0]
        rows = con.sql(_resources_sql(chosen)).fetchall()
    except duckdb.Error as e:
        raise ReplayError(f"cannot read the operations: {first_line(e)}", file=file) from e
    finally:
        con.close()
    resources = tuple(ResourceStats(str(r[0]), int(r[1]), int(r[2]), float(r[3]), int(r[4]),
                                    int(r[5]), int(r[6])) for r in rows)
    span_h = (t1 - t0).total_seconds() / 3600.0
    return ShopLog(path, chosen, t0, span_h, int(n_cases), int(n_ops), resources)


def _choose_source(sources: list[str], wanted: str | None, file: str) -> str:
    if not sources:
        raise ReplayError([Problem(file, "operations", "the store holds no operations; "
                                   "ingest an MES log first (shocktwin ingest)")], file=file)
    if wanted is None:
        if len(sources) > 1:
            raise ReplayError([Problem(file, "operations", "the store holds operations from "
                                       f"{len(sources)} sources; name one: "
                                       + ", ".join(sources))], file=file)
        return sources[0]
    matches = [s for s in sources if s == wanted or s.endswith("/" + wanted.lstrip("/"))]
    if len(matches) != 1:
        what = "no" if not matches else "more than one"
        raise ReplayError([Problem(file, "operations", f"{what} ingested source matches "
                                   f"{wanted!r}; sources: " + ", ".join(sources))], file=file)
    return matches[0]


def _hours(expr: str, t0: datetime) -> str:
    return f"epoch({expr} - TIMESTAMP {lit(t0.isoformat(sep=' '))}) / 3600.0"


# Reports of one resource sorted by time; +1 at a start, −1 at an end, ends first at a tie so
# that a hand-over is not counted as two reports at once.
_SWEEP = """
    ops AS (
        SELECT case_id, coalesce(resource, activity) AS resource, start_ts, end_ts,
               source_line, qty_completed, qty_rejected, qty_review
        FROM operations WHERE source = {source}
    ),
    ev AS (
        SELECT resource, t, d,
               sum(d) OVER (PARTITION BY resource ORDER BY t, d
                            ROWS UNBOUNDED PRECEDING) AS running,
               lead(t) OVER (PARTITION BY resource ORDER BY t, d) AS t_next
        FROM (SELECT resource, start_ts AS t, 1 AS d FROM ops
              UNION ALL SELECT resource, end_ts AS t, -1 AS d FROM ops)
    ),
    cap AS (SELECT resource, max(running)::BIGINT AS capacity FROM ev GROUP BY resource)
"""


def _resources_sql(source: str) -> str:
    return f"""
    WITH {_SWEEP.format(source=lit(source))}
    SELECT o.resource, cap.capacity, count(*),
           sum(epoch(o.end_ts - o.start_ts)) / 3600.0,
           coalesce(sum(o.qty_completed), 0), coalesce(sum(o.qty_rejected), 0),
           coalesce(sum(o.qty_review), 0)
    FROM ops o JOIN cap USING (resource)
    GROUP BY o.resource, cap.capacity
    ORDER BY o.resource
    """


def _tasks_sql(source: str) -> str:
    return f"""
    WITH {_SWEEP.format(source=lit(source))},
    t0 AS (SELECT min(start_ts) AS t0 FROM ops),
    sat AS (
        SELECT ev.resource, ev.t AS a, ev.t_next AS b
        FROM ev JOIN cap USING (resource)
        WHERE ev.running >= cap.capacity AND ev.t_next > ev.t
    ),
    seq AS (
        SELECT *,
               row_number() OVER w AS seq,
               max(end_ts) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS front,
               lag(start_ts) OVER w AS prev_start,
               min(start_ts) OVER (PARTITION BY case_id) AS release_ts
        FROM ops
        WINDOW w AS (PARTITION BY case_id ORDER BY start_ts, end_ts, source_line)
    ),
    busy_in_gap AS (
        SELECT s.case_id, s.seq,
               sum(epoch(least(sat.b, s.start_ts) - greatest(sat.a, s.front))) AS sat_s
        FROM seq s JOIN sat ON sat.resource = s.resource
             AND sat.a < s.start_ts AND sat.b > s.front
        WHERE s.front < s.start_ts
        GROUP BY s.case_id, s.seq
    )
    SELECT s.case_id,
           epoch(s.release_ts - t0.t0) / 3600.0 AS release_h,
           s.seq::INTEGER AS seq,
           s.resource,
           epoch(s.end_ts - s.start_ts) / 3600.0 AS work_h,
           (s.front IS NULL OR s.front <= s.start_ts) AS after,
           CASE WHEN s.front IS NULL THEN epoch(s.start_ts - s.release_ts) / 3600.0
                WHEN s.front <= s.start_ts
                    THEN greatest(epoch(s.start_ts - s.front) - coalesce(g.sat_s, 0), 0) / 3600.0
                ELSE epoch(s.start_ts - s.prev_start) / 3600.0 END AS wait_h,
           coalesce(s.qty_completed, 0) AS qty_completed,
           coalesce(s.qty_rejected, 0) AS qty_rejected,
           coalesce(s.qty_review, 0) AS qty_review,
           epoch(s.start_ts - t0.t0) / 3600.0 AS start_h,
           epoch(s.end_ts - t0.t0) / 3600.0 AS end_h
    FROM seq s CROSS JOIN t0
    LEFT JOIN busy_in_gap g ON g.case_id = s.case_id AND g.seq = s.seq
    ORDER BY release_h, s.case_id, seq
    """


_TASK_SCHEMA = pa.schema([
    ("case_id", pa.string()), ("release_h", pa.float64()), ("seq", pa.int32()),
    ("resource", pa.string()), ("work_h", pa.float64()), ("after", pa.bool_()),
    ("wait_h", pa.float64()), ("qty_completed", pa.int64()), ("qty_rejected", pa.int64()),
    ("qty_review", pa.int64()), ("start_h", pa.float64()), ("end_h", pa.float64()),
])


def batch_columns(batch: pa.RecordBatch) -> dict[str, np.ndarray]:
    """A task batch as numpy columns (strings as object arrays)."""
    return {name: batch.column(i).to_numpy(zero_copy_only=False)
            for i, name in enumerate(batch.schema.names)}


def supplier_lead_times_days(store: str | Path, supplier: str) -> np.ndarray:
    """Recorded order-to-delivery times of ``supplier`` (days), from the
    ``supplier_lead_times`` view; deliveries without an order date are left out."""
    path = Path(store).resolve()
    con = open_store(path)
    try:
        rows = con.execute("SELECT lead_time_days FROM supplier_lead_times WHERE supplier = ? "
                           "AND lead_time_days IS NOT NULL ORDER BY source, delivery_id",
                           [supplier]).fetchnumpy()
        days = np.asarray(rows["lead_time_days"], dtype=float)
        if days.size == 0:
            known = con.execute("SELECT supplier, count(*) FROM supplier_lead_times WHERE "
                                "lead_time_days IS NOT NULL GROUP BY 1 ORDER BY 2 DESC "
                                "LIMIT 5").fetchall()
    except duckdb.Error as e:
        raise ReplayError(f"cannot read supplier lead times: {first_line(e)}",
                          file=str(path)) from e
    finally:
        con.close()
    if days.size == 0:
        raise ReplayError([Problem(str(path), "supplier_lead_times", f"no recorded lead time "
                                   f"for supplier {supplier!r}; the most recorded: "
                                   + ", ".join(f"{s!r} ({n})" for s, n in known))],
                          file=str(path))
    return days


def store_provenance(store: str | Path) -> dict[str, object]:
    """What a store holds, for a run's journal: every ingested file with its SHA-256,
    rows loaded and quarantined, and the period it covers."""
    path = Path(store).resolve()
    con = open_store(path)
    try:
        rows = con.sql("SELECT source, table_name, format, sha256, rows_read, rows_loaded, "
                       "rows_quarantined, period_start, period_end FROM ingests "
                       "ORDER BY source, table_name").fetchall()
    finally:
        con.close()
    keys = ("source", "table", "format", "sha256", "rows_read", "rows_loaded",
            "rows_quarantined", "period_start", "period_end")
    return {"store": str(path), "ingests": [
        {k: (str(v) if isinstance(v, datetime) else v) for k, v in zip(keys, r, strict=True)}
        for r in rows]}


@dataclass(frozen=True)
class FeatureRows:
    """The recorded feature vectors of one source: names, a (rows, features) matrix and
    the label of each row."""

    source: str
    names: tuple[str, ...]
    matrix: np.ndarray
    labels: np.ndarray
    label_names: tuple[str, ...]  # the possible labels, in the source's column order
    rows: np.ndarray  # 0-based row of each vector in its source (source_line - 1)


def read_features(store: str | Path, source: str | None = None) -> FeatureRows:
    """Every feature vector of ``source`` (the only one when omitted), in entity order."""
    path = Path(store).resolve()
    file = str(path)
    con = open_store(path)
    try:
        sources = [r[0] for r in con.sql(
            "SELECT source FROM feature_sets ORDER BY source").fetchall()]
        if not sources:
            raise ReplayError([Problem(file, "features", "the store holds no feature vectors; "
                                       "ingest them first (e.g. --format steel-plates)")],
                              file=file)
        chosen = _choose_source(sources, source, file)
        names, label_names = con.execute(
            "SELECT feature_names, label_names FROM feature_sets WHERE source = ?",
            [chosen]).fetchall()[0]
        rows = con.execute("SELECT feature_vector, label, source_line FROM features "
                           "WHERE source = ? ORDER BY source_line", [chosen]).fetchall()
    except duckdb.Error as e:
        raise ReplayError(f"cannot read the features: {first_line(e)}", file=file) from e
    finally:
        con.close()
    matrix = np.asarray([r[0] for r in rows], dtype=np.float64).reshape(len(rows), len(names))
    labels = np.asarray([r[1] for r in rows], dtype=object)
    lines = np.asarray([r[2] for r in rows], dtype=np.int64) - 1
    return FeatureRows(chosen, tuple(names), matrix, labels, tuple(label_names or ()), lines)
