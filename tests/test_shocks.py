"""Each shock moves the KPI it should, against the same seed without it (common random
numbers), and leaves alone what it should not touch."""

from __future__ import annotations

import json

import pytest
from conftest import BASE_PLANT, deep_update

from shocktwin.errors import ScenarioError
from shocktwin.scenarios import parse_scenario
from shocktwin.shock_library import Profile, Recovery, shock_types
from shocktwin.twin.experiment.replication import run_experiment, run_replication

SEED = 11
# The test plant with stock cover: 15 units/h (360 a day), lead time ~2 days, reorder at
# ~4 days of demand, so a few hours without the supplier change nothing.
COVERED = deep_update(BASE_PLANT, {"plant": {"buffers": [
    {"id": "stock", "material": "part", "initial": 2500, "reorder_point": 1500}]}})


def run(shocks: list[dict], **changes: object):  # type: ignore[no-untyped-def]
    sc = parse_scenario(deep_update(COVERED, {"shocks": shocks, **changes}))
    return run_replication(sc, 0, seed=SEED)


@pytest.fixture(scope="module")
def base():  # type: ignore[no-untyped-def]
    return run([])


def test_short_supplier_outage_covered_by_stock_changes_nothing(base) -> None:  # type: ignore[no-untyped-def]
    shocked = run([{"id": "o", "type": "supplier_outage", "target": "sup", "start": "3d",
                    "duration": "2h"}])
    assert shocked.kpis["stockout_hours"] == base.kpis["stockout_hours"] == 0.0
    assert shocked.kpis["otd"] == base.kpis["otd"]


def test_long_supplier_outage_causes_stockouts_and_late_orders(base) -> None:  # type: ignore[no-untyped-def]
    shocked = run([{"id": "o", "type": "supplier_outage", "target": "sup", "start": "2d",
                    "duration": "6d"}])
    assert shocked.kpis["stockout_hours"] > base.kpis["stockout_hours"] + 24
    assert shocked.kpis["otd"] < base.kpis["otd"] - 0.1
    kinds = [e.kind for e in shocked.log]
    assert kinds == ["ShockStarted", "ShockEnded"]
    assert shocked.log[0].at_h == 48.0 and shocked.log[1].at_h == 192.0


def test_capacity_cut_and_lead_time_inflation_cause_stockouts(base) -> None:  # type: ignore[no-untyped-def]
    for shock in ({"type": "partial_capacity_cut", "cut": 0.9},
                  {"type": "lead_time_inflation", "factor": 4.0}):
        shocked = run([{"id": "s", "target": "sup", "start": "1d", "duration": "8d", **shock}])
        assert shocked.kpis["stockout_hours"] > base.kpis["stockout_hours"] + 10, shock


def test_quality_drift_raises_scrap_not_throughput(base) -> None:  # type: ignore[no-untyped-def]
    shocked = run([{"id": "q", "type": "quality_drift", "target": "sup", "start": "0h",
                    "duration": "10d", "factor": 10}])
    # Stock on hand keeps its quality; lots made during the drift carry 10× the defects.
    assert shocked.kpis["scrap"] > 2 * base.kpis["scrap"]
    assert shocked.kpis["escaped_ppm"] > base.kpis["escaped_ppm"]


def test_toolchain_switch_lowers_inspection_capacity_until_revalidated() -> None:
    plant = {"plant": {"stations": [
        {"id": "iqc", "kind": "inspection", "inspectors": 2, "time_per_unit": "3min",
         "sample_fraction": 0.5},
        {"id": "work", "servers": 2, "process_time": {"dist": "gamma", "mean": "5min",
                                                      "cv": 0.5}},
        {"id": "release", "kind": "release", "sla": "4h"}]}}
    base = run([], **plant)
    shock = {"id": "t", "type": "toolchain_switch", "target": "iqc", "start": "2d",
             "duration": "2d"}
    shocked = run([shock], **plant)
    b, s = base.series, shocked.series
    during = slice(2, 4)  # daily buckets 2 and 3
    after = slice(6, 10)  # a day after re-validation, once the queue has drained
    # Half the inspectors, double time per unit, 100 % sampling: the queue grows.
    assert (s["release_lead_time_mean"][during] > 3 * b["release_lead_time_mean"][during]).all()
    assert s["release_lead_time_mean"][after].mean() < 1.5 * b["release_lead_time_mean"][
        after].mean() + 0.1
    iqc = next(r for r in shocked.stations if r["station"] == "iqc")
    iqc0 = next(r for r in base.stations if r["station"] == "iqc")
    assert iqc["passed_unseen"] < iqc0["passed_unseen"]


