"""Process capability indices, checked by hand."""

from __future__ import annotations

import pytest

from shocktwin.errors import RuleError
from shocktwin.rules_engine.capability import cp, cpk, process_capability


def test_cpk_of_an_off_centre_process() -> None:
    # Mean 10, σ 0.5, LSL 8.5, USL 12: CPU = 2 / 1.5 = 1.333, CPL = 1.5 / 1.5 = 1.0.
    assert cpk(10.0, 0.5, lsl=8.5, usl=12.0) == pytest.approx(1.0)
    assert cp(0.5, lsl=8.5, usl=12.0) == pytest.approx(3.5 / 3.0)


def test_one_sided_specifications() -> None:
    assert cpk(10.0, 0.5, usl=12.0) == pytest.approx(2.0 / 1.5)
    assert cpk(10.0, 0.5, lsl=8.5) == pytest.approx(1.0)
    assert cp(0.5, usl=12.0) is None


def test_cpk_is_negative_when_the_mean_is_outside_the_specification() -> None:
    assert cpk(13.0, 0.5, lsl=8.5, usl=12.0) == pytest.approx(-1.0 / 1.5)


def test_individuals_use_moving_range_within_and_sample_sigma_overall() -> None:
    # 9, 10, 11: mean 10, s = 1 (n − 1); MR̄ = 1 → σ̂ within = 1 / 1.128.
    # LSL 7, USL 14: Pp = 7/6, Ppk = min(4, 3)/3 = 1; Cp = 7·1.128/6, Cpk = 3·1.128/3 = 1.128.
    result = process_capability([9.0, 10.0, 11.0], lsl=7.0, usl=14.0)
    assert result.mean == pytest.approx(10.0)
    assert result.sigma_overall == pytest.approx(1.0)
    assert result.sigma_within == pytest.approx(1 / 1.128)
    assert result.pp == pytest.approx(7 / 6)
    assert result.ppk == pytest.approx(1.0)
    assert result.cp == pytest.approx(7 * 1.128 / 6)
    assert result.cpk == pytest.approx(1.128)


def test_subgroups_use_mean_range_over_d2() -> None:
    # Two subgroups of 2: (9, 11), (10, 12); R̄ = 2, d2 = 1.128 → σ̂ within = 1.773;
    # overall mean 10.5; one-sided USL 15 → Cpk = 4.5 / (3 · 2/1.128), no Cp.
    result = process_capability([[9.0, 11.0], [10.0, 12.0]], usl=15.0)
    assert result.sigma_within == pytest.approx(2 / 1.128)
    assert result.cpk == pytest.approx(4.5 * 1.128 / 6)
    assert result.cp is None and result.pp is None


def test_data_without_spread_is_refused() -> None:
    with pytest.raises(RuleError, match="sigma_within"):
        process_capability([5.0, 5.0, 5.0], lsl=1.0, usl=9.0)
