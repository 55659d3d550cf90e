"""A warm start read from a store (``start_state: {store, at}``): a snapshot ingested from
CSV gives the very run the same state written inline gives, traced by hand; ``at`` picks
the snapshot; the inspection switching state comes through; and bad bindings are reported
with their file, line and reason, through the library and the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import VALVE_PLANT, deep_update, first_inspection_severity
from typer.testing import CliRunner

from shocktwin import cli
from shocktwin.edge_replay.ingest import ingest
from shocktwin.errors import ReplayError, ScenarioError
from shocktwin.scenarios import load_scenario, parse_scenario
from shocktwin.source import read_yaml
from shocktwin.twin.experiment.replication import run_experiment

# The snapshot at 06:00 on 1 March: 10 valves on hand, 50 on order arriving 20 h later
# (02:00 next day) and 4 units at m for an order due an hour later. The one at 06:00 on
# 2 March: 40 valves and nothing else.
SNAPSHOT_CSV = """\
taken_at,kind,item,quantity,due_at,product,state
2012-03-01 06:00,stock,valves,10,,,
2012-03-01 06:00,open_order,maker,50,2012-03-02 02:00,,
2012-03-01 06:00,wip,m,4,2012-03-01 07:00,,
2012-03-02 06:00,stock,valves,40,,,
"""

SCENARIO = """\
version: 1
name: warm_from_store
horizon: 60h
plant:
  suppliers:
    - {{id: maker, material: valve, lead_time: 10h, lot_size: 50}}
  buffers:
    - {{id: valves, material: valve, initial: 100, reorder_point: 30}}
  stations:
    - {{id: m, process_time: 30min}}
  routing: [m]
  demand: {{every: 1h, due_in: 1h}}
start_state:
  store: {store}
  at: "{at}"
