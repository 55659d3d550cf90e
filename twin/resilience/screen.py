"""Network screening with the time-to-survive and time-to-recover linear programs of
Simchi-Levi et al. ("Identifying risks and mitigating disruptions in the automotive supply
chain", Interfaces 45(5), 2015), solved with scipy's HiGHS.

The network is the scenario's plant: one product made at the demand rate d (units/h), a
bill of materials q_m per unit, stock s_m of each material, and suppliers with a capacity
c_k (units/h); a backup supplies only from its qualification time τ_k after the
disruption. For each supplier i:

- **TTS** (time to survive): the longest t for which demand d·t can still be met with i
  cut off: max t s.t. q_m·d·t ≤ s_m + Σ_k u_k, 0 ≤ u_k ≤ c_k·(t − τ_k) for the other
  suppliers k of m that are available by t. The supply terms switch on at the τ_k, so the
  LP is solved over each interval between them in turn; TTS is the first time demand
  cannot be met (∞ when it always can).
- **loss at TTR** (time to recover): the least profit lost while i is down for its TTR T:
  min margin·l s.t. y + l = d·T, q_m·y ≤ s_m + Σ_k u_k, 0 ≤ u_k ≤ c_k·max(0, T − τ_k).
- **risk exposure index**: loss / the largest loss over all suppliers.

A supplier whose TTS is shorter than its TTR is a risk; the ranking says which shocks
deserve a full simulation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog

from shocktwin.errors import Problem, SimulationError
from shocktwin.scenarios.model import Scenario

__all__ = ["Network", "NodeRisk", "network_of", "screen"]


@dataclass(frozen=True)
class Network:
    demand_per_h: float
    margin: float
    bom: dict[str, float]  # units of material per unit of product
    stock: dict[str, float]
    material: dict[str, str]  # supplier -> material
    capacity: dict[str, float]  # supplier -> units/h
    available_h: dict[str, dict[str, float]]  # disrupted -> supplier -> available from
    ttr_h: dict[str, float]


@dataclass(frozen=True)
class NodeRisk:
    supplier: str
    material: str
    tts_h: float
    ttr_h: float
    lost_units: float
    lost_profit: float
    risk_exposure: float

    @property
    def at_risk(self) -> bool:
        return self.tts_h < self.ttr_h


def network_of(scenario: Scenario) -> Network:
    """The screening network of a scenario with a ``screen`` block."""
    spec, plant = scenario.screen, scenario.plant
    if spec is None or plant is None:
        raise ValueError("the scenario has no screen block")
    nodes = {n.supplier: n for n in spec.nodes}
    material = {s.id: s.material for s in plant.suppliers}
    order: dict[str, list[str]] = {}
    for s in plant.suppliers:
        order.setdefault(s.material, []).append(s.id)
    qualification = {s.id: s.qualification for s in plant.suppliers}
    available: dict[str, dict[str, float]] = {}
    for i in nodes:
        sources = order[material[i]]
        primary = sources[0]
        avail: dict[str, float] = {}
        for k in nodes:
            if k == i:
                continue
            group = order[material[k]]
            if k == group[0]:
                avail[k] = 0.0  # a primary keeps supplying
            elif material[k] == material[i] and i == primary:
                avail[k] = qualification[k]  # the backup steps in once qualified
            else:
                avail[k] = math.inf  # a backup of a primary still supplying: not used
        available[i] = avail
    product, = plant.product_list()
    stock = {b.material: float(b.initial if spec.inventory == "initial" else b.reorder_point)
             for b in plant.buffers}
    return Network(
        demand_per_h=product.orders.mean_units_per_h(scenario.horizon), margin=spec.margin,
        bom={m: float(q) for m, q in plant.materials_per_unit(product).items()}, stock=stock,
        material=material, capacity={k: n.capacity for k, n in nodes.items()},
        available_h=available, ttr_h={k: n.ttr for k, n in nodes.items()})


def screen(net: Network) -> list[NodeRisk]:
    """TTS, loss at TTR and risk exposure of every supplier, riskiest first."""
    rows = []
    for i in net.ttr_h:
        tts = _tts(net, i)
        lost = _lost_units(net, i, net.ttr_h[i])
        rows.append((i, tts, lost))
    worst = max((lost for _, _, lost in rows), default=0.0)
    out = [NodeRisk(i, net.material[i], tts, net.ttr_h[i], lost, lost * net.margin,
                    lost / worst if worst > 0 else 0.0) for i, tts, lost in rows]
    return sorted(out, key=lambda r: (-r.risk_exposure, r.tts_h, r.supplier))


def _supplies(net: Network, disrupted: str) -> list[tuple[str, str, float, float]]:
    """(supplier, material, capacity, available from) of every supplier but ``disrupted``."""
    return [(k, net.material[k], net.capacity[k], t)
            for k, t in sorted(net.available_h[disrupted].items()) if math.isfinite(t)]


def _tts(net: Network, disrupted: str) -> float:
    supplies = _supplies(net, disrupted)
    breaks = sorted({0.0, *(t for *_, t in supplies)})
    d = net.demand_per_h
    for j, start in enumerate(breaks):
        end = breaks[j + 1] if j + 1 < len(breaks) else math.inf
        active = [s for s in supplies if s[3] <= start]
        # Variables: t, then u_k for each active supplier.  max t  ⇔  min −t.
        n = 1 + len(active)
        c = np.zeros(n)
        c[0] = -1.0
        a_ub, b_ub = [], []
        for m, q in net.bom.items():
            row = np.zeros(n)
            row[0] = q * d
            for idx, (_, mat, _, _) in enumerate(active):
                if mat == m:
                    row[1 + idx] = -1.0
            a_ub.append(row)
            b_ub.append(net.stock.get(m, 0.0))
        for idx, (_, _, cap, avail) in enumerate(active):
            row = np.zeros(n)
            row[0] = -cap
            row[1 + idx] = 1.0
            a_ub.append(row)  # u_k − c_k t ≤ −c_k τ_k
            b_ub.append(-cap * avail)
        bounds = [(start, None if math.isinf(end) else end)] + [(0.0, None)] * len(active)
        res = linprog(c, A_ub=np.array(a_ub), b_ub=np.array(b_ub), bounds=bounds,
                      method="highs")
        if res.status == 3:  # unbounded: demand is met for ever
            return math.inf
        if res.status == 2:  # infeasible even at the segment's start: it failed before
            return start
        if res.status != 0:
            raise SimulationError([Problem(None, "screen", f"the TTS program for "
                                           f"{disrupted!r} failed: {res.message}")])
        t = float(res.x[0])
        if t < end - 1e-9:
            return t
    return math.inf


def _lost_units(net: Network, disrupted: str, horizon_h: float) -> float:
    supplies = _supplies(net, disrupted)
    d = net.demand_per_h
    # Variables: y (made), l (lost), u_k (supplied).  min l.
    n = 2 + len(supplies)
    c = np.zeros(n)
    c[1] = 1.0
    a_eq = np.zeros((1, n))
    a_eq[0, 0] = a_eq[0, 1] = 1.0
    a_ub, b_ub = [], []
    for m, q in net.bom.items():
        row = np.zeros(n)
        row[0] = q
        for idx, (_, mat, _, _) in enumerate(supplies):
            if mat == m:
                row[2 + idx] = -1.0
        a_ub.append(row)
        b_ub.append(net.stock.get(m, 0.0))
    bounds = [(0.0, None), (0.0, None)] + [
        (0.0, cap * max(0.0, horizon_h - avail)) for _, _, cap, avail in supplies]
    res = linprog(c, A_ub=np.array(a_ub), b_ub=np.array(b_ub), A_eq=a_eq,
                  b_eq=np.array([d * horizon_h]), bounds=bounds, method="highs")
    if res.status != 0:
        raise SimulationError([Problem(None, "screen", f"the loss program for {disrupted!r} "
                                       f"has no solution: {res.message}")])
    return float(res.x[1])
