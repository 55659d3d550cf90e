"""The hypothesis verdict: the Wilson interval of the held share (published values and its
coverage on a Bernoulli simulation), the rule that decides on it, the no-hypothesis case,
the exit codes of `run`, and KPI intervals shown as computed, never cut to the KPI's range."""

from __future__ import annotations

import importlib
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from conftest import BASE_PLANT, deep_update
from scipy.stats import norm
from typer.testing import CliRunner

from shocktwin import cli
from shocktwin.interval import wilson_interval
from shocktwin.twin.experiment.sequential import VerdictState, decide

Z95 = float(norm.ppf(0.975))  # 1.959964
APP = importlib.import_module("shocktwin.cli.app")


# --------------------------------------------------------------------------- Wilson interval


def _newcombe_4(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The continuity-corrected score interval by Newcombe's closed form (Stat. Med. 17:857,
    1998, method 4), written out here independently of the code under test."""
    p = k / n
    low = 0.0 if k == 0 else (2 * n * p + z * z - 1 - z * math.sqrt(
        z * z - 2 - 1 / n + 4 * p * (n * (1 - p) + 1))) / (2 * (n + z * z))
    high = 1.0 if k == n else (2 * n * p + z * z + 1 + z * math.sqrt(
        z * z + 2 - 1 / n + 4 * p * (n * (1 - p) - 1))) / (2 * (n + z * z))
    return max(low, 0.0), min(high, 1.0)


@pytest.mark.parametrize(("k", "n"), [
    # Newcombe's (1998) Table I examples, and the counts a verdict meets.
    (81, 263), (15, 148), (0, 20), (1, 29), (9, 10), (7, 10), (35, 35), (44, 45), (289, 320)])
def test_wilson_interval_is_newcombes_continuity_corrected_score_interval(k: int,
                                                                          n: int) -> None:
    i = wilson_interval(k, n)
    assert (i.low, i.high) == pytest.approx(_newcombe_4(k, n), abs=1e-9)
    assert i.share == k / n and (i.successes, i.n, i.level) == (k, n, 0.95)


@pytest.mark.parametrize("n", [1, 2, 10, 35, 45])
def test_wilson_interval_with_every_trial_a_success_has_the_closed_form_end(n: int) -> None:
    """At k = n the corrected interval's upper end is 1 and its lower end
    (2n + z² − 1 − z·√(z² + 2 − 1/n)) / (2(n + z²)); at k = 0, mirrored."""
    z = Z95
    end = (2 * n + z * z - 1 - z * math.sqrt(z * z + 2 - 1 / n)) / (2 * (n + z * z))
    i = wilson_interval(n, n)
    assert i.low == pytest.approx(max(end, 0.0), rel=1e-9) and i.high == 1.0
    none = wilson_interval(0, n)
    assert none.low == 0.0 and none.high == pytest.approx(1 - max(end, 0.0), rel=1e-9)


@pytest.mark.parametrize(("k", "n", "level"), [(-1, 5, 0.95), (6, 5, 0.95), (0, 0, 0.95),
                                               (1, 5, 1.0), (1, 5, 0.0)])
def test_wilson_interval_refuses_impossible_counts(k: int, n: int, level: float) -> None:
    with pytest.raises(ValueError):
        wilson_interval(k, n, level)


def _coverage(interval: Any, n: int, p: float, trials: int, seed: int) -> float:
    """Share of simulated experiments (n Bernoulli(p) outcomes each) whose interval covers p."""
    rng = np.random.default_rng(seed)
    successes = (rng.random((trials, n)) < p).sum(axis=1)
    bounds = {k: interval(int(k), n) for k in np.unique(successes)}
    return float(np.mean([bounds[k][0] <= p <= bounds[k][1] for k in successes]))


def _wilson(k: int, n: int) -> tuple[float, float]:
    i = wilson_interval(k, n)
    return i.low, i.high


def _plain_score(k: int, n: int) -> tuple[float, float]:
    """Wilson's score interval without the correction (Newcombe's method 3)."""
    share, z2 = k / n, Z95 * Z95
    centre = (share + z2 / (2 * n)) / (1 + z2 / n)
    half = Z95 * math.sqrt(share * (1 - share) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return centre - half, centre + half


def _wald(k: int, n: int) -> tuple[float, float]:
    share = k / n
    half = Z95 * math.sqrt(share * (1 - share) / n)
    return share - half, share + half


TRIALS = 20_000
#: Three standard errors of a coverage near 0.95 over TRIALS experiments.
SLACK = 3 * math.sqrt(0.95 * 0.05 / TRIALS)


@pytest.mark.parametrize(("n", "p"), [(n, p) for n in (10, 20, 40, 80, 160, 320)
                                      for p in (0.5, 0.8, 0.9, 0.95, 0.99)])
def test_wilson_interval_covers_at_its_nominal_level(n: int, p: float) -> None:
    """Every replication count a run or a look meets, every required share a hypothesis
    states: the interval covers the true share in at least 95 % of simulated experiments,
    within the simulation's error."""
    assert _coverage(_wilson, n, p, TRIALS, seed=n) >= 0.95 - SLACK


