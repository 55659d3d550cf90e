"""Peers on equivalent small models: shocktwin beside raw SimPy, Ciw, salabim, SupplyNetPy,
stockpyl and a plain heap-queue event loop (the practical limit of pure-Python discrete-event
simulation), each model first checked to be the same model in every tool.

The models (their shocktwin scenarios are in bench/peer_models/):

- ``mm3``: an M/M/3 queue at utilisation 0.9 (arrivals 2.7/h, service mean 1 h), checked
  against Erlang C (Wq = 2.7235 h) inside each tool's 95 % interval over replications.
- ``tandem``: five single-server exponential stations in series (Poisson arrivals 1/h),
  checked against shocktwin within the 95 % interval of the difference (throughput, mean
  time in the line), and against the Jackson-network value 12.69 h.
- ``inventory``: one stock under continuous (r, Q) = (600, 1200) review, Poisson unit demand
  10/h with backorders, lead time 48 h, and a supplier outage from 200 h to 296 h during
  which lots falling due wait and arrive when it ends; checked against shocktwin (fill
  rate, mean wait for stock). stockpyl reviews once a period, so there it is the same
  system in periods of 1 h (demand Poisson(10) a period, receipt-pausing disruption).

Each check is a figure of its own (at 95 %); a model's checks are also taken together at
the Bonferroni level, since among many true tests at 95 % one in twenty fails by chance.

Ciw and salabim are queueing tools and run the first two models; SupplyNetPy and stockpyl
are inventory tools and run the third. Each figure is "customers (or units) per wall second"
of one tool on one model, the median of interleaved replications (A B C … A B C …), and
the ratios are peer ÷ shocktwin measured in the same run. ``python -m bench.peers`` runs
this suite alone. Peers that are not installed (the ``bench`` extra) are left out and said
so; prodsys is left out for the reason in :data:`PRODSYS_LEFT_OUT`.
"""

from __future__ import annotations

import heapq
import importlib.util
import math
import random
import statistics
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from shocktwin.interval import t_interval

MODELS_DIR = Path(__file__).parent / "peer_models"

#: M/M/3 at rho = 0.9, as scenarios/reference/mmc.yaml.
MM3_LAMBDA, MM3_MU, MM3_SERVERS = 2.7, 1.0, 3
#: Mean service time of each tandem station (h); arrivals 1/h.
TANDEM_LAMBDA = 1.0
TANDEM_MEANS_H = (0.6, 0.75, 0.7, 0.8, 0.65)
#: The inventory: demand rate (units/h), reorder point, order quantity, lead time (h),
#: units on hand at the start, the supplier's outage [start, end) (h).
INV_LAMBDA, INV_R, INV_Q, INV_LEAD_H, INV_INITIAL = 10.0, 600, 1200, 48.0, 1200
INV_OUTAGE_H = (200.0, 296.0)

PRODSYS_LEFT_OUT = ("prodsys 1.3.1 requires numpy<2 (the lock pins numpy 2.4.6, whose "
                    "random streams are part of shocktwin's results) and gurobipy, a "
                    "proprietary solver; its own venv would be ~45 unpinned, unhashed "
                    "downloads at bench time, so it is left out")

#: Which tools run which model, in the order they are interleaved.
QUEUE_TOOLS = ("shocktwin", "heapq", "simpy", "ciw", "salabim")
INVENTORY_TOOLS = ("shocktwin", "heapq", "simpy", "supplynetpy", "stockpyl")

#: The package each peer needs (None: always there, in the runtime lock).
_MODULE = {"shocktwin": None, "heapq": None, "simpy": None, "salabim": None,
           "ciw": "ciw", "supplynetpy": "SupplyNetPy", "stockpyl": "stockpyl"}


@dataclass(frozen=True)
class Setup:
    """One run's length: the horizon and the warm-up before measuring (h)."""

    horizon_h: float
    warmup_h: float = 0.0


@dataclass(frozen=True)
class Sample:
    """One replication of one model in one tool: customers (or units) completed over the
    whole run, the wall time it took, and the model's measures over [warm-up, horizon]."""

    units: int
    wall_s: float
    measures: dict[str, float]

    @property
    def rate(self) -> float:
        return self.units / self.wall_s if self.wall_s > 0 else float("nan")


# --- Published values -------------------------------------------------------------------

