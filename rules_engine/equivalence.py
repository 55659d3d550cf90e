"""Equivalence of two processes by two one-sided t tests (TOST, Schuirmann 1987), for a
comparability study after a change of tool chain, supplier or material.

The difference is mean(x) − mean(y) in the measurement's unit. Equivalence is concluded at
level α when both one-sided nulls, difference ≤ lower margin and difference ≥ upper margin,
are rejected; equivalently, when the 1 − 2α confidence interval lies inside the margins.
Schuirmann, J. Pharmacokinetics and Biopharmaceutics 15(6), 1987.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from numpy.typing import ArrayLike, NDArray

from shocktwin.errors import Problem, RuleError

__all__ = [
    "EquivalenceDesign",
    "EquivalenceResult",
    "tost",
    "tost_power",
]


class EquivalenceDesign(StrEnum):
    """How the two samples relate and how the standard error is formed."""

    POOLED = "pooled"  # independent samples, equal variances (Student)
    WELCH = "welch"  # independent samples, unequal variances (Welch-Satterthwaite df)
    PAIRED = "paired"  # the same units measured twice: a one-sample test on x − y


@dataclass(frozen=True)
class EquivalenceResult:
    """Outcome of a TOST. ``ci_lower``/``ci_upper`` is the 1 − 2α interval of the difference;
    ``p_value`` is the larger of the two one-sided p-values."""

    design: EquivalenceDesign
    difference: float
    standard_error: float
    df: float
    lower_margin: float
    upper_margin: float
    alpha: float
    ci_lower: float
    ci_upper: float
    p_lower: float
    p_upper: float
    p_value: float
    equivalent: bool


def _margins(margin: object, problems: list[Problem]) -> tuple[float, float]:
    if isinstance(margin, int | float) and not isinstance(margin, bool):
        low, high = -abs(float(margin)), abs(float(margin))
    elif isinstance(margin, tuple) and len(margin) == 2:
        low, high = (float(m) if isinstance(m, int | float) else math.nan for m in margin)
    else:
        problems.append(Problem(None, "margin", f"must be a number or (low, high), got {margin!r}"))
        return math.nan, math.nan
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        problems.append(
            Problem(None, "margin", f"needs finite margins with low < high, got {margin!r}")
        )
    return low, high


def _alpha(alpha: object, problems: list[Problem]) -> float:
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0 < alpha < 0.5:
        problems.append(Problem(None, "alpha", f"must be in (0, 0.5), got {alpha!r}"))
        return math.nan
    return float(alpha)


def _sample(values: object, name: str, problems: list[Problem]) -> NDArray[np.float64]:
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        problems.append(Problem(None, name, "must be a sequence of numbers"))
        return np.empty(0)
    if array.ndim != 1 or array.size < 2 or not np.isfinite(array).all():
        problems.append(Problem(None, name, "must be at least two finite numbers in 1-D"))
    return array


def tost(
    x: ArrayLike,
    y: ArrayLike,
    *,
    margin: float | tuple[float, float],
    alpha: float = 0.05,
    design: EquivalenceDesign = EquivalenceDesign.WELCH,
) -> EquivalenceResult:
    """Two one-sided t tests of mean(x) − mean(y) against the equivalence margins.

    ``margin`` is ±m for a number m, or (low, high). Pooled: SE = s_p·√(1/nx + 1/ny), df =
    nx + ny − 2. Welch: SE = √(sx²/nx + sy²/ny) with the Welch-Satterthwaite df. Paired:
    SE = s_d/√n of the differences, df = n − 1.

    Raises:
        RuleError: samples with fewer than two or non-finite values, paired samples of
            different lengths, zero spread, margins not low < high, or α outside (0, 0.5).
    """
    from scipy.stats import t as student

    problems: list[Problem] = []
    design = EquivalenceDesign(design)
    a, b = _sample(x, "x", problems), _sample(y, "y", problems)
    low, high = _margins(margin, problems)
    level = _alpha(alpha, problems)
    if design is EquivalenceDesign.PAIRED and not problems and a.size != b.size:
        problems.append(Problem(None, "y", f"paired samples differ in length: {a.size}, {b.size}"))
    if problems:
        raise RuleError(problems)

    if design is EquivalenceDesign.PAIRED:
        d = a - b
        difference, se, df = float(d.mean()), float(d.std(ddof=1) / math.sqrt(d.size)), d.size - 1.0
    else:
        difference = float(a.mean() - b.mean())
        va, vb = float(a.var(ddof=1)), float(b.var(ddof=1))
        na, nb = a.size, b.size
        if design is EquivalenceDesign.POOLED:
            df = na + nb - 2.0
            pooled = ((na - 1) * va + (nb - 1) * vb) / df
            se = math.sqrt(pooled * (1.0 / na + 1.0 / nb))
        else:
            wa, wb = va / na, vb / nb
            se = math.sqrt(wa + wb)
            df = (wa + wb) ** 2 / (wa**2 / (na - 1) + wb**2 / (nb - 1)) if se > 0 else math.nan
    if not se > 0:
        raise RuleError([Problem(None, "x", "the samples have no spread: the test is undefined")])

    p_lower = float(student.sf((difference - low) / se, df))
    p_upper = float(student.cdf((difference - high) / se, df))
    quantile = float(student.ppf(1.0 - level, df))
    ci_lower, ci_upper = difference - quantile * se, difference + quantile * se
    p_value = max(p_lower, p_upper)
    return EquivalenceResult(
        design=design,
        difference=difference,
        standard_error=se,
        df=df,
        lower_margin=low,
        upper_margin=high,
        alpha=level,
        ci_lower=ci_lower,
        ci_upper=ci_upper,
        p_lower=p_lower,
        p_upper=p_upper,
        p_value=p_value,
        equivalent=p_value < level,
    )


def tost_power(
    difference: float,
    *,
    sigma: float,
    n_x: int,
    n_y: int | None = None,
    margin: float | tuple[float, float],
    alpha: float = 0.05,
) -> float:
    """Probability that a TOST concludes equivalence when the true difference is
    ``difference``: the pooled two-sample test (σ common to both) or, with ``n_y=None``,
    the paired test (σ of the differences, n_x pairs).

    Exact (Owen 1965, Biometrika 52): with D ~ N(δ, se²) and S/se ~ √(χ²_df/df) independent,
    the test rejects both nulls when low + t·S < D < high − t·S, t = t_{1−α, df}; the
    conditional normal probability is integrated over the χ² density. The familiar
    noncentral-t form P(T₁ > t) + P(T₂ < −t) − 1 is its lower bound.

    Raises:
        RuleError: σ not > 0, sample sizes below 2, margins not low < high, or α outside
            (0, 0.5).
    """
    from scipy import integrate
    from scipy.stats import chi2, norm
    from scipy.stats import t as student

    problems: list[Problem] = []
    low, high = _margins(margin, problems)
    level = _alpha(alpha, problems)
    if not (isinstance(sigma, int | float) and math.isfinite(sigma) and sigma > 0):
        problems.append(Problem(None, "sigma", f"must be a finite number > 0, got {sigma!r}"))
    if not (isinstance(difference, int | float) and math.isfinite(difference)):
        problems.append(Problem(None, "difference", f"must be finite, got {difference!r}"))
    for name, n in (("n_x", n_x), ("n_y", n_y)):
        if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 2):
            problems.append(Problem(None, name, f"must be an integer ≥ 2, got {n!r}"))
    if problems:
        raise RuleError(problems)

    if n_y is None:
        se, df = sigma / math.sqrt(n_x), n_x - 1
    else:
        se, df = sigma * math.sqrt(1.0 / n_x + 1.0 / n_y), n_x + n_y - 2
    quantile = float(student.ppf(1.0 - level, df))

    def given_chi_square(v: float) -> float:
        reach = quantile * math.sqrt(v / df)  # t·S/se
        upper = (high - difference) / se - reach
        lower = (low - difference) / se + reach
        return max(float(norm.cdf(upper) - norm.cdf(lower)), 0.0) * float(chi2.pdf(v, df))

    # Beyond this χ² value the acceptance band low + t·S < D < high − t·S is empty.
    v_max = df * ((high - low) / (2.0 * quantile * se)) ** 2
    power, _ = integrate.quad(given_chi_square, 0.0, v_max, limit=200)
    return float(min(max(power, 0.0), 1.0))
