"""Loading the rule sets a scenario refers to and checking them against its plant.

A scenario names rule files in ``rules``, ``rule_changes`` and ``regulation_change``
shocks; a rule set may name more in ``load_rules`` actions (relative to itself). All are
read when the scenario is loaded, so a bad rule file is reported before anything runs, and
the run never reads a file half-way through.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from shocktwin.errors import Problem, RuleError, ScenarioError
from shocktwin.scenarios.model import Scenario, StationKind
from shocktwin.source import Loc, line_for, loc_text

__all__ = ["bind_rules"]


def bind_rules(sc: Scenario, file: str | None) -> Scenario:
    """Load every rule set ``sc`` refers to into it; raise ScenarioError listing every
    problem (unreadable or invalid rule files, plans that do not fit the plant)."""
    from shocktwin.rules_engine.ruleset import LoadRules, read_rules

    refs: list[tuple[str, str, Path]] = []  # (scenario path, text, resolved)
    if sc.rules is not None:
        refs.append(("rules", sc.rules, sc.resolve(sc.rules)))
    for i, change in enumerate(sc.rule_changes):
        refs.append((f"rule_changes[{i}].rules", change.rules, sc.resolve(change.rules)))
    for i, shock in enumerate(sc.shocks):
        text = getattr(shock, "rules", None)
        if isinstance(text, str):
            refs.append((f"shocks[{i}].rules", text, sc.resolve(text)))
    if refs and sc.plant is None:
        raise ScenarioError([Problem(file, refs[0][0], "rule sets apply to a plant; a "
                                     "replayed shop has no incoming inspection")], file=file)
    problems: list[Problem] = []
    loaded: dict[str, Any] = {}
    queue = list(refs)
    while queue:
        where, text, path = queue.pop(0)
        key = str(path.resolve())
        if key in loaded:
            continue
        if not path.is_file():
            problems.append(Problem(file, where, f"rule file {text!r} does not exist "
                                    f"(looked for {path})"))
            continue
        try:
            ruleset, lines = read_rules(path)
        except RuleError as e:
            problems.extend(e.problems)
            continue
        loaded[key] = ruleset
        problems.extend(_fit_problems(sc, ruleset, str(path), lines))
        for t, trigger in enumerate(ruleset.triggers):
            for a, action in enumerate(trigger.then):
                if isinstance(action, LoadRules):
                    nested = path.parent / action.file
                    queue.append((f"{path}: triggers[{t}].then[{a}].file", action.file, nested))
    drafted = dict(_drafts(sc, file, problems))
    if problems:
        raise ScenarioError(problems, file=file)
    return sc.bound(rulesets=loaded, drafted=drafted)


def _drafts(sc: Scenario, file: str | None,
            problems: list[Problem]) -> Iterator[tuple[str, Any]]:
    """The plans drafted from backup suppliers' failure tables."""
    from shocktwin.rules_engine.failures import draft_plan, load_failures

    plant = sc.plant
    if plant is None:
        return
    incoming = [st.id for st in plant.stations
                if st.kind == StationKind.INSPECTION and st.role == "incoming"]
    for i, sup in enumerate(plant.suppliers):
        if sup.failures is None:
            continue
        where = f"plant.suppliers[{i}].failures"
        if not incoming:
            problems.append(Problem(file, where, "a drafted plan needs an incoming inspection "
                                    "station (role: incoming) to apply it"))
            continue
        path = sc.resolve(sup.failures)
        if not path.is_file():
            problems.append(Problem(file, where, f"failure table {sup.failures!r} does not "
                                    f"exist (looked for {path})"))
            continue
        try:
            rows = load_failures(path)
            ruleset = draft_plan(rows, material=sup.material, new_supplier=True,
                                 station=incoming[0], name=f"drafted-{sup.id}",
                                 source=path.name)
        except (RuleError, ValueError) as e:
            problems.extend(e.problems if isinstance(e, RuleError)
                            else [Problem(str(path), "", str(e))])
            continue
        yield sup.id, ruleset


def _fit_problems(sc: Scenario, ruleset: Any, file: str,
                  lines: Mapping[Loc, int]) -> Iterator[Problem]:
    from shocktwin.rules_engine.fit import plant_problems, twin_problems

    assert sc.plant is not None
    for loc, message in [*plant_problems(ruleset, sc.plant), *twin_problems(ruleset)]:
        yield Problem(file, loc_text(loc), message, line_for(lines, loc))