experiment: {{replications: 1, bucket: 1h}}
"""
#: The line of each key of ``start_state:`` in SCENARIO.
LINE = {"start_state": 13, "store": 14, "at": 15}

#: The same state written inline.
INLINE: dict[str, Any] = {
    "stock": {"valves": 10},
    "open_orders": [{"supplier": "maker", "quantity": 50, "arrives_in": "20h"}],
    "wip": [{"station": "m", "units": 4, "due_in": "1h"}],
}


def _folder(tmp_path: Path, csv: str = SNAPSHOT_CSV, *, at: str = "2012-03-01 06:00",
            store: str = "plant.duckdb") -> Path:
    """A folder with the snapshot ingested into plant.duckdb beside the scenario."""
    (tmp_path / "snapshot.csv").write_text(csv, encoding="utf-8")
    ingest(tmp_path / "snapshot.csv", "snapshot", tmp_path / "plant.duckdb")
    path = tmp_path / "scenario.yaml"
    path.write_text(SCENARIO.format(store=store, at=at), encoding="utf-8")
    return path


def _inline(path: Path) -> Any:
    data, lines = read_yaml(path)
    data["start_state"] = INLINE
    return parse_scenario(data, file=str(path), lines=lines, base_dir=path.parent)


def test_a_stored_snapshot_runs_exactly_as_the_same_state_written_inline(
        tmp_path: Path) -> None:
    # By hand, one valve per unit, one unit an hour from 1 h, due an hour after it, 30 min
    # at m; 10 valves, 50 arriving at 20 h (reorder point 30, lead time 10 h, lot 50).
    # - The 4 units in work are done at 0.5, 1, 1.5, 2 h (due 1 h: late; leads 5 h in all).
    #   The 1 h order is done at 2.5 (late, lead 1.5), the 2 h one at 3 (on time, 1), those
    #   of 3-10 h half an hour after they come (on time, 8 × 0.5).
    # - The position (60) stays above 30 until the lot: the 10th valve goes at 10 h and the
    #   orders of 11-20 h wait for the lot at 20 h: 10 h out of stock. They start at 20 h and
    #   are done at 20.5 ... 25 (late; leads 0.5 ... 5, 27.5 h in all). The order of k h
    #   (21 ≤ k ≤ 28) queues behind them, done at 25.5 + (k − 21)/2: late up to 27 h, on
    #   time at 28 h (29 = its due); leads 4.5 down to 1, 22 h in all. From 29 h every order
    #   is done half an hour after it comes (31 units to 59 h, 15.5 h).
    # - The position is 30 at 30 h: 50 more arrive at 40 h, with 20 still on hand.
    # Orders due before the 60 h horizon: the 4-unit one and those of 1-58 h, 59 in all, of
    # which 19 are late (the wip order, 1 h, 11-27 h). 63 units out, leads 76.5 h.
    path = _folder(tmp_path)
    stored = run_experiment(load_scenario(path)).replications[0]
    inline = run_experiment(_inline(path)).replications[0]
    assert stored.kpis["stockout_hours"] == pytest.approx(10.0)
    assert stored.kpis["otd"] == pytest.approx(40 / 59)
    assert stored.kpis["throughput_per_h"] * 60 == pytest.approx(63)
    assert stored.kpis["release_lead_time_mean"] == pytest.approx(76.5 / 63)
    np.testing.assert_equal(stored.kpis, inline.kpis)  # exactly, NaN (no inspection) too
    assert stored.series.keys() == inline.series.keys()
    for name, values in stored.series.items():
        np.testing.assert_array_equal(values, inline.series[name], err_msg=name)
    assert [(e.t, e.kind) for e in stored.log] == [(e.t, e.kind) for e in inline.log]


def test_at_picks_the_snapshot(tmp_path: Path) -> None:
    # A day later the plant holds 40 valves and nothing on order: the position reaches 30 at
    # 10 h, the lot comes at 20 h with 20 still on hand, and nothing runs out; every order
    # is done half an hour after it comes (59 units, all on time).
    rep = run_experiment(load_scenario(_folder(tmp_path, at="2012-03-02 06:00"))
                         ).replications[0]
    assert rep.kpis["stockout_hours"] == 0
    assert rep.kpis["otd"] == 1
    assert rep.kpis["release_lead_time_mean"] == pytest.approx(0.5)


def test_incoming_inspection_resumes_at_the_stored_switching_state(tmp_path: Path) -> None:
    (tmp_path / "state.csv").write_text("taken_at,kind,item,state\n"
                                        "2012-03-01 06:00,inspection,valve,tightened\n")
    ingest(tmp_path / "state.csv", "snapshot", tmp_path / "plant.duckdb")
    stored = {"store": str(tmp_path / "plant.duckdb"), "at": "2012-03-01 06:00"}
    assert first_inspection_severity(stored) == "tightened"


def _refusal(path: Path) -> Any:
    with pytest.raises(ReplayError) as caught:
        run_experiment(load_scenario(path))
    return caught.value.problems


def _refused_at(path: Path, key: str) -> Any:
    """The one problem a run of ``path`` is refused with, checked to stand at
    ``start_state.<key>`` of the scenario file."""
    [problem] = _refusal(path)
    assert (problem.file, problem.line, problem.path) == (str(path), LINE[key],
                                                          f"start_state.{key}")
    return problem


def test_no_snapshot_at_that_time_is_reported_at_at_with_the_nearest(tmp_path: Path) -> None:
    path = _folder(tmp_path, at="2012-03-01 07:00")
    problem = _refused_at(path, "at")
    assert problem.message.startswith(
        "no snapshot taken at 2012-03-01 07:00 in the snapshots table; 2 snapshots are held "
        "from 2012-03-01 06:00 to 2012-03-02 06:00; the nearest: 2012-03-01 06:00, "
        "2012-03-02 06:00 (store ")


def test_an_item_the_plant_lacks_is_reported_at_its_row(tmp_path: Path) -> None:
    csv = SNAPSHOT_CSV.replace("stock,valves,10", "stock,valvs,10").replace(
        "wip,m,4", "wip,n,4")
    path = _folder(tmp_path, csv)
    stock, wip = _refusal(path)
    source = str(tmp_path / "snapshot.csv")
    assert (stock.file, stock.line, stock.path) == (source, 2, "item")
    assert stock.message.startswith("unknown stock 'valvs'; did you mean 'valves'?")
    assert stock.message.endswith(f"(read for the warm start at {path}:{LINE['start_state']})")
    assert (wip.file, wip.line) == (source, 4)
    assert wip.message.startswith("unknown station 'n'")


def test_another_plants_snapshot_is_named_as_such(tmp_path: Path) -> None:
    other = ("taken_at,kind,item,quantity,due_at\n"
             "2012-03-01 06:00,stock,bolts,500,\n"
             "2012-03-01 06:00,open_order,bolt_works,1000,2012-03-03 06:00\n"
             "2012-03-01 06:00,wip,press,20,2012-03-01 18:00\n")
    path = _folder(tmp_path, other)
    problem = _refused_at(path, "store")
    assert problem.message.startswith(
        "the plant has none of the 3 items of the snapshot taken at 2012-03-01 06:00 (stock "
        "'bolts', open_order 'bolt_works', wip 'press'); it looks like another plant's "
        "snapshot")


def test_a_store_without_the_table_or_no_store_is_reported_at_store(tmp_path: Path) -> None:
    path = _folder(tmp_path)
    (tmp_path / "plant.duckdb").unlink()
    (tmp_path / "alarms.csv").write_text("machine,start,end\nm,2012-03-01 01:00,"
                                         "2012-03-01 02:00\n")
    ingest(tmp_path / "alarms.csv", "downtime", tmp_path / "plant.duckdb")
    problem = _refused_at(path, "store")
    assert "holds no snapshots table" in problem.message
    assert "--format snapshot" in problem.message
    path.write_text(SCENARIO.format(store="nowhere.duckdb", at="2012-03-01 06:00"))
    problem = _refused_at(path, "store")
    assert "nowhere.duckdb does not exist" in problem.message


@pytest.mark.parametrize(("start_state", "fragment"), [
    ({"store": "plant.duckdb", "at": "2012-03-01 06:00", "stock": {"valves": 1}},
     "a warm start is read from a store's snapshot or written here: give store and at, or "
     "stock, not both"),
    ({"store": "plant.duckdb"}, "a warm start from a store needs at"),
    ({"stock": {"valves": 1}, "at": "2012-03-01 06:00"},
     "without store, at is a moment of the operations log the plant replays, and this plant "
     "replays none: give the store whose snapshot was taken at that time"),
    ({"stock": {"valves": 1}, "source": "snapshot.csv"}, "give store too"),
    ({"store": "plant.duckdb", "at": "2012-03-01 06:00+01:00"}, "without a zone"),
])
def test_a_stored_warm_start_is_the_only_form_given(start_state: dict[str, Any],
                                                    fragment: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(deep_update(VALVE_PLANT, {"start_state": start_state}))
    assert any(fragment in p.message and p.path.startswith("start_state")
               for p in caught.value.problems), caught.value.problems


def test_an_inline_inspection_state_names_a_material_of_the_plant() -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(deep_update(VALVE_PLANT,
                                   {"start_state": {"inspection": {"valv": "tightened"}}}))
    [problem] = caught.value.problems
    assert problem.path == "start_state.inspection.valv"
    assert problem.message.startswith("unknown material 'valv'; did you mean 'valve'?")


def test_ingest_then_run_through_the_cli(tmp_path: Path, runner: CliRunner,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    # As after a fresh clone: a snapshot export and a scenario in a folder, paths relative.
    monkeypatch.chdir(tmp_path)
    Path("snapshot.csv").write_text(SNAPSHOT_CSV, encoding="utf-8")
    Path("scenario.yaml").write_text(SCENARIO.format(store="plant.duckdb",
                                                     at="2012-03-01 06:00"), encoding="utf-8")
    ingested = runner.invoke(cli.app, ["ingest", "snapshot.csv", "--format", "snapshot",
                                       "--db", "plant.duckdb", "--json"])
    assert ingested.exit_code == 0, ingested.output
    [table] = json.loads(ingested.stdout)["tables"]
    assert (table["table"], table["loaded"], table["quarantined"]) == ("snapshots", 4, 0)
    ran = runner.invoke(cli.app, ["run", "scenario.yaml", "--json"])
    assert ran.exit_code == 0, ran.output
    kpis = json.loads(ran.stdout)["kpis"]
    assert kpis["stockout_hours"]["mean"] == pytest.approx(10.0)
    assert kpis["otd"]["mean"] == pytest.approx(40 / 59)

    Path("scenario.yaml").write_text(SCENARIO.format(store="plant.duckdb",
                                                     at="2012-03-01 07:00"), encoding="utf-8")
    bad = runner.invoke(cli.app, ["run", "scenario.yaml"])
    assert bad.exit_code == 2 and "Traceback" not in bad.output
    assert (f"scenario.yaml:{LINE['at']}: start_state.at: no snapshot taken at "
            "2012-03-01 07:00") in bad.output
    assert "the nearest: 2012-03-01 06:00, 2012-03-02 06:00" in bad.output


def test_the_journal_names_the_snapshot_store_it_read(tmp_path: Path) -> None:
    from shocktwin.twin.journal.record import data_provenance

    scenario = load_scenario(_folder(tmp_path))
    [store] = data_provenance(scenario)
    assert Path(store["store"]).resolve() == (tmp_path / "plant.duckdb").resolve()
