"""Scenario file format v1: the pydantic models a scenario YAML file is validated into.

Every model is frozen and forbids unknown keys. Times are written with units in the file
("90min", "4h", "14d") and held in hours (float) once validated; rates are held per hour.
Cross-references (routing, materials, bill of materials) are checked in one pass that
reports every problem at once.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
from collections.abc import Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    PrivateAttr,
    SerializeAsAny,
    Tag,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from shocktwin.errors import unknown_name
from shocktwin.kpis import QUALITY_KPIS, TIME_KPIS, Kpi, base_kpi, kpi_key, product_of
from shocktwin.scenarios.life import LifePack, LifeTest
from shocktwin.shock_library.base import Shock, SupplierSelector, TargetKind
from shocktwin.source import Ident, SemanticProblems, check_spec_limits
from shocktwin.twin.kernel import Engine
from shocktwin.twin.model.kinds import ReplayMode, StationKind
from shocktwin.units import (
    DURATION_JSON_SCHEMA,
    Duration,
    DurationText,
    PositiveDuration,
    Rate,
    parse_duration_h,
)

__all__ = [
    "TIME_KPIS",
    "AIGate",
    "Buffer",
    "Characteristic",
    "CharacteristicValues",
    "ConstantDist",
    "DecisionVariable",
    "Demand",
    "Engine",
    "Experiment",
    "ExponentialDist",
    "GammaDist",
    "Hypothesis",
    "InspectionStation",
    "Kpi",
    "LogResource",
    "LognormalDist",
    "MeasurementSystem",
    "Mtd",
    "MtdShock",
    "NormalDist",
    "Objective",
    "Optimize",
    "Plant",
    "PlantLog",
    "Playbook",
    "PlaybookTrigger",
    "Pool",
    "ProcessStation",
    "QualitySystem",
    "RecordedDist",
    "RecordedValues",
    "RecordedWork",
    "Recovery",
    "ReleaseStation",
    "ReplayMode",
    "RuleChange",
    "Scenario",
    "Screen",
    "ScreenNode",
    "SemanticProblems",
    "Shop",
    "ShopResource",
    "StartState",
    "Station",
    "StationKind",
    "Supplier",
    "TimeDist",
    "Tolerance",
    "TriangularDist",
    "UniformDist",
    "WeibullDist",
    "WorkItem",
    "WorkKind",
    "mtd_axis_value",
    "mtd_range",
    "quality_contexts",
    "warm_start_problems",
]

SCHEMA_VERSION = 1
#: The smallest coefficient of variation of a gamma time; below it write a fixed time.
MIN_GAMMA_CV = 1e-6
#: The smallest Weibull shape: below it draws overflow and the mean is out of all scale.
MIN_WEIBULL_SHAPE = 0.1


class _Frozen(BaseModel):
    # No NaN or infinity in any number of a scenario: a NaN bound compares false both ways,
    # so a tolerance would always "hold", and neither can be written to a JSON result.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


# --------------------------------------------------------------------------- distributions


class ConstantDist(_Frozen):
    """Always the same duration."""

    dist: Literal["constant"] = "constant"
    value: Duration


class ExponentialDist(_Frozen):
    """Exponential with the given mean (memoryless: Poisson-process gaps, M/M/c service)."""

    dist: Literal["exponential"]
    mean: PositiveDuration


class LognormalDist(_Frozen):
    """Lognormal by median and log-space standard deviation sigma (lead times, repairs)."""

    dist: Literal["lognormal"]
    median: PositiveDuration
    sigma: float = Field(gt=0, le=5)


class GammaDist(_Frozen):
    """Gamma by mean and coefficient of variation (cv = sd / mean)."""

    dist: Literal["gamma"]
    mean: PositiveDuration
    cv: float = Field(gt=0, le=10)

    @field_validator("cv")
    @classmethod
    def _spread(cls, cv: float) -> float:
        # The gamma shape is 1 / cv²: below this the spread is under a millionth of the
        # mean, and a cv small enough makes cv² zero and the shape infinite.
        if cv < MIN_GAMMA_CV:
            raise ValueError(f"a cv below {MIN_GAMMA_CV:g} is a fixed time: write the "
                             "duration itself, e.g. '6min'")
        return cv


class NormalDist(_Frozen):
    """Normal by mean and standard deviation, truncated at zero (negative draws are redrawn)."""

    dist: Literal["normal"]
    mean: PositiveDuration
    sd: Duration


class UniformDist(_Frozen):
    """Uniform between low and high."""

    dist: Literal["uniform"]
    low: Duration
    high: Duration

    @model_validator(mode="after")
    def _ordered(self) -> UniformDist:
        if self.low >= self.high:
            raise ValueError("low must be below high")
        return self


class TriangularDist(_Frozen):
    """Triangular by low, mode and high (expert estimates)."""

    dist: Literal["triangular"]
    low: Duration
    mode: Duration
    high: Duration

    @model_validator(mode="after")
    def _ordered(self) -> TriangularDist:
        if not (self.low <= self.mode <= self.high) or self.low >= self.high:
            raise ValueError("need low <= mode <= high and low < high")
        return self


class WeibullDist(_Frozen):
    """Weibull by scale and shape (times to failure)."""

    dist: Literal["weibull"]
    scale: PositiveDuration
    shape: float = Field(gt=0, le=50)

    @field_validator("shape")
    @classmethod
    def _tail(cls, shape: float) -> float:
        # A draw is scale · E^(1/shape) with E exponential: for shape 0.001 a draw of E = 3
        # is 3^1000, beyond any float; the mean is scale · Γ(1 + 1/shape), already about
        # 3.6 million times the scale at shape 0.1.
        if shape < MIN_WEIBULL_SHAPE:
            raise ValueError(f"a shape below {MIN_WEIBULL_SHAPE:g} gives durations "
                             "beyond any horizon: the mean is scale · Γ(1 + 1/shape), "
                             "3.6 million times the scale at 0.1, and draws overflow")
        return shape


class RecordedDist(_Frozen):
    """Supplier lead times recorded in a store (order sent to delivery, in days, from its
    ``supplier_lead_times`` view), drawn from the replication's own stream: resampled
    (``bootstrap``) or from the best-fitting scipy.stats distribution (``fit``)."""

    dist: Literal["recorded"]
    store: str = Field(min_length=1, description="The DuckDB store, relative to this file.")
    supplier: str = Field(min_length=1, description="The supplier's name in the store.")
    mode: Literal["bootstrap", "fit"] = "bootstrap"


def _as_dist(value: Any) -> Any:
    # A bare duration string is the common case of a fixed time.
    if isinstance(value, str):
        return {"dist": "constant", "value": value}
    return value


_Dists = Annotated[
    ConstantDist | ExponentialDist | LognormalDist | GammaDist | NormalDist | UniformDist
    | TriangularDist | WeibullDist,
    Field(discriminator="dist"),
]
#: A time: a fixed duration ("6min") or a distribution ({dist: gamma, mean: 6min, cv: 0.3}).
TimeDist = Annotated[
    _Dists, BeforeValidator(_as_dist, json_schema_input_type=DurationText | _Dists)
]


_LeadDists = Annotated[
    ConstantDist | ExponentialDist | LognormalDist | GammaDist | NormalDist | UniformDist
    | TriangularDist | WeibullDist | RecordedDist,
    Field(discriminator="dist"),
]
#: A lead time: any TimeDist, or the lead times recorded for a supplier in a store.
LeadTimeDist = Annotated[
    _LeadDists, BeforeValidator(_as_dist, json_schema_input_type=DurationText | _LeadDists)
]


def _time_dist_field(description: str) -> Any:
    return Field(description=description + " A duration ('6min') or a distribution "
                 "({dist: gamma, mean: 6min, cv: 0.3}).")


# --------------------------------------------------------------------------- plant


def _drop_none(value: Any) -> bool:
    return value is None


def _drop_empty(value: Any) -> bool:
    return not value


#: A station's dispatching policy (left out of the canonical form at its default).
Dispatching = Annotated[Ident, Field(exclude_if=lambda v: v == "fifo", description=(
    "Logical layer: which waiting unit is served next — fifo, edd (earliest due date), "
    "spt (shortest processing time), priority (the product's class), or an installed "
    "policy."))]
#: The shift calendar a station's servers work by.
CalendarName = Annotated[Ident | None, Field(exclude_if=_drop_none, description=(
    "Logical layer: the shift calendar (one of the plant's calendars) its servers work "
    "by; default around the clock."))]


class SupplierInput(_Frozen):
    """Physical layer: a material a supplier needs to make its lots, held in its own stock
    and ordered from the suppliers one tier further out (continuous review, like a plant
    buffer). An order waits for its inputs before its lead time starts, so an outage further
    out reaches the plant through this stock and the supplier's lead time."""

    material: Ident
    quantity: int = Field(1, ge=1, le=1_000_000, description="Units of it per unit made.")
    initial: int = Field(ge=0, le=100_000_000, description="Units in the supplier's stock at "
                         "the start.")
    reorder_point: int = Field(ge=0, le=100_000_000, description="Order when the inventory "
                               "position falls to this.")
    order_quantity: int | None = Field(None, ge=1, le=100_000_000, description="Units per "
                                       "order; default the lot size of its first source.")


class Supplier(_Frozen):
    """Physical layer: an external source of one material. The first supplier listed for a
    material is the one its buffer orders from; the others are backups, in order, used when
    it is lost (insolvency, export control) once they are qualified. A supplier of tier 2 or
    more supplies the suppliers one tier nearer the plant that list its material in their
    ``inputs``."""

    id: Ident
    material: Ident
    tier: int = Field(1, ge=1, le=20, exclude_if=lambda v: v == 1, description=(
        "1: delivers to the plant; 2: to tier-1 suppliers (their inputs); and so on."))
    region: Ident | None = Field(None, exclude_if=_drop_none, description=(
        "Where it is, for shocks that hit a region (e.g. JP, EU, US-TX)."))
    country: Ident | None = Field(None, exclude_if=_drop_none, description=(
        "Its country (ISO 3166 code), for embargoes and export controls by country."))
    inputs: list[SupplierInput] = Field(default_factory=list, max_length=1000,
                                        exclude_if=_drop_empty, description=(
        "Materials it needs to make its lots, bought from the next tier."))
    lead_time: LeadTimeDist = _time_dist_field("Order-to-delivery time, or "
                                               "{dist: recorded, store, supplier} to replay "
                                               "recorded deliveries.")
    lot_size: int = Field(ge=1, le=10_000_000, description="Units per delivered lot.")
    defect_rate: float = Field(0.0, ge=0, lt=1, description="Fraction of units defective.")
    unit_cost: float = Field(0.0, ge=0, le=1e9, description="Price per unit delivered "
                             "(any currency); gives the cost_per_unit KPI.")
    qualification: Duration = Field(0.0, description="As a backup: time to qualify it once "
                                    "it is needed (0: pre-qualified).")
    promised: PositiveDuration | None = Field(None, description="Promised order-to-delivery "
                                              "time; a lot later than this is late (the "
                                              "supplier.otd statistic of triggers).")
    failures: str | None = Field(None, min_length=1, max_length=1024, description=(
        "As a backup: a failure-mode table (CSV or YAML, relative to this file); when this "
        "supplier takes over, the rule engine drafts the material's inspection plan from it "
        "(shocktwin rules derive) and loads it in the running twin."))
    life: LifePack | None = Field(None, exclude_if=_drop_none, description=(
        "Its parameter pack's life model (Weibull or lognormal at use conditions, with the "
        "acceleration to the test condition), which a playbook's life test draws from."))
    # Left out of the canonical form when absent, so scenarios without it keep their hash.
    corrective_action: TimeDist | None = Field(None, exclude_if=lambda v: v is None, description=(
        "When the sampling rules discontinue acceptance of its lots (5 not accepted on "
        "tightened inspection): the time it takes to correct its process, during which it "
        "is on hold; inspection then resumes on tightened. A duration ('10d') or a "
        "distribution; default 30d."))



# --------------------------------------------------------------------------- characteristics


class CharacteristicValues(_Frozen):
    """Semantic layer: how a characteristic's true values are distributed at one source
    (a supplier's lots, or a station's output). Consecutive units are AR(1)-correlated and
    the mean drifts linearly in simulated time; lognormal and Weibull values keep the given
    mean and sd (a Gaussian copula carries the autocorrelation)."""

    dist: Literal["normal", "lognormal", "weibull"] = "normal"
    mean: float = Field(allow_inf_nan=False, ge=-1e12, le=1e12)
    sd: float = Field(gt=0, le=1e12, allow_inf_nan=False)
    drift_per_day: float = Field(0.0, ge=-1e12, le=1e12, allow_inf_nan=False,
                                 exclude_if=lambda v: v == 0.0, description=(
        "How far the mean moves per day of simulated time (in the characteristic's unit)."))
    autocorrelation: float = Field(0.0, ge=0, lt=1, exclude_if=lambda v: v == 0.0,
                                   description="Lag-1 correlation of consecutive units.")

    @model_validator(mode="after")
    def _positive_mean(self) -> CharacteristicValues:
        if self.dist != "normal" and self.mean <= 0:
            raise ValueError(f"a {self.dist} characteristic needs a positive mean, not "
                             f"{self.mean:g}")
        if self.dist == "weibull" and not 1e-3 <= self.sd / self.mean <= 10:
            # Beyond these the shape parameter is below 0.1 or above 1,000.
            raise ValueError(f"a weibull characteristic needs sd/mean between 0.001 and 10, "
                             f"not {self.sd / self.mean:.3g} (use normal for a tight spread)")
        return self


