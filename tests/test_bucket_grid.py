"""KPI buckets that are not a binary fraction of an hour: every bucket has its snapshot.

10 min, 7 min and 0.1 h are not exact in floating point, so snapshot times built by adding
the bucket width drift off the edges the KPI series reads them at (the run used to stop
with "no snapshot for wip_area").
"""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from shocktwin.scenarios import parse_scenario, reference_scenario
from shocktwin.twin.experiment.replication import run_replication
from shocktwin.twin.model.base import _snapshot_times, bucket_edges_h


def demo_plant(bucket: str) -> dict:  # type: ignore[type-arg]
    spec = yaml.safe_load(reference_scenario("demo_plant").read_text())
    # Two weeks after the week of warm-up keep the test short; the line is the same.
    spec["horizon"] = "14d"
    spec["experiment"]["bucket"] = bucket
    return spec  # type: ignore[no-any-return]


@pytest.mark.parametrize("engine", ["simpy", "salabim"])
@pytest.mark.parametrize("bucket", ["10min", "7min", "0.1h"])
def test_short_buckets_run_with_one_snapshot_per_bucket(bucket: str, engine: str) -> None:
    scenario = parse_scenario(demo_plant(bucket))
    rep = run_replication(scenario, 0, seed=11, engine=engine)
    n = int(np.ceil(scenario.horizon / scenario.bucket_h - 1e-9))
    ends = rep.series["t_end_h"]
    assert ends.size == n
    # The warm-up end (7 d) is a bucket edge for all three widths: no extra snapshot.
    assert rep.snapshot_h.size == n
    np.testing.assert_allclose(rep.snapshot_h, ends, rtol=0, atol=1e-9)
    assert rep.snapshot_h[-1] == scenario.horizon
    assert np.isfinite(rep.series["wip_mean"]).all()
    assert np.isfinite(rep.kpis["wip_mean"])


def test_edges_come_from_an_integer_index() -> None:
    edges = bucket_edges_h(24.0, 0.1)
    assert edges.size == 241
    np.testing.assert_array_equal(edges[:-1], np.arange(240) * 0.1)
    assert edges[-1] == 24.0
    # A warm-up on the grid is not a second snapshot; one off the grid is.
    assert len(_snapshot_times(24.0, 0.1, 2.0)) == 239
    assert len(_snapshot_times(24.0, 0.1, 2.05)) == 240


def test_exact_buckets_keep_their_edges() -> None:
    # Whole hours are exact: the edges are the integers, as before.
    np.testing.assert_array_equal(bucket_edges_h(10.0, 4.0), [0.0, 4.0, 8.0, 10.0])
    assert _snapshot_times(10.0, 4.0, 3.0) == [3.0, 4.0, 8.0]
