"""Recorded breakdowns replayed per station (the physical layer's recorded half): a downtime
table's outages at their recorded times against an availability and delays worked out by
hand, resampled cycles against the recorded availability, and bad bindings reported at
their line of the scenario file, through the library and the CLI."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats
from typer.testing import CliRunner

from shocktwin import cli
from shocktwin.edge_replay.ingest import ingest
from shocktwin.errors import ReplayError, ScenarioError
from shocktwin.scenarios import load_scenario, parse_scenario
from shocktwin.twin.experiment.replication import build_model, run_experiment
from shocktwin.twin.kernel import make_kernel

# The lathe's row, the day before, sets hour 0 at 2024-03-03 00:00 for the whole file. The
# press is down 34:15-36:15, 44:40-45:20 (two overlapping alarms) and 53:50-54:05; its last
# row, at 84 h, lies beyond a 72 h horizon.
PRESS_CSV = """\
machine,start,end,cause
lathe,2024-03-03 22:00,2024-03-03 23:00,tool change
press,2024-03-04 10:15,2024-03-04 12:15,hydraulic leak
press,2024-03-04 20:40,2024-03-04 21:10,guard open
press,2024-03-04 21:00,2024-03-04 21:20,light curtain
press,2024-03-05 05:50,2024-03-05 06:05,
press,2024-03-06 12:00,2024-03-06 13:00,beyond the horizon
"""

# Six outages of the oven: five recorded (up, down) cycles after the first, (20 h, 2 h),
# (35 h, 30 min), (10 h, 3 h), (50 h, 1.5 h), (25 h, 1 h): up 140 h of 148 h.
OVEN_CSV = """\
machine,start,end
oven,2024-01-01 05:00,2024-01-01 06:00
oven,2024-01-02 02:00,2024-01-02 04:00
oven,2024-01-03 15:00,2024-01-03 15:30
oven,2024-01-04 01:30,2024-01-04 04:30
oven,2024-01-06 06:30,2024-01-06 08:00
oven,2024-01-07 09:00,2024-01-07 10:00
"""
OVEN_AVAILABILITY = 140 / 148

SCENARIO = """\
version: 1
name: recorded_downtime
horizon: {horizon}
warmup: {warmup}
plant:
  stations:
    - id: station
      servers: {servers}
      process_time: 30min
      downtime:
        store: plant.duckdb
        machine: {machine}
        mode: {mode}
  routing: [station]
  demand: {{every: 1h, due_in: 100h}}
