"""Rule-set files (format version 1): inspection plans per material and triggers that act on them.

A rule set says, per material, how incoming lots are inspected (single sampling by the Z1.4
tables with switching, or 100 %; skip-lot and first-article on top), which characteristics
are charted and what capability they must show, and which triggers change the plans while
the twin runs. It is read like a scenario file: safe YAML, every problem at once with the
file, the path inside it and the line.

Trigger conditions are text in the safe expression language of
:mod:`rules_engine.expression`, checked against the fixed vocabulary :data:`STATISTICS`.

:func:`compile_plan` turns a rule set into plain lookups (lot size → n, Ac, Re for each
severity) so the twin does no table work while it runs; :meth:`RuleSet.content_hash` and
:func:`diff_rules` identify a rule set and summarise what a reload changed.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    FiniteFloat,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    field_serializer,
    field_validator,
    model_validator,
)

from shocktwin.errors import Problem, RuleError, ScenarioError, unknown_name
from shocktwin.references import position_only
from shocktwin.rules_engine.expression import (
    CompiledExpression,
    check_expression,
    compile_expression,
)
from shocktwin.rules_engine.sampling import (
    AQL_SERIES,
    InspectionLevel,
    PlanCell,
    SamplingPlan,
    Severity,
    normalise_aql,
    single_sampling_plan,
)
from shocktwin.rules_engine.spc import NelsonRule, WesternElectricRule
from shocktwin.rules_engine.switching import SwitchingProcedure, SwitchingVariant
from shocktwin.source import (
    ID_PATTERN,
    Ident,
    Loc,
    SemanticProblems,
    check_spec_limits,
    error_message,
    read_yaml,
    validation_problems,
)
from shocktwin.units import Duration, PositiveDuration, format_hours

__all__ = [
    "BUNDLED_AI_MODEL",
    "CONTEXT_KEY_PATTERN",
    "RULE_ID_PATTERN",
    "STATISTICS",
    "AIModelRef",
    "Action",
    "ActionType",
    "Capability",
    "Characteristic",
    "ChartType",
    "Comparability",
    "CompiledCharacteristic",
    "CompiledPlan",
    "CompiledRules",
    "CompiledTrigger",
    "ContextKey",
    "Fallback",
    "FallbackMode",
    "FirstArticle",
    "FullInspection",
    "HoldSupplier",
    "InspectFull",
    "Library",
    "LibraryRule",
    "Limits",
    "LoadRules",
    "LotRangePlan",
    "Normal",
    "Plan",
    "Quarantine",
    "ReleaseSupplier",
    "RuleFamily",
    "RuleId",
    "RuleKind",
    "RuleSet",
    "RunRules",
    "SamplingMethod",
    "SingleSampling",
    "SkipLot",
    "Spc",
    "Spec",
    "Statistic",
    "StopLine",
    "SwitchSupplier",
    "Switching",
    "Tighten",
    "Trigger",
    "compile_plan",
    "context_problems",
    "diff_rules",
    "load_rules",
    "parse_rules",
    "read_rules",
    "rules_json_schema",
]

#: Name of the ONNX inspection model bundled with the package (``rules_engine/models``).
BUNDLED_AI_MODEL = "steel_plates"


# --------------------------------------------------------------------------- vocabulary


@dataclass(frozen=True)
class Statistic:
    """A value a trigger condition may read: its meaning, unit and the range it can take."""

    name: str
    description: str
    unit: str = ""
    low: float = -math.inf
    high: float = math.inf


def _vocabulary(*items: Statistic) -> Mapping[str, Statistic]:
    return MappingProxyType({s.name: s for s in items})


#: Every name a trigger's ``when`` may read. ``supplier.*``, ``lot.*``, ``station.*`` and
#: ``spc.*`` describe the trigger's material (its current supplier, its lots, the inspection
#: station of its plan); a trigger without a material is evaluated for each planned material
#: separately. ``kpi.*`` are plant-wide. Windows are trailing and in simulated time.
STATISTICS: Mapping[str, Statistic] = _vocabulary(
    Statistic("supplier.cpk", "lowest Cpk of the material's characteristics over the "
              "supplier's lots of the last 30 days (σ within lots; without measured "
              "characteristics, the Cpk implied by the nonconforming share found)"),
    Statistic("supplier.cpk_low", "lower end of the 95 % interval (Bissell) of "
              "supplier.cpk: below 1.33 means the supplier is shown not capable"),
    Statistic("supplier.cpk_high", "upper end of the 95 % interval (Bissell) of "
              "supplier.cpk: above 1.33 means the supplier is shown capable"),
    Statistic("supplier.ppk", "lowest Ppk of the material's characteristics over the "
              "supplier's lots of the last 30 days"),
    Statistic("supplier.otd", "share of the supplier's lots delivered on time, last 90 days",
              "share", 0.0, 1.0),
    Statistic("supplier.ppm", "nonconforming units found at incoming inspection per million "
              "inspected, last 90 days", "ppm", 0.0),
    Statistic("supplier.lead_time_p95", "95th percentile of order-to-delivery time, last 90 "
              "days", "h", 0.0),
    Statistic("lot.rejected_in_last_5", "lots not accepted among the last 5 inspected",
              "lots", 0.0, 5.0),
    Statistic("lot.rejected_in_last_10", "lots not accepted among the last 10 inspected",
              "lots", 0.0, 10.0),
    Statistic("lot.accepted_in_a_row", "lots accepted since the last one not accepted",
              "lots", 0.0),
    Statistic("lot.defect_rate", "share of nonconforming units in the last lot's sample",
              "share", 0.0, 1.0),
    Statistic("station.utilisation", "busy share of the plan's inspection station, last 24 h",
              "share", 0.0, 1.0),
    Statistic("station.queue", "units waiting at the plan's inspection station", "units", 0.0),
    Statistic("spc.signals", "points with a signal (limits or run rules) on the charts of "
              "the current supplier's lots, last 7 days", "signals", 0.0),
    *(Statistic(f"spc.{chart}.signal", f"points with a signal on the {chart} charts of the "
                f"current supplier's lots, last 7 days", "signals", 0.0)
      for chart in ("xbar_r", "xbar_s", "i_mr", "p", "np", "c", "u", "ewma", "cusum")),
    Statistic("lot.cpk", "lowest Cpk of the material's characteristics in the last lot "
              "measured (σ within its subgroups)"),
    Statistic("lot.ppk", "lowest Ppk of the material's characteristics in the last lot "
              "measured (overall σ of its readings)"),
    Statistic("lots_below_cpk_in_a_row", "lots in a row, up to the last one measured, with "
              "a characteristic's Cpk below its cpk_min (1.33 where none is given)", "lots",
              0.0),
    Statistic("kpi.escaped_ppm", "defective units shipped per million shipped, last 7 days",
              "ppm", 0.0),
    Statistic("kpi.otd", "share of customer orders delivered on time, last 7 days", "share",
              0.0, 1.0),
    Statistic("kpi.release_lead_time_p95", "95th percentile of start-to-release time, last "
              "7 days", "h", 0.0),
    Statistic("kpi.scrap", "units scrapped, last 7 days", "units", 0.0),
    Statistic("kpi.throughput_per_h", "units released per hour, last 24 h", "units/h", 0.0),
)


# --------------------------------------------------------------------------- small types


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SamplingMethod(StrEnum):
    """How a lot is inspected: a sample by the Z1.4 tables, or every unit."""

    SINGLE = "single"
    FULL = "full"


class Switching(StrEnum):
    """Which switching rules move a plan between normal, tightened and reduced."""

    Z14 = "z14"
    ISO2859 = "iso2859"
    NONE = "none"

    @property
    def variant(self) -> SwitchingVariant | None:
        return None if self is Switching.NONE else SwitchingVariant(self.value)


class ChartType(StrEnum):
    """The control chart kept for a characteristic."""

    XBAR_R = "xbar_r"
    XBAR_S = "xbar_s"
    I_MR = "i_mr"
    P = "p"
    NP = "np"
    C = "c"
    U = "u"
    EWMA = "ewma"
    CUSUM = "cusum"


class RuleFamily(StrEnum):
    """Which numbered set of run rules a chart is checked with."""

    WESTERN_ELECTRIC = "western_electric"
    NELSON = "nelson"

    @property
    def rules(self) -> tuple[WesternElectricRule, ...] | tuple[NelsonRule, ...]:
        """The family's rules in the literature's numbering (rule k is at index k − 1)."""
        if self is RuleFamily.WESTERN_ELECTRIC:
            return tuple(WesternElectricRule)
        return tuple(NelsonRule)


def _level(value: Any) -> Any:
    if isinstance(value, InspectionLevel):
        return value
    if isinstance(value, str):
        try:
            return InspectionLevel(value.strip().upper())
        except ValueError:
            pass
    names = ", ".join(level.value for level in InspectionLevel)
    raise ValueError(f"unknown inspection level {value!r}; expected one of {names}")


def _aql(value: Any) -> str:
    try:
        return normalise_aql(value)
    except RuleError as e:
        raise ValueError(e.problems[0].message) from None


_AQL_SCHEMA = {
    "description": "Acceptable quality limit, one of the standard series "
                   f"({', '.join(AQL_SERIES)}); a number or its label.",
    "anyOf": [{"type": "number", "enum": [float(a) for a in AQL_SERIES]},
              {"type": "string", "enum": list(AQL_SERIES)}],
}
_LEVEL_SCHEMA = {"enum": [level.value for level in InspectionLevel],
                 "description": "Inspection level of Z1.4 Table I."}

#: An AQL label of the standard series ("1.0"); written as a number or a label.
Aql = Annotated[str, BeforeValidator(_aql), WithJsonSchema(_AQL_SCHEMA)]
Level = Annotated[InspectionLevel, BeforeValidator(_level), WithJsonSchema(_LEVEL_SCHEMA)]


# --------------------------------------------------------------------------- sampling


class SingleSampling(_Frozen):
    """Single sampling by lot size from Z1.4 Tables I and II-A/B/C."""

    method: Literal[SamplingMethod.SINGLE] = SamplingMethod.SINGLE
    level: Level = InspectionLevel.II
    aql: Aql
    switching: Switching = Field(Switching.Z14, description="Switching rules between "
                                 "normal, tightened and reduced inspection.")
    start: Severity = Field(Severity.NORMAL, description="Severity of the first lot.")


class FullInspection(_Frozen):
    """Every unit of every lot is inspected (100 %)."""

    method: Literal[SamplingMethod.FULL]


class SkipLot(_Frozen):
    """After ``after_accepted`` lots accepted in a row, only ``inspect`` in ``of`` lots are
    inspected; a lot not accepted returns to inspecting every lot."""

    inspect: int = Field(1, ge=1, le=100)
    of: int = Field(ge=2, le=100)
    after_accepted: int = Field(ge=1, le=1000, description="Lots accepted in a row before "
                                "lots are skipped.")

    @model_validator(mode="after")
    def _fewer_than_all(self) -> SkipLot:
        if self.inspect >= self.of:
            raise ValueError(f"inspect ({self.inspect}) must be fewer than of ({self.of}); "
                             "otherwise no lot is skipped")
        return self


class FirstArticle(_Frozen):
    """``pieces`` units of the first lot from a new supplier or of a new part are measured in
    full before the lot is sampled as usual."""

    pieces: int = Field(ge=1, le=10_000)


def _ai_model(value: Any) -> Any:
    if isinstance(value, str) and value != BUNDLED_AI_MODEL and not value.endswith(".onnx"):
        raise ValueError(f"give the bundled model's name {BUNDLED_AI_MODEL!r} or the path of "
                         f"an .onnx file, not {value!r}")
    return value


class AIModelRef(_Frozen):
    """The ONNX model of an AI inspection gate: the bundled one by name, or a path to an
    ``.onnx`` file (relative to the rule file) with its ``.json`` metadata beside it."""

    model: Annotated[str, BeforeValidator(_ai_model)] = Field(
        BUNDLED_AI_MODEL, min_length=1, max_length=1024)
    threshold: float | None = Field(None, gt=0, lt=1, description="P(reject) at or above "
                                    "which a unit is rejected; default the model's own.")

    @property
    def bundled(self) -> bool:
        return self.model == BUNDLED_AI_MODEL


# --------------------------------------------------------------------------- characteristics


class Spec(_Frozen):
    """Specification limits of a measured characteristic (one-sided allowed)."""

    lsl: FiniteFloat | None = None
    usl: FiniteFloat | None = None
    unit: str = Field(min_length=1, max_length=32)
    target: FiniteFloat | None = None

    @model_validator(mode="after")
    def _limits(self) -> Spec:
        check_spec_limits(self.lsl, self.usl, self.target)
        return self


class RunRules(_Frozen):
    """Which run rules a chart is checked with: a family and the rule numbers used
    (Western Electric 1-4, Nelson 1-8); all of the family's rules by default."""

    family: RuleFamily = RuleFamily.WESTERN_ELECTRIC
    numbers: tuple[int, ...] | None = Field(None, min_length=1, max_length=8)

    @field_validator("numbers")
    @classmethod
    def _known_numbers(cls, numbers: tuple[int, ...] | None,
                       info: ValidationInfo) -> tuple[int, ...] | None:
        if numbers is None:
            return None
        family = info.data.get("family")  # validated first: fields run in order
        if isinstance(family, RuleFamily):
            top = len(family.rules)
            wrong = [n for n in numbers if not 1 <= n <= top]
            if wrong:
                raise ValueError(f"{family.value} rules are numbered 1 to {top}, not "
                                 f"{', '.join(map(str, wrong))}")
        if len(set(numbers)) != len(numbers):
            raise ValueError("a rule number is listed twice")
        return tuple(sorted(numbers))

    @property
    def selected(self) -> tuple[int, ...]:
        """The rule numbers in use, ascending."""
        return self.numbers or tuple(range(1, len(self.family.rules) + 1))


