"""Searches share what their severities share (twin.experiment.prefix): every severity of a
replication continues from one run paused where the searched shock starts, and gives the
same result, journal hash for journal hash, as a run of that severity from the start."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pytest

from shocktwin.errors import SimulationError
from shocktwin.scenarios import load_scenario, reference_scenario
from shocktwin.scenarios.model import Scenario, mtd_range
from shocktwin.twin.experiment.executor import Executor, ExecutorSpec, Runner
from shocktwin.twin.experiment.prefix import SWITCH, SharedPrefix, open_shared_prefix
from shocktwin.twin.experiment.replication import ReplicationResult, _result, run_replication
from shocktwin.twin.journal.record import journal_hash
from shocktwin.twin.model.base import Model
from shocktwin.twin.resilience.mtd import _with_severity, find_mtd

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")

REFERENCE = Path(reference_scenario("demo_plant")).parent
SEARCHED = sorted(p.stem for p in REFERENCE.glob("*.yaml")
                  if "\nmtd:" in p.read_text(encoding="utf-8"))
PROCESS = ExecutorSpec(Executor.PROCESS, workers=2)


def quake(horizon_d: float = 20.0) -> Scenario:
    """valve_quake cut to ``horizon_d`` days (the quake starts on day 10): quick runs."""
    sc = load_scenario(reference_scenario("valve_quake"))
    return sc.model_copy(update={"horizon": horizon_d * 24.0})


def digest(scenario: Scenario, run: ReplicationResult) -> str:
    """The run's journal hash, and its snapshots (the journal does not cover them)."""
    h = hashlib.sha256(journal_hash(_result(scenario, scenario.experiment.seed,
                                            scenario.experiment.engine, [run], 0.95)).encode())
    h.update(np.ascontiguousarray(run.snapshot_h, dtype="<f8").tobytes())
    for key in sorted(run.snapshots):
        h.update(key.encode())
        h.update(np.ascontiguousarray(run.snapshots[key], dtype="<f8").tobytes())
    return h.hexdigest()


def shared_runs(scenario: Scenario, shock: str, points: list[tuple[int, float]],
                executor: ExecutorSpec = PROCESS, engine: str = "simpy",
                ) -> tuple[dict[tuple[int, float], ReplicationResult], SharedPrefix]:
    def variant(s: float) -> Scenario:
        return _with_severity(scenario, shock, s)

    prefix = open_shared_prefix(variant, shock, severities=sorted({s for _, s in points}),
                                seed=scenario.experiment.seed, engine=engine,
                                executor=executor, worth_s=0.0)
    assert prefix is not None
    got: dict[tuple[int, float], ReplicationResult] = {}
    with prefix:
        prefix.run(points, lambda i, res: got.__setitem__(points[i], res))
    return got, prefix


def assert_identical(scenario: Scenario, shock: str, points: list[tuple[int, float]],
                     engine: str = "simpy") -> SharedPrefix:
    got, prefix = shared_runs(scenario, shock, points, engine=engine)
    for r, s in points:
        variant = _with_severity(scenario, shock, s)
        full = run_replication(variant, r, seed=scenario.experiment.seed, engine=engine)
        assert digest(variant, got[(r, s)]) == digest(variant, full), (shock, r, s)
    return prefix


def searched_points(scenario: Scenario, shock_id: str, reps: int = 1) -> list[tuple[int, float]]:
    assert scenario.mtd is not None
    item = next(i for i in scenario.mtd.shocks if i.shock == shock_id)
    shock = next(s for s in scenario.shocks if s.id == shock_id)
    low, high, _ = mtd_range(shock, item)
    return [(r, s) for r in range(reps) for s in (low, (low + high) / 2, high)]


def test_a_search_shares_the_run_up_to_the_shock_and_gives_the_same_journal() -> None:
    sc = quake()
    prefix = assert_identical(sc, "quake", searched_points(sc, "quake", reps=2))
    # Two replications, three severities each: the stretch before the quake ran twice.
    assert prefix.prefixes_computed == 2


def test_the_quality_systems_work_continues_identically() -> None:
    sc = load_scenario(reference_scenario("eda_toolchain_prepared"))
    assert sc.mtd is not None
    shock = sc.mtd.shocks[0].shock
    assert_identical(sc, shock, searched_points(sc, shock))


def test_the_salabim_engine_continues_identically_too() -> None:
    sc = quake()
    assert_identical(sc, "quake", searched_points(sc, "quake")[:2], engine="salabim")


@pytest.mark.slow
@pytest.mark.parametrize("name", SEARCHED)
def test_every_bundled_search_continues_identically(name: str) -> None:
    sc = load_scenario(reference_scenario(name))
    assert sc.mtd is not None
    for item in sc.mtd.shocks:
        assert_identical(sc, item.shock, searched_points(sc, item.shock, reps=2))


