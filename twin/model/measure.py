"""Measured characteristics: true values drawn per source, and gauges that read them.

A :class:`ValueStream` holds one characteristic at one source (a supplier's lots of a
material, or a process station's output). Its true values are

    x = μ + drift·t + shift·σ + spread · d

where ``d`` is the source's deviation from its mean: AR(1)-correlated standard normals
turned into the source's distribution (normal, lognormal or Weibull with the given mean and
sd, through a Gaussian copula), or a recorded value minus the recorded mean (replayed in
order, resampled, or drawn from a distribution fitted to the record). Shocks move ``shift``
(in σ) and ``spread`` (a factor on the deviations) through levers. Deviations are drawn in
vectorised blocks: a lot draws all its units at once, a station takes one unit at a time
from a block of :data:`~shocktwin.twin.model.rng.BLOCK`.

A :class:`Gauge` reads true values as the quality system sees them: plus its bias, one
appraiser effect per call (reproducibility) and a repeatability error per reading; shocks
add to the bias and inflate both errors.

A :class:`MeasuredLot` is a lot's defect flags (a ``list[bool]``, as every lot is) that also
carries its units' true values, row for row, so inspection can read them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from shocktwin.twin.model.lever import Combine, Lever
from shocktwin.twin.model.rng import BLOCK

__all__ = ["Gauge", "MeasuredLot", "StationMeasurement", "ValueStream", "bissell_interval",
           "fit_values", "out_of_spec", "weibull_shape"]

FloatArray = NDArray[np.float64]


def weibull_shape(cv: float) -> float:
    """The Weibull shape k whose coefficient of variation is ``cv``:
    CV² = Γ(1 + 2/k) / Γ(1 + 1/k)² − 1, decreasing in k."""
    from scipy.optimize import brentq
    from scipy.special import gammaln

    def excess(k: float) -> float:
        return math.exp(gammaln(1 + 2 / k) - 2 * gammaln(1 + 1 / k)) - 1 - cv * cv

    return float(brentq(excess, 0.05, 20_000.0, xtol=1e-12))


class ValueStream:
    """True values of one characteristic at one source."""

    __slots__ = ("_block", "_kind", "_last_z", "_params", "_phi", "_position", "_ramps",
                 "_recorded", "_rng", "drift_per_h", "mean", "name", "sd", "shift", "spread")

    def __init__(self, name: str, rng: np.random.Generator, *, kind: str = "normal",
                 mean: float = 0.0, sd: float = 1.0, drift_per_h: float = 0.0,
                 autocorrelation: float = 0.0, recorded: FloatArray | None = None,
                 bootstrap: bool = False) -> None:
        self.name = name
        self._rng = rng
        self.drift_per_h = drift_per_h
        self._phi = autocorrelation
        self._last_z = 0.0
        self._position = 0
        self._block: list[float] = []
        self._recorded: FloatArray | None = None
        if recorded is not None:
            self._kind = "bootstrap" if bootstrap else "trace"
            self.mean = float(recorded.mean())
            self.sd = float(recorded.std(ddof=1)) if recorded.size > 1 else 0.0
            self._recorded = recorded - self.mean
            self._params: tuple[float, ...] = ()
        else:
            self._kind = kind
            self.mean, self.sd = mean, sd
            if kind == "lognormal":
                s2 = math.log1p((sd / mean) ** 2)
                self._params = (math.log(mean) - s2 / 2, math.sqrt(s2))
            elif kind == "weibull":
                k = weibull_shape(sd / mean)
                self._params = (k, mean / math.gamma(1 + 1 / k))
            else:
                self._params = ()
        # Shocks: a mean shift in σ (offsets add up) and a factor on the spread.
        self.shift = Lever(f"{name}.mean_shift", 0.0, Combine.SUM)
        self.spread = Lever(f"{name}.spread", 1.0)
        # Drifts shocks start: source → (start hour, σ per hour).
        self._ramps: dict[str, tuple[float, float]] = {}

    def ramping(self, source: str) -> bool:
        """Whether ``source`` has a drift running."""
        return source in self._ramps

    def ramp(self, source: str, start_h: float | None, sigma_per_h: float = 0.0) -> None:
        """From ``start_h`` on, the mean moves by ``sigma_per_h`` σ an hour (None: stop)."""
        if start_h is None:
            self._ramps.pop(source, None)
        else:
            self._ramps[source] = (start_h, sigma_per_h)

    def _deviations(self, n: int) -> FloatArray:
        if self._recorded is not None:
            rec = self._recorded
            if self._kind == "bootstrap":
                return rec[self._rng.integers(0, rec.size, n)]
            idx = (self._position + np.arange(n)) % rec.size
            self._position = int((self._position + n) % rec.size)
            return rec[idx]
        e = self._rng.standard_normal(n)
        phi = self._phi
        if phi > 0.0:
            from scipy.signal import lfilter

            z, _ = lfilter([math.sqrt(1.0 - phi * phi)], [1.0, -phi], e,
                           zi=[phi * self._last_z])
            self._last_z = float(z[-1])
        else:
            z = e
        if self._kind == "normal":
            return self.sd * z  # type: ignore[no-any-return]
        if self._kind == "lognormal":
            mu, s = self._params
            return np.exp(mu + s * z) - self.mean  # type: ignore[no-any-return]
        from scipy.special import ndtr

        k, scale = self._params
        return scale * (-np.log(ndtr(-z))) ** (1.0 / k) - self.mean  # type: ignore[no-any-return]

    def level(self, now: float) -> float:
        """The mean at hour ``now``, with the drift and the shocks' shift."""
        level = self.mean + self.drift_per_h * now + self.shift.value * self.sd
        for start, rate in self._ramps.values():
            level += rate * (now - start) * self.sd
        return level

    def draw(self, n: int, now: float) -> FloatArray:
        """The true values of ``n`` consecutive units made at hour ``now``."""
        return self.level(now) + self.spread.value * self._deviations(n)

    def one(self, now: float) -> float:
        """The true value of the next unit (deviations come from a block drawn ahead)."""
        block = self._block
        if not block:
            block.extend(self._deviations(BLOCK)[::-1].tolist())
        return self.level(now) + self.spread.value * block.pop()


