"""The portfolio resilience score on constructed histories: the formula by hand, decay of
results not re-run, and what is not a test."""

from __future__ import annotations

import pytest

from shocktwin.twin.resilience.history import ResultRow
from shocktwin.twin.resilience.portfolio import decay, portfolio_score

NOW = "2027-10-01T00:00:00Z"


def row(review: str, scenario: str, shock: str, indicator: str, status: str,
        finished: str = NOW) -> ResultRow:
    return ResultRow(review=review, scenario=scenario, shock=shock, indicator=indicator,
                     value=1.0, ci_low=None, ci_high=None, unit="", target=1.0, status=status,
                     severity=None, replications=10, runs=10, scenario_hash="", rules_hash="",
                     engine="simpy", version="0", seed=0, finished_utc=finished)


def test_decay_halves_with_every_interval_past_the_first() -> None:
    assert decay(0, 91) == 1.0
    assert decay(91, 91) == 1.0
    assert decay(182, 91) == pytest.approx(0.5)
    assert decay(273, 91) == pytest.approx(0.25)
    assert decay(136.5, 91) == pytest.approx(2 ** -0.5)


def test_passed_failed_undecided_by_hand() -> None:
    current = [row("Q3", "valve", "quake", "mtd", "passed"),
               row("Q3", "valve", "quake", "recovery_guarantee", "failed"),
               row("Q3", "valve", "", "hypothesis_share", "undecided"),
               row("Q3", "column", "cut", "mtd", "not_converged"),
               # informational rows are not tests
               row("Q3", "valve", "quake", "ttr_p90_h", "no_target"),
               row("Q3", "column", "cut", "recovery_guarantee", "no_target")]
    s = portfolio_score(current, [], at_utc=NOW, interval_days=91)
    # (1 + 0 + 0.5 + 0.5) / 4
    assert s.score == pytest.approx(50.0)
    assert (s.tests, s.passed, s.failed, s.undecided, s.not_rerun) == (4, 1, 1, 2, 0)
    assert s.passed + s.failed + s.undecided + s.not_rerun == s.tests


def test_results_not_rerun_are_carried_and_decay() -> None:
    current = [row("Q3", "valve", "quake", "mtd", "passed")]
    earlier = [
        # within its interval (91 d before): full credit
        row("Q2", "column", "cut", "mtd", "passed", "2027-07-02T00:00:00Z"),
        # an older result of the same key is superseded by Q2's
        row("Q1", "column", "cut", "mtd", "failed", "2027-04-01T00:00:00Z"),
        # 182 d old with a 91 d interval: half credit
        row("Q1", "eda", "switch", "mtd", "passed", "2027-04-02T00:00:00Z"),
        # re-run now: the earlier result does not count
        row("Q1", "valve", "quake", "mtd", "failed", "2027-04-02T00:00:00Z"),
        # a scenario no longer in the suite is not carried
        row("Q1", "retired", "x", "mtd", "failed", "2027-04-02T00:00:00Z"),
    ]
    s = portfolio_score(current, earlier, at_utc=NOW, interval_days=91,
                        scenarios=["valve", "column", "eda"])
    assert s.tests == 3 and s.not_rerun == 2 and s.stale == 1
    assert s.score == pytest.approx(100.0 * (1 + 1 + 0.5) / 3)
    assert s.decayed == pytest.approx(0.5)
    carried = {t.scenario: t for t in s.scored if not t.rerun}
    assert carried["column"].review == "Q2"
    # Per scenario intervals: eda reviewed yearly keeps its full credit.
    yearly = portfolio_score(current, earlier, at_utc=NOW, interval_days=91,
                             scenarios=["valve", "column", "eda"], intervals={"eda": 365})
    assert yearly.score == pytest.approx(100.0)


def test_no_tests_no_score() -> None:
    s = portfolio_score([row("Q1", "v", "s", "ttr_p50_h", "no_target")], [], at_utc=NOW,
                        interval_days=91)
    assert s.score is None and s.tests == 0
    assert "no tests" in s.text()


def test_a_review_run_again_carries_forward_by_when_reviews_started() -> None:
    """Q1 passed (run again in June, so its rows finished last), Q2 failed in April, Q3 no
    longer runs the shock: Q3 carries Q2's result — the later review — not Q1's."""
    q1 = row("2027-Q1", "plant", "quake", "mtd", "passed", finished="2027-06-01T00:00:00Z")
    q2 = row("2027-Q2", "plant", "quake", "mtd", "failed", finished="2027-04-01T00:00:00Z")
    other = row("2027-Q3", "plant", "", "hypothesis_share", "passed")
    starts = {"2027-Q1": "2027-01-01T00:00:00Z", "2027-Q2": "2027-04-01T00:00:00Z"}
    score = portfolio_score([other], [q1, q2], at_utc=NOW, interval_days=365,
                            scenarios=["plant"], order=starts)
    assert score.score == pytest.approx(50.0)  # one pass (re-run), one failure carried


def test_an_indicator_no_longer_measured_is_a_regression() -> None:
    """A TTR that was 10 h and now never recovers before the horizon (stored as null) is the
    worst case, not a pass; a small change within the tolerance is none."""
    from dataclasses import replace

    from shocktwin.twin.resilience.campaign import _regressions

    before = replace(row("2027-Q1", "plant", "quake", "ttr_p90_h", "no_target"), value=10.0)
    lost = replace(before, review="2027-Q2", value=None)
    close = replace(before, review="2027-Q2", value=11.0)
    tolerance = {"plant": {"ttr_p90_h": 0.2}}
    [found] = _regressions([lost], [before], "2027-Q1", tolerance)
    assert found.current is None and "not measured now" in found.message
    assert _regressions([close], [before], "2027-Q1", tolerance) == []
    worse = replace(close, value=13.0)
    assert len(_regressions([worse], [before], "2027-Q1", tolerance)) == 1
