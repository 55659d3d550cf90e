"""The export control's licences on a small deterministic plant whose effect is derived by
hand; the layers every shock touches.

The plants are built so that no two events fall on one instant: one order an hour on the
hour (``demand: every 1h``), constant lead times of a quarter past, shocks starting and
ending on the half hour.
"""

from __future__ import annotations

from typing import Any

import pytest

from shocktwin.scenarios import parse_scenario
from shocktwin.shock_library import shock_types
from shocktwin.shock_library.base import Layer
from shocktwin.twin.experiment.replication import run_experiment


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


# ---------------------------------------------------------------------------------- layers


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
    assert layers["toolchain_switch"] == {"physical", "logical", "semantic"}
    for moves_orders in ("supplier_insolvency", "export_control", "site_disaster"):
        assert layers[moves_orders] == {"physical", "logical"}, moves_orders
    # The rule is written where the layers are defined.
    assert "physical:" in (Layer.__doc__ or "") and "semantic:" in (Layer.__doc__ or "")


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