def erlang_c_wq(lam: float, mu: float, c: int) -> float:
    """Mean wait in queue of M/M/c by the Erlang C formula (h)."""
    a = lam / mu
    rho = a / c
    tail = a**c / math.factorial(c) / (1 - rho)
    p_wait = tail / (sum(a**k / math.factorial(k) for k in range(c)) + tail)
    return p_wait / (c * mu - lam)


def jackson_tandem_sojourn_h(lam: float = TANDEM_LAMBDA,
                             means_h: Sequence[float] = TANDEM_MEANS_H) -> float:
    """Mean time in a line of M/M/1 stations (Jackson): the sum of 1 / (mu - lambda)."""
    return sum(1.0 / (1.0 / m - lam) for m in means_h)


# --- Intervals --------------------------------------------------------------------------

def ci95(values: Sequence[float], level: float = 0.95) -> tuple[float, float]:
    """The t interval (95 % unless ``level``) of the mean of ``values`` (at least two)."""
    interval = t_interval(values, level)
    return interval.low, interval.high


def contains(values: Sequence[float], expected: float, level: float = 0.95) -> bool:
    """Whether ``expected`` lies in the interval of the mean of ``values``."""
    low, high = ci95(values, level)
    return low <= expected <= high


def agree(a: Sequence[float], b: Sequence[float], level: float = 0.95) -> bool:
    """Whether two tools' means agree: zero lies in the Welch interval (95 % unless
    ``level``) of their difference (replications are independent between tools)."""
    from scipy import stats

    if statistics.variance(a) == 0.0 and statistics.variance(b) == 0.0:
        return statistics.fmean(a) == statistics.fmean(b)
    interval = stats.ttest_ind(a, b, equal_var=False).confidence_interval(level)
    return bool(interval.low <= 0.0 <= interval.high)


# --- The heap-queue loop: the practical limit -------------------------------------------

def mm3_heapq(setup: Setup, seed: int) -> Sample:
    """M/M/3 as a plain event loop over a heap of (time, kind) events."""
    started = time.perf_counter()
    rnd = random.Random(seed)
    expo = rnd.expovariate
    lam, mu, free = MM3_LAMBDA, MM3_MU, MM3_SERVERS
    horizon, warmup = setup.horizon_h, setup.warmup_h
    events: list[tuple[float, int]] = [(expo(lam), 0)]  # kind 0: arrival, 1: departure
    push, pop = heapq.heappush, heapq.heappop
    queue: deque[float] = deque()
    served = waits_n = 0
    waits = 0.0
    while events:
        now, kind = pop(events)
        if now >= horizon:
            break
        if kind == 0:
            push(events, (now + expo(lam), 0))
            if free:
                free -= 1
                if now >= warmup:
                    waits_n += 1
                push(events, (now + expo(mu), 1))
            else:
                queue.append(now)
        else:
            served += 1
            if queue:
                arrived = queue.popleft()
                if now >= warmup:
                    waits += now - arrived
                    waits_n += 1
                push(events, (now + expo(mu), 1))
            else:
                free += 1
    return Sample(served, time.perf_counter() - started,
                  {"wq_h": waits / waits_n if waits_n else float("nan")})


def tandem_heapq(setup: Setup, seed: int) -> Sample:
    """The tandem line as a plain event loop; a unit leaving a station enters the next at
    once (no event of its own)."""
    started = time.perf_counter()
    rnd = random.Random(seed)
    expo = rnd.expovariate
    rates = [1.0 / m for m in TANDEM_MEANS_H]
    last = len(rates) - 1
    horizon, warmup = setup.horizon_h, setup.warmup_h
    # Events (time, station, born): station -1 is the next outside arrival; otherwise the
    # unit born at ``born`` finishes at that station.
    events: list[tuple[float, int, float]] = [(expo(TANDEM_LAMBDA), -1, 0.0)]
    push, pop = heapq.heappush, heapq.heappop
    queues: list[deque[float]] = [deque() for _ in rates]
    busy = [False] * len(rates)
    done = done_win = 0
    sojourn = 0.0
    while events:
        now, station, born = pop(events)
        if now >= horizon:
            break
        if station < 0:
            push(events, (now + expo(TANDEM_LAMBDA), -1, 0.0))
            nxt, born = 0, now
        else:
            q = queues[station]
            if q:
                push(events, (now + expo(rates[station]), station, q.popleft()))
            else:
                busy[station] = False
            if station == last:
                done += 1
                if now >= warmup:
                    done_win += 1
                    sojourn += now - born
                continue
            nxt = station + 1
        if busy[nxt]:
            queues[nxt].append(born)
        else:
            busy[nxt] = True
            push(events, (now + expo(rates[nxt]), nxt, born))
    return Sample(done, time.perf_counter() - started,
                  {"throughput_per_h": done_win / (horizon - warmup),
                   "sojourn_h": sojourn / done_win if done_win else float("nan")})


