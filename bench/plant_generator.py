"""A generated plant of any size, for the scale benchmark: P products on S shared stations,
fed by N suppliers in three tiers, under a regional shock; seeded and deterministic.

Every size has the same load where it matters, so a growth in wall time is the model's,
not the work's:

- every station is offered the same utilisation (``UTILISATION``, after its breakdowns)
  and the plant releases ``VISITS_PER_STATION_H`` unit visits per station and hour on
  average, so the unit visits grow with the stations, not faster;
- every supplier gets an order about every ``LOT_INTERVAL_D`` days: lot sizes follow the
  material's consumption;
- every station is on some routing, every buffered material in some bill of materials,
  every supplier the only one of its (tier, material), so each is used; every tier-2 and
  tier-3 material is an input of some supplier one tier nearer the plant.

A plant is made as a scenario mapping (``plant_scenario``), which the scenario loader
validates as it would a file (``parse_scenario``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["LOT_INTERVAL_D", "TIER_SHARES", "UTILISATION", "VISITS_PER_STATION_H",
           "plant_scenario"]

#: The busy share offered to every station (its work over its servers' available time).
UTILISATION = 0.75
#: Unit visits per station and hour, on average over the stations.
VISITS_PER_STATION_H = 4.0
#: Stations each product visits before its release station (at least; more when the
#: products are too few to cover every station).
ROUTE_STEPS = 8
#: Days of a material's consumption in one lot: how often each supplier gets an order.
LOT_INTERVAL_D = 5.0
#: Shares of the suppliers in tiers 1, 2 and 3; each supplier makes its own material.
TIER_SHARES = (0.2, 0.3, 0.5)
#: Products that use each tier-1 material (fewer when the plant makes fewer).
USERS_PER_MATERIAL = 3
#: Median lead time ranges by tier, days.
_LEAD_D = {1: (2.0, 7.0), 2: (3.0, 10.0), 3: (4.0, 14.0)}
_LEAD_SIGMA = 0.25
#: Reorder point as days of consumption over the median lead time (covers the lead time's
#: spread: the log-normal's 99th percentile is 1.8 × the median at sigma 0.25).
_COVER = 1.8
#: Regions and their countries, with the share of suppliers in each.
_REGIONS: dict[str, tuple[tuple[str, ...], float]] = {
    "EU": (("DE", "FR", "IT", "PL", "CZ"), 0.3),
    "NA": (("US", "CA"), 0.15),
    "MX": (("MX",), 0.05),
    "CN": (("CN",), 0.2),
    "JP": (("JP",), 0.12),
    "KR": (("KR",), 0.06),
    "SEA": (("TH", "VN", "MY"), 0.07),
    "IN": (("IN",), 0.05),
}
#: The region the shock hits.
SHOCK_REGION = "JP"


def _minutes(hours: float) -> str:
    return f"{hours * 60.0:.4f}min"


def _days(days: float) -> str:
    return f"{days:.4f}d"


def _tier_counts(suppliers: int) -> tuple[int, int, int]:
    if suppliers < 3:
        raise ValueError("a plant with three tiers needs at least 3 suppliers")
    first = max(1, round(suppliers * TIER_SHARES[0]))
    second = max(1, round(suppliers * TIER_SHARES[1]))
    return first, second, suppliers - first - second


def _deal(items: list[str], holders: int, rng: np.random.Generator) -> list[list[str]]:
    """Every item to some holder (shuffled, round robin); each holder gets at least one."""
    order = [items[k] for k in rng.permutation(len(items))]
    dealt: list[list[str]] = [[] for _ in range(holders)]
    for k, item in enumerate(order):
        dealt[k % holders].append(item)
    for held in dealt:
        if not held:
            held.append(items[int(rng.integers(len(items)))])
    return dealt


def plant_scenario(products: int, stations: int, suppliers: int, *, horizon_d: float,
                   warmup_d: float | None = None, seed: int = 1) -> dict[str, Any]:
    """A scenario mapping of the generated plant (validate it with ``parse_scenario``)."""
    if products < 1 or stations < 2:
        raise ValueError("a plant needs at least one product and two stations")
    rng = np.random.default_rng([seed, products, stations, suppliers])
    warmup_d = horizon_d / 20.0 if warmup_d is None else warmup_d

    # -- stations: a few release stations, a tenth inspection, the rest process stations.
    releases = max(1, round(stations / 40))
    inspections = max(1, round(stations / 10)) if stations - releases > 1 else 0
    processes = stations - releases - inspections
    kinds = ["process"] * processes + ["inspection"] * inspections
    kinds = [kinds[k] for k in rng.permutation(len(kinds))]  # inspections along the flow
    work_ids = [f"{'insp' if kind == 'inspection' else 'st'}{k:04d}"
                for k, kind in enumerate(kinds)]
    release_ids = [f"rel{k:03d}" for k in range(releases)]
    steps = max(ROUTE_STEPS, math.ceil(len(work_ids) / products))
    steps = min(steps, len(work_ids))

    # -- routings: every work station dealt to some product, topped up to `steps` distinct
    # stations, visited in the plant's flow order; each product ends at a release station.
    dealt = _deal(work_ids, products, rng)
    position = {sid: k for k, sid in enumerate(work_ids)}
    routes: list[list[str]] = []
    for held in dealt:
        chosen = set(held[:steps])
        while len(chosen) < steps:
            chosen.add(work_ids[int(rng.integers(len(work_ids)))])
        routes.append(sorted(chosen, key=position.__getitem__))
    weights = rng.lognormal(0.0, 0.4, products)
    weights /= weights.sum()
    total_rate_h = VISITS_PER_STATION_H * len(work_ids) / steps
    rates = total_rate_h * weights

    # Rework: back from an inspection step to the step before it, now and then; the steps
    # in the loop are visited 1 / (1 - p) times on average.
    rework: list[tuple[int, float] | None] = []
    visits: dict[str, float] = dict.fromkeys([*work_ids, *release_ids], 0.0)
    for p, route in enumerate(routes):
        loop = next(((i, 0.03) for i in range(1, len(route))
                     if route[i].startswith("insp") and rng.random() < 0.5), None)
        rework.append(loop)
        for i, sid in enumerate(route):
            repeat = 1.0 / (1.0 - loop[1]) if loop is not None and loop[0] - 1 <= i <= loop[0] \
                else 1.0
            visits[sid] += rates[p] * repeat
        visits[release_ids[p % releases]] += rates[p]

    station_specs: list[dict[str, Any]] = []
    for sid, kind in zip(work_ids, kinds, strict=True):
        servers = int(rng.choice([1, 1, 2, 2, 3]))
        if kind == "inspection":
            mean_h = UTILISATION * servers / visits[sid]
            station_specs.append({"id": sid, "kind": "inspection", "inspectors": servers,
                                  "time_per_unit": _minutes(mean_h), "detection": 0.95,
                                  "false_reject": 0.001})
            continue
        spec: dict[str, Any] = {"id": sid, "servers": servers}
        availability = 1.0
        if rng.random() < 0.3:
            mtbf_h, mttr_h = float(rng.uniform(40, 160)), float(rng.uniform(0.5, 3.0))
            spec.update(mtbf=f"{mtbf_h:.3f}h", mttr=f"{mttr_h:.3f}h")
            availability = mtbf_h / (mtbf_h + mttr_h)
        mean_h = UTILISATION * servers * availability / visits[sid]
        spec["process_time"] = {"dist": "gamma", "mean": _minutes(mean_h),
                                "cv": round(float(rng.uniform(0.2, 0.5)), 3)}
        policy = rng.choice(["fifo", "fifo", "fifo", "edd", "priority", "spt"])
        if policy != "fifo":
            spec["dispatching"] = str(policy)
        station_specs.append(spec)
    for sid in release_ids:
        reviewers = 2
        station_specs.append({
            "id": sid, "kind": "release", "sla": "3d", "reviewers": reviewers,
            "review_time": {"dist": "exponential",
                            "mean": _minutes(UTILISATION * reviewers / visits[sid])}})

    # -- suppliers: one material each, three tiers; tier-1 materials into the bills of
    # materials, tier-2 and tier-3 materials the inputs of the tier nearer the plant.
    n1, n2, n3 = _tier_counts(suppliers)
    materials = {1: [f"m1_{k:04d}" for k in range(n1)], 2: [f"m2_{k:04d}" for k in range(n2)],
                 3: [f"m3_{k:04d}" for k in range(n3)]}
    users = min(products, USERS_PER_MATERIAL)
    boms: list[dict[str, int]] = [{} for _ in range(products)]
    for _ in range(users):
        for p, held in enumerate(_deal(materials[1], products, rng)):
            for m in held:
                boms[p].setdefault(m, int(rng.choice([1, 1, 2])))
    per_h: dict[str, float] = dict.fromkeys(materials[1], 0.0)  # consumption, units/h
    for p, bom in enumerate(boms):
        for m, q in bom.items():
            per_h[m] += rates[p] * q
    names = list(_REGIONS)
    shares = np.array([_REGIONS[r][1] for r in names])
    inputs_of: dict[str, list[tuple[str, int]]] = {}  # material -> (input material, qty)
    for tier in (1, 2):
        for m, held in zip(materials[tier], _deal(materials[tier + 1], len(materials[tier]),
                                                  rng), strict=True):
            inputs_of[m] = [(x, int(rng.choice([1, 1, 2]))) for x in held]
    lead_d = {m: float(rng.uniform(*_LEAD_D[tier])) for tier in (1, 2, 3)
              for m in materials[tier]}
    lot = {m: max(1, round(per_h[m] * 24.0 * LOT_INTERVAL_D)) for m in materials[1]}
    stocks: dict[str, list[dict[str, Any]]] = {}
    for tier in (1, 2):
        for m in materials[tier]:
            # Its inputs go out in whole lots of its own: one lot's worth at a time.
            for x, q in inputs_of[m]:
                chunk = lot[m] * q
                per_h[x] = per_h.get(x, 0.0) + per_h[m] * q
                lot.setdefault(x, 0)
                lot[x] = max(lot[x], chunk)
            for x, q in inputs_of[m]:
                chunk = lot[m] * q
                reorder = math.ceil(per_h[m] * q * 24.0 * lead_d[x] * _COVER) + chunk
                stocks.setdefault(m, []).append({
                    "material": x, "quantity": q, "reorder_point": reorder,
                    "order_quantity": chunk,
                    # Stock spread over a lot so orders start at different times.
                    "initial": reorder + int(rng.integers(1, chunk + 1))})
        for x in materials[tier + 1]:
            lot[x] = max(lot[x], round(per_h[x] * 24.0 * LOT_INTERVAL_D))
    supplier_specs: list[dict[str, Any]] = []
    for tier in (1, 2, 3):
        for k, m in enumerate(materials[tier]):
            region = SHOCK_REGION if k == 0 else str(rng.choice(names, p=shares))
            countries = _REGIONS[region][0]
            spec = {"id": f"sup{tier}_{k:04d}", "material": m, "tier": tier,
                    "region": region, "country": countries[int(rng.integers(len(countries)))],
                    "lot_size": lot[m],
                    "lead_time": {"dist": "lognormal", "median": _days(lead_d[m]),
                                  "sigma": _LEAD_SIGMA},
                    "defect_rate": round(float(rng.uniform(0.0, 0.0005)), 6),
                    "unit_cost": round(float(rng.lognormal(1.0, 1.0)), 2)}
            if m in stocks:
                spec["inputs"] = stocks[m]
            supplier_specs.append(spec)
    buffer_specs = []
    for k, m in enumerate(materials[1]):
        reorder = math.ceil(per_h[m] * 24.0 * lead_d[m] * _COVER)
        buffer_specs.append({"id": f"buf{k:04d}", "material": m, "reorder_point": reorder,
                             "initial": reorder + int(rng.integers(1, lot[m] + 1))})

    product_specs = []
    for p, route in enumerate(routes):
        routing: list[Any] = list(route)
        loop = rework[p]
        if loop is not None:
            i, probability = loop
            routing[i] = {"station": route[i], "rework": {"to": route[i - 1],
                                                          "probability": probability}}
        product_specs.append({
            "id": f"prod{p:03d}", "routing": [*routing, release_ids[p % releases]],
            "bom": boms[p], "demand": {"rate": f"{rates[p]:.6f}/h", "due_in": "5d"},
            "priority": int(rng.integers(1, 4))})

    horizon_h = horizon_d * 24.0
    return {
        "version": 1,
        "name": f"generated-{products}p-{stations}s-{suppliers}n",
        "description": (f"Generated: {products} products, {stations} stations, {suppliers} "
                        f"suppliers in three tiers; an outage of every {SHOCK_REGION} "
                        "supplier."),
        "horizon": _days(horizon_d), "warmup": _days(warmup_d),
        "plant": {"suppliers": supplier_specs, "buffers": buffer_specs,
                  "stations": station_specs, "products": product_specs},
        "hypothesis": {"probability": 0.9, "tolerances": [{"kpi": "otd", "min": 0.9}]},
        "shocks": [{"id": "outage-region", "type": "supplier_outage",
                    "target": {"region": SHOCK_REGION}, "start": _minutes(0.4 * horizon_h),
                    "duration": _minutes(min(14 * 24.0, 0.1 * horizon_h)),
                    "recovery": {"profile": "linear",
                                 "over": _minutes(min(7 * 24.0, 0.05 * horizon_h))}}],
        "experiment": {"replications": 1, "seed": seed, "engine": "simpy", "bucket": "1d"},
    }
