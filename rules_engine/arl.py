"""Average run lengths of control charts: the Shewhart closed form and Markov chains for
CUSUM and EWMA, so a chart design can be chosen for its false-alarm rate and detection delay.

Shifts are in units of σ of one observation (of a subgroup mean for an X̄ chart fed its
means, of an individual value otherwise); the in-control mean is 0. The ARL counts the
points plotted up to and including the first signal, starting from the chart's initial state
(zero-state ARL).
"""

from __future__ import annotations

import math

import numpy as np

from shocktwin.errors import Problem
from shocktwin.rules_engine._checks import check_finite, check_positive, raise_problems

__all__ = [
    "cusum_arl",
    "ewma_arl",
    "shewhart_arl",
]

# Brook & Evans' discretisation converges as 1/states²; these counts put the Markov-chain
# ARL within 0.1 % of the published tables over their range (checked in the tests).
_CUSUM_STATES = 400
_EWMA_STATES = 401


def shewhart_arl(shift: float, *, subgroup_size: int = 1, limit_sigma: float = 3.0) -> float:
    """ARL of a Shewhart chart for the mean with ±``limit_sigma`` limits: 1 / P(signal).

    ``shift`` is in σ of individual values; the plotted mean of ``subgroup_size`` values
    moves by shift·√n of its own σ. Montgomery, Introduction to SQC, §6.2: in control with
    3σ limits 1/0.0027 = 370.4.

    Raises:
        RuleError: a non-finite shift, a subgroup size below 1 or limits not > 0.
    """
    from scipy.stats import norm

    problems: list[Problem] = []
    check_finite("shift", shift, problems)
    check_positive("limit_sigma", limit_sigma, problems)
    if isinstance(subgroup_size, bool) or not isinstance(subgroup_size, int) or subgroup_size < 1:
        problems.append(
            Problem(None, "subgroup_size", f"must be an integer ≥ 1, got {subgroup_size!r}")
        )
    raise_problems(problems)
    moved = shift * math.sqrt(subgroup_size)
    p_signal = float(norm.sf(limit_sigma - moved) + norm.cdf(-limit_sigma - moved))
    return 1.0 / p_signal


def _one_sided_cusum_arl(shift: float, k: float, h: float, states: int) -> float:
    from scipy.stats import norm

    # Brook & Evans (1972), Biometrika 59(3): state 0 is [0, w/2), state j the interval of
    # width w around j·w; the top edge (states − ½)·w is h, and beyond it the chart signals.
    width = 2.0 * h / (2 * states - 1)
    level = np.arange(states) * width
    upper_edges = (np.arange(states) + 0.5) * width
    # P(next state ≤ j | state i) = P(level_i + X − k < upper_edge_j), X ~ N(shift, 1).
    below = norm.cdf(upper_edges[None, :] - level[:, None] + k - shift)
    transition = np.diff(below, axis=1, prepend=0.0)
    run_length = np.linalg.solve(np.eye(states) - transition, np.ones(states))
    return float(run_length[0])


def cusum_arl(
    shift: float,
    *,
    k: float = 0.5,
    h: float = 4.0,
    two_sided: bool = True,
    states: int = _CUSUM_STATES,
) -> float:
    """Zero-state ARL of the tabular CUSUM with reference value ``k`` and decision interval
    ``h`` (both in σ), signalling when a cumulative sum exceeds h.

    One-sided (upper) ARL by the Markov chain of Brook & Evans (1972). The two-sided ARL
    combines the upper and lower charts as 1/ARL = 1/ARL⁺ + 1/ARL⁻ (Van Dobben de Bruyn
    1968; Montgomery, Introduction to SQC, §9.1), the relation used for Montgomery's table
    of k = ½, h = 4 and 5.

    Raises:
        RuleError: k < 0, h not > 0, a non-finite shift, or fewer than 10 states.
    """
    problems: list[Problem] = []
    check_finite("shift", shift, problems)
    check_positive("h", h, problems)
    if not (isinstance(k, int | float) and math.isfinite(k) and k >= 0):
        problems.append(Problem(None, "k", f"must be a finite number ≥ 0, got {k!r}"))
    if isinstance(states, bool) or not isinstance(states, int) or states < 10:
        problems.append(Problem(None, "states", f"must be an integer ≥ 10, got {states!r}"))
    raise_problems(problems)
    upper = _one_sided_cusum_arl(shift, k, h, states)
    if not two_sided:
        return upper
    lower = _one_sided_cusum_arl(-shift, k, h, states)
    return 1.0 / (1.0 / upper + 1.0 / lower)


def ewma_arl(
    shift: float,
    *,
    lam: float,
    L: float,
    states: int = _EWMA_STATES,
) -> float:
    """Zero-state ARL of the two-sided EWMA z = λx + (1 − λ)z₋₁, z₀ = 0, with the asymptotic
    limits ±L·√(λ / (2 − λ)), the design of Lucas & Saccucci (1990), Technometrics 32(1).

    Markov chain over ``states`` (odd) equal cells between the limits (Brook & Evans 1972,
    as Lucas & Saccucci compute it), started in the centre cell.

    Raises:
        RuleError: λ outside (0, 1], L not > 0, a non-finite shift, or fewer than 11 states.
    """
    from scipy.stats import norm

    problems: list[Problem] = []
    check_finite("shift", shift, problems)
    check_positive("L", L, problems)
    if not (isinstance(lam, int | float) and 0 < lam <= 1):
        problems.append(Problem(None, "lam", f"must be in (0, 1], got {lam!r}"))
    if isinstance(states, bool) or not isinstance(states, int) or states < 11:
        problems.append(Problem(None, "states", f"must be an integer ≥ 11, got {states!r}"))
    raise_problems(problems)
    cells = states if states % 2 else states + 1
    limit = L * math.sqrt(lam / (2.0 - lam))
    width = 2.0 * limit / cells
    centres = -limit + (np.arange(cells) + 0.5) * width
    edges = -limit + np.arange(cells + 1) * width
    # z' = (1 − λ)·zᵢ + λ·X falls in cell j when X lies between the cell's edges mapped back.
    x_at_edges = (edges[None, :] - (1.0 - lam) * centres[:, None]) / lam
    transition = np.diff(norm.cdf(x_at_edges - shift), axis=1)
    run_length = np.linalg.solve(np.eye(cells) - transition, np.ones(cells))
    return float(run_length[cells // 2])