class RecordedValues(_Frozen):
    """Semantic layer: a characteristic's values recorded in a store (its ``measurements``
    table, see ``shocktwin ingest --format measurements``), replayed in recorded order
    (``trace``, from the start again at the end), resampled (``bootstrap``) or drawn from
    the best-fitting normal, lognormal or Weibull distribution (``fit``)."""

    dist: Literal["recorded"]
    store: str = Field(min_length=1, description="The DuckDB store, relative to this file.")
    characteristic: str | None = Field(None, min_length=1, exclude_if=_drop_none, description=(
        "Its name in the store; default the characteristic's own name."))
    supplier: str | None = Field(None, min_length=1, exclude_if=_drop_none,
                                 description="Only the values recorded for this supplier.")
    station: str | None = Field(None, min_length=1, exclude_if=_drop_none,
                                description="Only the values recorded at this station.")
    mode: Literal["trace", "bootstrap", "fit"] = "trace"


def _as_values(value: Any) -> Any:
    if isinstance(value, dict) and "dist" not in value:
        return {"dist": "normal", **value}
    return value


_ValueKinds = Annotated[CharacteristicValues | RecordedValues, Field(discriminator="dist")]
#: A characteristic's values at a source: a distribution, or values recorded in a store.
SourceValues = Annotated[_ValueKinds, BeforeValidator(_as_values)]


class MeasurementSystem(_Frozen):
    """Semantic layer: how a characteristic is measured: a reading is the true value plus
    the bias, an appraiser (reproducibility) effect drawn once per lot read, and a
    repeatability error per reading (both normal, as standard deviations)."""

    bias: float = Field(0.0, ge=-1e12, le=1e12, allow_inf_nan=False)
    repeatability: float = Field(0.0, ge=0, le=1e12, allow_inf_nan=False,
                                 description="Standard deviation of repeated readings.")
    reproducibility: float = Field(0.0, ge=0, le=1e12, allow_inf_nan=False, description=(
        "Standard deviation between appraisers or set-ups."))

    @property
    def sd(self) -> float:
        """σ of the measurement system, √(repeatability² + reproducibility²)."""
        return float((self.repeatability ** 2 + self.reproducibility ** 2) ** 0.5)


class Characteristic(_Frozen):
    """Semantic layer: a measured quality property of a material's lots (per supplier) or of
    a process station's output. A unit is defective when its true value is outside the
    limits; inspection and SPC see the value through the measurement system."""

    name: Ident
    material: Ident | None = Field(None, exclude_if=_drop_none, description=(
        "The material whose lots carry it (its suppliers are its sources)."))
    station: Ident | None = Field(None, exclude_if=_drop_none, description=(
        "Or the process station whose output carries it."))
    unit: str = Field(min_length=1, max_length=32)
    lsl: float | None = Field(None, allow_inf_nan=False, ge=-1e12, le=1e12)
    usl: float | None = Field(None, allow_inf_nan=False, ge=-1e12, le=1e12)
    target: float | None = Field(None, allow_inf_nan=False, ge=-1e12, le=1e12,
                                 exclude_if=_drop_none)
    values: SourceValues | None = Field(None, exclude_if=_drop_none, description=(
        "Its values at every source not listed in sources."))
    sources: dict[Ident, SourceValues] = Field(default_factory=dict, exclude_if=_drop_empty,
                                               description=(
        "Its values per supplier of the material (or, for a station, the station itself)."))
    gauge: MeasurementSystem = Field(default_factory=MeasurementSystem, description=(
        "How it is measured; default a perfect gauge."))

    @model_validator(mode="after")
    def _limits(self) -> Characteristic:
        if (self.material is None) == (self.station is None):
            raise ValueError("give material or station (which units carry it), one of them")
        check_spec_limits(self.lsl, self.usl, self.target)
        return self

    @property
    def owner(self) -> str:
        """The material or station that carries it."""
        return self.material if self.material is not None else str(self.station)

    def values_at(self, source: str) -> CharacteristicValues | RecordedValues | None:
        """Its values at ``source`` (a supplier, or the station)."""
        return self.sources.get(source, self.values)

    def gauge_rr_percent(self) -> float | None:
        """Gauge R&R as a share of the tolerance, 6σ_ms / (USL − LSL) · 100 (two-sided)."""
        if self.lsl is None or self.usl is None:
            return None
        return 100.0 * 6.0 * self.gauge.sd / (self.usl - self.lsl)


class Buffer(_Frozen):
    """Physical layer: incoming stock of one material; logical layer: its replenishment by
    (reorder point, order quantity)."""

    id: Ident
    material: Ident
    initial: int = Field(ge=0, le=100_000_000)
    reorder_point: int = Field(ge=0, le=100_000_000, description="Order when the inventory "
                               "position (on hand + on order − backorders) falls to this.")
    order_quantity: int | None = Field(None, ge=1, le=100_000_000,
                                       description="Units per order; default the lot size.")


class Maintenance(_Frozen):
    """Physical layer: planned maintenance stops every server of a station for ``duration``
    every ``every``, the first time at ``first`` (default one interval in). A unit in work
    resumes where it stopped afterwards."""

    every: PositiveDuration
    duration: PositiveDuration
    first: Duration | None = Field(None, exclude_if=_drop_none, description=(
        "When the first stop begins; default one interval after the start."))

    @model_validator(mode="after")
    def _fits(self) -> Maintenance:
        if self.duration >= self.every:
            raise ValueError("a maintenance stop must be shorter than its interval")
        return self


class RecordedDowntime(_Frozen):
    """Physical layer: a station's breakdowns replayed from the outages of a machine recorded
    in a store's ``downtime`` table (``shocktwin ingest FILE --format downtime``), instead of
    mtbf and mttr. During an outage every server of the station is down; a unit in work
    resumes where it stopped when it ends. Overlapping rows of the machine are one outage."""

    store: str = Field(min_length=1, max_length=1024, description=(
        "The DuckDB store, relative to this file."))
    machine: str = Field(min_length=1, max_length=500, description=(
        "The machine's name in the downtime table."))
    source: str | None = Field(None, min_length=1, max_length=1024, exclude_if=_drop_none,
                               description="Which ingested file (its path or name); needed "
                               "only when several hold the machine.")
    mode: Literal[ReplayMode.TRACE, ReplayMode.BOOTSTRAP] = Field(
        ReplayMode.TRACE, description=(
            "trace: the recorded outages at their recorded times; hour 0 of the run is 00:00 "
            "of the day of the earliest start in the file the machine's rows came from, and "
            "outages beyond the horizon are ignored. bootstrap: the recorded (time between "
            "outages, outage duration) pairs resampled from the replication's own stream, "
            "up then down in turn from the start (an alternating renewal process)."))


class ProcessStation(_Frozen):
    """Physical layer: a work station with parallel servers and optional breakdowns (per
    server)."""

    id: Ident
    kind: Literal[StationKind.PROCESS] = StationKind.PROCESS
    servers: int = Field(1, ge=1, le=10_000)
    process_time: TimeDist = _time_dist_field("Time to process one unit.")
    mtbf: PositiveDuration | None = Field(None, description="Mean time between failures of "
                                          "each server (exponential; calendar or operating "
                                          "hours, see failure_basis).")
    mttr: PositiveDuration | None = Field(None, description="Mean time to repair (exponential).")
    failure_basis: Literal["calendar", "operating"] = Field(
        "calendar", exclude_if=lambda v: v == "calendar", description=(
            "calendar: a server wears out whether it works or not; operating: only the "
            "hours it is at work count toward its mtbf (usage-based failures)."))
    units_between_failures: float | None = Field(
        None, gt=0, le=1e9, exclude_if=_drop_none, description=(
            "Instead of mtbf: a server fails after a number of units made, geometric with "
            "this mean (wear per cycle); it fails as it completes that unit."))
    maintenance: Maintenance | None = Field(None, exclude_if=_drop_none, description=(
        "Planned maintenance: the whole station stops at fixed intervals."))
    downtime: RecordedDowntime | None = Field(None, exclude_if=_drop_none, description=(
        "Instead of mtbf and mttr: the recorded outages of a machine, replayed (trace) or "
        "resampled (bootstrap); every server is down during each."))
    defect_rate: float = Field(0.0, ge=0, lt=1, description="Fraction of units the process "
                               "makes defective.")
    dispatching: Dispatching = "fifo"
    calendar: CalendarName = None

    @field_validator("downtime")
    @classmethod
    def _recorded_or_modelled(cls, downtime: RecordedDowntime | None,
                              info: ValidationInfo) -> RecordedDowntime | None:
        modelled = [k for k in ("mtbf", "mttr", "units_between_failures")
                    if info.data.get(k) is not None]
        if downtime is not None and modelled:
            raise ValueError("recorded downtime replaces the modelled breakdowns: give "
                             f"downtime or {', '.join(modelled)}, not both")
        return downtime

    @model_validator(mode="after")
    def _both_or_neither(self) -> ProcessStation:
        wears = self.mtbf is not None or self.units_between_failures is not None
        if self.mtbf is not None and self.units_between_failures is not None:
            raise ValueError("give mtbf or units_between_failures, not both")
        if wears != (self.mttr is not None):
            raise ValueError("give both mtbf (or units_between_failures) and mttr, or neither")
        if self.failure_basis == "operating" and self.mtbf is None:
            raise ValueError("failure_basis operating needs an mtbf in operating hours")
        return self


class AIGate(_Frozen):
    """An ONNX inspection model deciding on recorded feature vectors replayed from a store.

    Each unit draws a recorded anomaly from the replication's stream — from the rows the
    model's metadata calls defective when the unit is defective, else from the rows it
    calls acceptable — and is rejected when the model's P(reject) reaches the threshold.
    """

    model: str = Field("steel_plates", min_length=1, max_length=1024, description=(
        "'steel_plates' (the bundled model) or an .onnx file relative to this one, with its "
        ".json metadata beside it."))
    store: str = Field(min_length=1, description="The DuckDB store holding the features, "
                       "relative to this file.")
    source: str | None = Field(None, description="Which ingested feature file, when the "
                               "store holds several.")
    threshold: float | None = Field(None, gt=0, lt=1, description="P(reject) at or above "
                                    "which a unit is rejected; default the model's own.")
    rows: Literal["held_out", "all"] = Field("held_out", description=(
        "held_out: only the rows the model was not trained on (its documented test split, "
        "checked by hash), so the twin sees its honest error rates; all: every row."))


class InspectionStation(_Frozen):
    """Physical layer: inspectors who check units; detected defects and false rejects are
    scrapped. What they inspect by is the semantic layer (the rule set's plans)."""

    id: Ident
    kind: Literal[StationKind.INSPECTION]
    inspectors: int = Field(1, ge=1, le=10_000)
    time_per_unit: TimeDist = _time_dist_field("Inspection time per unit.")
    detection: float = Field(1.0, gt=0, le=1, description="Probability a defective unit is "
                             "caught (sensitivity).")
    false_reject: float = Field(0.0, ge=0, lt=1, description="Probability a good unit is "
                                "rejected.")
    sample_fraction: float = Field(1.0, gt=0, le=1, description="Fraction of units inspected; "
                                   "the rest pass unseen.")
    ai: AIGate | None = Field(None, description="Decide with an ONNX model on replayed "
                              "feature vectors instead of the detection probability.")
    role: Literal["line", "incoming"] = Field("line", description=(
        "line: units of the routing pass through it; incoming: it inspects delivered lots "
        "by the rule set's sampling plans before they go into stock (not in the routing)."))
    dispatching: Dispatching = "fifo"
    calendar: CalendarName = None



class ReleaseStation(_Frozen):
    """Physical layer: quality release, the last step; units leave to the customer from
    here."""

    id: Ident
    kind: Literal[StationKind.RELEASE]
    sla: PositiveDuration = Field(description="Contractual start-to-release window.")
    reviewers: int | None = Field(None, ge=1, le=10_000, description="Parallel reviewers; "
                                  "none means release needs no reviewer.")
    review_time: TimeDist | None = Field(None, description="Review time per unit.")
    dispatching: Dispatching = "fifo"
    calendar: CalendarName = None


    @model_validator(mode="after")
    def _reviewers(self) -> ReleaseStation:
        if (self.reviewers is None) != (self.review_time is None):
            raise ValueError("give both reviewers and review_time, or neither")
        return self


