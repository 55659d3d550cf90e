"""The layers every shock touches."""

from __future__ import annotations

from shocktwin.shock_library import shock_types
from shocktwin.shock_library.base import Layer


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