def test_staff_shortage_power_outage_breakdowns_and_surge_slow_the_line(base) -> None:  # type: ignore[no-untyped-def]
    for shock in ({"type": "staff_shortage", "target": "work", "absent": 0.5},
                  {"type": "power_outage"},
                  {"type": "breakdown_burst", "target": "work", "factor": 10},
                  {"type": "demand_surge", "factor": 1.5}):
        shocked = run([{"id": "x", "start": "2d", "duration": "2d", **shock}])
        assert (shocked.kpis["release_lead_time_p95"]
                > base.kpis["release_lead_time_p95"] * 1.2), shock


def test_demand_surge_raises_throughput(base) -> None:  # type: ignore[no-untyped-def]
    shocked = run([{"id": "d", "type": "demand_surge", "start": "1d", "duration": "9d",
                    "factor": 1.2}])
    assert shocked.kpis["throughput_per_h"] > base.kpis["throughput_per_h"] * 1.1


def test_recovery_profiles() -> None:
    assert Recovery(profile=Profile.LINEAR, over="10h").level_after(5.0) == 0.5
    sc = parse_scenario(deep_update(BASE_PLANT, {"shocks": [
        {"id": "o", "type": "supplier_outage", "target": "sup", "start": "1d",
         "duration": "1d", "recovery": {"profile": "linear", "over": "10h"}}]}))
    steps = sc.shocks[0].intensity_steps()
    assert steps[0] == (24.0, 1.0) and steps[1] == (48.0, 1.0) and steps[-1] == (58.0, 0.0)
    assert [lvl for _, lvl in steps] == sorted((lvl for _, lvl in steps), reverse=True)


def test_every_builtin_has_doc_family_and_axis() -> None:
    for name, cls in shock_types().items():
        assert cls.summary(), name
        axis = cls.severity_axis
        assert axis == "duration" or axis in cls.model_fields, name


def test_shock_input_problems_all_listed() -> None:
    with pytest.raises(ScenarioError) as err:
        from shocktwin.scenarios.loader import parse_scenario as parse

        parse(deep_update(BASE_PLANT, {"shocks": [
            {"id": "a", "type": "meteor", "start": "1d", "duration": "1d"},
            {"id": "b", "type": "supplier_outage", "target": "nobody", "start": "1d",
             "duration": "1d"},
            {"id": "c", "type": "staff_shortage", "target": "sup", "start": "1d",
             "duration": "1d", "absent": 0.5},
            {"id": "d", "type": "partial_capacity_cut", "target": "sup", "start": "1d",
             "duration": "1d", "cut": 1.5},
        ]}))
    text = str(err.value)
    assert "shocks[0].type: unknown shock type 'meteor'" in text
    assert "shocks[3].cut" in text
    # Type errors stop before the cross-checks; fix them and the targets are checked.
    with pytest.raises(ScenarioError) as err:
        from shocktwin.scenarios.loader import parse_scenario as parse

        parse(deep_update(BASE_PLANT, {"shocks": [
            {"id": "b", "type": "supplier_outage", "target": "nobody", "start": "1d",
             "duration": "1d"},
            {"id": "c", "type": "staff_shortage", "target": "sup", "start": "1d",
             "duration": "1d", "absent": 0.5}]}))
    text = str(err.value)
    assert "shocks[0].target: unknown target 'nobody'" in text
    assert "shocks[1].target: 'sup' is not a station" in text


def test_shocked_run_reproducible_and_same_on_salabim() -> None:
    sc = parse_scenario(deep_update(BASE_PLANT, {"shocks": [
        {"id": "o", "type": "supplier_outage", "target": "sup", "start": "2d",
         "duration": "3d", "recovery": {"profile": "exponential", "over": "12h"}},
        {"id": "p", "type": "power_outage", "start": "4d", "duration": "6h"}]}))
    a = run_experiment(sc, replications=2, seed=3)
    b = run_experiment(sc, replications=2, seed=3, engine="salabim")
    assert [r.kpis for r in a.replications] == [r.kpis for r in b.replications]


def test_contaminated_batch_raises_scrap(base) -> None:  # type: ignore[no-untyped-def]
    shocked = run([{"id": "c", "type": "contaminated_batch", "target": "sup", "start": "0h",
                    "duration": "5d", "defective_share": 0.3}])
    assert shocked.kpis["scrap"] > 2 * base.kpis["scrap"]