class Gauge:
    """A measurement system: bias, reproducibility (per call) and repeatability (per
    reading), as standard deviations; shocks add bias and inflate both errors."""

    __slots__ = ("_rng", "bias", "bias_shift", "name", "noise", "repeatability",
                 "reproducibility")

    def __init__(self, name: str, rng: np.random.Generator, *, bias: float = 0.0,
                 repeatability: float = 0.0, reproducibility: float = 0.0) -> None:
        self.name = name
        self._rng = rng
        self.bias = bias
        self.repeatability = repeatability
        self.reproducibility = reproducibility
        self.bias_shift = Lever(f"{name}.bias_shift", 0.0, Combine.SUM)
        self.noise = Lever(f"{name}.noise", 1.0)

    def read(self, true: FloatArray) -> FloatArray:
        """Readings of ``true`` values taken together (one appraiser, one set-up)."""
        f = self.noise.value
        out = true + (self.bias + self.bias_shift.value)
        if self.reproducibility > 0.0:
            out = out + self._rng.normal(0.0, self.reproducibility * f)
        if self.repeatability > 0.0:
            out = out + self._rng.normal(0.0, self.repeatability * f, true.shape)
        return out  # type: ignore[no-any-return]


def bissell_interval(index: float, n: int) -> tuple[float, float]:
    """Bissell's (1990) approximate 95 % interval of a Cpk or Ppk estimated from n values:
    Ĉ ∓ 1.96·√(1/(9n) + Ĉ²/(2(n − 1))); unbounded where it is undefined."""
    if not math.isfinite(index) or n < 2:
        return (-math.inf, math.inf)
    half = 1.959963984540054 * math.sqrt(1.0 / (9 * n) + index * index / (2 * (n - 1)))
    return (index - half, index + half)


def out_of_spec(values: FloatArray, lsl: float | None, usl: float | None) -> NDArray[np.bool_]:
    """Which values fall outside the limits (a value on a limit conforms)."""
    bad = np.zeros(values.shape, dtype=bool)
    if lsl is not None:
        bad |= values < lsl
    if usl is not None:
        bad |= values > usl
    return bad


