"""Absurd runs are refused up front with the estimate that made them absurd."""

from __future__ import annotations

import time

import pytest

from twin.errors import SimulationError
from twin.experiment import run_experiment


def test_an_absurd_horizon_is_refused_with_its_estimate(make_scenario) -> None:  # type: ignore[no-untyped-def]
    sc = make_scenario(horizon="100000000d", warmup="1d")
    started = time.monotonic()
    with pytest.raises(SimulationError) as caught:
        run_experiment(sc, replications=1)
    assert time.monotonic() - started < 5
    text = str(caught.value)
    # 15 units an hour for 2.4e9 hours: 3.6e10 units, about 2,146 GiB of records.
    assert "36,000,000,000 units per replication" in text and "GiB" in text
    assert "KPI buckets per replication" in text


def test_absurd_replication_counts_are_refused(make_scenario) -> None:  # type: ignore[no-untyped-def]
    sc = make_scenario(horizon="5000d")
    with pytest.raises(SimulationError, match="CPU-days"):
        run_experiment(sc, replications=50_000)


def test_ordinary_runs_pass_the_check(make_scenario) -> None:  # type: ignore[no-untyped-def]
    from twin.budget import check_budget

    check_budget(make_scenario(), 1000)
