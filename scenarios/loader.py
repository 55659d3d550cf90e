"""Loading scenario files: read → parse YAML safely → validate → Scenario, or ScenarioError.

A ScenarioError lists every problem at once with the file, the path inside it and the line.
Reading and the YAML checks are the foundation's (``shocktwin.source``), shared by every
loader.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from shocktwin.errors import Problem, ScenarioError
from shocktwin.references import allowed_roots as allowed_roots_of
from shocktwin.scenarios.model import Scenario
from shocktwin.source import Loc, line_for, read_yaml, validation_problems

__all__ = ["load_scenario", "parse_scenario", "scenario_json_schema"]

def load_scenario(path: str | Path, *, allowed_roots: Sequence[str | Path] = ()) -> Scenario:
    """Read and validate a scenario file. The rule sets and failure tables it names must lie
    in its folder or in one of ``allowed_roots`` (see :func:`parse_scenario`)."""
    data, lines = read_yaml(path)
    return parse_scenario(data, file=str(path), lines=lines, base_dir=Path(path).parent,
                          allowed_roots=allowed_roots)


def parse_scenario(data: Any, *, file: str | None = None,
                   lines: dict[Loc, int] | None = None, base_dir: Path | None = None,
                   allowed_roots: Sequence[str | Path] = ()) -> Scenario:
    """Validate already-parsed data (e.g. a dict) into a Scenario; files it names (stores,
    rule sets) are relative to ``base_dir`` (default the working directory), and the rule
    sets are loaded and checked against the plant.

    Rule sets (``rules``, ``rule_changes``, ``regulation_change`` shocks, the ``load_rules``
    actions in them) and failure tables (``failures``) are read only when they lie, links
    resolved, inside ``base_dir`` or one of the folders ``allowed_roots`` (the CLI's
    ``--allow-root``); any other reference is refused by its key and line, without opening
    the file. ``allowed_roots`` stays with the scenario (``binding.allowed_roots``), so the
    rule sets a caller later puts in force are held to the same folders.
    """
    from shocktwin.scenarios._rules import bind_rules

    lines = lines or {}
    if not isinstance(data, dict):
        raise ScenarioError([Problem(file, "", "the top level must be a mapping of keys "
                                     "(version, name, horizon, plant, ...)", 1)], file=file)
    try:
        sc = Scenario.model_validate(data)
    except ValidationError as e:
        problems = list(validation_problems(e, data, file, lines))
        # Field errors stop the model check of plant-or-shop; say it here as well.
        if not any(p.path in ("plant", "shop", "") for p in problems):
            if "plant" not in data and "shop" not in data:
                problems.append(Problem(file, "plant", "required key is missing (or give shop, "
                                        "a job shop replayed from an MES log)", None))
            elif "plant" in data and "shop" in data:
                problems.append(Problem(file, "shop", "give plant or shop, not both",
                                        line_for(lines, ("shop",))))
        raise ScenarioError(problems, file=file) from e
    sc = sc.bound(base_dir=(base_dir or Path.cwd()).resolve(), source=copy.deepcopy(data),
                  file=file, lines=dict(lines), allowed_roots=_roots(allowed_roots))
    return bind_rules(sc, file)


def _roots(folders: Sequence[str | Path]) -> tuple[Path, ...]:
    if isinstance(folders, str | Path):  # one folder given where a list is meant
        raise TypeError("allowed_roots is a sequence of folders, not one folder")
    return allowed_roots_of(folders)


def scenario_json_schema() -> dict[str, Any]:
    """The JSON Schema of scenario files (for editors' autocompletion)."""
    from typing import Annotated, Union

    from pydantic import Field, TypeAdapter

    from shocktwin.shock_library.registry import shock_types

    schema = Scenario.model_json_schema()
    # The shocks list takes every registered type, told apart by its "type" field.
    types = tuple(shock_types().values())
    # The union is built at run time from the registry, which a type checker cannot follow.
    union: TypeAdapter[Any] = TypeAdapter(
        Annotated[Union[types], Field(discriminator="type")])  # type: ignore[arg-type]  # noqa: UP007
    shock_schema = union.json_schema(ref_template="#/$defs/{model}")
    schema.setdefault("$defs", {}).update(shock_schema.pop("$defs", {}))
    schema["properties"]["shocks"]["items"] = shock_schema
    schema["$defs"].pop("Shock", None)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "shocktwin scenario (format version 1)"
    return schema