experiment: {{replications: {replications}, seed: 3}}
"""
#: The line of each key of ``downtime:`` in SCENARIO.
LINE = {"downtime": 10, "store": 11, "machine": 12, "mode": 13}


def _folder(tmp_path: Path, csv: str, **fields: object) -> Path:
    """A folder with the downtime table ingested into plant.duckdb beside the scenario."""
    (tmp_path / "downtime.csv").write_text(csv, encoding="utf-8")
    ingest(tmp_path / "downtime.csv", "downtime", tmp_path / "plant.duckdb")
    values = {"horizon": "72h", "warmup": "0h", "servers": 2, "machine": "press",
              "mode": "trace", "replications": 1, **fields}
    path = tmp_path / "scenario.yaml"
    path.write_text(SCENARIO.format(**values), encoding="utf-8")
    return path


@pytest.mark.parametrize("engine", ["simpy", "salabim"])
def test_trace_replays_three_recorded_outages_at_their_times(tmp_path: Path,
                                                             engine: str) -> None:
    # By hand: one unit an hour from 1 h, 30 min each, two servers. Hour 0 is 00:00 on
    # 3 March (the file's first day), so the press is down 34:15-36:15 (2 h), 44:40-45:20
    # (40 min, two rows merged) and 53:50-54:05 (15 min), both servers at once.
    # - The 34 h unit is caught with 15 min left and done at 36:30: lead 2.5 h, 2 h late.
    #   The 35 h unit waits for the end and is done at 36:45 (1.75 h); the 36 h unit follows
    #   the first at 36:30, done 37:00 (1 h).
    # - The 45 h unit waits to 45:20, done 45:50 (50 min); the 54 h unit waits to 54:05,
    #   done 54:35 (35 min). Every other unit takes 30 min.
    # 71 units before the 72 h horizon (the 84 h outage is never reached); their leads sum
    # to 71 · 0.5 + 2 + 1.25 + 0.5 + 1/3 + 1/12 h. Availability 1 − (2 + 2/3 + 1/4) / 72.
    scenario = load_scenario(_folder(tmp_path, PRESS_CSV))
    record = build_model(scenario, make_kernel(engine), seed=1, replication=0).run()
    late = record.release_lead_h > 0.5 + 1e-9
    assert record.release_h[late].tolist() == pytest.approx(
        [36.5, 36.75, 37.0, 45 + 50 / 60, 54 + 35 / 60])
    assert record.release_lead_h[late].tolist() == pytest.approx(
        [2.5, 1.75, 1.0, 50 / 60, 35 / 60])
    assert record.release_h.size == 71
    assert record.release_lead_h.sum() == pytest.approx(71 * 0.5 + 2 + 1.25 + 0.5 + 1 / 3
                                                        + 1 / 12)
    [station] = record.stations
    assert station["availability"] == pytest.approx(1 - (2 + 2 / 3 + 1 / 4) / 72)


def test_bootstrap_gives_the_recorded_availability(tmp_path: Path) -> None:
    # Alternating renewal: the long-run availability is the recorded cycles' up time over
    # their length, 140 / 148 (the hours before the first outage are no cycle). A cycle that
    # counted them, (5 h, 1 h), would give 145 / 155, outside this interval.
    path = _folder(tmp_path, OVEN_CSV, horizon="4000h", warmup="100h", servers=1,
                   machine="oven", mode="bootstrap", replications=12)
    result = run_experiment(load_scenario(path))
    values = np.array([r.stations[0]["availability"] for r in result.replications])
    half = stats.t.ppf(0.995, values.size - 1) * values.std(ddof=1) / math.sqrt(values.size)
    assert values.mean() - half <= OVEN_AVAILABILITY <= values.mean() + half
    assert not values.mean() - half <= 145 / 155 <= values.mean() + half
    assert len(set(values.tolist())) == values.size  # each replication draws its own


@pytest.mark.parametrize("modelled", [{"mtbf": "5h", "mttr": "1h"},
                                      {"units_between_failures": 10, "mttr": "1h"}])
def test_recorded_downtime_replaces_the_modelled_breakdowns(modelled: dict[str, object]
                                                            ) -> None:
    station = {"id": "m", "process_time": "30min", **modelled,
               "downtime": {"store": "plant.duckdb", "machine": "press"}}
    with pytest.raises(ScenarioError) as caught:
        parse_scenario({"version": 1, "name": "both", "horizon": "10h",
                        "plant": {"stations": [station], "routing": ["m"],
                                  "demand": {"every": "1h", "due_in": "10h"}}})
    [problem] = caught.value.problems
    assert problem.path == "plant.stations[0].downtime"
    assert "recorded downtime replaces the modelled breakdowns" in problem.message


@pytest.mark.parametrize(("fields", "key", "fragment"), [
    ({"machine": "Press"}, "machine",
     "no machine 'Press' in the downtime table; did you mean 'press'?"),
    ({"machine": "lathe", "mode": "bootstrap"}, "mode",
     "machine 'lathe' has only one outage"),
])
def test_a_bad_binding_is_reported_at_its_line(tmp_path: Path, fields: dict[str, str],
                                               key: str, fragment: str) -> None:
    path = _folder(tmp_path, PRESS_CSV, **fields)
    with pytest.raises(ReplayError) as caught:
        run_experiment(load_scenario(path))
    [problem] = caught.value.problems
    assert (problem.file, problem.line) == (str(path), LINE[key])
    assert problem.path == f"plant.stations[0].downtime.{key}"
    assert fragment in problem.message and str(tmp_path / "plant.duckdb") in problem.message


def test_a_machine_with_nothing_to_replay_is_refused(tmp_path: Path) -> None:
    path = _folder(tmp_path, "machine,start,end\npress,2024-01-01 01:00,2024-01-01 01:00\n")
    with pytest.raises(ReplayError) as caught:
        run_experiment(load_scenario(path))
    [problem] = caught.value.problems
    assert problem.line == LINE["machine"]
    assert "machine 'press' has no outage that takes time" in problem.message


def test_a_store_without_downtime_is_refused(tmp_path: Path) -> None:
    path = _folder(tmp_path, PRESS_CSV)
    (tmp_path / "plant.duckdb").unlink()
    # A store that holds an MES log only.
    (tmp_path / "ops.csv").write_text("order,step,began,ended\n"
                                      "A-1,Turning,2024-01-01 01:00,2024-01-01 02:00\n")
    (tmp_path / "ops.yaml").write_text("table: operations\ncolumns: {order: case_id, "
                                       "step: activity, began: start_ts, ended: end_ts}\n")
    ingest(tmp_path / "ops.csv", "csv", tmp_path / "plant.duckdb", tmp_path / "ops.yaml")
    with pytest.raises(ReplayError) as caught:
        run_experiment(load_scenario(path))
    [problem] = caught.value.problems
    assert (problem.path, problem.line) == ("plant.stations[0].downtime.store", LINE["store"])
    assert "holds no downtime table" in problem.message


def test_ingest_then_run_through_the_cli(tmp_path: Path, runner: CliRunner,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    # As after a fresh clone: a downtime export and a scenario in a folder, paths relative.
    monkeypatch.chdir(tmp_path)
    Path("press.csv").write_text(PRESS_CSV, encoding="utf-8")
    Path("scenario.yaml").write_text(SCENARIO.format(
        horizon="72h", warmup="0h", servers=2, machine="press", mode="trace",
        replications=1), encoding="utf-8")
    ingested = runner.invoke(cli.app, ["ingest", "press.csv", "--format", "downtime",
                                       "--db", "plant.duckdb", "--json"])
    assert ingested.exit_code == 0, ingested.output
    [table] = json.loads(ingested.stdout)["tables"]
    assert (table["table"], table["loaded"], table["quarantined"]) == ("downtime", 6, 0)
    ran = runner.invoke(cli.app, ["run", "scenario.yaml", "--json"])
    assert ran.exit_code == 0, ran.output
    lead = json.loads(ran.stdout)["kpis"]["release_lead_time_mean"]["mean"]
    assert lead == pytest.approx((71 * 0.5 + 2 + 1.25 + 0.5 + 1 / 3 + 1 / 12) / 71)

    Path("scenario.yaml").write_text(SCENARIO.format(
        horizon="72h", warmup="0h", servers=2, machine="prss", mode="trace",
        replications=1), encoding="utf-8")
    bad = runner.invoke(cli.app, ["run", "scenario.yaml"])
    assert bad.exit_code == 2 and "Traceback" not in bad.output
    assert (f"scenario.yaml:{LINE['machine']}: plant.stations[0].downtime.machine: no "
            "machine 'prss'") in bad.output
    assert "did you mean 'press'?" in bad.output


def test_the_journal_names_the_downtime_store_it_read(tmp_path: Path) -> None:
    from shocktwin.twin.journal.record import data_provenance

    scenario = load_scenario(_folder(tmp_path, PRESS_CSV))
    [store] = data_provenance(scenario)
    assert Path(store["store"]).resolve() == (tmp_path / "plant.duckdb").resolve()