_SUBGROUP = {ChartType.I_MR: (1, 1), ChartType.XBAR_R: (2, 10), ChartType.XBAR_S: (2, 25),
             ChartType.P: (1, 100_000), ChartType.NP: (1, 100_000), ChartType.C: (1, 100_000),
             ChartType.U: (1, 100_000), ChartType.EWMA: (1, 25), ChartType.CUSUM: (1, 25)}
#: Charts of a measured value (the others count nonconforming units or defects per lot).
VARIABLES_CHARTS = frozenset({ChartType.XBAR_R, ChartType.XBAR_S, ChartType.I_MR,
                              ChartType.EWMA, ChartType.CUSUM})
#: Charts whose run rules apply (the EWMA and the CUSUM have their own decision rule).
SHEWHART_CHARTS = frozenset(ChartType) - {ChartType.EWMA, ChartType.CUSUM}


class Limits(_Frozen):
    """Given in-control parameters of a chart (phase II from the start): the centre (the
    mean; the fraction nonconforming for p and np; defects per unit for c and u) and, for a
    chart of measured values, σ of one value."""

    centre: FiniteFloat
    sigma: float | None = Field(None, gt=0, allow_inf_nan=False)


class Spc(_Frozen):
    """The control chart of a characteristic and its run rules."""

    chart: ChartType
    subgroup_size: int | None = Field(None, description="Units per subgroup: 1 for i_mr, 2-10 "
                                      "for xbar_r (required), for p the sample size by default.")
    run_rules: RunRules = Field(default_factory=lambda: RunRules())
    phase_i: int = Field(25, ge=5, le=1000, exclude_if=lambda v: v == 25, description=(
        "Phase I: the chart's limits are estimated from the first this many subgroups "
        "(points for i_mr, ewma, cusum; lots for p, np, c, u), unless limits are given."))
    limits: Limits | None = Field(None, exclude_if=lambda v: v is None, description=(
        "Given in-control parameters instead of a phase-I estimate."))
    lam: float = Field(0.2, gt=0, le=1, exclude_if=lambda v: v == 0.2, description=(
        "EWMA: the weight λ of the newest point."))
    width: float = Field(2.962, gt=0, le=10, exclude_if=lambda v: v == 2.962, description=(
        "EWMA: the limit width L in σ of the EWMA (λ = 0.2, L = 2.962: in-control ARL "
        "500, Lucas & Saccucci 1990)."))
    k: float = Field(0.5, ge=0, le=5, exclude_if=lambda v: v == 0.5, description=(
        "CUSUM: the reference value in σ (half the shift to detect)."))
    h: float = Field(5.0, gt=0, le=50, exclude_if=lambda v: v == 5.0, description=(
        "CUSUM: the decision interval in σ (k = 0.5, h = 5: in-control ARL 465)."))

    @field_validator("run_rules", mode="before",
                     json_schema_input_type=RuleFamily | RunRules)
    @classmethod
    def _short_form(cls, value: Any) -> Any:
        # ``run_rules: nelson`` is all rules of the family.
        return {"family": value} if isinstance(value, str) else value

    @model_validator(mode="before")
    @classmethod
    def _individuals(cls, data: Any) -> Any:
        # An individuals chart has subgroups of one whether or not the file says so; an
        # EWMA and a CUSUM chart individual values unless a subgroup size is given.
        if isinstance(data, dict) and data.get("chart") in (
                ChartType.I_MR.value, ChartType.EWMA.value, ChartType.CUSUM.value):
            return {"subgroup_size": 1, **data}
        return data

    @model_validator(mode="after")
    def _subgroup(self) -> Spc:
        low, high = _SUBGROUP[self.chart]
        size = self.subgroup_size
        if size is None:
            if self.chart in (ChartType.XBAR_R, ChartType.XBAR_S):
                raise ValueError(f"an {self.chart.value} chart needs subgroup_size "
                                 f"({low} to {high})")
        elif not low <= size <= high:
            span = str(low) if low == high else f"{low} to {high}"
            raise ValueError(f"{self.chart.value} charts take subgroup_size {span}, not {size}")
        if self.limits is not None and (self.limits.sigma is None) == (
                self.chart in VARIABLES_CHARTS):
            raise ValueError(f"{self.chart.value} chart limits take "
                             + ("centre and sigma" if self.chart in VARIABLES_CHARTS
                                else "a centre only"))
        return self


