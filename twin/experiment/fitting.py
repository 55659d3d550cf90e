"""Fitting recorded durations: scipy.stats candidates by maximum likelihood, ranked by AIC,
with the Kolmogorov–Smirnov goodness of fit, and samplers for the winner.

Used where the data is thin or a smooth model is wanted (the ``fit`` replay mode, and
``shocktwin derive``). Durations are positive; zeros are handled by the caller as a
separate probability mass (``ZeroInflated``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

__all__ = ["CANDIDATES", "MAX_FIT_POINTS", "Fit", "ZeroInflated", "fit_durations",
           "fit_positive"]

#: Candidate families, all with their location fixed at zero (durations start at 0).
CANDIDATES: tuple[str, ...] = ("expon", "gamma", "lognorm", "weibull_min")
#: Larger samples are thinned evenly (sorted, every k-th point) before fitting.
MAX_FIT_POINTS = 20_000
_BLOCK = 1024


@dataclass(frozen=True)
class Fit:
    """A fitted distribution and how well it fits."""

    name: str
    params: tuple[float, ...]  # scipy's (shapes..., loc, scale)
    n: int
    aic: float
    ks_statistic: float
    ks_pvalue: float

    @property
    def mean(self) -> float:
        if self.name == "constant":
            return self.params[0]
        return float(getattr(stats, self.name)(*self.params).mean())

    def describe(self) -> str:
        if self.name == "constant":
            return f"constant {self.params[0]:.4g}, n {self.n}"
        return (f"{self.name}({', '.join(f'{p:.4g}' for p in self.params)}) mean "
                f"{self.mean:.3g}, n {self.n}, KS D {self.ks_statistic:.3f} "
                f"(p {self.ks_pvalue:.3g}), AIC {self.aic:.1f}")

    def sampler(self, rng: np.random.Generator) -> Callable[[], float]:
        """Draws from the fitted distribution, generated in blocks from ``rng``."""
        if self.name == "constant":
            value = self.params[0]
            return lambda: value
        dist = getattr(stats, self.name)(*self.params)
        buf: list[float] = []

        def draw() -> float:
            if not buf:
                buf.extend(dist.rvs(size=_BLOCK, random_state=rng).tolist()[::-1])
            return buf.pop()

        return draw


@dataclass(frozen=True)
class ZeroInflated:
    """A duration that is zero with probability ``p_zero`` and else follows ``fit``."""

    p_zero: float
    fit: Fit | None  # None when every observation was zero

    def sampler(self, rng: np.random.Generator) -> Callable[[], float]:
        positive = self.fit.sampler(rng) if self.fit is not None else None
        p_zero = self.p_zero
        uniforms: list[float] = []

        def draw() -> float:
            if not uniforms:
                uniforms.extend(rng.random(_BLOCK).tolist())
            if positive is None or uniforms.pop() < p_zero:
                return 0.0
            return positive()

        return draw


def fit_positive(values: Sequence[float] | np.ndarray,
                 candidates: Sequence[str] = CANDIDATES) -> list[Fit]:
    """Every candidate fitted to the positive ``values``, best (lowest AIC) first.

    Needs at least two distinct positive values; raises ValueError otherwise.
    """
    x = np.sort(np.asarray(values, dtype=float))
    x = x[np.isfinite(x) & (x > 0)]
    if x.size < 2 or x[0] == x[-1]:
        raise ValueError("need at least two distinct positive values to fit")
    if x.size > MAX_FIT_POINTS:
        x = x[:: int(np.ceil(x.size / MAX_FIT_POINTS))]
    fits = []
    for name in candidates:
        dist = getattr(stats, name)
        with np.errstate(all="ignore"):
            params = tuple(float(p) for p in dist.fit(x, floc=0))
            loglik = float(np.sum(dist.logpdf(x, *params)))
        if not np.isfinite(loglik):
            continue
        k = len(params) - 1  # loc is fixed
        ks = stats.kstest(x, name, args=params)
        fits.append(Fit(name, params, int(x.size), 2 * k - 2 * loglik,
                        float(ks.statistic), float(ks.pvalue)))
    if not fits:
        raise ValueError("no candidate distribution could be fitted")
    return sorted(fits, key=lambda f: f.aic)


def fit_durations(values: Sequence[float] | np.ndarray) -> ZeroInflated:
    """The share of zeros and the best fit of the rest (a constant when all are equal)."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        raise ValueError("no durations to fit")
    positive = x[x > 0]
    p_zero = 1.0 - positive.size / x.size
    if positive.size == 0:
        return ZeroInflated(1.0, None)
    if positive.min() == positive.max():
        nan = float("nan")  # one value: nothing to fit or test
        return ZeroInflated(p_zero, Fit("constant", (float(positive[0]),), int(positive.size),
                                        nan, nan, nan))
    return ZeroInflated(p_zero, fit_positive(positive)[0])
