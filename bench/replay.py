"""Replay feed cost and memory, against a plain DuckDB → numpy read measured in the same run.

``run(rows)`` ingests the synthetic operations export of ``bench.ingest`` (``rows`` lines)
into a store, then measures, each in a fresh process:

- the anchor: the operations' columns read from the store into numpy arrays, batch by
  batch (``SELECT ... FROM operations`` through an Arrow reader), with no further work;
- the feed: every task delivered to the event loop by the trace replay (the DuckDB query
  that decomposes gaps into contention and extraneous wait, Arrow batches, one job spec
  per work order): rows/s, and the ratio of its cost per row to the anchor's;
- the whole trace replay through the twin (the job shop on the SimPy kernel over the
  log's span): tasks/s, events, and the peak RSS of the process — the figure the
  memory goal (< 1 GB for 10 M rows) is about.

Run small: ``python -m bench.replay 200000``; ``python -m bench.replay --store ops.duckdb``
measures an ingested store again without generating a new one.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

__all__ = ["run"]

_ANCHOR_SQL = ("SELECT case_id, activity, resource, start_ts, end_ts, qty_completed, "
               "qty_rejected, qty_review FROM operations")


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _child_anchor(db: str) -> dict[str, Any]:
    import duckdb

    t0 = time.perf_counter()
    con = duckdb.connect(db, read_only=True)
    n = 0
    for batch in con.sql(_ANCHOR_SQL).to_arrow_reader(65_536):
        cols = [c.to_numpy(zero_copy_only=False) for c in batch.columns]
        n += len(cols[0])
    con.close()
    return {"rows": n, "seconds": time.perf_counter() - t0, "peak_rss_mb": _peak_rss_mb()}


def _child_feed(db: str) -> dict[str, Any]:
    from shocktwin.twin.experiment.feed import ShopData

    t0 = time.perf_counter()
    n = 0
    for job in ShopData(Path(db), None).trace():
        n += len(job.resource)
    return {"rows": n, "seconds": time.perf_counter() - t0, "peak_rss_mb": _peak_rss_mb()}


def _child_replay(db: str) -> dict[str, Any]:
    import math

    from shocktwin.edge_replay.replay import open_shop_log
    from shocktwin.scenarios.loader import parse_scenario
    from shocktwin.twin.experiment.feed import RecordedFeeds
    from shocktwin.twin.kernel import make_kernel
    from shocktwin.twin.model.shop import Shop

    t0 = time.perf_counter()
    log = open_shop_log(db)
    sc = parse_scenario({
        "version": 1, "name": "bench-replay", "horizon": f"{math.ceil(log.span_h) + 1}h",
        "shop": {"store": db, "mode": "trace", "resources": [
            {"id": f"r{i}", "name": r.name, "servers": r.capacity}
            for i, r in enumerate(log.resources)]},
        "experiment": {"bucket": "1d"}})
    shop = Shop(sc, make_kernel("simpy"), seed=1, replication=0, feeds=RecordedFeeds(sc))
    record = shop.run()
    return {"rows": log.operations, "jobs": shop.started, "finished": shop.released,
            "events": record.events, "seconds": time.perf_counter() - t0,
            "peak_rss_mb": _peak_rss_mb()}


def _in_child(kind: str, db: str) -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-m", "bench.replay", "--child", kind, db],
                         check=True, capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parents[1])
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def run(rows: int = 10_000_000, workdir: Path | None = None,
        store: Path | None = None) -> dict[str, float]:
    """Measure on ``store`` (an ingested operations store), or on a new one of ``rows``
    generated rows."""
    from bench.ingest import MAPPING_YAML, write_operations_csv
    from shocktwin.edge_replay.ingest import ingest

    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        folder = Path(tmp)
        db = store
        if db is None:
            csv, mapping, db = folder / "ops.csv", folder / "ops.yaml", folder / "ops.duckdb"
            write_operations_csv(csv, rows)
            mapping.write_text(MAPPING_YAML)
            ingest(csv, "csv", db, mapping)
            csv.unlink()
        anchor = _in_child("anchor", str(db))
        feed = _in_child("feed", str(db))
        replay = _in_child("replay", str(db))
    anchor_per_row = anchor["seconds"] / anchor["rows"]
    feed_per_row = feed["seconds"] / feed["rows"]
    return {
        "replay_rows": float(feed["rows"]),
        "duckdb_numpy_read_rows_per_s": anchor["rows"] / anchor["seconds"],
        "replay_feed_rows_per_s": feed["rows"] / feed["seconds"],
        "replay_feed_vs_duckdb_numpy_cost_ratio": feed_per_row / anchor_per_row,
        "replay_feed_peak_rss_mb": feed["peak_rss_mb"],
        "replay_twin_tasks_per_s": replay["rows"] / replay["seconds"],
        "replay_twin_events": float(replay["events"]),
        "replay_twin_jobs": float(replay["jobs"]),
        "replay_twin_peak_rss_mb": replay["peak_rss_mb"],
        "replay_twin_seconds": replay["seconds"],
    }


def _main(argv: list[str]) -> None:
    if argv and argv[0] == "--child":
        kind, db = argv[1], argv[2]
        fn = {"anchor": _child_anchor, "feed": _child_feed, "replay": _child_replay}[kind]
        print(json.dumps(fn(db)))
        return
    if argv and argv[0] == "--store":
        print(json.dumps(run(store=Path(argv[1]).resolve()), indent=2))
        return
    rows = int(argv[0]) if argv else 10_000_000
    print(json.dumps(run(rows), indent=2))


if __name__ == "__main__":
    _main(sys.argv[1:])