def test_random_occurrences_continue_from_the_first_one() -> None:
    from shocktwin.shock_library.base import Onset

    sc = quake(30.0)
    shock = next(s for s in sc.shocks if s.id == "quake")
    # Occurrences every 6 days on average from day 5: several within the 30 days, each
    # of the searched duration; the run pauses at the first and every one changes.
    poisson = shock.model_copy(update={"start": 120.0, "onset": Onset.model_validate(
        {"rate": "1/6d", "max_occurrences": 4})})
    sc = sc.model_copy(update={"shocks": [poisson if s.id == "quake" else s
                                          for s in sc.shocks]})
    run = run_replication(_with_severity(sc, "quake", 48.0), 0, seed=sc.experiment.seed)
    assert sum(1 for e in run.log if type(e).__name__ == "ShockStarted") >= 2
    assert_identical(sc, "quake", [(0, 48.0), (0, 240.0), (1, 96.0)])


def test_a_search_gives_the_same_mtd_with_and_without_sharing(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import shocktwin.twin.experiment.prefix as prefix_module

    monkeypatch.setattr(prefix_module, "WORTH_S", 0.0)  # share even this short prefix
    sc = quake()
    assert sc.mtd is not None
    small = sc.model_copy(update={"mtd": sc.mtd.model_copy(update={
        "replications": 3, "max_replications": 3, "scan": 1, "precision": None})})
    item = small.mtd.shocks[0].model_copy(update={"resolution": "2d"})  # type: ignore[union-attr]
    with Runner(PROCESS) as runner:
        shared = find_mtd(small, item, executor=runner)
        plain = find_mtd(small, item, executor=runner, share_prefix=False)
    assert shared.thresholds == plain.thresholds
    assert (shared.mtd, shared.ci_low, shared.ci_high, shared.runs) == (
        plain.mtd, plain.ci_low, plain.ci_high, plain.runs)


def test_sharing_is_off_where_it_cannot_hold(monkeypatch: pytest.MonkeyPatch) -> None:
    sc = load_scenario(reference_scenario("valve_quake"))

    def variant(s: float) -> Scenario:
        return _with_severity(sc, "quake", s)

    def opened(executor: ExecutorSpec, worth_s: float | None = 0.0) -> SharedPrefix | None:
        return open_shared_prefix(variant, "quake", severities=[240.0, 480.0], seed=1,
                                  engine="simpy", executor=executor, worth_s=worth_s)

    assert opened(ExecutorSpec(Executor.DASK)) is None  # workers elsewhere
    assert opened(ExecutorSpec(Executor.LOCAL)) is not None
    monkeypatch.setenv(SWITCH, "0")
    assert opened(PROCESS) is None


def test_a_prefix_too_short_to_be_worth_a_fork_is_run_again() -> None:
    """valve_quake's quake starts on day 10 of 60: its prefix, a sixth of a run the budget
    estimates at about 0.6 CPU s, is below WORTH_S; the tool-chain switch on day 31 is not."""
    from shocktwin.twin.experiment.budget import estimate_run
    from shocktwin.twin.experiment.prefix import WORTH_S

    sc = load_scenario(reference_scenario("valve_quake"))
    cpu = estimate_run(sc, 1).cpu_s
    opened = {}
    for shock in ("quake", "new-toolchain"):
        start = next(s for s in sc.shocks if s.id == shock).start
        prefix = open_shared_prefix(lambda s, shock=shock: _with_severity(sc, shock, s),
                                    shock, severities=[24.0, 48.0], seed=1, engine="simpy",
                                    executor=PROCESS)
        opened[shock] = prefix is not None
        assert opened[shock] == (cpu * start / sc.horizon >= WORTH_S)
    assert opened == {"quake": False, "new-toolchain": True}


def test_a_run_that_fails_raises_its_error_here(monkeypatch: pytest.MonkeyPatch) -> None:
    sc = load_scenario(reference_scenario("valve_quake"))

    def broken(self: Model) -> None:
        raise ValueError("the model broke after the pause")

    monkeypatch.setattr(Model, "finish", broken)
    with pytest.raises(ValueError, match="broke after the pause"):
        shared_runs(sc, "quake", [(0, 240.0)])


def test_a_keeper_that_cannot_build_raises_its_error_here(
        monkeypatch: pytest.MonkeyPatch) -> None:
    sc = load_scenario(reference_scenario("valve_quake"))

    def broken(self: Model) -> None:
        raise SimulationError("cannot start")

    monkeypatch.setattr(Model, "begin", broken)
    with pytest.raises(SimulationError, match="cannot start"):
        shared_runs(sc, "quake", [(0, 240.0)])


def test_keepers_beyond_the_memory_allowance_are_made_again_when_needed(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import shocktwin.twin.experiment.prefix as prefix_module

    monkeypatch.setattr(prefix_module, "MEMORY_SHARE", 1e-12)  # room for `workers` only
    sc = quake()
    points = [(r, s) for s in (240.0, 480.0) for r in range(3)]
    prefix = assert_identical(sc, "quake", points)
    assert prefix.prefixes_computed > 3  # three replications, two keepers at a time


def test_a_run_that_dies_without_its_result_is_an_error_here(
        monkeypatch: pytest.MonkeyPatch) -> None:
    sc = quake()

    def dies(self: Model) -> None:
        os._exit(9)  # as if killed part-way: no result, no exception

    monkeypatch.setattr(Model, "finish", dies)
    with pytest.raises(SimulationError, match="ended without its result"):
        shared_runs(sc, "quake", [(0, 240.0)])
