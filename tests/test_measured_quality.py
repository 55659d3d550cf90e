"""Measured quality in the twin: characteristics, gauges, SPC and capability in a run,
the actions they trigger, comparability studies, and the three bundled cases.

Published values are derived in the tests: the misclassification of a gauge from the
bivariate normal (true value and reading), the in-control false-alarm rate of a 3σ chart
(2·(1 − Φ(3)) = 0.0027, ARL 370.4), the moments of the value distributions.
"""

from __future__ import annotations

import copy
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from scipy import integrate, stats

from shocktwin.errors import ReplayError, ScenarioError
from shocktwin.scenarios import load_scenario, reference_scenario
from shocktwin.twin.experiment.replication import run_replication
from shocktwin.twin.model.measure import Gauge, ValueStream, fit_values, weibull_shape

HERE = Path(__file__).parent
MEASURED = HERE / "measured"
STEEL = HERE.parent / "data" / "steel_plates_faults_uci" / "Faults.NNA"


def _records(rep: Any, kind: str) -> list[dict[str, Any]]:
    return [r.record() for r in rep.log if r.kind == kind]


def _write(folder: Path, scenario: dict[str, Any], rules: dict[str, Any] | None = None) -> Path:
    if rules is not None:
        (folder / "rules.yaml").write_text(yaml.safe_dump(rules))
    path = folder / "scenario.yaml"
    path.write_text(yaml.safe_dump(scenario, sort_keys=False))
    return path


# One supplier of lots of 1,000 whose units carry one characteristic, N(0, 1) in a ±2.5
# tolerance; every lot is inspected in full with a gauge of repeatability 0.3.
PLANT: dict[str, Any] = {
    "version": 1,
    "name": "measured",
    "horizon": "60d",
    "plant": {
        "suppliers": [{"id": "sup", "material": "part", "lot_size": 1000,
                       "lead_time": "12h"}],
        "buffers": [{"id": "stock", "material": "part", "initial": 2000,
                     "reorder_point": 1500}],
        "characteristics": [{"name": "x", "material": "part", "unit": "mm", "lsl": -2.5,
                             "usl": 2.5, "values": {"mean": 0.0, "sd": 1.0},
                             "gauge": {"repeatability": 0.3}}],
        "stations": [
            {"id": "iqc", "kind": "inspection", "role": "incoming", "inspectors": 8,
             "time_per_unit": "1s", "detection": 1.0},
            {"id": "release", "kind": "release", "sla": "4h"},
        ],
        "routing": ["release"],
        "demand": {"rate": "70/h", "due_in": "1d"},
    },
    "rules": "rules.yaml",
    "experiment": {"replications": 1, "seed": 3},
}
FULL: dict[str, Any] = {"version": 1, "name": "full", "plans": [
    {"material": "part", "station": "iqc", "sampling": {"method": "full"},
     "characteristics": [{"name": "x", "spec": {"lsl": -2.5, "usl": 2.5, "unit": "mm"}}]}]}


# --------------------------------------------------------------------------- values


@pytest.mark.parametrize("kind", ["normal", "lognormal", "weibull"])
def test_values_keep_the_given_mean_and_sd(kind: str) -> None:
    stream = ValueStream("s", np.random.default_rng(1), kind=kind, mean=10.0, sd=2.5)
    x = stream.draw(400_000, 0.0)
    assert x.mean() == pytest.approx(10.0, abs=4 * 2.5 / math.sqrt(x.size))
    assert x.std() == pytest.approx(2.5, rel=0.01)
    # The shape is the family's: its skewness at this mean and sd.
    if kind == "lognormal":
        w = 1 + (2.5 / 10.0) ** 2  # e^{s²}
        skew = (w + 2) * math.sqrt(w - 1)
    elif kind == "weibull":
        g = [math.gamma(1 + i / weibull_shape(0.25)) for i in (1, 2, 3)]
        skew = (g[2] - 3 * g[0] * g[1] + 2 * g[0] ** 3) / (g[1] - g[0] ** 2) ** 1.5
    else:
        skew = 0.0
    assert stats.skew(x) == pytest.approx(skew, abs=0.02)


def test_weibull_shape_matches_its_coefficient_of_variation() -> None:
    # Weibull k = 1 is the exponential: CV 1; k = 3.6 is close to normal: CV ≈ 0.3.
    assert weibull_shape(1.0) == pytest.approx(1.0, rel=1e-9)
    k = weibull_shape(0.3)
    g1, g2 = math.gamma(1 + 1 / k), math.gamma(1 + 2 / k)
    assert math.sqrt(g2 / g1**2 - 1) == pytest.approx(0.3, rel=1e-9)