class Capability(_Frozen):
    """Capability a characteristic must show; Cpk from within-subgroup σ, Ppk from overall σ."""

    cpk_min: float | None = Field(None, gt=0, le=10)
    ppk_min: float | None = Field(None, gt=0, le=10)

    @model_validator(mode="after")
    def _something(self) -> Capability:
        if self.cpk_min is None and self.ppk_min is None:
            raise ValueError("give cpk_min, ppk_min or both")
        return self


class Characteristic(_Frozen):
    """One characteristic of a material: its specification, chart and capability target."""

    name: Ident
    spec: Spec | None = None
    spc: Spc | None = None
    capability: Capability | None = None

    @model_validator(mode="after")
    def _capability_needs_spec(self) -> Characteristic:
        if self.capability is not None and self.spec is None:
            raise ValueError("capability needs a spec with lsl and/or usl")
        return self


class Comparability(_Frozen):
    """A two one-sided tests (TOST) study of a characteristic: the new source's mean
    against the readings on record from the source it replaces must differ by less than
    the margin (at level α). The samples take time to arrive and lab time at the plan's
    inspection station (or ``lab``); a failed study refuses the change or retries it."""

    characteristic: Ident
    margin: float = Field(gt=0, le=1e12, allow_inf_nan=False, description=(
        "Equivalence margin ±m on the difference of means, in the characteristic's unit."))
    samples: int = Field(12, ge=2, le=10_000, description="Units measured per source.")
    alpha: float = Field(0.05, gt=0, lt=0.5)
    lab: Ident | None = Field(None, description="The inspection station whose inspectors "
                              "measure the samples; default the plan's station.")
    time_per_sample: Duration = Field(1.0, description="Lab time to measure one sample.")
    lead: Duration = Field(0.0, description="Time before the new source's samples are "
                           "in the lab (made, shipped, conditioned).")
    on_fail: Literal["refuse", "retry"] = Field("refuse", description=(
        "refuse: the change is refused (the plant stays with, or goes back to, its previous "
        "source if it can; else the next backup is studied); retry: study again."))
    retry_after: Duration = Field(7 * 24.0, description="Before a retry.")
    attempts: int = Field(3, ge=1, le=100, description="Studies at most, with retries.")


# --------------------------------------------------------------------------- plans


_SAMPLING_KINDS: Mapping[str, type[BaseModel]] = MappingProxyType(
    {SamplingMethod.SINGLE.value: SingleSampling, SamplingMethod.FULL.value: FullInspection})


def _check_variants(value: Any, key: str, kinds: Mapping[str, type[BaseModel]], what: str,
                    default: str | None) -> tuple[Any, list[tuple[Loc, str]]]:
    """One mapping validated as the model its ``key`` names, with problems located in it.

    Done by hand rather than by a pydantic tagged union, so error locations name the keys of
    the file (a tagged union inserts the tag into them) and an unknown kind lists the known.
    """
    if isinstance(value, tuple(kinds.values())):
        return value, []
    if not isinstance(value, dict):
        return value, [((), f"{what} must be a mapping with a {key!r} key")]
    kind = value.get(key, default)
    if not isinstance(kind, str) or kind not in kinds:
        where: Loc = (key,) if key in value else ()
        shown = (unknown_name(f"{what} {key}", kind, kinds) if key in value
                 else f"{what} needs a {key!r} (known: {', '.join(kinds)})")
        return value, [(where, shown)]
    try:
        return kinds[kind].model_validate(value), []
    except ValidationError as e:
        return value, [(tuple(err["loc"]), error_message(err))
                       for err in e.errors(include_url=False)]


