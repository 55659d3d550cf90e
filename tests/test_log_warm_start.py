"""A plant that replays an operations log starts from the log's own state at a moment
(``start_state: {at}``): the orders released before it and unfinished go on from their
current task, the later ones are replayed from then on, traced by hand; a resampled run no
longer starts empty; a snapshot's stock joins the log's orders; a moment outside the log is
refused at its line.

The log, in the 4TU format, t0 = 2024-01-01 00:00, hours from t0:

- Case 1 (Gear, 10): milled 0-2 h, where the report rejects 2; checked 3-4 h (8 pieces).
- Case 2 (Shaft, 10): milled 2-5 h; checked 4.5-6 h, begun while the milling still ran
  (the check is enabled ``with`` the milling, 2.5 h after it began).
- Case 3 (Gear, 10): milled 30-32 h, checked 33-34 h.

Replayed cold, case 1 ships 8 at 4 h, case 2 10 at 6 h, case 3 10 at 34 h; 2 scrapped.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import VALVE_PLANT, deep_update
from typer.testing import CliRunner

from shocktwin import cli
from shocktwin.edge_replay.ingest import ingest
from shocktwin.errors import ReplayError, ScenarioError
from shocktwin.scenarios import load_scenario, parse_scenario
from shocktwin.twin.experiment.replication import run_replication
from shocktwin.twin.kernel import make_kernel
from shocktwin.twin.model.plant import Plant

T0 = datetime(2024, 1, 1)
HEADER = ("Case ID,Activity,Resource,Start Timestamp,Complete Timestamp,Span,Work Order Qty,"
          "Part Desc.,Worker ID,Report Type,Qty Completed,Qty Rejected,Qty for MRB,Rework")
MILL, QC = "Machine 1 - Milling", "Quality Check 1"
#: (case, part, resource, start h, end h, completed, rejected)
REPORTS = [
    (1, "Gear", MILL, 0.0, 2.0, 8, 2), (1, "Gear", QC, 3.0, 4.0, 8, 0),
    (2, "Shaft", MILL, 2.0, 5.0, 10, 0), (2, "Shaft", QC, 4.5, 6.0, 10, 0),
    (3, "Gear", MILL, 30.0, 32.0, 10, 0), (3, "Gear", QC, 33.0, 34.0, 10, 0),
]

SCENARIO = """\
version: 1
name: log_at
horizon: 48h
plant:
  log:
    store: plant.duckdb
    mode: {mode}
    resources:
      - {{name: {mill}, station: mill}}
      - {{name: {qc}, station: qc}}
  stations:
    - {{id: mill, servers: 1, process_time: 12min}}
    - {{id: qc, kind: inspection, inspectors: 1, time_per_unit: 6min}}
  products:
    - id: gear
      recorded: {{part_types: [Gear], due_in: 1d}}
    - id: shaft
      recorded: {{part_types: [Shaft], due_in: 1d}}
start_state:
  at: "{at}"