def _arrives_h(ordered_h: float) -> float:
    """When a lot ordered at ``ordered_h`` arrives: after the lead time, or at the outage's
    end if it falls due during the outage (receipt pausing, shocktwin's supplier_outage)."""
    due = ordered_h + INV_LEAD_H
    start, end = INV_OUTAGE_H
    return end if start <= due < end else due


def _inventory_measures(demanded: int, from_stock: int, served: int,
                        wait_h: float) -> dict[str, float]:
    """The share of the units demanded after the warm-up that were served from stock at
    once, and the mean wait for stock of those of them served by the horizon (h)."""
    return {"fill_rate": from_stock / demanded if demanded else float("nan"),
            "wait_h": wait_h / served if served else float("nan")}


def inventory_heapq(setup: Setup, seed: int) -> Sample:
    """The inventory with the outage as a plain event loop."""
    started = time.perf_counter()
    rnd = random.Random(seed)
    expo = rnd.expovariate
    horizon, warmup = setup.horizon_h, setup.warmup_h
    events: list[tuple[float, int]] = [(expo(INV_LAMBDA), 0)]  # 0: demand, 1: a lot arrives
    push, pop = heapq.heappush, heapq.heappop
    on_hand, on_order = INV_INITIAL, 0
    backlog: deque[float] = deque()
    served = demanded = from_stock = served_win = 0
    wait = 0.0
    while events:
        now, kind = pop(events)
        if now >= horizon:
            break
        if kind == 0:
            push(events, (now + expo(INV_LAMBDA), 0))
            counted = now >= warmup
            demanded += counted
            if on_hand and not backlog:
                on_hand -= 1
                served += 1
                from_stock += counted
                served_win += counted
            else:
                backlog.append(now)
            while on_hand + on_order - len(backlog) <= INV_R:
                on_order += INV_Q
                push(events, (_arrives_h(now), 1))
        else:
            on_order -= INV_Q
            on_hand += INV_Q
            while backlog and on_hand:
                arrived = backlog.popleft()
                on_hand -= 1
                served += 1
                if arrived >= warmup:
                    wait += now - arrived
                    served_win += 1
    return Sample(served, time.perf_counter() - started,
                  _inventory_measures(demanded, from_stock, served_win, wait))


# --- Raw SimPy --------------------------------------------------------------------------

def mm3_simpy(setup: Setup, seed: int) -> Sample:
    """M/M/3 as a SimPy user writes it: a process per customer, a Resource of 3."""
    import simpy

    started = time.perf_counter()
    rnd = random.Random(seed)
    env = simpy.Environment()
    servers = simpy.Resource(env, capacity=MM3_SERVERS)
    state = {"served": 0, "wait": 0.0, "n": 0}
    warmup = setup.warmup_h

    def customer():  # type: ignore[no-untyped-def]
        arrived = env.now
        with servers.request() as req:
            yield req
            if env.now >= warmup:
                state["wait"] += env.now - arrived
                state["n"] += 1
            yield env.timeout(rnd.expovariate(MM3_MU))
        state["served"] += 1

    def source():  # type: ignore[no-untyped-def]
        while True:
            yield env.timeout(rnd.expovariate(MM3_LAMBDA))
            env.process(customer())

    env.process(source())
    env.run(until=setup.horizon_h)
    n = state["n"]
    return Sample(int(state["served"]), time.perf_counter() - started,
                  {"wq_h": state["wait"] / n if n else float("nan")})