def test_autocorrelation_and_drift_are_those_given() -> None:
    stream = ValueStream("s", np.random.default_rng(2), mean=5.0, sd=1.0, autocorrelation=0.6,
                         drift_per_h=0.01)
    # Blocks carry the AR(1) state over: lag-1 correlation 0.6, stationary sd 1.
    x = np.concatenate([stream.draw(1000, 0.0) for _ in range(200)])
    assert np.corrcoef(x[:-1], x[1:])[0, 1] == pytest.approx(0.6, abs=0.01)
    assert x.std() == pytest.approx(1.0, rel=0.02)
    assert stream.draw(100_000, 100.0).mean() == pytest.approx(6.0, abs=0.05)


def test_a_shock_shifts_the_mean_in_sigma_and_widens_the_spread() -> None:
    stream = ValueStream("s", np.random.default_rng(3), mean=0.0, sd=2.0)
    stream.shift.set("drift", 1.5)
    stream.spread.set("heat", 1.5)
    x = stream.draw(200_000, 0.0)
    assert x.mean() == pytest.approx(3.0, abs=0.03) and x.std() == pytest.approx(3.0, rel=0.01)
    stream.ramp("wear", 10.0, 0.1)  # 0.1 σ an hour from hour 10
    assert stream.level(20.0) == pytest.approx(3.0 + 0.1 * 10 * 2.0)
    stream.ramp("wear", None)
    assert stream.level(20.0) == pytest.approx(3.0)


def test_recorded_values_replay_in_order_resample_or_fit() -> None:
    rec = np.array([1.0, 2.0, 4.0, 8.0])
    trace = ValueStream("s", np.random.default_rng(0), recorded=rec)
    assert trace.draw(6, 0.0).tolist() == [1.0, 2.0, 4.0, 8.0, 1.0, 2.0]
    boot = ValueStream("s", np.random.default_rng(0), recorded=rec, bootstrap=True)
    assert set(boot.draw(1000, 0.0).tolist()) == set(rec.tolist())
    data = np.random.default_rng(4).lognormal(2.0, 0.5, 5000)
    kind, mean, sd = fit_values(data)
    assert kind == "lognormal"
    assert mean == pytest.approx(math.exp(2.0 + 0.125), rel=0.03)
    assert sd == pytest.approx(mean * math.sqrt(math.exp(0.25) - 1), rel=0.05)


def test_within_lot_sigma_and_pooled_moments_against_direct_computation() -> None:
    from shocktwin.rules_engine.quality import Moments, lot_moments, within_sigma

    # Subgroups of five with ranges 4 and 8: R̄ = 6, σ̂ = R̄/d2 with d2(5) = 2.326
    # (Montgomery, Appendix Table VI).
    x = np.array([0, 1, 2, 3, 4, 0, 2, 4, 6, 8], dtype=float)
    assert within_sigma(x, 5) == pytest.approx(6 / 2.326)
    # Lots pooled one by one give the overall mean and variance of all readings together.
    rng = np.random.default_rng(9)
    lots = [rng.normal(10 + k, 2, size) for k, size in enumerate((30, 45, 12))]
    pooled = Moments()
    for lot in lots:
        pooled.add(*lot_moments(lot), within_var=float(lot.var(ddof=1)))
    every = np.concatenate(lots)
    assert pooled.n == every.size and pooled.mean == pytest.approx(every.mean())
    assert pooled.m2 / (pooled.n - 1) == pytest.approx(every.var(ddof=1))
    est = pooled.estimate(0.0, 25.0)
    assert est is not None
    # Within σ pools the lots' variances by their degrees of freedom.
    within = math.sqrt(sum((lot.size - 1) * lot.var(ddof=1) for lot in lots)
                       / sum(lot.size - 1 for lot in lots))
    assert est.sigma_within == pytest.approx(within)
    assert est.sigma_overall > est.sigma_within  # the lots' means differ


def test_a_gauge_adds_bias_and_its_errors() -> None:
    gauge = Gauge("g", np.random.default_rng(5), bias=0.2, repeatability=0.3)
    read = gauge.read(np.zeros(200_000))
    assert read.mean() == pytest.approx(0.2, abs=0.005) and read.std() == pytest.approx(0.3,
                                                                                       rel=0.01)
    gauge.noise.set("tools", 2.0)
    gauge.bias_shift.set("tools", 0.1)
    read = gauge.read(np.zeros(200_000))
    assert read.mean() == pytest.approx(0.3, abs=0.005) and read.std() == pytest.approx(0.6,
                                                                                       rel=0.01)


# --------------------------------------------------------------------------- inspection


