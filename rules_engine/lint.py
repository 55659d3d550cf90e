"""Linting rule sets: mistakes that are valid YAML and a valid rule set, but still mistakes.

Validation (:mod:`rules_engine.ruleset`) refuses what cannot be run. Lint finds what runs but
cannot be meant: a trigger whose condition can never be true, two triggers on the same
condition that undo each other, actions on materials, stations or suppliers that do not
exist, a ``load_rules`` file that is missing. Given a scenario, references are checked
against its plant too.

Each finding has a severity: ``error`` (the rule cannot do what it says), ``warning``
(it probably does not do what was meant), ``info`` (worth knowing, e.g. a plan for a
material the scenario does not use).
"""

from __future__ import annotations

import ast
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from shocktwin.errors import Problem, RuleError
from shocktwin.references import OUTSIDE, ReferenceRoots, real_path
from shocktwin.rules_engine.expression import ValueKind, compile_expression
from shocktwin.rules_engine.fit import plant_problems, twin_problems
from shocktwin.rules_engine.ruleset import (
    STATISTICS,
    InspectFull,
    LoadRules,
    Normal,
    Quarantine,
    RuleSet,
    StopLine,
    SwitchSupplier,
    Tighten,
    Trigger,
    load_rules,
    read_rules,
)
from shocktwin.source import Loc, line_for, loc_text
from shocktwin.twin.model.kinds import StationKind
from shocktwin.units import format_hours

if TYPE_CHECKING:
    from shocktwin.scenarios.model import Scenario

__all__ = ["LintCode", "LintFinding", "LintSeverity", "lint_file", "lint_rules"]


