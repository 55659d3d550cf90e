"""Shared fixtures and helpers: a scenario factory, a small valve plant, the CLI runner,
paths to bundled files, and the switching state a warm start of valve_disruptions inspects
its first lot at."""

from __future__ import annotations

import copy
import shlex
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from shocktwin.scenarios import Scenario, parse_scenario, reference_scenario

ROOT = Path(__file__).resolve().parents[1]

BASE_PLANT: dict[str, Any] = {
    "version": 1,
    "name": "test-plant",
    "horizon": "10d",
    "warmup": "1d",
    "plant": {
        "suppliers": [{"id": "sup", "material": "part", "lot_size": 500,
                       "lead_time": {"dist": "lognormal", "median": "2d", "sigma": 0.3},
                       "defect_rate": 0.01}],
        "buffers": [{"id": "stock", "material": "part", "initial": 1500, "reorder_point": 800}],
        "stations": [
            {"id": "iqc", "kind": "inspection", "inspectors": 1, "time_per_unit": "2min",
             "detection": 0.9, "false_reject": 0.01},
            {"id": "work", "servers": 2, "process_time": {"dist": "gamma", "mean": "5min",
                                                          "cv": 0.5},
             "mtbf": "20h", "mttr": "1h"},
            {"id": "release", "kind": "release", "sla": "4h"},
        ],
        "routing": ["iqc", "work", "release"],
        "demand": {"rate": "15/h", "due_in": "1d"},
    },
    "hypothesis": [{"kpi": "otd", "min": 0.9}],
    "experiment": {"replications": 3, "seed": 7},
}


#: A one-station plant of valves, for the checks of a warm start that only parse it: a start
#: state is added with ``deep_update(VALVE_PLANT, {"start_state": ...})``.
VALVE_PLANT: dict[str, Any] = {
    "version": 1,
    "name": "valves",
    "horizon": "10h",
    "plant": {
        "suppliers": [{"id": "maker", "material": "valve", "lead_time": "10h", "lot_size": 50}],
        "buffers": [{"id": "valves", "material": "valve", "initial": 10, "reorder_point": 3}],
        "stations": [{"id": "m", "process_time": "30min"}],
        "routing": ["m"],
        "demand": {"every": "1h", "due_in": "1h"},
    },
}


def deep_update(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_update(out[key], value)
        else:
            out[key] = value
    return out


@pytest.fixture
def make_scenario() -> Callable[..., Scenario]:
    """Build a validated scenario from the base test plant with nested overrides."""

    def make(**changes: Any) -> Scenario:
        return parse_scenario(deep_update(BASE_PLANT, changes))

    return make


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def demo_path() -> Path:
    return reference_scenario("demo_plant")


def records_of(document: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    """The records of one kind in a result document (mtd.json, pareto.json, stress.json)
    as ``--json`` prints it."""
    return [r for r in document["records"] if r["kind"] == kind]


def _mount_namespace_works(tmp_path: Path) -> bool:
    """Whether a tmpfs can be mounted in a private mount namespace here (``unshare -m``)."""
    if shutil.which("unshare") is None or shutil.which("mount") is None:
        return False
    probe = tmp_path / "probe"
    probe.mkdir()
    done = subprocess.run(["unshare", "-m", "sh", "-c",
                           f"mount -t tmpfs -o size=64k tmpfs {shlex.quote(str(probe))}"],
                          capture_output=True, timeout=60)
    return done.returncode == 0


@pytest.fixture
def small_disk(tmp_path: Path) -> Path:
    """A folder that a command run in a private mount namespace can mount a small tmpfs on
    (a full or read-only disk); skipped where mounting is not allowed."""
    if not _mount_namespace_works(tmp_path):
        pytest.skip("cannot mount a tmpfs in a private mount namespace here")
    folder = tmp_path / "disk"
    folder.mkdir()
    return folder


def first_inspection_severity(start_state: dict[str, Any] | None) -> str | None:
    """The switching state of the first lot inspected when ``valve_disruptions`` runs one
    replication without shocks from ``start_state`` (None: a cold start)."""
    from shocktwin.source import read_yaml
    from shocktwin.twin.experiment.replication import run_experiment

    path = reference_scenario("valve_disruptions")
    data, lines = read_yaml(path)
    if start_state is not None:
        data["start_state"] = start_state
    data["shocks"] = []
    data.pop("mtd", None)
    data.pop("optimize", None)
    data["experiment"]["replications"] = 1
    sc = parse_scenario(data, file=str(path), lines=lines, base_dir=path.parent)
    rep = run_experiment(sc).replications[0]
    first = next(e for e in rep.log if e.kind == "LotInspected" and e.severity is not None)
    return first.severity
