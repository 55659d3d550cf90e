"""Reliability demonstration by life testing: Weibull and lognormal lives, acceleration to use
conditions, zero-failure (success-run) test plans and lower confidence bounds on reliability
and B-life from test results, for a qualification step that passes when the bound clears the
requirement.

Hours are at use conditions unless a name says test hours. A B-life B_p is the time by which a
share p of units has failed (B10: p = 0.10). Lower bounds are one-sided at ``confidence``.
References: Nelson, Applied Life Data Analysis (1982); Kececioglu, Reliability & Life Testing
Handbook (1993–94); Abernethy, The New Weibull Handbook (5th ed., 2006); Lipson & Sheth,
Statistical Design and Analysis of Engineering Experiments (1973).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import overload

import numpy as np
from numpy.typing import ArrayLike, NDArray

from shocktwin.errors import Problem, RuleError
from shocktwin.rules_engine._checks import (
    check_finite,
    check_positive,
    is_number,
    raise_problems,
)

__all__ = [
    "BOLTZMANN_EV_PER_K",
    "AccelerationModel",
    "Arrhenius",
    "Censoring",
    "Criterion",
    "Demonstration",
    "DemonstrationMethod",
    "InversePowerLaw",
    "LifeDistribution",
    "LifeTestPlan",
    "LognormalLife",
    "WeibullLife",
    "binomial_sample_size",
    "demonstrate",
    "life_test_plan",
    "reliability_lower_bound",
    "run_life_test",
    "success_run_pass_probability",
    "success_run_sample_size",
    "success_run_test_h",
    "weibull_scale_lower_bound",
]

#: Boltzmann's constant in eV/K (CODATA 2018, exact since the 2019 SI).
BOLTZMANN_EV_PER_K = 8.617333262e-5


# --- checks ----------------------------------------------------------------------------------


def _share(name: str, value: object, problems: list[Problem]) -> None:
    if not (is_number(value) and 0 < value < 1):
        problems.append(Problem(None, name, f"must be in (0, 1), got {value!r}"))


def _count(name: str, value: object, low: int, problems: list[Problem]) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        problems.append(Problem(None, name, f"must be a whole number ≥ {low}, got {value!r}"))


def _hours(name: str, values: object, problems: list[Problem]) -> NDArray[np.float64]:
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        problems.append(Problem(None, name, "must be numbers of hours"))
        return np.empty(0)
    if not np.isfinite(array).all():
        problems.append(Problem(None, name, "must be finite hours"))
    elif (array < 0).any():
        problems.append(Problem(None, name, f"must be hours ≥ 0, got {float(array.min())!r}"))
    return array


# --- life distributions ----------------------------------------------------------------------


@dataclass(frozen=True)
class WeibullLife:
    """Weibull life: R(t) = exp(−(t/η)^β), shape β, characteristic life η (hours, 63.2 %
    failed)."""

    shape: float
    scale_h: float

    def __post_init__(self) -> None:
        problems: list[Problem] = []
        check_positive("shape", self.shape, problems)
        check_positive("scale_h", self.scale_h, problems)
        raise_problems(problems)

    @overload
    def reliability(self, t_h: float) -> float: ...
    @overload
    def reliability(self, t_h: ArrayLike) -> float | NDArray[np.float64]: ...
    def reliability(self, t_h: ArrayLike) -> float | NDArray[np.float64]:
        """R(t) = exp(−(t/η)^β), the share surviving ``t_h`` hours."""
        t = _times(t_h)
        r = np.exp(-((t / self.scale_h) ** self.shape))
        return float(r) if r.ndim == 0 else r

    def b_life(self, p: float) -> float:
        """B_p = η·(−ln(1 − p))^(1/β), hours by which a share ``p`` has failed."""
        problems: list[Problem] = []
        _share("p", p, problems)
        raise_problems(problems)
        return self.scale_h * (-math.log1p(-p)) ** (1.0 / self.shape)

    @property
    def mean_h(self) -> float:
        """Mean life η·Γ(1 + 1/β) in hours."""
        return self.scale_h * math.gamma(1.0 + 1.0 / self.shape)

    def sample(self, rng: np.random.Generator, size: int | tuple[int, ...]) -> NDArray[np.float64]:
        """Failure times in hours drawn from ``rng``."""
        return self.scale_h * rng.weibull(self.shape, size)

    def at_use(self, acceleration: AccelerationModel) -> WeibullLife:
        """This life at test conditions carried to use conditions: the shape is common and
        η_use = AF·η_test (Nelson, Accelerated Testing, 1990)."""
        return WeibullLife(self.shape, self.scale_h * acceleration.factor)


@dataclass(frozen=True)
class LognormalLife:
    """Lognormal life: ln T is normal with mean ``mu`` and standard deviation ``sigma``
    (T in hours; median e^μ)."""

    mu: float
    sigma: float

    def __post_init__(self) -> None:
        problems: list[Problem] = []
        check_finite("mu", self.mu, problems)
        check_positive("sigma", self.sigma, problems)
        raise_problems(problems)

    @overload
    def reliability(self, t_h: float) -> float: ...
    @overload
    def reliability(self, t_h: ArrayLike) -> float | NDArray[np.float64]: ...
    def reliability(self, t_h: ArrayLike) -> float | NDArray[np.float64]:
        """R(t) = 1 − Φ((ln t − μ)/σ), the share surviving ``t_h`` hours."""
        from scipy.special import ndtr

        t = _times(t_h)
        with np.errstate(divide="ignore"):  # ln 0 = −∞ gives R(0) = 1
            r = np.asarray(ndtr(-(np.log(t) - self.mu) / self.sigma), dtype=np.float64)
        return float(r) if r.ndim == 0 else r

    def b_life(self, p: float) -> float:
        """B_p = exp(μ + σ·z_p), z_p the standard normal p-quantile."""
        from scipy.special import ndtri

        problems: list[Problem] = []
        _share("p", p, problems)
        raise_problems(problems)
        return math.exp(self.mu + self.sigma * float(ndtri(p)))

    @property
    def mean_h(self) -> float:
        """Mean life exp(μ + σ²/2) in hours."""
        return math.exp(self.mu + self.sigma**2 / 2.0)

    def sample(self, rng: np.random.Generator, size: int | tuple[int, ...]) -> NDArray[np.float64]:
        """Failure times in hours drawn from ``rng``."""
        return rng.lognormal(self.mu, self.sigma, size)

    def at_use(self, acceleration: AccelerationModel) -> LognormalLife:
        """This life at test conditions carried to use conditions: σ is common and
        μ_use = μ_test + ln AF."""
        return LognormalLife(self.mu + math.log(acceleration.factor), self.sigma)


LifeDistribution = WeibullLife | LognormalLife


def _times(t_h: ArrayLike) -> NDArray[np.float64]:
    problems: list[Problem] = []
    t = _hours("t_h", t_h, problems)
    raise_problems(problems)
    return t


# --- acceleration ----------------------------------------------------------------------------


@dataclass(frozen=True)
class InversePowerLaw:
    """Inverse power law: life ∝ S^(−n), so AF = (S_test/S_use)^n (Nelson, Accelerated
    Testing, 1990). Stresses in any one positive unit (volts, g rms, MPa)."""

    stress_use: float
    stress_test: float
    exponent: float

    def __post_init__(self) -> None:
        problems: list[Problem] = []
        check_positive("stress_use", self.stress_use, problems)
        check_positive("stress_test", self.stress_test, problems)
        check_positive("exponent", self.exponent, problems)
        raise_problems(problems)

    @property
    def factor(self) -> float:
        """AF = (S_test/S_use)^n: use hours per test hour."""
        return (self.stress_test / self.stress_use) ** self.exponent

    def use_hours(self, test_h: float) -> float:
        """Equivalent hours at use conditions of ``test_h`` hours at test conditions."""
        return _use_hours(self.factor, test_h)


@dataclass(frozen=True)
class Arrhenius:
    """Arrhenius: AF = exp(Ea/k·(1/T_use − 1/T_test)), Ea in eV, k in eV/K, temperatures in
    kelvin (Nelson, Accelerated Testing, 1990; JEDEC JEP122)."""

    activation_energy_ev: float
    t_use_k: float
    t_test_k: float

    def __post_init__(self) -> None:
        problems: list[Problem] = []
        check_positive("activation_energy_ev", self.activation_energy_ev, problems)
        check_positive("t_use_k", self.t_use_k, problems)
        check_positive("t_test_k", self.t_test_k, problems)
        raise_problems(problems)

    @property
    def factor(self) -> float:
        """AF = exp(Ea/k·(1/T_use − 1/T_test)): use hours per test hour."""
        inverse_k = 1.0 / self.t_use_k - 1.0 / self.t_test_k
        return math.exp(self.activation_energy_ev / BOLTZMANN_EV_PER_K * inverse_k)

    def use_hours(self, test_h: float) -> float:
        """Equivalent hours at use conditions of ``test_h`` hours at test conditions."""
        return _use_hours(self.factor, test_h)


AccelerationModel = InversePowerLaw | Arrhenius


def _use_hours(factor: float, test_h: float) -> float:
    problems: list[Problem] = []
    if not (is_number(test_h) and test_h >= 0):
        problems.append(Problem(None, "test_h", f"must be finite hours ≥ 0, got {test_h!r}"))
    raise_problems(problems)
    return factor * test_h


# --- zero-failure (success-run) plans ----------------------------------------------------------


def _time_ratio(
    test_h: float | None, required_h: float | None, shape: float, problems: list[Problem]
) -> float:
    """(t_test/t_req)^β, the required lives each unit's test is worth; 1 without times."""
    check_positive("shape", shape, problems)
    if test_h is None and required_h is None:
        return 1.0
    if test_h is None or required_h is None:
        problems.append(Problem(None, "test_h", "test_h and required_h go together"))
        return math.nan
    check_positive("test_h", test_h, problems)
    check_positive("required_h", required_h, problems)
    if problems:
        return math.nan
    return float((test_h / required_h) ** shape)


