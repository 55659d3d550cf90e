"""Life-test formats: a backup supplier's life parameters (its parameter pack) and a
qualification step that is a reliability demonstration by life testing on the twin.

A pack gives the life at use conditions — Weibull (shape, scale) or lognormal (median, sigma)
— and the acceleration model of the extreme test condition (inverse power law in a stress, or
Arrhenius in temperature), so that test hours stand for acceleration-factor times as many
field hours. A life test runs units for some hours at the test condition and passes when the
lower confidence bound of the B-life (or of the reliability at the required life) clears the
requirement; :func:`shocktwin.rules_engine.reliability.run_life_test` does the statistics.
Durations are written with units ("1000h", "42d") and held in hours.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from shocktwin.errors import RuleError
from shocktwin.rules_engine.reliability import (
    AccelerationModel,
    Arrhenius,
    Criterion,
    Demonstration,
    InversePowerLaw,
    LifeTestPlan,
    LognormalLife,
    WeibullLife,
    life_test_plan,
    run_life_test,
)
from shocktwin.source import Loc, SemanticProblems
from shocktwin.units import PositiveDuration

__all__ = [
    "ABSOLUTE_ZERO_C",
    "Acceleration",
    "LifePack",
    "LifeTest",
]

#: 0 K in degrees Celsius.
ABSOLUTE_ZERO_C = -273.15


class _Frozen(BaseModel):
    # As the scenario format's base: frozen, no unknown keys, no NaN or infinity in a number.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def _drop_none(value: Any) -> bool:
    return value is None


def _check_fields(kind: str, values: dict[str, Any], own: tuple[str, ...],
                  other: tuple[str, ...], help_text: dict[str, str]) -> list[tuple[Loc, str]]:
    """A problem for each of ``own`` left out and each of ``other`` given: one set of
    parameters per kind."""
    problems: list[tuple[Loc, str]] = []
    for name in own:
        if values[name] is None:
            problems.append(((name,), f"{kind} needs {help_text[name]}"))
    for name in other:
        if values[name] is not None:
            problems.append(((name,), f"{name} is not a parameter of {kind}, which has "
                             f"{', '.join(own[:-1])} and {own[-1]}"))
    return problems


# --------------------------------------------------------------------------- acceleration


_POWER_LAW_FIELDS = ("use_stress", "test_stress", "exponent")
_ARRHENIUS_FIELDS = ("use_temp_c", "test_temp_c", "activation_ev")
_ACCELERATION_HELP = {
    "use_stress": "use_stress (stress in use, > 0, e.g. 210 for 210 bar)",
    "test_stress": "test_stress (stress on test, in the same unit, above the use stress)",
    "exponent": "exponent (the power-law exponent n > 0)",
    "use_temp_c": "use_temp_c (temperature in use, °C)",
    "test_temp_c": "test_temp_c (temperature on test, °C, above the use temperature)",
    "activation_ev": "activation_ev (activation energy Ea in eV, > 0)",
}


class Acceleration(_Frozen):
    """How the test condition accelerates life, by ``model``:

    - ``inverse_power_law``: life ∝ S^(−n), so a test hour at ``test_stress`` is worth
      AF = (S_test/S_use)^n hours at ``use_stress`` (pressure, voltage, vibration, in any one
      unit), n the ``exponent``;
    - ``arrhenius``: a test hour at ``test_temp_c`` is worth AF = exp(Ea/k·(1/T_use −
      1/T_test)) hours at ``use_temp_c``, temperatures in kelvin, Ea the ``activation_ev``.
    """

    model: Literal["inverse_power_law", "arrhenius"]
    use_stress: float | None = Field(None, gt=0, exclude_if=_drop_none, description=(
        "inverse_power_law: stress in use, in any one unit (e.g. bar)."))
    test_stress: float | None = Field(None, gt=0, exclude_if=_drop_none, description=(
        "inverse_power_law: stress on test, in the same unit; above the use stress."))
    exponent: float | None = Field(None, gt=0, exclude_if=_drop_none, description=(
        "inverse_power_law: the exponent n."))
    use_temp_c: float | None = Field(None, gt=ABSOLUTE_ZERO_C, exclude_if=_drop_none,
                                     description="arrhenius: temperature in use, °C.")
    test_temp_c: float | None = Field(None, gt=ABSOLUTE_ZERO_C, exclude_if=_drop_none,
                                      description=("arrhenius: temperature on test, °C; above "
                                                   "the use temperature."))
    activation_ev: float | None = Field(None, gt=0, exclude_if=_drop_none, description=(
        "arrhenius: activation energy Ea in eV."))

    @model_validator(mode="after")
    def _accelerates(self) -> Acceleration:
        power_law = self.model == "inverse_power_law"
        own, other = ((_POWER_LAW_FIELDS, _ARRHENIUS_FIELDS) if power_law
                      else (_ARRHENIUS_FIELDS, _POWER_LAW_FIELDS))
        values = {name: getattr(self, name) for name in (*own, *other)}
        kind = "an inverse power law acceleration" if power_law else "an Arrhenius acceleration"
        problems = _check_fields(kind, values, own, other, _ACCELERATION_HELP)
        if not problems:
            use, test = (values[name] for name in own[:2])
            if test <= use:
                what, unit = ("stress", "") if power_law else ("temperature", " °C")
                problems.append(((own[1],), f"the test {what} {test:g}{unit} must be above "
                                 f"the use {what} {use:g}{unit} to accelerate"))
        if not problems:
            try:
                factor = self.to_model().factor
            except OverflowError:
                factor = math.inf
            if not math.isfinite(factor):
                problems.append(((own[2],), "the acceleration factor is too large to "
                                 "compute: no test condition is that many times harsher "
                                 "than use"))
        if problems:
            raise SemanticProblems(problems)
        return self

    def to_model(self) -> AccelerationModel:
        """The acceleration model the statistics use."""
        if self.model == "inverse_power_law":
            assert self.use_stress is not None and self.test_stress is not None  # validated
            assert self.exponent is not None
            return InversePowerLaw(self.use_stress, self.test_stress, self.exponent)
        assert self.use_temp_c is not None and self.test_temp_c is not None  # validated
        assert self.activation_ev is not None
        return Arrhenius(self.activation_ev, self.use_temp_c - ABSOLUTE_ZERO_C,
                         self.test_temp_c - ABSOLUTE_ZERO_C)

    @property
    def factor(self) -> float:
        """AF: use hours per test hour."""
        return self.to_model().factor


# --------------------------------------------------------------------------- life


_WEIBULL_FIELDS = ("shape", "scale")
_LOGNORMAL_FIELDS = ("median", "sigma")
_FIELD_HELP = {
    "shape": "shape (β > 0)",
    "scale": "scale (η at use conditions, e.g. '80000h')",
    "median": "median (life at use conditions by which half have failed, e.g. '60000h')",
    "sigma": "sigma (standard deviation of ln life, > 0)",
}


class LifePack(_Frozen):
    """A supplier's life parameters, as its parameter pack carries them: the life at use
    conditions and how the test condition accelerates it."""

    dist: Literal["weibull", "lognormal"]
    shape: float | None = Field(None, gt=0, exclude_if=_drop_none,
                                description="Weibull shape β.")
    scale: PositiveDuration | None = Field(None, exclude_if=_drop_none, description=(
        "Weibull characteristic life η at use conditions (63.2 % failed)."))
    median: PositiveDuration | None = Field(None, exclude_if=_drop_none, description=(
        "Lognormal median life at use conditions."))
    sigma: float | None = Field(None, gt=0, exclude_if=_drop_none, description=(
        "Lognormal standard deviation of ln life."))
    acceleration: Acceleration | None = Field(None, exclude_if=_drop_none, description=(
        "How the life-test condition accelerates life; none: tested at use conditions."))

    @model_validator(mode="after")
    def _one_distribution(self) -> LifePack:
        own, other = ((_WEIBULL_FIELDS, _LOGNORMAL_FIELDS) if self.dist == "weibull"
                      else (_LOGNORMAL_FIELDS, _WEIBULL_FIELDS))
        values = {name: getattr(self, name) for name in (*own, *other)}
        problems = _check_fields(f"a {self.dist} life", values, own, other, _FIELD_HELP)
        if problems:
            raise SemanticProblems(problems)
        return self

    def life(self) -> WeibullLife | LognormalLife:
        """The life at use conditions."""
        if self.dist == "weibull":
            assert self.shape is not None and self.scale is not None  # validated
            return WeibullLife(self.shape, self.scale)
        assert self.median is not None and self.sigma is not None  # validated
        return LognormalLife(math.log(self.median), self.sigma)

    def acceleration_model(self) -> AccelerationModel | None:
        """The acceleration model of the test condition, if any."""
        return None if self.acceleration is None else self.acceleration.to_model()

    @property
    def factor(self) -> float:
        """Use hours per test hour (1 without an acceleration)."""
        return 1.0 if self.acceleration is None else self.acceleration.factor


# --------------------------------------------------------------------------- life test


class LifeTest(_Frozen):
    """A qualification step: ``units`` units run ``hours`` at the pack's test condition, and
    the step passes when the lower confidence bound of the B-life B_(1−R) is at least
    ``required`` (equivalently, the bound of the reliability at ``required`` is at least R)."""

    hours: PositiveDuration = Field(description="Test hours at the test condition, e.g. "
                                    "'1000h'.")
    units: int = Field(ge=1, le=10_000, description="Units on test.")
    required: PositiveDuration = Field(description=(
        "Required life at use conditions: B_(1−R) must reach it (B10 with R = 0.9)."))
    reliability: float = Field(0.9, gt=0, lt=1, description=(
        "Reliability R required at that life: 0.9 is a B10 requirement."))
    confidence: float = Field(0.9, gt=0, lt=1, description="Confidence C of the lower bound.")
    criterion: Literal["b_life", "reliability"] | None = Field(
        None, exclude_if=_drop_none, description=(
            "Which bound is reported: b_life (hours) or reliability at the required life; the "
            "verdict is the same. Default: b_life for a Weibull life, reliability for a "
            "lognormal one, which is judged without a model."))

    def _criterion(self) -> Criterion | None:
        return None if self.criterion is None else Criterion(self.criterion)

    def run(self, rng: np.random.Generator, pack: LifePack) -> Demonstration:
        """One life test on the twin with ``pack``'s life, drawing from ``rng`` as
        :func:`~shocktwin.rules_engine.reliability.run_life_test` documents.

        Raises:
            RuleError: a test this pack cannot be judged by (see :meth:`problems_with`).
        """
        return run_life_test(
            rng, pack.life(), units=self.units, test_h=self.hours, required_h=self.required,
            reliability=self.reliability, confidence=self.confidence,
            acceleration=pack.acceleration_model(), criterion=self._criterion(),
        )

    def problems_with(self, pack: LifePack) -> list[str]:
        """What is wrong with this test for ``pack``, in words; empty when it can be run and
        can pass. A test that cannot pass even with no failure is a problem."""
        problems: list[str] = []
        shape = pack.shape if pack.dist == "weibull" else None
        if shape is None and self._criterion() is Criterion.B_LIFE:
            problems.append("a B-life bound needs a Weibull life: a lognormal life is judged "
                            "without a model, by the reliability at the required life; write "
                            "criterion: reliability (the verdict is the same)")
        acceleration = pack.acceleration_model()

        def plan(units: int | None = None, test_h: float | None = None) -> LifeTestPlan:
            return life_test_plan(
                required_h=self.required, reliability=self.reliability,
                confidence=self.confidence, shape=shape, acceleration=acceleration,
                units=units, test_h=test_h)

        try:
            least = plan(test_h=self.hours).units
        except RuleError as e:  # a lognormal life with too short a test
            return problems + [p.message for p in e.problems]
        if self.units < least:
            b_name = f"B{100.0 * (1.0 - self.reliability):.4g}"
            text = (f"cannot pass even with no failure: {self.units} units × {self.hours:.6g} "
                    f"test hours ({self.hours * pack.factor:.6g} use hours each) do not "
                    f"demonstrate {b_name} ≥ {self.required:.6g} h with "
                    f"{100.0 * self.confidence:.4g} % confidence; it needs {least} units")
            if shape is not None:
                hours = plan(units=self.units).test_h
                text += f", or {hours:.6g} test hours for {self.units}"
            problems.append(text)
        return problems
