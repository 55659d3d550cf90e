"""The ``Work`` protocol of what stations serve: mypy checks that ``Part``, ``LotJob`` and the
shop's ``Task`` fit it where a station is declared over them; these tests hold the same at
run time, and that a station's servers stay as small as before."""

from __future__ import annotations

from typing import get_type_hints

import pytest

from shocktwin.twin.kernel import make_kernel
from shocktwin.twin.kernel.base import Kernel
from shocktwin.twin.model.kinds import StationKind
from shocktwin.twin.model.part import LotJob, LotKind, Order, Part
from shocktwin.twin.model.shop import Job, ShopResource, Task
from shocktwin.twin.model.station import Server
from shocktwin.twin.model.work import Work


def _items(kernel: Kernel) -> list[Work]:
    part = Part(Order(0, 0.0, 1.0, 1))
    lot = LotJob("valve", None, [False, True], 2, LotKind.SAMPLE, None, 2, 0.5,
                 lambda job, station: None)
    mill = ShopResource("mill", 1, kernel, warmup_h=0.0, kind=StationKind.PROCESS)
    task = Task(Job(0, "A", 0.0, []), mill, 1.0, True, 0.0)
    return [part, lot, task]


@pytest.mark.parametrize("item", _items(make_kernel("simpy")),
                         ids=lambda item: type(item).__name__)
def test_every_served_item_has_what_a_station_reads(item: Work) -> None:
    for name, kind in get_type_hints(Work).items():
        assert isinstance(getattr(item, name), kind), name
    # Nothing is defective before a station or a supplier makes it so.
    assert item.defective is False


def test_a_generic_server_keeps_its_slots() -> None:
    # Generic adds no per-instance dict: a server is as small and as fast as before.
    assert not hasattr(Server(), "__dict__")