def success_run_sample_size(
    reliability: float,
    confidence: float,
    *,
    test_h: float | None = None,
    required_h: float | None = None,
    shape: float = 1.0,
) -> int:
    """Units that must all survive to demonstrate ``reliability`` at the required life with
    ``confidence``: n = ⌈ln(1 − C)/ln R⌉ when each runs to the required life (success run;
    Kececioglu, Reliability & Life Testing Handbook, vol. 2), or with each unit run
    ``test_h`` hours against a required ``required_h`` and a known Weibull shape β,
    n = ⌈ln(1 − C)/(ln R·(t_test/t_req)^β)⌉ (Lipson & Sheth 1973, the extended success run).

    Raises:
        RuleError: R or C outside (0, 1), β or hours not > 0, or only one of the two times.
    """
    problems: list[Problem] = []
    _share("reliability", reliability, problems)
    _share("confidence", confidence, problems)
    ratio = _time_ratio(test_h, required_h, shape, problems)
    raise_problems(problems)
    units = math.log1p(-confidence) / (math.log(reliability) * ratio)
    # A quotient within rounding of a whole number is that number: ln 0.25/ln 0.5 is 2, and a
    # test time from success_run_test_h gives back its own number of units.
    return max(math.ceil(units * (1.0 - 1e-9)), 1)


