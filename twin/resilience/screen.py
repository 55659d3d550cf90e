"""Network screening with the time-to-survive and time-to-recover linear programs of
Simchi-Levi et al. ("Identifying risks and mitigating disruptions in the automotive supply
chain", Interfaces 45(5), 2015; Simchi-Levi, Schmidt & Wei, "From superstorms to factory
fires", Harvard Business Review, 2014), solved with scipy's HiGHS.

The network is the scenario's plant and its supply tiers. The plant makes products j at
their demand rates d_j (units/h) from a bill of materials q_jm (units of material m per
unit), drawing on its stock s_m. A tier-1 supplier delivers its material to the plant; a
supplier of tier t + 1 delivers to the tier-t suppliers that list its material among their
inputs, each holding its own stock s_hn of input n and needing p_hn of it per unit it makes.
Supplier k ships at most c_k units/h; a backup ships only from its qualification time τ_k
after the first-listed supplier of its material and tier is disrupted, and is not used
otherwise. Over a window of length t, with f_kh the units k ships to h (a supplier or the
plant), y_j the units of j made, and the disrupted supplier shipping nothing:

- plant stock:  Σ_j q_jm y_j ≤ s_m + Σ_k f_k,plant          (k of tier 1 making m)
- capacity:     Σ_h f_kh ≤ c_k · (t − τ_k)                   (τ_k = 0 for a supplier in use)
- conversion:   p_hn · Σ_g f_hg ≤ s_hn + Σ_k f_kh             (k of the next tier making n)

so a supplier ships no more than its capacity and its inputs allow, and a disruption
further out reaches the plant once the stock between runs out. For each supplier i:

- **TTS** (time to survive): the largest t for which every product's demand d_j·t can be
  met with i cut off: max t s.t. y_j = d_j·t and the above. The capacity terms switch on at
  the τ_k, so the LP is solved over each interval between them in turn; TTS is the first
  time demand cannot be met (∞ when it always can).
- **loss at TTR** (time to recover): the least profit lost while i is down for its TTR T:
  min Σ_j margin_j·l_j s.t. y_j + l_j = d_j·T and the above over T, with capacities
  c_k·max(0, T − τ_k). A material that several products need goes where it loses least.
- **risk exposure index**: profit lost / the largest profit lost over all suppliers.

A supplier whose TTS is shorter than its TTR is a risk; the ranking says which shocks
deserve a full simulation.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from shocktwin.errors import Problem, SimulationError
from shocktwin.scenarios.model import Buffer, Scenario, SupplierInput

__all__ = ["Network", "NodeRisk", "network_of", "screen"]

#: The customer of a tier-1 supplier in an arc (supplier, customer); no supplier id is empty.
_PLANT = ""


@dataclass(frozen=True)
class Network:
    """The screening network: products, bill of materials, stock, suppliers in tiers."""

    demand_per_h: dict[str, float]  # product -> units/h
    margin: dict[str, float]  # product -> profit per unit not made
    bom: dict[str, dict[str, float]]  # product -> material -> units per unit made
    stock: dict[str, float]  # the plant's stock by material
    material: dict[str, str]  # supplier -> the material it makes
    capacity: dict[str, float]  # supplier -> units/h
    available_h: dict[str, dict[str, float]]  # disrupted -> supplier -> ships from (∞: not)
    ttr_h: dict[str, float]
    tier: dict[str, int]  # supplier -> 1 (delivers to the plant), 2, ...
    inputs: dict[str, dict[str, float]]  # supplier -> input material -> units per unit made
    input_stock: dict[str, dict[str, float]]  # supplier -> input material -> units held


@dataclass(frozen=True)
class NodeRisk:
    supplier: str
    material: str
    tts_h: float
    ttr_h: float
    lost_units: float
    lost_profit: float
    risk_exposure: float
    tier: int = 1
    lost_by_product: dict[str, float] = field(default_factory=dict)  # units over the TTR

    @property
    def at_risk(self) -> bool:
        return self.tts_h < self.ttr_h


def network_of(scenario: Scenario) -> Network:
    """The screening network of a scenario with a ``screen`` block."""
    spec, plant = scenario.screen, scenario.plant
    if spec is None or plant is None:
        raise ValueError("the scenario has no screen block")
    nodes = {n.supplier: n for n in spec.nodes}
    # A supplier's group: the suppliers of its material in its tier, the first the one in
    # use and the others its backups, as the twin orders from them.
    group = {s.id: (s.tier, s.material) for s in plant.suppliers}
    order: dict[tuple[int, str], list[str]] = {}
    for s in plant.suppliers:
        order.setdefault(group[s.id], []).append(s.id)
    qualification = {s.id: s.qualification for s in plant.suppliers}
    available: dict[str, dict[str, float]] = {}
    for i in nodes:
        primary = order[group[i]][0]
        avail: dict[str, float] = {}
        for k in nodes:
            if k == i:
                continue
            if k == order[group[k]][0]:
                avail[k] = 0.0  # a primary keeps supplying
            elif group[k] == group[i] and i == primary:
                avail[k] = qualification[k]  # the backup steps in once qualified
            else:
                avail[k] = math.inf  # a backup of a primary still supplying: not used
        available[i] = avail

    def held(stock: Buffer | SupplierInput) -> float:
        return float(stock.initial if spec.inventory == "initial" else stock.reorder_point)

    products = plant.product_list()
    return Network(
        demand_per_h={p.id: p.orders.mean_units_per_h(scenario.horizon) for p in products},
        margin={p.id: spec.margin for p in products},
        bom={p.id: {m: float(q) for m, q in plant.materials_per_unit(p).items()}
             for p in products},
        stock={b.material: held(b) for b in plant.buffers},
        material={s.id: s.material for s in plant.suppliers},
        capacity={k: n.capacity for k, n in nodes.items()},
        available_h=available, ttr_h={k: n.ttr for k, n in nodes.items()},
        tier={s.id: s.tier for s in plant.suppliers},
        inputs={s.id: {x.material: float(x.quantity) for x in s.inputs}
                for s in plant.suppliers if s.inputs},
        input_stock={s.id: {x.material: held(x) for x in s.inputs}
                     for s in plant.suppliers if s.inputs})


def screen(net: Network) -> list[NodeRisk]:
    """TTS, loss at TTR and risk exposure of every supplier, riskiest first."""
    rows = []
    for i in net.ttr_h:
        lost = _lost_units(net, i, net.ttr_h[i])
        profit = sum(net.margin[j] * units for j, units in lost.items())
        rows.append((i, _tts(net, i), lost, profit))
    worst = max((profit for *_, profit in rows), default=0.0)
    out = [NodeRisk(i, net.material[i], tts, net.ttr_h[i], sum(lost.values()), profit,
                    profit / worst if worst > 0 else 0.0, tier=net.tier[i],
                    lost_by_product=lost)
           for i, tts, lost, profit in rows]
    return sorted(out, key=lambda r: (-r.risk_exposure, r.tts_h, r.supplier))


# A row of a program: column -> coefficient.
_Row = dict[int, float]


@dataclass
class _Flows:
    """The shipments of one program (columns from ``first`` on) and their rows."""

    arcs: list[tuple[str, str]]  # (supplier, customer: a supplier or _PLANT)
    into_plant: dict[str, _Row]  # material -> −Σ what tier-1 suppliers ship of it
    shipped: dict[str, _Row]  # supplier -> Σ what it ships
    conversion: list[tuple[_Row, float]]  # p·shipped − received ≤ its input stock


def _flows(net: Network, shipping: Iterable[str], first: int) -> _Flows:
    """The arcs between the suppliers that ship and the plant, and the rows over them."""
    shipping = sorted(shipping)
    customers: dict[tuple[int, str], list[str]] = {}  # (tier, material) -> who needs it
    for h in shipping:
        for n in net.inputs.get(h, {}):
            customers.setdefault((net.tier[h] + 1, n), []).append(h)
    arcs = [(k, _PLANT) for k in shipping if net.tier[k] == 1]
    arcs += [(k, h) for k in shipping if net.tier[k] > 1
             for h in customers.get((net.tier[k], net.material[k]), [])]
    into_plant: dict[str, _Row] = {}
    shipped: dict[str, _Row] = {}
    received: dict[tuple[str, str], _Row] = {}  # (customer, material) -> Σ what it gets
    for col, (k, h) in enumerate(arcs, start=first):
        shipped.setdefault(k, {})[col] = 1.0
        if h == _PLANT:
            into_plant.setdefault(net.material[k], {})[col] = -1.0
        else:
            received.setdefault((h, net.material[k]), {})[col] = -1.0
    conversion = []
    for h in shipping:
        if h not in shipped:
            continue  # ships nothing here: what it holds cannot reach the plant
        for n, per_unit in net.inputs.get(h, {}).items():
            row = {col: per_unit for col in shipped[h]}
            row.update(received.get((h, n), {}))
            conversion.append((row, net.input_stock.get(h, {}).get(n, 0.0)))
    return _Flows(arcs, into_plant, shipped, conversion)


def _materials(net: Network) -> list[str]:
    return sorted({m for bom in net.bom.values() for m, q in bom.items() if q > 0})


def _matrix(rows: list[_Row], width: int) -> Any:
    from scipy.sparse import csr_array

    data, index, cols = [], [], []
    for r, row in enumerate(rows):
        for c, v in row.items():
            index.append(r)
            cols.append(c)
            data.append(v)
    return csr_array((data, (index, cols)), shape=(len(rows), width))


def _tts(net: Network, disrupted: str) -> float:
    from scipy.optimize import linprog

    supplies = {k: t for k, t in net.available_h[disrupted].items() if math.isfinite(t)}
    breaks = sorted({0.0, *supplies.values()})
    # Units of each material the products use per hour at their demand rates.
    use = {m: sum(net.demand_per_h[j] * bom.get(m, 0.0) for j, bom in net.bom.items())
           for m in _materials(net)}
    for j, start in enumerate(breaks):
        end = breaks[j + 1] if j + 1 < len(breaks) else math.inf
        active = {k: t for k, t in supplies.items() if t <= start}
        flows = _flows(net, active, first=1)
        # Columns: t, then one per arc.  max t  ⇔  min −t.
        width = 1 + len(flows.arcs)
        c = np.zeros(width)
        c[0] = -1.0
        rows: list[_Row] = []
        rhs: list[float] = []
        for m, rate in use.items():  # use_m·t − received_m ≤ s_m
            rows.append({0: rate, **flows.into_plant.get(m, {})})
            rhs.append(net.stock.get(m, 0.0))
        for k, row in flows.shipped.items():  # shipped_k − c_k·t ≤ −c_k·τ_k
            cap = net.capacity[k]
            rows.append({0: -cap, **row})
            rhs.append(-cap * active[k])
        for row, held in flows.conversion:
            rows.append(row)
            rhs.append(held)
        bounds = [(start, None if math.isinf(end) else end)] + [(0.0, None)] * len(flows.arcs)
        res = linprog(c, A_ub=_matrix(rows, width) if rows else None,
                      b_ub=np.array(rhs) if rows else None, bounds=bounds, method="highs")
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


def _lost_units(net: Network, disrupted: str, horizon_h: float) -> dict[str, float]:
    """Units of each product lost while ``disrupted`` is down for ``horizon_h``."""
    from scipy.optimize import linprog

    supplies = {k: t for k, t in net.available_h[disrupted].items() if math.isfinite(t)}
    products = sorted(net.demand_per_h)
    n_products = len(products)
    flows = _flows(net, supplies, first=2 * n_products)
    # Columns: y_j (made), l_j (lost), then one per arc.  min Σ margin_j·l_j.
    width = 2 * n_products + len(flows.arcs)
    c = np.zeros(width)
    for j, product in enumerate(products):
        c[n_products + j] = net.margin[product]
    rows: list[_Row] = []
    rhs: list[float] = []
    for m in _materials(net):  # Σ_j q_jm·y_j − received_m ≤ s_m
        row = {j: net.bom[p].get(m, 0.0) for j, p in enumerate(products)}
        rows.append({**row, **flows.into_plant.get(m, {})})
        rhs.append(net.stock.get(m, 0.0))
    for k, row in flows.shipped.items():  # shipped_k ≤ c_k·max(0, T − τ_k)
        rows.append(row)
        rhs.append(net.capacity[k] * max(0.0, horizon_h - supplies[k]))
    for row, held in flows.conversion:
        rows.append(row)
        rhs.append(held)
    # y_j + l_j = d_j·T
    equal = [{j: 1.0, n_products + j: 1.0} for j in range(n_products)]
    demand = [net.demand_per_h[p] * horizon_h for p in products]
    res = linprog(c, A_ub=_matrix(rows, width) if rows else None,
                  b_ub=np.array(rhs) if rows else None, A_eq=_matrix(equal, width),
                  b_eq=np.array(demand), bounds=[(0.0, None)] * width, method="highs")
    if res.status != 0:
        raise SimulationError([Problem(None, "screen", f"the loss program for {disrupted!r} "
                                       f"has no solution: {res.message}")])
    return {p: max(0.0, float(res.x[n_products + j])) for j, p in enumerate(products)}