class MeasuredLot(list[bool]):
    """A lot's defect flags with its units' true values: ``values[i, j]`` is unit ``i``'s
    characteristic ``names[j]``; ``source`` says where the lot came from; ``read`` marks
    the units already read at inspection (a rejected lot's sample, not read again when the
    rest is screened), None when none is.

    Units leave stock from the end of the list, so the first ``len(lot)`` rows of
    ``values`` are always the units still in the lot (:meth:`aligned`)."""

    __slots__ = ("names", "read", "source", "values")

    def __init__(self, flags: Sequence[bool], values: FloatArray, names: tuple[str, ...],
                 source: str, read: NDArray[np.bool_] | None = None) -> None:
        super().__init__(flags)
        self.values = values
        self.names = names
        self.source = source
        self.read = read

    def aligned(self) -> None:
        """Drop the rows of units already taken from the lot."""
        size = len(self)
        if self.values.shape[0] != size:
            self.values = self.values[:size]
            if self.read is not None:
                self.read = self.read[:size]

    def keep(self, mask: NDArray[np.bool_], read: NDArray[np.bool_] | None = None
             ) -> MeasuredLot:
        """The lot without the units where ``mask`` is False (``read``: which of the lot's
        units were read, carried over for those kept)."""
        flags = [f for f, k in zip(self, mask.tolist(), strict=True) if k]
        return MeasuredLot(flags, self.values[mask], self.names, self.source,
                           None if read is None else read[mask])

    def __reduce__(self) -> Any:  # copies and snapshots keep the values
        return (MeasuredLot, (list(self), self.values, self.names, self.source, self.read))


class StationMeasurement:
    """The measured characteristics of a process station's output: each unit it finishes
    gets a true value of each, is defective when one is out of its limits, and adds to the
    running moments (Welford) its capability is reported from."""

    __slots__ = ("_m2", "_mean", "limits", "names", "out", "station", "streams", "units")

    def __init__(self, station: str) -> None:
        self.station = station
        self.names: list[str] = []
        self.streams: list[ValueStream] = []
        self.limits: list[tuple[float, float]] = []  # ±inf where one-sided
        self.units = 0
        self.out: list[int] = []  # units out of each characteristic's limits
        self._mean: list[float] = []
        self._m2: list[float] = []

    def add(self, name: str, values: ValueStream, lsl: float | None,
            usl: float | None) -> None:
        self.names.append(name)
        self.streams.append(values)
        self.limits.append((-math.inf if lsl is None else lsl,
                            math.inf if usl is None else usl))
        self.out.append(0)
        self._mean.append(0.0)
        self._m2.append(0.0)

    def out_of_spec(self, now: float) -> bool:
        """Measure the next unit; True when it is out of a limit."""
        self.units += 1
        n = self.units
        bad = False
        means, m2 = self._mean, self._m2
        for j, values in enumerate(self.streams):
            x = values.one(now)
            low, high = self.limits[j]
            if x < low or x > high:
                self.out[j] += 1
                bad = True
            delta = x - means[j]
            means[j] += delta / n
            m2[j] += delta * (x - means[j])
        return bad

    def moments(self) -> list[tuple[str, int, float, float]]:
        """(name, units, mean, sd) of each characteristic's true values so far."""
        n = self.units
        return [(name, n, self._mean[j], math.sqrt(self._m2[j] / (n - 1)) if n > 1 else 0.0)
                for j, name in enumerate(self.names)]


def fit_values(values: FloatArray) -> tuple[str, float, float]:
    """The distribution (normal, lognormal or Weibull, by maximum likelihood; the lowest
    AIC wins, positive data only for the latter two) that fits recorded values best, as
    (kind, mean, sd) of the fitted distribution."""
    from scipy import stats

    x = np.asarray(values, dtype=float)
    if np.unique(x).size < 2:
        raise ValueError(f"{x.size} recorded value(s) with fewer than two distinct: "
                         "nothing to fit")
    mu, sd = float(x.mean()), float(x.std(ddof=1))
    best = ("normal", mu, sd)
    best_aic = -2.0 * float(stats.norm.logpdf(x, mu, x.std()).sum()) + 4.0
    if x.min() > 0:
        shape, _, scale = stats.lognorm.fit(x, floc=0)
        aic = -2.0 * float(stats.lognorm.logpdf(x, shape, 0, scale).sum()) + 4.0
        if aic < best_aic:
            m, v = stats.lognorm.stats(shape, 0, scale, moments="mv")
            best, best_aic = ("lognormal", float(m), math.sqrt(float(v))), aic
        c, _, scale = stats.weibull_min.fit(x, floc=0)
        aic = -2.0 * float(stats.weibull_min.logpdf(x, c, 0, scale).sum()) + 4.0
        if aic < best_aic:
            m, v = stats.weibull_min.stats(c, 0, scale, moments="mv")
            best = ("weibull", float(m), math.sqrt(float(v)))
    return best
