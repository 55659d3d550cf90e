"""Invariants on random plants (Hypothesis): units are conserved at every sampled instant,
stock never goes negative, the clock never goes back."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shocktwin.scenarios import parse_scenario
from shocktwin.twin.experiment.kpi import series_of
from shocktwin.twin.experiment.replication import build_model, run_replication
from shocktwin.twin.kernel import Handler, Kernel, make_kernel

durations = st.sampled_from(["1min", "3min", "6min", "10min"])


@st.composite
def plants(draw: st.DrawFn) -> dict:
    n_process = draw(st.integers(1, 3))
    stations = [{"id": "iqc", "kind": "inspection", "inspectors": draw(st.integers(1, 3)),
                 "time_per_unit": draw(durations),
                 "detection": draw(st.sampled_from([0.5, 0.9, 1.0])),
                 "false_reject": draw(st.sampled_from([0.0, 0.05])),
                 "sample_fraction": draw(st.sampled_from([0.3, 1.0]))}]
    for i in range(n_process):
        st_ = {"id": f"p{i}", "servers": draw(st.integers(1, 3)),
               "process_time": {"dist": "exponential", "mean": draw(durations)},
               "defect_rate": draw(st.sampled_from([0.0, 0.02]))}
        if draw(st.booleans()):
            st_.update(mtbf=draw(st.sampled_from(["2h", "8h"])),
                       mttr=draw(st.sampled_from(["10min", "1h"])))
        stations.append(st_)
    stations.append({"id": "rel", "kind": "release", "sla": "4h",
                     "reviewers": 1, "review_time": "1min"})
    return {
        "version": 1, "name": "random", "horizon": draw(st.sampled_from(["2d", "3d"])),
        "warmup": "6h",
        "plant": {
            "suppliers": [{"id": "s", "material": "m", "lot_size": draw(st.integers(20, 300)),
                           "lead_time": {"dist": "exponential", "mean": draw(durations)},
                           "defect_rate": draw(st.sampled_from([0.0, 0.05, 0.2]))}],
            "buffers": [{"id": "b", "material": "m", "initial": draw(st.integers(0, 200)),
                         "reorder_point": draw(st.integers(0, 100))}],
            "stations": stations,
            "routing": [s["id"] for s in stations],
            "bom": {"m": draw(st.integers(1, 3))},
            "demand": {"rate": f"{draw(st.integers(2, 12))}/h", "due_in": "1d"},
        },
        "experiment": {"bucket": "2h"},
    }


class ClockWatch:
    """A kernel that notes the engine's clock each time it calls a model handler."""

    def __init__(self, inner: Kernel) -> None:
        self.inner = inner
        self.name = inner.name
        self.seen: list[float] = []

    @property
    def scheduled(self) -> int:
        return self.inner.scheduled

    def now(self) -> float:
        return self.inner.now()

    def schedule(self, delay_h: float, handler: Handler, arg: object = None) -> None:
        def watched(a: object, handler: Handler = handler) -> None:
            self.seen.append(self.inner.now())
            handler(a)

        self.inner.schedule(delay_h, watched, arg)

    def run(self, until_h: float) -> None:
        self.inner.run(until_h)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plants(), st.integers(0, 2**32 - 1), st.sampled_from(["simpy", "salabim"]))
def test_units_conserved_stock_nonnegative_clock_monotone(spec: dict, seed: int,
                                                          engine: str) -> None:
    scenario = parse_scenario(spec)
    kernel = ClockWatch(make_kernel(engine))
    record = build_model(scenario, kernel, seed=seed, replication=0).run()
    # The engine's own clock, read at every event it ran: never back, never at the horizon.
    seen = np.asarray(kernel.seen)
    assert seen.size > 100
    assert (np.diff(seen) >= 0).all() and seen[0] >= 0 and seen[-1] < scenario.horizon
    s = record.snapshots
    # in = out + WIP + scrap, with WIP counted from the stations themselves.
    np.testing.assert_array_equal(s["started"], s["released"] + s["scrapped"] + s["wip_count"])
    assert (s["on_hand_min"] >= 0).all()
    assert record.snapshot_h[-1] == scenario.horizon
    # Areas under non-negative levels never decrease.
    for key in ("wip_area", "inspection_busy_area", "stockout_area"):
        assert (np.diff(s[key]) >= -1e-9).all()
    # The watched run is the run: the same KPI series as an unwatched replication.
    plain = run_replication(scenario, 0, seed=seed, engine=engine)
    watched = series_of(record, scenario.bucket_h)
    assert plain.series.keys() == watched.keys()
    for key, values in plain.series.items():
        np.testing.assert_array_equal(values, watched[key])


def test_conservation_with_breakdowns_on_the_demo_line(make_scenario) -> None:  # type: ignore[no-untyped-def]
    rep = run_replication(make_scenario(), 0, seed=3)
    s = rep.snapshots
    assert s["scrapped"][-1] > 0 and s["released"][-1] > 0
    np.testing.assert_array_equal(s["started"], s["released"] + s["scrapped"] + s["wip_count"])