def _station_kind(value: Any) -> str | None:
    if isinstance(value, dict):
        return str(value.get("kind", "process"))
    kind = getattr(value, "kind", None)
    return str(kind) if kind is not None else None  # not a station: the union reports it


Station = Annotated[
    Annotated[ProcessStation, Tag("process")]
    | Annotated[InspectionStation, Tag("inspection")]
    | Annotated[ReleaseStation, Tag("release")],
    Discriminator(_station_kind, custom_error_type="station_kind",
                  custom_error_message="kind must be one of: process, inspection, release"),
]


class ScheduledOrder(_Frozen):
    """One order of a schedule: when it is placed and how many units."""

    at: Duration = Field(description="When the order is placed, from the start of the run.")
    quantity: int = Field(1, ge=1, le=1_000_000)


class Demand(_Frozen):
    """Customer orders of one product: a Poisson process (``rate``), one order at fixed
    intervals (``every``), or a schedule of orders (``orders``)."""

    rate: Rate | None = Field(None, description="Poisson orders per time unit, e.g. '25/h'.")
    every: PositiveDuration | None = Field(None, exclude_if=_drop_none, description=(
        "One order at each multiple of this interval (the first at the interval)."))
    orders: list[ScheduledOrder] | None = Field(None, max_length=1_000_000,
                                                exclude_if=_drop_none, description=(
        "A schedule or recorded order book: each order with its time and quantity."))
    quantity: int = Field(1, ge=1, le=1_000_000, description="Units per order (rate, every).")
    due_in: PositiveDuration = Field(description="Order due time after it arrives.")

    @field_validator("rate")
    @classmethod
    def _positive(cls, rate: float | None) -> float | None:
        if rate is not None and rate <= 0:
            raise ValueError("the demand rate must be above zero")
        return rate

    @model_validator(mode="after")
    def _one_kind(self) -> Demand:
        given = [k for k in ("rate", "every", "orders") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of rate (Poisson), every (fixed interval) and "
                             "orders (a schedule)" + (f"; got {', '.join(given)}" if given
                                                      else ""))
        return self

    def mean_rate(self, horizon_h: float) -> float:
        """Orders per hour on average (a schedule: its orders over the horizon)."""
        if self.rate is not None:
            return self.rate
        if self.every is not None:
            return 1.0 / self.every
        assert self.orders is not None
        return sum(1 for o in self.orders if o.at < horizon_h) / horizon_h

    def mean_units_per_h(self, horizon_h: float) -> float:
        """Units ordered per hour on average."""
        if self.orders is not None:
            return sum(o.quantity for o in self.orders if o.at < horizon_h) / horizon_h
        return self.mean_rate(horizon_h) * self.quantity


class ReworkLoop(_Frozen):
    """Physical layer: after this step a unit goes back to an earlier step of its routing
    with a probability (rework), else on to the next step."""

    to: Ident = Field(description="The station it goes back to, earlier in the routing.")
    probability: float = Field(gt=0, lt=1)


class RoutingStep(_Frozen):
    """Physical layer: one step of a product's routing, at a (shared) station."""

    station: Ident
    process_time: TimeDist | None = Field(None, description=(
        "This product's time at a process station, instead of the station's own. A duration "
        "('6min') or a distribution ({dist: gamma, mean: 6min, cv: 0.3})."))
    rework: ReworkLoop | None = None


def _as_step(value: Any) -> Any:
    # A bare station id is the common case of a step.
    if isinstance(value, str):
        return {"station": value}
    return value


Step = Annotated[RoutingStep, BeforeValidator(_as_step, json_schema_input_type=str | RoutingStep)]


class RecordedWork(_Frozen):
    """A product whose work orders are replayed from the plant's operations log
    (``plant.log``): each recorded work order of its part types is a customer order of the
    order's quantity, released when the log released it (or as the log's mode resamples
    it). It first takes its bill of materials for every unit from the plant's buffers, then
    runs its recorded operation reports over the stations bound to their resources, with
    their recorded work and waits; what the reports rejected is scrapped. It ships what is
    left when its last report ends (after the release station, when ``release`` names one).
    """

    part_types: list[str] | None = Field(None, min_length=1, max_length=10_000,
                                         exclude_if=_drop_none, description=(
        "The log's part types (work_orders.part) whose orders it replays; default every "
        "order no other product names (all of them in a log without part types)."))
    due_in: PositiveDuration | None = Field(None, exclude_if=_drop_none, description=(
        "An order is due this long after its release; without it no order of the product "
        "is late."))
    release: Ident | None = Field(None, exclude_if=_drop_none, description=(
        "A release station a finished order passes as a whole (one review) before it "
        "ships."))


class Product(_Frozen):
    """A product the plant makes: its routing over the plant's stations, its bill of
    materials and its demand; or, ``recorded``, the work orders of the operations log it
    replays."""

    id: Ident
    routing: list[Step] = Field(default_factory=list, max_length=1000, exclude_if=_drop_empty,
                                description=(
        "Physical layer: the stations it visits in order: a station id, or {station, "
        "process_time, rework: {to, probability}}. Required unless it is recorded."))
    bom: dict[str, int] | None = Field(None, description="Physical layer: units of each "
                                       "material per unit made; default one of each "
                                       "buffered material.")
    # Checked with the plant's other cross-references, so a product without demand is
    # listed together with every other problem of the plant.
    demand: Demand | None = Field(None, description="Its customer demand (required unless "
                                  "it is recorded).")
    recorded: RecordedWork | None = Field(None, exclude_if=_drop_none, description=(
        "Its orders, routings, work and waits are replayed from the plant's operations log "
        "(plant.log) instead of a routing and a demand."))
    priority: int = Field(1, ge=1, le=1000, description="Logical layer: its class under "
                          "priority dispatching (1 is served first).")

    @property
    def orders(self) -> Demand:
        """Its demand (every product of a validated plant has one)."""
        if self.demand is None:
            raise ValueError(f"product {self.id!r} has no demand")
        return self.demand


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SHIFT = r"^([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-4]):[0-5][0-9]$"


class Calendar(_Frozen):
    """Logical layer: when a station's servers (its people or machines) work. Outside the
    shifts every server is off and a unit in work waits for the next shift; work times are
    working time, the run's clock is calendar time."""

    days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = Field(
        min_length=1, max_length=7, description="The working days.")
    shifts: list[Annotated[str, Field(pattern=_SHIFT)]] = Field(
        min_length=1, max_length=24, description="Working hours of each working day, e.g. "
        "['06:00-14:00', '14:00-22:00']; a shift ending at 24:00 runs to midnight.")
    starts_on: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] = Field(
        "mon", description="The weekday the run starts on, at 00:00.")

    @model_validator(mode="after")
    def _ordered(self) -> Calendar:
        spans = self.day_spans_h()
        if any(a >= b for a, b in spans):
            raise ValueError("each shift must end after it starts, within the day")
        if any(b > c for (_, b), (c, _) in itertools.pairwise(spans)):
            raise ValueError("shifts overlap: list them in time order, each after the last")
        return self

    def day_spans_h(self) -> list[tuple[float, float]]:
        """The shifts of a working day as (start, end) hours after midnight, in order."""
        def hours(text: str) -> float:
            h, m = text.split(":")
            return int(h) + int(m) / 60.0

        spans = [tuple(hours(t) for t in shift.split("-")) for shift in self.shifts]
        return sorted((a, b) for a, b in spans)

    def working_spans_h(self) -> list[tuple[float, float]]:
        """The working time of one week from the run's start, (start, end) hours after it;
        touching spans are merged (a shift ending at midnight and one starting then)."""
        first = WEEKDAYS.index(self.starts_on)
        out: list[tuple[float, float]] = []
        for k in range(7):
            if WEEKDAYS[(first + k) % 7] not in self.days:
                continue
            for a, b in self.day_spans_h():
                start, end = 24.0 * k + a, 24.0 * k + b
                if out and out[-1][1] >= start:
                    out[-1] = (out[-1][0], end)
                else:
                    out.append((start, end))
        return out


class LogResource(_Frozen):
    """A resource of the plant's operations log and the station that does its work."""

    name: str = Field(min_length=1, max_length=500,
                      description="The resource's name in the log (operations.resource).")
    station: Ident = Field(description="The plant's station that serves its recorded tasks "
                           "(several resources may share one).")


class PlantLog(_Frozen):
    """Physical layer, recorded: the operations log (an MES log ingested into a store) whose
    work orders the plant's recorded products replay, and which station does the work of
    each of its resources. See ``shocktwin derive --as plant``."""

    store: str = Field(min_length=1, description="The DuckDB store, relative to this file.")
    source: str | None = Field(None, description="Which ingested file (its path or name); "
                               "needed only when the store holds several.")
    mode: ReplayMode = Field(ReplayMode.TRACE, description=(
        "trace: the recorded orders, releases, work and waits; bootstrap: recorded days of "
        "releases resampled; fit: Poisson releases, recorded routings, fitted work and "
        "waits."))
    resources: list[LogResource] = Field(min_length=1, max_length=100_000, description=(
        "Every resource the replayed orders work on, with the station that does it."))


# --------------------------------------------------------------------------- quality system


#: A context a rule is bound to: a name (``toolchain``, ``regulation``) or, for the current
#: source of a material, ``supplier.<material>``.
ContextKey = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_-]*(\.[A-Za-z][A-Za-z0-9_-]*)?$",
                                  description="A context: a name such as toolchain or "
                                  "regulation, or supplier.<material> (the material's "
                                  "current source).")]


class WorkKind(StrEnum):
    """What a piece of quality work is; the kind says what it does, the item says what it
    needs (pool, time, count, precedence)."""

    RULE_REGENERATION = "rule_regeneration"
    RULE_REVIEW = "rule_review"
    DESIGN_REVIEW = "design_review"
    PLAN_REVIEW = "plan_review"
    COMPATIBILITY_CHECK = "compatibility_check"
    SUPPLIER_QUALIFICATION = "supplier_qualification"
    COMPARABILITY_STUDY = "comparability_study"
    LIFE_TEST = "life_test"
    DEVIATION_APPROVAL = "deviation_approval"
    CAPA = "capa"
    RELEASE_APPROVAL = "release_approval"


class Pool(_Frozen):
    """A resource pool of the quality organisation: quality engineers, reviewers, the lab's
    analysts or rigs, approvers. Its members take the waiting work by priority (1 first),
    first come first served within a priority, and work only on their calendar's shifts."""

    id: Ident
    capacity: int = Field(ge=1, le=10_000, description="Members (or rigs) working at once.")
    calendar: Ident | None = Field(None, exclude_if=_drop_none, description=(
        "The plant's shift calendar its members work on (plant.calendars); default around "
        "the clock."))
    role: str | None = Field(None, max_length=200, exclude_if=_drop_none, description=(
        "Who they are, for people (e.g. quality engineers, MRB approvers)."))


class WorkItem(_Frozen):
    """One piece of a playbook's work: ``count`` tasks of ``duration`` each on ``pool``,
    started once every item it comes ``after`` is done."""

    id: Ident
    kind: WorkKind
    pool: Ident = Field(description="The resource pool that does it.")
    duration: TimeDist | None = Field(None, exclude_if=_drop_none, description=(
        "Working time of one task. A duration ('20min') or a distribution ({dist: gamma, "
        "mean: 20min, cv: 0.5}); a life test takes its test hours instead."))
    count: int | Literal["rules"] = Field(1, description=(
        "Tasks: a number, or rules (one per rule the context change invalidated)."))
    after: list[Ident] = Field(default_factory=list, max_length=100, exclude_if=_drop_empty,
                               description="Items of the playbook that must be done first.")
    priority: int = Field(5, ge=1, le=9, exclude_if=lambda v: v == 5, description=(
        "1 first; a pool takes the waiting task of the highest priority."))
    test: LifeTest | None = Field(None, exclude_if=_drop_none, description=(
        "A life test (kind life_test): units of the supplier's parameter pack run the test "
        "hours at the extreme condition on one member of the pool; it passes when the lower "
        "confidence bound clears the requirement."))
    supplier: Ident | None = Field(None, exclude_if=_drop_none, description=(
        "A life test: whose parameter pack (life) is tested; default the playbook's backup."))

    @field_validator("count")
    @classmethod
    def _count(cls, count: int | str) -> int | str:
        if isinstance(count, int) and not 1 <= count <= 1_000_000:
            raise ValueError("count must be 1 to 1,000,000 tasks, or rules")
        return count

    @model_validator(mode="after")
    def _kind_fits(self) -> WorkItem:
        if self.kind == WorkKind.LIFE_TEST:
            if self.test is None:
                raise ValueError("a life_test item needs test: {hours, units, required}")
            if self.duration is not None:
                raise ValueError("a life test lasts its test hours: give test.hours, not "
                                 "duration")
            if self.count != 1:
                raise ValueError("a life test is one test of test.units units: leave count")
        else:
            if self.test is not None or self.supplier is not None:
                raise ValueError("test and supplier belong to a life_test item")
            if self.duration is None:
                raise ValueError("give duration: the working time of one task")
        return self


