"""Process capability: Cp and Cpk from within-subgroup σ̂, Pp and Ppk from the overall σ.

Within-subgroup σ̂ is MR̄/d2 for individual values and R̄/d2 for subgroups (the same
estimates as the control charts in :mod:`rules_engine.spc`); the overall σ is the sample
standard deviation (n − 1) of all values. A specification may be one-sided: Cpk and Ppk are
then the one-sided CPU/CPL (PPU/PPL), and Cp and Pp, which need both limits, are ``None``.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from shocktwin.errors import Problem, RuleError
from shocktwin.rules_engine.spc import individuals_chart, xbar_r_chart

__all__ = [
    "CapabilityIndices",
    "cp",
    "cpk",
    "process_capability",
]

# Capability indices compare the specification with the ±3σ natural tolerance.
_SIGMAS_PER_SIDE = 3.0


@dataclass(frozen=True)
class CapabilityIndices:
    """Capability of a process against its specification; σ in the measurement's unit."""

    lsl: float | None
    usl: float | None
    mean: float
    sigma_within: float
    sigma_overall: float
    cp: float | None
    cpk: float
    pp: float | None
    ppk: float


def _real(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _spec_problems(lsl: object, usl: object) -> list[Problem]:
    problems: list[Problem] = []
    if lsl is None and usl is None:
        problems.append(Problem(None, "spec", "give at least one of LSL and USL"))
    for name, value in (("lsl", lsl), ("usl", usl)):
        if value is not None and _real(value) is None:
            problems.append(Problem(None, name, f"must be a finite number, got {value!r}"))
    low, high = _real(lsl), _real(usl)
    if low is not None and high is not None and low >= high:
        problems.append(Problem(None, "spec", f"LSL {low:g} must be below USL {high:g}"))
    return problems


def _sigma_problems(name: str, sigma: object) -> list[Problem]:
    value = _real(sigma)
    if value is None or value <= 0:
        return [Problem(None, name, f"must be a finite number > 0, got {sigma!r}")]
    return []


def _mean_problems(mean: object) -> list[Problem]:
    if _real(mean) is None:
        return [Problem(None, "mean", f"must be a finite number, got {mean!r}")]
    return []


def _cp(sigma: float, lsl: float | None, usl: float | None) -> float | None:
    if lsl is None or usl is None:
        return None
    return (usl - lsl) / (2 * _SIGMAS_PER_SIDE * sigma)


def _cpk(mean: float, sigma: float, lsl: float | None, usl: float | None) -> float:
    distances: list[float] = []
    if usl is not None:
        distances.append(usl - mean)
    if lsl is not None:
        distances.append(mean - lsl)
    return min(distances) / (_SIGMAS_PER_SIDE * sigma)


def cp(sigma: float, *, lsl: float | None = None, usl: float | None = None) -> float | None:
    """Cp = (USL − LSL) / 6σ; ``None`` when one limit is absent.

    Raises:
        RuleError: σ not a finite number > 0, no limit, a non-finite limit or LSL ≥ USL;
            every problem is listed.
    """
    problems = _sigma_problems("sigma", sigma) + _spec_problems(lsl, usl)
    if problems:
        raise RuleError(problems)
    return _cp(float(sigma), _real(lsl), _real(usl))


def cpk(mean: float, sigma: float, *, lsl: float | None = None, usl: float | None = None) -> float:
    """Cpk = min(USL − μ, μ − LSL) / 3σ over the limits given (CPU or CPL when one-sided).

    Raises:
        RuleError: a non-finite mean, σ not a finite number > 0, no limit, a non-finite
            limit or LSL ≥ USL; every problem is listed.
    """
    problems = _mean_problems(mean) + _sigma_problems("sigma", sigma) + _spec_problems(lsl, usl)
    if problems:
        raise RuleError(problems)
    return _cpk(float(mean), float(sigma), _real(lsl), _real(usl))


def process_capability(
    values: ArrayLike, *, lsl: float | None = None, usl: float | None = None
) -> CapabilityIndices:
    """Cp, Cpk, Pp and Ppk of measured data against the specification limits.

    ``values`` is a 1-D series of individual values in time order (σ̂ within = MR̄/1.128)
    or a 2-D array of equal subgroups in rows, n = 2..10 (σ̂ within = R̄/d2).

    Raises:
        RuleError: specification problems (as for :func:`cpk`) together with data problems:
            too few or non-finite values, a bad subgroup size, or no spread (σ = 0, where
            the indices are undefined).
    """
    problems = _spec_problems(lsl, usl)
    sigma_within: float | None = None
    try:
        data = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        problems.append(Problem(None, "values", "must be numbers, in rows of equal size"))
        raise RuleError(problems) from None
    try:
        if data.ndim == 1:
            sigma_within = individuals_chart(data).sigma_within
        elif data.ndim == 2:
            sigma_within = xbar_r_chart(data).sigma_within
        else:
            problems.append(
                Problem(None, "values", f"must be 1-D or 2-D (subgroup × item), got {data.shape}")
            )
    except RuleError as error:
        problems.extend(error.problems)
    if sigma_within is None:
        raise RuleError(problems)

    flat = data.ravel()
    mean = float(flat.mean())
    sigma_overall = float(flat.std(ddof=1))
    problems += _sigma_problems("sigma_within", sigma_within)
    problems += _sigma_problems("sigma_overall", sigma_overall)
    if problems:
        raise RuleError(problems)
    low, high = _real(lsl), _real(usl)
    return CapabilityIndices(
        lsl=low,
        usl=high,
        mean=mean,
        sigma_within=sigma_within,
        sigma_overall=sigma_overall,
        cp=_cp(sigma_within, low, high),
        cpk=_cpk(mean, sigma_within, low, high),
        pp=_cp(sigma_overall, low, high),
        ppk=_cpk(mean, sigma_overall, low, high),
    )