def _misclassification(half: float, sigma_e: float) -> tuple[float, float]:
    """False accept and false reject per unit for X ~ N(0, 1), limits ±half, reading
    X + E with E ~ N(0, σe²): the bivariate normal of (X, X + E), integrated over X."""
    def accepted(x: float) -> float:
        return float(stats.norm.cdf((half - x) / sigma_e) - stats.norm.cdf((-half - x) / sigma_e))

    fa = 2 * integrate.quad(lambda x: stats.norm.pdf(x) * accepted(x), half, np.inf)[0]
    fr = integrate.quad(lambda x: stats.norm.pdf(x) * (1 - accepted(x)), -half, half)[0]
    return fa, fr


def test_misclassification_follows_the_gauge(tmp_path: Path) -> None:
    rep = run_replication(load_scenario(_write(tmp_path, PLANT, FULL)), 0, seed=3)
    [row] = [r for r in rep.stations if r["station"] == "iqc"]
    n = row["units_measured"]
    assert n > 30_000
    fa, fr = _misclassification(2.5, 0.3)
    for count, p in ((row["false_accepts"], fa), (row["false_rejects"], fr)):
        assert count == pytest.approx(n * p, abs=4 * math.sqrt(n * p * (1 - p)))
    # What was rejected is what the readings put outside the limits.
    truth_out = 2 * stats.norm.sf(2.5)
    assert row["rejected"] / n == pytest.approx(truth_out - fa + fr, abs=4 * math.sqrt(
        truth_out / n))


def test_an_in_control_chart_false_alarms_at_its_published_rate(tmp_path: Path) -> None:
    # I chart with the true limits given (centre 0, σ 1) and a perfect gauge: a point beyond
    # 3σ with probability 2·(1 − Φ(3)) = 0.0027 (ARL 370.4).
    doc = copy.deepcopy(PLANT)
    doc["plant"]["characteristics"][0]["gauge"] = {}
    rules = copy.deepcopy(FULL)
    rules["plans"][0]["characteristics"][0]["spc"] = {
        "chart": "i_mr", "limits": {"centre": 0.0, "sigma": 1.0},
        "run_rules": {"family": "western_electric", "numbers": [1]}}
    rep = run_replication(load_scenario(_write(tmp_path, doc, rules)), 0, seed=3)
    points = sum(r["n"] for r in _records(rep, "LotMeasured"))
    beyond = sum(r["points"] for r in _records(rep, "ChartSignalled")
                 if r["signal"] == "out_of_limits")
    p = 2 * stats.norm.sf(3.0)
    assert 1 / p == pytest.approx(370.4, abs=0.1)
    assert beyond == pytest.approx(points * p, abs=4 * math.sqrt(points * p))


def test_lot_capability_is_journalled_with_bissells_interval(tmp_path: Path) -> None:
    rep = run_replication(load_scenario(_write(tmp_path, PLANT, FULL)), 0, seed=3)
    lots = _records(rep, "LotMeasured")
    assert lots
    for lot in lots:
        # Ppk from the lot's overall mean and sd; the interval is Bissell's around Cpk.
        ppk = min(2.5 - lot["mean"], lot["mean"] + 2.5) / (3 * lot["sd"])
        assert lot["ppk"] == pytest.approx(ppk)
        half = 1.959963984540054 * math.sqrt(1 / (9 * lot["n"])
                                             + lot["cpk"] ** 2 / (2 * (lot["n"] - 1)))
        assert (lot["cpk_low"], lot["cpk_high"]) == pytest.approx(
            (lot["cpk"] - half, lot["cpk"] + half))
    # True Cpk of N(0, 1) (plus the gauge) in ±2.5: 2.5 / (3·√1.09) = 0.80.
    assert np.mean([lot["cpk"] for lot in lots]) == pytest.approx(2.5 / (3 * math.sqrt(1.09)),
                                                                  abs=0.03)


# --------------------------------------------------------------------------- bundled cases


def test_spool_drift_charts_the_drift_and_the_three_lots_rule_holds_the_supplier() -> None:
    sc = load_scenario(reference_scenario("spool_drift"))
    rep = run_replication(sc, 0, seed=sc.experiment.seed)
    signals = _records(rep, "ChartSignalled")
    fired: dict[str, float] = {}
    for r in _records(rep, "TriggerFired"):
        fired.setdefault(r["trigger"], r["at_h"])  # the first time each fired
    assert signals and all(r["chart"] == "xbar_r" for r in signals)
    assert fired["chart-signalled"] < fired["three-lots-below"]
    # The three lots before the hold were each below Cpk 1.33, all from A.
    before = [r for r in _records(rep, "LotMeasured") if r["at_h"] <= fired["three-lots-below"]]
    assert [r["supplier"] for r in before[-3:]] == ["spool-a"] * 3
    assert all(r["cpk"] < 1.33 for r in before[-3:])
    [held] = _records(rep, "SupplierHoldStarted")
    assert held["supplier"] == "spool-a" and held["reason"] == "trigger three-lots-below"
    assert held["at_h"] == fired["three-lots-below"] and held["corrective_action_h"] is None
    [quarantined] = _records(rep, "StockQuarantined")
    assert quarantined["units"] > 0
    [switched] = _records(rep, "SourceSwitched")
    assert switched["to_supplier"] == "spool-b"
    after = [r["supplier"] for r in _records(rep, "LotMeasured") if r["at_h"] > held["at_h"]]
    assert after and set(after) == {"spool-b"}