class Plan(_Frozen):
    """The inspection plan of one material."""

    material: Ident
    station: Ident | None = Field(None, description="The inspection station that applies "
                                  "the plan; default any inspection station the material "
                                  "passes.")
    sampling: Annotated[SingleSampling | FullInspection, Field(discriminator="method")]
    skip_lot: SkipLot | None = None
    first_article: FirstArticle | None = None
    characteristics: list[Characteristic] = Field(default_factory=list, max_length=200)
    comparability: Comparability | None = Field(None, exclude_if=lambda v: v is None,
                                                description=(
        "A comparability study a new source of the material must pass before the plant "
        "orders from it."))
    ai: AIModelRef | None = None

    @field_validator("sampling", mode="before", json_schema_input_type=(
        Literal[SamplingMethod.FULL] | SingleSampling | FullInspection))
    @classmethod
    def _sampling_kind(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = {"method": value}  # ``sampling: full``
        checked, problems = _check_variants(value, "method", _SAMPLING_KINDS,
                                            "sampling", SamplingMethod.SINGLE.value)
        if problems:
            raise SemanticProblems(problems)
        return checked

    @model_validator(mode="after")
    def _unique_characteristics(self) -> Plan:
        problems: list[tuple[Loc, str]] = [
            (("characteristics", i, "name"), f"duplicate characteristic {name!r}")
            for i, name in _repeats(c.name for c in self.characteristics)]
        if problems:
            raise SemanticProblems(problems)
        return self


def _repeats(names: Iterable[str]) -> Iterator[tuple[int, str]]:
    seen: set[str] = set()
    for i, name in enumerate(names):
        if name in seen:
            yield i, name
        seen.add(name)


# --------------------------------------------------------------------------- actions


class ActionType(StrEnum):
    """What a trigger does when it fires."""

    SWITCH_SUPPLIER = "switch_supplier"
    TIGHTEN = "tighten"
    INSPECT_FULL = "inspect_full"
    QUARANTINE = "quarantine"
    STOP_LINE = "stop_line"
    LOAD_RULES = "load_rules"
    NORMAL = "normal"
    HOLD_SUPPLIER = "hold_supplier"
    RELEASE_SUPPLIER = "release_supplier"


class SwitchSupplier(_Frozen):
    """Order the supplied material from another supplier (by id) from now on."""

    type: Literal[ActionType.SWITCH_SUPPLIER]
    to: Ident


class HoldSupplier(_Frozen):
    """Put a supplier on hold (default the material's current supplier): it ships nothing
    and takes no orders; the material is ordered from its next available backup, and the
    held supplier's lots already delivered wait in quarantine until it is released."""

    type: Literal[ActionType.HOLD_SUPPLIER]
    supplier: Ident | None = None


class ReleaseSupplier(_Frozen):
    """End a supplier's hold: its quarantined lots are inspected and it ships again."""

    type: Literal[ActionType.RELEASE_SUPPLIER]
    supplier: Ident


class Tighten(_Frozen):
    """Switch a material's plan to tightened inspection."""

    type: Literal[ActionType.TIGHTEN]
    material: Ident


class InspectFull(_Frozen):
    """Inspect every unit of a material's next ``lots`` lots."""

    type: Literal[ActionType.INSPECT_FULL]
    material: Ident
    lots: int = Field(ge=1, le=10_000)


class Quarantine(_Frozen):
    """Hold a material's stock and incoming lots until released."""

    type: Literal[ActionType.QUARANTINE]
    material: Ident


class StopLine(_Frozen):
    """Stop a station until the stop is lifted."""

    type: Literal[ActionType.STOP_LINE]
    station: Ident


class LoadRules(_Frozen):
    """Replace the whole rule set by another file (relative to this one)."""

    type: Literal[ActionType.LOAD_RULES]
    file: str = Field(min_length=1, max_length=1024)


class Normal(_Frozen):
    """Return a material's plan to normal inspection."""

    type: Literal[ActionType.NORMAL]
    material: Ident


Action = Annotated[
    SwitchSupplier | Tighten | InspectFull | Quarantine | StopLine | LoadRules | Normal
    | HoldSupplier | ReleaseSupplier,
    Field(discriminator="type"),
]

_ACTION_KINDS: Mapping[str, type[BaseModel]] = MappingProxyType({
    ActionType.SWITCH_SUPPLIER.value: SwitchSupplier,
    ActionType.TIGHTEN.value: Tighten,
    ActionType.INSPECT_FULL.value: InspectFull,
    ActionType.QUARANTINE.value: Quarantine,
    ActionType.STOP_LINE.value: StopLine,
    ActionType.LOAD_RULES.value: LoadRules,
    ActionType.NORMAL.value: Normal,
    ActionType.HOLD_SUPPLIER.value: HoldSupplier,
    ActionType.RELEASE_SUPPLIER.value: ReleaseSupplier,
})


# --------------------------------------------------------------------------- triggers


_WHEN_DESCRIPTION = (
    "A condition in the safe expression language over these names: "
    + ", ".join(STATISTICS) + ". Comparisons, and/or/not, + - * / and abs, min, max, "
    "round, clamp."
)


class Trigger(_Frozen):
    """When ``when`` has held for ``for``, run the actions in ``then``, in order."""

    id: Ident
    material: Ident | None = Field(None, description="The material whose supplier, lots and "
                                   "station the condition reads; default each planned "
                                   "material in turn.")
    when: str = Field(min_length=1, description=_WHEN_DESCRIPTION)
    for_h: Duration = Field(0.0, alias="for", description="How long the condition must hold "
                            "without a break before the trigger fires (e.g. '60d').")
    then: list[Action] = Field(min_length=1, max_length=50)

    @field_serializer("for_h")
    def _hours(self, hours: float) -> str:
        # Written back with its unit, so a dumped rule set loads again.
        return f"{hours!r}h"

    @field_validator("when")
    @classmethod
    def _safe_condition(cls, text: str) -> str:
        problems = check_expression(text, STATISTICS)
        if problems:
            raise SemanticProblems([((), p.message) for p in problems])
        # Folded YAML (``when: >``) ends in a newline that means nothing.
        return text.strip()

    @field_validator("then", mode="before")
    @classmethod
    def _action_kinds(cls, value: Any) -> Any:
        if not isinstance(value, list):
            return value
        out: list[Any] = []
        problems: list[tuple[Loc, str]] = []
        for i, item in enumerate(value):
            checked, found = _check_variants(item, "type", _ACTION_KINDS, "action", None)
            problems.extend(((i, *loc), message) for loc, message in found)
            out.append(checked)
        if problems:
            raise SemanticProblems(problems)
        return out


# --------------------------------------------------------------------------- rule libraries


class RuleKind(StrEnum):
    """What a rule of a library is: an inspection plan is one kind among several."""

    INSPECTION_PLAN = "inspection_plan"
    CONSTRAINT = "constraint"
    RELEASE_CHECK = "release_check"
    CHARACTERISTIC_LIMIT = "characteristic_limit"


#: The name of a context a rule is bound to: a word (``toolchain``, ``regulation``) or a word
#: and a qualifier (``supplier.valve``: the current source of material valve).
CONTEXT_KEY_PATTERN = r"^[A-Za-z][A-Za-z0-9_-]*(\.[A-Za-z][A-Za-z0-9_-]*)?$"
ContextKey = Annotated[str, Field(pattern=CONTEXT_KEY_PATTERN)]
#: The id of a library rule: letters, digits, '-', '_' and '.'; at most 100 characters.
RULE_ID_PATTERN = r"^[A-Za-z0-9_.\-]{1,100}$"
RuleId = Annotated[str, Field(min_length=1, max_length=100, pattern=RULE_ID_PATTERN)]

_CONTEXT_KEY = re.compile(CONTEXT_KEY_PATTERN)
_IDENT = re.compile(ID_PATTERN)
_CONTEXT_EXAMPLE = "e.g. toolchain: eda-a, supplier.valve: kr-backup"


def context_problems(context: Any) -> list[tuple[Loc, str]]:
    """What is wrong with a rule's context (a mapping of context key to value), each with
    its location inside the mapping; empty when it is a valid one."""
    if not isinstance(context, dict):
        return [((), f"context must be a mapping of context to value ({_CONTEXT_EXAMPLE})")]
    if not context:
        return [((), f"a rule must be bound to at least one context ({_CONTEXT_EXAMPLE})")]
    problems: list[tuple[Loc, str]] = []
    for key, value in context.items():
        if not isinstance(key, str) or not _CONTEXT_KEY.fullmatch(key):
            problems.append(((str(key),), f"context {key!r} must be a name, or a name and a "
                             "qualifier joined by '.' (toolchain, supplier.valve)"))
        elif not isinstance(value, str) or not _IDENT.fullmatch(value):
            problems.append(((key,), f"the value of context {key} must be an identifier (a "
                             "letter first, then letters, digits, '_', '-', '.'; at most 64 "
                             f"characters), got {value!r}"))
    return problems


def _known_kind(value: Any, enum: type[StrEnum], what: str) -> Any:
    """A StrEnum's value checked by hand, so an unknown one names the nearest known value."""
    if isinstance(value, enum):
        return value
    known = [m.value for m in enum]
    if isinstance(value, str) and value in known:
        return value
    raise SemanticProblems([((), unknown_name(what, value, known))])


def _none(value: Any) -> bool:
    return value is None


class LibraryRule(_Frozen):
    """One rule of a library: a constraint, check, limit or plan bound to the context values
    it was written for (a tool chain, a material's source, a regulation). When the plant's
    context changes away from them, the rule is invalid until it is regenerated."""

    id: RuleId
    kind: RuleKind
    context: dict[ContextKey, Ident] = Field(min_length=1, description=(
        "The context values the rule is bound to, e.g. {toolchain: eda-a, board: hdi}."))
    material: Ident | None = Field(None, exclude_if=_none)
    failure_mode: str | None = Field(None, max_length=500, exclude_if=_none,
                                     description="The failure the rule prevents.")
    check: str | None = Field(None, max_length=2000, exclude_if=_none, description=(
        "The constraint or check as text (for the people who apply it; the twin does not "
        "execute it)."))
    severity: int | None = Field(None, ge=1, le=10, exclude_if=_none, description=(
        "Severity of the failure mode, 1-10 (AIAG & VDA scale)."))

    @field_validator("kind", mode="before")
    @classmethod
    def _kind(cls, value: Any) -> Any:
        return _known_kind(value, RuleKind, "rule kind")

    @field_validator("context", mode="before")
    @classmethod
    def _context(cls, value: Any) -> Any:
        problems = context_problems(value)
        if problems:
            raise SemanticProblems(problems)
        return value


class FallbackMode(StrEnum):
    """How the plant releases while rules of its library are invalid."""

    HOLD_RELEASE = "hold_release"
    FULL_INSPECTION = "full_inspection"
    DEVIATION = "deviation"


class Fallback(_Frozen):
    """What the plant does until invalidated rules are regenerated and re-reviewed: hold
    release, inspect every unit, or release each unit on a deviation that an approver of
    ``pool`` signs off in a mean ``approval_time`` (exponential)."""

    mode: FallbackMode
    pool: Ident | None = Field(None, exclude_if=_none, description=(
        "deviation: the resource pool (approvers) that approves each unit."))
    approval_time: PositiveDuration | None = Field(None, exclude_if=_none, description=(
        "deviation: mean approval time per unit (exponential)."))

    @field_validator("mode", mode="before")
    @classmethod
    def _mode(cls, value: Any) -> Any:
        return _known_kind(value, FallbackMode, "fallback mode")

    @field_serializer("approval_time")
    def _hours(self, hours: float | None) -> str | None:
        # Written back with its unit, so a dumped rule set loads again.
        return None if hours is None else f"{hours!r}h"

    @model_validator(mode="after")
    def _deviation_fields(self) -> Fallback:
        problems: list[tuple[Loc, str]] = []
        if self.mode is FallbackMode.DEVIATION:
            if self.pool is None:
                problems.append((("pool",), "a deviation fallback needs pool: the resource "
                                 "pool of approvers that approves each unit"))
            if self.approval_time is None:
                problems.append((("approval_time",), "a deviation fallback needs "
                                 "approval_time: the mean time to approve a unit (e.g. 2h)"))
        else:
            problems.extend(((name,), f"only a deviation fallback takes {name} (mode is "
                             f"{self.mode.value})")
                            for name in ("pool", "approval_time")
                            if getattr(self, name) is not None)
        if problems:
            raise SemanticProblems(problems)
        return self


_NO_FALLBACK = ("a rule library whose rules can be invalidated needs a fallback "
                "(hold_release, full_inspection or deviation)")


def _library_problems(library: Library | dict[str, Any]) -> list[tuple[Loc, str]]:
    """Repeated rule ids (each with the index of its first use) and rules without a
    fallback, read from a library or from its raw mapping."""
    ids: list[Any]
    if isinstance(library, Library):
        rules: Any = library.rules
        ids = [rule.id for rule in library.rules]
        fallback: Any = library.fallback
    else:
        rules, fallback = library.get("rules"), library.get("fallback")
        ids = ([rule.get("id") if isinstance(rule, dict) else None for rule in rules]
               if isinstance(rules, list) else [])
    problems: list[tuple[Loc, str]] = []
    first: dict[str, int] = {}
    for i, rule_id in enumerate(ids):
        if not isinstance(rule_id, str):
            continue
        if rule_id in first:
            problems.append((("rules", i, "id"), f"duplicate rule id {rule_id!r} (first at "
                             f"rules[{first[rule_id]}])"))
        else:
            first[rule_id] = i
    if rules and fallback is None:
        problems.append((("fallback",), _NO_FALLBACK))
    return problems


def _file_order(problem: tuple[Loc, str]) -> tuple[str, int]:
    loc = problem[0]
    index = loc[1] if len(loc) > 1 and isinstance(loc[1], int) else -1
    return str(loc[0]) if loc else "", index


def _located(e: ValidationError) -> Iterator[tuple[Loc, str]]:
    """A validation error's problems with their locations, those a validator raised as
    :class:`SemanticProblems` taken apart."""
    for err in e.errors(include_url=False):
        loc: Loc = tuple(err["loc"])
        inner = (err.get("ctx") or {}).get("error")
        if isinstance(inner, SemanticProblems):
            yield from (((*loc, *sub), message) for sub, message in inner.problems)
        else:
            yield loc, error_message(err)


class Library(_Frozen):
    """Many rules, each bound to a context, and the fallback the plant runs under while
    rules a context change invalidated are not yet regenerated."""

    fallback: Fallback | None = None
    rules: list[LibraryRule] = Field(default_factory=list, max_length=100_000)

    @model_validator(mode="wrap")
    @classmethod
    def _every_problem(cls, data: Any, handler: Any) -> Library:
        # Duplicate ids and a missing fallback are told beside the problems of single rules,
        # not only once every rule is valid (an "after" validator would wait for that).
        try:
            library: Library = handler(data)
        except ValidationError as e:
            extra = _library_problems(data) if isinstance(data, dict) else []
            if not extra:
                raise
            # In file order: by section, then rule by rule.
            raise SemanticProblems(sorted([*_located(e), *extra], key=_file_order)) from None
        problems = _library_problems(library)
        if problems:
            raise SemanticProblems(problems)
        return library

    def bound_to(self, key: str, value: str) -> list[LibraryRule]:
        """The rules bound to context ``key`` with ``value``, in file order."""
        return [rule for rule in self.rules if rule.context.get(key) == value]

    def contexts(self) -> dict[str, set[str]]:
        """Each context key the rules are bound to, with the values they are bound to."""
        out: dict[str, set[str]] = {}
        for rule in self.rules:
            for key, value in rule.context.items():
                out.setdefault(key, set()).add(value)
        return out


# --------------------------------------------------------------------------- the rule set


class RuleSet(_Frozen):
    """A whole rule-set file: inspection plans per material, triggers, and a library of rules
    bound to contexts."""

    version: Literal[1] = Field(description="Rule-set format version.")
    name: Ident
    description: str = Field("", max_length=10_000)
    plans: list[Plan] = Field(max_length=1000, description="At least one, unless the rule "
                              "set has a library (then it may be empty).")
    triggers: list[Trigger] = Field(default_factory=list, max_length=1000)
    library: Library | None = Field(None, exclude_if=_none, description=(
        "Rules bound to contexts (tool chain, supplier, regulation) and the fallback while "
        "a context change has invalidated them."))

    @model_validator(mode="after")
    def _unique(self) -> RuleSet:
        problems: list[tuple[Loc, str]] = []
        if not self.plans and self.library is None:
            problems.append((("plans",), "List should have at least 1 item: a rule set needs "
                             "a plan, or a library of rules"))
        for i, material in _repeats(p.material for p in self.plans):
            problems.append((("plans", i, "material"),
                             f"material {material!r} already has a plan"))
        for i, trigger_id in _repeats(t.id for t in self.triggers):
            problems.append((("triggers", i, "id"), f"duplicate trigger id {trigger_id!r}"))
        if problems:
            raise SemanticProblems(problems)
        return self

    def plan(self, material: str) -> Plan | None:
        """The plan of a material, if the rule set has one."""
        return next((p for p in self.plans if p.material == material), None)

    def canonical_json(self) -> str:
        """The validated rule set as canonical JSON (sorted keys, file key names)."""
        return json.dumps(self.model_dump(mode="json", by_alias=True), sort_keys=True,
                          separators=(",", ":"))

    def content_hash(self) -> str:
        """sha256 of the canonical JSON: equal for files that differ only in key order,
        units of durations, the spelling of AQLs and levels, and comments."""
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()


def load_rules(path: str | Path, *, referenced: bool = False) -> RuleSet:
    """Read and validate a rule-set file.

    ``referenced``: the file was reached by a reference in another file rather than named by
    the user, so problems of reading it (YAML syntax, duplicate and unknown keys) give its
    line and a generic reason, never its text (:func:`shocktwin.references.position_only`).
    The caller has checked that the reference stays inside the allowed folders.

    Raises:
        RuleError: the file is missing, unreadable, not safe YAML or invalid; every problem
            is listed with the file, its path inside the file and its line.
    """
    return read_rules(path, referenced=referenced)[0]


def read_rules(path: str | Path, *, referenced: bool = False
               ) -> tuple[RuleSet, Mapping[Loc, int]]:
    """A rule-set file validated, and the line of each location in it (for later findings);
    ``referenced`` as for :func:`load_rules`."""
    try:
        data, lines = read_yaml(path)
    except ScenarioError as e:
        raise RuleError(position_only(e.problems) if referenced else e.problems,
                        file=e.file) from None
    try:
        ruleset = parse_rules(data, file=str(path), lines=lines)
    except RuleError as e:
        if not referenced:
            raise
        raise RuleError(position_only(e.problems), file=e.file) from None
    return ruleset, MappingProxyType(lines)


def parse_rules(data: Any, *, file: str | None = None,
                lines: Mapping[Loc, int] | None = None) -> RuleSet:
    """Validate already-parsed data (e.g. a dict) into a RuleSet."""
    line_map = dict(lines or {})
    if not isinstance(data, dict):
        raise RuleError([Problem(file, "", "the top level must be a mapping of keys "
                                 "(version, name, plans, triggers)", 1)], file=file)
    try:
        return RuleSet.model_validate(data)
    except ValidationError as e:
        raise RuleError(list(validation_problems(e, data, file, line_map)), file=file) from e


def rules_json_schema() -> dict[str, Any]:
    """The JSON Schema of rule-set files (for editors' autocompletion)."""
    schema = RuleSet.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "shocktwin rule set (format version 1)"
    return schema


# --------------------------------------------------------------------------- compiled form


@dataclass(frozen=True)
class LotRangePlan:
    """The sampling plan of one lot-size range of Table I at one severity."""

    lot_min: int
    lot_max: int | None
    code_letter: str
    cell: PlanCell


@dataclass(frozen=True)
class CompiledCharacteristic:
    """A characteristic with its run rules resolved to the rule names of :mod:`spc`."""

    name: str
    spec: Spec | None
    chart: ChartType | None
    subgroup_size: int | None
    run_rules: tuple[WesternElectricRule, ...] | tuple[NelsonRule, ...]
    cpk_min: float | None
    ppk_min: float | None
    spc: Spc | None = None


@dataclass(frozen=True)
class CompiledPlan:
    """A material's plan as lookups: lot size → sampling plan by bisection, no table work."""

    material: str
    station: str | None
    method: SamplingMethod
    level: InspectionLevel | None
    aql: str | None
    switching: Switching
    start: Severity
    skip_lot: SkipLot | None
    first_article: FirstArticle | None
    characteristics: tuple[CompiledCharacteristic, ...]
    ai: AIModelRef | None
    #: Lower ends of the lot-size ranges (ascending), shared by every severity.
    lot_mins: tuple[int, ...]
    ranges: Mapping[Severity, tuple[LotRangePlan, ...]]
    comparability: Comparability | None = None

    def plan_for(self, lot_size: int, severity: Severity | None = None) -> SamplingPlan | None:
        """The sampling plan of a lot at ``severity`` (default the plan's start severity).

        Returns ``None`` when the method is 100 % inspection.

        Raises:
            RuleError: the lot size is not a whole number of at least 2.
        """
        if isinstance(lot_size, bool) or not isinstance(lot_size, int) or lot_size < 2:
            raise RuleError([Problem(None, "lot_size", "lot size must be a whole number of at "
                                     f"least 2, got {lot_size!r}")])
        if self.method is SamplingMethod.FULL or self.level is None or self.aql is None:
            return None
        chosen = self.start if severity is None else Severity(severity)
        row = self.ranges[chosen][bisect.bisect_right(self.lot_mins, lot_size) - 1]
        n, ac, re = row.cell
        return SamplingPlan(code_letter=row.code_letter, n=n, ac=ac, re=re,
                            full_inspection=n >= lot_size, severity=chosen, level=self.level,
                            aql=self.aql, lot_size=lot_size)

    def switching_procedure(self) -> SwitchingProcedure | None:
        """A fresh switching state machine for this plan, or ``None`` without switching."""
        variant = self.switching.variant
        if variant is None or self.method is SamplingMethod.FULL:
            return None
        return SwitchingProcedure(variant, start=self.start)


@dataclass(frozen=True)
class CompiledTrigger:
    """A trigger with its condition compiled, ready to be evaluated many times."""

    id: str
    material: str | None
    condition: CompiledExpression
    for_h: float
    actions: tuple[SwitchSupplier | Tighten | InspectFull | Quarantine | StopLine | LoadRules
                   | HoldSupplier | ReleaseSupplier
                   | Normal, ...]


@dataclass(frozen=True)
class CompiledRules:
    """A rule set compiled for the twin: plans by material, triggers in file order."""

    name: str
    content_hash: str
    plans: Mapping[str, CompiledPlan]
    triggers: tuple[CompiledTrigger, ...]

    @property
    def statistics(self) -> frozenset[str]:
        """The vocabulary names the triggers read, so only those need to be kept up to date."""
        return frozenset().union(*(t.condition.names for t in self.triggers))


def compile_plan(ruleset: RuleSet) -> CompiledRules:
    """Compile a validated rule set into plain lookups and compiled trigger conditions."""
    plans = {p.material: _compile_plan(p) for p in ruleset.plans}
    triggers = tuple(
        CompiledTrigger(
            id=t.id,
            material=t.material,
            condition=compile_expression(t.when, STATISTICS, where=f"triggers[{i}].when"),
            for_h=t.for_h,
            actions=tuple(t.then),
        )
        for i, t in enumerate(ruleset.triggers)
    )
    return CompiledRules(name=ruleset.name, content_hash=ruleset.content_hash(),
                         plans=MappingProxyType(plans), triggers=triggers)


def _lot_ranges() -> tuple[tuple[int, int | None], ...]:
    # Table I's lot-size ranges; a code letter is the same for every lot of one range.
    from shocktwin.rules_engine.sampling import _code_letter_table

    return tuple((r.lot_min, r.lot_max) for r in _code_letter_table())


def _compile_plan(plan: Plan) -> CompiledPlan:
    lot_ranges = _lot_ranges()
    sampling = plan.sampling
    ranges: dict[Severity, tuple[LotRangePlan, ...]] = {}
    level: InspectionLevel | None = None
    aql: str | None = None
    switching, start = Switching.NONE, Severity.NORMAL
    if isinstance(sampling, SingleSampling):
        level, aql = sampling.level, sampling.aql
        switching, start = sampling.switching, sampling.start
        for severity in Severity:
            rows = []
            for lot_min, lot_max in lot_ranges:
                p = single_sampling_plan(lot_min, level, aql, severity)
                rows.append(LotRangePlan(lot_min, lot_max, p.code_letter,
                                         PlanCell(p.n, p.ac, p.re)))
            ranges[severity] = tuple(rows)
    characteristics = tuple(_compile_characteristic(c) for c in plan.characteristics)
    return CompiledPlan(
        material=plan.material, station=plan.station, method=SamplingMethod(sampling.method),
        level=level, aql=aql, switching=switching, start=start, skip_lot=plan.skip_lot,
        first_article=plan.first_article, characteristics=characteristics, ai=plan.ai,
        lot_mins=tuple(lot_min for lot_min, _ in lot_ranges), ranges=MappingProxyType(ranges),
        comparability=plan.comparability,
    )


def _compile_characteristic(c: Characteristic) -> CompiledCharacteristic:
    rules: tuple[WesternElectricRule, ...] | tuple[NelsonRule, ...] = ()
    if c.spc is not None:
        family = c.spc.run_rules.family.rules
        rules = tuple(family[n - 1] for n in c.spc.run_rules.selected)  # type: ignore[assignment]
    return CompiledCharacteristic(
        name=c.name, spec=c.spec, chart=c.spc.chart if c.spc else None,
        subgroup_size=c.spc.subgroup_size if c.spc else None, run_rules=rules,
        cpk_min=c.capability.cpk_min if c.capability else None,
        ppk_min=c.capability.ppk_min if c.capability else None, spc=c.spc,
    )


# --------------------------------------------------------------------------- diff


_LEVEL_ORDER = tuple(InspectionLevel)


def diff_rules(old: RuleSet, new: RuleSet) -> list[str]:
    """What changed from ``old`` to ``new``, one human-readable line per change.

    Empty when both mean the same thing. Plans are matched by material and triggers by id.
    """
    out: list[str] = []
    if old.name != new.name:
        out.append(f"name: {old.name} → {new.name}")
    if old.description.strip() != new.description.strip():
        out.append("description changed")
    old_plans = {p.material: p for p in old.plans}
    new_plans = {p.material: p for p in new.plans}
    for material in [m for m in old_plans if m not in new_plans]:
        out.append(f"plan removed: {material}")
    for material in [m for m in new_plans if m not in old_plans]:
        out.append(f"plan added: {material} ({_sampling_text(new_plans[material])})")
    for material in sorted(old_plans.keys() & new_plans.keys()):
        out.extend(f"{material}: {line}"
                   for line in _plan_changes(old_plans[material], new_plans[material]))
    old_triggers = {t.id: t for t in old.triggers}
    new_triggers = {t.id: t for t in new.triggers}
    for trigger_id in [t.id for t in old.triggers if t.id not in new_triggers]:
        out.append(f"trigger removed: {trigger_id}")
    for trigger in [t for t in new.triggers if t.id not in old_triggers]:
        out.append(f"trigger added: {trigger.id} (when {trigger.when}, for "
                   f"{format_hours(trigger.for_h)})")
    for trigger in new.triggers:
        before = old_triggers.get(trigger.id)
        if before is None or before == trigger:
            continue
        parts = []
        if before.when != trigger.when:
            parts.append(f"when {before.when} → {trigger.when}")
        if before.for_h != trigger.for_h:
            parts.append(f"for {format_hours(before.for_h)} → {format_hours(trigger.for_h)}")
        if before.material != trigger.material:
            parts.append(f"material {before.material} → {trigger.material}")
        if before.then != trigger.then:
            parts.append(f"then {_actions_text(before.then)} → {_actions_text(trigger.then)}")
        out.append(f"trigger changed: {trigger.id}: {'; '.join(parts)}")
    out.extend(_library_changes(old.library, new.library))
    return out


def _library_changes(old: Library | None, new: Library | None) -> Iterator[str]:
    """Library changes in words: rules added, removed and changed (matched by id) per kind,
    with the contexts they are bound to, and a changed fallback."""
    if old == new:
        return
    if old is None or new is None:
        verb, library = ("added", new) if old is None else ("removed", old)
        if library is not None:
            yield (f"library {verb}: {_rules_text(library.rules)}; fallback "
                   f"{_fallback_text(library.fallback)}")
        return
    if old.fallback != new.fallback:
        yield (f"library fallback {_fallback_text(old.fallback)} → "
               f"{_fallback_text(new.fallback)}")
    before = {r.id: r for r in old.rules}
    after = {r.id: r for r in new.rules}
    for verb, rules in (
            ("removed", [r for r in old.rules if r.id not in after]),
            ("added", [r for r in new.rules if r.id not in before]),
            ("changed", [r for r in new.rules if r.id in before and before[r.id] != r])):
        for kind in RuleKind:
            of_kind = [r for r in rules if r.kind is kind]
            if of_kind:
                yield f"library rules {verb}: {_rules_text(of_kind)}"


_SHOWN_CONTEXTS = 6


def _rules_text(rules: Sequence[LibraryRule]) -> str:
    """``327 constraint rules bound to toolchain=eda-a (327), board=hdi (109), ...``."""
    if not rules:
        return "no rules"
    kinds = list(dict.fromkeys(r.kind.value for r in rules))
    counts: dict[str, int] = {}
    for rule in rules:
        for key, value in rule.context.items():
            counts[f"{key}={value}"] = counts.get(f"{key}={value}", 0) + 1
    shown = [f"{pair} ({n})" for pair, n in sorted(counts.items(), key=lambda c: (-c[1], c[0]))]
    if len(shown) > _SHOWN_CONTEXTS:
        shown = [*shown[:_SHOWN_CONTEXTS], f"{len(shown) - _SHOWN_CONTEXTS} more"]
    noun = "rule" if len(rules) == 1 else "rules"
    return f"{len(rules)} {'/'.join(kinds)} {noun} bound to {', '.join(shown)}"


def _fallback_text(fallback: Fallback | None) -> str:
    if fallback is None:
        return "none"
    if fallback.mode is FallbackMode.DEVIATION and fallback.approval_time is not None:
        return (f"deviation approved by {fallback.pool} in "
                f"{format_hours(fallback.approval_time)} per unit")
    return fallback.mode.value


def _sampling_text(plan: Plan) -> str:
    s = plan.sampling
    if isinstance(s, FullInspection):
        return "100 % inspection"
    return f"level {s.level.value}, AQL {s.aql}, {s.switching.value} switching"


def _actions_text(actions: Iterable[BaseModel]) -> str:
    parts = []
    for action in actions:
        fields = action.model_dump(mode="json")
        kind = fields.pop("type")
        parts.append(f"{kind} {' '.join(str(v) for v in fields.values())}".strip())
    return "[" + ", ".join(parts) + "]"


def _plan_changes(old: Plan, new: Plan) -> Iterator[str]:
    a, b = old.sampling, new.sampling
    if type(a) is not type(b):
        yield f"sampling {_sampling_text(old)} → {_sampling_text(new)}"
    elif isinstance(a, SingleSampling) and isinstance(b, SingleSampling):
        if a.aql != b.aql:
            looser = AQL_SERIES.index(b.aql) > AQL_SERIES.index(a.aql)
            yield f"AQL {a.aql} → {b.aql} ({'looser' if looser else 'stricter'})"
        if a.level != b.level:
            smaller = _LEVEL_ORDER.index(b.level) < _LEVEL_ORDER.index(a.level)
            yield (f"level {a.level.value} → {b.level.value} "
                   f"({'smaller' if smaller else 'larger'} samples)")
        if a.switching != b.switching:
            yield f"switching {a.switching.value} → {b.switching.value}"
        if a.start != b.start:
            yield f"start severity {a.start.value} → {b.start.value}"
    if old.station != new.station:
        yield f"station {old.station} → {new.station}"
    yield from _optional_change("skip-lot", old.skip_lot, new.skip_lot, _skip_lot_text)
    yield from _optional_change("first article", old.first_article, new.first_article,
                                lambda f: f"{f.pieces} pieces")
    yield from _optional_change("AI inspection", old.ai, new.ai, _ai_text)
    old_chars = {c.name: c for c in old.characteristics}
    new_chars = {c.name: c for c in new.characteristics}
    for name in [c.name for c in old.characteristics if c.name not in new_chars]:
        yield f"characteristic removed: {name}"
    for name in [c.name for c in new.characteristics if c.name not in old_chars]:
        yield f"characteristic added: {name}"
    for c in new.characteristics:
        before = old_chars.get(c.name)
        if before is not None and before != c:
            yield from (f"{c.name}: {line}" for line in _characteristic_changes(before, c))


def _skip_lot_text(s: SkipLot) -> str:
    return f"{s.inspect} in {s.of} after {s.after_accepted} accepted lots"


def _ai_text(ai: AIModelRef) -> str:
    threshold = "model's threshold" if ai.threshold is None else f"threshold {ai.threshold:g}"
    return f"{ai.model}, {threshold}"


def _optional_change(label: str, old: Any, new: Any, text: Any) -> Iterator[str]:
    if old == new:
        return
    if old is None:
        yield f"{label} added ({text(new)})"
    elif new is None:
        yield f"{label} removed (was {text(old)})"
    else:
        yield f"{label} {text(old)} → {text(new)}"


def _characteristic_changes(old: Characteristic, new: Characteristic) -> Iterator[str]:
    if old.spec != new.spec:
        yield f"spec {_spec_text(old.spec)} → {_spec_text(new.spec)}"
    a, b = old.spc, new.spc
    if a != b:
        if a is None or b is None:
            yield "SPC added" if a is None else "SPC removed"
        else:
            if a.chart != b.chart or a.subgroup_size != b.subgroup_size:
                yield (f"chart {a.chart.value} (n={a.subgroup_size}) → {b.chart.value} "
                       f"(n={b.subgroup_size})")
            if a.run_rules.family != b.run_rules.family:
                yield f"run rules {a.run_rules.family.value} → {b.run_rules.family.value}"
            else:
                family = b.run_rules.family.value
                gone = sorted(set(a.run_rules.selected) - set(b.run_rules.selected))
                came = sorted(set(b.run_rules.selected) - set(a.run_rules.selected))
                if gone:
                    yield f"{family} rules removed: {', '.join(map(str, gone))}"
                if came:
                    yield f"{family} rules added: {', '.join(map(str, came))}"
    for index in ("cpk_min", "ppk_min"):
        before = getattr(old.capability, index, None)
        after = getattr(new.capability, index, None)
        if before != after:
            yield f"{index} {_number(before)} → {_number(after)}"


def _number(x: float | None) -> str:
    return "none" if x is None else f"{x:g}"


def _spec_text(spec: Spec | None) -> str:
    if spec is None:
        return "none"
    return f"[{_number(spec.lsl)}, {_number(spec.usl)}] {spec.unit}"