def tandem_simpy(setup: Setup, seed: int) -> Sample:
    """The tandem line in SimPy: a process per unit through five Resources of 1."""
    import simpy

    started = time.perf_counter()
    rnd = random.Random(seed)
    env = simpy.Environment()
    stations = [(simpy.Resource(env, capacity=1), 1.0 / m) for m in TANDEM_MEANS_H]
    state = {"done": 0, "win": 0, "sojourn": 0.0}
    warmup = setup.warmup_h

    def unit():  # type: ignore[no-untyped-def]
        born = env.now
        for resource, rate in stations:
            with resource.request() as req:
                yield req
                yield env.timeout(rnd.expovariate(rate))
        state["done"] += 1
        if env.now >= warmup:
            state["win"] += 1
            state["sojourn"] += env.now - born

    def source():  # type: ignore[no-untyped-def]
        while True:
            yield env.timeout(rnd.expovariate(TANDEM_LAMBDA))
            env.process(unit())

    env.process(source())
    env.run(until=setup.horizon_h)
    win = state["win"]
    return Sample(int(state["done"]), time.perf_counter() - started,
                  {"throughput_per_h": win / (setup.horizon_h - warmup),
                   "sojourn_h": state["sojourn"] / win if win else float("nan")})


def inventory_simpy(setup: Setup, seed: int) -> Sample:
    """The inventory in SimPy: a Container of stock (its get queue is the backlog, first
    come first served), a process per delivery."""
    import simpy

    started = time.perf_counter()
    rnd = random.Random(seed)
    env = simpy.Environment()
    stock = simpy.Container(env, init=INV_INITIAL)
    state = {"on_order": 0, "served": 0, "demanded": 0, "from_stock": 0, "served_win": 0,
             "wait": 0.0}
    warmup = setup.warmup_h

    def deliver():  # type: ignore[no-untyped-def]
        yield env.timeout(_arrives_h(env.now) - env.now)
        state["on_order"] -= INV_Q
        yield stock.put(INV_Q)

    def customer():  # type: ignore[no-untyped-def]
        arrived = env.now
        counted = arrived >= warmup
        get = stock.get(1)
        state["demanded"] += counted
        while stock.level + state["on_order"] - len(stock.get_queue) <= INV_R:
            state["on_order"] += INV_Q
            env.process(deliver())
        if get.triggered:
            state["from_stock"] += counted
        else:
            yield get
            state["wait"] += (env.now - arrived) * counted
        state["served"] += 1
        state["served_win"] += counted

    def source():  # type: ignore[no-untyped-def]
        while True:
            yield env.timeout(rnd.expovariate(INV_LAMBDA))
            env.process(customer())

    env.process(source())
    env.run(until=setup.horizon_h)
    return Sample(int(state["served"]), time.perf_counter() - started,
                  _inventory_measures(int(state["demanded"]), int(state["from_stock"]),
                                      int(state["served_win"]), state["wait"]))


# --- Ciw --------------------------------------------------------------------------------

def mm3_ciw(setup: Setup, seed: int) -> Sample:
    """M/M/3 in Ciw; the wait of customers who start service after the warm-up."""
    import ciw

    started = time.perf_counter()
    network = ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(rate=MM3_LAMBDA)],
        service_distributions=[ciw.dists.Exponential(rate=MM3_MU)],
        number_of_servers=[MM3_SERVERS])
    ciw.seed(seed)
    sim = ciw.Simulation(network)
    sim.simulate_until_max_time(setup.horizon_h, progress_bar=False)
    records = sim.get_all_records()
    wall = time.perf_counter() - started
    waits = [r.waiting_time for r in records if r.service_start_date >= setup.warmup_h]
    # Records are of completed services; customers in service at the horizon have none yet,
    # so waits are of those who started and finished (the others' are a handful of 10⁴).
    return Sample(len(records), wall,
                  {"wq_h": statistics.fmean(waits) if waits else float("nan")})


def tandem_ciw(setup: Setup, seed: int) -> Sample:
    """The tandem line in Ciw: five nodes, each routing directly to the next."""
    import ciw

    started = time.perf_counter()
    n = len(TANDEM_MEANS_H)
    routers = [ciw.routing.Direct(to=k + 2) for k in range(n - 1)] + [ciw.routing.Leave()]
    network = ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(rate=TANDEM_LAMBDA)] + [None] * (n - 1),
        service_distributions=[ciw.dists.Exponential(rate=1.0 / m) for m in TANDEM_MEANS_H],
        number_of_servers=[1] * n,
        routing=ciw.routing.NetworkRouting(routers=routers))
    ciw.seed(seed)
    sim = ciw.Simulation(network)
    sim.simulate_until_max_time(setup.horizon_h, progress_bar=False)
    records = sim.get_all_records()
    wall = time.perf_counter() - started
    born = {r.id_number: r.arrival_date for r in records if r.node == 1}
    leaving = [r for r in records if r.node == n]
    win = [r.exit_date - born[r.id_number] for r in leaving if r.exit_date >= setup.warmup_h]
    return Sample(len(leaving), wall,
                  {"throughput_per_h": len(win) / (setup.horizon_h - setup.warmup_h),
                   "sojourn_h": statistics.fmean(win) if win else float("nan")})


