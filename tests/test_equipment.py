"""Equipment state, the twin's physical layer: failures by calendar time, by operating
hours and by units made, and planned maintenance, against the renewal-reward results and
a stop traced by hand."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from scipy import stats

from shocktwin.errors import ScenarioError
from shocktwin.scenarios import parse_scenario
from shocktwin.twin.experiment.replication import run_experiment


def _station(**failures: Any) -> dict[str, Any]:
    return {
        "version": 1, "name": "wear", "horizon": "4000h", "warmup": "100h",
        "plant": {
            "stations": [{"id": "m", "process_time": "30min", **failures}],
            "routing": ["m"],
            "demand": {"every": "1h", "due_in": "100h"},
        },
        "experiment": {"replications": 12, "seed": 3},
    }


def _availability_ci(data: dict[str, Any]) -> tuple[float, float]:
    result = run_experiment(parse_scenario(data))
    values = np.array([r.stations[0]["availability"] for r in result.replications])
    half = stats.t.ppf(0.995, values.size - 1) * values.std(ddof=1) / math.sqrt(values.size)
    return values.mean() - half, values.mean() + half


def test_calendar_failures_give_the_alternating_renewal_availability() -> None:
    # Up for MTBF, down for MTTR, whether it works or not: A = MTBF / (MTBF + MTTR).
    low, high = _availability_ci(_station(mtbf="5h", mttr="12min"))
    assert low <= 5 / 5.2 <= high


def test_operating_hour_failures_count_only_the_hours_at_work() -> None:
    # One unit an hour, 30 min each: 0.5 operating hours an hour, so failures come at
    # 0.5 / MTBF an hour and the station is down 0.5 · MTTR / MTBF of the time
    # (renewal-reward): 0.5 · 0.2 / 5 = 2 %.
    low, high = _availability_ci(_station(mtbf="5h", mttr="12min",
                                          failure_basis="operating"))
    assert low <= 0.98 <= high
    assert not low <= 5 / 5.2 <= high  # and visibly not the calendar figure


def test_unit_count_failures_follow_the_units_made() -> None:
    # One unit an hour and a failure every 10 units on average: 0.1 failures an hour of
    # 30 min each, so the station is down 5 % of the time.
    low, high = _availability_ci(_station(units_between_failures=10, mttr="30min"))
    assert low <= 0.95 <= high


def test_planned_maintenance_stops_the_station_and_work_resumes_after_it() -> None:
    # By hand: one unit an hour from 1 h, 30 min each. The stop from 10:15 to 12:15
    # catches the 10 h unit with 15 min left (done 12:30, lead 2.5 h); the 11 h and 12 h
    # units then wait (done 13:00 and 13:30), the 13 h one is done at 14:00; from 14 h on
    # no unit waits. 19 units before the 20 h horizon: 15 of 0.5 h and 2.5 + 2 + 1.5 + 1 h.
    data = _station(maintenance={"every": "24h", "duration": "2h", "first": "10h15min"})
    data.update(horizon="20h", warmup="0h", experiment={"replications": 1})
    rep = run_experiment(parse_scenario(data)).replications[0]
    assert rep.kpis["throughput_per_h"] * 20 == pytest.approx(19)
    assert rep.kpis["release_lead_time_mean"] == pytest.approx((15 * 0.5 + 7.0) / 19)


@pytest.mark.parametrize(("failures", "message"), [
    ({"mtbf": "5h", "units_between_failures": 10, "mttr": "1h"},
     "give mtbf or units_between_failures, not both"),
    ({"units_between_failures": 10}, "give both mtbf (or units_between_failures) and mttr"),
    ({"failure_basis": "operating"}, "failure_basis operating needs an mtbf"),
    ({"maintenance": {"every": "2h", "duration": "3h"}},
     "a maintenance stop must be shorter than its interval"),
])
def test_bad_failure_settings_are_refused_with_the_reason(failures: dict[str, Any],
                                                          message: str) -> None:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(_station(**failures))
    assert any(message in p.message for p in info.value.problems), info.value.problems


def _shifts(calendar: dict[str, Any], horizon: str = "48h") -> dict[str, Any]:
    data = _station()
    data["plant"]["stations"][0]["calendar"] = "day"
    data["plant"]["calendars"] = {"day": calendar}
    data.update(horizon=horizon, warmup="0h", experiment={"replications": 1})
    return data


def test_work_waits_for_the_shift_and_the_backlog_goes_first() -> None:
    # By hand: one shift 08:00-16:00 on working days, the run starting on a Monday at
    # 00:00; one order an hour from 1 h, 30 min of working time each. Monday: units 1-7
    # wait for 08:00, then unit k is done at 8 + k/2 h (lead 8 − k/2) up to unit 15 at
    # 15:30; leads 7.5 … 0.5, summing to 60 h. Units 16-31 wait for Tuesday's shift
    # (32 h): unit k is done at 32 + (k − 15)/2 (lead 24.5 − k/2); before the 40 h horizon
    # units 16-30, leads summing to 195 h. 30 units, mean lead 255 / 30 = 8.5 h.
    data = _shifts({"days": ["mon", "tue", "wed", "thu", "fri"], "shifts": ["08:00-16:00"]},
                   horizon="40h")
    rep = run_experiment(parse_scenario(data)).replications[0]
    assert rep.kpis["throughput_per_h"] * 40 == pytest.approx(30)
    assert rep.kpis["release_lead_time_mean"] == pytest.approx(8.5)


def test_a_calendar_spans_the_week_from_the_day_the_run_starts() -> None:
    from shocktwin.scenarios.model import Calendar

    cal = Calendar(days=["mon", "sat"], shifts=["22:00-24:00", "00:00-06:00"],
                   starts_on="fri")
    # Friday is hour 0, Saturday 24, Monday 72; no two working days touch here.
    assert cal.working_spans_h() == [(24.0, 30.0), (46.0, 48.0), (72.0, 78.0), (94.0, 96.0)]
    # Monday's night shift runs on into Tuesday's early one: one span across midnight.
    nights = Calendar(days=["mon", "tue"], shifts=["00:00-06:00", "22:00-24:00"])
    assert nights.working_spans_h() == [(0.0, 6.0), (22.0, 30.0), (46.0, 48.0)]
    with pytest.raises(ValueError, match="shifts overlap"):
        Calendar(days=["mon"], shifts=["06:00-14:00", "13:00-22:00"])


def test_a_station_names_a_calendar_the_plant_has() -> None:
    data = _shifts({"days": ["mon"], "shifts": ["08:00-16:00"]})
    data["plant"]["stations"][0]["calendar"] = "dya"
    with pytest.raises(ScenarioError) as info:
        parse_scenario(data)
    assert any("unknown calendar 'dya'; did you mean 'day'" in p.message
               for p in info.value.problems)
