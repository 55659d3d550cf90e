"""Process capability indices, checked by hand and against Montgomery's worked examples."""

from __future__ import annotations

import numpy as np
import pytest

from shocktwin.errors import RuleError
from shocktwin.rules_engine.capability import cp, cpk, process_capability

# Montgomery, Introduction to Statistical Quality Control, §6.2, Table 6.1: flow width of the
# resist (microns) in a hard-bake process, 25 samples of 5 wafers.
HARD_BAKE = np.array([
    [1.3235, 1.4128, 1.6744, 1.4573, 1.6914], [1.4314, 1.3592, 1.6075, 1.4666, 1.6109],
    [1.4284, 1.4871, 1.4932, 1.4324, 1.5674], [1.5028, 1.6352, 1.3841, 1.2831, 1.5507],
    [1.5604, 1.2735, 1.5265, 1.4363, 1.6441], [1.5955, 1.5451, 1.3574, 1.3281, 1.4198],
    [1.6274, 1.5064, 1.8366, 1.4177, 1.5144], [1.4190, 1.4303, 1.6637, 1.6067, 1.5519],
    [1.3884, 1.7277, 1.5355, 1.5176, 1.3688], [1.4039, 1.6697, 1.5089, 1.4627, 1.5220],
    [1.4158, 1.7667, 1.4278, 1.5928, 1.4181], [1.5821, 1.3355, 1.5777, 1.3908, 1.7559],
    [1.2856, 1.4106, 1.4447, 1.6398, 1.1928], [1.4951, 1.4036, 1.5893, 1.6458, 1.4969],
    [1.3589, 1.2863, 1.5996, 1.2497, 1.5471], [1.5747, 1.5301, 1.5171, 1.1839, 1.8662],
    [1.3680, 1.7269, 1.3957, 1.5014, 1.4449], [1.4163, 1.3864, 1.3057, 1.6210, 1.5573],
    [1.5796, 1.4185, 1.6541, 1.5116, 1.7247], [1.7106, 1.4412, 1.2361, 1.3820, 1.7601],
    [1.4371, 1.5051, 1.3485, 1.5670, 1.4880], [1.4738, 1.5936, 1.6583, 1.4973, 1.4720],
    [1.5917, 1.4333, 1.5551, 1.5295, 1.6866], [1.6399, 1.5243, 1.5705, 1.5563, 1.5530],
    [1.5797, 1.3663, 1.6240, 1.3732, 1.6877],
])  # fmt: skip

# Montgomery, §6.2, Table 6.3: inside diameter (mm) of forged piston rings, the 25 phase-I
# samples of 5 (also the `pistonrings` data of the R package qcc, which cites Montgomery,
# 2nd ed., pp. 206-213).
PISTON_RINGS = np.array([
    [74.030, 74.002, 74.019, 73.992, 74.008], [73.995, 73.992, 74.001, 74.011, 74.004],
    [73.988, 74.024, 74.021, 74.005, 74.002], [74.002, 73.996, 73.993, 74.015, 74.009],
    [73.992, 74.007, 74.015, 73.989, 74.014], [74.009, 73.994, 73.997, 73.985, 73.993],
    [73.995, 74.006, 73.994, 74.000, 74.005], [73.985, 74.003, 73.993, 74.015, 73.988],
    [74.008, 73.995, 74.009, 74.005, 74.004], [73.998, 74.000, 73.990, 74.007, 73.995],
    [73.994, 73.998, 73.994, 73.995, 73.990], [74.004, 74.000, 74.007, 74.000, 73.996],
    [73.983, 74.002, 73.998, 73.997, 74.012], [74.006, 73.967, 73.994, 74.000, 73.984],
    [74.012, 74.014, 73.998, 73.999, 74.007], [74.000, 73.984, 74.005, 73.998, 73.996],
    [73.994, 74.012, 73.986, 74.005, 74.007], [74.006, 74.010, 74.018, 74.003, 74.000],
    [73.984, 74.002, 74.003, 74.005, 73.997], [74.000, 74.010, 74.013, 74.020, 74.003],
    [73.988, 74.001, 74.009, 74.005, 73.996], [74.004, 73.999, 73.990, 74.006, 74.009],
    [74.010, 73.989, 73.990, 74.009, 74.014], [74.015, 74.008, 73.993, 74.000, 74.010],
    [73.982, 73.984, 73.995, 74.017, 74.013],
])  # fmt: skip


def test_hard_bake_capability_reproduces_montgomery() -> None:
    # Montgomery §6.2: x̿ = 1.5056, R̄ = 0.32521, σ̂ = R̄/d2 = 0.32521/2.326 = 0.1398; with
    # specifications 1.50 ± 0.50 microns, Ĉp = (2.00 − 1.00)/(6·0.1398) = 1.192.
    result = process_capability(HARD_BAKE, lsl=1.0, usl=2.0)
    assert result.mean == pytest.approx(1.5056, abs=5e-5)
    assert np.ptp(HARD_BAKE, axis=1).mean() == pytest.approx(0.3252, abs=5e-5)
    assert result.sigma_within == pytest.approx(0.1398, abs=5e-5)
    assert result.cp == pytest.approx(1.192, abs=5e-4)
    # The mean sits 0.0056 above the centre, so Cpk is the upper side's (2 − 1.5056)/(3σ̂).
    assert result.cpk == pytest.approx((2.0 - result.mean) / (3 * result.sigma_within))


def test_piston_ring_capability_reproduces_montgomery() -> None:
    # Montgomery §6.2: x̿ = 74.001, R̄ = 0.023, σ̂ = 0.023/2.326 = 0.0099; specifications
    # 74.000 ± 0.05 mm give Ĉp = 0.10/(6·0.0099) = 1.68. The book rounds R̄ to 0.023 before
    # dividing; unrounded (R̄ = 0.02276) the data give Ĉp = 1.70, which is what a book value
    # of R̄ anywhere in [0.0225, 0.0235) allows.
    result = process_capability(PISTON_RINGS, lsl=73.95, usl=74.05)
    r_bar = float(np.ptp(PISTON_RINGS, axis=1).mean())
    assert result.mean == pytest.approx(74.001, abs=5e-4)
    assert r_bar == pytest.approx(0.023, abs=5e-4)
    assert result.sigma_within == pytest.approx(r_bar / 2.326)
    assert cp(0.0099, lsl=73.95, usl=74.05) == pytest.approx(1.68, abs=5e-3)
    assert cp(0.0235 / 2.326, lsl=73.95, usl=74.05) < result.cp  # type: ignore[operator]
    assert result.cp < cp(0.0225 / 2.326, lsl=73.95, usl=74.05)  # type: ignore[operator]
    assert result.cp == pytest.approx(1.70, abs=5e-3)


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
