"""In-run journal records: one frozen, past-tense dataclass per kind, the same fields on
every record of a kind."""

from __future__ import annotations

import dataclasses
import gc
import re

import pytest

from shocktwin.scenarios import load_scenario, reference_scenario
from shocktwin.twin.experiment.replication import run_replication
from shocktwin.twin.model import events
from shocktwin.twin.model.events import EVENT_KINDS, ModelEvent


def _subclasses(cls: type) -> set[type]:
    return {c for s in cls.__subclasses__() for c in {s, *_subclasses(s)}}


def test_every_event_kind_is_a_frozen_past_tense_record() -> None:
    gc.collect()  # slots=True rebuilds each class; the first build lingers until collected
    assert set(EVENT_KINDS) == {c.__name__ for c in _subclasses(ModelEvent)}
    for name, cls in EVENT_KINDS.items():
        assert re.fullmatch(r"[A-Z][a-z]+(?:[A-Z][a-z]+)*(?:ed|ing|Missing|Lost)", name), name
        assert dataclasses.fields(cls)[0].name == "at_h"
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(cls.__new__(cls), "at_h", 1.0)  # noqa: B010
        assert name in events.__all__


@pytest.mark.parametrize("name", ["valve_disruptions", "column_discontinued",
                                  "valve_earthquake"])
def test_every_record_of_a_kind_has_the_same_fields(name: str) -> None:
    scenario = load_scenario(reference_scenario(name))
    rep = run_replication(scenario, 0, seed=7)
    assert rep.log, "the scenario's shocks leave records"
    for event in rep.log:
        record = event.record()
        cls = EVENT_KINDS[record["kind"]]
        assert list(record) == ["kind", *(f.name for f in dataclasses.fields(cls))]
    times = [e.at_h for e in rep.log]
    assert times == sorted(times)
