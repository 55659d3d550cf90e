"""Engine-neutral model components: suppliers, buffers, stations, release, the plant."""

from __future__ import annotations

from shocktwin.twin.model.level import Level
from shocktwin.twin.model.part import Order, Part
from shocktwin.twin.model.plant import Plant, PlantRecord
from shocktwin.twin.model.station import InspectionStation, ReleaseStation, Server, Station
from shocktwin.twin.model.supplier import Buffer, Supplier

__all__ = ["Buffer", "InspectionStation", "Level", "Order", "Part", "Plant", "PlantRecord",
           "ReleaseStation", "Server", "Station", "Supplier"]
