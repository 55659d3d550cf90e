"""Measurement systems: gauge repeatability and reproducibility from a crossed study, and the
probabilities that a measured characteristic is misclassified against its specification.

A gauge study measures each of p parts r times by each of o operators. Variance components
come from the two-way random-effects ANOVA with interaction (Montgomery, Introduction to
Statistical Quality Control, §8.7; AIAG, Measurement Systems Analysis, 4th ed., ANOVA
method); negative estimates are set to 0. All σ are in the measurement's unit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from shocktwin.errors import Problem, RuleError

__all__ = [
    "GaugeStudy",
    "Misclassification",
    "gauge_study",
    "misclassification",
]

# Study variation spans ±3σ: %GRR of tolerance = 6σ_GRR / (USL − LSL) (Montgomery's P/T;
# AIAG MSA 4th ed. uses the same 6σ).
_STUDY_SPREAD = 6.0
# Number of distinct categories, AIAG MSA 4th ed.: ndc = 1.41·σ_part / σ_GRR (√2, truncated
# to three figures as the manual prints it).
_NDC_FACTOR = 1.41


@dataclass(frozen=True)
class GaugeStudy:
    """Variance components of a crossed gauge study, as standard deviations.

    ``reproducibility`` combines operator and operator × part; ``grr`` combines it with
    ``repeatability``; ``total`` adds the part-to-part σ. Percentages are 100·σ ratios (of
    total variation) and 100·6σ_GRR/(USL − LSL) (of tolerance, ``None`` without both limits).
    ``bias`` is the mean of measurement − reference when reference values were given.
    """

    parts: int
    operators: int
    replicates: int
    repeatability: float
    operator: float
    interaction: float
    reproducibility: float
    grr: float
    part: float
    total: float
    percent_grr_of_total: float
    percent_grr_of_tolerance: float | None
    distinct_categories: float
    bias: float | None


@dataclass(frozen=True)
class Misclassification:
    """Joint probabilities for one measured item: ``false_accept`` = P(out of spec and
    measured in spec), the consumer's risk; ``false_reject`` = P(in spec and measured out),
    the producer's risk; with the true and the measured conforming fractions."""

    false_accept: float
    false_reject: float
    conforming: float
    measured_conforming: float


