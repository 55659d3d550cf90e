"""Student-t confidence intervals for a mean over replications: the one helper every layer
uses, for one value per replication or for every column of a replications × buckets matrix.

Values that are not finite (a KPI a replication could not measure) are left out. With fewer
than two values the bounds are NaN: one replication gives a number, not an interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["MeanInterval", "t_band", "t_interval"]


@dataclass(frozen=True)
class MeanInterval:
    """A mean with its two-sided Student-t interval at ``level``."""

    mean: float
    sd: float
    low: float
    high: float
    n: int
    level: float = 0.95

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2.0


def _t_quantile(level: float, dof: np.ndarray | int) -> np.ndarray | float:
    from scipy import stats  # heavy: imported where it is used

    return stats.t.ppf(0.5 + level / 2.0, dof)  # type: ignore[no-any-return]


def t_interval(values: object, level: float = 0.95) -> MeanInterval:
    """The mean of ``values`` (NaNs left out) and its Student-t interval."""
    x = np.asarray(values, dtype=float).ravel()
    x = x[np.isfinite(x)]
    n = int(x.size)
    nan = math.nan
    if n == 0:
        return MeanInterval(nan, nan, nan, nan, 0, level)
    mean = float(x.mean())
    if n == 1:
        return MeanInterval(mean, nan, nan, nan, 1, level)
    sd = float(x.std(ddof=1))
    half = float(_t_quantile(level, n - 1)) * sd / math.sqrt(n)
    return MeanInterval(mean, sd, mean - half, mean + half, n, level)


def t_band(matrix: np.ndarray, level: float = 0.95
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean per column of ``matrix`` (rows are replications) and its Student-t interval;
    NaNs left out, NaN bounds where a column has fewer than two values."""
    finite = np.isfinite(matrix)
    n = finite.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n > 0, np.where(finite, matrix, 0.0).sum(axis=0) / np.maximum(n, 1),
                        np.nan)
        dev = np.where(finite, matrix - mean, 0.0)
        sd = np.sqrt((dev ** 2).sum(axis=0) / np.maximum(n - 1, 1))
        t = np.where(n > 1, _t_quantile(level, np.maximum(n - 1, 1)), np.nan)
        half = t * sd / np.sqrt(np.maximum(n, 1))
    return mean, mean - half, mean + half
