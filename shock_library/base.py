"""The shock base class: a typed, parameterised disturbance with one severity axis.

A shock has a target, a start, a duration and a recovery profile. While it runs the twin
calls ``apply(plant, level)`` with its intensity: 1 for the duration, then falling to 0 as
the recovery profile says (at once, a linear ramp, or exponentially). Subclasses declare
their family, the kind of entity they target and their severity axis (the one field MTD
search varies), and fill the ``_apply`` hook that moves the plant's levers.
"""

from __future__ import annotations

import math
import re
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

from shocktwin.twin.model.kinds import CascadeOn
from shocktwin.units import Duration, PositiveDuration, Rate

if TYPE_CHECKING:
    from shocktwin.twin.model.base import Model

__all__ = ["Cascade", "CascadeOn", "Family", "Layer", "Onset", "Profile", "Recovery", "Shock",
           "SupplierSelector", "TargetKind"]

#: Intensity steps used to follow a linear or exponential recovery.
RAMP_STEPS = 10
#: Below this intensity an exponential recovery counts as complete.
EXP_CUTOFF = 0.01


class Family(StrEnum):
    SUPPLY = "supply"
    GEOPOLITICS = "geopolitics"
    CLIMATE = "climate"
    TECHNOLOGY = "technology"
    OPERATIONS = "operations"
    REGULATION = "regulation"


class Layer(StrEnum):
    """The twin's three layers; a shock touches one or more.

    A shock's layers follow from what its ``_apply`` moves (or, for a shock whose duration
    is the time a layer takes to be made valid again, from that layer):

    - physical: equipment and the material flow — a supplier's capacity, allocation, lead
      times, defect rate, price, or its loss; a station's servers online (staff, machines,
      power), speed, failure rate, process defect rate; the customer order rate; units
      moved (shipped units recalled).
    - logical: the control that moves the flow — which source a buffer orders from
      (a backup activated, a lost supplier's orders moved), emergency orders, holds on
      release (quarantine, no release without the electronic record), the data the
      triggers read, a fall-back of the sampling in force to a safe plan or to 100 %.
    - semantic: the quality rules and what they rest on — a rule set reloaded, rules bound
      to a tool chain invalid until re-validated, a measurement or inspection model that
      sees less, quality records and statistics lost.
    """

    PHYSICAL = "physical"  # equipment state and the material flow
    LOGICAL = "logical"  # dispatching, replenishment, switching, the response playbook
    SEMANTIC = "semantic"  # quality rules and what they act on


class SupplierSelector(BaseModel):
    """Every supplier that matches all the given keys: one event (an earthquake, an
    embargo) hits them at once."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    region: str | None = Field(None, min_length=1, max_length=64)
    country: str | None = Field(None, min_length=1, max_length=64)
    tier: int | None = Field(None, ge=1, le=20)
    material: str | None = Field(None, min_length=1, max_length=64)

    @model_validator(mode="after")
    def _something(self) -> SupplierSelector:
        if all(v is None for v in (self.region, self.country, self.tier, self.material)):
            raise ValueError("a selector needs at least one of region, country, tier, "
                             "material")
        return self

    def matches(self, supplier: Any) -> bool:
        """Whether a supplier (of the scenario or of the model) matches every key given."""
        return all(want is None or getattr(supplier, key, None) == want
                   for key, want in (("region", self.region), ("country", self.country),
                                     ("tier", self.tier), ("material", self.material)))

    def text(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.model_dump(exclude_none=True).items())


class TargetKind(StrEnum):
    """What a shock acts on; the scenario check refuses a target of another kind."""

    SUPPLIER = "supplier"
    STATION = "station"  # any station with servers
    PROCESS_STATION = "process_station"
    INSPECTION_STATION = "inspection_station"
    PLANT = "plant"  # the whole plant: no target id
    DEMAND = "demand"  # customer demand: no target id


class Profile(StrEnum):
    STEP = "step"
    LINEAR = "linear"
    EXPONENTIAL = "exponential"


class Recovery(BaseModel):
    """How the effect fades after the shock's duration."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    profile: Profile = Profile.STEP
    over: Duration = Field(0.0, description="Linear: ramp length. Exponential: time constant.")

    def level_after(self, hours: float) -> float:
        """Intensity ``hours`` after the shock's duration ended."""
        if self.profile is Profile.STEP or self.over <= 0:
            return 0.0
        if self.profile is Profile.LINEAR:
            return max(0.0, 1.0 - hours / self.over)
        level = math.exp(-hours / self.over)
        return level if level >= EXP_CUTOFF else 0.0


