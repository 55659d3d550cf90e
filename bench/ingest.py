"""Ingest throughput and memory, against DuckDB's own CSV reader measured in the same run.

``run(rows)`` writes a synthetic MES operations export of ``rows`` lines with DuckDB (plus the
mapping file the generic ``csv`` format needs), then times, each in a fresh process and into a
fresh store, alternately ``repeats`` times (``BENCH_INGEST_REPEATS``, 3 by default), the
median of each taken, so that a moment of other work on a shared machine weighs on neither
side alone:

- ``ingest(..., fmt="csv", mapping=...)`` of that file: rows/s and the process's peak RSS
  (the highest of the runs);
- the anchor, ``CREATE TABLE t AS SELECT * FROM read_csv(...)`` of the same file into a new
  DuckDB file (types auto-detected, no checks): rows/s and peak RSS;
- ``ingest`` of each real dataset that is present (the bundled ones in ``data/``, the 4TU log in
  the shared data folder): rows/s per format. These files are small, so their figure is mostly
  the fixed cost of one ingest (store creation, checks, atomic replace).

About 0.2 % of the synthetic rows are bad on purpose (end before start, negative scrap, exact
double postings), so the quarantine and duplicate paths are part of what is measured.

Run small: ``python -c "from bench.ingest import run; print(run(200_000))"``.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb

__all__ = ["MAPPING_YAML", "run", "write_operations_csv"]

_REPO = Path(__file__).resolve().parents[1]
_SHARED_DATA = _REPO.parent / "shared" / "data"

#: The mapping of the synthetic export onto ``operations``.
MAPPING_YAML = """\
table: operations
columns:
  order_id: case_id
  step: activity
  machine: resource
  start: start_ts
  end: end_ts
  qty_good: qty_completed
  qty_scrap: qty_rejected
  qty_review: qty_review
  rework: rework
  operator: operator