def _spec(lsl: object, usl: object, problems: list[Problem]) -> tuple[float, float]:
    low = -math.inf if lsl is None else lsl
    high = math.inf if usl is None else usl
    for name, value in (("lsl", lsl), ("usl", usl)):
        if value is not None and (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            problems.append(Problem(None, name, f"must be a finite number, got {value!r}"))
            return math.nan, math.nan
    if lsl is None and usl is None:
        problems.append(Problem(None, "spec", "give at least one of LSL and USL"))
    elif not float(low) < float(high):  # type: ignore[arg-type]
        problems.append(Problem(None, "spec", f"LSL {lsl!r} must be below USL {usl!r}"))
    return float(low), float(high)  # type: ignore[arg-type]


def gauge_study(
    measurements: ArrayLike,
    *,
    lsl: float | None = None,
    usl: float | None = None,
    reference: ArrayLike | None = None,
) -> GaugeStudy:
    """Gauge R&R from ``measurements`` shaped (parts, operators, replicates), p ≥ 2, o ≥ 2,
    r ≥ 2. ``reference`` holds each part's reference value (or one for all) for the bias.

    Expected mean squares (random effects): E[MS_E] = σ², E[MS_PO] = σ² + rσ²_PO,
    E[MS_O] = σ² + rσ²_PO + prσ²_O, E[MS_P] = σ² + rσ²_PO + orσ²_P.

    Raises:
        RuleError: a wrong shape, non-finite values, no variation between parts, a bad
            reference or specification; every problem is listed.
    """
    problems: list[Problem] = []
    try:
        y = np.asarray(measurements, dtype=np.float64)
    except (TypeError, ValueError):
        raise RuleError(
            [Problem(None, "measurements", "must be numbers shaped (parts, operators, replicates)")]
        ) from None
    if y.ndim != 3 or min(y.shape) < 2:
        problems.append(
            Problem(
                None,
                "measurements",
                f"must be shaped (parts, operators, replicates), each ≥ 2, got {y.shape}",
            )
        )
    elif not np.isfinite(y).all():
        problems.append(Problem(None, "measurements", "hold values that are not finite"))
    low, high = (
        _spec(lsl, usl, problems) if lsl is not None or usl is not None else (math.nan, math.nan)
    )
    ref: np.ndarray | None = None
    if reference is not None and y.ndim == 3:
        try:
            ref = np.broadcast_to(np.asarray(reference, dtype=np.float64), (y.shape[0],))
        except (TypeError, ValueError):
            problems.append(Problem(None, "reference", f"needs one value or {y.shape[0]} values"))
        else:
            if not np.isfinite(ref).all():
                problems.append(Problem(None, "reference", "holds values that are not finite"))
    if problems:
        raise RuleError(problems)

    p, o, r = y.shape
    grand = y.mean()
    part_means = y.mean(axis=(1, 2))
    operator_means = y.mean(axis=(0, 2))
    cell_means = y.mean(axis=2)
    ms_part = o * r * float(((part_means - grand) ** 2).sum()) / (p - 1)
    ms_operator = p * r * float(((operator_means - grand) ** 2).sum()) / (o - 1)
    interaction = cell_means - part_means[:, None] - operator_means[None, :] + grand
    ms_interaction = r * float((interaction**2).sum()) / ((p - 1) * (o - 1))
    ms_error = float(((y - cell_means[:, :, None]) ** 2).sum()) / (p * o * (r - 1))

    var_repeat = ms_error
    var_interaction = max((ms_interaction - ms_error) / r, 0.0)
    var_operator = max((ms_operator - ms_interaction) / (p * r), 0.0)
    var_part = max((ms_part - ms_interaction) / (o * r), 0.0)
    var_reproduce = var_operator + var_interaction
    var_grr = var_repeat + var_reproduce
    var_total = var_grr + var_part
    if not var_total > 0:
        raise RuleError([Problem(None, "measurements", "show no variation at all")])
    grr = math.sqrt(var_grr)
    tolerance = high - low if math.isfinite(high - low) else None
    return GaugeStudy(
        parts=p,
        operators=o,
        replicates=r,
        repeatability=math.sqrt(var_repeat),
        operator=math.sqrt(var_operator),
        interaction=math.sqrt(var_interaction),
        reproducibility=math.sqrt(var_reproduce),
        grr=grr,
        part=math.sqrt(var_part),
        total=math.sqrt(var_total),
        percent_grr_of_total=100.0 * grr / math.sqrt(var_total),
        percent_grr_of_tolerance=(
            None if tolerance is None else 100.0 * _STUDY_SPREAD * grr / tolerance
        ),
        distinct_categories=(_NDC_FACTOR * math.sqrt(var_part) / grr) if grr > 0 else math.inf,
        bias=None if ref is None else float((y - ref[:, None, None]).mean()),
    )


def misclassification(
    *,
    mean: float,
    part_sd: float,
    gauge_sd: float,
    lsl: float | None = None,
    usl: float | None = None,
    bias: float = 0.0,
) -> Misclassification:
    """False-accept and false-reject probabilities for a normal characteristic
    X ~ N(mean, part_sd²) measured as Y = X + bias + E, E ~ N(0, gauge_sd²) independent of X.

    (X, Y) is bivariate normal with correlation part_sd/√(part_sd² + gauge_sd²); the joint
    probability that both lie within the specification is a rectangle probability of that
    distribution (scipy's bivariate normal CDF), and the two risks follow as
    P(X in) − P(both in) and P(Y in) − P(both in). Montgomery, Introduction to SQC, §8.7.

    Raises:
        RuleError: non-finite mean or bias, σ not > 0, or specification problems.
    """
    from scipy.stats import multivariate_normal, norm

    problems: list[Problem] = []
    for name, value, positive in (
        ("mean", mean, False),
        ("bias", bias, False),
        ("part_sd", part_sd, True),
        ("gauge_sd", gauge_sd, True),
    ):
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            problems.append(Problem(None, name, f"must be a finite number, got {value!r}"))
        elif positive and value <= 0:
            problems.append(Problem(None, name, f"must be > 0, got {value!r}"))
    low, high = _spec(lsl, usl, problems)
    if problems:
        raise RuleError(problems)

    measured_sd = math.hypot(part_sd, gauge_sd)
    rho = part_sd / measured_sd
    # Standardise both coordinates so the rectangle's corners are finite or ±inf z-values.
    x_low, x_high = (low - mean) / part_sd, (high - mean) / part_sd
    y_low, y_high = (low - mean - bias) / measured_sd, (high - mean - bias) / measured_sd
    both_in = float(
        multivariate_normal.cdf(
            [x_high, y_high],
            mean=[0.0, 0.0],
            cov=[[1.0, rho], [rho, 1.0]],
            lower_limit=[x_low, y_low],
            allow_singular=True,  # a near-perfect gauge makes the correlation 1 to rounding
            abseps=1e-12,
            releps=1e-10,
        )
    )
    conforming = float(norm.cdf(x_high) - norm.cdf(x_low))
    measured_conforming = float(norm.cdf(y_high) - norm.cdf(y_low))
    return Misclassification(
        false_accept=max(measured_conforming - both_in, 0.0),
        false_reject=max(conforming - both_in, 0.0),
        conforming=conforming,
        measured_conforming=measured_conforming,
    )