def success_run_test_h(
    reliability: float,
    confidence: float,
    units: int,
    *,
    required_h: float,
    shape: float,
) -> float:
    """Hours each of ``units`` must survive, with none failing, to demonstrate
    ``reliability`` at ``required_h`` with ``confidence`` under a Weibull life of known shape:
    t_test = t_req·(ln(1 − C)/(n·ln R))^(1/β), the test-time side of Lipson's trade-off.

    Raises:
        RuleError: R or C outside (0, 1), units below 1, β or hours not > 0.
    """
    problems: list[Problem] = []
    _share("reliability", reliability, problems)
    _share("confidence", confidence, problems)
    _count("units", units, 1, problems)
    check_positive("required_h", required_h, problems)
    check_positive("shape", shape, problems)
    raise_problems(problems)
    lives = math.log1p(-confidence) / (units * math.log(reliability))
    return float(required_h * lives ** (1.0 / shape))


def success_run_pass_probability(
    true_reliability: float,
    units: int,
    *,
    test_h: float | None = None,
    required_h: float | None = None,
    shape: float = 1.0,
) -> float:
    """Probability that a zero-failure test of ``units`` passes when the true reliability at
    the required life is ``true_reliability``: R^(n·(t_test/t_req)^β), since under a Weibull
    life R(t_test) = R(t_req)^((t_test/t_req)^β) and units fail independently.

    Raises:
        RuleError: R outside (0, 1), units below 1, β or hours not > 0.
    """
    problems: list[Problem] = []
    _share("true_reliability", true_reliability, problems)
    _count("units", units, 1, problems)
    ratio = _time_ratio(test_h, required_h, shape, problems)
    raise_problems(problems)
    return float(true_reliability ** (units * ratio))