def test_the_photoresist_rule_reads_measured_cpk() -> None:
    sc = load_scenario(reference_scenario("photoresist_switch"))
    rep = run_replication(sc, 0, seed=sc.experiment.seed)
    [fired] = _records(rep, "TriggerFired")
    lots = [r for r in _records(rep, "LotMeasured") if r["supplier"] == "resist-a"]
    # In control before the drift (true Cpk 1.8), below 1.33 after it (about 0.95).
    calm = [r["cpk"] for r in lots if r["at_h"] < 20 * 24]
    drifted = [r["cpk"] for r in lots if 30 * 24 < r["at_h"] < fired["at_h"]]
    assert min(calm) > 1.33 and np.mean(drifted) < 1.2
    assert any(r["chart"] == "ewma" and r["at_h"] > 20 * 24
               for r in _records(rep, "ChartSignalled"))


def test_the_column_study_releases_the_backup_only_when_equivalent() -> None:
    sc = load_scenario(reference_scenario("column_discontinued"))
    for r in range(3):
        rep = run_replication(sc, r, seed=sc.experiment.seed)
        studies = _records(rep, "ComparabilityStudied")
        assert studies and studies[-1]["outcome"] == "released"
        for study in studies:
            inside = study["ci_lower"] > -3.0 and study["ci_upper"] < 3.0
            assert study["equivalent"] == inside
            assert (study["from_supplier"], study["to_supplier"]) == ("column-a", "column-b")
        released = studies[-1]["at_h"]
        # No backup lot arrives before the study released it (orders wait for it).
        b_lots = [d["at_h"] for d in _records(rep, "LotInspected")
                  if d["supplier"] == "column-b"]
        assert b_lots and min(b_lots) > released


def test_a_failed_study_refuses_the_change(tmp_path: Path) -> None:
    doc = copy.deepcopy(PLANT)
    plant = doc["plant"]
    plant["suppliers"].append({"id": "alt", "material": "part", "lot_size": 1000,
                               "lead_time": "12h"})
    plant["characteristics"][0]["sources"] = {"alt": {"mean": 1.0, "sd": 1.0}}
    rules = copy.deepcopy(FULL)
    rules["plans"][0]["comparability"] = {"characteristic": "x", "margin": 0.2,
                                          "samples": 30, "on_fail": "refuse"}
    rules["triggers"] = [{"id": "go", "material": "part", "when": "lot.accepted_in_a_row "
                          ">= 0", "then": [{"type": "switch_supplier", "to": "alt"}]}]
    rules["plans"][0]["sampling"] = {"method": "single", "level": "II", "aql": 1.0,
                                     "switching": "none"}
    rep = run_replication(load_scenario(_write(tmp_path, doc, rules)), 0, seed=3)
    [study] = _records(rep, "ComparabilityStudied")
    assert not study["equivalent"] and study["outcome"] == "refused"
    assert study["difference"] == pytest.approx(1.0, abs=0.6)
    switched = [r["to_supplier"] for r in _records(rep, "SourceSwitched")]
    assert switched == ["alt", "sup"]  # and back
    assert not [d for d in _records(rep, "LotInspected") if d["supplier"] == "alt"]


def test_a_loosened_spc_rule_shows_a_paired_difference_in_the_stress_gate() -> None:
    from shocktwin.twin.resilience.stress import compare_rules

    sc = load_scenario(MEASURED / "chart_gate.yaml")
    report = compare_rules([(str(MEASURED / "chart_gate.yaml"), sc)],
                           MEASURED / "chart_all_rules.yaml", MEASURED / "chart_rule_1.yaml")
    [scenario] = report.scenarios
    assert scenario.tested
    [escaped] = [k for k in scenario.kpis if k.kpi == "escaped_ppm"]
    # Rule 1 alone holds the drifting supplier later: more escaped units, paired on common
    # random numbers, with an interval that excludes no difference.
    assert escaped.difference > 0 and escaped.ci_low > 0


