"""The twin against published queueing results: Erlang C (M/M/c), M/M/1 and Little's law."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from bench.peers import erlang_c_wq  # the M/M/c formula, independent of the twin
from shocktwin.scenarios import load_scenario, parse_scenario, reference_scenario
from shocktwin.twin.experiment.replication import run_experiment


def test_erlang_c_formula_matches_published_value() -> None:
    # c = 3, rho = 0.9, mu = 1: Wq = 2.7235 (the value tabled for this case).
    assert erlang_c_wq(2.7, 1.0, 3) == pytest.approx(2.7235, abs=5e-5)
    # M/M/1: Wq = rho / (mu - lambda).
    assert erlang_c_wq(0.8, 1.0, 1) == pytest.approx(4.0)


def _ci(values: np.ndarray) -> tuple[float, float]:
    half = stats.t.ppf(0.975, values.size - 1) * values.std(ddof=1) / math.sqrt(values.size)
    return values.mean() - half, values.mean() + half


@pytest.fixture(scope="module")
def mmc_result():  # type: ignore[no-untyped-def]
    return run_experiment(load_scenario(reference_scenario("mmc")))


def test_mmc_wait_within_ci_of_erlang_c(mmc_result) -> None:  # type: ignore[no-untyped-def]
    waits = np.array([r.stations[0]["wait_mean_h"] for r in mmc_result.replications])
    low, high = _ci(waits)
    expected = erlang_c_wq(2.7, 1.0, 3)
    assert low <= expected <= high
    # The interval must be tight enough to mean something: a model off by 20 % fails.
    assert high - low < 0.4 * expected


def test_mmc_utilisation_and_littles_law(mmc_result) -> None:  # type: ignore[no-untyped-def]
    util = np.array([r.stations[0]["utilisation"] for r in mmc_result.replications])
    low, high = _ci(util)
    assert low - 0.005 <= 0.9 <= high + 0.005
    for rep in mmc_result.replications:
        k = rep.kpis
        # L = lambda * W on each sample path (edge effects of the window aside).
        little = k["throughput_per_h"] * k["release_lead_time_mean"]
        assert k["wip_mean"] == pytest.approx(little, rel=0.03)


def test_mm1_mean_wait() -> None:
    sc = parse_scenario({
        "version": 1, "name": "mm1", "horizon": "20000h", "warmup": "500h",
        "plant": {"stations": [{"id": "s", "process_time": {"dist": "exponential",
                                                           "mean": "1h"}}],
                  "routing": ["s"], "demand": {"rate": "0.8/h", "due_in": "1d"}},
        "experiment": {"replications": 8, "seed": 11, "bucket": "100h"},
    })
    result = run_experiment(sc)
    waits = np.array([r.stations[0]["wait_mean_h"] for r in result.replications])
    low, high = _ci(waits)
    assert low <= 4.0 <= high
    assert high - low < 2.0