# --- bounds from test results ------------------------------------------------------------------


def reliability_lower_bound(failures: int, units: int, confidence: float) -> float:
    """Clopper–Pearson lower bound on reliability from ``failures`` in ``units`` each run to
    the required life: R_L = 1 − p_U with p_U the ``confidence`` quantile of
    Beta(x + 1, n − x), i.e. R_L = Beta⁻¹(1 − C; n − x, x + 1), and 0 when all failed
    (Clopper & Pearson, Biometrika 26(4), 1934). With no failure R_L = (1 − C)^(1/n).

    Raises:
        RuleError: counts not whole numbers with 0 ≤ failures ≤ units, units ≥ 1, or a
            confidence outside (0, 1).
    """
    from scipy.stats import beta

    problems: list[Problem] = []
    _count("failures", failures, 0, problems)
    _count("units", units, 1, problems)
    _share("confidence", confidence, problems)
    if not problems and failures > units:
        problems.append(
            Problem(None, "failures", f"{failures} failures cannot exceed {units} units")
        )
    raise_problems(problems)
    if failures == units:
        return 0.0
    return float(beta.ppf(1.0 - confidence, units - failures, failures + 1))


def binomial_sample_size(reliability: float, confidence: float, failures: int = 0) -> int:
    """Smallest number of units run to the required life such that ``failures`` failures
    still demonstrate ``reliability`` with ``confidence``: the least n with
    P(X ≤ x | n, 1 − R) ≤ 1 − C (Kececioglu, vol. 2; with x = 0 the success run).

    Raises:
        RuleError: R or C outside (0, 1), or failures not a whole number ≥ 0.
    """
    from scipy.stats import binom

    problems: list[Problem] = []
    _share("reliability", reliability, problems)
    _share("confidence", confidence, problems)
    _count("failures", failures, 0, problems)
    raise_problems(problems)
    n = max(success_run_sample_size(reliability, confidence), failures + 1)
    while float(binom.cdf(failures, n, 1.0 - reliability)) > 1.0 - confidence:
        n += 1
    return n


class Censoring(StrEnum):
    """How a life test ended, which sets the chi-square degrees of freedom."""

    TIME = "time"  # at fixed hours (type I): 2r + 2 df, conservative
    FAILURE = "failure"  # at the r-th failure (type II): 2r df, exact


def weibull_scale_lower_bound(
    times_h: ArrayLike,
    failures: int,
    *,
    shape: float,
    confidence: float,
    censoring: Censoring = Censoring.TIME,
) -> float:
    """Lower bound on the Weibull characteristic life η with known shape β from each unit's
    hours on test ``times_h`` (failure time or end of test) and ``failures`` r:
    η_L = (2·Σ t_i^β / χ²(C; ν))^(1/β), ν = 2r + 2 for a time-censored test and 2r for one
    stopped at the r-th failure (Nelson, Applied Life Data Analysis, 1982; Abernethy, New
    Weibull Handbook, ch. 6, Weibayes). With t^β the life is exponential with mean η^β,
    so this is the exponential total-time-on-test bound.

    B_p's lower bound is ``WeibullLife(shape, η_L).b_life(p)`` = η_L·(−ln(1 − p))^(1/β).

    Raises:
        RuleError: hours negative, non-finite or all zero, failures not within 0…n (≥ 1 for
            a failure-censored test), β not > 0, or a confidence outside (0, 1).
    """
    from scipy.stats import chi2

    problems: list[Problem] = []
    censoring = Censoring(censoring)
    t = _hours("times_h", times_h, problems)
    if t.ndim != 1 or t.size == 0:
        problems.append(Problem(None, "times_h", "must be one or more hours in 1-D"))
    _count("failures", failures, 1 if censoring is Censoring.FAILURE else 0, problems)
    check_positive("shape", shape, problems)
    _share("confidence", confidence, problems)
    if not problems and failures > t.size:
        problems.append(
            Problem(None, "failures", f"{failures} failures cannot exceed {t.size} units")
        )
    if not problems and not (t > 0).any():
        problems.append(Problem(None, "times_h", "no unit spent any time on test"))
    raise_problems(problems)
    df = 2 * failures + (2 if censoring is Censoring.TIME else 0)
    total = float(np.sum(t**shape))
    return float((2.0 * total / float(chi2.ppf(confidence, df))) ** (1.0 / shape))


