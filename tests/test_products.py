"""Plants that make several products on shared stations: against the product-form solution
of a Jackson network, Cobham's priority-queue waits, conservation per product, and the
problems of a bad product section."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

from shocktwin.errors import ScenarioError
from shocktwin.scenarios import parse_scenario
from shocktwin.twin.experiment.replication import build_model, run_experiment
from shocktwin.twin.kernel import make_kernel


def _ci99(values: np.ndarray) -> tuple[float, float]:
    half = stats.t.ppf(0.995, values.size - 1) * values.std(ddof=1) / math.sqrt(values.size)
    return values.mean() - half, values.mean() + half


JACKSON: dict[str, Any] = {
    "version": 1, "name": "jackson", "horizon": "6000h", "warmup": "300h",
    "plant": {
        "stations": [
            {"id": "s1", "process_time": {"dist": "exponential", "mean": "1h"}},
            {"id": "s2", "process_time": {"dist": "exponential", "mean": "0.8h"}},
            {"id": "s3", "process_time": {"dist": "exponential", "mean": "1h"}},
        ],
        "products": [
            {"id": "a", "routing": ["s1", {"station": "s2",
                                           "rework": {"to": "s1", "probability": 0.2}}, "s3"],
             "demand": {"rate": "0.4/h", "due_in": "100h"}},
            {"id": "b", "routing": ["s2", {"station": "s3",
                                           "rework": {"to": "s2", "probability": 0.25}}],
             "demand": {"rate": "0.3/h", "due_in": "100h"}},
        ],
    },
    "experiment": {"replications": 20, "seed": 11},
}


def _jackson_expected() -> dict[str, float]:
    """Mean number in system per station from the traffic equations and the product form
    (each station an M/M/1 with the total flow; service the same for both products)."""
    lam_a, lam_b = 0.4, 0.3
    visits_a = 1 / (1 - 0.2)  # s1 and s2 repeat together until the loop is not taken
    visits_b = 1 / (1 - 0.25)  # s2 and s3 likewise
    flow = {"s1": lam_a * visits_a, "s2": lam_a * visits_a + lam_b * visits_b,
            "s3": lam_a + lam_b * visits_b}
    mean_s = {"s1": 1.0, "s2": 0.8, "s3": 1.0}
    out = {}
    for sid, lam in flow.items():
        rho = lam * mean_s[sid]
        out[sid] = rho / (1 - rho)
    return out


def test_two_product_jackson_network_matches_its_product_form_solution() -> None:
    expected = _jackson_expected()
    # ρ = 0.5, 0.72, 0.8: L = 1, 2.571, 4 (checked by hand, so the formula above is right).
    assert [round(expected[s], 3) for s in ("s1", "s2", "s3")] == [1.0, 2.571, 4.0]
    sc = parse_scenario(JACKSON)
    result = run_experiment(sc)
    window = sc.horizon - sc.warmup
    for sid, want in expected.items():
        # L = ρ + λ·Wq, all three measured in the run: utilisation is the busy share,
        # λ the completions per hour, Wq the mean wait in the queue.
        values = []
        for rep in result.replications:
            row = next(r for r in rep.stations if r["station"] == sid)
            values.append(row["utilisation"] + row["served"] / window * row["wait_mean_h"])
        low, high = _ci99(np.array(values))
        assert low <= want <= high, (sid, want, low, high)
    for product, rate in (("a", 0.4), ("b", 0.3)):
        low, high = _ci99(np.array([r.kpis[f"throughput_per_h[{product}]"]
                                    for r in result.replications]))
        assert low <= rate <= high, (product, rate, low, high)


def _priority_plant(policy: str) -> dict[str, Any]:
    return {
        "version": 1, "name": "priority", "horizon": "8000h", "warmup": "300h",
        "plant": {
            "stations": [{"id": "m", "process_time": {"dist": "exponential", "mean": "1h"},
                          "dispatching": policy}],
            "products": [
                {"id": "urgent", "routing": ["m"], "priority": 1,
                 "demand": {"rate": "0.3/h", "due_in": "1000h"}},
                {"id": "normal", "routing": ["m"], "priority": 2,
                 "demand": {"rate": "0.5/h", "due_in": "1000h"}},
            ],
        },
        "experiment": {"replications": 20, "seed": 5},
    }


def test_priority_dispatching_gives_cobhams_waits_per_class() -> None:
    # Cobham (1954), non-preemptive priority M/M/1: W_k = W0 / ((1 − σ_{k−1})(1 − σ_k)),
    # W0 = Σ λ_i E[S_i²] / 2 = 0.8 · 2 / 2 = 0.8 h; σ_1 = 0.3, σ_2 = 0.8.
    w0 = 0.8
    waits = {"urgent": w0 / (1 - 0.3), "normal": w0 / ((1 - 0.3) * (1 - 0.8))}
    result = run_experiment(parse_scenario(_priority_plant("priority")))
    for product, wq in waits.items():
        # The release lead time of a one-station routing is the wait plus the service.
        low, high = _ci99(np.array([r.kpis[f"release_lead_time_mean[{product}]"]
                                    for r in result.replications]))
        assert low <= wq + 1.0 <= high, (product, wq + 1.0, low, high)
    # Under FIFO both classes wait the M/M/1 time ρ/(μ − λ) = 0.8 / 0.2 = 4 h.
    fifo = run_experiment(parse_scenario(_priority_plant("fifo")))
    for product in waits:
        low, high = _ci99(np.array([r.kpis[f"release_lead_time_mean[{product}]"]
                                    for r in fifo.replications]))
        assert low <= 5.0 <= high, (product, low, high)


def test_shortest_processing_time_cuts_the_mean_flow_time_and_uses_the_drawn_times() -> None:
    # An M/G/1 with a spread of times: SPT lowers the mean flow time below FIFO's 4 h +
    # service (Conway, Maxwell & Miller), while the work done, and so the utilisation, is
    # the same share ρ = 0.8 (the time drawn on arrival is the time taken).
    def plant(policy: str) -> dict[str, Any]:
        out = _priority_plant(policy)
        out["plant"]["stations"][0]["process_time"] = {"dist": "gamma", "mean": "1h", "cv": 1.5}
        return out

    spt = run_experiment(parse_scenario(plant("spt")))
    fifo = run_experiment(parse_scenario(plant("fifo")))
    lead_spt = np.mean([r.kpis["release_lead_time_mean"] for r in spt.replications])
    lead_fifo = np.mean([r.kpis["release_lead_time_mean"] for r in fifo.replications])
    assert lead_spt < 0.7 * lead_fifo
    util = np.array([r.stations[0]["utilisation"] for r in spt.replications])
    low, high = _ci99(util)
    assert low <= 0.8 <= high


def test_earliest_due_date_serves_the_earliest_due_order_first() -> None:
    # Orders placed at once, due in different times: under EDD the one due first is done
    # first, whatever order they arrived in.
    data: dict[str, Any] = {
        "version": 1, "name": "edd", "horizon": "20h",
        "plant": {
            "stations": [{"id": "m", "process_time": "1h", "dispatching": "edd"}],
            "products": [
                {"id": "late", "routing": ["m"],
                 "demand": {"orders": [{"at": "0h"}, {"at": "0h"}], "due_in": "10h"}},
                {"id": "soon", "routing": ["m"],
                 "demand": {"orders": [{"at": "0.5h"}], "due_in": "2h"}},
            ],
        },
        "experiment": {"replications": 1},
    }
    rep = run_experiment(parse_scenario(data)).replications[0]
    # The first "late" order takes the idle machine at 0 h; at 1 h "soon" (due 2.5 h) goes
    # before the second "late" (due 10 h): done at 2 h, a lead time of 1.5 h.
    assert rep.kpis["order_lead_time_mean[soon]"] == pytest.approx(1.5)
    assert rep.kpis["order_lead_time_mean[late]"] == pytest.approx((1.0 + 3.0) / 2)


def test_a_product_takes_its_own_time_at_a_shared_station() -> None:
    data: dict[str, Any] = {
        "version": 1, "name": "own-time", "horizon": "10h",
        "plant": {
            "stations": [{"id": "m", "process_time": "1h"}],
            "products": [
                {"id": "quick", "routing": [{"station": "m", "process_time": "15min"}],
                 "demand": {"orders": [{"at": "0h"}], "due_in": "5h"}},
                {"id": "slow", "routing": ["m"],
                 "demand": {"orders": [{"at": "2h"}], "due_in": "5h"}},
            ],
        },
        "experiment": {"replications": 1},
    }
    rep = run_experiment(parse_scenario(data)).replications[0]
    assert rep.kpis["release_lead_time_mean[quick]"] == pytest.approx(0.25)
    assert rep.kpis["release_lead_time_mean[slow]"] == pytest.approx(1.0)


# --------------------------------------------------------------------------- conservation


@st.composite
def product_plants(draw: st.DrawFn) -> dict[str, Any]:
    n_stations = draw(st.integers(2, 4))
    stations: list[dict[str, Any]] = [
        {"id": f"s{i}", "servers": draw(st.integers(1, 2)),
         "process_time": {"dist": "exponential", "mean": draw(st.sampled_from(["2min",
                                                                               "5min"]))},
         "defect_rate": draw(st.sampled_from([0.0, 0.05])),
         "dispatching": draw(st.sampled_from(["fifo", "edd", "spt", "priority"]))}
        for i in range(n_stations)]
    stations.append({"id": "qc", "kind": "inspection", "time_per_unit": "1min",
                     "detection": 0.9, "false_reject": draw(st.sampled_from([0.0, 0.05]))})
    products = []
    for k in range(draw(st.integers(1, 3))):
        route = draw(st.lists(st.sampled_from([s["id"] for s in stations[:-1]]),
                              min_size=1, max_size=4))
        steps: list[Any] = list(route)
        if draw(st.booleans()):
            i = draw(st.integers(0, len(route) - 1))
            steps[i] = {"station": route[i],
                        "rework": {"to": route[draw(st.integers(0, i))],
                                   "probability": draw(st.sampled_from([0.1, 0.3]))}}
        steps.append("qc")
        products.append({"id": f"p{k}", "routing": steps, "priority": draw(st.integers(1, 3)),
                         "bom": {"m": draw(st.integers(1, 2))},
                         "demand": {"rate": f"{draw(st.integers(1, 4))}/h", "due_in": "4h"}})
    used = {step if isinstance(step, str) else step["station"]
            for product in products for step in product["routing"]}
    stations = [s for s in stations if s["id"] in used]
    return {
        "version": 1, "name": "mix", "horizon": "2d", "warmup": "4h",
        "plant": {
            "suppliers": [{"id": "sup", "material": "m", "lot_size": draw(st.integers(20, 200)),
                           "lead_time": {"dist": "exponential", "mean": "3h"},
                           "defect_rate": 0.02}],
            "buffers": [{"id": "b", "material": "m", "initial": draw(st.integers(0, 100)),
                         "reorder_point": draw(st.integers(0, 60))}],
            "stations": stations, "products": products,
        },
        "experiment": {"bucket": "3h"},
    }


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(product_plants(), st.integers(0, 3))
def test_units_are_conserved_per_product_at_every_sampled_instant(data: dict[str, Any],
                                                                   replication: int) -> None:
    sc = parse_scenario(data)
    kernel = make_kernel("simpy")
    model = build_model(sc, kernel, seed=3, replication=replication)
    seen: list[float] = []

    def check(_: Any) -> None:
        now = kernel.now()
        seen.append(now)
        wip = model.wip_by_product()  # type: ignore[attr-defined]
        for route, here in zip(model.products, wip, strict=True):  # type: ignore[attr-defined]
            assert route.started == route.released + route.scrapped + here, (now, route.id)
        assert sum(wip) == model.wip_count()
        if now + 1.0 < sc.horizon:
            kernel.schedule(1.0, check)

    kernel.schedule(0.5, check)
    model.run()
    assert len(seen) > 10


# --------------------------------------------------------------------------- bad input


def _problems(data: dict[str, Any]) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(data)
    return [f"{p.path}: {p.message}" for p in info.value.problems]


def test_every_problem_of_a_bad_product_section_is_listed_at_once() -> None:
    data: dict[str, Any] = {
        "version": 1, "name": "bad", "horizon": "1d",
        "plant": {
            "suppliers": [{"id": "sup", "material": "m", "lead_time": "1d", "lot_size": 10}],
            "buffers": [{"id": "b", "material": "m", "initial": 0, "reorder_point": 0}],
            "stations": [{"id": "press", "process_time": "1min", "dispatching": "edf"},
                         {"id": "rel", "kind": "release", "sla": "4h"}],
            "products": [
                {"id": "a", "routing": ["pres", "rel"], "bom": {"gasket": 1},
                 "demand": {"rate": "1/h", "due_in": "1d"}},
                {"id": "b", "routing": ["rel", {"station": "press",
                                                "rework": {"to": "lathe",
                                                           "probability": 0.1}}]},
            ],
        },
    }
    problems = _problems(data)
    text = "\n".join(problems)
    assert "plant.products[1].demand: required key is missing" in text or \
        "plant.products[1].demand" in text, text
    data["plant"]["products"][1]["demand"] = {"rate": "1/h", "due_in": "1d"}
    text = "\n".join(_problems(data))
    assert "plant.stations[0].dispatching: unknown dispatching policy 'edf'" in text
    assert "did you mean 'edd'" in text
    assert "plant.products[0].routing[0].station: unknown station 'pres'" in text
    assert "did you mean 'press'" in text
    assert "plant.products[0].bom.gasket: material 'gasket' is made by no supplier" in text
    assert "plant.products[1].routing[0].station: release station 'rel' must be the last" in text
    assert "plant.products[1].routing[1].rework.to: unknown station 'lathe'" in text


def test_a_plant_gives_one_product_or_several_not_both() -> None:
    data: dict[str, Any] = {
        "version": 1, "name": "bad", "horizon": "1d",
        "plant": {"stations": [{"id": "m", "process_time": "1min"}], "routing": ["m"],
                  "demand": {"rate": "1/h", "due_in": "1d"},
                  "products": [{"id": "a", "routing": ["m"],
                                "demand": {"rate": "1/h", "due_in": "1d"}}]},
    }
    assert any("give products, or routing and demand for one product, not both" in p
               for p in _problems(data))
    del data["plant"]["products"]
    del data["plant"]["demand"]
    assert any("plant.demand: required key is missing" in p for p in _problems(data))


def test_a_demand_is_of_exactly_one_kind() -> None:
    data: dict[str, Any] = {
        "version": 1, "name": "bad", "horizon": "1d",
        "plant": {"stations": [{"id": "m", "process_time": "1min"}], "routing": ["m"],
                  "demand": {"rate": "1/h", "every": "1h", "due_in": "1d"}},
    }
    assert any("give exactly one of rate" in p and "got rate, every" in p
               for p in _problems(data))


def test_the_one_product_form_keeps_its_canonical_form() -> None:
    # New keys with their defaults are left out of the canonical form, so a scenario
    # written before products, tiers and dispatching existed keeps its content hash.
    from tests.conftest import BASE_PLANT

    dumped = parse_scenario(BASE_PLANT).model_dump(mode="json")
    plant = dumped["plant"]
    assert "products" not in plant
    assert all("dispatching" not in st for st in plant["stations"])
    assert all(key not in sup for sup in plant["suppliers"]
               for key in ("tier", "region", "country", "inputs"))
    assert set(plant["demand"]) == {"rate", "quantity", "due_in"}


# --------------------------------------------------------------------------- supply tiers


def _two_tier(**outage: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "version": 1, "name": "tiers", "horizon": "260h",
        "plant": {
            "suppliers": [
                {"id": "valve-maker", "material": "valve", "lead_time": "10h", "lot_size": 50,
                 "region": "EU", "inputs": [{"material": "casting", "initial": 100,
                                             "reorder_point": 50, "order_quantity": 50}]},
                {"id": "foundry", "material": "casting", "tier": 2, "region": "JP",
                 "lead_time": "24h", "lot_size": 50},
            ],
            "buffers": [{"id": "valves", "material": "valve", "initial": 100,
                         "reorder_point": 30, "order_quantity": 50}],
            "stations": [{"id": "m", "process_time": "1min"}],
            "routing": ["m"],
            "demand": {"every": "1h", "due_in": "10h"},
        },
        "experiment": {"replications": 1, "bucket": "1h"},
    }
    if outage:
        data["shocks"] = [{"id": "quake", "type": "supplier_outage", "start": "0h",
                           "duration": "2000h", **outage}]
    return data


def test_a_tier_two_outage_reaches_the_plant_through_the_tier_one_stock_and_lead_time() -> None:
    # By hand, one valve an hour from 1 h on. The plant orders 50 valves whenever its
    # position falls to 30: at 70 h and 120 h; the valve maker makes each from 50 of its
    # 100 castings in 10 h (deliveries at 80 h and 130 h) and reorders castings from the
    # foundry at 70 h and 120 h, which the outage holds. The plant's order at 170 h finds
    # no castings, so its last 30 valves run out at 200 h: 60 h of stock-out to 260 h.
    # Without the outage the castings arrive after 24 h and the plant never runs out.
    calm = run_experiment(parse_scenario(_two_tier())).replications[0]
    assert calm.kpis["stockout_hours"] == 0.0
    hit = run_experiment(parse_scenario(_two_tier(target="foundry"))).replications[0]
    assert hit.kpis["stockout_hours"] == pytest.approx(60.0)
    first = int(np.flatnonzero(hit.series["stockout_hours"] > 0)[0])
    assert hit.series["t_start_h"][first] == 200.0


def test_a_selector_hits_every_matching_supplier_at_once() -> None:
    by_region = run_experiment(parse_scenario(_two_tier(target={"region": "JP"})))
    rep = by_region.replications[0]
    assert rep.kpis["stockout_hours"] == pytest.approx(60.0)
    hits = [e for e in rep.log if e.kind == "SelectorMatched"]
    assert [e.suppliers for e in hits] == [("foundry",)]
    started = next(e for e in rep.log if e.kind == "ShockStarted")
    assert started.target == "{region=JP}"
    both = run_experiment(parse_scenario(_two_tier(target={"tier": 1})))
    # The valve maker itself stops: the lot ordered at 70 h is held, so the plant's 100
    # valves run out at 100 h.
    assert both.replications[0].kpis["stockout_hours"] == pytest.approx(160.0)


def test_bad_supply_tiers_are_listed_with_their_place() -> None:
    data = _two_tier()
    sups = data["plant"]["suppliers"]
    sups[1]["inputs"] = [{"material": "valve", "initial": 0, "reorder_point": 0}]
    text = "\n".join(_problems(data))
    assert "the supplier tiers run in a circle" in text
    data = _two_tier(target={"region": "US"})
    text = "\n".join(_problems(data))
    assert "shocks[0].target: the selector {region=US} matches no supplier" in text
    assert "region: EU, JP" in text
    data = _two_tier()
    data["plant"]["suppliers"][1]["tier"] = 3
    text = "\n".join(_problems(data))
    assert "no tier-2 supplier makes 'casting' (its suppliers are tier 3)" in text
    assert "plant.suppliers[1].tier: no tier-2 supplier lists 'casting' in its inputs" in text


def test_a_plant_of_several_products_runs_the_same_on_both_engines() -> None:
    from shocktwin.scenarios import load_scenario, reference_scenario
    from shocktwin.twin.experiment.replication import run_replication

    sc = load_scenario(reference_scenario("hydraulics_quake"))
    a = run_replication(sc, 0, seed=5, engine="simpy")
    b = run_replication(sc, 0, seed=5, engine="salabim")
    assert a.kpis == b.kpis
    assert a.events == b.events


def test_a_backup_further_out_takes_over_the_tier_one_suppliers_orders() -> None:
    # The foundry is destroyed at the start; its backup (same lead time, qualified) takes
    # the valve maker's casting orders from 1 h on, before the first of them (70 h), so the
    # plant runs as calmly as without the disaster.
    data = _two_tier()
    data["plant"]["suppliers"].append({"id": "foundry-b", "material": "casting", "tier": 2,
                                       "region": "EU", "lead_time": "24h", "lot_size": 50})
    data["shocks"] = [{"id": "fire", "type": "site_disaster", "target": "foundry",
                       "start": "0h", "duration": "2000h", "backup_after": "1h"}]
    rep = run_experiment(parse_scenario(data)).replications[0]
    assert rep.kpis["stockout_hours"] == 0.0
    switched = [e for e in rep.log if e.kind == "SourceSwitched"]
    assert [(e.buffer, e.to_supplier) for e in switched] == [("valve-maker/casting",
                                                              "foundry-b")]


def test_run_prints_the_kpis_of_many_products_only_where_a_tolerance_names_them(
        tmp_path: Any, runner: Any) -> None:
    import yaml

    from shocktwin import cli

    products = [{"id": f"p{k}", "routing": ["m"], "demand": {"rate": "0.1/h", "due_in": "5h"}}
                for k in range(8)]
    data = {"version": 1, "name": "many", "horizon": "50h",
            "plant": {"stations": [{"id": "m", "process_time": "1min"}],
                      "products": products},
            # 2 of 2 replications can show a 15 % share, not 90 % (the interval starts at 19.8 %).
            "hypothesis": {"probability": 0.15,
                           "tolerances": [{"kpi": "otd", "product": "p3", "min": 0.5}]},
            "experiment": {"replications": 2}}
    path = tmp_path / "many.yaml"
    path.write_text(yaml.safe_dump(data))
    result = runner.invoke(cli.app, ["run", str(path)], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "otd[p3]" in result.output and "otd[p4]" not in result.output
    assert "per-product KPIs of 7 more products are in --json" in result.output
    doc = runner.invoke(cli.app, ["run", str(path), "--json"]).output
    assert "otd[p4]" in doc