# --- salabim ----------------------------------------------------------------------------

def mm3_salabim(setup: Setup, seed: int) -> Sample:
    """M/M/3 in salabim: a Resource of 3, a component per customer."""
    import salabim as sim

    sim.yieldless(False)  # generator processes, as in the other tools
    started = time.perf_counter()
    env = sim.Environment(trace=False, random_seed=seed)
    servers = sim.Resource("servers", capacity=MM3_SERVERS, env=env)
    service = sim.Exponential(1.0 / MM3_MU, env=env)
    between = sim.Exponential(1.0 / MM3_LAMBDA, env=env)
    state = {"served": 0, "wait": 0.0, "n": 0}
    warmup = setup.warmup_h

    class Customer(sim.Component):
        def process(self):  # type: ignore[no-untyped-def]
            arrived = env.now()
            yield self.request(servers)
            if env.now() >= warmup:
                state["wait"] += env.now() - arrived
                state["n"] += 1
            yield self.hold(service.sample())
            self.release()
            state["served"] += 1

    class Source(sim.Component):
        def process(self):  # type: ignore[no-untyped-def]
            while True:
                yield self.hold(between.sample())
                Customer(env=env)

    Source(env=env)
    env.run(till=setup.horizon_h)
    n = state["n"]
    return Sample(int(state["served"]), time.perf_counter() - started,
                  {"wq_h": state["wait"] / n if n else float("nan")})


def tandem_salabim(setup: Setup, seed: int) -> Sample:
    """The tandem line in salabim: five Resources of 1, a component per unit."""
    import salabim as sim

    sim.yieldless(False)  # generator processes, as in the other tools
    started = time.perf_counter()
    env = sim.Environment(trace=False, random_seed=seed)
    stations = [(sim.Resource(f"s{k}", capacity=1, env=env), sim.Exponential(m, env=env))
                for k, m in enumerate(TANDEM_MEANS_H)]
    between = sim.Exponential(1.0 / TANDEM_LAMBDA, env=env)
    state = {"done": 0, "win": 0, "sojourn": 0.0}
    warmup = setup.warmup_h

    class Unit(sim.Component):
        def process(self):  # type: ignore[no-untyped-def]
            born = env.now()
            for resource, work in stations:
                yield self.request(resource)
                yield self.hold(work.sample())
                self.release(resource)
            state["done"] += 1
            if env.now() >= warmup:
                state["win"] += 1
                state["sojourn"] += env.now() - born

    class Source(sim.Component):
        def process(self):  # type: ignore[no-untyped-def]
            while True:
                yield self.hold(between.sample())
                Unit(env=env)

    Source(env=env)
    env.run(till=setup.horizon_h)
    win = state["win"]
    return Sample(int(state["done"]), time.perf_counter() - started,
                  {"throughput_per_h": win / (setup.horizon_h - warmup),
                   "sojourn_h": state["sojourn"] / win if win else float("nan")})


# --- SupplyNetPy ------------------------------------------------------------------------

