"""Users add shocks through the entry-point group ``shocktwin.shocks``."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from conftest import BASE_PLANT, deep_update

from shocktwin.scenarios import parse_scenario
from shocktwin.shock_library import ENTRY_POINT_GROUP, registry
from shocktwin.twin.experiment.replication import run_replication

PLUGIN = '''
from typing import Literal

from pydantic import Field

from shocktwin.shock_library import Family, Shock, TargetKind


class RushWeek(Shock):
    """Rush week: a customer doubles its orders for the duration."""

    family = Family.OPERATIONS
    target_kind = TargetKind.DEMAND
    severity_axis = "factor"
    type: Literal["rush_week"] = "rush_week"
    factor: float = Field(2.0, gt=1, le=10)

    def _apply(self, plant, level):
        plant.demand_factor.set(self.id, None if level <= 0 else 1 + (self.factor - 1) * level)
'''


@pytest.fixture
def installed_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """A tiny distribution on sys.path, found by importlib.metadata like an installed one."""
    (tmp_path / "tiny_shocks.py").write_text(PLUGIN)
    info = tmp_path / "tiny_shocks-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: tiny-shocks\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        textwrap.dedent(f"""\
            [{ENTRY_POINT_GROUP}]
            rush_week = tiny_shocks:RushWeek
            """))
    monkeypatch.syspath_prepend(str(tmp_path))
    registry.shock_types.cache_clear()
    yield
    registry.shock_types.cache_clear()


def test_plugin_shock_is_listed_validated_and_run(installed_plugin) -> None:  # type: ignore[no-untyped-def]
    types = registry.shock_types()
    assert "rush_week" in types and types["rush_week"].__module__ == "tiny_shocks"
    assert "supplier_outage" in types  # built-ins stay
    sc = parse_scenario(deep_update(BASE_PLANT, {"shocks": [
        {"id": "r", "type": "rush_week", "start": "2d", "duration": "5d", "factor": 1.5}]}))
    plain = run_replication(parse_scenario(BASE_PLANT), 0, seed=2)
    rushed = run_replication(sc, 0, seed=2)
    assert rushed.kpis["throughput_per_h"] > plain.kpis["throughput_per_h"] * 1.05
    assert [e.kind for e in rushed.log] == ["ShockStarted", "ShockEnded"]


def test_without_the_plugin_the_type_is_unknown() -> None:
    registry.shock_types.cache_clear()
    assert "rush_week" not in registry.shock_types()
