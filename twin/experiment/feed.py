"""Recorded data handed to the model: supplier lead times, AI-gate decisions and a shop's
jobs in its three replay modes.

The store is read through ``edge_replay.replay`` only; rows arrive as Arrow record batches
and become one ``JobSpec`` per job. ``trace`` streams them; ``bootstrap`` and ``fit`` keep
the recorded jobs as a pool (one compact spec per job) to draw from. :class:`RecordedFeeds`
is what the experiment hands the model (``twin.model.feed.Feeds``); what it reads is cached
per process while the store file is unchanged.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from shocktwin.errors import Problem, RuleError
from shocktwin.scenarios.model import AIGate as AIGateSpec
from shocktwin.scenarios.model import RecordedDist, Scenario
from shocktwin.twin.experiment.fitting import ZeroInflated, fit_durations
from shocktwin.twin.model.feed import (
    GateDecisions,
    JobSpec,
    LogState,
    PartTypeSummary,
    PlantState,
)
from shocktwin.twin.model.lever import Lever
from shocktwin.twin.model.rng import BLOCK, Sampler

if TYPE_CHECKING:
    from shocktwin.edge_replay.replay import FeatureRows

__all__ = ["MIN_FIT_OBSERVATIONS", "JobSpec", "PartTypeSummary", "RecordedFeeds", "ShopData",
           "ShopFits", "gate_decisions", "load_shop_data", "log_store", "recorded_sampler"]

#: A resource with fewer observations than this uses the fit pooled over all resources.
MIN_FIT_OBSERVATIONS = 10


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
        orders = self.orders
        current: JobSpec | None = None
        names = ("case_id", "release_h", "resource", "work_h", "after", "wait_h",
                 "qty_completed", "qty_rejected", "qty_review")
        for batch in self.log.task_batches():
            cols = [batch.column(name).to_pylist() for name in names]
            for case, rel, res, work, after, wait, done, rejected, review in zip(
                    *cols, strict=True):
                if current is None or case != current.case_id:
                    if current is not None:
                        yield current
                    part, quantity = orders.get(case, (None, None))
                    current = JobSpec(case, rel, [], [], [], [], [], [], part, quantity)
                current.resource.append(index[res])
                current.work_h.append(work)
                current.after.append(after)
                current.wait_h.append(wait)
                current.rejected.append(rejected)
                current.handled.append(done + rejected + review)
        if current is not None:
            yield current

    def in_progress(self, at_h: float) -> list[JobSpec]:
        """The jobs released before ``at_h`` (hours from the log's first start) and not
        finished by then, each as the rest of its work (``LogState``), in release order."""
        index = self._index
        orders = self.orders
        names = ("case_id", "release_h", "resource", "work_h", "after", "wait_h",
                 "qty_completed", "qty_rejected", "qty_review", "start_h", "end_h")
        out: list[JobSpec] = []
        case: str | None = None
        release_h = 0.0
        tasks: list[tuple[Any, ...]] = []
        for batch in self.log.task_batches():
            cols = [batch.column(name).to_pylist() for name in names]
            for row in zip(*cols, strict=True):
                if row[0] != case:
                    if case is not None:
                        out += _rest_of(case, release_h, tasks, orders, at_h)
                    case, release_h, tasks = row[0], row[1], []
                    if release_h >= at_h:
                        return out  # the tasks come in release order
                tasks.append((index[row[2]], *row[3:]))
        if case is not None:
            out += _rest_of(case, release_h, tasks, orders, at_h)
        return out

    @functools.cached_property
    def orders(self) -> dict[str, tuple[str | None, int | None]]:
        """(part type, ordered quantity) of each case, where the log records its work
        order."""
        return self.log.case_orders()

    @functools.cached_property
    def part_types(self) -> dict[str | None, PartTypeSummary]:
        """What the log holds of each part type (None: work orders of no recorded type)."""
        out: dict[str | None, PartTypeSummary] = {}
        for job in self.pool:
            s = out.get(job.part)
            if s is None:
                s = out[job.part] = PartTypeSummary(job.part)
            s.jobs += 1
            s.units += job.quantity or 1
            s.operations += len(job.resource)
            s.resources.update(job.resource)
        return out

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
                    chosen.append(replace(job, release_h=day * 24.0 + job.release_h
                                          - recorded * 24.0))
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
            yield replace(template, case_id=f"{template.case_id}#{n}", release_h=t,
                          work_h=[work[r]() for r in template.resource], wait_h=waits)


def _rest_of(case: str, release_h: float, tasks: list[tuple[Any, ...]],
             orders: dict[str, tuple[str | None, int | None]], at_h: float) -> list[JobSpec]:
    """What is left at ``at_h`` of the job ``case`` released at ``release_h``: nothing if it
    was finished, else one spec of its remaining tasks (see ``LogState``).

    ``tasks`` are (resource, work, after, wait, completed, rejected, review, start, end) in
    the job's order (by start). A running task has started before ``at_h`` and ends after
    it; the others not yet begun start at or after it, so the remaining tasks keep their
    order. A task that waits ``with`` the previous one waits its recorded offset from the
    previous remaining task's dispatch, which is ``at_h`` for a running one.
    """
    if max(t[8] for t in tasks) <= at_h:
        return []
    part, quantity = orders.get(case, (None, None))
    rejected_before = sum(t[5] for t in tasks if t[8] <= at_h)
    left = max((quantity or 1) - rejected_before, 0)
    spec = JobSpec(case, release_h - at_h, [], [], [], [], [], [], part, left)
    front = -math.inf  # the latest end among the tasks before the one at hand
    previous_start = at_h  # when the previous remaining task is dispatched, hours
    for resource, work, after, wait, done, rejected, review, start, end in tasks:
        if end > at_h:
            first = not spec.resource
            if start < at_h:  # running: the work it has left, at once
                work, after, wait = end - at_h, first, 0.0
            elif first:  # the job waits between tasks: what is left of the wait
                wait = max(wait - (at_h - front), 0.0) if after else start - at_h
                after = True
            elif not after:
                wait = start - max(previous_start, at_h)
            spec.resource.append(resource)
            spec.work_h.append(work)
            spec.after.append(after)
            spec.wait_h.append(wait)
            spec.rejected.append(rejected)
            spec.handled.append(done + rejected + review)
            previous_start = start
        front = max(front, end)
    return [spec]


@functools.lru_cache(maxsize=4)
def _cached(store: Path, source: str | None, mtime_ns: int, size: int) -> ShopData:
    return ShopData(store, source)


def log_store(scenario: Scenario) -> tuple[Path, str | None, str]:
    """The store of the log a scenario replays (its shop's, or its plant's ``log``),
    resolved against the scenario's folder; the source named; and the key naming them."""
    if scenario.shop is not None:
        return scenario.resolve(scenario.shop.store), scenario.shop.source, "shop"
    if scenario.plant is not None and scenario.plant.log is not None:
        log = scenario.plant.log
        return scenario.resolve(log.store), log.source, "plant.log"
    raise ValueError("the scenario replays no log")


def load_shop_data(scenario: Scenario) -> ShopData:
    """The recorded jobs a shop scenario, or a plant that replays a log, replays; cached per
    process while the store is unchanged."""
    from shocktwin.errors import Problem, ReplayError

    path, source, key = log_store(scenario)
    store = path.resolve()
    try:
        st = store.stat()
    except OSError as e:
        raise ReplayError([Problem(str(store), f"{key}.store", "store file does not exist")],
                          file=str(store)) from e
    return _cached(store, source, st.st_mtime_ns, st.st_size)


def _stored(scenario: Scenario, name: str, key: str) -> tuple[Path, os.stat_result]:
    """A store a scenario names, resolved, with its stat (the caches key on its mtime and
    size); refused when the file is not there."""
    from shocktwin.errors import Problem, ReplayError

    store = scenario.resolve(name).resolve()
    try:
        return store, store.stat()
    except OSError as e:
        raise ReplayError([Problem(str(store), key, "store file does not exist")],
                          file=str(store)) from e


@functools.lru_cache(maxsize=16)
def _lead_times_h(store: Path, supplier: str, mtime_ns: int, size: int) -> np.ndarray:
    from shocktwin.edge_replay.replay import supplier_lead_times_days

    return supplier_lead_times_days(store, supplier) * 24.0


def recorded_sampler(scenario: Scenario, dist: RecordedDist,
                     rng: np.random.Generator) -> Callable[[], float]:
    """Draws (hours) from a supplier's recorded lead times: resampled, or fitted."""
    store, st = _stored(scenario, dist.store, "lead_time.store")
    hours = _lead_times_h(store, dist.supplier, st.st_mtime_ns, st.st_size)
    if dist.mode == "fit":
        return fit_durations(hours).sampler(rng)
    return Sampler(lambda: rng.choice(hours, BLOCK).tolist())


@functools.lru_cache(maxsize=32)
def _measurements(store: Path, characteristic: str, supplier: str | None, station: str | None,
                  mtime_ns: int, size: int) -> np.ndarray:
    from shocktwin.edge_replay.measurements import read_measurements

    values = read_measurements(store, characteristic, supplier=supplier,
                               station=station).values
    values.setflags(write=False)
    return values


def recorded_measurements(scenario: Scenario, dist: Any, name: str) -> np.ndarray:
    """A characteristic's values recorded in a store, in recorded order."""
    store, st = _stored(scenario, dist.store, "characteristics.store")
    return _measurements(store, dist.characteristic or name, dist.supplier, dist.station,
                         st.st_mtime_ns, st.st_size)


# --------------------------------------------------------------------------- AI gates


@functools.lru_cache(maxsize=8)
def _decisions(model_path: str | None, store: Path, source: str | None, threshold: float | None,
               held_out: bool, mtime_ns: int) -> GateDecisions:
    from shocktwin.edge_replay.replay import read_features
    from shocktwin.rules_engine.ai_inspection import load_inspection_model

    model = load_inspection_model(model_path)
    rows = read_features(store, source)
    if held_out:
        keep = np.isin(rows.rows, _held_out_rows(model_path, rows, str(store)))
        rows = replace(rows, matrix=rows.matrix[keep], labels=rows.labels[keep],
                       rows=rows.rows[keep])
    meta = model.metadata
    missing = [n for n in meta.feature_names if n not in rows.names]
    if missing:
        raise RuleError([Problem(str(store), "features", f"the model needs features the store "
                                 f"does not hold: {', '.join(missing)}")], file=str(store))
    order = [rows.names.index(n) for n in meta.feature_names]
    decided = model.decide(rows.matrix[:, order], threshold)
    reject = np.isin(rows.labels, meta.reject_classes)
    accept = np.isin(rows.labels, meta.accept_classes)
    if not reject.any() or not accept.any():
        raise RuleError([Problem(str(store), "features", "the recorded labels need rows of "
                                 "both a reject and an accept class of the model")],
                        file=str(store))
    return GateDecisions(model.source, meta.onnx_sha256,
                         model.threshold if threshold is None else threshold,
                         decided[reject], decided[accept])


def gate_decisions(scenario: Scenario, spec: AIGateSpec) -> GateDecisions:
    """The decisions of the gate ``spec`` of ``scenario`` (cached while the store is
    unchanged)."""
    store = scenario.resolve(spec.store).resolve()
    try:
        mtime = store.stat().st_mtime_ns
    except OSError as e:
        raise RuleError([Problem(str(store), "ai.store", "store file does not exist")],
                        file=str(store)) from e
    model = None if spec.model == "steel_plates" else str(scenario.resolve(spec.model))
    return _decisions(model, store, spec.source, spec.threshold, spec.rows == "held_out", mtime)


def _held_out_rows(model_path: str | None, rows: FeatureRows, store: str) -> np.ndarray:
    """The rows the model was tested on, rebuilt from the split its metadata documents
    (per class in column order, a permutation by one seeded generator, the first
    round-half-up(test % of n) to test) and checked against the documented hash."""
    if model_path is None:
        raw = resources.files("shocktwin.rules_engine").joinpath(
            "models/steel_plates.json").read_bytes()
    else:
        raw = Path(model_path).with_suffix(".json").read_bytes()
    training = json.loads(raw).get("training") or {}
    seed, percent = training.get("seed"), training.get("test_percent")
    digest = training.get("test_rows_sha256")
    if seed is None or percent is None or digest is None or not rows.label_names:
        raise RuleError([Problem(store, "ai.rows", "the model documents no held-out split; "
                                 "use rows: all")], file=store)
    n = int(rows.rows.max()) + 1 if rows.rows.size else 0
    fault_class = np.full(n, -1, dtype=np.int64)
    index = {name: k for k, name in enumerate(rows.label_names)}
    fault_class[rows.rows] = [index.get(str(label), -1) for label in rows.labels]
    rng = np.random.default_rng(int(seed))
    test: list[np.ndarray] = []
    for k in range(len(rows.label_names)):
        members = np.flatnonzero(fault_class == k)
        n_test = (len(members) * int(percent) + 50) // 100
        test.append(rng.permutation(members)[:n_test])
    held = np.sort(np.concatenate(test)) if test else np.zeros(0, dtype=np.int64)
    if hashlib.sha256(",".join(str(int(r)) for r in held).encode()).hexdigest() != digest:
        raise RuleError([Problem(store, "ai.rows", "these recorded rows are not the ones the "
                                 "model was trained and tested on (the held-out split does "
                                 "not match its documented hash); use rows: all")],
                        file=store)
    return held


# --------------------------------------------------------------------------- the feeds


class RecordedFeeds:
    """The recorded data of one scenario, as the model asks for it (``twin.model.feed``)."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario

    def lead_time_sampler(self, dist: Any, rng: np.random.Generator) -> Callable[[], float]:
        return recorded_sampler(self.scenario, dist, rng)

    def gate_decisions(self, spec: Any) -> GateDecisions:
        return gate_decisions(self.scenario, spec)

    def shop(self) -> ShopData:
        return load_shop_data(self.scenario)

    def downtime(self, spec: Any, rng: np.random.Generator) -> Iterator[tuple[float, float]]:
        from shocktwin.twin.experiment.downtime import station_outages

        return station_outages(self.scenario, spec, rng)

    def start_state(self, spec: Any) -> PlantState:
        from shocktwin.twin.experiment.snapshot import stored_start_state

        return stored_start_state(self.scenario)

    def log_state(self, spec: Any) -> LogState:
        from shocktwin.twin.experiment.snapshot import log_state

        return log_state(self.scenario)

    def measurements(self, spec: Any, name: str) -> np.ndarray:
        return recorded_measurements(self.scenario, spec, name)
