"""The SimPy kernel's lean run loop gives exactly what driving SimPy with a Timeout per
callback gave: the same results on every bundled scenario, SimPy processes on the same
environment interleaved first-in, first-out, and ``Environment.run(until)``'s stop rule."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import simpy
from hypothesis import given, settings
from hypothesis import strategies as st
from simpy.events import Timeout

import shocktwin.twin.experiment.replication as replication
from shocktwin.errors import ShocktwinError
from shocktwin.scenarios import load_scenario, reference_scenario
from shocktwin.scenarios.model import Scenario
from shocktwin.twin.experiment.kpi import _p95_of_sorted
from shocktwin.twin.experiment.replication import ReplicationResult, run_replication
from shocktwin.twin.kernel.simpy_kernel import SimpyKernel

REFERENCE = sorted(reference_scenario("mmc").parent.glob("*.yaml"))
REPLAY = sorted((reference_scenario("mmc").parent.parent / "replay").glob("*.yaml"))
#: Horizons short enough for seconds, long enough to reach most bundled shocks' starts.
HORIZON_H = 30 * 24.0
CROSS_CHECK_HORIZON_H = 14 * 24.0


class TimeoutKernel:
    """The way the kernel drove SimPy before: one Timeout per callback, ``env.run(until)``."""

    name = "simpy"

    def __init__(self) -> None:
        self.env = simpy.Environment()
        self.scheduled = 0

    def now(self) -> float:
        return self.env.now  # type: ignore[no-any-return]

    def schedule(self, delay_h: float, handler: Callable[[Any], None], arg: Any = None) -> None:
        Timeout(self.env, delay_h, arg).callbacks.append(  # type: ignore[union-attr]
            lambda event: handler(event.value))
        self.scheduled += 1

    def run(self, until_h: float) -> None:
        if until_h > self.env.now:
            self.env.run(until=until_h)


def _short(scenario: Scenario, horizon_h: float) -> Scenario:
    h = min(scenario.horizon, horizon_h)
    return scenario.model_copy(update={"horizon": h, "warmup": min(scenario.warmup, h / 4)})


def _assert_same(a: ReplicationResult, b: ReplicationResult) -> None:
    assert a.events == b.events
    assert {k: repr(v) for k, v in a.kpis.items()} == {k: repr(v) for k, v in b.kpis.items()}
    assert a.series.keys() == b.series.keys()
    for key in a.series:
        assert np.array_equal(a.series[key], b.series[key], equal_nan=True), key
    assert np.array_equal(a.snapshot_h, b.snapshot_h)
    assert a.snapshots.keys() == b.snapshots.keys()
    for key in a.snapshots:
        assert np.array_equal(a.snapshots[key], b.snapshots[key], equal_nan=True), key
    assert repr(a.stations) == repr(b.stations)
    assert [e.record() for e in a.log] == [e.record() for e in b.log]


def _load(path: Path) -> Scenario:
    try:
        return load_scenario(path)
    except ShocktwinError as e:  # a replay scenario whose recorded data is not ingested
        pytest.skip(f"{path.name} needs data not present here (`make demo` ingests it): {e}")


@pytest.mark.parametrize("path", REFERENCE + REPLAY, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_bundled_scenario_gives_what_timeouts_gave(
        path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sc = _short(_load(path), HORIZON_H)
    try:
        lean = run_replication(sc, 0, seed=3)
    except ShocktwinError as e:  # the recorded data is read when the model is built
        pytest.skip(f"{path.name} needs data not present here (`make demo` ingests it): {e}")
    monkeypatch.setattr(replication, "make_kernel", lambda engine: TimeoutKernel())
    _assert_same(lean, run_replication(sc, 0, seed=3))
    assert lean.events > 0


@pytest.mark.parametrize("path", REFERENCE, ids=lambda p: p.stem)
def test_salabim_still_agrees_with_simpy(path: Path) -> None:
    # The cross-check gave the same results as SimPy on every bundled scenario before.
    sc = _short(load_scenario(path), CROSS_CHECK_HORIZON_H)
    _assert_same(run_replication(sc, 0, seed=4, engine="simpy"),
                 run_replication(sc, 0, seed=4, engine="salabim"))


def _interleaved(kernel: Any) -> list[tuple[str, float]]:
    """Model callbacks and a SimPy process (timeouts, an event another callback succeeds,
    an interrupt) sharing one environment, with ties at every step."""
    env = kernel.env
    ran: list[tuple[str, float]] = []
    gate = env.event()

    def callback(label: str) -> None:
        ran.append((label, kernel.now()))
        if label == "a1":
            kernel.schedule(1.0, callback, "a1-chained")
            gate.succeed("opened")
        if label == "b2":
            worker.interrupt("stop")

    def process():  # type: ignore[no-untyped-def]
        ran.append(("p-start", env.now))
        yield env.timeout(1.0)
        ran.append(("p1", env.now))
        kernel.schedule(0.0, callback, "from-p")
        value = yield gate
        ran.append((f"p-{value}", env.now))
        try:
            yield env.timeout(5.0)
        except simpy.Interrupt as stop:
            ran.append((f"p-{stop.cause}", env.now))
        yield env.timeout(0.5)
        ran.append(("p-end", env.now))

    kernel.schedule(1.0, callback, "a1")
    worker = env.process(process())
    for delay, label in ((1.0, "b1"), (0.0, "b0"), (2.0, "b2"), (2.5, "b3"), (1.0, "c1")):
        kernel.schedule(delay, callback, label)
    kernel.run(2.0)
    ran.append(("stop", kernel.now()))
    kernel.run(10.0)
    ran.append(("stop", kernel.now()))
    return ran


def test_simpy_processes_on_the_same_environment_interleave_as_with_timeouts() -> None:
    lean, reference = _interleaved(SimpyKernel()), _interleaved(TimeoutKernel())
    assert lean == reference
    # Ties are first-in, first-out across callbacks and the process: the process starts at
    # time 0 in the run, so its one-hour timeout comes after the three set up before it.
    assert [label for label, t in lean if t == 1.0][:4] == ["a1", "b1", "c1", "p1"]


def test_a_failing_simpy_process_crashes_the_run_as_simpy_does() -> None:
    for kernel in (SimpyKernel(), TimeoutKernel()):
        def broken():  # type: ignore[no-untyped-def]
            yield kernel.env.timeout(1.0)  # noqa: B023 - run before the loop moves on
            raise KeyError("broken")

        kernel.env.process(broken())
        with pytest.raises(KeyError, match="broken"):
            kernel.run(5.0)


@pytest.mark.parametrize(("start_h", "until_h"), [(0.0, 10.0), (2.2, 10.4), (0.5, 3)])
def test_run_until_stops_where_simpy_run_stops(start_h: float, until_h: float) -> None:
    # (2.2, 10.4): SimPy stops at now + (until - now) = 10.399999999999999, not at 10.4.
    delays = [0.0, 1.0, until_h - start_h, until_h - start_h - 1e-9, until_h - start_h + 0.5,
              until_h - start_h]
    kernel = SimpyKernel()
    env = simpy.Environment()
    ours: list[tuple[int, float]] = []
    theirs: list[tuple[int, float]] = []
    if start_h:
        kernel.run(start_h)
        env.run(until=start_h)
    for i, delay in enumerate(delays):
        kernel.schedule(delay, lambda k: ours.append((k, kernel.now())), i)
        env.timeout(delay, i).callbacks.append(  # type: ignore[union-attr]
            lambda e: theirs.append((e.value, env.now)))
    kernel.run(until_h)
    env.run(until=until_h)
    assert ours == theirs
    assert kernel.now() == env.now
    assert len(kernel.env._queue) == len(env._queue)  # what did not run stays pending
    kernel.run(until_h + 1.0)
    env.run(until=until_h + 1.0)
    assert ours == theirs and kernel.now() == env.now
    assert len(ours) == len(delays)


def test_the_float_stop_rule_is_exercised() -> None:
    # The (2.2, 10.4) case above differs from a plain comparison with ``until``.
    assert 2.2 + (10.4 - 2.2) != 10.4


def test_a_negative_delay_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        SimpyKernel().schedule(-1.0, print)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.floats(0, 1e4, allow_nan=False), st.sampled_from([0.0, 1.0, 2.5]),
                          st.just(float("nan"))), min_size=1, max_size=60))
def test_a_series_bucket_p95_is_numpys_percentile_bit_for_bit(values: list[float]) -> None:
    # Series buckets read their p95 without a numpy call each; it must be numpy's number.
    x = np.array(values)
    assert np.array_equal([_p95_of_sorted(np.sort(x))], [np.percentile(x, 95)], equal_nan=True)