class PlaybookTrigger(_Frozen):
    """What starts a playbook: exactly one of a context change, a backup taking over, or a
    shock's onset."""

    context: ContextKey | None = Field(None, exclude_if=_drop_none, description=(
        "A change of this context: the playbook regenerates and re-reviews the rules bound "
        "to its old value; when it is done they are valid again."))
    backup: Ident | None = Field(None, exclude_if=_drop_none, description=(
        "This backup supplier taking over: it is qualified (takes orders) when the playbook "
        "is done."))
    shock: str | None = Field(None, exclude_if=_drop_none, description=(
        "The onset of this shock (work it adds: a CAPA, an 8D, extra reviews)."))

    @model_validator(mode="after")
    def _one(self) -> PlaybookTrigger:
        given = [k for k in ("context", "backup", "shock") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of context, backup and shock")
        return self


class Playbook(_Frozen):
    """The response to one kind of event: after its latency (automated: minutes; manual
    escalation: days) its items run on their pools in their precedence order."""

    id: Ident
    trigger: PlaybookTrigger
    latency: TimeDist = Field(
        default_factory=lambda: ConstantDist.model_validate({"value": "0h"}), description=(
        "From the event to the response starting. A duration ('17min', '5d') or a "
        "distribution."))
    items: list[WorkItem] = Field(min_length=1, max_length=1000)


class QualitySystem(_Frozen):
    """Semantic and logical layers: the contexts the rule library is bound to, the quality
    organisation's pools and the playbooks that keep the rules valid."""

    contexts: dict[Ident, Ident | list[Ident]] = Field(default_factory=dict, description=(
        "The contexts in force at the start, e.g. {toolchain: eda-a}, or every value in "
        "force at once, e.g. {board: [rigid, hdi]} for the board classes built; "
        "supplier.<material> is always the material's current source."))
    pools: list[Pool] = Field(min_length=1, max_length=1000)
    playbooks: list[Playbook] = Field(default_factory=list, max_length=1000)


class Plant(_Frozen):
    """Suppliers, stock, stations and what the plant makes: one product (``routing``,
    ``bom``, ``demand``) or several (``products``), sharing the stations; products may
    replay the work orders of an operations log (``log``)."""

    log: PlantLog | None = Field(None, exclude_if=_drop_none, description=(
        "The operations log its recorded products replay, and the stations bound to its "
        "resources."))
    suppliers: list[Supplier] = Field(default_factory=list)
    buffers: list[Buffer] = Field(default_factory=list)
    stations: list[Station] = Field(min_length=1)
    routing: list[Ident] | None = Field(None, min_length=1, description="One product: "
                                        "station ids in visiting order.")
    bom: dict[str, int] | None = Field(None, description="One product: units of each "
                                       "material per unit made; default one of each "
                                       "buffered material.")
    demand: Demand | None = Field(None, description="One product: its customer demand.")
    products: list[Product] | None = Field(None, min_length=1, max_length=10_000,
                                           exclude_if=_drop_none, description=(
        "Several products sharing the stations, each with its routing, bill of materials "
        "and demand; instead of routing, bom and demand."))
    calendars: dict[Ident, Calendar] | None = Field(None, exclude_if=_drop_none, description=(
        "Named shift calendars a station's `calendar` refers to."))
    characteristics: list[Characteristic] = Field(
        default_factory=list, max_length=10_000, exclude_if=_drop_empty, description=(
            "Measured characteristics of materials (per supplier) and of process stations' "
            "output; where declared, a unit is defective when out of its limits."))
    quality: QualitySystem | None = Field(None, exclude_if=_drop_none, description=(
        "The quality system: the contexts its rule library is bound to, its resource pools "
        "and the playbooks that regenerate, re-review, qualify and approve after a shock."))

    @model_validator(mode="after")
    def _cross_references(self) -> Plant:
        problems = list(_plant_problems(self))
        if problems:
            raise SemanticProblems(problems)
        return self

    def product_list(self) -> list[Product]:
        """The products made; the one-product form as a product called ``product``."""
        if self.products is not None:
            return list(self.products)
        assert self.routing is not None and self.demand is not None
        return [Product(id=ONE_PRODUCT, routing=[RoutingStep(station=s) for s in self.routing],
                        bom=self.bom, demand=self.demand)]

    def materials_per_unit(self, product: Product | None = None) -> dict[str, int]:
        """Units of each material per unit of ``product`` (default: the only product)."""
        bom = self.bom if product is None else product.bom
        if bom is not None:
            return dict(bom)
        return {b.material: 1 for b in self.buffers}

    def routed_station_ids(self) -> list[str]:
        """Every station some product visits, in first-visit order."""
        seen: dict[str, None] = {}
        for product in self.product_list():
            for step in product.routing:
                seen.setdefault(step.station, None)
        return list(seen)


#: The name of the product of a plant written in the one-product form.
ONE_PRODUCT = "product"


# --------------------------------------------------------------------------- shop


class ShopResource(_Frozen):
    """A machine or QC station of the MES log, with its parallel capacity."""

    id: Ident = Field(description="Id used by shocks and in results.")
    name: str = Field(min_length=1, max_length=500,
                      description="The resource's name in the log (operations.resource).")
    servers: int = Field(1, ge=1, le=10_000, description="Reports it can run at once.")
    kind: Literal[StationKind.PROCESS, StationKind.INSPECTION] = StationKind.PROCESS
    mtbf: PositiveDuration | None = Field(None, description="Mean time between failures of "
                                          "each server (exponential, calendar time).")
    mttr: PositiveDuration | None = Field(None, description="Mean time to repair (exponential).")

    @model_validator(mode="after")
    def _both_or_neither(self) -> ShopResource:
        if (self.mtbf is None) != (self.mttr is None):
            raise ValueError("give both mtbf and mttr, or neither")
        return self


class Shop(_Frozen):
    """A job shop replayed from the operations of an ingested MES log (see
    ``shocktwin derive``): work orders are released, and each operation report is a task
    that waits its extraneous delay, queues for its resource and holds it for its work."""

    store: str = Field(min_length=1, description="The DuckDB store, relative to this file.")
    source: str | None = Field(None, description="Which ingested file (its path or name); "
                               "needed only when the store holds several.")
    mode: ReplayMode = ReplayMode.TRACE
    resources: list[ShopResource] = Field(min_length=1)
    due_in: PositiveDuration | None = Field(None, description="Due time of a work order after "
                                            "its release; without it no order is late.")

    @model_validator(mode="after")
    def _unique(self) -> Shop:
        problems: list[tuple[tuple[str | int, ...], str]] = []
        ids: dict[str, int] = {}
        names: dict[str, int] = {}
        for i, r in enumerate(self.resources):
            if r.id in ids:
                problems.append((("resources", i, "id"), f"duplicate resource id {r.id!r}"))
            if r.name in names:
                problems.append((("resources", i, "name"),
                                 f"resource {r.name!r} is listed twice"))
            ids.setdefault(r.id, i)
            names.setdefault(r.name, i)
        if problems:
            raise SemanticProblems(problems)
        return self


# --------------------------------------------------------------------------- hypothesis


_Bound = Annotated[float | None, WithJsonSchema({"anyOf": [
    {"type": "number"}, DURATION_JSON_SCHEMA, {"type": "null"}]})]


class Tolerance(_Frozen):
    """One KPI bound of the steady-state hypothesis, for the whole plant or one product."""

    kpi: Kpi
    product: Ident | None = Field(None, exclude_if=_drop_none, description=(
        "The bound is on this product's KPI (a plant with several products); default the "
        "plant's."))
    min: _Bound = Field(None, description="Lower bound (a duration for time KPIs).")
    max: _Bound = Field(None, description="Upper bound (a duration for time KPIs).")

    @model_validator(mode="before")
    @classmethod
    def _units(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        try:
            kpi = Kpi(str(data.get("kpi")))
        except ValueError:
            return data  # the field validator reports the unknown KPI
        out = dict(data)
        for bound in ("min", "max"):
            value = out.get(bound)
            if value is None:
                continue
            if kpi in TIME_KPIS:
                try:
                    out[bound] = parse_duration_h(value)
                except ValueError as e:
                    raise ValueError(f"{bound}: {e}") from None
            elif isinstance(value, str):
                raise ValueError(f"{bound}: {kpi.value} is a number, not {value!r}")
        return out

    @model_validator(mode="after")
    def _bounds(self) -> Tolerance:
        if self.min is None and self.max is None:
            raise ValueError("give min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("min is above max")
        return self

    @property
    def key(self) -> str:
        """The name the KPI is measured under: ``otd`` or ``otd[valve_a]``."""
        return kpi_key(self.kpi.value, self.product)

    def holds(self, value: float) -> bool:
        if value != value:  # NaN: nothing measured, so the bound cannot be shown to hold
            return False
        if self.min is not None and value < self.min:
            return False
        return not (self.max is not None and value > self.max)


class Recovery(_Frozen):
    """The recovery side of the hypothesis (the minimum recovery guarantee rate): after a
    shock, the binding KPIs must be back at ``level`` % of their pre-shock level within
    ``within`` of the shock's onset, in at least ``guarantee`` of the replications."""

    level: float = Field(95.0, gt=0, le=100, exclude_if=lambda v: v == 95.0, description=(
        "Recovery service level: a KPI counts as recovered when its performance is back at "
        "this % of its pre-shock level (the mean between warm-up and the shock's onset) and "
        "stays there to the horizon; default 95."))
    failure: float | None = Field(None, ge=0, lt=100, exclude_if=_drop_none, description=(
        "Failure service level: a replication in which a binding KPI fell below this % of "
        "its pre-shock level has failed (anyLogistix's failure threshold); must be below "
        "level. Default: failed when a tolerance of the hypothesis was breached."))
    within: PositiveDuration = Field(description=(
        "Recovery time objective (RTO), counted from the shock's onset: the KPIs must have "
        "recovered by onset + within."))
    guarantee: float | None = Field(None, gt=0, le=1, exclude_if=_drop_none, description=(
        "The minimum recovery guarantee rate required (a share, 0 to 1): the result meets "
        "it when the 95 % Wilson interval of the recovered share lies at or above it, "
        "misses it when the interval lies below, and is undecided otherwise. Default: no "
        "target, the rate is measured only."))
    kpis: list[str] | None = Field(None, min_length=1, max_length=50, exclude_if=_drop_none,
                                   description=(
        "The binding KPIs that must recover (names as in tolerances, e.g. otd or "
        "otd[valve_a]); default the KPIs of the hypothesis's tolerances."))

    @field_validator("kpis")
    @classmethod
    def _known_kpis(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return value
        known = [k.value for k in Kpi]
        for name in value:
            kpi = base_kpi(name)
            if kpi not in known:
                raise ValueError(unknown_name("KPI", kpi, known))
            if kpi != name and not product_of(name):
                raise ValueError(f"{name!r}: write a product's KPI as kpi[product]")
        if len(set(value)) != len(value):
            raise ValueError("a KPI is listed twice")
        return value

    @model_validator(mode="after")
    def _levels(self) -> Recovery:
        if self.failure is not None and self.failure >= self.level:
            raise ValueError(f"failure ({self.failure:g} %) must be below level "
                             f"({self.level:g} %)")
        return self


class Hypothesis(_Frozen):
    """The steady-state hypothesis: tolerances that must hold together, in at least
    `probability` of the replications."""

    probability: float = Field(0.9, gt=0, le=1)
    tolerances: list[Tolerance] = Field(default_factory=list)
    recovery: Recovery | None = Field(None, exclude_if=_drop_none, description=(
        "The minimum recovery guarantee rate: how far and how fast the binding KPIs must "
        "come back after each shock."))

    @model_validator(mode="before")
    @classmethod
    def _from_list(cls, data: Any) -> Any:
        # The short form is a plain list of tolerances.
        if isinstance(data, list):
            return {"tolerances": data}
        return data

    @model_validator(mode="after")
    def _recovery_kpis(self) -> Hypothesis:
        if self.recovery is not None and self.recovery.kpis is None and not self.tolerances:
            raise ValueError("recovery: give kpis, or tolerances whose KPIs must recover")
        return self

    @property
    def recovery_kpis(self) -> list[str]:
        """The KPIs the recovery guarantee binds: the recovery's own, else the tolerances'."""
        if self.recovery is not None and self.recovery.kpis is not None:
            return list(self.recovery.kpis)
        return list(dict.fromkeys(t.key for t in self.tolerances))


# --------------------------------------------------------------------------- experiment


class Experiment(_Frozen):
    """How the scenario is run: replications, seed, engine, KPI bucket width."""

    replications: int = Field(10, ge=1, le=100_000)
    seed: int = Field(0, ge=0, lt=2**63)
    engine: Engine = Engine.SIMPY
    bucket: PositiveDuration | None = Field(None, description="Width of KPI series buckets; "
                                            "default 1d for horizons of 10 days or more, "
                                            "else 1h.")
    # Left out of the canonical form at its default, so scenario hashes stay as they were.
    max_replications: int = Field(320, ge=1, le=100_000, exclude_if=lambda v: v == 320,
                                  description=(
        "run --until-decided adds replications (doubling from `replications`) up to this "
        "many until the hypothesis verdict is decided."))


_AxisValue = Annotated[float | str, WithJsonSchema({"anyOf": [
    {"type": "number"}, DURATION_JSON_SCHEMA]})]


class MtdShock(_Frozen):
    """One shock whose maximum tolerable disruption is searched on its severity axis."""

    shock: Ident = Field(description="Id of a shock of this scenario.")
    low: _AxisValue = Field(description="Lower end of the search range (a duration for "
                            "time axes).")
    high: _AxisValue = Field(description="Upper end of the search range.")
    resolution: _AxisValue | None = Field(None, description="Stop narrowing a replication's "
                                          "bracket below this width; default 1/64 of the "
                                          "range.")
    target: _AxisValue | None = Field(None, description="The MTD the plant must reach; the "
                                      "result passes or fails against it.")


class Mtd(_Frozen):
    """Maximum tolerable disruption search (``shocktwin mtd``)."""

    shocks: list[MtdShock] = Field(min_length=1, max_length=100)
    probability: float | None = Field(None, gt=0, lt=1, description="The hypothesis must "
                                      "hold in at least this share of replications; default "
                                      "the hypothesis's own.")
    replications: int = Field(40, ge=2, le=100_000, description="Replications to start "
                              "with; 36 or more give a two-sided 95 % interval at p = 0.9.")
    max_replications: int = Field(120, ge=2, le=100_000, description="Replications may be "
                                  "added up to this many until the interval is narrow enough.")
    precision: _AxisValue | None = Field(None, description="Add replications until the MTD's "
                                         "95 % interval is at most this wide.")
    budget: int = Field(5000, ge=10, le=10_000_000, description="Most simulation runs per "
                        "shock; beyond it the result is 'not converged' with its bracket.")
    scan: int = Field(3, ge=0, le=50, description="Interior points of the range tried "
                      "before bisecting, so a failure inside the range is not missed.")
    others: Literal["remove", "keep"] = Field("remove", description=(
        "remove: each shock is searched alone (with the shocks that cascade from it); keep: "
        "with the scenario's other shocks in place."))
    guarantee_replications: int | None = Field(None, ge=2, le=100_000, description=(
        "Replications at the shock's own severity for its recovery guarantee (with a "
        "hypothesis.recovery); default the search's. All of about 20 must recover to show "
        "a guarantee of 80 %, all of 45 for 90 %."))
    rto: PositiveDuration | None = Field(None, description="ISO 22301 recovery time "
                                         "objective; the result says whether RTO <= MTD "
                                         "(time axes) and whether recovery met it.")
    mbco: float | None = Field(None, gt=0, le=100, description="ISO 22301 minimum business "
                               "continuity objective: the lowest acceptable performance, % "
                               "of the pre-shock level.")

    @model_validator(mode="after")
    def _counts(self) -> Mtd:
        if self.max_replications < self.replications:
            raise ValueError("max_replications is below replications")
        return self


class ScreenNode(_Frozen):
    """A supplier as a node of the screening network."""

    supplier: Ident
    capacity: Rate = Field(description="Units it can supply per time unit, e.g. '40/h'.")
    ttr: PositiveDuration = Field(description="Time to recover if it is disrupted.")


class Screen(_Frozen):
    """Network screening by the time-to-survive / time-to-recover LPs (``shocktwin
    screen``): which supplier disruptions deserve a full simulation."""

    nodes: list[ScreenNode] = Field(min_length=1, max_length=10_000)
    margin: float = Field(1.0, gt=0, le=1e9, description="Profit per unit of demand not "
                          "met (any currency); 1 counts lost units.")
    inventory: Literal["initial", "reorder_point"] = Field(
        "initial", description="Stock on hand when a node is disrupted.")


class DecisionVariable(_Frozen):
    """A setting the optimiser may change: a number in a range, or one of some choices."""

    name: Ident
    path: str = Field(min_length=1, max_length=300, pattern=r"^[A-Za-z_][A-Za-z0-9_.\[\]]*$",
                      description="Where in the scenario, e.g. plant.buffers[0].reorder_point "
                      "or rules.")
    low: float | None = None
    high: float | None = None
    integer: bool = False
    unit: str | None = Field(None, pattern=r"^(ms|s|sec|min|h|hr|d|w)$", description=(
        "Written after a number for duration fields, e.g. d for days."))
    choices: list[Any] | None = Field(None, min_length=2, max_length=1000)
    cost: float = Field(0.0, ge=0, description="Cost per unit of the value (numbers) or per "
                        "choice index step; summed into the cost objective.")
    choice_costs: list[float] | None = Field(None, description="Cost of each choice.")

    @model_validator(mode="after")
    def _range_or_choices(self) -> DecisionVariable:
        if self.choices is None:
            if self.low is None or self.high is None:
                raise ValueError("give low and high, or choices")
            if self.low >= self.high:
                raise ValueError("high must be above low")
        elif self.low is not None or self.high is not None:
            raise ValueError("give low and high, or choices, not both")
        if self.choice_costs is not None and (
                self.choices is None or len(self.choice_costs) != len(self.choices)):
            raise ValueError("choice_costs needs one cost per choice")
        return self


class Objective(_Frozen):
    """What the optimiser minimises or maximises: a KPI (mean over replications), a shock's
    MTD (from the mtd block), or the cost of the decisions."""

    kpi: Kpi | None = None
    mtd: Ident | None = None
    cost: bool = False

    @model_validator(mode="after")
    def _exactly_one(self) -> Objective:
        if sum((self.kpi is not None, self.mtd is not None, self.cost)) != 1:
            raise ValueError("give exactly one of kpi, mtd, cost: true")
        return self

    @property
    def label(self) -> str:
        if self.kpi is not None:
            return self.kpi.value
        return f"mtd:{self.mtd}" if self.mtd is not None else "cost"


class Optimize(_Frozen):
    """Multi-objective optimisation of mitigations with NSGA-II (``shocktwin optimize``)."""

    variables: list[DecisionVariable] = Field(min_length=1, max_length=50)
    objectives: list[Objective] = Field(min_length=2, max_length=5)
    population: int = Field(12, ge=4, le=1000)
    generations: int = Field(5, ge=1, le=1000)
    replications: int | None = Field(None, ge=1, le=10_000, description="Replications per "
                                     "evaluation; default the experiment's.")
    mtd_replications: int = Field(12, ge=2, le=10_000, description="Replications of each "
                                  "MTD search inside the optimisation.")


class RuleChange(_Frozen):
    """A rule set that replaces the one in force at a given time."""

    at: Duration = Field(description="When, from the start of the run.")
    rules: str = Field(min_length=1, max_length=1024, description="The rule-set file, "
                       "relative to this one.")


class OpenOrder(_Frozen):
    """A purchase order placed before the start and still open: it arrives ``arrives_in``
    after the start (its due date as the supplier confirmed it)."""

    supplier: Ident
    quantity: int = Field(ge=1, le=100_000_000)
    arrives_in: Duration = Field(description="From the start of the run.")


class WorkInProgress(_Frozen):
    """Units already started at a station when the run begins: they queue there (and go on
    along their product's routing from that step), for an order due ``due_in``."""

    station: Ident
    units: int = Field(ge=1, le=1_000_000)
    product: Ident | None = Field(None, description="Which product (needed when the plant "
                                  "makes several).")
    due_in: Duration = Field(description="Their order's due time, from the start of the run.")


class StartState(_Frozen):
    """A warm start: the plant as it stands at the start of the run instead of empty —
    stock per buffer, open purchase orders, work in progress per station and the switching
    state of each material's inspection. Written here, or read from a snapshot in a store
    (``store`` and ``at``; ``shocktwin ingest FILE --format snapshot``), not both. A plant
    that replays an operations log takes its recorded orders' work in progress from the
    log at ``at``."""

    stock: dict[Ident, int] = Field(default_factory=dict, description=(
        "Units on hand per buffer id (instead of its initial), or per a tier-1 supplier's "
        "input stock as 'supplier/material'."))
    open_orders: list[OpenOrder] = Field(default_factory=list, max_length=100_000)
    wip: list[WorkInProgress] = Field(default_factory=list, max_length=100_000)
    inspection: dict[Ident, Literal["normal", "tightened", "reduced"]] = Field(
        default_factory=dict, description="Semantic layer: the switching state each planned "
        "material's incoming inspection stands at (the rule set's plans).")
    store: str | None = Field(None, min_length=1, max_length=1024, exclude_if=_drop_none,
                              description="Instead of the lists above: the DuckDB store, "
                              "relative to this file, whose snapshots table holds the plant's "
                              "state taken at ``at``.")
    at: datetime | None = Field(None, exclude_if=_drop_none, description=(
        "When the snapshot was taken, local plant time as in the store (e.g. "
        "'2012-03-01 06:00'): hour 0 of the run; due times are hours from it. A plant that "
        "replays an operations log also starts from the log's orders as they stand at "
        "``at`` (with or without store), and replays the later ones from there."))
    source: str | None = Field(None, min_length=1, max_length=1024, exclude_if=_drop_none,
                               description="Which ingested file (its path or name); without "
                               "it the rows of every file taken at ``at`` are read together.")

    @field_validator("store")
    @classmethod
    def _stored_or_written(cls, store: str | None, info: ValidationInfo) -> str | None:
        written = [k for k in ("stock", "open_orders", "wip", "inspection") if info.data.get(k)]
        if store is not None and written:
            raise ValueError("a warm start is read from a store's snapshot or written here: "
                             f"give store and at, or {', '.join(written)}, not both")
        return store

    @field_validator("at")
    @classmethod
    def _local_time(cls, at: datetime | None) -> datetime | None:
        if at is not None and at.tzinfo is not None:
            raise ValueError("the store's times are local plant time without a zone: give "
                             "at without one")
        return at

    @model_validator(mode="after")
    def _store_with_at(self) -> StartState:
        if self.store is not None and self.at is None:
            raise ValueError("a warm start from a store needs at: when its snapshot was taken")
        if self.store is None and self.source is not None:
            raise ValueError("source names a file of a store's snapshots: give store too")
        return self

    @property
    def stored(self) -> bool:
        """Whether the state is read from a store's snapshot rather than written here."""
        return self.store is not None


@dataclass(frozen=True)
class Binding:
    """Where a scenario came from and what was loaded with it."""

    base_dir: Path | None = None  # relative files in the scenario are read from here
    source: Mapping[str, Any] | None = None  # the data as written, units and all
    file: str | None = None  # the file it was read from
    lines: Mapping[tuple[str | int, ...], int] = field(default_factory=dict)  # key -> line
    rulesets: Mapping[str, Any] = field(default_factory=dict)  # by resolved path
    drafted: Mapping[str, Any] = field(default_factory=dict)  # by backup supplier id
    # Folders besides base_dir that the files it names may lie in (shocktwin.references).
    allowed_roots: tuple[Path, ...] = ()


class Scenario(_Frozen):
    """A whole scenario: plant, hypothesis and experiment settings."""

    version: Literal[1] = Field(description="Scenario format version.")
    name: Ident
    description: str = Field("", max_length=10_000)
    horizon: PositiveDuration
    warmup: Duration = 0.0
    plant: Plant | None = Field(None, description="A modelled plant; give this or shop.")
    shop: Shop | None = Field(None, description="A job shop replayed from an MES log; give "
                              "this or plant.")
    hypothesis: Annotated[Hypothesis, BeforeValidator(
        lambda v: v, json_schema_input_type=Hypothesis | list[Tolerance])
    ] = Field(default_factory=lambda: Hypothesis())
    experiment: Experiment = Field(default_factory=lambda: Experiment())
    shocks: list[SerializeAsAny[Shock]] = Field(default_factory=list, description=(
        "Shocks injected into the run; see `shocktwin shocks list` for the types."))
    rules: str | None = Field(None, min_length=1, max_length=1024, description=(
        "Semantic layer: the rule set (inspection plans and triggers) in force at the "
        "start, a file relative to this one."))
    rule_changes: list[RuleChange] = Field(default_factory=list, max_length=1000, description=(
        "Rule sets loaded at given times while the twin runs."))
    mtd: Mtd | None = Field(None, description="Maximum tolerable disruption search.")
    screen: Screen | None = Field(None, description="Network screening (TTS / TTR LPs).")
    optimize: Optimize | None = Field(None, description="Mitigation optimisation (NSGA-II).")
    start_state: StartState | None = Field(None, exclude_if=_drop_none, description=(
        "A warm start: stock, open purchase orders, work in progress and inspection "
        "switching states at the start of the run (default: as the plant section gives it)."))

    @field_validator("shocks", mode="before")
    @classmethod
    def _typed_shocks(cls, value: Any) -> Any:
        return _validate_shocks(value)

    @model_validator(mode="after")
    def _shock_targets(self) -> Scenario:
        if (self.plant is None) == (self.shop is None):
            raise SemanticProblems([((), "give exactly one of plant (a modelled plant) and "
                                          "shop (a job shop replayed from an MES log)")])
        problems = [*_shock_target_problems(self), *_start_state_problems(self),
                    *_quality_scenario_problems(self)]
        if problems:
            raise SemanticProblems(problems)
        return self

    @field_validator("warmup")
    @classmethod
    def _warmup_before_horizon(cls, warmup: float, info: ValidationInfo) -> float:
        horizon = info.data.get("horizon")  # validated first: fields run in order
        if horizon is not None and warmup >= horizon:
            raise ValueError("warm-up must end before the horizon")
        return warmup

    # Where the scenario came from and what was loaded with it; set only by ``bound``, on
    # a fresh copy, so a scenario never changes once anyone holds it.
    _binding: Binding = PrivateAttr(default_factory=lambda: Binding())

    def bound(self, **changes: Any) -> Scenario:
        """A copy of this scenario whose binding has ``changes`` (see :class:`Binding`); the
        scenario itself is not changed."""
        copy = self.model_copy()
        # Mappings are copied in, so a caller's dict changed later cannot reach the binding.
        copied: dict[str, Any] = {k: dict(v) if isinstance(v, Mapping) else v
                                  for k, v in changes.items()}
        copy._binding = dataclasses.replace(self._binding, **copied)
        return copy

    @property
    def binding(self) -> Binding:
        return self._binding

    def drafted_rules(self, supplier_id: str) -> Any:
        """The rule set drafted for backup ``supplier_id`` from its failure table, if any."""
        return self._binding.drafted.get(supplier_id)

    def ruleset(self, path: Path) -> Any:
        """The loaded rule set of a resolved path the scenario refers to."""
        try:
            return self._binding.rulesets[str(path.resolve())]
        except KeyError:
            raise KeyError(f"rule set {path} was not loaded with the scenario") from None

    def rule_files(self) -> dict[str, str]:
        """Every rule set the scenario can load, resolved path (or the backup supplier it was
        drafted for) -> content hash."""
        b = self._binding
        out = {k: v.content_hash() for k, v in sorted(b.rulesets.items())}
        out.update({f"drafted for {k}": v.content_hash() for k, v in sorted(b.drafted.items())})
        return out

    @property
    def source_file(self) -> str | None:
        """The file the scenario was read from (None when built in code)."""
        return self._binding.file

    def line_of(self, *loc: str | int) -> int | None:
        """The line of ``loc`` (e.g. ``"experiment", "replications"``) in the source file, or
        of its nearest parent written there; None when built in code."""
        for end in range(len(loc), 0, -1):
            line = self._binding.lines.get(loc[:end])
            if line is not None:
                return line
        return None

    def resolve(self, path_text: str) -> Path:
        """A path named in the file, resolved against the folder of the scenario file."""
        path = Path(path_text).expanduser()
        return path if path.is_absolute() else (self._binding.base_dir or Path.cwd()) / path

    def store_path(self) -> Path:
        """The shop's store, resolved against the folder of the scenario file."""
        if self.shop is None:
            raise ValueError("the scenario has no shop")
        return self.resolve(self.shop.store)

    def with_base_dir(self, folder: Path) -> Scenario:
        """A copy of the scenario that reads relative files from ``folder``."""
        return self.bound(base_dir=folder.resolve())

    @property
    def bucket_h(self) -> float:
        if self.experiment.bucket is not None:
            return self.experiment.bucket
        return 24.0 if self.horizon >= 240.0 else 1.0

    def canonical_json(self) -> str:
        """The validated scenario as canonical JSON (sorted keys, hours as floats)."""
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))

    def content_hash(self) -> str:
        """sha256 of the canonical JSON: equal for files that mean the same thing."""
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()


def _validate_shocks(value: Any) -> Any:
    """Each shock by its ``type``; every problem of every shock at once."""
    from pydantic import ValidationError

    from shocktwin.shock_library.registry import shock_types

    if not isinstance(value, list):
        return value
    types = shock_types()
    out: list[Any] = []
    problems: list[tuple[tuple[str | int, ...], str]] = []
    ids: set[str] = set()
    for i, item in enumerate(value):
        if isinstance(item, Shock):
            out.append(item)
            continue
        kind = item.get("type") if isinstance(item, dict) else None
        if not isinstance(kind, str) or kind not in types:
            problems.append(((i, "type"), unknown_name("shock type", kind, types)))
            continue
        try:
            shock = types[kind].model_validate(item)
        except ValidationError as e:
            for err in e.errors(include_url=False):
                msg = str(err["msg"]).removeprefix("Value error, ")
                if err["type"] == "extra_forbidden":
                    msg = "unknown key"
                problems.append(((i, *err["loc"]), msg))
            continue
        if shock.id in ids:
            problems.append(((i, "id"), f"duplicate shock id {shock.id!r}"))
        ids.add(shock.id)
        out.append(shock)
    if problems:
        raise SemanticProblems(problems)
    return out


def _target_kinds(s: Scenario) -> dict[str, set[TargetKind]]:
    kinds: dict[str, set[TargetKind]] = {}
    if s.shop is not None:
        # Shop resources replay recorded work: capacity, speed and breakdown shocks apply;
        # inspection-specific levers (detection, sampling) have nothing to act on.
        for r in s.shop.resources:
            kinds[r.id] = {TargetKind.STATION, TargetKind.PROCESS_STATION}
        return kinds
    assert s.plant is not None
    for sup in s.plant.suppliers:
        kinds.setdefault(sup.id, set()).add(TargetKind.SUPPLIER)
    for st in s.plant.stations:
        k = kinds.setdefault(st.id, set())
        if st.kind != StationKind.RELEASE or st.reviewers is not None:
            k.add(TargetKind.STATION)
        if st.kind == StationKind.PROCESS:
            k.add(TargetKind.PROCESS_STATION)
        if st.kind == StationKind.INSPECTION:
            k.add(TargetKind.INSPECTION_STATION)
    if s.plant.quality is not None:
        for pool in s.plant.quality.pools:  # people: a staff shortage hits a pool too
            kinds.setdefault(pool.id, set()).add(TargetKind.STATION)
    return kinds


def _shock_target_problems(s: Scenario) -> Iterator[tuple[tuple[str | int, ...], str]]:
    kinds = _target_kinds(s)
    for i, shock in enumerate(s.shocks):
        want = shock.target_kind
        if want is TargetKind.DEMAND and s.shop is not None and s.shop.mode is ReplayMode.TRACE:
            yield ("shocks", i, "type"), (f"a {shock.type} shock changes the order rate, which "
                                          "a trace replay takes from the log; use mode "
                                          "bootstrap or fit")
        elif shock.acts_on_suppliers and s.shop is not None:
            yield ("shocks", i, "type"), (f"a {shock.type} shock acts on suppliers, and a "
                                          "replayed shop has none")
        elif want in (TargetKind.PLANT, TargetKind.DEMAND):
            if shock.target is not None:
                yield ("shocks", i, "target"), f"a {shock.type} shock takes no target"
        elif shock.target is None:
            yield ("shocks", i, "target"), f"a {shock.type} shock needs a {want.value} target"
        elif isinstance(shock.target, SupplierSelector):
            yield from _selector_problems(s, i, shock)
        elif shock.target not in kinds:
            yield ("shocks", i, "target"), unknown_name(
                "target", shock.target, (t for t, k in kinds.items() if want in k),
                listed=f"{want.value.replace('_', ' ')}s")
        elif want not in kinds[shock.target]:
            yield ("shocks", i, "target"), (
                f"{shock.target!r} is not a {want.value.replace('_', ' ')}")
        if shock.start >= s.horizon and shock.after is None:
            yield ("shocks", i, "start"), "the shock starts after the horizon"
        for message in shock.scenario_problems(s):
            yield ("shocks", i), message
    yield from _composition_problems(s)
    yield from _mtd_problems(s)
    yield from _screen_problems(s)
    yield from _optimize_problems(s)


def _start_state_problems(s: Scenario) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """What a warm start written in the scenario names that the plant does not have (one
    read from a store is checked when it is read)."""
    state = s.start_state
    if state is None:
        return
    if s.plant is None:
        yield ("start_state",), "a warm start is for a modelled plant"
        return
    if state.at is not None and not state.stored and s.plant.log is None:
        yield ("start_state", "at"), (
            "without store, at is a moment of the operations log the plant replays, and this "
            "plant replays none: give the store whose snapshot was taken at that time")
    if state.stored:
        return
    for loc, message in warm_start_problems(s.plant, state):
        yield ("start_state", *loc), message


def warm_start_problems(plant: Plant, state: Any
                        ) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """What a warm start names that ``plant`` does not have, each at its place in the state:
    ``("stock", key)``, ``("open_orders", i, "supplier")``, ``("wip", i, "station" or
    "product")``, ``("inspection", material)``. ``state`` has the attributes of a
    :class:`StartState`'s lists."""
    stocks = [b.id for b in plant.buffers] + [f"{sup.id}/{x.material}" for sup in plant.suppliers
                                              for x in sup.inputs]
    for key in state.stock:
        if key not in stocks:
            yield ("stock", key), unknown_name("stock", key, stocks, listed="buffers")
    suppliers = {sup.id: sup for sup in plant.suppliers}
    for i, order in enumerate(state.open_orders):
        if order.supplier not in suppliers:
            yield ("open_orders", i, "supplier"), unknown_name(
                "supplier", order.supplier, suppliers, listed="suppliers")
    products = {p.id: p for p in plant.product_list()}
    for i, wip in enumerate(state.wip):
        loc: tuple[str | int, ...] = ("wip", i)
        if wip.product is None and len(products) > 1:
            yield (*loc, "product"), "the plant makes several products: say which"
            continue
        product = (products.get(wip.product) if wip.product is not None
                   else next(iter(products.values())))
        if product is None:
            yield (*loc, "product"), unknown_name("product", wip.product, products,
                                                  listed="products")
        elif getattr(product, "recorded", None) is not None:
            yield (*loc, "product"), (f"{product.id!r} replays the log's work orders; its "
                                      "work in progress is the log's own")
        elif all(step.station != wip.station for step in product.routing):
            yield (*loc, "station"), unknown_name(
                "station", wip.station, [step.station for step in product.routing],
                listed=f"stations of {product.id!r}'s routing")
    materials = {b.material for b in plant.buffers}
    for material in state.inspection:
        if material not in materials:
            yield ("inspection", material), unknown_name(
                "material", material, materials, listed="materials of the buffers")


def _selector_problems(s: Scenario, i: int,
                       shock: Shock) -> Iterator[tuple[tuple[str | int, ...], str]]:
    selector = shock.target
    assert isinstance(selector, SupplierSelector)
    if shock.target_kind is not TargetKind.SUPPLIER:
        yield ("shocks", i, "target"), (
            f"a selector chooses suppliers; a {shock.type} shock needs the id of a "
            f"{shock.target_kind.value.replace('_', ' ')}")
        return
    if s.plant is None:
        return  # a shop has no suppliers: said above
    if not any(selector.matches(sup) for sup in s.plant.suppliers):
        seen = {key: sorted({str(getattr(sup, key)) for sup in s.plant.suppliers
                             if getattr(sup, key) is not None})
                for key in ("region", "country", "tier", "material")}
        listed = "; ".join(f"{key}: {', '.join(v)}" for key, v in seen.items() if v)
        yield ("shocks", i, "target"), (f"the selector {{{selector.text()}}} matches no "
                                        f"supplier (the plant has {listed or 'none'})")


def _optimize_problems(s: Scenario) -> Iterator[tuple[tuple[str | int, ...], str]]:
    if s.optimize is None:
        return
    searched = {m.shock for m in s.mtd.shocks} if s.mtd is not None else set()
    for i, obj in enumerate(s.optimize.objectives):
        if obj.mtd is not None and obj.mtd not in searched:
            yield ("optimize", "objectives", i, "mtd"), (
                f"shock {obj.mtd!r} is not in the mtd block, which sets its search range")
    names: set[str] = set()
    for i, var in enumerate(s.optimize.variables):
        if var.name in names:
            yield ("optimize", "variables", i, "name"), f"duplicate variable {var.name!r}"
        names.add(var.name)


def _screen_problems(s: Scenario) -> Iterator[tuple[tuple[str | int, ...], str]]:
    if s.screen is None:
        return
    if s.plant is None:
        yield ("screen",), "screening needs a plant with suppliers and a bill of materials"
        return
    for product in s.plant.product_list():
        if product.recorded is not None:
            yield ("screen",), (f"product {product.id!r} replays the log's orders, which "
                                "give it no demand rate to screen against; screen a plant "
                                "of modelled products")
            return
    suppliers = {sup.id for sup in s.plant.suppliers}
    listed: set[str] = set()
    for i, node in enumerate(s.screen.nodes):
        if node.supplier not in suppliers:
            yield ("screen", "nodes", i, "supplier"), unknown_name("supplier", node.supplier,
                                                                   suppliers, listed="suppliers")
        elif node.supplier in listed:
            yield ("screen", "nodes", i, "supplier"), f"{node.supplier!r} is listed twice"
        listed.add(node.supplier)
    for sup in sorted(suppliers - listed):
        yield ("screen", "nodes"), f"supplier {sup!r} needs a node (its capacity and TTR)"


def mtd_axis_value(shock: Shock, value: float | str) -> float:
    """A value on ``shock``'s severity axis: hours for time axes (a duration with its unit),
    the number itself for magnitudes."""
    if shock.axis_is_time:
        if not isinstance(value, str):
            raise ValueError(f"{shock.axis} is a time: write it with a unit, e.g. "
                             f"'{value}h'")
        return parse_duration_h(value)
    if isinstance(value, str):
        raise ValueError(f"{shock.axis} is a number, not {value!r}")
    return float(value)


def mtd_range(shock: Shock, item: MtdShock) -> tuple[float, float, float]:
    """(low, high, resolution) of an MTD search on ``shock``'s severity axis; the resolution
    defaults to 1/64 of the range."""
    low, high = mtd_axis_value(shock, item.low), mtd_axis_value(shock, item.high)
    resolution = (mtd_axis_value(shock, item.resolution) if item.resolution is not None
                  else (high - low) / 64.0)
    return low, high, resolution


def _mtd_problems(s: Scenario) -> Iterator[tuple[tuple[str | int, ...], str]]:
    if s.mtd is None:
        return
    shocks = {shock.id: shock for shock in s.shocks}
    if not s.hypothesis.tolerances:
        yield ("mtd",), "an MTD search needs a steady-state hypothesis with tolerances"
    for i, item in enumerate(s.mtd.shocks):
        shock = shocks.get(item.shock)
        if shock is None:
            yield ("mtd", "shocks", i, "shock"), unknown_name("shock", item.shock, shocks,
                                                              listed="shocks")
            continue
        if shock.onset is not None:
            yield ("mtd", "shocks", i, "shock"), "a shock with a random onset has no single " \
                "severity to search; give it a fixed start"
        if not shock.axis_is_time and shock.severity() == _NEUTRAL.get(shock.axis, 0.0):
            # e.g. a quality_drift that only moves measured characteristics: its type's
            # axis (the attribute defect-rate factor) is not what it moves.
            moved = [k for k in ("mean_shift", "drift_per_day", "spread", "factor",
                                 "added_defect_rate", "gauge_noise", "gauge_bias")
                     if k in type(shock).model_fields and k != shock.axis
                     and getattr(shock, k) != _NEUTRAL.get(k, 0.0)]
            yield ("mtd", "shocks", i, "shock"), (
                f"shock {shock.id!r} leaves its severity {shock.axis} at no effect, so a "
                "search over it would not change the shock"
                + (f"; search what it moves with severity_on: {moved[0]}" if moved else ""))
        values: dict[str, float] = {}
        for key in ("low", "high", "resolution", "target"):
            raw = getattr(item, key)
            if raw is None:
                continue
            try:
                values[key] = mtd_axis_value(shock, raw)
            except ValueError as e:
                yield ("mtd", "shocks", i, key), str(e)
                continue
            try:
                shock.with_severity(values[key]) if key in ("low", "high") else None
            except ValueError as e:
                from pydantic import ValidationError

                reason = (e.errors(include_url=False)[0]["msg"].removeprefix("Value error, ")
                          if isinstance(e, ValidationError) and e.errors() else str(e))
                yield ("mtd", "shocks", i, key), (
                    f"outside the bounds of {shock.axis}: {reason}")
        if "low" in values and "high" in values and values["low"] >= values["high"]:
            yield ("mtd", "shocks", i, "high"), "high must be above low"
        if values.get("resolution", 1.0) <= 0:
            yield ("mtd", "shocks", i, "resolution"), "resolution must be above zero"


#: The value of a shock parameter at which it has no effect (factors 1, the rest 0).
_NEUTRAL = {"factor": 1.0, "spread": 1.0, "gauge_noise": 1.0, "slowdown": 1.0,
            "manual_time_factor": 1.0, "test_time_factor": 1.0}


def _composition_problems(s: Scenario) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Cascades that point nowhere or in a circle; shocks that cannot combine."""
    ids = {shock.id: i for i, shock in enumerate(s.shocks)}
    for i, shock in enumerate(s.shocks):
        if shock.after is None:
            continue
        if shock.onset is not None:
            yield ("shocks", i, "onset"), "a cascaded shock cannot also have a random onset"
        if shock.after.shock == shock.id:
            yield ("shocks", i, "after", "shock"), "a shock cannot follow itself"
        elif shock.after.shock not in ids:
            yield ("shocks", i, "after", "shock"), unknown_name("shock", shock.after.shock, ids,
                                                                listed="shocks")
        else:  # walk the chain: a cycle never reaches a shock without `after`
            seen, current = {shock.id}, s.shocks[ids[shock.after.shock]]
            while current.after is not None and current.after.shock in ids:
                if current.id in seen:
                    yield ("shocks", i, "after"), "the cascade runs in a circle"
                    break
                seen.add(current.id)
                current = s.shocks[ids[current.after.shock]]
    fixed = [(i, sh) for i, sh in enumerate(s.shocks) if sh.after is None and sh.onset is None]
    for a, (_, first) in enumerate(fixed):
        for j, second in fixed[a + 1:]:
            if first.target != second.target or first.target is None:
                continue
            if first.loses_target and second.loses_target:
                yield ("shocks", j), (f"{first.target!r} is already lost for good through "
                                      f"shock {first.id!r}; two permanent losses cannot "
                                      "combine")
            elif (first.exclusive and second.exclusive and first.type == second.type
                  and first.start < second.end_h and second.start < first.end_h):
                yield ("shocks", j), (f"overlaps shock {first.id!r} on {first.target!r}: two "
                                      f"{first.type} shocks on one target cannot combine")


def _plant_problems(plant: Plant) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Cross-reference problems of a plant; locations are relative to the plant."""
    from shocktwin.twin.model.dispatch import dispatching_policies

    station_ids: dict[str, int] = {}
    policies = dispatching_policies()
    for i, st in enumerate(plant.stations):
        if st.id in station_ids:
            yield ("stations", i, "id"), f"duplicate station id {st.id!r}"
        station_ids.setdefault(st.id, i)
        if st.dispatching not in policies:
            yield ("stations", i, "dispatching"), unknown_name(
                "dispatching policy", st.dispatching, policies, listed="policies")
        if st.calendar is not None and st.calendar not in (plant.calendars or {}):
            yield ("stations", i, "calendar"), unknown_name(
                "calendar", st.calendar, plant.calendars or {}, listed="calendars")
    groups: tuple[tuple[str, Sequence[Supplier | Buffer]], ...] = (
        ("suppliers", plant.suppliers), ("buffers", plant.buffers))
    for kind, items in groups:
        seen: set[str] = set()
        for i, item in enumerate(items):
            if item.id in seen:
                yield (kind, i, "id"), f"duplicate {kind[:-1]} id {item.id!r}"
            seen.add(item.id)
    one_form = plant.routing is not None or plant.demand is not None or plant.bom is not None
    if plant.products is not None and one_form:
        yield ("products",), ("give products, or routing and demand for one product, not "
                              "both")
        return
    if plant.products is None and (plant.routing is None or plant.demand is None):
        for key in ("routing", "demand"):
            if getattr(plant, key) is None:
                yield (key,), ("required key is missing (give routing and demand for one "
                               "product, or products for several)")
        return
    routed = yield from _routing_problems(plant, station_ids)
    bound = yield from _log_problems(plant, station_ids)
    for i, st in enumerate(plant.stations):
        incoming = st.kind == StationKind.INSPECTION and st.role == "incoming"
        if incoming and st.id in routed:
            yield ("stations", i, "role"), (f"incoming inspection station {st.id!r} inspects "
                                            "lots, so it cannot be in a routing")
        elif st.id not in routed and not incoming and st.id not in bound:
            where = "the routing" if plant.products is None else "any routing"
            yield ("stations", i, "id"), f"station {st.id!r} is not in {where}"
    yield from _supply_problems(plant)
    yield from _characteristic_problems(plant)
    yield from _quality_problems(plant)


def _characteristic_problems(plant: Plant) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Each characteristic is carried by a known material or process station, has values
    for every source, and is declared once."""
    by_material: dict[str, list[str]] = {}
    for sup in plant.suppliers:
        if sup.tier == 1:
            by_material.setdefault(sup.material, []).append(sup.id)
    process = {st.id for st in plant.stations if st.kind == StationKind.PROCESS}
    seen: set[tuple[str, str]] = set()
    for i, ch in enumerate(plant.characteristics):
        here: tuple[str | int, ...] = ("characteristics", i)
        key = (ch.owner, ch.name)
        if key in seen:
            yield (*here, "name"), f"characteristic {ch.name!r} of {ch.owner!r} is listed twice"
        seen.add(key)
        if ch.material is not None:
            if ch.material not in by_material:
                yield (*here, "material"), unknown_name(
                    "material", ch.material, by_material, listed="materials plant suppliers "
                    "deliver")
                continue
            sources = by_material[ch.material]
        else:
            if ch.station not in process:
                yield (*here, "station"), unknown_name(
                    "process station", ch.station, process, listed="process stations")
                continue
            sources = [str(ch.station)]
        for name in ch.sources:
            if name not in sources:
                yield (*here, "sources", name), unknown_name(
                    f"source of {ch.owner}", name, sources, listed="sources")
        missing = [s for s in sources if ch.values_at(s) is None]
        if missing:
            yield here, (f"no values for {', '.join(missing)}: give values (for every source) "
                         "or an entry in sources")


def _routing_problems(plant: Plant, station_ids: Mapping[str, int],
                      ) -> Generator[tuple[tuple[str | int, ...], str], None, set[str]]:
    """Problems of every product's routing; returns the stations some routing visits."""
    routed: set[str] = set()
    one = plant.products is None
    ids: set[str] = set()
    for p, product in enumerate(plant.product_list()):
        base: tuple[str | int, ...] = () if one else ("products", p)
        if product.id in ids:
            yield (*base, "id"), f"duplicate product id {product.id!r}"
        ids.add(product.id)
        if product.recorded is not None:
            for key in ("routing", "demand"):
                if getattr(product, key):
                    yield (*base, key), (f"a recorded product takes its {key} from the log; "
                                         "leave it out")
        elif product.demand is None:
            yield (*base, "demand"), "required key is missing (every product needs its demand)"
        if product.recorded is None and not product.routing:
            yield (*base, "routing"), ("required key is missing (every product needs its "
                                       "routing, or recorded: to replay the log's orders)")
        steps = [step.station for step in product.routing]
        for i, step in enumerate(product.routing):
            loc = (*base, "routing", i) if one else (*base, "routing", i, "station")
            sid = step.station
            if sid not in station_ids:
                yield loc, unknown_name("station", sid, station_ids, listed="stations")
                continue
            routed.add(sid)
            spec = plant.stations[station_ids[sid]]
            if spec.kind == StationKind.RELEASE and i != len(steps) - 1:
                yield ("routing",) if one else loc, (f"release station {sid!r} must be the "
                                                     "last step")
            if step.process_time is not None and spec.kind != StationKind.PROCESS:
                yield (*base, "routing", i, "process_time"), (
                    f"{sid!r} is a {spec.kind} station; a product's own time is for process "
                    "stations")
            if step.rework is not None and step.rework.to not in steps[:i + 1]:
                yield (*base, "routing", i, "rework", "to"), unknown_name(
                    "station", step.rework.to, steps[:i + 1],
                    listed="stations of the routing up to this step")
        if one and len(set(steps)) < len(steps):
            # The one-product form is a serial line: each station once.
            first = next(i for i, sid in enumerate(steps) if steps.index(sid) != i)
            yield ("routing", first), f"station {steps[first]!r} appears twice in the routing"
        supplied = {b.material for b in plant.buffers}
        for material, qty in (product.bom or {}).items():
            if material not in supplied:
                makers = {s.material for s in plant.suppliers}
                why = ("has no buffer" if material in makers
                       else "is made by no supplier and has no buffer")
                yield (*base, "bom", material), f"material {material!r} {why}"
            if qty < 1:
                yield (*base, "bom", material), "quantity must be at least 1"
    return routed


def _log_problems(plant: Plant, station_ids: Mapping[str, int],
                  ) -> Generator[tuple[tuple[str | int, ...], str], None, set[str]]:
    """Problems of the operations log's bindings and of the recorded products; returns the
    stations bound to the log's resources. What the log itself holds is checked before the
    run, when the store is read."""
    recorded = [(p, product) for p, product in enumerate(plant.products or ())
                if product.recorded is not None]
    bound: set[str] = set()
    log = plant.log
    if log is None:
        for p, _ in recorded:
            yield ("products", p, "recorded"), ("a recorded product replays the plant's "
                                                "operations log: give plant.log")
        return bound
    if not recorded:
        yield ("log",), ("no product replays the log: give a product recorded: {part_types: "
                         "[...]} (a plant with a log lists its products)")
    names: set[str] = set()
    for i, res in enumerate(log.resources):
        if res.name in names:
            yield ("log", "resources", i, "name"), f"resource {res.name!r} is listed twice"
        names.add(res.name)
        spec_i = station_ids.get(res.station)
        if spec_i is None:
            yield ("log", "resources", i, "station"), unknown_name(
                "station", res.station, station_ids, listed="stations")
            continue
        kind = plant.stations[spec_i].kind
        if kind == StationKind.RELEASE:
            yield ("log", "resources", i, "station"), (
                f"{res.station!r} is a release station; a resource's tasks are done at a "
                "process or inspection station")
            continue
        bound.add(res.station)
    claimed: dict[str, int] = {}
    catch_all: int | None = None
    for p, product in recorded:
        work = product.recorded
        assert work is not None
        if work.part_types is None:
            if catch_all is not None:
                yield ("products", p, "recorded", "part_types"), (
                    f"product {plant.products[catch_all].id!r} already takes every order "  # type: ignore[index]
                    "no other product names; name this one's part types")
            catch_all = p
        for j, part in enumerate(work.part_types or ()):
            if part in claimed:
                yield ("products", p, "recorded", "part_types", j), (
                    f"part type {part!r} is already replayed by product "
                    f"{plant.products[claimed[part]].id!r}")  # type: ignore[index]
            claimed.setdefault(part, p)
        if work.release is not None:
            spec_i = station_ids.get(work.release)
            if spec_i is None:
                yield ("products", p, "recorded", "release"), unknown_name(
                    "station", work.release, station_ids, listed="stations")
            elif plant.stations[spec_i].kind != StationKind.RELEASE:
                yield ("products", p, "recorded", "release"), (
                    f"{work.release!r} is not a release station")
            else:
                bound.add(work.release)
    return bound


def _supply_problems(plant: Plant) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Buffers, suppliers and the tiers of supply: who delivers what to whom."""
    supplied = {sup.material for sup in plant.suppliers if sup.tier == 1}
    buffered: dict[str, int] = {}
    for i, b in enumerate(plant.buffers):
        if b.material in buffered:
            yield ("buffers", i, "material"), (
                f"material {b.material!r} already has buffer "
                f"{plant.buffers[buffered[b.material]].id!r}")
        buffered.setdefault(b.material, i)
        if b.material not in supplied:
            further = any(sup.material == b.material for sup in plant.suppliers)
            yield ("buffers", i, "material"), (
                f"no {'tier-1 ' if further else ''}supplier delivers material {b.material!r}")
    # material -> the materials its suppliers need: a cycle can never be made.
    needs: dict[str, set[str]] = {}
    for sup in plant.suppliers:
        needs.setdefault(sup.material, set()).update(x.material for x in sup.inputs)
    cycle = _material_cycle(needs)
    if cycle:
        where = next(i for i, sup in enumerate(plant.suppliers)
                     if sup.material == cycle[0] and any(x.material == cycle[1]
                                                        for x in sup.inputs))
        yield ("suppliers", where, "inputs"), ("the supplier tiers run in a circle: "
                                               + " → ".join(cycle) + " (each needs the next)")
        return
    makers: dict[tuple[int, str], list[int]] = {}
    for i, sup in enumerate(plant.suppliers):
        makers.setdefault((sup.tier, sup.material), []).append(i)
    wanted: set[tuple[int, str]] = set()
    for i, sup in enumerate(plant.suppliers):
        if sup.tier == 1 and sup.material not in buffered:
            yield ("suppliers", i, "material"), (
                f"material {sup.material!r} has no buffer to deliver into")
        seen: set[str] = set()
        for j, need in enumerate(sup.inputs):
            if need.material in seen:
                yield ("suppliers", i, "inputs", j, "material"), (
                    f"material {need.material!r} is listed twice")
            seen.add(need.material)
            wanted.add((sup.tier + 1, need.material))
            if (sup.tier + 1, need.material) not in makers:
                other = sorted(t for t, m in makers if m == need.material)
                hint = (f" (its suppliers are tier {', '.join(map(str, other))})" if other
                        else "")
                yield ("suppliers", i, "inputs", j, "material"), (
                    f"no tier-{sup.tier + 1} supplier makes {need.material!r}{hint}")
    for i, sup in enumerate(plant.suppliers):
        if sup.tier > 1 and (sup.tier, sup.material) not in wanted:
            yield ("suppliers", i, "tier"), (
                f"no tier-{sup.tier - 1} supplier lists {sup.material!r} in its inputs")


def _material_cycle(needs: Mapping[str, set[str]]) -> list[str]:
    """A cycle in ``needs`` (material -> materials it is made from), closed (first = last),
    or [] when there is none."""
    state: dict[str, int] = {}  # 1 on the path, 2 done
    path: list[str] = []

    def visit(m: str) -> list[str]:
        state[m] = 1
        path.append(m)
        for n in sorted(needs.get(m, ())):
            if state.get(n) == 1:
                return [*path[path.index(n):], n]
            if n not in state:
                found = visit(n)
                if found:
                    return found
        path.pop()
        state[m] = 2
        return []

    for m in sorted(needs):
        if m not in state:
            found = visit(m)
            if found:
                return found
    return []


def _quality_problems(plant: Plant) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """The quality system's pools, playbooks and items refer to what exists, their
    precedence has no cycle, and each backup is qualified one way."""
    q = plant.quality
    if q is None:
        return
    pools: dict[str, int] = {}
    for i, pool in enumerate(q.pools):
        if pool.id in pools:
            yield ("quality", "pools", i, "id"), f"duplicate pool id {pool.id!r}"
        elif any(st.id == pool.id for st in plant.stations):
            yield ("quality", "pools", i, "id"), (f"pool id {pool.id!r} is also a station's: "
                                                  "shocks aim at both by id")
        pools.setdefault(pool.id, i)
        if pool.calendar is not None and pool.calendar not in (plant.calendars or {}):
            yield ("quality", "pools", i, "calendar"), unknown_name(
                "calendar", pool.calendar, plant.calendars or {}, listed="calendars")
    suppliers = {s.id: s for s in plant.suppliers}
    first: dict[tuple[int, str], str] = {}
    for s in plant.suppliers:
        first.setdefault((s.tier, s.material), s.id)
    contexts = quality_contexts(plant)
    seen_books: set[str] = set()
    qualified_by: dict[str, int] = {}
    for b, book in enumerate(q.playbooks):
        here: tuple[str | int, ...] = ("quality", "playbooks", b)
        if book.id in seen_books:
            yield (*here, "id"), f"duplicate playbook id {book.id!r}"
        seen_books.add(book.id)
        on = book.trigger
        if on.context is not None and on.context not in contexts:
            yield (*here, "trigger", "context"), unknown_name("context", on.context, contexts,
                                                         listed="contexts")
        backup = suppliers.get(on.backup) if on.backup is not None else None
        if on.backup is not None:
            if backup is None:
                yield (*here, "trigger", "backup"), unknown_name("supplier", on.backup, suppliers,
                                                            listed="suppliers")
            elif first[(backup.tier, backup.material)] == backup.id:
                yield (*here, "trigger", "backup"), (
                    f"{backup.id!r} is the first supplier of {backup.material!r}, not a "
                    "backup: list it after the one its buffer orders from")
            elif backup.qualification > 0:
                yield (*here, "trigger", "backup"), (
                    f"{backup.id!r} has a qualification time and a playbook that qualifies "
                    "it: give one (the playbook's work, or the fixed time)")
            elif backup.id in qualified_by:
                yield (*here, "trigger", "backup"), (
                    f"playbook {q.playbooks[qualified_by[backup.id]].id!r} already qualifies "
                    f"{backup.id!r}")
            if backup is not None:
                qualified_by.setdefault(backup.id, b)
        items = {item.id: k for k, item in enumerate(book.items)}
        for k, item in enumerate(book.items):
            at = (*here, "items", k)
            if items[item.id] != k:
                yield (*at, "id"), f"duplicate item id {item.id!r} in playbook {book.id!r}"
            if item.pool not in pools:
                yield (*at, "pool"), unknown_name("pool", item.pool, pools, listed="pools")
            for j, name in enumerate(item.after):
                if name not in items:
                    yield (*at, "after", j), unknown_name("item", name, items,
                                                          listed=f"items of {book.id!r}")
                elif name == item.id:
                    yield (*at, "after", j), f"item {item.id!r} cannot come after itself"
            if item.count == "rules" and on.context is None:
                yield (*at, "count"), ("count: rules is one task per rule a context change "
                                       "invalidates: the playbook must be on a context")
            if item.test is not None:
                owner = item.supplier or on.backup
                pack = suppliers.get(owner) if owner is not None else None
                if owner is None:
                    yield (*at, "supplier"), ("a life test needs the supplier whose parameter "
                                              "pack it tests: give supplier, or put it in a "
                                              "playbook on a backup")
                elif pack is None:
                    yield (*at, "supplier"), unknown_name("supplier", owner, suppliers,
                                                          listed="suppliers")
                elif pack.life is None:
                    yield (*at, "supplier"), (f"supplier {owner!r} has no life model: give "
                                              "its parameter pack's life")
                else:
                    for reason in item.test.problems_with(pack.life):
                        yield (*at, "test"), reason
        cycle = _precedence_cycle({it.id: [a for a in it.after if a in items and a != it.id]
                                   for it in book.items})
        if cycle:
            yield (*here, "items"), "precedence cycle: " + " → ".join(cycle)


def quality_contexts(plant: Plant) -> list[str]:
    """Every context a rule or a playbook may name: the quality system's own and
    ``supplier.<material>`` for each material the plant buys."""
    q = plant.quality
    own = list(q.contexts) if q is not None else []
    materials = dict.fromkeys(s.material for s in plant.suppliers if s.tier == 1)
    return [*own, *(f"supplier.{m}" for m in materials)]


def _precedence_cycle(after: Mapping[str, list[str]]) -> list[str]:
    """A cycle in "item comes after these" (as the ids around it, first repeated), or []."""
    state: dict[str, int] = {}  # 1: on the path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for nxt in after.get(node, []):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return []

    for node in after:
        if node not in state:
            found = visit(node)
            if found:
                return found
    return []


def _quality_scenario_problems(s: Scenario) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Shocks that change contexts, playbooks on shocks and tolerances on the quality
    system's KPIs need a plant with a quality system, and name what it has."""
    quality = s.plant.quality if s.plant is not None else None
    contexts = quality_contexts(s.plant) if s.plant is not None else []
    for i, shock in enumerate(s.shocks):
        if not shock.context:
            continue
        if quality is None:
            yield ("shocks", i, "context"), ("a shock that changes a context needs the plant's "
                                             "quality system (plant.quality)")
            continue
        for key in shock.context:
            if key not in contexts:
                yield ("shocks", i, "context", key), unknown_name("context", key, contexts,
                                                                  listed="contexts")
            elif isinstance(quality.contexts.get(key), list):
                yield ("shocks", i, "context", key), (
                    f"{key} holds several values at once ({', '.join(quality.contexts[key])}); "
                    "a shock changes a context of one value")
            elif key.startswith("supplier."):
                yield ("shocks", i, "context", key), (
                    "a material's source changes when the plant switches suppliers, not by a "
                    "shock's context")
    if quality is not None:
        shocks = [sh.id for sh in s.shocks]
        for b, book in enumerate(quality.playbooks):
            if book.trigger.shock is not None and book.trigger.shock not in shocks:
                yield ("plant", "quality", "playbooks", b, "trigger", "shock"), unknown_name(
                    "shock", book.trigger.shock, shocks, listed="shocks")
    for t, tol in enumerate(s.hypothesis.tolerances):
        if tol.kpi in QUALITY_KPIS and quality is None:
            yield ("hypothesis", "tolerances", t, "kpi"), (
                f"{tol.kpi.value} is a KPI of the quality system: the plant needs one "
                "(plant.quality)")