@pytest.mark.parametrize(("interval", "n", "p"), [(_wald, 20, 0.8), (_wald, 80, 0.9),
                                                  (_plain_score, 10, 0.9),
                                                  (_plain_score, 20, 0.95)])
def test_the_coverage_check_catches_an_interval_that_undercovers(interval: Any, n: int,
                                                                 p: float) -> None:
    """The Wald interval undercovers (about 0.92 and 0.93, Brown et al.), and so does the
    score interval without the correction next to 1 (exactly 0.930 at n = 10, p = 0.9 and
    0.925 at n = 20, p = 0.95): the check above would catch either."""
    assert _coverage(interval, n, p, TRIALS, seed=n) < 0.95 - SLACK


# --------------------------------------------------------------------------- the rule


@pytest.mark.parametrize(("held", "n", "required", "state"), [
    (10, 10, 0.9, VerdictState.UNDECIDED),  # lower end 0.6555 < 0.9
    (10, 10, 0.65, VerdictState.HOLDS),     # 0.6555 ≥ 0.65
    (45, 45, 0.9, VerdictState.HOLDS),      # 0.9020
    (44, 44, 0.9, VerdictState.UNDECIDED),  # 0.89999
    (9, 10, 0.9, VerdictState.UNDECIDED),
    (7, 10, 0.9, VerdictState.UNDECIDED),   # upper end 0.9191: not shown below 90 %
    (6, 10, 0.9, VerdictState.VIOLATED),    # upper end 0.8631
    (0, 10, 0.9, VerdictState.VIOLATED),
    (10, 10, 1.0, VerdictState.HOLDS),      # 100 % required: all must hold
    (99, 100, 1.0, VerdictState.VIOLATED),
])
def test_the_verdict_rule_on_the_held_share(held: int, n: int, required: float,
                                            state: VerdictState) -> None:
    got, interval = decide(held, n, required, 0.95)
    assert got is state
    assert interval.low <= held / n <= interval.high


# --------------------------------------------------------------------------- run


def write(tmp_path: Path, **changes: object) -> Path:
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(deep_update(BASE_PLANT, changes)))
    return path


ALWAYS = [{"kpi": "throughput_per_h", "min": 0.001}]  # the plant always releases something


def _run(runner: CliRunner, path: Path, *args: str) -> Any:
    return runner.invoke(cli.app, ["run", str(path), "-n", "2", *args])


def test_run_exit_codes_follow_the_verdict(tmp_path: Path, runner: CliRunner) -> None:
    """2 of 2 replications held: the 95 % interval is 19.8 %…100 %, so 15 % required holds,
    90 % is undecided; a bound no replication meets is violated."""
    holds = _run(runner, write(tmp_path, hypothesis={"probability": 0.15,
                                                     "tolerances": ALWAYS}))
    assert holds.exit_code == 0, holds.output
    assert ("steady-state hypothesis HOLDS: all tolerances held in 2 of 2 replications (100 %, "
            "95 % interval 19.8 %…100 %; required 15.0 %)") in holds.stdout
    undecided = _run(runner, write(tmp_path, hypothesis={"probability": 0.9,
                                                         "tolerances": ALWAYS}))
    assert undecided.exit_code == APP.EXIT_UNDECIDED == 4, undecided.output
    assert "steady-state hypothesis UNDECIDED" in undecided.stdout
    assert f"add replications: shocktwin run {tmp_path / 'scenario.yaml'} --until-decided" \
        in undecided.stdout.replace("\n", "")
    violated = _run(runner, write(tmp_path, hypothesis=[{"kpi": "release_lead_time_p95",
                                                         "max": "1s"}]))
    assert violated.exit_code == 1, violated.output
    assert "VIOLATED: all tolerances held in 0 of 2 replications" in violated.stdout