def inventory_supplynetpy(setup: Setup, seed: int) -> Sample:
    """The inventory in SupplyNetPy: an infinite supplier, a distributor under its (R, Q)
    policy and a demand whose customers wait without limit. SupplyNetPy's own disruptions
    pause ordering, not receipts, so the outage is the link's lead time instead: a lot
    falling due in the outage arrives at its end (:func:`_arrives_h`), as in the others."""
    import simpy
    import SupplyNetPy.Components as scm

    started = time.perf_counter()
    rnd = random.Random(seed)
    env = simpy.Environment()
    supplier = scm.Supplier(env=env, ID="S1", name="vendor", node_type="infinite_supplier",
                            logging=False)
    stock = scm.InventoryNode(env=env, ID="D1", name="stock", node_type="distributor",
                              capacity=10**9, initial_level=INV_INITIAL,
                              inventory_holding_cost=0.0,
                              replenishment_policy=scm.RQReplenishment,
                              policy_param={"R": INV_R, "Q": INV_Q},
                              product_sell_price=1.0, product_buy_price=0.5, logging=False)
    scm.Link(env=env, ID="L1", source=supplier, sink=stock, cost=0.0,
             lead_time=lambda: _arrives_h(env.now) - env.now)
    # SupplyNetPy's first customer comes at time 0; a Poisson stream's first comes after an
    # exponential gap, so the demand starts one gap in.
    first = rnd.expovariate(INV_LAMBDA)

    def demand():  # type: ignore[no-untyped-def]
        yield env.timeout(first)
        scm.Demand(env=env, ID="C1", name="demand",
                   order_arrival_model=lambda: rnd.expovariate(INV_LAMBDA),
                   order_quantity_model=lambda: 1, demand_node=stock,
                   tolerance=float("inf"), logging=False)

    env.process(demand())
    env.run(until=setup.horizon_h)
    wall = time.perf_counter() - started
    # Its statistics count from time 0 (the inventory model has no warm-up): orders received,
    # those short on arrival, those owed now, and the summed wait of those served late.
    st = stock.stats
    demanded = int(st.demand_received[0])
    served = demanded - int(st.backorder[0])
    return Sample(served, wall, _inventory_measures(demanded, demanded - int(st.shortage[0]),
                                                    served, float(st.waiting_time)))


# --- stockpyl ---------------------------------------------------------------------------

def inventory_stockpyl(setup: Setup, seed: int) -> Sample:
    """The inventory in stockpyl's simulation, which reviews once a period: periods of 1 h,
    Poisson(10) demand a period, (r, Q) on the inventory position at each period's end, a
    lead time of 48 periods, and an explicit receipt-pausing disruption ('E', 'RP') over the
    outage's periods. The mean wait is the backorders at each period's end, summed (unit
    hours), over the units demanded."""
    from stockpyl.disruption_process import DisruptionProcess
    from stockpyl.sim import simulation
    from stockpyl.supply_chain_network import single_stage_system

    started = time.perf_counter()
    periods = int(setup.horizon_h)
    start, end = INV_OUTAGE_H
    disrupted = [start <= t < end for t in range(periods + 1)]
    network = single_stage_system(
        demand_type="P", mean=INV_LAMBDA, policy_type="rQ", reorder_point=INV_R,
        order_quantity=INV_Q, shipment_lead_time=int(INV_LEAD_H),
        initial_inventory_level=INV_INITIAL, holding_cost=1.0, stockout_cost=1.0,
        disruption_process=DisruptionProcess(random_process_type="E", disruption_type="RP",
                                             disruption_state_list=disrupted))
    simulation(network, periods, rand_seed=seed, progress_bar=False)
    wall = time.perf_counter() - started
    node = network.nodes[0]
    first = int(setup.warmup_h)
    demanded = from_stock = 0
    wait = 0.0
    served = 0
    cumul = 0.0
    for t in range(periods):
        # Its state variables are kept per product; the one product is the only key.
        sv = node.state_vars[t]
        demand_cumul = sum(sv.demand_cumul.values())
        d, cumul = demand_cumul - cumul, demand_cumul
        served += int(sum(sum(by.values()) for by in sv.outbound_shipment.values()))
        if t >= first:
            demanded += int(d)
            from_stock += int(sum(sv.demand_met_from_stock.values()))
            wait += float(sum(sum(by.values()) for by in sv.backorders_by_successor.values()))
    # Little's law: the mean wait is the backorders' time integral over the units served.
    return Sample(served, wall, _inventory_measures(demanded, from_stock, served, wait))


# --- shocktwin --------------------------------------------------------------------------

@cache
def _scenario(model: str, horizon_h: float, warmup_h: float) -> Any:
    """bench/peer_models/MODEL.yaml with the run's horizon and warm-up, validated."""
    import yaml

    from shocktwin.scenarios import parse_scenario

    path = MODELS_DIR / f"{model}.yaml"
    data = yaml.safe_load(path.read_text())
    data["horizon"], data["warmup"] = f"{horizon_h}h", f"{warmup_h}h"
    return parse_scenario(data, file=str(path), base_dir=MODELS_DIR)


