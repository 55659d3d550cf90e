"""The demo plant written directly in SimPy, as a SimPy user would: one process per part,
resources for inspectors and reviewers, a process per assembly server interrupted by its
breakdown process (SimPy's machine-shop pattern). The anchor the twin is measured against.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

import simpy


class CountingEnvironment(simpy.Environment):
    """Counts scheduled events, as the twin's kernel does."""

    def __init__(self) -> None:
        super().__init__()
        self.scheduled = 0

    def schedule(self, event, priority=1, delay=0):  # type: ignore[no-untyped-def]
        self.scheduled += 1
        super().schedule(event, priority, delay)


@dataclass
class RawResult:
    events: int
    released: int
    scrapped: int
    lead_mean_h: float


def run_raw_demo(horizon_h: float, seed: int) -> RawResult:
    """Valve plant of scenarios/reference/demo_plant.yaml in plain SimPy."""
    env = CountingEnvironment()
    rnd = random.Random(seed)
    stock = simpy.Container(env, init=5000)
    iqc = simpy.Resource(env, capacity=2)
    review = simpy.Resource(env, capacity=2)
    assembly_queue: simpy.Store = simpy.Store(env)
    state: dict[str, float] = {"on_order": 0, "released": 0, "scrapped": 0, "lead_sum": 0.0}
    reorder_point, lot, mu_lead = 2800, 4000, math.log(72.0)

    def deliver():  # type: ignore[no-untyped-def]
        yield env.timeout(rnd.lognormvariate(mu_lead, 0.3))
        state["on_order"] -= lot
        yield stock.put(lot)

    def review_stock() -> None:
        position = stock.level + state["on_order"] - len(stock.get_queue)
        while position <= reorder_point:
            state["on_order"] += lot
            position += lot
            env.process(deliver())

    def part():  # type: ignore[no-untyped-def]
        get = stock.get(1)
        review_stock()
        yield get
        defective = rnd.random() < 0.002
        start = env.now
        with iqc.request() as req:
            yield req
            yield env.timeout(2 / 60)
        if defective and rnd.random() < 0.98:
            state["scrapped"] += 1
            env.process(part())
            return
        done = env.event()
        yield assembly_queue.put(done)
        yield done
        if rnd.random() < 0.00005:
            defective = True
        with review.request() as req:
            yield req
            yield env.timeout(rnd.expovariate(60.0))
        state["released"] += 1
        state["lead_sum"] += env.now - start

    def demand():  # type: ignore[no-untyped-def]
        while True:
            yield env.timeout(rnd.expovariate(25.0))
            env.process(part())

    def machine():  # type: ignore[no-untyped-def]
        shape, scale = 1 / 0.09, 0.1 * 0.09
        while True:
            get = assembly_queue.get()
            try:
                done = yield get
            except simpy.Interrupt as broken:
                if not get.triggered:
                    get.cancel()
                    yield env.timeout(broken.cause)
                    continue
                done = get.value
                yield env.timeout(broken.cause)
            remaining = rnd.gammavariate(shape, scale)
            while remaining > 0:
                began = env.now
                try:
                    yield env.timeout(remaining)
                    remaining = 0
                except simpy.Interrupt as broken:
                    remaining -= env.now - began
                    yield env.timeout(broken.cause)
            done.succeed()

    def breakdowns(proc):  # type: ignore[no-untyped-def]
        while True:
            yield env.timeout(rnd.expovariate(1 / 40))
            repair = rnd.expovariate(1 / 1.5)
            if proc.is_alive:
                proc.interrupt(repair)
            yield env.timeout(repair)

    env.process(demand())
    for _ in range(3):
        env.process(breakdowns(env.process(machine())))
    env.run(until=horizon_h)
    released = int(state["released"])
    return RawResult(env.scheduled, released, int(state["scrapped"]),
                     state["lead_sum"] / released if released else float("nan"))
