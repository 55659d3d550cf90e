"""Engine-neutral model components: suppliers, buffers, stations, release, the plant."""

from __future__ import annotations

from twin.model.level import Level
from twin.model.part import Order, Part
from twin.model.plant import Plant, PlantRecord
from twin.model.station import InspectionStation, ReleaseStation, Server, Station
from twin.model.supplier import Buffer, Supplier

__all__ = ["Buffer", "InspectionStation", "Level", "Order", "Part", "Plant", "PlantRecord",
           "ReleaseStation", "Server", "Station", "Supplier"]
