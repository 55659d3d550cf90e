"""Loading the rule sets a scenario refers to and checking them against its plant.

A scenario names rule files in ``rules``, ``rule_changes`` and ``regulation_change``
shocks; a rule set may name more in ``load_rules`` actions (relative to itself); a backup
supplier may name a failure table to draft its plan from. All are read when the scenario is
loaded, so a bad rule file is reported before anything runs, and the run never reads a file
half-way through. None is read outside the scenario's folder and the folders the caller
allows (:mod:`shocktwin.references`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shocktwin.errors import Problem, RuleError, ScenarioError
from shocktwin.references import OUTSIDE, ReferenceRoots, real_path
from shocktwin.scenarios.model import Scenario, StationKind
from shocktwin.source import Loc, line_for, loc_text

__all__ = ["bind_rules"]


@dataclass(frozen=True)
class _Ref:
    """A file named in another: who names it where, and where it may lead."""

    file: str | None  # the referring file
    where: str  # the key naming it, inside the referring file
    line: int | None
    text: str  # the reference as written
    base: Path  # a relative reference is relative to this folder
    roots: ReferenceRoots | None  # None: the caller named the file itself, not a file
    referenced: bool  # reached by reference: its problems quote nothing of it


def bind_rules(sc: Scenario, file: str | None) -> Scenario:
    """Load every rule set ``sc`` refers to into it; raise ScenarioError listing every
    problem (references outside the allowed folders, unreadable or invalid rule files,
    plans that do not fit the plant).

    A reference written in the scenario file may lead into the scenario's folder or one of
    its binding's ``allowed_roots``; one in a rule set (``load_rules``) is relative to that
    rule file and may lead where the reference to the rule file itself could. A ``rules``
    the scenario file does not hold was put there by the calling code (the stress gate puts
    its baseline and candidate there), which named the file: it is read wherever it is, and
    the files it names may also lie in its own folder."""
    b = sc.binding
    base = b.base_dir or Path.cwd()
    roots = ReferenceRoots.of(base, allowed=b.allowed_roots)
    written = b.source.get("rules") if isinstance(b.source, Mapping) else None

    def ref(loc: tuple[str | int, ...], text: str) -> _Ref:
        return _Ref(file, loc_text(loc), sc.line_of(*loc), text, base, roots, True)

    refs: list[_Ref] = []
    if sc.rules is not None:
        if sc.rules == written:
            refs.append(ref(("rules",), sc.rules))
        else:
            refs.append(_Ref(file, "rules", None, sc.rules, base, None, False))
    for i, change in enumerate(sc.rule_changes):
        refs.append(ref(("rule_changes", i, "rules"), change.rules))
    for i, shock in enumerate(sc.shocks):
        text = getattr(shock, "rules", None)
        if isinstance(text, str):
            refs.append(ref(("shocks", i, "rules"), text))
    if refs and sc.plant is None:
        raise ScenarioError([Problem(file, refs[0].where, "rule sets apply to a plant; a "
                                     "replayed shop has no incoming inspection",
                                     refs[0].line)], file=file)
    problems: list[Problem] = []
    loaded: dict[str, Any] = {}
    queue = list(refs)
    if queue:  # the rule engine is imported only for a scenario that names rule sets
        from shocktwin.rules_engine.ruleset import LoadRules, read_rules
    while queue:
        r = queue.pop(0)
        path = _follow(r, "rule file", problems)
        if path is None or str(real_path(path)) in loaded:
            continue
        try:
            ruleset, lines = read_rules(path, referenced=r.referenced)
        except RuleError as e:
            problems.extend(e.problems)
            continue
        loaded[str(real_path(path))] = ruleset
        problems.extend(_fit_problems(sc, ruleset, str(path), lines))
        # What a rule set names may lead where the rule set itself could (or, named by the
        # caller, into its own folder too).
        nested_roots = r.roots or roots.with_folder(path.parent)
        for t, trigger in enumerate(ruleset.triggers):
            for a, action in enumerate(trigger.then):
                if isinstance(action, LoadRules):
                    loc: Loc = ("triggers", t, "then", a, "file")
                    queue.append(_Ref(str(path), loc_text(loc), line_for(dict(lines), loc),
                                      action.file, path.parent, nested_roots, True))
    drafted = dict(_drafts(sc, file, roots, problems))
    if problems:
        raise ScenarioError(problems, file=file)
    return sc.bound(rulesets=loaded, drafted=drafted)


def _follow(r: _Ref, what: str, problems: list[Problem]) -> Path | None:
    """The path of the file ``r`` names, or None with the problem added: the reference
    leads outside the allowed folders (nothing there is opened), or to nothing."""
    if r.roots is None:  # named by the caller
        named = Path(r.text)
    else:
        named, inside = r.roots.resolve(r.text, r.base)
        if inside is None:
            problems.append(Problem(r.file, r.where, f"{what} {r.text!r} {OUTSIDE}", r.line))
            return None
    if not named.exists():
        problems.append(Problem(r.file, r.where, f"{what} {r.text!r} does not exist "
                                f"(looked for {named})", r.line))
        return None
    return named  # messages name the file as the reference does


def _drafts(sc: Scenario, file: str | None, roots: ReferenceRoots,
            problems: list[Problem]) -> Iterator[tuple[str, Any]]:
    """The plans drafted from backup suppliers' failure tables."""
    plant = sc.plant
    if plant is None or all(sup.failures is None for sup in plant.suppliers):
        return
    from shocktwin.rules_engine.failures import draft_plan, load_failures

    incoming = [st.id for st in plant.stations
                if st.kind == StationKind.INSPECTION and st.role == "incoming"]
    base = sc.binding.base_dir or Path.cwd()
    for i, sup in enumerate(plant.suppliers):
        if sup.failures is None:
            continue
        loc: Loc = ("plant", "suppliers", i, "failures")
        where, line = loc_text(loc), sc.line_of(*loc)
        if not incoming:
            problems.append(Problem(file, where, "a drafted plan needs an incoming inspection "
                                    "station (role: incoming) to apply it", line))
            continue
        path = _follow(_Ref(file, where, line, sup.failures, base, roots, True),
                       "failure table", problems)
        if path is None:
            continue
        try:
            rows = load_failures(path, referenced=True)
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
