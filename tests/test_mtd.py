"""Maximum tolerable disruption: the search, its interval, resilience metrics, resume."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest
from conftest import BASE_PLANT, deep_update, records_of
from scipy import stats

from shocktwin import cli
from shocktwin.errors import ScenarioError
from shocktwin.scenarios import parse_scenario
from shocktwin.scenarios.model import Tolerance
from shocktwin.twin.experiment.recovery import resilience_of
from shocktwin.twin.experiment.replication import run_replication
from shocktwin.twin.resilience.mtd import (
    RunStore,
    _bisect,
    _estimate,
    find_mtd,
    quantile_interval,
)

# A supplier outage against on-time delivery: stock covers a few days, so the MTD is a
# few days and depends on where the reorder cycle stands (different per replication).
MTD_PLANT = deep_update(BASE_PLANT, {
    "horizon": "16d", "warmup": "1d",
    "plant": {"buffers": [{"id": "stock", "material": "part", "initial": 2500,
                           "reorder_point": 1500}]},
    "shocks": [{"id": "outage", "type": "supplier_outage", "target": "sup", "start": "4d",
                "duration": "1d"}],
    "hypothesis": {"probability": 0.75, "tolerances": [{"kpi": "otd", "min": 0.95}]},
    "mtd": {"shocks": [{"shock": "outage", "low": "1h", "high": "8d", "resolution": "2h"}],
            "replications": 12, "max_replications": 12},
    "experiment": {"replications": 12, "seed": 3},
})


def scenario(**changes: Any) -> Any:
    return parse_scenario(deep_update(MTD_PLANT, changes))


def test_order_statistic_interval_matches_the_published_ranks() -> None:
    # Median of 100: the 95 % interval runs from the 40th to the 61st order statistic
    # (Conover, Practical Nonparametric Statistics, table A3).
    assert quantile_interval(100, 0.5) == (40, 61)
    # Coverage is at least 95 % and one rank narrower on either side would lose it.
    for n, q in ((40, 0.1), (120, 0.1), (60, 0.25)):
        lo, hi = quantile_interval(n, q)
        assert lo is not None and hi is not None
        coverage = stats.binom.cdf(hi - 1, n, q) - stats.binom.cdf(lo - 1, n, q)
        assert coverage >= 0.95
        assert stats.binom.cdf(lo, n, q) > 0.025 and stats.binom.cdf(hi - 2, n, q) < 0.975
    # Too few replications for a lower bound at p = 0.9: 0.9^n > 0.025 up to n = 35.
    assert quantile_interval(35, 0.1)[0] is None
    assert quantile_interval(36, 0.1)[0] == 1


@pytest.fixture(scope="module")
def searched() -> Any:
    sc = scenario()
    return sc, find_mtd(sc, sc.mtd.shocks[0])


def test_each_replication_holds_at_its_threshold_and_fails_just_above(searched) -> None:
    sc, result = searched
    assert result.status == "converged" and result.replications == 12
    row = next(t for t in result.thresholds if math.isfinite(t.tolerable))
    outage = sc.shocks[0]
    for severity, holds in ((row.tolerable, True), (row.failing, False)):
        variant = sc.model_copy(update={"shocks": [outage.with_severity(severity)]})
        rep = run_replication(variant, row.replication, seed=sc.experiment.seed)
        otd = rep.kpis["otd"]
        assert (otd >= 0.95) is holds, (severity, otd)
    assert row.failing - row.tolerable <= 2.0
    assert result.binding_kpi == "otd"


def test_the_search_matches_a_dense_grid_with_a_quarter_of_its_runs(searched) -> None:
    sc, result = searched
    step = 12.0  # hours
    grid = np.arange(1.0, 8 * 24.0 + 1e-9, step)
    holds = np.zeros((grid.size, 12), dtype=bool)
    for i, severity in enumerate(grid):
        variant = sc.model_copy(update={"shocks": [sc.shocks[0].with_severity(severity)]})
        for r in range(12):
            otd = run_replication(variant, r, seed=sc.experiment.seed).kpis["otd"]
            holds[i, r] = otd >= 0.95
    share = holds.mean(axis=1)
    grid_mtd = float(grid[share >= 0.75].max())
    # The grid's answer is the last grid point below the true MTD: within one step.
    assert grid_mtd - 2.0 <= result.mtd < grid_mtd + step + 2.0
    # A grid as fine as the search's resolution (2 h over 1 h … 8 d) would need 96 points.
    equal_precision_grid = 12 * (int((8 * 24.0 - 1.0) / 2.0) + 1)
    assert result.runs <= 0.25 * equal_precision_grid
    # 12 replications at p = 0.75 bound the interval above only (0.75^12 > 0.025).
    assert result.ci_low is None
    assert result.ci_high is not None and result.mtd <= result.ci_high


def test_an_interrupted_search_resumes_and_recomputes_nothing(searched, tmp_path) -> None:
    sc, full = searched
    # A budget too small to finish stops the first attempt part-way, with its runs stored.
    short = scenario(mtd={"budget": 70})
    log = tmp_path / "runs.jsonl"
    cut = find_mtd(short, short.mtd.shocks[0], store=RunStore(log, resume=False))
    assert cut.status == "not_converged" and cut.mtd is None
    stored = len(log.read_text().splitlines())
    assert 0 < stored <= 70
    # The budget is part of the search settings, not of the runs: the same runs count.
    resumed = find_mtd(sc, sc.mtd.shocks[0], store=RunStore(log, resume=True))
    assert resumed.mtd == full.mtd and resumed.ci_low == full.ci_low
    # It reports the runs the search needed, as the uninterrupted one does, and how many of
    # them came from the log: computed now are exactly those the cut search had not stored.
    assert resumed.runs == full.runs and full.runs_reused == 0
    assert resumed.runs_reused == stored
    keys = [json.loads(line)["key"] for line in log.read_text().splitlines()]
    assert len(keys) == len(set(keys))  # nothing run twice
    with pytest.raises(Exception, match="give --resume"):
        RunStore(log, resume=False)


def test_resilience_metrics_by_hand() -> None:
    # Daily buckets; onset at 48 h, full shock until 96 h. OTD falls from 1.0 to 0.6.
    series = {"t_start_h": np.arange(0.0, 168.0, 24.0), "t_end_h": np.arange(24.0, 192.0, 24.0),
              "otd": np.array([1.0, 1.0, 0.6, 0.8, 0.9, 1.0, 1.0])}
    m = resilience_of(series, Tolerance(kpi="otd", min=0.95), onset_h=48.0, end_h=96.0)
    assert m.baseline == 1.0
    assert m.robustness_pct == pytest.approx(60.0)
    assert m.tts_h == 0.0  # out of tolerance in the onset bucket
    assert m.ttr_h == pytest.approx(120.0 - 96.0)  # back within from the bucket at 120 h
    assert m.loss_pct_h == pytest.approx((40 + 20 + 10) * 24.0)
    # Lower is better: a lead time doubling is Q = 50 %.
    lead = {"t_start_h": series["t_start_h"], "t_end_h": series["t_end_h"],
            "release_lead_time_mean": np.array([2.0, 2.0, 4.0, 2.0, 2.0, 2.0, 2.0])}
    m = resilience_of(lead, Tolerance(kpi="release_lead_time_mean", max="3h"), onset_h=48.0,
                      end_h=72.0)
    assert m.robustness_pct == pytest.approx(50.0) and m.ttr_h == 0.0


@pytest.mark.parametrize(("mtd", "message"), [
    ({"shocks": [{"shock": "nope", "low": "1h", "high": "2d"}]}, "unknown shock 'nope'"),
    ({"shocks": [{"shock": "outage", "low": "2d", "high": "1d"}]}, "high must be above low"),
    ({"shocks": [{"shock": "outage", "low": 1, "high": "2d"}]}, "write it with a unit"),
    ({"shocks": [{"shock": "outage", "low": "1h", "high": "2d"}], "probability": 1.5},
     "less than 1"),
])
def test_bad_mtd_blocks_are_refused(mtd, message) -> None:
    doc = deep_update(MTD_PLANT, {})
    doc["mtd"] = mtd
    with pytest.raises(ScenarioError, match=message):
        parse_scenario(doc)


def test_cli_exit_code_follows_the_target(tmp_path, runner) -> None:  # type: ignore[no-untyped-def]
    import yaml

    out = tmp_path / "out"
    for target, code, extra in (("1d", 0, []), ("7d", 1, ["--resume"])):
        doc = deep_update(MTD_PLANT, {})
        doc["mtd"]["shocks"][0]["target"] = target
        path = tmp_path / f"s-{target}.yaml"
        path.write_text(yaml.safe_dump(doc))
        # The second target reuses the first search's runs: only the verdict changes.
        result = runner.invoke(cli.app, ["mtd", str(path), "--json", "--out", str(out),
                                         *extra])
        assert result.exit_code == code, result.output
        doc = json.loads(result.output)
        [finished] = records_of(doc, "SearchFinished")
        assert (finished["runs_reused"] > 0) is bool(extra)
        report = records_of(doc, "MtdFound")[0]
        assert report["meets_target"] is (code == 0)
        assert report["resilience_at_mtd"]["kpi"] == "otd"
        assert (out / "mtd.json").is_file()


@pytest.mark.slow
@pytest.mark.parametrize("name", ["valve_quake", "valve_disruptions"])
def test_bundled_scenarios_give_mtds_with_intervals(name, runner, tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(cli.app, ["mtd", name, "--json", "--executor", "process",
                                     "--workers", "2", "--out", str(tmp_path)])
    assert result.exit_code in (0, 1), result.output
    for shock in records_of(json.loads(result.output), "MtdFound"):
        assert shock["status"] == "converged", shock["shock"]
        low, high = shock["ci95"]
        assert low is not None and high is not None and low <= shock["mtd"] <= high
        assert shock["binding_kpi"] is not None


# --------------------------------------------------------------------------- the interval


def _search_known(thresholds_of: np.ndarray, *, p: float, resolution: float
                  ) -> tuple[dict[int, dict[str, Any]], float | None, tuple[Any, Any]]:
    """Bisect replications whose tolerable severities are ``thresholds_of`` (replication r
    holds at s exactly when s ≤ thresholds_of[r]) over 0 … 100, with no twin."""
    def evaluate(points: list[tuple[int, float]]) -> dict[tuple[int, float], Any]:
        return {(r, s): {"holds": bool(s <= thresholds_of[r]),
                         "broken": [] if s <= thresholds_of[r] else ["otd"]}
                for r, s in points}

    found: dict[int, dict[str, Any]] = {}
    _bisect(list(range(thresholds_of.size)), 0.0, 100.0, resolution, 3, evaluate, found)
    mtd, ci = _estimate(found, p)
    return found, mtd, ci


@pytest.mark.parametrize("resolution", [0.5, 20.0])
def test_the_interval_covers_the_true_quantile_at_its_nominal_rate(resolution) -> None:
    # Tolerable severities exponential with mean 30 (cut below the range's top): the MTD at
    # p = 0.5 is their median, 30 ln 2 = 20.79, inside a cell of the search's grid.
    rng = np.random.default_rng(19)
    n, p, sims = 100, 0.5, 400
    xi = 30.0 * math.log(2.0)
    lo_rank, hi_rank = quantile_interval(n, 1.0 - p)
    assert lo_rank is not None and hi_rank is not None
    assert (lo_rank, hi_rank) == (40, 61)
    exact = stats.binom.cdf(hi_rank - 1, n, 0.5) - stats.binom.cdf(lo_rank - 1, n, 0.5)
    covered = covered_by_lower_ends = 0
    for _ in range(sims):
        s = np.minimum(rng.exponential(30.0, n), 99.9)
        found, mtd, (low, high) = _search_known(s, p=p, resolution=resolution)
        covered += low <= xi <= high
        tolerable = sorted(t["tolerable"] for t in found.values())
        covered_by_lower_ends += tolerable[lo_rank - 1] <= xi <= tolerable[hi_rank - 1]
        # The point estimate is conservative: at or below the sample quantile, by less
        # than the resolution.
        k = math.floor((1.0 - p) * n)
        assert mtd is not None and mtd <= np.sort(s)[k] <= mtd + resolution
    se = math.sqrt(0.95 * 0.05 / sims)
    assert covered / sims >= 0.95 - 3 * se
    if resolution < 1.0:
        # Fine resolution: the order statistics' own coverage (96.5 %), not more.
        assert covered / sims <= exact + 3 * se
    else:
        # Coarse resolution: an interval built from the brackets' lower ends alone (the
        # former construction) falls well short; the brackets' upper ends put it right.
        assert covered_by_lower_ends / sims < 0.95 - 3 * se


# --------------------------------------------------------------------------- runs counted


def test_a_resumed_search_counts_every_run_it_needed(tmp_path) -> None:
    from shocktwin.twin.resilience.mtd import run_mtd_search

    small = deep_update(MTD_PLANT, {"mtd": {"replications": 6, "max_replications": 6},
                                    "hypothesis": {"probability": 0.5}})
    import yaml

    def search(doc: dict[str, Any], out: Any, resume: bool) -> tuple[Any, list[int]]:
        path = tmp_path / "s.yaml"
        path.write_text(yaml.safe_dump(doc))
        told: list[int] = []
        outcome = run_mtd_search(path, out=out, resume=resume,
                                 progress=lambda done, total: told.append(done))
        return outcome, told

    whole, told = search(small, tmp_path / "whole", False)
    [r] = whole.results
    assert r.status == "converged" and r.resilience["replications"] == 6
    # The runs at the MTD are counted with the search's; the progress ends at that count.
    assert told[-1] == r.runs > 0 and r.runs_reused == 0
    cut, _ = search(deep_update(small, {"mtd": {"budget": 40}}), tmp_path / "cut", False)
    assert cut.results[0].status == "not_converged"
    resumed, told = search(small, tmp_path / "cut", True)
    [again] = resumed.results
    assert again.runs == r.runs and told[-1] == r.runs
    assert 0 < again.runs_reused < again.runs
    finished = resumed.document.finished
    assert finished is not None and finished.runs == r.runs
    assert finished.runs_reused == again.runs_reused == resumed.runs_reused
    # Resumed once more, everything comes from the log and the count stays the same.
    twice, told = search(small, tmp_path / "cut", True)
    assert twice.results[0].runs == twice.results[0].runs_reused == r.runs == told[-1]


def test_a_censored_result_is_told_in_words_and_the_guarantee_is_written(
        tmp_path, runner) -> None:  # type: ignore[no-untyped-def]
    import yaml
    from test_guarantee import BACKLOG

    # The whole-run WIP bound breaks for outages above a few hours: from 20 h on, the
    # range's low end, it fails in every replication.
    doc = deep_update(BACKLOG, {
        "shocks": [{"id": "power", "type": "power_outage", "start": "50h",
                    "duration": "10h"}],
        "hypothesis": {"tolerances": [{"kpi": "wip_mean", "max": 0.6}],
                       "recovery": {"within": "30h", "guarantee": 0.9}},
        "mtd": {"shocks": [{"shock": "power", "low": "20h", "high": "40h"}],
                "replications": 4, "max_replications": 4, "scan": 1}})
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(doc))
    out = tmp_path / "out"
    result = runner.invoke(cli.app, ["mtd", str(path), "--out", str(out)])
    assert result.exit_code in (0, 1), result.output
    text = " ".join(result.output.split())
    assert "below_range" not in text
    assert ("fails already at the range's low end 20h: the MTD is below the searched range"
            in text)
    assert "below range (< 20h)" in text
    assert "recovery guarantee (back at ≥ 95 % of the pre-shock level within 30h" in text
    [found] = records_of(json.loads((out / "mtd.json").read_text()), "MtdFound")
    assert found["status"] == "below_range"
    assert [g["severity"] for g in found["guarantee_curve"]] == [20.0, 30.0, 40.0]
    # Recovery in 2d: within 30 h for none of these outages.
    assert [g["rate"] for g in found["guarantee_curve"]] == [0.0, 0.0, 0.0]
    assert found["guarantee"]["severity"] == 10.0 and found["guarantee"]["rate"] == 1.0
    assert found["guarantee"]["state"] == "undecided"  # 4/4: Wilson low 0.51 < 0.9
    assert "guarantee_at_mtd" not in found  # no MTD inside the range to measure at
    result = runner.invoke(cli.app, ["verify", str(out)])
    assert result.exit_code == 0, result.output
