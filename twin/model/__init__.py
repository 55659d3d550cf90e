"""Engine-neutral model components: suppliers, buffers, stations, release, the plant.

Names are imported on first use, so importing one small module of the model (its kinds, its
feeds protocol) does not build the whole plant.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shocktwin._lazy import lazy_exports

if TYPE_CHECKING:
    from shocktwin.twin.model.level import Level
    from shocktwin.twin.model.part import Order, Part
    from shocktwin.twin.model.plant import Plant, PlantRecord
    from shocktwin.twin.model.station import InspectionStation, ReleaseStation, Server, Station
    from shocktwin.twin.model.supplier import Buffer, Supplier

__all__ = ["Buffer", "InspectionStation", "Level", "Order", "Part", "Plant", "PlantRecord",
           "ReleaseStation", "Server", "Station", "Supplier"]

__getattr__, __dir__ = lazy_exports(__name__, {
    "level": ["Level"], "part": ["Order", "Part"], "plant": ["Plant", "PlantRecord"],
    "station": ["InspectionStation", "ReleaseStation", "Server", "Station"],
    "supplier": ["Buffer", "Supplier"]})