def test_a_scenario_without_tolerances_has_no_verdict(tmp_path: Path, runner: CliRunner) -> None:
    path = write(tmp_path, hypothesis=[])
    done = _run(runner, path)
    assert done.exit_code == 0, done.output
    assert "no hypothesis — no verdict" in done.stdout
    assert "HOLDS" not in done.stdout and "VIOLATED" not in done.stdout
    doc = json.loads(_run(runner, path, "--json").stdout)["hypothesis"]
    assert doc["state"] == "none" and doc["holds"] is False and doc["checks"] == []


def test_the_bundled_mmc_queue_has_no_hypothesis(runner: CliRunner) -> None:
    done = runner.invoke(cli.app, ["run", "mmc", "-n", "2"])
    assert done.exit_code == 0, done.output
    assert "no hypothesis — no verdict" in done.stdout and "HOLDS" not in done.stdout


def test_run_json_and_the_journal_carry_the_verdict_and_its_interval(
        tmp_path: Path, runner: CliRunner) -> None:
    path = write(tmp_path, hypothesis={"probability": 0.9, "tolerances": ALWAYS})
    out = tmp_path / "out"
    done = _run(runner, path, "--json", "--out", str(out))
    assert done.exit_code == 4, done.output
    h = json.loads(done.stdout)["hypothesis"]
    assert (h["state"], h["holds"], h["held"], h["n"], h["level"]) == ("undecided", False, 2, 2,
                                                                       0.95)
    assert h["share_low"] == pytest.approx(_newcombe_4(2, 2)[0]) and h["share_high"] == 1.0
    (finished,) = [r for r in json.loads((out / "journal.json").read_text())["records"]
                   if r["kind"] == "RunFinished"]
    assert finished["verdict"] == "undecided" and finished["hypothesis_holds"] is None
    assert finished["held"] == 2 and finished["share_low"] == pytest.approx(h["share_low"])
    assert finished["share_high"] == 1.0


# --------------------------------------------------------------------------- KPI intervals


@pytest.mark.parametrize(("kpi", "value", "text", "beyond"), [
    ("release_lead_time_mean", -0.169, "−10.14min*", True),  # −0.169 h = −10.14 min
    ("release_lead_time_mean", 1.816, "1.816h", False),
    ("otd", 1.02, "102.00%*", True),
    ("otd", 0.98, "98.00%", False),
    ("wip_mean", -3.5, "−3.5*", True),
    ("wip_mean", 0.0, "0", False),
])
def test_an_interval_end_beyond_the_kpis_range_is_shown_and_marked(
        kpi: str, value: float, text: str, beyond: bool) -> None:
    assert APP._interval_end(kpi, value) == (text, beyond)


def test_run_prints_kpi_intervals_as_computed_with_a_footnote(tmp_path: Path,
                                                             runner: CliRunner) -> None:
    """With 2 replications t(0.975, 1) = 12.7 makes wide intervals: those reaching below
    0 are printed with their sign and mark and explained once; --json has the raw ends (a
    t interval is symmetric about the mean: nothing was cut)."""
    path = write(tmp_path)
    doc = json.loads(_run(runner, path, "--json").stdout)
    kpis = {k: v for k, v in doc["kpis"].items() if v["n"] >= 2 and v["ci_low"] is not None}
    for v in kpis.values():
        assert v["ci_low"] + v["ci_high"] == pytest.approx(2 * v["mean"], abs=1e-9)
    negative = [k for k, v in kpis.items() if v["ci_low"] < 0]
    assert negative  # stockouts, WIP or scrap vary enough between two replications
    text = _run(runner, path).stdout
    rows = {line.split()[1]: line for line in text.splitlines() if line.startswith("│")}
    for k in negative:
        assert "−" in rows[k] and "*" in rows[k], rows[k]
    assert text.count("* beyond the values the KPI can take") == 1
