"""KPI definitions on a hand-built record, with the answers worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from shocktwin.twin.experiment.kpi import kpis_of, series_of
from shocktwin.twin.model.plant import PlantRecord


def record() -> PlantRecord:
    nan = np.nan
    # Horizon 20 h, warm-up 10 h, snapshots every 5 h (and the horizon).
    return PlantRecord(
        horizon_h=20.0, warmup_h=10.0,
        release_h=np.array([2.0, 11.0, 12.0, 13.0, 18.0]),
        release_lead_h=np.array([1.0, 2.0, 4.0, 6.0, 8.0]),
        release_escaped=np.array([True, False, True, False, False]),
        scrap_h=np.array([3.0, 14.0]),
        order_created_h=np.array([0.0, 9.0, 10.0, 11.0, 12.0]),
        order_due_h=np.array([5.0, 12.0, 12.5, 15.0, 30.0]),
        order_done_h=np.array([2.0, 11.0, 13.0, nan, 18.0]),
        snapshot_h=np.array([5.0, 10.0, 15.0, 20.0]),
        snapshots={"wip_area": np.array([5.0, 10.0, 20.0, 40.0]),
                   "inspection_busy_area": np.array([2.0, 4.0, 9.0, 14.0]),
                   "stockout_area": np.array([0.0, 0.0, 1.5, 1.5]),
                   "started": np.zeros(4), "released": np.zeros(4), "scrapped": np.zeros(4),
                   "wip_count": np.zeros(4), "on_hand_min": np.zeros(4),
                   # Paid for deliveries: 100 by 5 h, 300 by 15 h, 420 by 20 h.
                   "material_cost": np.array([100.0, 100.0, 300.0, 420.0])},
        stations=(), inspectors=2, sla_h=5.0, events=0)


def test_whole_run_kpis_by_hand() -> None:
    k = kpis_of(record())
    assert k["throughput_per_h"] == pytest.approx(4 / 10)  # 4 releases in [10, 20)
    # Due in window: orders due 12 (on time), 12.5 (done 13: late), 15 (open: late).
    assert k["otd"] == pytest.approx(1 / 3)
    assert k["release_lead_time_mean"] == pytest.approx(5.0)  # (2 + 4 + 6 + 8) / 4
    assert k["release_lead_time_p95"] == pytest.approx(np.percentile([2, 4, 6, 8], 95))
    assert k["release_sla_met"] == pytest.approx(2 / 4)  # 2 and 4 within 5 h
    assert k["escaped_ppm"] == pytest.approx(1e6 / 4)
    # Orders created in window and done: created 10 → 13, created 12 → 18.
    assert k["order_lead_time_mean"] == pytest.approx((3 + 6) / 2)
    assert k["wip_mean"] == pytest.approx((40 - 10) / 10)
    assert k["inspection_utilisation"] == pytest.approx((14 - 4) / (2 * 10))
    assert k["scrap"] == 1
    assert k["stockout_hours"] == pytest.approx(1.5)
    assert k["cost_per_unit"] == pytest.approx((420 - 100) / 4)


def test_series_by_hand() -> None:
    s = series_of(record(), 10.0)
    np.testing.assert_array_equal(s["t_start_h"], [0.0, 10.0])
    np.testing.assert_array_equal(s["released"], [1, 4])
    np.testing.assert_allclose(s["wip_mean"], [1.0, 3.0])
    np.testing.assert_allclose(s["otd"], [1.0, 1 / 3])
    np.testing.assert_allclose(s["scrap"], [1, 1])
    np.testing.assert_allclose(s["escaped_ppm"], [1e6, 1e6 / 4])
    np.testing.assert_allclose(s["inspection_utilisation"], [4 / 20, 10 / 20])
    np.testing.assert_allclose(s["cost_per_unit"], [100 / 1, 320 / 4])