# --- pass / fail ---------------------------------------------------------------------------------


class DemonstrationMethod(StrEnum):
    """How the lower bound is formed."""

    BINOMIAL = "binomial"  # each unit run to the required life; Clopper–Pearson, no model
    WEIBULL = "weibull"  # known shape; chi-square bound on η


class Criterion(StrEnum):
    """Which lower bound is compared with its requirement. B_{1−R} ≥ t_req holds exactly when
    R(t_req) ≥ R, so both give the same verdict; they differ in the number reported."""

    RELIABILITY = "reliability"  # lower bound of R(required_h) against ``reliability``
    B_LIFE = "b_life"  # lower bound of B_{1−R} in hours against ``required_h``


@dataclass(frozen=True)
class Demonstration:
    """Outcome of a reliability demonstration. ``bound`` and ``requirement`` are a
    reliability or hours, as ``criterion`` says; ``passed`` is bound ≥ requirement."""

    method: DemonstrationMethod
    criterion: Criterion
    units: int
    failures: int  # for the binomial method, failures before the required life
    confidence: float
    required_h: float
    reliability: float
    reliability_lower: float
    b_life_lower_h: float | None  # Weibull method only
    scale_lower_h: float | None  # Weibull method only
    bound: float
    requirement: float
    passed: bool


def demonstrate(
    times_h: ArrayLike,
    failed: ArrayLike,
    *,
    required_h: float,
    reliability: float = 0.90,
    confidence: float = 0.90,
    shape: float | None = None,
    acceleration: AccelerationModel | None = None,
    censoring: Censoring = Censoring.TIME,
    criterion: Criterion = Criterion.RELIABILITY,
) -> Demonstration:
    """Whether a life test demonstrates ``reliability`` at ``required_h`` use hours (B_{1−R}
    ≥ ``required_h``; R = 0.90 is B10) with ``confidence``.

    ``times_h`` are each unit's hours on test (failure time if ``failed``, else end of test),
    converted to use hours by ``acceleration`` if given. With a known Weibull ``shape`` the
    bound is :func:`weibull_scale_lower_bound`'s; without one every unit must have failed or
    reached the required life and the bound is :func:`reliability_lower_bound` with the
    failures before ``required_h``.

    Raises:
        RuleError: every problem with the inputs at once, including a survivor short of the
            required life in a binomial test and the B-life criterion without a shape.
    """
    problems: list[Problem] = []
    criterion, censoring = Criterion(criterion), Censoring(censoring)
    t = _hours("times_h", times_h, problems)
    try:
        mask = np.asarray(failed)
    except (TypeError, ValueError):  # pragma: no cover - numpy takes almost anything
        mask = np.empty(0)
    if mask.dtype != np.bool_ or mask.shape != t.shape or t.ndim != 1 or t.size == 0:
        problems.append(
            Problem(None, "failed", "must be one bool per unit, as many as times_h (1-D, ≥ 1)")
        )
    check_positive("required_h", required_h, problems)
    _share("reliability", reliability, problems)
    _share("confidence", confidence, problems)
    if shape is not None:
        check_positive("shape", shape, problems)
    elif criterion is Criterion.B_LIFE:
        problems.append(
            Problem(None, "criterion", "a B-life bound needs a Weibull shape; give shape")
        )
    raise_problems(problems)

    use_t = t * acceleration.factor if acceleration is not None else t
    r = int(mask.sum())
    if shape is None:
        early = mask & (use_t <= required_h)  # R(t) = P(T > t): a failure at t counts
        short = ~mask & (use_t < required_h)
        if short.any():
            first = int(np.flatnonzero(short)[0])
            raise RuleError([Problem(
                None, f"times_h[{first}]",
                f"{int(short.sum())} survivor(s) short of {required_h} use hours (first: "
                f"{float(use_t[first]):.6g} h); a binomial test runs every unit to the "
                "required life, or give a Weibull shape",
            )])
        r = int(early.sum())
        r_lower = reliability_lower_bound(r, int(t.size), confidence)
        method, b_lower, scale_lower = DemonstrationMethod.BINOMIAL, None, None
    else:
        scale_lower = weibull_scale_lower_bound(
            use_t, r, shape=shape, confidence=confidence, censoring=censoring
        )
        bounded = WeibullLife(shape, scale_lower)
        r_lower, b_lower = bounded.reliability(required_h), bounded.b_life(1.0 - reliability)
        method = DemonstrationMethod.WEIBULL

    if criterion is Criterion.B_LIFE and b_lower is not None:  # refused above without a shape
        bound, requirement = b_lower, float(required_h)
    else:
        bound, requirement = r_lower, float(reliability)
    return Demonstration(
        method=method,
        criterion=criterion,
        units=int(t.size),
        failures=r,
        confidence=float(confidence),
        required_h=float(required_h),
        reliability=float(reliability),
        reliability_lower=r_lower,
        b_life_lower_h=b_lower,
        scale_lower_h=scale_lower,
        bound=bound,
        requirement=requirement,
        passed=bound >= requirement,
    )


