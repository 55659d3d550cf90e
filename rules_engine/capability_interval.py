"""Confidence intervals for process capability: Cp by its exact chi-square interval and Cpk
by Bissell's normal approximation, so a capability claim states how sure it is.

The intervals assume independent normal measurements with σ estimated by the sample standard
deviation s (n − 1 degrees of freedom), as in Montgomery, Introduction to Statistical Quality
Control, §8.3.5. On σ estimated from the overall sample these are the Pp and Ppk of the AIAG
naming; :func:`capability_intervals` computes them from measured data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from shocktwin.errors import Problem, RuleError
from shocktwin.rules_engine.capability import cp as cp_index
from shocktwin.rules_engine.capability import cpk as cpk_index

__all__ = [
    "CapabilityIntervals",
    "Interval",
    "capability_intervals",
    "cp_interval",
    "cpk_interval",
]


@dataclass(frozen=True)
class Interval:
    """A point estimate with its two-sided confidence interval at ``confidence``."""

    estimate: float
    lower: float
    upper: float
    confidence: float


@dataclass(frozen=True)
class CapabilityIntervals:
    """Pp (``None`` for a one-sided specification) and Ppk of a sample, with intervals."""

    n: int
    mean: float
    sigma: float  # sample standard deviation, n − 1, in the measurement's unit
    pp: Interval | None
    ppk: Interval


def _checks(n: object, confidence: object, minimum_n: int) -> list[Problem]:
    problems: list[Problem] = []
    if isinstance(n, bool) or not isinstance(n, int) or n < minimum_n:
        problems.append(Problem(None, "n", f"must be an integer ≥ {minimum_n}, got {n!r}"))
    if (
        isinstance(confidence, bool)
        or not isinstance(confidence, int | float)
        or not 0 < confidence < 1
    ):
        problems.append(Problem(None, "confidence", f"must be in (0, 1), got {confidence!r}"))
    return problems


def _estimate_problem(name: str, value: object, *, positive: bool) -> list[Problem]:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return [Problem(None, name, f"must be a finite number, got {value!r}")]
    if positive and value <= 0:
        return [Problem(None, name, f"must be > 0, got {value!r}")]
    return []


def cp_interval(cp_hat: float, n: int, *, confidence: float = 0.95) -> Interval:
    """Exact interval for Cp from Ĉp = (USL − LSL)/6s on n values:
    Ĉp·√(χ²_{α/2, n−1}/(n − 1)) ≤ Cp ≤ Ĉp·√(χ²_{1−α/2, n−1}/(n − 1))
    (Montgomery, Introduction to SQC, eq. 8.19), since (n − 1)s²/σ² is χ² with n − 1 df.

    Raises:
        RuleError: Ĉp not a finite number > 0, n below 2, or a confidence outside (0, 1).
    """
    from scipy.stats import chi2

    problems = _estimate_problem("cp_hat", cp_hat, positive=True) + _checks(n, confidence, 2)
    if problems:
        raise RuleError(problems)
    alpha = 1.0 - confidence
    df = n - 1
    low = cp_hat * math.sqrt(float(chi2.ppf(alpha / 2, df)) / df)
    high = cp_hat * math.sqrt(float(chi2.ppf(1 - alpha / 2, df)) / df)
    return Interval(float(cp_hat), low, high, float(confidence))


def cpk_interval(cpk_hat: float, n: int, *, confidence: float = 0.95) -> Interval:
    """Approximate interval for Cpk (or Ppk) from Ĉpk on n values, Bissell (1990),
    Applied Statistics 39(3), 331–340: Ĉpk ∓ z_{α/2}·√(1/(9n) + Ĉpk²/(2(n − 1))) (Montgomery,
    Introduction to SQC, eq. 8.22). Good from a few dozen values; it runs slightly short of
    its nominal coverage for small n.

    Raises:
        RuleError: a non-finite Ĉpk, n below 2, or a confidence outside (0, 1).
    """
    from scipy.stats import norm

    problems = _estimate_problem("cpk_hat", cpk_hat, positive=False) + _checks(n, confidence, 2)
    if problems:
        raise RuleError(problems)
    z = float(norm.ppf(1 - (1.0 - confidence) / 2))
    half = z * math.sqrt(1.0 / (9 * n) + cpk_hat**2 / (2 * (n - 1)))
    return Interval(float(cpk_hat), cpk_hat - half, cpk_hat + half, float(confidence))


def capability_intervals(
    values: ArrayLike,
    *,
    lsl: float | None = None,
    usl: float | None = None,
    confidence: float = 0.95,
) -> CapabilityIntervals:
    """Pp and Ppk of a sample of individual values, σ by the sample standard deviation, with
    the chi-square interval for Pp and Bissell's interval for Ppk.

    Raises:
        RuleError: fewer than two or non-finite values, no spread, or specification
            problems (as for :func:`rules_engine.capability.cpk`); every problem is listed.
    """
    problems: list[Problem] = []
    try:
        x = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise RuleError([Problem(None, "values", "must be a sequence of numbers")]) from None
    if x.ndim != 1 or x.size < 2 or not np.isfinite(x).all():
        problems.append(Problem(None, "values", "must be at least two finite numbers in 1-D"))
        raise RuleError(problems)
    mean, sigma = float(x.mean()), float(x.std(ddof=1))
    if not sigma > 0:
        raise RuleError([Problem(None, "values", "have no spread: s is 0")])
    pp = cp_index(sigma, lsl=lsl, usl=usl)
    ppk = cpk_index(mean, sigma, lsl=lsl, usl=usl)
    n = int(x.size)
    return CapabilityIntervals(
        n=n,
        mean=mean,
        sigma=sigma,
        pp=None if pp is None else cp_interval(pp, n, confidence=confidence),
        ppk=cpk_interval(ppk, n, confidence=confidence),
    )