class Cascade(BaseModel):
    """Start this shock when another one reaches a point; ``start`` is then the delay
    after that moment."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    shock: str = Field(description="Id of the shock this one follows.")
    on: CascadeOn = CascadeOn.STARTED


class Onset(BaseModel):
    """Random onset: occurrences arrive as a Poisson process from ``start`` on, each with
    the shock's duration and recovery, for Monte Carlo risk runs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rate: Rate = Field(description="Occurrences per time unit, e.g. '2/365d'.")
    max_occurrences: int = Field(100, ge=1, le=10_000)


class Shock(BaseModel):
    """Base of every shock. Subclasses set the class variables and ``_apply``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    family: ClassVar[Family]
    target_kind: ClassVar[TargetKind]
    #: The field MTD search varies: "duration" or the name of a magnitude field.
    severity_axis: ClassVar[str] = "duration"
    #: A plant-wide shock that acts through the suppliers (so not on a replayed shop).
    acts_on_suppliers: ClassVar[bool] = False
    #: Two exclusive shocks on one target whose windows overlap cannot combine.
    exclusive: ClassVar[bool] = False
    #: The effect is permanent (a lost supplier): a second such shock on the target is void.
    permanent: ClassVar[bool] = False
    #: The severity axis is a time (held in hours, written with a unit).
    severity_is_time: ClassVar[bool] = False
    #: What it moves where a plant measures characteristics, as ``shocks show`` says:
    #: e.g. "attribute defect rate", "characteristic mean", "characteristic spread",
    #: "gauge". Empty: it does not act on measurements.
    acts_on: ClassVar[tuple[str, ...]] = ()
    #: The layers of the twin it touches (shown by ``shocks list`` and in the report); see
    #: :class:`Layer` for the rule.
    layers: ClassVar[frozenset[Layer]] = frozenset({Layer.PHYSICAL})
    #: A shock that hits a place (an earthquake, an embargo) is aimed with a selector that
    #: names one of these keys, e.g. ``{region: JP}``; empty: any target of its kind.
    place_keys: ClassVar[tuple[str, ...]] = ()

    id: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_.\-]{0,63}$")
    type: str
    target: str | SupplierSelector | None = Field(None, description=(
        "Id of the entity hit (none for plant-wide and demand shocks); for a shock on "
        "suppliers also a selector such as {region: JP} or {tier: 2, material: casting}, "
        "hitting every matching supplier at once."))
    start: Duration = Field(description="When the shock begins, from the start of the run.")
    duration: PositiveDuration = Field(description="How long the full shock lasts.")
    recovery: Recovery = Field(default_factory=lambda: Recovery())
    after: Cascade | None = Field(None, description="Start when another shock reaches a "
                                  "point (then start is the delay after it).")
    onset: Onset | None = Field(None, description="Random onset: Poisson occurrences from "
                                "start on.")
    context: dict[str, str] | None = Field(None, exclude_if=lambda v: v is None, description=(
        "Contexts it changes at its onset, e.g. {toolchain: eda-b}: the rules of the rule "
        "library bound to the old values are invalidated until a playbook regenerates them "
        "(needs the plant's quality system)."))
    severity_on: str | None = Field(None, exclude_if=lambda v: v is None, description=(
        "The parameter an MTD search varies and the journal reports as the severity; "
        "default the type's severity axis (shocks show). E.g. mean_shift for a "
        "quality_drift of measured characteristics."))

    @model_validator(mode="after")
    def _known_axis(self) -> Shock:
        on = self.severity_on
        if on is None or on == type(self).severity_axis:
            return self
        numeric = [name for name, f in type(self).model_fields.items()
                   if f.annotation in (float, "float") and name not in ("start",)]
        if on not in numeric:
            from shocktwin.errors import unknown_name

            raise ValueError(unknown_name("severity parameter", on, numeric,
                                          listed="numeric parameters"))
        return self

    @property
    def axis(self) -> str:
        """The parameter its severity is: ``severity_on``, else the type's axis."""
        return self.severity_on or type(self).severity_axis

    @property
    def axis_is_time(self) -> bool:
        """Whether the severity is a time (held in hours, written with a unit)."""
        axis = self.axis
        return axis == "duration" or (axis == type(self).severity_axis
                                      and type(self).severity_is_time)

    # -- life cycle --------------------------------------------------------------------

    @property
    def loses_target(self) -> bool:
        """This shock loses its target for good (two such on one target cannot combine)."""
        return self.permanent

    @property
    def target_id(self) -> str:
        """The id of the one entity hit; a shock with a selector is applied as one copy per
        matching supplier, each with that supplier's id."""
        if isinstance(self.target, SupplierSelector):
            raise TypeError(f"shock {self.id} targets a selector, not one entity")
        return self.target or ""

    @property
    def target_text(self) -> str | None:
        """The target as written: an id, a selector as ``region=JP``, or None."""
        if isinstance(self.target, SupplierSelector):
            return "{" + self.target.text() + "}"
        return self.target

    @property
    def end_h(self) -> float:
        return self.start + self.duration

    def severity(self) -> float:
        """The value on the severity axis (hours for a duration)."""
        return float(getattr(self, self.axis))

    def with_severity(self, value: float) -> Shock:
        """The same shock with another value on its severity axis (validated, so a value
        outside the axis's bounds raises)."""
        axis = self.axis
        field = type(self).model_fields[axis]
        # The field type with its constraints, known only at run time.
        adapter: TypeAdapter[Any] = TypeAdapter(
            Annotated[field.annotation, *field.metadata])  # type: ignore[arg-type]
        # Durations are held in hours but written with a unit.
        is_time = self.axis_is_time
        checked = adapter.validate_python(f"{float(value)!r}h" if is_time else value)
        return self.model_copy(update={axis: checked})

    def intensity_steps(self) -> list[tuple[float, float]]:
        """(time, intensity) change points: full at the start, then the recovery."""
        steps = [(self.start, 1.0)]
        end = self.end_h
        rec = self.recovery
        if rec.profile is Profile.STEP or rec.over <= 0:
            return [*steps, (end, 0.0)]
        if rec.profile is Profile.LINEAR:
            return _linear(steps, end, rec)
        return _exponential(steps, end, rec)

    def scenario_problems(self, scenario: Any) -> list[str]:
        """What about this shock does not fit ``scenario`` (beyond its target's kind); a
        subclass that adds checks keeps these with ``super()``."""
        return self.aim_problems()

    def aim_problems(self) -> list[str]:
        """A shock that hits a place (:attr:`place_keys`) aimed at one supplier, or with a
        selector that names no place."""
        keys = self.place_keys
        if not keys or self.target is None:
            return []  # no target at all is reported with the target's kind
        where = " or ".join(keys)
        if not isinstance(self.target, SupplierSelector):
            return [f"{self.type} hits every supplier in a {where}: aim it with a selector "
                    f"such as {{{keys[0]}: JP}}, not at one supplier"]
        if all(getattr(self.target, key) is None for key in keys):
            return [f"{self.type} hits every supplier in a {where}: its selector "
                    f"{{{self.target.text()}}} needs a {where}"]
        return []

    def apply(self, plant: Model, level: float) -> None:
        """Move the plant's levers for intensity ``level`` (0 removes the effect)."""
        if not 0.0 <= level <= 1.0:
            raise ValueError(f"intensity {level} outside [0, 1]")
        if self.context and level > 0.0:
            plant.change_contexts(self.context, reason=f"shock {self.id}", once=self.id)
        self._apply(plant, level)

    def _apply(self, plant: Model, level: float) -> None:
        raise NotImplementedError

    @classmethod
    def summary(cls) -> str:
        """The first sentence of the docstring (an abbreviation such as "e.g." or a full stop
        inside parentheses does not end it)."""
        text = " ".join((cls.__doc__ or "").split())
        depth = 0
        for i, ch in enumerate(text):
            depth = max(0, depth + (ch == "(") - (ch == ")"))
            if (ch == "." and depth == 0 and text[i + 1:i + 2] in (" ", "")
                    and not _ABBREVIATION.search(text[:i + 1])):
                return text[:i + 1]
        return text

    @classmethod
    def describe(cls) -> dict[str, Any]:
        return {"type": cls.model_fields["type"].default, "family": cls.family.value,
                "target": cls.target_kind.value, "severity_axis": cls.severity_axis,
                "layers": [layer.value for layer in Layer if layer in cls.layers],
                "acts_on": list(cls.acts_on), "summary": cls.summary()}


#: Words ending in a full stop that do not end a sentence.
_ABBREVIATION = re.compile(r"\b(?:e\.g|i\.e|etc|cf|vs|approx|incl)\.$", re.IGNORECASE)


def _linear(steps: list[tuple[float, float]], end: float,
            rec: Recovery) -> list[tuple[float, float]]:
    # The first point at the end keeps the full intensity; then RAMP_STEPS even steps down.
    out = list(steps)
    for k in range(0, RAMP_STEPS + 1):
        out.append((end + rec.over * k / RAMP_STEPS, 1.0 - k / RAMP_STEPS))
    return out


def _exponential(steps: list[tuple[float, float]], end: float,
                 rec: Recovery) -> list[tuple[float, float]]:
    out = list(steps)
    k = 0
    while True:
        t = rec.over * k / 2.0  # half a time constant between updates
        level = rec.level_after(t)
        out.append((end + t, level))
        if level == 0.0:
            return out
        k += 1
