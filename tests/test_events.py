"""In-run journal records: one frozen, past-tense dataclass per kind, the same fields on
every record of a kind."""

from __future__ import annotations

import dataclasses
import gc
import json
import re

import pytest

from shocktwin.scenarios import load_scenario, reference_scenario
from shocktwin.twin.experiment.replication import run_experiment
from shocktwin.twin.journal.record import make_journal
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


#: What the journal's hash chain adds to every record.
CHAIN = {"replication", "hash", "prev", "prev_hash", "seq"}
#: The journal's record of a lot decision, as its readers rely on it.
LOT_INSPECTED = ["kind", "at_h", "material", "supplier", "lot_size", "decision", "severity",
                 "n", "found"]


@pytest.mark.parametrize("name", ["valve_disruptions", "column_discontinued",
                                  "valve_earthquake"])
def test_journal_records_of_lot_decisions_name_their_supplier(name: str) -> None:
    """Every lot decision in the journal has the same fields and names the supplier that
    delivered the lot (only skipped lots did before, so the others could not be traced)."""
    scenario = load_scenario(reference_scenario(name))
    result = run_experiment(scenario, replications=1, seed=7)
    journal = make_journal(result, started_utc="t0", ended_utc="t1", scenario_file=None)
    records = json.loads(journal.to_json())["records"]
    lots = [r for r in records if r.get("kind") == "LotInspected"]
    assert lots, "the scenario inspects incoming lots"
    suppliers = {s.id for s in scenario.plant.suppliers} if scenario.plant else set()
    for r in lots:
        assert set(r) - CHAIN == set(LOT_INSPECTED), r
        assert r["supplier"] in suppliers, r
    times = [e.at_h for e in result.replications[0].log]
    assert times == sorted(times)