def test_border_closure_and_flood_cause_stockouts(base) -> None:  # type: ignore[no-untyped-def]
    for shock in ({"type": "border_closure", "target": "sup", "lead_time_factor": 4.0},
                  {"type": "flood_logistics"}):
        shocked = run([{"id": "b", "start": "1d", "duration": "7d", **shock}])
        assert shocked.kpis["stockout_hours"] > base.kpis["stockout_hours"] + 10, shock


def test_site_disaster_ramps_back_more_slowly_than_an_outage() -> None:
    common = {"target": "sup", "start": "2d", "duration": "5d"}
    outage = run([{"id": "o", "type": "supplier_outage", **common}])
    disaster = run([{"id": "d", "type": "site_disaster", **common,
                     "recovery": {"profile": "linear", "over": "3d"}}])
    assert disaster.kpis["stockout_hours"] > outage.kpis["stockout_hours"]


def test_heat_wave_adds_process_defects_that_escape(base) -> None:  # type: ignore[no-untyped-def]
    # Defects made after incoming inspection are never inspected: they escape.
    shocked = run([{"id": "h", "type": "heat_wave", "target": "work", "start": "1d",
                    "duration": "8d", "added_defect_rate": 0.02}])
    assert shocked.kpis["escaped_ppm"] > base.kpis["escaped_ppm"] + 10_000
    assert shocked.kpis["scrap"] == pytest.approx(base.kpis["scrap"], rel=0.3)


def test_ai_model_drift_lets_defects_escape(base) -> None:  # type: ignore[no-untyped-def]
    shocked = run([{"id": "a", "type": "ai_model_drift", "target": "iqc", "start": "0h",
                    "duration": "10d", "detection_loss": 0.8}])
    assert shocked.kpis["escaped_ppm"] > 3 * base.kpis["escaped_ppm"]
    assert shocked.kpis["scrap"] < base.kpis["scrap"]


def test_bundled_valve_quake_journals_both_shocks(runner, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    from shocktwin import cli

    out = tmp_path / "out"
    result = runner.invoke(cli.app, ["run", "valve_quake", "-n", "2", "--out", str(out)])
    assert result.exit_code == 1, result.output  # a ten-day supplier stop breaks the plant
    records = json.loads((out / "journal.json").read_text())["records"]
    started = [(r["replication"], r["shock"]) for r in records if r["kind"] == "ShockStarted"]
    assert started == [(0, "quake"), (0, "new-toolchain"), (1, "quake"), (1, "new-toolchain")]
    ended = {r["shock"]: r for r in records if r["kind"] == "ShockEnded"}
    assert ended["quake"]["at_h"] == 20 * 24 and ended["quake"]["recovered_at_h"] == 27 * 24


def test_with_severity_moves_only_the_axis_and_keeps_its_bounds() -> None:
    sc = parse_scenario(deep_update(COVERED, {"shocks": [
        {"id": "c", "type": "partial_capacity_cut", "target": "sup", "start": "1d",
         "duration": "2d", "cut": 0.5}]}))
    shock = sc.shocks[0]
    assert shock.severity() == 0.5
    stronger = shock.with_severity(0.8)
    assert stronger.severity() == 0.8 and stronger.duration == shock.duration
    with pytest.raises(ValueError, match="less than or equal to 1"):
        shock.with_severity(1.5)


def test_with_severity_on_a_duration_axis() -> None:
    sc = parse_scenario(deep_update(COVERED, {"shocks": [
        {"id": "o", "type": "supplier_outage", "target": "sup", "start": "1d",
         "duration": "2d"}]}))
    assert sc.shocks[0].with_severity(72.0).duration == 72.0
    with pytest.raises(ValueError, match="longer than zero"):
        sc.shocks[0].with_severity(0.0)


def test_every_shock_summary_is_its_whole_first_sentence(runner) -> None:  # type: ignore[no-untyped-def]
    from shocktwin import cli

    rows = json.loads(runner.invoke(cli.app, ["shocks", "list", "--json"]).stdout)
    assert len(rows) >= 24
    for row in rows:
        text = row["summary"]
        assert text.endswith("."), row
        assert text.count("(") == text.count(")"), row
        assert not text.endswith(("e.g.", "i.e.")), row
    (site,) = [r for r in rows if r["type"] == "site_disaster"]
    assert site["summary"].startswith("Site disaster (e.g. an earthquake at a supplier): ")
