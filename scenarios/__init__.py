"""The scenario file format (pydantic models, JSON Schema) and the bundled scenarios."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from shocktwin.scenarios.loader import load_scenario, parse_scenario, scenario_json_schema
from shocktwin.scenarios.model import Engine, Kpi, Scenario

__all__ = ["Engine", "Kpi", "Scenario", "load_scenario", "parse_scenario",
           "reference_scenario", "scenario_json_schema", "scenario_path"]


def reference_scenario(name: str) -> Path:
    """Path of a bundled reference scenario by name, e.g. ``"mmc"``."""
    path = Path(str(resources.files("shocktwin.scenarios.reference") / f"{name}.yaml"))
    if not path.is_file():
        raise FileNotFoundError(name)
    return path


def scenario_path(text: str) -> Path:
    """What a command's SCENARIO argument names: a file path, or a bundled scenario's name
    (a word with no path separator and no YAML suffix that is not a file here)."""
    path = Path(text)
    if path.exists() or path.suffix in {".yaml", ".yml"} or "/" in text:
        return path
    try:
        return reference_scenario(text)
    except FileNotFoundError:
        return path
