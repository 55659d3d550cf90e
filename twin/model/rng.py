"""Random-number streams: one independent stream per (seed, replication, component id).

Streams come from numpy's SeedSequence, so a component's draws do not depend on what other
components drew; that is what makes common random numbers work across scenario variants
and results identical across executors. Draws are made in blocks for speed.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterator
from functools import partial
from itertools import chain
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from shocktwin.scenarios.model import TimeDist

__all__ = ["BLOCK", "Sampler", "UniformStream", "exponential_sampler", "make_sampler", "stream"]

#: Variates drawn per refill; fixed, because the block size shapes the sequence.
BLOCK = 1024


def _component_key(component_id: str) -> int:
    return int.from_bytes(hashlib.blake2b(component_id.encode(), digest_size=8).digest(), "little")


def stream(seed: int, replication: int, component_id: str) -> np.random.Generator:
    """The generator for one component of one replication."""
    ss = np.random.SeedSequence(entropy=seed, spawn_key=(replication, _component_key(component_id)))
    return np.random.Generator(np.random.PCG64(ss))


class Sampler(partial):  # type: ignore[type-arg]
    """Draws one variate per call from blocks of them, ``fill()`` giving the next block
    in pop order (its last element is drawn first); a block is filled when the one
    before is used up. A call is ``next()`` on the chained blocks, all in C: samplers
    are called once or more per unit, and a Python frame per draw cost 6 % of a run."""

    __slots__ = ()

    def __new__(cls, fill: Callable[[], list[float]]) -> Sampler:
        def blocks() -> Iterator[list[float]]:
            while True:
                yield fill()[::-1]

        return super().__new__(cls, next, chain.from_iterable(blocks()))


class UniformStream(Sampler):
    """U(0, 1) variates, for Bernoulli decisions (defects, detection, sampling)."""

    __slots__ = ()

    def __new__(cls, rng: np.random.Generator) -> UniformStream:
        return super().__new__(cls, lambda: rng.random(BLOCK)[::-1].tolist())  # type: ignore[return-value]


def exponential_sampler(rng: np.random.Generator, mean_h: float) -> Sampler:
    """Exponential durations with mean ``mean_h`` (Poisson arrivals, failures, repairs)."""
    return Sampler(lambda: rng.exponential(mean_h, BLOCK)[::-1].tolist())


def make_sampler(dist: TimeDist, rng: np.random.Generator) -> Callable[[], float]:
    """A zero-argument callable drawing durations (hours) from ``dist``."""
    n = BLOCK
    if dist.dist == "constant":
        value = dist.value
        return lambda: value
    if dist.dist == "exponential":
        return exponential_sampler(rng, dist.mean)
    if dist.dist == "lognormal":
        mu, sigma = math.log(dist.median), dist.sigma
        return Sampler(lambda: rng.lognormal(mu, sigma, n)[::-1].tolist())
    if dist.dist == "gamma":
        shape = 1.0 / dist.cv**2
        scale = dist.mean / shape
        return Sampler(lambda: rng.gamma(shape, scale, n)[::-1].tolist())
    if dist.dist == "normal":
        mean, sd = dist.mean, dist.sd

        def normal_block() -> list[float]:
            out = np.empty(0)
            while out.size < n:  # truncation at zero: redraw the negative ones
                x = rng.normal(mean, sd, n)
                out = np.concatenate([out, x[x >= 0.0]])
            return out[:n][::-1].tolist()

        return Sampler(normal_block)
    if dist.dist == "uniform":
        low, high = dist.low, dist.high
        return Sampler(lambda: rng.uniform(low, high, n)[::-1].tolist())
    if dist.dist == "triangular":
        low, mode, high = dist.low, dist.mode, dist.high
        return Sampler(lambda: rng.triangular(low, mode, high, n)[::-1].tolist())
    if dist.dist == "weibull":
        scale, shape = dist.scale, dist.shape
        return Sampler(lambda: (scale * rng.weibull(shape, n))[::-1].tolist())
    raise TypeError(f"no sampler for {dist!r}")
