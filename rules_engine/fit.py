"""Whether a rule set fits the twin and a plant: the one check behind loading a scenario's
rule sets and ``shocktwin rules lint``, so a file that lints clean also loads.

- against the twin: every trigger action is one a running twin carries out, every
  statistic a condition reads is one it measures, the trigger is evaluated at all (the
  twin evaluates triggers after the sampled lots of a planned material), and its condition
  cannot fail on values the statistics can take (a division by a statistic that can be 0,
  an exponent beyond the language's limit, a negative number to a fractional power);
- against a plant: each plan has an incoming inspection station to apply it, a supplier
  switched to delivers the trigger's material, and ``supplier.otd`` has promised lead times.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from shocktwin.errors import unknown_name
from shocktwin.rules_engine.expression import MAX_EXPONENT
from shocktwin.rules_engine.ruleset import ActionType
from shocktwin.rules_engine.runtime import ACTIONS, MEASURED
from shocktwin.source import Loc
from shocktwin.twin.model.kinds import StationKind

if TYPE_CHECKING:
    from shocktwin.rules_engine.ruleset import RuleSet

__all__ = ["SUPPORTED_ACTIONS", "SUPPORTED_STATISTICS", "plant_problems", "twin_problems"]

#: Trigger actions the twin carries out: those the runtime rule engine has an action for.
SUPPORTED_ACTIONS = frozenset(ACTIONS)
#: Statistics the twin keeps up to date for triggers.
SUPPORTED_STATISTICS = frozenset(MEASURED)


def twin_problems(ruleset: RuleSet) -> Iterator[tuple[Loc, str]]:
    """What a rule set asks of a running twin that it does not do, whatever the plant."""
    for t, trigger in enumerate(ruleset.triggers):
        for a, action in enumerate(trigger.then):
            if action.type not in SUPPORTED_ACTIONS:
                yield ("triggers", t, "then", a, "type"), (
                    f"the twin does not carry out {action.type.value!r} actions (it does: "
                    f"{', '.join(sorted(SUPPORTED_ACTIONS))})")
        for name in sorted(condition_names(trigger.when) - SUPPORTED_STATISTICS):
            yield ("triggers", t, "when"), (f"the twin does not measure {name!r} (it measures: "
                                            f"{', '.join(sorted(SUPPORTED_STATISTICS))})")
        yield from _never_evaluated(ruleset, t)
        for message in condition_failures(trigger.when):
            yield ("triggers", t, "when"), message


def _never_evaluated(ruleset: RuleSet, t: int) -> Iterator[tuple[Loc, str]]:
    """A trigger the twin never evaluates: it reads a material the rule set has no plan
    for (triggers run after a lot of a planned material is decided, when the statistics
    change)."""
    trigger = ruleset.triggers[t]
    planned = sorted(p.material for p in ruleset.plans)
    if trigger.material is not None and trigger.material not in planned:
        yield ("triggers", t, "material"), (
            f"no plan for material {trigger.material!r} in this rule set, so the twin never "
            f"evaluates the trigger (plans: {', '.join(planned) or 'none'})")


def plant_problems(ruleset: RuleSet, plant: Any) -> Iterator[tuple[Loc, str]]:
    """What keeps a rule set from acting on ``plant`` (a scenario's ``plant`` section)."""
    buffered = {b.material for b in plant.buffers}
    incoming = [st.id for st in plant.stations
                if st.kind == StationKind.INSPECTION and st.role == "incoming"]
    for i, plan in enumerate(ruleset.plans):
        if plan.material not in buffered:
            continue  # a plan for another plant's material; lint notes it
        if plan.station is None and not incoming:
            yield ("plans", i), ("the plant has no incoming inspection station (an inspection "
                                 "station with role: incoming) to apply the plan")
        elif plan.station is not None and plan.station not in incoming:
            yield ("plans", i, "station"), (f"{plan.station!r} is not an incoming inspection "
                                            "station of the plant (incoming: "
                                            + (", ".join(incoming) or "none") + ")")
    yield from _measured_problems(ruleset, plant)
    yield from _library_problems(ruleset, plant)
    for t, trigger in enumerate(ruleset.triggers):
        materials = [trigger.material] if trigger.material else [p.material
                                                                   for p in ruleset.plans]
        for a, action in enumerate(trigger.then):
            to = getattr(action, "to", None)
            if to is not None and not any(s.id == to and s.material in materials
                                          for s in plant.suppliers):
                yield ("triggers", t, "then", a, "to"), (
                    f"{to!r} is not a supplier of {', '.join(materials)} in the plant")
        if "supplier.otd" in condition_names(trigger.when):
            for sup in plant.suppliers:
                if sup.material in materials and sup.promised is None:
                    yield ("triggers", t, "when"), (f"supplier.otd needs a promised lead time "
                                                    f"on supplier {sup.id!r} (promised:)")


def _library_problems(ruleset: RuleSet, plant: Any) -> Iterator[tuple[Loc, str]]:
    """A rule library binds its rules to contexts the plant's quality system has, and its
    deviation fallback names one of its pools."""
    library = ruleset.library
    if library is None or not library.rules:
        return
    quality = plant.quality
    if quality is None:
        yield ("library",), ("a rule library bound to contexts needs the plant's quality "
                             "system (plant.quality: its contexts, pools and playbooks)")
        return
    known = [*quality.contexts, *dict.fromkeys(f"supplier.{s.material}"
                                                 for s in plant.suppliers if s.tier == 1)]
    for r, rule in enumerate(library.rules):
        for key in rule.context:
            if key not in known:
                yield ("library", "rules", r, "context", key), unknown_name(
                    "context", key, known, listed="contexts")
    fallback = library.fallback
    pools = [p.id for p in quality.pools]
    if fallback is not None and fallback.pool is not None and fallback.pool not in pools:
        yield ("library", "fallback", "pool"), unknown_name("pool", fallback.pool, pools,
                                                            listed="pools")


def _measured_problems(ruleset: RuleSet, plant: Any) -> Iterator[tuple[Loc, str]]:
    """Charts, capability targets and comparability studies name characteristics the plant
    measures; supplier actions name the material's suppliers."""
    from shocktwin.errors import unknown_name

    measured: dict[str, set[str]] = {}
    for ch in getattr(plant, "characteristics", ()):
        if ch.material is not None:
            measured.setdefault(ch.material, set()).add(ch.name)
    for i, plan in enumerate(ruleset.plans):
        names = measured.get(plan.material)
        if names is None:
            if plan.comparability is not None:
                yield ("plans", i, "comparability"), (
                    f"the plant measures no characteristic of {plan.material!r}, so no "
                    "comparability study can be run (declare it under plant.characteristics)")
            continue
        for c, ch in enumerate(plan.characteristics):
            if ch.name not in names:
                yield ("plans", i, "characteristics", c, "name"), unknown_name(
                    f"characteristic of {plan.material}", ch.name, names,
                    listed="the plant measures")
        if plan.comparability is not None and plan.comparability.characteristic not in names:
            yield ("plans", i, "comparability", "characteristic"), unknown_name(
                f"characteristic of {plan.material}", plan.comparability.characteristic, names,
                listed="the plant measures")
    incoming = [st.id for st in plant.stations
                if st.kind == StationKind.INSPECTION and st.role == "incoming"]
    for i, plan in enumerate(ruleset.plans):
        lab = plan.comparability.lab if plan.comparability is not None else None
        if lab is not None and lab not in incoming:
            yield ("plans", i, "comparability", "lab"), unknown_name(
                "incoming inspection station", lab, incoming, listed="incoming stations")
    suppliers = {s.id: s.material for s in plant.suppliers}
    for t, trigger in enumerate(ruleset.triggers):
        materials = [trigger.material] if trigger.material else [p.material
                                                                   for p in ruleset.plans]
        for a, action in enumerate(trigger.then):
            name = getattr(action, "supplier", None)
            if action.type not in (ActionType.HOLD_SUPPLIER, ActionType.RELEASE_SUPPLIER) \
                    or name is None:
                continue
            if name not in suppliers:
                yield ("triggers", t, "then", a, "supplier"), unknown_name(
                    "supplier", name, suppliers, listed="suppliers")
            elif suppliers[name] not in materials:
                yield ("triggers", t, "then", a, "supplier"), (
                    f"{name!r} supplies {suppliers[name]}, not {', '.join(materials)}")


def condition_names(expression: str) -> set[str]:
    """The statistics a trigger condition reads."""
    from shocktwin.rules_engine.expression import compile_expression
    from shocktwin.rules_engine.ruleset import STATISTICS

    return set(compile_expression(expression, STATISTICS).names)


# --------------------------------------------------------------------------- conditions
#
# Which values can make a condition fail while the twin runs, found by interval
# arithmetic over the ranges the statistics can take (``Statistic.low``/``high``). A part
# the analysis cannot bound is left alone: only a failure that the ranges allow is reported.
# ``a and b`` evaluates b only where a held, so a guard such as ``lot.accepted_in_a_row > 0``
# narrows the range of what follows it (likewise ``a or b`` where a failed, and the branches
# of ``x if c else y``).


@dataclass(frozen=True)
class _Span:
    """The values a number can take: from ``low`` to ``high``, each end open or closed."""

    low: float
    high: float
    low_open: bool = False
    high_open: bool = False

    def holds(self, value: float) -> bool:
        above = self.low < value or (self.low == value and not self.low_open)
        below = value < self.high or (value == self.high and not self.high_open)
        return above and below

    def negative(self) -> _Span:
        return _Span(-self.high, -self.low, self.high_open, self.low_open)

    def within(self, other: _Span) -> _Span:
        """The values in both (an empty result is left as it is: nothing then holds)."""
        # At the same value an open end is the narrower one.
        low = max((self.low, self.low_open), (other.low, other.low_open))
        high = min((self.high, not self.high_open), (other.high, not other.high_open))
        return _Span(low[0], high[0], low[1], not high[1])


_Env = Mapping[str, _Span]


def condition_failures(text: str) -> list[str]:
    """Why the condition ``text`` (valid, over the trigger statistics) can stop a run: each
    failure the statistics' ranges allow, in the order they appear."""
    from shocktwin.rules_engine.ruleset import STATISTICS

    tree = ast.parse(text.strip(), mode="eval").body
    env = {name: _Span(s.low, s.high) for name, s in STATISTICS.items()}
    found: list[str] = []
    _Spans(text.strip(), found).span(tree, env)
    return list(dict.fromkeys(found))


def _key(node: ast.expr) -> str:
    """How ``env`` knows a part: a statistic by its name, anything else by its form."""
    return _dotted(node) or ast.dump(node)


def _dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = _dotted(node.value)
        return f"{inner}.{node.attr}" if inner is not None else None
    return None


def _number(node: ast.expr) -> float | None:
    """The value of a numeric literal (with its sign), else None."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        inner = _number(node.operand)
        if inner is None:
            return None
        return -inner if isinstance(node.op, ast.USub) else inner
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float) \
            and not isinstance(node.value, bool):
        return float(node.value)
    return None


def _times(a: float, b: float) -> float:
    return 0.0 if a == 0.0 or b == 0.0 else a * b  # 0 · ∞ is 0 here: the ends are limits


class _Spans:
    def __init__(self, text: str, found: list[str]) -> None:
        self.text = text
        self.found = found

    def source(self, node: ast.expr) -> str:
        return ast.get_source_segment(self.text, node) or ast.unparse(node)

    def span(self, node: ast.expr, env: _Env) -> _Span | None:
        """The values ``node`` can take under ``env``, or None when not a bounded number;
        what can fail on the way is added to ``found``."""
        computed = self.computed(node, env)
        known = env.get(_key(node))
        if computed is None or known is None:
            return computed or known
        return computed.within(known)

    def computed(self, node: ast.expr, env: _Env) -> _Span | None:
        value = _number(node)
        if value is not None:
            return _Span(value, value)
        if _dotted(node) is not None:
            return None  # a statistic's range is in ``env``, under its name
        if isinstance(node, ast.UnaryOp):
            inner = self.span(node.operand, env)
            if isinstance(node.op, ast.USub) and inner is not None:
                return inner.negative()
            return inner if isinstance(node.op, ast.UAdd) else None
        if isinstance(node, ast.BinOp):
            return self.binary(node, env)
        if isinstance(node, ast.BoolOp):
            truth = isinstance(node.op, ast.And)
            for part in node.values:
                self.span(part, env)
                # The next part runs only where this one was true (and) or false (or).
                env = _narrow(part, env, truth)
            return None
        if isinstance(node, ast.Compare):
            for part in (node.left, *node.comparators):
                self.span(part, env)
            return None
        if isinstance(node, ast.IfExp):
            self.span(node.test, env)
            body = self.span(node.body, _narrow(node.test, env, True))
            orelse = self.span(node.orelse, _narrow(node.test, env, False))
            return _hull(body, orelse)
        if isinstance(node, ast.Call):
            return self.call(node, env)
        for child in ast.iter_child_nodes(node):  # lists and tuples after ``in``
            if isinstance(child, ast.expr):
                self.span(child, env)
        return None

    def binary(self, node: ast.BinOp, env: _Env) -> _Span | None:
        left = self.span(node.left, env)
        right = self.span(node.right, env)
        op = node.op
        if isinstance(op, ast.Div | ast.FloorDiv | ast.Mod):
            if right is not None and right == _Span(0.0, 0.0):
                self.found.append(f"{self.source(node)!r} divides by zero")
            elif right is not None and right.holds(0.0):
                divisor = self.source(node.right)
                self.found.append(
                    f"{self.source(node)!r} divides by zero when {divisor!r} is 0, which it "
                    f"can be: guard it (e.g. '{divisor} > 0 and ...') or multiply instead of "
                    "dividing")
            return None
        if isinstance(op, ast.Pow):
            self.power(node, left, right)
            return None
        if left is None or right is None:
            return None
        if isinstance(op, ast.Sub):
            right = right.negative()
        if isinstance(op, ast.Add | ast.Sub):
            low, high = left.low + right.low, left.high + right.high
            if math.isnan(low) or math.isnan(high):
                return None
            return _Span(low, high, left.low_open or right.low_open,
                         left.high_open or right.high_open)
        if isinstance(op, ast.Mult):
            ends = [_times(a, b) for a in (left.low, left.high) for b in (right.low, right.high)]
            return _Span(min(ends), max(ends))
        return None

    def power(self, node: ast.BinOp, base: _Span | None, exponent: _Span | None) -> None:
        text = self.source(node)
        constant = _number(node.right)
        if exponent is not None and constant is None and (
                exponent.low < -MAX_EXPONENT or exponent.high > MAX_EXPONENT):
            self.found.append(f"the exponent {self.source(node.right)!r} in {text!r} can go "
                              f"beyond ±{MAX_EXPONENT}, the most the language allows")
        if base is None:
            return
        if exponent is not None and exponent.low < 0 and base.holds(0.0):
            self.found.append(f"{text!r} divides by zero when {self.source(node.left)!r} "
                                  "is 0, which it can be")
        whole = constant is not None and constant == int(constant)
        if base.low < 0 and not whole:
            self.found.append(f"{text!r} is not a real number when "
                              f"{self.source(node.left)!r} is negative, which it can be")

    def call(self, node: ast.Call, env: _Env) -> _Span | None:
        spans = [self.span(arg, env) for arg in node.args]
        name = _dotted(node.func)
        if any(s is None for s in spans) or not spans:
            return None
        known = [s for s in spans if s is not None]
        if name == "abs" and len(known) == 1:
            (x,) = known
            if x.holds(0.0):
                return _Span(0.0, max(-x.low, x.high))
            return _Span(min(abs(x.low), abs(x.high)), max(abs(x.low), abs(x.high)),
                         x.low_open if x.low >= 0 else x.high_open,
                         x.high_open if x.low >= 0 else x.low_open)
        if name in ("max", "min"):
            pick = max if name == "max" else min
            low = pick(s.low for s in known)
            high = pick(s.high for s in known)
            # An end is open only when every argument at that end is open there.
            return _Span(low, high, all(s.low_open for s in known if s.low == low),
                         all(s.high_open for s in known if s.high == high))
        if name == "clamp" and len(known) == 3:
            x, floor, ceiling = known
            return _Span(max(x.low, floor.low), min(x.high, ceiling.high))
        return None


def _hull(a: _Span | None, b: _Span | None) -> _Span | None:
    if a is None or b is None:
        return None
    return _Span(min(a.low, b.low), max(a.high, b.high))


_FLIPPED: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Lt: ast.Gt, ast.LtE: ast.GtE, ast.Gt: ast.Lt, ast.GtE: ast.LtE, ast.Eq: ast.Eq,
    ast.NotEq: ast.NotEq}
_NEGATED: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Lt: ast.GtE, ast.LtE: ast.Gt, ast.Gt: ast.LtE, ast.GtE: ast.Lt, ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq}


def _narrow(test: ast.expr, env: _Env, truth: bool) -> _Env:
    """``env`` where ``test`` is ``truth``, as far as comparisons of a statistic with a
    number tell."""
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return _narrow(test.operand, env, not truth)
    if isinstance(test, ast.BoolOp):
        # All parts hold when an ``and`` is true; none holds when an ``or`` is false.
        if isinstance(test.op, ast.And) == truth:
            for part in test.values:
                env = _narrow(part, env, truth)
        return env
    if not isinstance(test, ast.Compare):
        return env
    if not truth and len(test.ops) > 1:
        return env  # a chain is false when any one link is: nothing certain about each
    out = dict(env)
    operands = [test.left, *test.comparators]
    for op, left, right in zip(test.ops, operands, operands[1:], strict=False):
        kind: type[ast.cmpop] = type(op)
        part, value = left, _number(right)
        if value is None:
            part, value = right, _number(left)
            kind = _FLIPPED.get(kind, kind)
        if value is None or _number(part) is not None or kind not in _NEGATED:
            continue
        if not truth:
            kind = _NEGATED[kind]
        key = _key(part)
        out[key] = _bound(out.get(key, _ANY), kind, value)
    return out


_ANY = _Span(-math.inf, math.inf)


def _bound(span: _Span, kind: type[ast.cmpop], value: float) -> _Span:
    """``span`` where ``x <kind> value`` holds."""
    low, high, low_open, high_open = span.low, span.high, span.low_open, span.high_open
    if kind in (ast.Gt, ast.GtE) and (value > low or (value == low and kind is ast.Gt)):
        low, low_open = value, kind is ast.Gt
    elif kind in (ast.Lt, ast.LtE) and (value < high or (value == high and kind is ast.Lt)):
        high, high_open = value, kind is ast.Lt
    elif kind is ast.Eq:
        return _Span(value, value)
    elif kind is ast.NotEq:
        low_open = low_open or value == low
        high_open = high_open or value == high
    return _Span(low, high, low_open, high_open)