class LintSeverity(StrEnum):
    """How much a finding matters; errors and warnings make ``rules lint`` exit 1."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class LintCode(StrEnum):
    """What kind of finding it is (stable, for filtering and tests)."""

    NEVER_TRUE = "never-true"
    ALWAYS_TRUE = "always-true"
    CONFLICTING_ACTIONS = "conflicting-actions"
    NO_PLAN = "no-plan"
    UNKNOWN_MATERIAL = "unknown-material"
    UNKNOWN_STATION = "unknown-station"
    NOT_AN_INSPECTION_STATION = "not-an-inspection-station"
    UNKNOWN_SUPPLIER = "unknown-supplier"
    OTHER_MATERIAL_SUPPLIER = "other-material-supplier"
    MISSING_FILE = "missing-file"
    INVALID_FILE = "invalid-file"
    LOADS_ITSELF = "loads-itself"
    OUTSIDE_FOLDERS = "outside-allowed-folders"
    LONGER_THAN_HORIZON = "longer-than-horizon"
    UNUSED_PLAN = "unused-plan"
    NOT_IN_TWIN = "not-in-twin"
    DOES_NOT_FIT_PLANT = "does-not-fit-plant"


@dataclass(frozen=True)
class LintFinding(Problem):
    """A :class:`~twin.errors.Problem` with a severity and a code."""

    severity: LintSeverity = LintSeverity.ERROR
    code: LintCode = LintCode.NEVER_TRUE


def lint_file(path: str | Path, scenario: Scenario | None = None, *,
              allowed_roots: Sequence[str | Path] = ()) -> list[LintFinding]:
    """Load a rule-set file and lint it, with lines and files relative to it.

    The rule files its ``load_rules`` actions name are read only inside this file's folder
    or one of ``allowed_roots`` (the CLI's ``--allow-root``), links resolved; one elsewhere
    is an ``outside-allowed-folders`` error and is not opened.

    Raises:
        RuleError: the file is not a valid rule set (lint needs a valid one).
    """
    ruleset, lines = read_rules(path)
    return lint_rules(ruleset, scenario, file=str(path), lines=lines,
                      allowed_roots=allowed_roots)


def lint_rules(ruleset: RuleSet, scenario: Scenario | None = None, *, file: str | None = None,
               lines: Mapping[Loc, int] | None = None,
               allowed_roots: Sequence[str | Path] = ()) -> list[LintFinding]:
    """Every lint finding of a validated rule set, in file order.

    ``scenario``, when given, is the plant the rules are for: materials, stations and
    suppliers are checked against it. ``file`` is where the rule set was read from: files
    named by ``load_rules`` and AI model paths are resolved against its folder (and not
    checked without it); a ``load_rules`` file is read only inside that folder or one of
    ``allowed_roots``. ``lines`` maps locations to lines for the findings.
    """
    checker = _Checker(ruleset, scenario, file, dict(lines or {}), allowed_roots)
    found = list(checker.run())
    # What loading the rule set into a scenario refuses is an error here too (one check);
    # where it says more than a finding of lint's own at the same place, it replaces it.
    # Lint's own error at a place says it more precisely; a warning that loading's error at
    # the same place makes an error gives way to it.
    fit = list(checker.fit())
    own_errors = {f.path for f in found if f.severity is LintSeverity.ERROR}
    fit = [f for f in fit if f.path not in own_errors]
    refused = {f.path for f in fit}
    found = [f for f in found if f.path not in refused or f.code not in _MADE_ERRORS] + fit
    # File order; findings without a line (a whole-file matter) first.
    return sorted(found, key=lambda f: f.line or 0)


# --------------------------------------------------------------------------- the checks

#: Lint's warnings that the check shared with loading reports as errors at the same place.
_MADE_ERRORS = frozenset({LintCode.NOT_AN_INSPECTION_STATION,
                          LintCode.OTHER_MATERIAL_SUPPLIER})


_STRICTER = (Tighten, InspectFull, Quarantine)


class _Checker:
    def __init__(self, ruleset: RuleSet, scenario: Scenario | None, file: str | None,
                 lines: dict[Loc, int], allowed_roots: Sequence[str | Path] = ()) -> None:
        self.rules = ruleset
        self.roots = (ReferenceRoots.of(Path(file).parent, allowed=allowed_roots)
                      if file is not None else None)
        self.scenario = scenario
        self.file = file
        self.lines = lines
        self.planned = {p.material for p in ruleset.plans}
        self.site = _Site.of(scenario) if scenario is not None else None

    def finding(self, loc: Loc, message: str, code: LintCode,
                severity: LintSeverity = LintSeverity.ERROR) -> LintFinding:
        return LintFinding(self.file, loc_text(loc), message, line_for(self.lines, loc),
                           severity=severity, code=code)

    def run(self) -> Iterator[LintFinding]:
        yield from self.plans()
        for i, trigger in enumerate(self.rules.triggers):
            yield from self.condition(i, trigger)
            yield from self.references(i, trigger)
        yield from self.conflicts()

    # --- what loading refuses

    def fit(self) -> Iterator[LintFinding]:
        for loc, message in twin_problems(self.rules):
            yield self.finding(loc, message, LintCode.NOT_IN_TWIN)
        if self.scenario is not None and self.scenario.plant is not None:
            for loc, message in plant_problems(self.rules, self.scenario.plant):
                yield self.finding(loc, message, LintCode.DOES_NOT_FIT_PLANT)

    # --- plans

    def plans(self) -> Iterator[LintFinding]:
        for i, plan in enumerate(self.rules.plans):
            if plan.ai is not None and not plan.ai.bundled:
                yield from self.model_file(("plans", i, "ai", "model"), plan.ai.model)
            if self.site is None:
                continue
            if plan.material not in self.site.materials:
                yield self.finding(
                    ("plans", i, "material"),
                    f"scenario {self.site.name!r} has no material {plan.material!r}, so "
                    "this plan is not used there", LintCode.UNUSED_PLAN, LintSeverity.INFO)
            elif plan.station is not None:  # an unused plan's station is another plant's
                yield from self.station(("plans", i, "station"), plan.station, inspection=True)

    def model_file(self, loc: Loc, model: str) -> Iterator[LintFinding]:
        path = self.resolve(model)
        if path is None:
            return
        if not path.is_file():
            yield self.finding(loc, f"no such model file: {path}", LintCode.MISSING_FILE)
        elif not path.with_suffix(".json").is_file():
            yield self.finding(loc, f"the model's metadata file {path.with_suffix('.json')} "
                               "is missing", LintCode.MISSING_FILE)

    def resolve(self, name: str) -> Path | None:
        if self.file is None:
            return None
        return Path(self.file).parent / name

    # --- references of one trigger

    def references(self, i: int, trigger: Trigger) -> Iterator[LintFinding]:
        base: Loc = ("triggers", i)
        if trigger.material is not None and trigger.material not in self.planned:
            yield self.no_plan((*base, "material"), trigger.material, "its statistics")
        if self.scenario is not None and trigger.for_h >= self.scenario.horizon:
            # Only info: a rule set outlives the scenarios it is tried with.
            yield self.finding(
                (*base, "for"), f"for {format_hours(trigger.for_h)} is not shorter than the "
                f"horizon of scenario {self.scenario.name!r} "
                f"({format_hours(self.scenario.horizon)}), so the trigger never fires there",
                LintCode.LONGER_THAN_HORIZON, LintSeverity.INFO)
        for k, action in enumerate(trigger.then):
            loc: Loc = (*base, "then", k)
            if isinstance(action, Tighten | InspectFull | Normal):
                if action.material not in self.planned:
                    yield self.no_plan((*loc, "material"), action.material, action.type.value)
            elif isinstance(action, Quarantine):
                yield from self.quarantined((*loc, "material"), action.material)
            elif isinstance(action, StopLine):
                yield from self.station((*loc, "station"), action.station, inspection=False)
            elif isinstance(action, SwitchSupplier):
                yield from self.supplier((*loc, "to"), action.to, trigger.material)
            elif isinstance(action, LoadRules):
                yield from self.rules_file((*loc, "file"), action.file)

    def no_plan(self, loc: Loc, material: str, what: str) -> LintFinding:
        planned = ", ".join(sorted(self.planned))
        return self.finding(loc, f"no plan for material {material!r} in this rule set, so "
                            f"{what} has nothing to act on (plans: {planned})", LintCode.NO_PLAN)

    def quarantined(self, loc: Loc, material: str) -> Iterator[LintFinding]:
        if material in self.planned:
            return
        if self.site is None:
            yield self.no_plan(loc, material, "quarantine")
        elif material not in self.site.materials:
            known = ", ".join(sorted(self.site.materials | self.planned))
            yield self.finding(loc, f"material {material!r} is neither planned here nor in "
                               f"scenario {self.site.name!r} (known: {known})",
                               LintCode.UNKNOWN_MATERIAL)

    def station(self, loc: Loc, station: str, *, inspection: bool) -> Iterator[LintFinding]:
        if self.site is None:
            return
        kinds = self.site.stations
        if station not in kinds:
            yield self.finding(loc, f"scenario {self.site.name!r} has no station "
                               f"{station!r} (stations: {', '.join(kinds) or 'none'})",
                               LintCode.UNKNOWN_STATION)
        elif inspection and kinds[station] != StationKind.INSPECTION:
            yield self.finding(loc, f"station {station!r} is a {kinds[station]} station, not "
                               "an inspection station", LintCode.NOT_AN_INSPECTION_STATION,
                               LintSeverity.WARNING)

    def supplier(self, loc: Loc, supplier: str, material: str | None) -> Iterator[LintFinding]:
        if self.site is None:
            return
        delivers = self.site.suppliers
        if supplier not in delivers:
            known = ", ".join(delivers) or "none"
            yield self.finding(loc, f"scenario {self.site.name!r} has no supplier "
                               f"{supplier!r} (suppliers: {known})", LintCode.UNKNOWN_SUPPLIER)
        elif material is not None and delivers[supplier] != material:
            yield self.finding(loc, f"supplier {supplier!r} delivers {delivers[supplier]!r}, "
                               f"not the trigger's material {material!r}",
                               LintCode.OTHER_MATERIAL_SUPPLIER, LintSeverity.WARNING)

    def rules_file(self, loc: Loc, name: str) -> Iterator[LintFinding]:
        if self.file is None or self.roots is None:
            return
        path, real = self.roots.resolve(name, Path(self.file).parent)
        if real is None:
            yield self.finding(loc, f"rules file {name!r} {OUTSIDE}", LintCode.OUTSIDE_FOLDERS)
            return
        if not real.exists():
            yield self.finding(loc, f"no such rules file: {path}", LintCode.MISSING_FILE)
            return
        if real == real_path(self.file):
            yield self.finding(loc, "loads this same file again, which changes nothing",
                               LintCode.LOADS_ITSELF, LintSeverity.WARNING)
            return
        try:
            load_rules(path, referenced=True)
        except RuleError as e:
            more = f" (and {len(e.problems) - 1} more)" if len(e.problems) > 1 else ""
            yield self.finding(loc, f"the rules file it loads is invalid: {e.problems[0]}{more}",
                               LintCode.INVALID_FILE)

    # --- conditions

    def condition(self, i: int, trigger: Trigger) -> Iterator[LintFinding]:
        loc: Loc = ("triggers", i, "when")
        compiled = compile_expression(trigger.when, STATISTICS, where=loc_text(loc))
        if not compiled.names:
            # Reads nothing, so it is a constant; a failure is left for the run to report.
            try:
                value = compiled.evaluate({})
            except RuleError:
                return
            if value is False:
                yield self.finding(loc, "can never be true: it reads no statistic and is "
                                   "always false", LintCode.NEVER_TRUE)
            elif value is True:
                yield self.finding(loc, "is always true: it reads no statistic, so the trigger "
                                   "fires as soon as 'for' has passed", LintCode.ALWAYS_TRUE,
                                   LintSeverity.WARNING)
            return
        reason = _never_true(_parse(trigger.when), _domains())
        if reason is not None:
            yield self.finding(loc, f"can never be true: {reason}", LintCode.NEVER_TRUE)

    # --- conflicts between actions on one condition

    def conflicts(self) -> Iterator[LintFinding]:
        groups: dict[tuple[str, str | None], list[int]] = {}
        for i, trigger in enumerate(self.rules.triggers):
            key = (ast.dump(_parse(trigger.when)), trigger.material)
            groups.setdefault(key, []).append(i)
        for members in groups.values():
            yield from self.conflicts_in(members)

    def conflicts_in(self, members: list[int]) -> Iterator[LintFinding]:
        triggers = self.rules.triggers
        stricter: dict[str, tuple[int, int, str]] = {}
        relaxed: dict[str, tuple[int, int]] = {}
        targets: dict[str, list[tuple[int, int, str]]] = {}
        for i in members:
            for k, action in enumerate(triggers[i].then):
                if isinstance(action, _STRICTER):
                    stricter.setdefault(action.material, (i, k, action.type.value))
                elif isinstance(action, Normal):
                    relaxed.setdefault(action.material, (i, k))
                elif isinstance(action, SwitchSupplier):
                    targets.setdefault(action.type.value, []).append((i, k, action.to))
                elif isinstance(action, LoadRules):
                    targets.setdefault(action.type.value, []).append((i, k, action.file))
        for material, (i, k, kind) in stricter.items():
            if material not in relaxed:
                continue
            j, m = relaxed[material]
            later_i, later_k = max((i, k), (j, m))
            yield self.finding(
                ("triggers", later_i, "then", later_k),
                f"normal and {kind} on {material!r} {_where(triggers, i, j)}: one undoes the "
                "other", LintCode.CONFLICTING_ACTIONS)
        for kind, uses in targets.items():
            values = {value for _, _, value in uses}
            if len(values) > 1:
                i, k, _ = uses[-1]
                shown = " and ".join(repr(v) for v in sorted(values))
                yield self.finding(
                    ("triggers", i, "then", k),
                    f"{kind} to {shown} {_where(triggers, uses[0][0], i)}: only one can hold",
                    LintCode.CONFLICTING_ACTIONS)


def _where(triggers: list[Trigger], i: int, j: int) -> str:
    if i == j:
        return "in one trigger"
    first, second = sorted((i, j))
    return (f"in triggers {triggers[first].id!r} and {triggers[second].id!r}, which have the "
            "same condition")


@dataclass(frozen=True)
class _Site:
    """What a scenario offers for rules to refer to: a modelled plant or a replayed shop."""

    name: str
    materials: frozenset[str]
    stations: Mapping[str, str]
    suppliers: Mapping[str, str]

    @classmethod
    def of(cls, scenario: Scenario) -> _Site:
        plant = scenario.plant
        if plant is not None:
            materials = ({s.material for s in plant.suppliers}
                         | {b.material for b in plant.buffers} | set(plant.bom or {}))
            return cls(scenario.name, frozenset(materials),
                       {s.id: str(s.kind) for s in plant.stations},
                       {s.id: s.material for s in plant.suppliers})
        # A job shop replayed from an MES log has resources, but no materials or suppliers.
        resources = scenario.shop.resources if scenario.shop is not None else []
        return cls(scenario.name, frozenset(), {r.id: str(r.kind) for r in resources}, {})


# --------------------------------------------------------------------------- intervals


@dataclass(frozen=True)
class _Range:
    """Values a statistic may still take: (low, high) with open or closed ends."""

    low: float
    low_open: bool
    low_text: str
    high: float
    high_open: bool
    high_text: str

    def empty(self) -> bool:
        return self.low > self.high or (self.low == self.high and (self.low_open
                                                                   or self.high_open))

    def above(self, value: float, is_open: bool, text: str) -> _Range:
        if value > self.low or (value == self.low and is_open and not self.low_open):
            return replace(self, low=value, low_open=is_open, low_text=text)
        return self

    def below(self, value: float, is_open: bool, text: str) -> _Range:
        if value < self.high or (value == self.high and is_open and not self.high_open):
            return replace(self, high=value, high_open=is_open, high_text=text)
        return self


def _domains() -> dict[str, _Range]:
    return {name: _Range(s.low, False, f"≥ {s.low:g} (its least value)",
                         s.high, False, f"≤ {s.high:g} (its greatest value)")
            for name, s in STATISTICS.items()}


def _parse(text: str) -> ast.expr:
    # The text passed validation, so it parses, is short and shallow.
    return ast.parse(text.strip(), mode="eval").body


_MIRROR = {ast.Lt: ast.Gt, ast.LtE: ast.GtE, ast.Gt: ast.Lt, ast.GtE: ast.LtE, ast.Eq: ast.Eq}
_SYMBOL = {ast.Lt: "<", ast.LtE: "≤", ast.Gt: ">", ast.GtE: "≥", ast.Eq: "="}


def _never_true(node: ast.expr, ranges: dict[str, _Range]) -> str | None:
    """Why ``node`` cannot be true given ``ranges``, or None when that is not shown.

    Conservative: bounds come only from comparisons of a statistic with a constant, combined
    through ``and`` (intersection) and ``or`` (every branch impossible).
    """
    if _constant_value(node) is False:
        return f"{ast.unparse(node)!r} is always false"
    if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.And):
        inner = dict(ranges)
        others: list[ast.expr] = []
        for part in _conjuncts(node):
            if isinstance(part, ast.Compare):
                reason = _narrow(part, inner)
                if reason is not None:
                    return reason
            else:
                others.append(part)
        return next((r for r in (_never_true(p, inner) for p in others) if r), None)
    if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or):
        reasons = [_never_true(part, ranges) for part in node.values]
        if all(reasons):
            return "; ".join(r for r in reasons if r)
        return None
    if isinstance(node, ast.Compare):
        return _narrow(node, dict(ranges))
    return None


def _conjuncts(node: ast.expr) -> Iterator[ast.expr]:
    if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.And):
        for part in node.values:
            yield from _conjuncts(part)
    else:
        yield node


def _narrow(node: ast.Compare, ranges: dict[str, _Range]) -> str | None:
    """Apply a comparison's bounds to ``ranges`` in place; why it is impossible, if it is."""
    operands = [node.left, *node.comparators]
    for left, op, right in zip(operands, node.ops, operands[1:], strict=False):
        name, number, kind = _statistic(left), _constant(right), type(op)
        if name is None or number is None:
            name, number = _statistic(right), _constant(left)
            mirrored = _MIRROR.get(kind)
            if name is None or number is None or mirrored is None:
                continue
            kind = mirrored
        if kind not in _SYMBOL or name not in ranges:
            continue
        text = f"{_SYMBOL[kind]} {number:g}"
        r = ranges[name]
        if kind in (ast.Gt, ast.GtE, ast.Eq):
            r = r.above(number, kind is ast.Gt, text)
        if kind in (ast.Lt, ast.LtE, ast.Eq):
            r = r.below(number, kind is ast.Lt, text)
        ranges[name] = r
        if r.empty():
            return f"{name} would have to be {r.low_text} and {r.high_text}"
    return None


def _statistic(node: ast.expr) -> str | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    name = ".".join([node.id, *reversed(parts)])
    return name if name in STATISTICS else None


def _constant_value(node: ast.expr) -> object:
    """The value of a part that reads no statistic, or None when it reads one or fails."""
    if any(isinstance(n, ast.Attribute) or (isinstance(n, ast.Name) and n.id in STATISTICS)
           for n in ast.walk(node)):
        return None
    try:
        return compile_expression(ast.unparse(node), (), expect=ValueKind.ANY).evaluate({})
    except RuleError:
        return None


def _constant(node: ast.expr) -> float | None:
    """The value of a part that reads no statistic and is a number (``-1``, ``1.33 * 2``)."""
    value = _constant_value(node)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None