# --- the twin's life test ------------------------------------------------------------------------

#: Relative margin added to a planned test time: at the exact boundary a zero-failure result's
#: bound equals its requirement only to rounding (χ²(C; 2) against −2 ln(1 − C)), and could
#: fail a test that was planned to pass. A billionth of the test time changes nothing else.
_PLAN_MARGIN = 1e-9


def _factor(acceleration: AccelerationModel | None) -> float:
    return 1.0 if acceleration is None else acceleration.factor


def _binomial_reach(
    test_h: float, required_h: float, acceleration: AccelerationModel | None
) -> Problem | None:
    """Why a binomial (model-free) test cannot judge ``required_h``, if it cannot: every unit
    must run the required life, so test hours × AF must reach it."""
    factor = _factor(acceleration)
    use_h = test_h * factor
    if use_h >= required_h:
        return None
    least_h = required_h / factor
    accelerated = f" × acceleration factor {factor:.6g}" if acceleration is not None else ""
    return Problem(
        None, "test_h",
        f"{test_h:.6g} test hours{accelerated} are {use_h:.6g} use hours, short of the "
        f"required {required_h:.6g} h: without a Weibull shape each unit must run the required "
        f"life, so test at least {least_h:.6g} h or give a shape",
    )


def run_life_test(
    rng: np.random.Generator,
    life: WeibullLife | LognormalLife,
    *,
    units: int,
    test_h: float,
    required_h: float,
    reliability: float = 0.90,
    confidence: float = 0.90,
    acceleration: AccelerationModel | None = None,
    shape: float | None = None,
    criterion: Criterion | None = None,
) -> Demonstration:
    """The twin's life test: ``units`` units run ``test_h`` hours at the test (extreme)
    condition, and :func:`demonstrate` judges whether they show ``reliability`` at
    ``required_h`` use hours with ``confidence``.

    ``life`` is the product's life at use conditions. Draw order, so a run is reproducible:
    one call ``life.sample(rng, units)`` (``rng.weibull(β, units)`` scaled by η, or
    ``rng.lognormal(μ, σ, units)``), unit i taking the i-th value, and nothing else from
    ``rng``. A unit's life at test is its use life divided by the acceleration factor; it
    fails if that is ≤ ``test_h``, else it is removed unfailed at ``test_h`` (time censoring).

    The bound is the known-shape chi-square one with ``shape`` (default: a Weibull life's own
    β), or the binomial one without a shape (a lognormal life), which needs every unit to
    reach the required life: ``test_h`` × AF ≥ ``required_h``. ``criterion`` defaults to the
    B-life with a shape and to the reliability at ``required_h`` without one (both give the
    same verdict; see :class:`Criterion`).

    Raises:
        RuleError: every problem with the inputs at once, before anything is drawn: units not
            a whole number ≥ 1, hours not > 0, R or C outside (0, 1), a binomial test too short
            to reach the required life, or the B-life criterion without a shape.
    """
    problems: list[Problem] = []
    if not isinstance(life, WeibullLife | LognormalLife):
        raise TypeError(f"life must be a WeibullLife or LognormalLife, not {type(life).__name__}")
    _count("units", units, 1, problems)
    check_positive("test_h", test_h, problems)
    check_positive("required_h", required_h, problems)
    _share("reliability", reliability, problems)
    _share("confidence", confidence, problems)
    if shape is None and isinstance(life, WeibullLife):
        shape = life.shape
    if shape is not None:
        check_positive("shape", shape, problems)
    elif is_number(test_h) and test_h > 0 and is_number(required_h) and required_h > 0:
        reach = _binomial_reach(test_h, required_h, acceleration)
        if reach is not None:
            problems.append(reach)
    if criterion is None:
        criterion = Criterion.RELIABILITY if shape is None else Criterion.B_LIFE
    elif Criterion(criterion) is Criterion.B_LIFE and shape is None:
        problems.append(Problem(
            None, "criterion",
            "a B-life bound needs a Weibull shape: a lognormal life is judged by the "
            "reliability at the required life (criterion reliability)",
        ))
    raise_problems(problems)

    test_life = life.sample(rng, units) / _factor(acceleration)
    failed = test_life <= test_h
    return demonstrate(
        np.where(failed, test_life, test_h), failed,
        required_h=required_h, reliability=reliability, confidence=confidence, shape=shape,
        acceleration=acceleration, censoring=Censoring.TIME, criterion=criterion,
    )


