"""Crash safety: an ingest or an MTD search killed part-way (SIGKILL) leaves the store old or
new, never a mix, and the search resumes to the result an uninterrupted run gives."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from conftest import BASE_PLANT, deep_update, records_of

from shocktwin.edge_replay.schema import open_store

pytestmark = pytest.mark.skipif(os.name != "posix", reason="SIGKILL needs a POSIX system")

CLI = [sys.executable, "-m", "shocktwin"]
MAPPING = """table: operations
columns: {order: case_id, step: activity, machine: resource, began: start_ts, ended: end_ts}
timestamp_format: "%Y-%m-%d %H:%M:%S"
"""


def _write_log(path: Path, rows: int) -> None:
    import duckdb

    duckdb.sql(f"""COPY (SELECT 'WO' || (i // 5) AS "order", 'op' || (i % 5) AS step,
                   'M' || (i % 7) AS machine,
                   strftime(TIMESTAMP '2024-01-01' + to_seconds(i * 60), '%Y-%m-%d %H:%M:%S')
                       AS began,
                   strftime(TIMESTAMP '2024-01-01' + to_seconds(i * 60 + 50),
                            '%Y-%m-%d %H:%M:%S') AS ended
                   FROM range({rows}) t(i)) TO '{path}' (HEADER)""").fetchall()


def _operations(db: Path) -> int:
    con = open_store(db)
    try:
        return int(con.sql("SELECT count(*) FROM operations").fetchall()[0][0])
    finally:
        con.close()


def test_a_killed_ingest_leaves_the_previous_store(tmp_path) -> None:
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(MAPPING)
    small, big, db = tmp_path / "small.csv", tmp_path / "big.csv", tmp_path / "plant.duckdb"
    _write_log(small, 100)
    _write_log(big, 3_000_000)
    done = subprocess.run([*CLI, "ingest", str(small), "--format", "csv", "--mapping",
                           str(mapping), "--db", str(db)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert _operations(db) == 100
    killed = 0
    for delay in (0.5, 1.0, 2.0):  # kill at different points of the ingest
        proc = subprocess.Popen([*CLI, "ingest", str(big), "--format", "csv", "--mapping",
                                 str(mapping), "--db", str(db)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed += 1
        proc.wait()
        # Old or new, never a mix: the store opens and holds one whole ingest.
        assert _operations(db) in (100, 100 + 3_000_000)
    assert killed, "the ingest finished before it could be killed; use a larger file"
    again = subprocess.run([*CLI, "ingest", str(big), "--format", "csv", "--mapping",
                            str(mapping), "--db", str(db)], capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert _operations(db) == 100 + 3_000_000


MTD = deep_update(BASE_PLANT, {
    "horizon": "16d", "warmup": "1d",
    "plant": {"buffers": [{"id": "stock", "material": "part", "initial": 2500,
                           "reorder_point": 1500}]},
    "shocks": [{"id": "outage", "type": "supplier_outage", "target": "sup", "start": "4d",
                "duration": "1d"}],
    "hypothesis": {"probability": 0.75, "tolerances": [{"kpi": "otd", "min": 0.95}]},
    "mtd": {"shocks": [{"shock": "outage", "low": "1h", "high": "8d", "resolution": "4h"}],
            "replications": 10, "max_replications": 10},
    "experiment": {"seed": 3},
})


def test_a_killed_mtd_search_resumes_to_the_same_result(tmp_path) -> None:
    scenario = tmp_path / "mtd.yaml"
    scenario.write_text(yaml.safe_dump(MTD))
    whole = tmp_path / "whole"
    done = subprocess.run([*CLI, "mtd", str(scenario), "--json", "--out", str(whole)],
                          capture_output=True, text=True)
    assert done.returncode in (0, 1), done.stderr
    reference = records_of(json.loads(done.stdout), "MtdFound")[0]

    cut = tmp_path / "cut"
    log = cut / "runs.jsonl"
    proc = subprocess.Popen([*CLI, "mtd", str(scenario), "--json", "--out", str(cut)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if log.exists() and len(log.read_text().splitlines()) >= 30:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    stored = len([line for line in log.read_text().splitlines() if line.endswith("}")])
    assert 0 < stored < reference["runs"] + 20
    resumed = subprocess.run([*CLI, "mtd", str(scenario), "--json", "--out", str(cut),
                              "--resume"], capture_output=True, text=True)
    assert resumed.returncode in (0, 1), resumed.stderr
    result = records_of(json.loads(resumed.stdout), "MtdFound")[0]
    assert result["mtd"] == reference["mtd"] and result["ci95"] == reference["ci95"]
    assert result["thresholds"] == reference["thresholds"]
    # Nothing run twice: every key in the log is unique, and the resumed search ran only
    # what the killed one had not stored.
    keys = [json.loads(line)["key"] for line in log.read_text().splitlines()
            if line.endswith("}")]
    assert len(keys) == len(set(keys))
    # The resumed search needed the same runs and says how many it took from the log.
    assert result["runs"] == reference["runs"] and result["runs_reused"] > 0
    computed = result["runs"] - result["runs_reused"]
    assert computed <= reference["runs"] - min(stored, reference["runs"]) + 1
