"""The recorded jobs a shop replays, and the three ways of feeding them to the twin.

The store is read through ``edge_replay.replay`` only; rows arrive as Arrow record batches
and become one ``JobSpec`` per job. ``trace`` streams them; ``bootstrap`` and ``fit`` keep
the recorded jobs as a pool (one compact spec per job) to draw from.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from shocktwin.scenarios.model import RecordedDist, Scenario
from shocktwin.twin.experiment.fitting import ZeroInflated, fit_durations
from shocktwin.twin.model.lever import Lever
from shocktwin.twin.model.rng import BLOCK, Sampler

__all__ = ["MIN_FIT_OBSERVATIONS", "JobSpec", "ShopData", "ShopFits", "load_shop_data",
           "recorded_sampler"]

#: A resource with fewer observations than this uses the fit pooled over all resources.
MIN_FIT_OBSERVATIONS = 10


@dataclass(frozen=True)
class JobSpec:
    """One job to release: its tasks as parallel lists (resource index into the shop's
    resource names, work, enabled after the earlier tasks or with the previous, wait)."""

    case_id: str
    release_h: float
    resource: list[int]
    work_h: list[float]
    after: list[bool]
    wait_h: list[float]


@dataclass(frozen=True)
class ShopFits:
    """Fitted distributions per resource (index) and pooled, for the fit mode."""

    interarrival_mean_h: float
    work: dict[int, ZeroInflated]
    wait_after: dict[int, ZeroInflated]
    wait_with: ZeroInflated
    pooled_work: ZeroInflated
    pooled_wait_after: ZeroInflated


class ShopData:
    """The recorded jobs of one source of a store."""

    def __init__(self, store: Path, source: str | None) -> None:
        from shocktwin.edge_replay.replay import open_shop_log

        self.log = open_shop_log(store, source)
        self.resource_names = [r.name for r in self.log.resources]
        self._index = {name: i for i, name in enumerate(self.resource_names)}

    # -- feeds --------------------------------------------------------------------------

    def trace(self) -> Iterator[JobSpec]:
        """The recorded jobs in release order, streamed from the store."""
        index = self._index
        current: JobSpec | None = None
        for batch in self.log.task_batches():
            cols = {name: batch.column(name).to_pylist()
                    for name in ("case_id", "release_h", "resource", "work_h", "after",
                                 "wait_h")}
            for case, rel, res, work, after, wait in zip(
                    cols["case_id"], cols["release_h"], cols["resource"], cols["work_h"],
                    cols["after"], cols["wait_h"], strict=True):
                if current is None or case != current.case_id:
                    if current is not None:
                        yield current
                    current = JobSpec(case, rel, [], [], [], [])
                current.resource.append(index[res])
                current.work_h.append(work)
                current.after.append(after)
                current.wait_h.append(wait)
        if current is not None:
            yield current

    @functools.cached_property
    def pool(self) -> list[JobSpec]:
        """Every recorded job, in release order."""
        return list(self.trace())

    def bootstrap(self, rng: np.random.Generator, horizon_h: float,
                  demand_factor: Lever) -> Iterator[JobSpec]:
        """Each simulated day replays the releases of a recorded day drawn at random.

        A demand factor f at the start of a day draws ⌊f⌋ recorded days, plus one more with
        probability f − ⌊f⌋, so the expected release rate scales by f.
        """
        by_day: dict[int, list[JobSpec]] = {}
        for job in self.pool:
            by_day.setdefault(int(job.release_h // 24.0), []).append(job)
        n_days = max(1, math.ceil(self.log.span_h / 24.0))
        for day in range(math.ceil(horizon_h / 24.0)):
            factor = demand_factor.value
            k = int(factor) + int(rng.random() < factor - int(factor))
            chosen: list[JobSpec] = []
            for _ in range(k):
                recorded = int(rng.integers(n_days))
                for job in by_day.get(recorded, ()):
                    chosen.append(JobSpec(job.case_id, day * 24.0 + job.release_h
                                          - recorded * 24.0, job.resource, job.work_h,
                                          job.after, job.wait_h))
            chosen.sort(key=lambda j: j.release_h)
            yield from chosen

    @functools.cached_property
    def fits(self) -> ShopFits:
        """Work and waits fitted per resource (pooled where thin), and the release rate."""
        work: dict[int, list[float]] = {}
        wait_after: dict[int, list[float]] = {}
        wait_with: list[float] = []
        releases = []
        for job in self.pool:
            releases.append(job.release_h)
            for i, (r, w, a, d) in enumerate(zip(job.resource, job.work_h, job.after,
                                                 job.wait_h, strict=True)):
                work.setdefault(r, []).append(w)
                if i == 0:
                    continue  # the first task starts the job: no wait by definition
                if a:
                    wait_after.setdefault(r, []).append(d)
                else:
                    wait_with.append(d)
        pooled_work = fit_durations([w for ws in work.values() for w in ws])
        pooled_after = fit_durations([d for ds in wait_after.values() for d in ds] or [0.0])

        def per_resource(data: dict[int, list[float]],
                         pooled: ZeroInflated) -> dict[int, ZeroInflated]:
            return {r: fit_durations(v) if len(v) >= MIN_FIT_OBSERVATIONS else pooled
                    for r, v in data.items()}

        gaps = np.diff(np.sort(releases))
        return ShopFits(
            interarrival_mean_h=float(gaps.mean()) if gaps.size else self.log.span_h,
            work=per_resource(work, pooled_work),
            wait_after=per_resource(wait_after, pooled_after),
            wait_with=fit_durations(wait_with or [0.0]),
            pooled_work=pooled_work, pooled_wait_after=pooled_after)

    def fitted(self, rng: np.random.Generator, demand_factor: Lever) -> Iterator[JobSpec]:
        """Poisson releases at the recorded rate; recorded routings, fitted work and waits."""
        fits = self.fits
        pool = self.pool
        work = {r: f.sampler(rng) for r, f in fits.work.items()}
        after = {r: f.sampler(rng) for r, f in fits.wait_after.items()}
        pooled_after = fits.pooled_wait_after.sampler(rng)
        with_ = fits.wait_with.sampler(rng)
        t = 0.0
        n = 0
        while True:
            t += float(rng.exponential(fits.interarrival_mean_h)) / demand_factor.value
            template = pool[int(rng.integers(len(pool)))]
            n += 1
            waits = [0.0 if i == 0 else (after.get(r, pooled_after)() if a else with_())
                     for i, (r, a) in enumerate(zip(template.resource, template.after,
                                                    strict=True))]
            yield JobSpec(f"{template.case_id}#{n}", t, template.resource,
                          [work[r]() for r in template.resource], template.after, waits)


@functools.lru_cache(maxsize=4)
def _cached(store: Path, source: str | None, mtime_ns: int, size: int) -> ShopData:
    return ShopData(store, source)


def load_shop_data(scenario: Scenario) -> ShopData:
    """The recorded jobs a shop scenario replays, cached per process while the store is
    unchanged."""
    from shocktwin.errors import Problem, ReplayError

    if scenario.shop is None:
        raise ValueError("the scenario has no shop")
    store = scenario.store_path().resolve()
    try:
        st = store.stat()
    except OSError as e:
        raise ReplayError([Problem(str(store), "shop.store", "store file does not exist")],
                          file=str(store)) from e
    return _cached(store, scenario.shop.source, st.st_mtime_ns, st.st_size)


@functools.lru_cache(maxsize=16)
def _lead_times_h(store: Path, supplier: str, mtime_ns: int, size: int) -> np.ndarray:
    from shocktwin.edge_replay.replay import supplier_lead_times_days

    return supplier_lead_times_days(store, supplier) * 24.0


def recorded_sampler(scenario: Scenario, dist: RecordedDist,
                     rng: np.random.Generator) -> Callable[[], float]:
    """Draws (hours) from a supplier's recorded lead times: resampled, or fitted."""
    from shocktwin.errors import Problem, ReplayError

    store = scenario.resolve(dist.store).resolve()
    try:
        st = store.stat()
    except OSError as e:
        raise ReplayError([Problem(str(store), "lead_time.store", "store file does not "
                                   "exist")], file=str(store)) from e
    hours = _lead_times_h(store, dist.supplier, st.st_mtime_ns, st.st_size)
    if dist.mode == "fit":
        return fit_durations(hours).sampler(rng)
    return Sampler(lambda: rng.choice(hours, BLOCK).tolist())
