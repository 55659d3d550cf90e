"""Suites: the default severity ranges of the shock library, and what shocks: all tests on a
plant (the types with a target the plant has, each on its first such target)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from shocktwin import cli
from shocktwin.scenarios.suite import bundled_suite, load_suite, plan_campaign
from shocktwin.shock_library import shock_types
from shocktwin.shock_library.ranges import LIBRARY_RANGES, NOT_IN_SWEEP
from shocktwin.units import parse_duration_h


@pytest.mark.parametrize("kind", sorted(LIBRARY_RANGES))
def test_each_default_range_is_within_its_types_bounds(kind: str) -> None:
    cls = shock_types()[kind]
    default = LIBRARY_RANGES[kind]
    timed = cls.severity_axis == "duration" or cls.severity_is_time
    assert isinstance(default.low, str) == timed  # durations are written with their unit
    shock = cls.model_validate({"id": "x", "type": kind, "start": "1d", **default.parameters,
                                "duration": default.low if cls.severity_axis == "duration"
                                else default.duration})
    low, high = ((parse_duration_h(default.low), parse_duration_h(default.high)) if timed
                 else (float(default.low), float(default.high)))
    assert low < high
    for value in (low, high):
        shock.with_severity(value)


def test_every_built_in_type_has_a_range_or_a_reason() -> None:
    assert set(LIBRARY_RANGES) | set(NOT_IN_SWEEP) == set(shock_types())
    assert not set(LIBRARY_RANGES) & set(NOT_IN_SWEEP)


def test_shocks_show_prints_the_campaign_default(runner) -> None:  # type: ignore[no-untyped-def]
    shown = runner.invoke(cli.app, ["shocks", "show", "supplier_outage"])
    assert "campaign default (suite shocks: all): duration 1h … 30d" in shown.output
    left_out = runner.invoke(cli.app, ["shocks", "show", "regulation_change"])
    assert "not in the sweep — a regulation needs the rule set" in left_out.output


def test_all_tests_every_type_with_a_target_in_the_plant(tmp_path: Path) -> None:
    suite = tmp_path / "suite.yaml"
    suite.write_text(yaml.safe_dump({"version": 1, "name": "sweep", "entries": [
        {"label": "vq", "scenario": "valve_quake", "shocks": "all",
         "exclude": ["tariff_shock"], "search": {"replications": 4}}]}))
    (entry,) = plan_campaign(load_suite(suite)).entries
    planned = {s.type: s for s in entry.shocks}
    skipped = dict(entry.skipped)
    # The plant has one supplier (valve-jp, no region), an inspection station (iqc), process
    # and release stations, and no rule set.
    assert planned["supplier_outage"].scenario.shocks[-1].target == "valve-jp"
    assert planned["toolchain_switch"].scenario.shocks[-1].target == "iqc"
    assert planned["breakdown_burst"].scenario.shocks[-1].target == "assembly"
    assert "power_outage" in planned and "demand_surge" in planned
    assert skipped["regional_earthquake"] == "no supplier has a region or country"
    assert skipped["embargo"] == "no supplier has a country"
    assert "rule set" in skipped["mes_outage"]
    assert "tariff_shock" not in planned and "tariff_shock" not in skipped
    assert set(planned) | set(skipped) | {"tariff_shock"} == set(shock_types())
    for s in entry.shocks:
        assert s.source == "library"
        # each is searched alone, from a quarter into the measured window (7 d … 60 d)
        mtd = s.scenario.mtd
        assert [i.shock for i in mtd.shocks] == [s.shock]
        assert mtd.replications == mtd.max_replications == 4
        added = next(x for x in s.scenario.shocks if x.id == s.shock)
        assert added.start == pytest.approx(round(7 * 24 + (60 - 7) * 24 / 4))
    # A duration range is cut to what the horizon leaves after the start.
    outage = planned["supplier_outage"].item
    assert parse_duration_h(outage["high"]) <= 60 * 24 - planned[
        "supplier_outage"].scenario.shocks[-1].start


@pytest.mark.parametrize("name", ["quarterly_as_is", "quarterly_prepared"])
def test_the_bundled_suites_are_valid(name: str) -> None:
    path = bundled_suite(name)
    assert path is not None
    plan = plan_campaign(load_suite(path))
    assert plan.entries and plan.estimated_runs <= plan.suite.max_runs


def test_the_two_bundled_reviews_use_the_same_labels() -> None:
    a, b = (load_suite(bundled_suite(n)) for n in ("quarterly_as_is", "quarterly_prepared"))
    assert [e.label for e in a.entries] == [e.label for e in b.entries]