@dataclass(frozen=True)
class LifeTestPlan:
    """A zero-failure life test that demonstrates ``reliability`` at ``required_h`` use hours
    with ``confidence``: ``units`` units, each ``test_h`` hours at the test condition, which
    are ``use_h`` = ``test_h`` × ``factor`` hours at use conditions. Its chance of no failure
    is :func:`success_run_pass_probability` with ``test_h=use_h`` (Weibull) or at the
    required life (binomial)."""

    units: int
    test_h: float
    use_h: float
    factor: float
    shape: float | None  # None: a binomial test, every unit run to the required life
    required_h: float
    reliability: float
    confidence: float


def life_test_plan(
    *,
    required_h: float,
    reliability: float = 0.90,
    confidence: float = 0.90,
    shape: float | None = None,
    acceleration: AccelerationModel | None = None,
    units: int | None = None,
    test_h: float | None = None,
) -> LifeTestPlan:
    """The zero-failure test for a requirement, with at most one of ``units`` and ``test_h``
    (test-condition hours) given and the other worked out.

    With a known Weibull ``shape``: units from :func:`success_run_sample_size` for ``test_h``
    × AF use hours each, or test hours from :func:`success_run_test_h` for ``units`` (divided
    by AF, and lengthened by a billionth so that no failure passes despite rounding); with
    neither, each unit runs the required life. Without a shape (binomial) each unit must run
    the required life: ``test_h`` defaults to ``required_h``/AF and must reach it, and
    ``units`` is the success run ⌈ln(1 − C)/ln R⌉, or the number given if that is enough.

    Raises:
        RuleError: every problem at once: R or C outside (0, 1), hours or β not > 0, units
            below 1, both units and test_h given, or a binomial plan with too few units or
            too short a test.
    """
    problems: list[Problem] = []
    check_positive("required_h", required_h, problems)
    _share("reliability", reliability, problems)
    _share("confidence", confidence, problems)
    if shape is not None:
        check_positive("shape", shape, problems)
    if units is not None:
        _count("units", units, 1, problems)
    if test_h is not None:
        check_positive("test_h", test_h, problems)
    if units is not None and test_h is not None:
        problems.append(Problem(None, "units", "give units or test_h, not both: the plan "
                                "works out the other"))
    raise_problems(problems)
    factor = _factor(acceleration)
    if shape is None:
        least = success_run_sample_size(reliability, confidence)
        if units is not None and units < least:
            problems.append(Problem(
                None, "units", f"{units} units cannot demonstrate R = {reliability:g} with "
                f"C = {confidence:g} without a Weibull shape: the success run needs {least}",
            ))
        test_h = required_h / factor if test_h is None else test_h
        reach = _binomial_reach(test_h, required_h, acceleration)
        if reach is not None:
            problems.append(reach)
        raise_problems(problems)
        units = least if units is None else units
    elif units is not None:
        use_h = success_run_test_h(
            reliability, confidence, units, required_h=required_h, shape=shape
        )
        test_h = use_h / factor * (1.0 + _PLAN_MARGIN)
    else:
        test_h = required_h / factor if test_h is None else test_h
        units = success_run_sample_size(
            reliability, confidence, test_h=test_h * factor, required_h=required_h, shape=shape
        )
    return LifeTestPlan(
        units=units,
        test_h=float(test_h),
        use_h=float(test_h * factor),
        factor=factor,
        shape=None if shape is None else float(shape),
        required_h=float(required_h),
        reliability=float(reliability),
        confidence=float(confidence),
    )