null_values: ["-"]
"""

_STEPS = (
    "Saw", "Turning", "Milling", "Deburring", "Heat Treatment", "Grinding", "Inspection",
    "Packing",
)

# Row ``i`` of the export is drawn from ``k``: every 4,999th row repeats the row before it (a
# double posting); row ``k`` belongs to order ``k // 8`` and is its step ``k % 8``.
_EXPORT_SQL = """
COPY (
    SELECT
        'WO-' || lpad(CAST(k // 8 AS VARCHAR), 8, '0') AS order_id,
        {steps}[k % 8 + 1] AS step,
        'M' || lpad(CAST(k % 8 * 5 + h % 5 AS VARCHAR), 2, '0') AS machine,
        strftime(t0, '%Y-%m-%d %H:%M:%S') AS "start",
        strftime(CASE WHEN k % 997 = 13 THEN t0 - INTERVAL 1 HOUR
                      ELSE t0 + to_seconds(60 + CAST(h % 14400 AS BIGINT)) END,
                 '%Y-%m-%d %H:%M:%S') AS "end",
        CAST(h % 50 AS BIGINT) AS qty_good,
        CASE WHEN k % 1009 = 17 THEN -CAST(1 + h % 3 AS BIGINT)
             WHEN h % 23 = 0 THEN CAST(1 + h % 4 AS BIGINT) ELSE 0 END AS qty_scrap,
        CASE WHEN h % 61 = 0 THEN CAST(1 + h % 2 AS BIGINT) ELSE 0 END AS qty_review,
        CASE WHEN h % 37 = 0 THEN 'Y' ELSE 'N' END AS rework,
        CASE WHEN h % 101 = 0 THEN '-' ELSE 'OP' || CAST(1000 + h % 240 AS VARCHAR) END
            AS operator
    FROM (
        SELECT k, hash(k) AS h,
               TIMESTAMP '2023-01-02 06:00:00' + to_seconds(k * 9) AS t0
        FROM (SELECT CASE WHEN i % 4999 = 4998 THEN i - 1 ELSE i END AS k
              FROM range({rows}) AS r(i))
    )
) TO {path} (HEADER, DELIMITER ',')
"""


def write_operations_csv(path: Path, rows: int) -> None:
    """Write the synthetic operations export of ``rows`` data lines to ``path``."""
    steps = "[" + ", ".join(f"'{s}'" for s in _STEPS) + "]"
    target = "'" + str(path).replace("'", "''") + "'"
    con = duckdb.connect()
    try:
        con.execute(_EXPORT_SQL.format(steps=steps, rows=int(rows), path=target)).fetchall()
    finally:
        con.close()


def _real_sources() -> list[tuple[str, Path, int]]:
    """(format, file, data rows) of each real dataset that is present."""
    data = _REPO / "data"
    candidates = [
        ("secom", data / "secom_labels_uci" / "secom_labels.data", 1567),
        ("scms", data / "scms_delivery_history" / "SCMS_Delivery_History_Dataset.csv", 10324),
        ("steel-plates", data / "steel_plates_faults_uci" / "Faults.NNA", 1941),
        ("4tu-production", _SHARED_DATA / "production_4tu" / "Production_Data.csv", 4543),
    ]
    return [c for c in candidates if c[1].is_file()]


# --- measured in a child process --------------------------------------------------------------

_MARKER = "bench-ingest-result: "


def _peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes.
    return peak / (1 << 20) if sys.platform == "darwin" else peak / 1024


def _child_ingest(source: str, fmt: str, db: str, mapping: str) -> dict[str, Any]:
    from shocktwin.edge_replay.ingest import ingest

    t0 = time.perf_counter()
    report = ingest(source, fmt, db, mapping or None)
    seconds = time.perf_counter() - t0
    return {
        "seconds": seconds,
        "source_rows": report.source_rows,
        "rows_loaded": report.rows_loaded,
        "rows_quarantined": report.rows_quarantined,
        "peak_rss_mb": _peak_rss_mb(),
    }


def _child_read_csv(source: str, db: str) -> dict[str, Any]:
    t0 = time.perf_counter()
    con = duckdb.connect(db)
    try:
        con.execute(
            "CREATE TABLE t AS SELECT * FROM read_csv(?)", [source]
        ).fetchall()
        (n,), = con.execute("SELECT count(*) FROM t").fetchall()
    finally:
        con.close()
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "source_rows": int(n), "peak_rss_mb": _peak_rss_mb()}


def _in_child(*args: str) -> dict[str, Any]:
    """Run one measurement in a fresh interpreter; its figures come back as JSON."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_REPO), env.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, "-m", "bench.ingest", *args],
        cwd=_REPO, env=env, capture_output=True, text=True, check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"bench child {args[0]} failed:\n{done.stderr.strip()}")
    # DuckDB may draw a progress bar on stdout; the figures are on the line after the marker.
    result: dict[str, Any] = json.loads(done.stdout.rsplit(_MARKER, 1)[1].splitlines()[0])
    return result


# --- the benchmark ----------------------------------------------------------------------------


def _repeats() -> int:
    return max(1, int(os.environ.get("BENCH_INGEST_REPEATS", "3")))


def _measure(rows: int, folder: Path, repeats: int | None = None) -> dict[str, float]:
    repeats = _repeats() if repeats is None else max(1, repeats)
    source, mapping = folder / "operations.csv", folder / "operations.yaml"
    t0 = time.perf_counter()
    write_operations_csv(source, rows)
    generate_s = time.perf_counter() - t0
    mapping.write_text(MAPPING_YAML, encoding="utf-8")

    ingests: list[dict[str, Any]] = []
    anchors: list[dict[str, Any]] = []
    store, anchor_db = folder / "ingest.duckdb", folder / "anchor.duckdb"
    for _ in range(repeats):
        store.unlink(missing_ok=True)
        ing = _in_child("ingest", str(source), "csv", str(store), str(mapping))
        if ing["source_rows"] != rows:
            raise RuntimeError(f"ingest read {ing['source_rows']} rows of {rows}")
        ingests.append(ing)
        anchor_db.unlink(missing_ok=True)
        anchor = _in_child("read_csv", str(source), str(anchor_db))
        if anchor["source_rows"] != rows:
            raise RuntimeError(f"read_csv read {anchor['source_rows']} rows of {rows}")
        anchors.append(anchor)
    ingest_s = statistics.median(r["seconds"] for r in ingests)
    anchor_s = statistics.median(r["seconds"] for r in anchors)
    ingest_rate = rows / ingest_s
    anchor_rate = rows / anchor_s
    out: dict[str, float] = {
        "rows": float(rows),
        "source_mb": source.stat().st_size / 1e6,
        "generate_s": generate_s,
        "ingest_repeats": float(repeats),
        "ingest_s": ingest_s,
        "ingest_rows_per_s": ingest_rate,
        "ingest_rows_quarantined": float(ingests[-1]["rows_quarantined"]),
        "ingest_peak_rss_mb": max(r["peak_rss_mb"] for r in ingests),
        "duckdb_read_csv_s": anchor_s,
        "duckdb_read_csv_rows_per_s": anchor_rate,
        "duckdb_read_csv_peak_rss_mb": max(r["peak_rss_mb"] for r in anchors),
        "ingest_vs_duckdb_read_csv_ratio": ingest_rate / anchor_rate,
    }
    # The ingested store stays in ``folder``: the replay benchmark reads it next.
    for path in (source, folder / "anchor.duckdb"):
        path.unlink(missing_ok=True)

    for fmt, path, expected in _real_sources():
        db = folder / f"{fmt}.duckdb"
        # Small files: the best of three, each into a fresh store.
        best = float("inf")
        for _ in range(3):
            db.unlink(missing_ok=True)
            real = _in_child("ingest", str(path), fmt, str(db), "")
            if real["source_rows"] != expected:
                raise RuntimeError(f"{fmt}: read {real['source_rows']} rows, expected {expected}")
            best = min(best, real["seconds"])
        out[f"ingest_rows_per_s_{fmt}"] = expected / best
        db.unlink(missing_ok=True)
    return out


def run(
    rows: int = 10_000_000, workdir: Path | None = None, repeats: int | None = None
) -> dict[str, float]:
    """Measure ingest throughput and peak memory on ``rows`` synthetic rows and the real data.

    Files go to a temporary folder inside ``workdir`` (the system's temporary folder when
    None), removed afterwards. 10 M rows need about 1 GB of disk for the export. ``repeats``:
    how many times the ingest and the anchor are timed, alternately (None: ``_repeats()``).
    """
    if rows < 1:
        raise ValueError("rows must be at least 1")
    with tempfile.TemporaryDirectory(prefix="bench-ingest-", dir=workdir) as tmp:
        return _measure(rows, Path(tmp), repeats)


def _main(argv: list[str]) -> None:
    if argv[:1] == ["ingest"] and len(argv) == 5:
        print(_MARKER + json.dumps(_child_ingest(*argv[1:])))
    elif argv[:1] == ["read_csv"] and len(argv) == 3:
        print(_MARKER + json.dumps(_child_read_csv(*argv[1:])))
    else:
        rows = int(argv[0]) if argv else 10_000_000
        for name, value in run(rows).items():
            print(f"{name:40} {value:>16,.2f}")


if __name__ == "__main__":
    _main(sys.argv[1:])