def test_the_measured_cases_give_the_same_journal_on_both_engines() -> None:
    from shocktwin.twin.experiment.replication import run_experiment

    sc = load_scenario(reference_scenario("spool_drift"))
    runs = {engine: run_experiment(sc, replications=1, engine=engine).replications[0]
            for engine in ("simpy", "salabim")}
    assert runs["simpy"].kpis == runs["salabim"].kpis
    assert [e.record() for e in runs["simpy"].log] == [e.record() for e in runs["salabim"].log]


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(("change", "message"), [
    ({"lsl": 3.0}, "lsl 3 must be below usl 2.5"),
    ({"material": "prat"}, "unknown material 'prat'; did you mean 'part'?"),
    ({"sources": {"supp": {"mean": 0, "sd": 1}}}, "unknown source of part 'supp'; did you "
                                                  "mean 'sup'?"),
    ({"values": None}, "no values for sup"),
    ({"values": {"dist": "lognormal", "mean": -1.0, "sd": 1.0}}, "needs a positive mean"),
    ({"station": "release"}, "give material or station"),
])
def test_bad_characteristics_are_refused_with_where_and_why(tmp_path: Path, change: dict,
                                                            message: str) -> None:
    doc = copy.deepcopy(PLANT)
    ch = doc["plant"]["characteristics"][0]
    for key, value in change.items():
        if value is None:
            ch.pop(key)
        else:
            ch[key] = value
    with pytest.raises(ScenarioError, match=message.replace("(", r"\(").replace("?", r"\?")):
        load_scenario(_write(tmp_path, doc, FULL))