def _shocktwin(model: str, setup: Setup, seed: int) -> tuple[Any, float]:
    from shocktwin.twin.experiment.replication import run_replication

    scenario = _scenario(model, setup.horizon_h, setup.warmup_h)
    started = time.perf_counter()
    result = run_replication(scenario, 0, seed=seed)
    return result, time.perf_counter() - started


def mm3_shocktwin(setup: Setup, seed: int) -> Sample:
    """bench/peer_models/mm3.yaml, one replication; Wq is the station's mean wait."""
    result, wall = _shocktwin("mm3", setup, seed)
    station = result.stations[0]
    return Sample(int(station["served"]), wall, {"wq_h": float(station["wait_mean_h"])})


def tandem_shocktwin(setup: Setup, seed: int) -> Sample:
    """bench/peer_models/tandem.yaml, one replication; the time in the line is the release
    lead time (no material to pick, so work starts when the unit arrives)."""
    result, wall = _shocktwin("tandem", setup, seed)
    k = result.kpis
    return Sample(int(result.series["released"].sum()), wall,
                  {"throughput_per_h": k["throughput_per_h"],
                   "sojourn_h": k["release_lead_time_mean"]})


def inventory_shocktwin(setup: Setup, seed: int) -> Sample:
    """bench/peer_models/inventory.yaml, one replication: the fill rate is the OTD of
    orders due 1 s after they arrive; the mean wait is the order lead time (release takes
    no time), over orders done by the horizon."""
    result, wall = _shocktwin("inventory", setup, seed)
    k = result.kpis
    return Sample(int(result.series["released"].sum()), wall,
                  {"fill_rate": k["otd"], "wait_h": k["order_lead_time_mean"]})


# --- The suite --------------------------------------------------------------------------

Runner = Callable[[Setup, int], Sample]

RUNNERS: dict[str, dict[str, Runner]] = {
    "mm3": {"shocktwin": mm3_shocktwin, "heapq": mm3_heapq, "simpy": mm3_simpy,
            "ciw": mm3_ciw, "salabim": mm3_salabim},
    "tandem": {"shocktwin": tandem_shocktwin, "heapq": tandem_heapq, "simpy": tandem_simpy,
               "ciw": tandem_ciw, "salabim": tandem_salabim},
    "inventory": {"shocktwin": inventory_shocktwin, "heapq": inventory_heapq,
                  "simpy": inventory_simpy, "supplynetpy": inventory_supplynetpy,
                  "stockpyl": inventory_stockpyl},
}

#: Each model's run length and replications. salabim is some 30 to 60 times slower than
#: shocktwin here, so it runs 4 replications (on M/M/3 also shorter, checked against Erlang
#: C on its own interval, not paired with shocktwin).
PLAN: dict[str, tuple[Setup, int]] = {
    "mm3": (Setup(10000.0, 1000.0), 12),
    "tandem": (Setup(10000.0, 1000.0), 12),
    "inventory": (Setup(600.0), 12),
}
SLOW_PLAN: dict[tuple[str, str], tuple[Setup, int]] = {
    ("mm3", "salabim"): (Setup(4000.0, 400.0), 4),
    ("tandem", "salabim"): (Setup(10000.0, 1000.0), 4),
}

#: The measures compared between tools, per model.
MEASURES = {"mm3": ("wq_h",), "tandem": ("throughput_per_h", "sojourn_h"),
            "inventory": ("fill_rate", "wait_h")}


def missing(tool: str) -> str | None:
    """Why ``tool`` cannot run here (its package is not installed), or None."""
    module = _MODULE[tool]
    if module is None or importlib.util.find_spec(module) is not None:
        return None
    return (f"{module} is not installed: make bench runs in .venv-bench, which has the "
            "peers (requirements-bench.lock)")


def measure(model: str, tools: Sequence[str], plan: dict[str, tuple[Setup, int]],
            ) -> dict[str, list[Sample]]:
    """Replications of ``model`` in each tool, interleaved: replication k of every tool
    before replication k + 1 of any, after one short untimed run each (imports, caches)."""
    runners = RUNNERS[model]
    for tool in tools:
        runners[tool](Setup(400.0) if model == "inventory" else Setup(50.0, 5.0), 999)
    samples: dict[str, list[Sample]] = {tool: [] for tool in tools}
    for k in range(max(plan[tool][1] for tool in tools)):
        for tool in tools:
            setup, n = plan[tool]
            if k < n:
                samples[tool].append(runners[tool](setup, k + 1))
    return samples


