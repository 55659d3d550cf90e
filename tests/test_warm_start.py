"""A warm start: the plant as it stands at the start of a run (stock, open purchase
orders, work in progress, inspection switching states), traced by hand."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import first_inspection_severity

from shocktwin.errors import ScenarioError
from shocktwin.scenarios import parse_scenario
from shocktwin.twin.experiment.replication import run_experiment


def _plant(start_state: dict[str, Any], horizon: str = "60h") -> dict[str, Any]:
    return {
        "version": 1, "name": "warm", "horizon": horizon,
        "plant": {
            "suppliers": [{"id": "maker", "material": "valve", "lead_time": "10h",
                           "lot_size": 50}],
            "buffers": [{"id": "valves", "material": "valve", "initial": 100,
                         "reorder_point": 30}],
            "stations": [{"id": "m", "process_time": "30min"}],
            "routing": ["m"],
            "demand": {"every": "1h", "due_in": "1h"},
        },
        "start_state": start_state,
        "experiment": {"replications": 1, "bucket": "1h"},
    }


def test_stock_and_an_open_order_decide_when_the_plant_runs_short() -> None:
    # By hand: 10 valves on hand and 50 on order, arriving at 20 h; one valve an hour from
    # 1 h. The position (60) is above the reorder point, so nothing is ordered; the stock
    # is gone at 10 h and the plant is out of stock until the lot arrives at 20 h. Then the
    # 10 backorders take 10 valves (40 left); the next order goes out at 30 h and arrives
    # at 40 h, before the stock is gone. 10 h of stock-out in all.
    rep = run_experiment(parse_scenario(_plant({
        "stock": {"valves": 10},
        "open_orders": [{"supplier": "maker", "quantity": 50, "arrives_in": "20h"}]}))
    ).replications[0]
    assert rep.kpis["stockout_hours"] == pytest.approx(10.0)
    # Cold, with its 100 valves, the plant never runs short.
    cold = _plant({})
    del cold["start_state"]
    assert run_experiment(parse_scenario(cold)).replications[0].kpis["stockout_hours"] == 0


def test_work_in_progress_is_finished_first_and_delays_the_first_orders() -> None:
    # By hand: 4 units at m when the run starts, due at 1 h, done at 0.5, 1, 1.5 and 2 h
    # (late). The order of 1 h waits behind them (done 2.5, due 2: late), the one of 2 h
    # is done at 3 (on time), from then on every unit takes its 30 min. Orders due before
    # the 10 h horizon: the 4-unit one and those of 1..8 h, 7 of 9 on time. Release lead
    # times: 0.5 + 1 + 1.5 + 2 for the four, 1.5 and 1 for the next two, 0.5 for the other
    # seven: 11 h over 13 units.
    rep = run_experiment(parse_scenario(_plant(
        {"wip": [{"station": "m", "units": 4, "due_in": "1h"}]}, horizon="10h"))
    ).replications[0]
    assert rep.kpis["otd"] == pytest.approx(7 / 9)
    assert rep.kpis["release_lead_time_mean"] == pytest.approx(11 / 13)
    assert rep.kpis["throughput_per_h"] * 10 == pytest.approx(13)


def test_incoming_inspection_resumes_at_its_switching_state() -> None:
    assert first_inspection_severity({"inspection": {"valve": "tightened"}}) == "tightened"
    assert first_inspection_severity(None) == "normal"


def test_a_warm_start_names_only_what_the_plant_has() -> None:
    data = _plant({"stock": {"valvs": 10},
                   "open_orders": [{"supplier": "makr", "quantity": 5, "arrives_in": "1h"}],
                   "wip": [{"station": "n", "units": 1, "due_in": "1h"}]})
    with pytest.raises(ScenarioError) as info:
        parse_scenario(data)
    text = "\n".join(f"{p.path}: {p.message}" for p in info.value.problems)
    assert "start_state.stock.valvs: unknown stock 'valvs'; did you mean 'valves'" in text
    assert "start_state.open_orders[0].supplier: unknown supplier 'makr'" in text
    assert "start_state.wip[0].station: unknown station 'n'" in text