def test_a_chart_on_an_unknown_characteristic_is_refused(tmp_path: Path, runner) -> None:  # type: ignore[no-untyped-def]
    from shocktwin import cli

    rules = copy.deepcopy(FULL)
    rules["plans"][0]["characteristics"][0]["name"] = "y"
    path = _write(tmp_path, PLANT, rules)
    result = runner.invoke(cli.app, ["validate", str(path)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "rules.yaml:" in result.output
    assert "unknown characteristic of part 'y'" in result.output


@pytest.mark.skipif(not STEEL.exists(), reason="the bundled Steel Plates data is not present")
def test_a_characteristic_replays_recorded_steel_plate_measurements(tmp_path: Path) -> None:
    from shocktwin.edge_replay.ingest import ingest
    from shocktwin.edge_replay.measurements import read_measurements

    store = tmp_path / "plates.duckdb"
    ingest(STEEL, "steel-plates-measurements", store)
    recorded = read_measurements(store, "Pixels_Areas").values
    doc = copy.deepcopy(PLANT)
    doc["plant"]["characteristics"] = [{
        "name": "defect_area", "station": "rolling", "unit": "px", "usl": 10_000,
        "values": {"dist": "recorded", "store": "plates.duckdb",
                   "characteristic": "Pixels_Areas", "mode": "trace"}}]
    doc["plant"]["stations"].insert(0, {"id": "rolling", "servers": 1, "process_time": "1min"})
    doc["plant"]["routing"] = ["rolling", "release"]
    doc["plant"]["demand"] = {"rate": "30/h", "due_in": "1d"}
    doc["horizon"] = "2d"
    doc["rules"] = None
    doc["plant"]["characteristics"][0]["values"]["store"] = str(store)
    rep = run_replication(load_scenario(_write(tmp_path, doc, FULL)), 0, seed=3)
    [out] = _records(rep, "OutputMeasured")
    n = out["units"]
    assert 0 < n <= recorded.size
    # In recorded order: the first n recorded values, no more, no less.
    assert out["mean"] == pytest.approx(float(recorded[:n].mean()))
    assert out["out_of_spec"] == int((recorded[:n] > 10_000).sum())
    # A characteristic the store does not hold is refused with the nearest names.
    doc["plant"]["characteristics"][0]["values"]["characteristic"] = "Pixel_Areas"
    with pytest.raises(ReplayError, match="Pixels_Areas"):
        run_replication(load_scenario(_write(tmp_path, doc, FULL)), 0, seed=3)


def test_the_report_shows_capability_signals_studies_and_misclassification(
        tmp_path: Path, runner) -> None:  # type: ignore[no-untyped-def]
    from shocktwin import cli

    folders = []
    for name in ("spool_drift", "column_discontinued"):
        out = tmp_path / name
        result = runner.invoke(cli.app, ["run", name, "-n", "2", "--out", str(out)])
        assert result.exit_code in (0, 1, 4), result.output
        folders.append(str(out))
    page = tmp_path / "report.html"
    result = runner.invoke(cli.app, ["report", *folders, "-o", str(page)])
    assert result.exit_code == 0, result.output
    text = page.read_text()
    section = text[text.index('<section id="quality">'):]
    section = section[:section.index("</section>")]
    for heading in ("Supplier capability at incoming inspection", "Control-chart signals",
                    "Comparability studies", "Gauge misclassification"):
        assert heading in section
    assert "spool-a" in section and "spool-b" in section and "xbar_r" in section
    assert "column-a → column-b" in section and "± 3" in section
    # B's Ppk pooled over the two replications from their end-of-run records: the overall
    # variance of two groups is the within-group sums of squares plus n·(mean − grand)².
    import json

    records = [r for r in json.loads((tmp_path / "spool_drift" / "journal.json").read_text())[
        "records"] if r["kind"] == "CapabilityEstimated" and r["supplier"] == "spool-b"]
    assert len(records) == 2
    n = sum(r["n"] for r in records)
    grand = sum(r["n"] * r["mean"] for r in records) / n
    ss = sum((r["n"] - 1) * r["sigma_overall"] ** 2 + r["n"] * (r["mean"] - grand) ** 2
             for r in records)
    sd = math.sqrt(ss / (n - 1))
    ppk = min(12.010 - grand, grand - 11.990) / (3 * sd)
    half = 1.959963984540054 * math.sqrt(1 / (9 * n) + ppk**2 / (2 * (n - 1)))
    assert f"{ppk:.2f} ({ppk - half:.2f} … {ppk + half:.2f})" in section


@pytest.mark.skipif(not STEEL.exists(), reason="the bundled Steel Plates data is not present")
def test_the_plate_line_example_runs_on_its_store(tmp_path: Path) -> None:
    from shocktwin.edge_replay.ingest import ingest

    example = HERE.parent / "examples" / "steel_plate_measurements" / "plate_line.yaml"
    store = tmp_path / "work" / "plates.duckdb"
    store.parent.mkdir()
    ingest(STEEL, "steel-plates-measurements", store)
    folder = tmp_path / "examples" / "steel_plate_measurements"
    folder.mkdir(parents=True)
    (folder / "plate_line.yaml").write_text(example.read_text())
    sc = load_scenario(folder / "plate_line.yaml")
    rep = run_replication(sc, 0, seed=sc.experiment.seed)
    out = {r["characteristic"]: r for r in _records(rep, "OutputMeasured")}
    assert set(out) == {"defect_area", "defect_luminosity"}
    # About 6 % of the recorded defect areas are above 10,000 pixels.
    area = out["defect_area"]
    assert area["out_of_spec"] / area["units"] == pytest.approx(0.058, abs=0.01)


def test_an_mtd_searches_the_parameter_a_measured_shock_moves(tmp_path: Path) -> None:
    from shocktwin.twin.resilience.mtd import find_mtd

    doc = copy.deepcopy(PLANT)
    doc["rules"] = "rules.yaml"
    doc["horizon"] = "20d"
    doc["shocks"] = [{"id": "drift", "type": "quality_drift", "target": "sup", "start": "2d",
                      "duration": "10d", "mean_shift": 1.0}]
    doc["hypothesis"] = {"probability": 0.9, "tolerances": [{"kpi": "escaped_ppm",
                                                             "max": 20_000}]}
    doc["mtd"] = {"shocks": [{"shock": "drift", "low": 1.5, "high": 20}],
                  "replications": 4, "max_replications": 4}
    # The type's axis (factor, the attribute rate) would change nothing here: refused.
    with pytest.raises(ScenarioError, match="severity_on: mean_shift"):
        load_scenario(_write(tmp_path, doc, FULL))
    doc["shocks"][0]["severity_on"] = "mean_shift"
    doc["mtd"]["shocks"][0].update(low=0.1, high=4.0, resolution=0.1)
    rules = copy.deepcopy(FULL)
    rules["plans"][0]["sampling"] = {"method": "single", "level": "II", "aql": 1.0,
                                     "switching": "none"}
    sc = load_scenario(_write(tmp_path, doc, rules))
    assert sc.shocks[0].severity() == 1.0
    assert sc.mtd is not None
    found = find_mtd(sc, sc.mtd.shocks[0])
    assert found.axis == "mean_shift"
    # Settled inside the range: a shift of the mean moves the escapes (the attribute
    # factor would have left every run the same).
    assert found.mtd is not None and 0.1 < found.mtd < 4.0
    assert found.runs > 4 and found.binding_kpi == "escaped_ppm"
    # The journal reports the shock's severity on the parameter searched.
    rep = run_replication(sc, 0, seed=3)
    [started] = _records(rep, "ShockStarted")
    assert started["severity"] == 1.0
    doc["shocks"][0]["severity_on"] = "colour"
    with pytest.raises(ScenarioError, match="unknown severity parameter 'colour'"):
        load_scenario(_write(tmp_path, doc, rules))


# --------------------------------------------------------------------------- the engine's


def test_defects_nobody_measures_are_not_counted_as_gauge_errors(tmp_path: Path) -> None:
    # A perfect gauge: readings are the truth, so nothing is misclassified; the attribute
    # defects (1 %) are found at the station's detection (1.0) besides the units out of
    # the limits, 2·Φ(−2.5) = 1.24 %.
    doc = copy.deepcopy(PLANT)
    doc["plant"]["characteristics"][0]["gauge"] = {}
    doc["plant"]["suppliers"][0]["defect_rate"] = 0.01
    rep = run_replication(load_scenario(_write(tmp_path, doc, FULL)), 0, seed=3)
    [row] = [r for r in rep.stations if r["station"] == "iqc"]
    assert row["false_accepts"] == 0 and row["false_rejects"] == 0
    n = row["units_measured"]
    p = 1 - (1 - 2 * stats.norm.sf(2.5)) * (1 - 0.01)
    assert row["rejected"] == pytest.approx(n * p, abs=4 * math.sqrt(n * p))


def test_a_rejected_lots_sample_is_not_read_again_when_the_rest_is_screened(
        tmp_path: Path) -> None:
    # Sampled inspection (n 80, Ac 2 for lots of 1,000) of a process 2.5 % out of limits:
    # most lots are rejected. Each unit of a lot is read once: n for an accepted lot, the
    # whole lot for a rejected one (its sample, then the rest).
    doc = copy.deepcopy(PLANT)
    doc["plant"]["characteristics"][0]["values"] = {"mean": 0.0, "sd": 1.1}
    rules = copy.deepcopy(FULL)
    rules["plans"][0]["sampling"] = {"method": "single", "level": "II", "aql": 1.0,
                                     "switching": "none"}
    rep = run_replication(load_scenario(_write(tmp_path, doc, rules)), 0, seed=3)
    lots = _records(rep, "LotInspected")
    decisions = {d["decision"] for d in lots}
    assert decisions == {"accepted", "rejected_screened"}
    expected = sum(d["n"] if d["decision"] == "accepted" else d["lot_size"] for d in lots)
    [row] = [r for r in rep.stations if r["station"] == "iqc"]
    # Lots still being screened at the horizon are read in part.
    assert expected - 1000 <= row["units_measured"] <= expected


def test_chart_signals_count_points_once_and_a_cusum_restarts() -> None:
    from shocktwin.rules_engine.quality import ChartState
    from shocktwin.rules_engine.ruleset import Characteristic, _compile_characteristic

    spec = _compile_characteristic(Characteristic.model_validate({
        "name": "x", "spc": {"chart": "i_mr", "limits": {"centre": 0.0, "sigma": 1.0}}}))
    chart = ChartState("m", "x", spec)
    signals, points = chart.feed(np.array([0.1, 4.0, 0.2]), 0, 3)
    kinds = {s for s, _, _ in signals}
    assert {"out_of_limits", "we1_one_beyond_3_sigma", "spread_out_of_limits"} <= kinds
    assert points == 2  # the outlier, and the moving range back from it
    [spread] = [v for s, _, v in signals if s == "spread_out_of_limits"]
    assert spread == pytest.approx(3.9)  # the moving range, not the value
    # CUSUM (k 0.5, h 5) on a 3σ shift: C⁺ grows 2.5 a point (2.5, 5.0, 7.5), and a sum
    # on the decision interval does not signal, so it signals on the third point after
    # each restart: 16 signals in 50 points, not 48.
    spec = _compile_characteristic(Characteristic.model_validate({
        "name": "x", "spc": {"chart": "cusum", "limits": {"centre": 0.0, "sigma": 1.0}}}))
    chart = ChartState("m", "x", spec)
    signals, points = chart.feed(np.full(50, 3.0), 0, 50)
    assert points == 16
    assert [(s, n) for s, n, _ in signals] == [("cusum_upper", 16)]


def test_a_trigger_hold_cancels_what_is_owed_and_a_trigger_release_ends_it(
        tmp_path: Path) -> None:
    # The supplier's lots are barely capable (Cpk 0.83): the first lot holds it and the
    # plant orders from the capable backup (Cpk 1.67); the backup's first lot releases it.
    doc = copy.deepcopy(PLANT)
    plant = doc["plant"]
    plant["suppliers"].append({"id": "alt", "material": "part", "lot_size": 1000,
                               "lead_time": "12h"})
    plant["characteristics"][0]["sources"] = {"alt": {"mean": 0.0, "sd": 0.5}}
    plant["buffers"][0].update(initial=1000, reorder_point=2500)
    rules = copy.deepcopy(FULL)
    rules["triggers"] = [
        {"id": "hold", "material": "part", "when": "lots_below_cpk_in_a_row >= 1",
         "then": [{"type": "hold_supplier"}]},
        {"id": "release", "material": "part", "when": "lot.cpk >= 1.33",
         "then": [{"type": "release_supplier", "supplier": "sup"}]}]
    rep = run_replication(load_scenario(_write(tmp_path, doc, rules)), 0, seed=3)
    [started, *_] = _records(rep, "SupplierHoldStarted")
    assert started["supplier"] == "sup" and started["reason"] == "trigger hold"
    assert started["corrective_action_h"] is None
    # What sup still owed (it had two lots on order at the start) is ordered from alt.
    cancelled = [r for r in _records(rep, "OrdersCancelled") if r["at_h"] == started["at_h"]]
    assert cancelled and cancelled[0]["supplier"] == "sup"
    ended = [r for r in _records(rep, "SupplierHoldEnded") if r["supplier"] == "sup"]
    assert ended and ended[0]["reason"] == "trigger release"
    assert ended[0]["held_h"] == pytest.approx(ended[0]["at_h"] - started["at_h"])
    first_alt = min(d["at_h"] for d in _records(rep, "LotMeasured") if d["supplier"] == "alt")
    assert ended[0]["at_h"] == first_alt


def test_a_released_source_orders_when_its_qualification_ends(tmp_path: Path) -> None:
    # The supplier is lost an hour in (its open order cancelled); the backup's study is
    # done within hours and its qualification takes 5 days. With one unit of demand a day
    # nothing else wakes the buffer: it must order at the end of the qualification, and
    # the first lot arrives 12 h later.
    doc = copy.deepcopy(PLANT)
    plant = doc["plant"]
    plant["suppliers"].append({"id": "alt", "material": "part", "lot_size": 1000,
                               "lead_time": "12h", "qualification": "5d"})
    plant["buffers"][0].update(initial=1000, reorder_point=1500)
    plant["demand"] = {"rate": "1/d", "due_in": "2d"}
    doc["shocks"] = [{"id": "gone", "type": "supplier_insolvency", "target": "sup",
                      "start": "1h", "duration": "1h"}]
    rules = copy.deepcopy(FULL)
    rules["plans"][0]["comparability"] = {"characteristic": "x", "margin": 5.0,
                                          "samples": 5, "time_per_sample": "6min"}
    rep = run_replication(load_scenario(_write(tmp_path, doc, rules)), 0, seed=3)
    [study] = _records(rep, "ComparabilityStudied")
    assert study["outcome"] == "released" and study["at_h"] < 1 + 2
    [switched] = _records(rep, "SourceSwitched")
    assert switched["orders_from_h"] == pytest.approx(1 + 5 * 24)
    first = min(d["at_h"] for d in _records(rep, "LotInspected") if d["supplier"] == "alt")
    assert first == pytest.approx(1 + 5 * 24 + 12, abs=0.5)


@pytest.mark.parametrize(("where", "change", "message"), [
    ("plant", {"characteristics": [{"name": "x", "material": "part", "unit": "mm", "lsl": 1,
                                    "usl": 3, "values": {"dist": "weibull", "mean": 2,
                                                         "sd": 0.0001}}]},
     "a weibull characteristic needs sd/mean between 0.001 and 10"),
    ("shocks", [{"id": "d", "type": "quality_drift", "target": "sup", "start": "1d",
                 "duration": "1d", "mean_shift": 1.0, "characteristic": "y"}],
     "unknown characteristic of part 'y'"),
    ("rules", {"comparability": {"characteristic": "x", "margin": 1.0, "lab": "lab"}},
     "unknown incoming inspection station 'lab'"),
])
def test_measured_inputs_that_cannot_act_are_refused(tmp_path: Path, where: str,
                                                     change: Any, message: str) -> None:
    doc = copy.deepcopy(PLANT)
    rules = copy.deepcopy(FULL)
    if where == "plant":
        doc["plant"].update(change)
    elif where == "shocks":
        doc["shocks"] = change
    else:
        rules["plans"][0].update(change)
    with pytest.raises(ScenarioError, match=re.escape(message)):
        load_scenario(_write(tmp_path, doc, rules))


def test_a_measured_shock_on_a_plant_that_measures_nothing_is_refused(tmp_path: Path) -> None:
    doc = copy.deepcopy(PLANT)
    doc["plant"].pop("characteristics")
    doc["plant"]["suppliers"][0]["defect_rate"] = 0.01
    doc["shocks"] = [{"id": "d", "type": "quality_drift", "target": "sup", "start": "1d",
                      "duration": "1d", "spread": 2.0}]
    with pytest.raises(ScenarioError, match="the lots of 'sup' \\(part\\) carry none"):
        load_scenario(_write(tmp_path, doc, {"version": 1, "name": "r", "plans": [
            {"material": "part", "station": "iqc", "sampling": {"method": "full"}}]}))