def _figures(model: str, samples: dict[str, list[Sample]],
             plan: dict[str, tuple[Setup, int]]) -> dict[str, float | bool]:
    out: dict[str, float | bool] = {}
    rates = {tool: statistics.median(s.rate for s in runs) for tool, runs in samples.items()}
    for tool, runs in samples.items():
        out[f"{model}_{tool}_units_per_s"] = rates[tool]
        out[f"{model}_{tool}_replications"] = len(runs)
        for name in MEASURES[model]:
            values = [s.measures[name] for s in runs]
            low, high = ci95(values)
            out[f"{model}_{tool}_{name}"] = statistics.fmean(values)
            out[f"{model}_{tool}_{name}_ci95_half"] = (high - low) / 2
    anchor = samples.get("shocktwin")
    for tool in samples:
        if tool != "shocktwin" and anchor:
            out[f"{model}_{tool}_vs_shocktwin_rate_ratio"] = rates[tool] / rates["shocktwin"]
    # A check is a figure key and its tests: (values, a published value) whose interval must
    # hold it, or (values, another tool's values) whose means must agree. Each test runs at
    # 95 % for its figure, and all of them again at 1 - 0.05 / (number of tests) for the
    # model as a whole (Bonferroni): of 18 true tests at 95 % about one fails by chance.
    checks: list[tuple[str, list[tuple[list[float], float | list[float]]]]] = []
    if model == "mm3":
        wq = erlang_c_wq(MM3_LAMBDA, MM3_MU, MM3_SERVERS)
        out["mm3_erlang_c_wq_h"] = wq
        for tool, runs in samples.items():
            checks.append((f"mm3_{tool}_erlang_c_in_ci95",
                           [([s.measures["wq_h"] for s in runs], wq)]))
        if "heapq" in rates and "shocktwin" in rates:
            out["mm3_shocktwin_vs_heapq_rate_ratio"] = rates["shocktwin"] / rates["heapq"]
    if model == "tandem":
        sojourn = jackson_tandem_sojourn_h()
        out["tandem_jackson_sojourn_h"] = sojourn
        for tool, runs in samples.items():
            checks.append((f"tandem_{tool}_jackson_in_ci95", [
                ([s.measures["sojourn_h"] for s in runs], sojourn),
                ([s.measures["throughput_per_h"] for s in runs], TANDEM_LAMBDA)]))
    if model in ("tandem", "inventory") and anchor:
        for tool, runs in samples.items():
            if tool == "shocktwin" or plan[tool][0] != plan["shocktwin"][0]:
                continue
            checks.append((f"{model}_{tool}_agrees_with_shocktwin",
                           [([s.measures[m] for s in runs], [s.measures[m] for s in anchor])
                            for m in MEASURES[model]]))

    def passes(test: tuple[list[float], float | list[float]], level: float) -> bool:
        values, reference = test
        if isinstance(reference, list):
            return agree(values, reference, level)
        return contains(values, reference, level)

    tests = [test for _, group in checks for test in group]
    for key, group in checks:
        out[key] = all(passes(test, 0.95) for test in group)
    out[f"{model}_equivalence_checks"] = len(checks)
    out[f"{model}_equivalence_checks_passed"] = sum(bool(out[key]) for key, _ in checks)
    out[f"{model}_equivalence_holds_bonferroni_95"] = all(
        passes(test, 1 - 0.05 / len(tests)) for test in tests)
    return out


def run() -> dict[str, float | bool | str]:
    """The whole suite: every model in every tool that runs it, interleaved; rates,
    peer ÷ shocktwin ratios and the equivalence checks as one flat dict."""
    out: dict[str, float | bool | str] = {}
    for model, (setup, n) in PLAN.items():
        tools = []
        for tool in RUNNERS[model]:
            reason = missing(tool)
            if reason is None:
                tools.append(tool)
            else:
                out[f"{tool}_left_out_reason"] = reason
        plan = {tool: SLOW_PLAN.get((model, tool), (setup, n)) for tool in tools}
        out.update(_figures(model, measure(model, tools, plan), plan))
    out["prodsys_left_out_reason"] = PRODSYS_LEFT_OUT
    return out


def main() -> None:
    started = time.perf_counter()
    figures = run()
    for key, value in figures.items():
        text = f"{value:,.4g}" if isinstance(value, float) else str(value)
        print(f"  {key:52} {text}")
    print(f"peers: {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
