"""The regional and geopolitical shocks, the export control's licences, the pandemic and
the tool vendor cut-off, each on a small deterministic plant whose effect is derived by hand;
the layers every shock touches; the catalogue's families.

The plants are built so that no two events fall on one instant: one order an hour on the
hour (``demand: every 1h``), constant lead times of a quarter past, shocks starting and
ending on the half hour.
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from typing import Any

import pytest

from shocktwin.errors import ScenarioError
from shocktwin.scenarios import parse_scenario
from shocktwin.shock_library import shock_types
from shocktwin.shock_library.base import Layer
from shocktwin.twin.experiment.replication import build_model, run_experiment
from shocktwin.twin.kernel import make_kernel


def supplier(sid: str, **more: Any) -> dict[str, Any]:
    return {"id": sid, "material": "valve", "lead_time": "10.25h", "lot_size": 50, **more}


def plant(suppliers: list[dict[str, Any]], shocks: list[dict[str, Any]] | None = None,
          **more: Any) -> dict[str, Any]:
    """One valve an hour from 1 h on, out of a stock of 40 that orders 50 when its position
    falls to 20: with a lead time of 10.25 h the orders go out at 20 h and 70 h and arrive
    at 30.25 h and 80.25 h, with 10 valves left each time; the plant never runs out."""
    data: dict[str, Any] = {
        "version": 1, "name": "catalogue", "horizon": "99.5h",
        "plant": {
            "suppliers": suppliers,
            "buffers": [{"id": "valves", "material": "valve", "initial": 40,
                         "reorder_point": 20, "order_quantity": 50}],
            "stations": [{"id": "m", "process_time": "1min"}],
            "routing": ["m"],
            "demand": {"every": "1h", "due_in": "10h"},
        },
        "shocks": shocks or [],
        "experiment": {"replications": 1, "bucket": "1h"},
    }
    for key, value in more.items():
        if key in ("stations", "routing", "products", "buffers", "demand"):
            data["plant"][key] = value
        else:
            data[key] = value
    return data


def run(data: dict[str, Any]) -> Any:
    return run_experiment(parse_scenario(data)).replications[0]


def records(rep: Any, kind: str) -> list[dict[str, Any]]:
    return [e.record() for e in rep.log if e.kind == kind]


def problems(data: dict[str, Any]) -> str:
    with pytest.raises(ScenarioError) as err:
        parse_scenario(data)
    return str(err.value)


# ------------------------------------------------------------------------------ catalogue


def test_shocks_list_shows_at_least_five_shocks_in_each_reviewed_family(runner) -> None:  # type: ignore[no-untyped-def]
    from shocktwin import cli

    rows = json.loads(runner.invoke(cli.app, ["shocks", "list", "--json"]).stdout)
    families = Counter(row["family"] for row in rows)
    for family in ("supply", "geopolitics", "climate", "technology"):
        assert families[family] >= 5, (family, families)
    by_type = {row["type"]: row for row in rows}
    for name, family, axis in (("regional_earthquake", "climate", "duration"),
                               ("typhoon", "climate", "duration"),
                               ("port_closure", "geopolitics", "duration"),
                               ("embargo", "geopolitics", "duration"),
                               ("price_spike", "supply", "rise"),
                               ("pandemic", "operations", "absent"),
                               ("tool_vendor_cutoff", "technology", "duration")):
        assert (by_type[name]["family"], by_type[name]["severity_axis"]) == (family, axis)


def test_every_shock_names_the_layers_its_levers_belong_to() -> None:
    layers = {name: {layer.value for layer in cls.layers} for name, cls in shock_types().items()}
    assert all(layers.values())
    assert layers["supplier_outage"] == {"physical"}
    assert layers["demand_surge"] == {"physical"}  # the order rate feeds the material flow
    assert layers["mes_outage"] == {"logical"}
    assert layers["expedited_order"] == {"logical"}
    assert layers["ai_model_drift"] == {"semantic"}
    assert layers["regulation_change"] == {"physical", "semantic"}
    assert layers["cyber_incident"] == {"logical", "semantic"}
    assert layers["toolchain_switch"] == layers["tool_vendor_cutoff"] == {
        "physical", "logical", "semantic"}
    for moves_orders in ("supplier_insolvency", "export_control", "embargo",
                         "regional_earthquake", "site_disaster"):
        assert layers[moves_orders] == {"physical", "logical"}, moves_orders
    # The rule is written where the layers are defined.
    assert "physical:" in (Layer.__doc__ or "") and "semantic:" in (Layer.__doc__ or "")


# ------------------------------------------------------------------------- regional shocks


def _quake_plant(**quake: Any) -> dict[str, Any]:
    return plant([supplier("valve-jp", region="JP", country="JP"),
                  supplier("valve-jp2", region="JP", country="JP"),
                  supplier("valve-kr", region="KR", country="KR", lead_time="5.25h")],
                 [{"id": "quake", "type": "regional_earthquake", "target": {"region": "JP"},
                   "start": "10.5h", **quake}])


def test_a_regional_earthquake_stops_every_site_in_the_region_and_slows_its_routes() -> None:
    # The order of 20 h is placed during the quake (10.5 h to 42.5 h here). With undamaged
    # routes (factor 1) it falls due at 30.25 h, waits for the site until 42.5 h, and the
    # 40 valves in stock run out at 40 h: 2.5 h without stock. The next order goes out at
    # 70 h, when 20 are left, and arrives at 80.25 h with 10 left.
    site = run(_quake_plant(duration="32h", route_factor=1.0))
    assert site.kpis["stockout_hours"] == pytest.approx(2.5)
    # Damaged routes triple its lead time: due at 20 + 30.75 = 50.75 h, after the quake;
    # stock runs out from 40 h to 50.75 h.
    routes = run(_quake_plant(duration="20h", route_factor=3.0))
    assert routes.kpis["stockout_hours"] == pytest.approx(10.75)
    # Every supplier in JP is hit, the backup in KR is not.
    [matched] = records(routes, "SelectorMatched")
    assert matched["suppliers"] == ("valve-jp", "valve-jp2")
    assert records(routes, "ShockStarted")[0]["target"] == "{region=JP}"


def test_a_regional_earthquake_moves_orders_to_a_backup_the_quake_spared() -> None:
    # 5 h after the quake (15.5 h) the plant leaves valve-jp; the JP backup is down too, so
    # it orders from valve-kr. Its first order goes out at 20 h and arrives at 25.25 h, with
    # 15 valves left: no stock-out.
    rep = run(_quake_plant(duration="20h", route_factor=3.0, backup_after="5h"))
    [switch] = records(rep, "SourceSwitched")
    assert (switch["at_h"], switch["to_supplier"], switch["orders_from_h"]) == (
        15.5, "valve-kr", 15.5)
    assert rep.kpis["stockout_hours"] == 0.0
    assert not records(rep, "OrdersCancelled")  # nothing was on order at valve-jp yet


def test_a_typhoon_holds_the_lots_and_ships_them_water_damaged() -> None:
    # The lot ordered at 20 h falls due at 30.25 h, in the storm (10.5 h to 35.5 h); it
    # ships at 35.5 h with every unit spoiled (water_damage 1). The 5 sound valves left
    # last until 40 h; from 41 h each valve taken is caught at inspection (1 min) and
    # scrapped, and its order takes the next: all 50 go within the hour 41-42 h. Lots
    # after the storm are sound, and the supplier's own rate (1e-12) spoils none.
    stations = [{"id": "iqc", "kind": "inspection", "inspectors": 1, "time_per_unit": "1min",
                 "detection": 1.0}]
    storm = {"id": "storm", "type": "typhoon", "target": {"region": "PH"}, "start": "10.5h",
             "duration": "25h", "water_damage": 1.0}
    sups = [supplier("valve-ph", region="PH", defect_rate=1e-12)]
    rep = run(plant(sups, [storm], stations=stations, routing=["iqc"]))
    assert rep.kpis["scrap"] == 50.0
    assert rep.series["scrap"][41] == 50.0
    assert rep.kpis["escaped_ppm"] == 0.0
    dry = run(plant(sups, [storm | {"water_damage": 0.0}], stations=stations,
                    routing=["iqc"]))
    assert dry.kpis["scrap"] == 0.0
    # Water damage multiplies a defect rate: a supplier without one is refused.
    text = problems(plant([supplier("valve-ph", region="PH")], [storm]))
    assert "typhoon makes water-damaged units by multiplying the supplier's defect rate" in text
    assert "valve-ph has defect_rate 0" in text and "or water_damage: 0" in text


def test_a_port_closure_holds_the_lots_and_charges_demurrage_on_them() -> None:
    # Valves at 2 each: the lots of 20 h and 70 h cost 100 each, over 99 valves made (the
    # order at 99 h finishes after the horizon). The port is shut from 25.5 h to 35.5 h:
    # the first lot waits from 30.25 h and ships at 35.5 h at +10 %, 110; 5 valves were
    # left, so no stock-out, and the next order still goes out at 70 h.
    sups = [supplier("valve-cn", region="CN-east", unit_cost=2.0)]
    calm = run(plant(sups))
    assert calm.kpis["cost_per_unit"] == pytest.approx(200 / 99)
    shut = run(plant(sups, [{"id": "port", "type": "port_closure",
                             "target": {"region": "CN-east"}, "start": "25.5h",
                             "duration": "10h", "surcharge": 0.1}]))
    assert shut.kpis["cost_per_unit"] == pytest.approx(210 / 99)
    assert shut.kpis["stockout_hours"] == 0.0


def _embargo_plant(**embargo: Any) -> dict[str, Any]:
    return plant([supplier("valve-xx", country="XX", unit_cost=1.0),
                  supplier("valve-xx2", country="XX", unit_cost=1.0),
                  supplier("valve-yy", country="YY", lead_time="5.25h", unit_cost=1.5)],
                 [{"id": "ban", "type": "embargo", "target": {"country": "XX"},
                   "start": "25.5h", "duration": "30h", **embargo}])


def test_an_embargo_moves_the_orders_to_a_backup_outside_the_country() -> None:
    # At 25.5 h the lot ordered at 20 h (50 valves, due 30.25 h) is cancelled, the XX
    # backup is embargoed too, and valve-yy takes over at once: 15 valves are left, so it
    # orders 50 then (due 30.75 h, with 10 left) and again at 70 h. Both lots cost 1.5 a
    # valve: 150 over 99 valves.
    rep = run(_embargo_plant())
    [matched] = records(rep, "SelectorMatched")
    assert matched["suppliers"] == ("valve-xx", "valve-xx2")
    [cancelled] = records(rep, "OrdersCancelled")
    assert (cancelled["at_h"], cancelled["supplier"], cancelled["units"]) == (
        25.5, "valve-xx", 50)
    [switch] = records(rep, "SourceSwitched")
    assert (switch["to_supplier"], switch["orders_from_h"]) == ("valve-yy", 25.5)
    assert rep.kpis["stockout_hours"] == 0.0
    assert rep.kpis["cost_per_unit"] == pytest.approx(150 / 99)
    # Waiting it out instead: the lot is held at the border until 55.5 h, and the stock is
    # empty from 40 h.
    waited = run(_embargo_plant(backup_after=None))
    assert waited.kpis["stockout_hours"] == pytest.approx(15.5)
    assert not records(waited, "SourceSwitched")


def test_a_price_spike_aimed_at_a_currency_raises_the_price_of_its_suppliers_only() -> None:
    # Three materials, one of each per unit, each ordered at 20 h and 70 h: valves (XX) at
    # 2, seals (XX) at 1, bolts (YY) at 4, so each round of lots costs 350. The spike from
    # 60.5 h to 90.5 h (+50 %, 60 % passed on: +30 %) reaches the second round of the XX
    # suppliers only: 130 + 65 + 200. Over 99 units.
    sups = [supplier("valve-a", country="XX", unit_cost=2.0),
            supplier("seal-b", country="XX", unit_cost=1.0) | {"material": "seal"},
            supplier("bolt-c", country="YY", unit_cost=4.0) | {"material": "bolt"}]
    buffers = [{"id": f"{m}s", "material": m, "initial": 40, "reorder_point": 20,
                "order_quantity": 50} for m in ("valve", "seal", "bolt")]
    calm = run(plant(sups, buffers=buffers))
    assert calm.kpis["cost_per_unit"] == pytest.approx(700 / 99)
    spike = run(plant(sups, [{"id": "fx", "type": "price_spike", "target": {"country": "XX"},
                              "start": "60.5h", "duration": "30h", "rise": 0.5,
                              "pass_through": 0.6}], buffers=buffers))
    assert spike.kpis["cost_per_unit"] == pytest.approx(745 / 99)
    [matched] = records(spike, "SelectorMatched")
    assert matched["suppliers"] == ("valve-a", "seal-b")


# -------------------------------------------------------------------------- export control


def _export_plant(backup: bool = False, **control: Any) -> dict[str, Any]:
    sups = [supplier("valve-xx")]
    if backup:
        sups.append(supplier("valve-yy", lead_time="5.25h"))
    return plant(sups, [{"id": "ec", "type": "export_control", "target": "valve-xx",
                         "start": "25.5h", **control}], horizon="129.5h")


def test_a_partial_licence_ships_its_share_and_strands_the_rest() -> None:
    # The lot ordered at 20 h (due 30.25 h) waits at the border from 25.5 h; the stock runs
    # out at 40 h; the licence comes at 45.5 h and releases it: 5.5 h without stock, 45
    # valves left after the 5 waiting orders. At 70 h (20 left) the plant orders 50: 20 %
    # is licensed — 10 valves, due 80.25 h — and 40 are stranded at the supplier, still on
    # order, so the buffer does not order them again. The 20 valves at 80.25 h last until
    # 100 h; the position (40 on order less what is owed) reaches 20 at 120 h, when the
    # next order again brings 10 after the horizon. Out of stock from 100 h to 129.5 h.
    rep = run(_export_plant(duration="110h", decision_after="20h", licensed=0.2))
    assert rep.kpis["stockout_hours"] == pytest.approx(5.5 + 29.5)
    assert not records(rep, "SourceSwitched") and not records(rep, "OrdersCancelled")
    # A full licence after the same wait: only the 5.5 h at the border.
    full = run(_export_plant(duration="110h", decision_after="20h", licensed=1.0))
    assert full.kpis["stockout_hours"] == pytest.approx(5.5)


def test_a_denied_licence_cancels_what_waited_and_the_backup_takes_over_after_redesign(
        ) -> None:
    # Denied at 45.5 h: the lot that waited at the border (50) is cancelled and the supplier
    # lost. The redesign began with the control at 25.5 h and takes 30 h, so the backup
    # takes orders from 55.5 h; it orders 50 for the 15 orders waiting, due 60.75 h. Out
    # of stock from 40 h to 60.75 h; its later lots (70 h, 120 h) arrive in time.
    rep = run(_export_plant(backup=True, duration="30h", decision_after="20h"))
    [cancelled] = records(rep, "OrdersCancelled")
    assert (cancelled["at_h"], cancelled["units"], cancelled["reason"]) == (
        45.5, 50, "shock ec: licence denied")
    [switch] = records(rep, "SourceSwitched")
    assert (switch["at_h"], switch["to_supplier"], switch["orders_from_h"]) == (
        45.5, "valve-yy", 55.5)
    assert rep.kpis["stockout_hours"] == pytest.approx(20.75)


def test_an_export_control_lifted_before_its_decision_releases_what_waited() -> None:
    # Lifted at 35.5 h, before the decision due at 45.5 h: the lot waiting since 30.25 h
    # ships then (5 valves were left) and the supplier stays.
    rep = run(_export_plant(backup=True, duration="10h", decision_after="20h"))
    assert rep.kpis["stockout_hours"] == 0.0
    assert not records(rep, "SourceSwitched") and not records(rep, "OrdersCancelled")


def test_an_export_control_by_default_is_denied_at_once_as_before() -> None:
    # No wait, no licence: at 25.5 h the lot on order is cancelled and the backup takes
    # orders after the redesign, 30 h later (55.5 h), as the export control always did.
    rep = run(_export_plant(backup=True, duration="30h"))
    [cancelled] = records(rep, "OrdersCancelled")
    assert (cancelled["at_h"], cancelled["units"]) == (25.5, 50)
    [switch] = records(rep, "SourceSwitched")
    assert (switch["at_h"], switch["orders_from_h"]) == (25.5, 55.5)


# ------------------------------------------------------------------- pandemic, tool vendor


def test_a_pandemic_takes_staff_and_demand_at_once() -> None:
    # No suppliers; one station of 2 servers, 1.25 h a unit; one order an hour, each on the
    # server the last one left (no waiting). From 15.75 h to 45.75 h half the staff is
    # absent (the idle server goes) and orders come every 2 h: 16, 18, ..., 44, then 46.
    # The one wait: unit 16 finds the remaining server busy until 16.25 h. Orders 1-15,
    # 16-44 (15), 46-98 released by the horizon: 83, mean release lead 1.25 h + 0.25 h / 83.
    data = plant([], [{"id": "flu", "type": "pandemic", "start": "15.75h", "duration": "30h",
                       "absent": 0.5, "demand": 0.5, "lead_time_factor": 1.0}],
                 stations=[{"id": "m", "servers": 2, "process_time": "1.25h"}], buffers=[])
    del data["plant"]["suppliers"]
    rep = run(data)
    assert rep.kpis["throughput_per_h"] == pytest.approx(83 / 99.5)
    assert rep.kpis["release_lead_time_mean"] == pytest.approx(1.25 + 0.25 / 83)
    calm = copy.deepcopy(data)
    calm["shocks"] = []
    assert run(calm).kpis["throughput_per_h"] == pytest.approx(98 / 99.5)


def test_a_pandemic_stretches_every_supplier_s_lead_time() -> None:
    # From 15.5 h to 45.5 h orders come every 2 h (16, 18, ...) and lead times are 3.5
    # times as long. The stock falls to 20 at 24 h; that order takes 35.875 h (due
    # 59.875 h). The 10 valves left at 44 h serve 46-54 h and one more: out from 55 h to
    # 59.875 h. The next order (85 h) has the normal lead time and arrives with 10 left.
    rep = run(plant([supplier("valve")],
                    [{"id": "flu", "type": "pandemic", "start": "15.5h", "duration": "30h",
                      "absent": 0.5, "demand": 0.5, "lead_time_factor": 3.5}],
                    stations=[{"id": "m", "servers": 4, "process_time": "1min"}]))
    assert rep.kpis["stockout_hours"] == pytest.approx(4.875)


def test_a_tool_vendor_cut_off_puts_every_bound_station_on_manual_review() -> None:
    # Units go through iqc-a and iqc-b (bound to the tool) and iqc-c (not), 10 min each.
    # Without the tool a and b inspect every unit, in 20 min, with one of two inspectors:
    # one unit an hour never waits, so each takes 20 + 20 + 10 min = 50 min. By 99.5 h
    # iqc-a has finished units 1-99, iqc-b and iqc-c 1-98.
    stations = [{"id": sid, "kind": "inspection", "inspectors": 2, "time_per_unit": "10min",
                 "sample_fraction": fraction}
                for sid, fraction in (("iqc-a", 0.5), ("iqc-b", 0.5), ("iqc-c", 1.0))]
    cut = {"id": "cut", "type": "tool_vendor_cutoff", "target": "iqc-a", "also_at": ["iqc-b"],
           "start": "0h", "duration": "200h"}
    data = plant([], [cut], stations=stations, routing=["iqc-a", "iqc-b", "iqc-c"],
                 buffers=[])
    del data["plant"]["suppliers"]
    rep = run(data)
    assert rep.kpis["release_lead_time_mean"] == pytest.approx(50 / 60)
    rows = {r["station"]: r for r in rep.stations}
    assert [(rows[s]["inspected"], rows[s]["passed_unseen"]) for s in ("iqc-a", "iqc-b")] == [
        (99, 0), (98, 0)]
    assert rows["iqc-c"]["inspected"] == 98
    # The shock outlasts the run: the bound stations end it with one inspector each.
    model = build_model(parse_scenario(data), make_kernel("simpy"), seed=0, replication=0)
    model.run()
    assert [model.station(s).online_servers() for s in ("iqc-a", "iqc-b", "iqc-c")] == [
        1, 1, 2]


# ----------------------------------------------------------------------------- bad input


def test_shocks_aimed_wrongly_are_refused_with_every_problem() -> None:
    sups = [supplier("valve-jp", region="JP", country="JP")]
    data = plant(sups, [
        {"id": "a", "type": "regional_earthquake", "target": "valve-jp", "start": "1h",
         "duration": "1h"},
        {"id": "b", "type": "embargo", "target": {"region": "JP"}, "start": "1h",
         "duration": "1h"},
        {"id": "c", "type": "typhoon", "target": {"tier": 1}, "start": "1h", "duration": "1h"},
        {"id": "d", "type": "breakdown_burst", "target": {"region": "JP"}, "start": "1h",
         "duration": "1h", "factor": 2},
        {"id": "e", "type": "tool_vendor_cutoff", "target": "iqc", "also_at": ["m", "iqc"],
         "start": "1h", "duration": "1h"},
    ], stations=[{"id": "iqc", "kind": "inspection", "time_per_unit": "1min"},
                 {"id": "m", "process_time": "1min"}], routing=["iqc", "m"])
    text = problems(data)
    assert ("shocks[0]: regional_earthquake hits every supplier in a region or country: aim "
            "it with a selector such as {region: JP}, not at one supplier") in text
    assert ("shocks[1]: embargo hits every supplier in a country: its selector {region=JP} "
            "needs a country") in text
    assert "shocks[2]: typhoon hits every supplier in a region or country: its selector" in text
    assert ("shocks[3].target: a selector chooses suppliers; a breakdown_burst shock needs "
            "the id of a process station") in text
    assert "shocks[4]: also_at: 'm' is not an inspection station (inspection stations: iqc)" \
        in text
    assert "shocks[4]: also_at names 'iqc' twice (the target counts)" in text


def test_a_partial_licence_keeps_the_supplier_so_it_combines_with_an_insolvency() -> None:
    data = _export_plant(licensed=0.5, decision_after="2h", duration="20h")
    control = data["shocks"][0]
    data["shocks"].append({"id": "bust", "type": "supplier_insolvency",
                           "target": control["target"], "start": "40h", "duration": "5h"})
    parse_scenario(data)  # a partial licence does not lose the supplier
    data["shocks"][0] = {**control, "licensed": 0.0}
    with pytest.raises(ScenarioError, match="already lost for good"):
        parse_scenario(data)
