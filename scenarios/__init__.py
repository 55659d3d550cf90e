"""The scenario file format (pydantic models, JSON Schema) and the bundled scenarios."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from shocktwin.scenarios.loader import load_scenario, parse_scenario, scenario_json_schema
from shocktwin.scenarios.model import Engine, Kpi, Scenario

__all__ = ["Engine", "Kpi", "Scenario", "load_scenario", "parse_scenario",
           "reference_scenario", "scenario_json_schema"]


def reference_scenario(name: str) -> Path:
    """Path of a bundled reference scenario by name, e.g. ``"mmc"``."""
    path = Path(str(resources.files("shocktwin.scenarios.reference") / f"{name}.yaml"))
    if not path.is_file():
        raise FileNotFoundError(name)
    return path
