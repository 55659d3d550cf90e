"""Life-test formats: a backup's life pack and a life-test qualification step parse with
units, give the acceleration factors worked out by hand, refuse every bad parameter with a
located reason, say in words why a test cannot work for a pack, and run the twin's test."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from pydantic import TypeAdapter, ValidationError

from shocktwin.rules_engine.reliability import (
    Arrhenius,
    Criterion,
    DemonstrationMethod,
    InversePowerLaw,
    LognormalLife,
    WeibullLife,
    run_life_test,
)
from shocktwin.scenarios.life import Acceleration, LifePack, LifeTest
from shocktwin.source import validation_problems

VALVE_RIG = {"model": "inverse_power_law", "use_stress": 210, "test_stress": 350,
             "exponent": 5}
VALVE_PACK = {"dist": "weibull", "shape": 2, "scale": "80000h", "acceleration": VALVE_RIG}
VALVE_TEST = {"hours": "1000h", "units": 9, "required": "8000h"}


def _problems(model: Any, data: dict[str, Any]) -> dict[str, str]:
    """Each problem's location in the file and its message, as the scenario loader reports
    them."""
    with pytest.raises(ValidationError) as caught:
        TypeAdapter(model).validate_python(data)
    return {p.path: p.message for p in validation_problems(caught.value, data, None, {})}


def test_durations_parse_to_hours() -> None:
    pack = LifePack.model_validate(VALVE_PACK)
    assert pack.scale == 80_000.0
    assert pack.life() == WeibullLife(2.0, 80_000.0)
    test = LifeTest.model_validate({"hours": "42d", "units": 6, "required": "1.5w"})
    assert (test.hours, test.required) == (1008.0, 252.0)
    assert (test.reliability, test.confidence, test.criterion) == (0.9, 0.9, None)
    lognormal = LifePack.model_validate({"dist": "lognormal", "median": "42d", "sigma": 0.5})
    assert lognormal.life() == LognormalLife(math.log(1008.0), 0.5)
    assert lognormal.factor == 1.0 and lognormal.acceleration_model() is None


def test_inverse_power_law_factor_by_hand() -> None:
    # (350/210)^5 = (5/3)^5 = 3125/243 = 12.860: 1000 h on the rig are 12 860 h in the field.
    rig = Acceleration.model_validate(VALVE_RIG)
    assert rig.factor == pytest.approx(3125.0 / 243.0)
    assert rig.to_model() == InversePowerLaw(210.0, 350.0, 5.0)
    assert LifePack.model_validate(VALVE_PACK).factor == pytest.approx(12.860, abs=1e-3)


@pytest.mark.parametrize(
    ("use_c", "test_c", "ea", "expected"),
    [
        # 55 °C → 125 °C, 0.7 eV: 1/328.15 − 1/398.15 = 5.3577e-4 K⁻¹, × Ea/k = 8123.16 K
        # → 4.35215, AF = e^4.35215 = 77.65.
        (55.0, 125.0, 0.7, 77.65),
        # 40 °C → 85 °C, 0.7 eV: 1/313.15 − 1/358.15 = 4.01232e-4 K⁻¹ → 3.25927, AF = 26.03.
        (40.0, 85.0, 0.7, 26.03),
        # 25 °C → 85 °C, 0.5 eV: 1/298.15 − 1/358.15 = 5.61897e-4 K⁻¹, Ea/k = 5802.26 K
        # → 3.26027, AF = e^3.26027 = 26.06.
        (25.0, 85.0, 0.5, 26.06),
    ],
)
def test_arrhenius_factor_by_hand(use_c: float, test_c: float, ea: float,
                                  expected: float) -> None:
    oven = Acceleration.model_validate(
        {"model": "arrhenius", "use_temp_c": use_c, "test_temp_c": test_c, "activation_ev": ea})
    assert oven.factor == pytest.approx(expected, abs=0.01)
    model = oven.to_model()
    assert isinstance(model, Arrhenius) and model.t_use_k == pytest.approx(use_c + 273.15)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"dist": "weibull", "shape": 0, "scale": "1000h"}, {"shape": ""}),
        ({"dist": "weibull", "shape": -1.5, "scale": "0h"},
         {"shape": "", "scale": "longer than zero"}),
        ({"dist": "weibull", "shape": 2, "scale": "-5h"}, {"scale": "cannot be negative"}),
        ({"dist": "weibull", "shape": 2, "scale": 1000}, {"scale": "needs a unit"}),
        ({"dist": "weibull", "scale": "1000h"}, {"shape": "a weibull life needs shape"}),
        ({"dist": "weibull"}, {"shape": "a weibull life needs shape",
                               "scale": "a weibull life needs scale"}),
        ({"dist": "weibull", "shape": 2, "scale": "1000h", "sigma": 0.5},
         {"sigma": "not a parameter of a weibull life, which has shape and scale"}),
        ({"dist": "lognormal", "median": "0h", "sigma": 0}, {"median": "longer than zero",
                                                             "sigma": ""}),
        ({"dist": "lognormal", "shape": 2, "sigma": 0.4},
         {"median": "a lognormal life needs median",
          "shape": "not a parameter of a lognormal life"}),
        ({"dist": "gamma"}, {"dist": ""}),
        ({"dist": "weibull", "shape": 2, "scale": "1h", "acceleration": {
            "model": "inverse_power_law", "use_stress": 210, "test_stress": 210,
            "exponent": 5}},
         {"acceleration.test_stress": "must be above the use stress 210"}),
        ({"dist": "weibull", "shape": 2, "scale": "1h", "acceleration": {
            "model": "inverse_power_law", "use_stress": 0, "test_stress": 350,
            "exponent": 0}},
         {"acceleration.use_stress": "", "acceleration.exponent": ""}),
        ({"dist": "weibull", "shape": 2, "scale": "1h", "acceleration": {
            "model": "inverse_power_law", "use_stress": 1, "test_stress": 2,
            "exponent": 5000}},
         {"acceleration.exponent": "too large"}),
        ({"dist": "weibull", "shape": 2, "scale": "1h", "acceleration": {
            "model": "arrhenius", "use_temp_c": 85, "test_temp_c": 40,
            "activation_ev": 0.7}},
         {"acceleration.test_temp_c": "must be above the use temperature 85 °C"}),
        ({"dist": "weibull", "shape": 2, "scale": "1h", "acceleration": {
            "model": "arrhenius", "use_temp_c": -300, "test_temp_c": 40,
            "activation_ev": 0}},
         {"acceleration.use_temp_c": "", "acceleration.activation_ev": ""}),
        ({"dist": "weibull", "shape": 2, "scale": "1h", "acceleration": {
            "model": "eyring"}}, {"acceleration.model": ""}),
        ({"dist": "weibull", "shape": 2, "scale": "1h", "acceleration": {
            "model": "arrhenius", "use_stress": 210, "test_temp_c": 85}},
         {"acceleration.use_temp_c": "an Arrhenius acceleration needs use_temp_c",
          "acceleration.activation_ev": "needs activation_ev",
          "acceleration.use_stress": "not a parameter of an Arrhenius acceleration, which "
                                     "has use_temp_c, test_temp_c and activation_ev"}),
    ],
)
def test_bad_life_packs(data: dict[str, Any], expected: dict[str, str]) -> None:
    # Every problem at once, each at its key; "" where the message is the validator's own
    # (a number at or below its bound, an unknown kind) and only the place is ours.
    found = _problems(LifePack, data)
    assert set(found) == set(expected)
    for path, fragment in expected.items():
        assert fragment in found[path]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"hours": "0h", "units": 0, "required": "0h"},
         {"hours": "longer than zero", "units": "", "required": "longer than zero"}),
        ({"hours": 1000, "units": 10_001, "required": "8000h"},
         {"hours": "needs a unit", "units": ""}),
        ({"hours": "1000h", "units": 9, "required": "8000h", "reliability": 1.0,
          "confidence": 0}, {"reliability": "", "confidence": ""}),
        ({"hours": "1000h", "units": 9, "required": "8000h", "criterion": "b50"},
         {"criterion": ""}),
        ({"hours": "1000h", "units": 9}, {"required": "required key is missing"}),
    ],
)
def test_bad_life_tests(data: dict[str, Any], expected: dict[str, str]) -> None:
    found = _problems(LifeTest, data)
    assert set(found) == set(expected)
    for path, fragment in expected.items():
        assert fragment in found[path]


def test_problems_with_a_pack_in_words() -> None:
    valve = LifePack.model_validate(VALVE_PACK)
    assert LifeTest.model_validate(VALVE_TEST).problems_with(valve) == []
    # 5 valves × 1000 h (12 860 use h) are worth 5·1.6075² = 12.9 < 21.85 units: they cannot
    # pass even with no failure; 9 valves, or 5 for 1300.6 h, could.
    [problem] = LifeTest.model_validate({**VALVE_TEST, "units": 5}).problems_with(valve)
    assert "cannot pass even with no failure" in problem
    assert "needs 9 units" in problem and "1300.56 test hours for 5" in problem
    # A lognormal pack is judged without a model: each unit must run the required life, so
    # 500 h × 12.86 = 6430 h < 8000 h is too short, and a B-life bound is not available.
    lognormal = LifePack.model_validate({"dist": "lognormal", "median": "30000h",
                                         "sigma": 0.8, "acceleration": VALVE_RIG})
    short = LifeTest.model_validate({"hours": "500h", "units": 22, "required": "8000h",
                                     "criterion": "b_life"})
    first, second = short.problems_with(lognormal)
    assert "criterion: reliability" in first
    assert "short of the required 8000 h" in second and "test at least 622.08 h" in second
    assert "6430.04 use hours" in second  # 500 × 3125/243
    enough = LifeTest.model_validate({"hours": "700h", "units": 22, "required": "8000h"})
    assert enough.problems_with(lognormal) == []
    [few] = enough.model_copy(update={"units": 21}).problems_with(lognormal)
    assert "needs 22 units" in few


def test_run_is_the_twins_life_test() -> None:
    valve = LifePack.model_validate(VALVE_PACK)
    test = LifeTest.model_validate(VALVE_TEST)
    result = test.run(np.random.default_rng(11), valve)
    assert result == run_life_test(
        np.random.default_rng(11), WeibullLife(2.0, 80_000.0), units=9, test_h=1000.0,
        required_h=8000.0, acceleration=InversePowerLaw(210.0, 350.0, 5.0))
    assert result.criterion is Criterion.B_LIFE and result.requirement == 8000.0
    lognormal = LifePack.model_validate({"dist": "lognormal", "median": "30000h",
                                         "sigma": 0.8, "acceleration": VALVE_RIG})
    by_r = LifeTest.model_validate({"hours": "700h", "units": 22, "required": "8000h"})
    outcome = by_r.run(np.random.default_rng(12), lognormal)
    assert outcome.method is DemonstrationMethod.BINOMIAL
    assert outcome.criterion is Criterion.RELIABILITY


def test_canonical_form_and_schema() -> None:
    # Unset optional keys stay out of the canonical form; hours are held as numbers.
    pack = LifePack.model_validate({"dist": "weibull", "shape": 2, "scale": "80000h"})
    assert pack.model_dump(mode="json") == {"dist": "weibull", "shape": 2.0, "scale": 80000.0}
    assert "criterion" not in LifeTest.model_validate(VALVE_TEST).model_dump()
    schema = LifePack.model_json_schema()
    assert set(schema["properties"]) == {"dist", "shape", "scale", "median", "sigma",
                                         "acceleration"}
    assert LifeTest.model_json_schema()["required"] == ["hours", "units", "required"]