experiment: {{replications: 1, seed: 1}}
"""
#: The line of ``start_state.at`` in SCENARIO.
AT_LINE = 20


def _ts(hours: float) -> str:
    return f"{T0 + timedelta(hours=hours):%Y/%m/%d %H:%M:%S}.000"


def _folder(tmp_path: Path, at: str, mode: str = "trace") -> Path:
    """The log ingested into plant.duckdb beside a scenario that starts at ``at``."""
    rows = [HEADER]
    for case, part, resource, start, end, done, rejected in REPORTS:
        activity = "Milling - Machine 1" if resource == MILL else "Final Inspection Q.C."
        rows.append(f"Case {case},{activity},{resource},{_ts(start)},{_ts(end)},000:00,10,"
                    f"{part},ID1,S,{done},{rejected},0,")
    (tmp_path / "log.csv").write_text("\n".join(rows) + "\n")
    ingest(tmp_path / "log.csv", "4tu-production", tmp_path / "plant.duckdb")
    path = tmp_path / "scenario.yaml"
    path.write_text(SCENARIO.format(mode=mode, mill=MILL, qc=QC, at=at), encoding="utf-8")
    return path


def _finished(path: Path | dict[str, Any], base_dir: Path | None = None
              ) -> list[tuple[str, float, float]]:
    """(case, release, shipped) of every order one replication ships, hours from ``at``."""
    from shocktwin.rules_engine.runtime import RuleEngine
    from shocktwin.twin.experiment.feed import RecordedFeeds

    sc = (load_scenario(path) if isinstance(path, Path)
          else parse_scenario(path, base_dir=base_dir))
    model = Plant(sc, make_kernel("simpy"), seed=1, replication=0, feeds=RecordedFeeds(sc),
                  rules=RuleEngine, keep_finished=True)
    model.run()
    return sorted(model.finished)


def test_orders_in_progress_go_on_from_their_current_task(tmp_path: Path) -> None:
    # At 03:30: case 1 has been milled (2 pieces rejected then: 8 left) and is being checked
    # since 3 h: its last half hour, shipped at 0.5 h. Case 2 is being milled since 2 h: 1.5 h
    # left; its check runs with the milling from 4.5 h, 1 h from now, for its 1.5 h, so it
    # ships at 2.5 h. Case 3 is released at 30 − 3.5 = 26.5 h and ships 4 h later, at 30.5.
    # Each shipment is the recorded one less 3.5 h. Releases are the recorded ones from 03:30.
    path = _folder(tmp_path, "2024-01-01 03:30")
    assert _finished(path) == [("Case 1", -3.5, 0.5), ("Case 2", -1.5, 2.5),
                               ("Case 3", 26.5, 30.5)]
    kpis = run_replication(load_scenario(path), 0, seed=1).kpis
    # 28 units in 48 h, none scrapped in the run (case 1's rejects came before it); lead
    # times from the start for the orders in work: 8 × 0.5 + 10 × 2.5 + 10 × 4 = 69 h.
    assert kpis["throughput_per_h"] * 48 == pytest.approx(28)
    assert kpis["scrap"] == 0
    assert kpis["release_lead_time_mean"] == pytest.approx(69 / 28)


def test_an_order_waiting_between_tasks_waits_what_is_left(tmp_path: Path) -> None:
    # At 02:30 case 1 has been milled since 2 h and waits for its check (recorded at 3 h,
    # nothing else in the check's way: all of it extraneous wait): half an hour left, then
    # 1 h of work, shipped at 1.5 h. Case 2 has been milled for half an hour; its check
    # begins 2 h from now, ends at 3.5 h, and so does the order.
    path = _folder(tmp_path, "2024-01-01 02:30")
    assert _finished(path)[:2] == [("Case 1", -2.5, 1.5), ("Case 2", -0.5, 3.5)]


def test_a_resampled_run_no_longer_starts_empty(tmp_path: Path) -> None:
    # Bootstrap draws recorded days from hour 0, but the orders in work at 03:30 are there
    # first: case 1's check, already under way, still ships its 8 pieces at 0.5 h.
    path = _folder(tmp_path, "2024-01-01 03:30", mode="bootstrap")
    finished = _finished(path)
    assert ("Case 1", -3.5, 0.5) in finished
    cold = yaml.safe_load(path.read_text())
    del cold["start_state"]
    assert all(release >= 0 for _, release, _ in _finished(cold, tmp_path))


def test_a_snapshot_gives_the_stock_and_the_log_the_orders(tmp_path: Path) -> None:
    # Each unit takes a blank. The snapshot at 03:30 holds 5 blanks (reorder at 0, lots of
    # 10, 12 h lead time); the orders in work took theirs before. Case 3 (10 units) comes
    # at 26.5 h, takes the 5 and backorders 5; the buffer orders a lot, which comes at
    # 38.5 h: case 3 starts then and ships 4 h later, at 42.5 h.
    path = _folder(tmp_path, "2024-01-01 03:30")
    (tmp_path / "stock.csv").write_text("taken_at,kind,item,quantity\n"
                                        "2024-01-01 03:30,stock,blanks,5\n")
    ingest(tmp_path / "stock.csv", "snapshot", tmp_path / "plant.duckdb")
    doc = yaml.safe_load(path.read_text())
    doc["plant"]["suppliers"] = [{"id": "blank-co", "material": "blank", "lead_time": "12h",
                                  "lot_size": 10}]
    doc["plant"]["buffers"] = [{"id": "blanks", "material": "blank", "initial": 0,
                                "reorder_point": 0}]
    for product in doc["plant"]["products"]:
        product["bom"] = {"blank": 1}
    doc["start_state"]["store"] = "plant.duckdb"
    assert _finished(doc, tmp_path) == [("Case 1", -3.5, 0.5), ("Case 2", -1.5, 2.5),
                                        ("Case 3", 26.5, 42.5)]


@pytest.mark.parametrize("at", ["2023-12-31 23:00", "2024-01-02 10:01"])
def test_a_moment_outside_the_log_is_refused_at_its_line(tmp_path: Path, at: str) -> None:
    path = _folder(tmp_path, at)
    with pytest.raises(ReplayError) as caught:
        run_replication(load_scenario(path), 0, seed=1)
    [problem] = caught.value.problems
    assert (problem.file, problem.line, problem.path) == (str(path), AT_LINE, "start_state.at")
    assert problem.message.startswith(
        f"{at} is outside the log the plant replays: it runs from 2024-01-01 00:00 to "
        "2024-01-02 10:00")


def test_ingest_then_run_from_a_moment_of_the_log_through_the_cli(
        tmp_path: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    _folder(tmp_path, "2024-01-01 03:30")
    monkeypatch.chdir(tmp_path)
    ran = runner.invoke(cli.app, ["run", "scenario.yaml", "--json"])
    assert ran.exit_code == 0, ran.output
    bad = runner.invoke(cli.app, ["run", str(_folder(tmp_path, "2024-01-03 00:00"))])
    assert bad.exit_code == 2 and "Traceback" not in bad.output
    assert f"scenario.yaml:{AT_LINE}: start_state.at: 2024-01-03 00:00 is outside the log" in (
        bad.output)


def test_without_a_store_at_needs_a_log() -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(deep_update(VALVE_PLANT, {"start_state": {"at": "2024-01-01 03:30"}}))
    [problem] = caught.value.problems
    assert problem.path == "start_state.at"
    assert "this plant replays none: give the store" in problem.message
