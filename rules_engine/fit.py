"""Whether a rule set fits the twin and a plant: the one check behind loading a scenario's
rule sets and ``shocktwin rules lint``, so a file that lints clean also loads.

- against the twin: every trigger action is one a running twin carries out, and every
  statistic a condition reads is one it measures;
- against a plant: each plan has an incoming inspection station to apply it, a supplier
  switched to delivers the trigger's material, and ``supplier.otd`` has promised lead times.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

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


def condition_names(expression: str) -> set[str]:
    """The statistics a trigger condition reads."""
    from shocktwin.rules_engine.expression import compile_expression
    from shocktwin.rules_engine.ruleset import STATISTICS

    return set(compile_expression(expression, STATISTICS).names)
