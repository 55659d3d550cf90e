"""What happens during a run, as journal records: one frozen dataclass per kind of event,
named in the past tense, with the hour it happened at first.

The model and the rule engine create them; the journal turns each into a plain record
(``{"kind": ..., "at_h": ..., fields...}``) with :meth:`ModelEvent.record`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

__all__ = [
    "EVENT_KINDS",
    "BackupMissing",
    "CapabilityEstimated",
    "ChartSignalled",
    "ComparabilityStudied",
    "DataLost",
    "InspectionSwitched",
    "LifeTestCompleted",
    "LotInspected",
    "LotMeasured",
    "LotQuarantined",
    "ModelEvent",
    "OrderExpedited",
    "OrdersCancelled",
    "OutputMeasured",
    "PlaybookFinished",
    "QualitySystemRevalidated",
    "ReadingsClassified",
    "RecallInspected",
    "RecallStarted",
    "ResponseStarted",
    "RulesInvalidated",
    "RulesReloaded",
    "SelectorMatched",
    "ShockEnded",
    "ShockStarted",
    "SourceSwitched",
    "StockQuarantined",
    "SupplierHoldEnded",
    "SupplierHoldStarted",
    "SupplierSwitchOrdered",
    "TriggerFired",
    "WorkFinished",
]


@dataclass(frozen=True, slots=True)
class ModelEvent:
    """Base of the in-run journal records."""

    at_h: float

    @property
    def kind(self) -> str:
        return type(self).__name__

    def record(self) -> dict[str, Any]:
        """The journal record: its kind, then its fields in declaration order."""
        return {"kind": self.kind, **{f.name: getattr(self, f.name) for f in fields(self)}}


@dataclass(frozen=True, slots=True)
class ShockStarted(ModelEvent):
    shock: str
    type: str
    target: str | None
    severity: float


@dataclass(frozen=True, slots=True)
class SelectorMatched(ModelEvent):
    """The suppliers a shock aimed at a selector (a region, a country, a tier) hit."""

    shock: str
    suppliers: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ShockEnded(ModelEvent):
    shock: str
    recovered_at_h: float


@dataclass(frozen=True, slots=True)
class OrderExpedited(ModelEvent):
    reason: str
    supplier: str
    quantity: int


@dataclass(frozen=True, slots=True)
class BackupMissing(ModelEvent):
    reason: str
    material: str


@dataclass(frozen=True, slots=True)
class OrdersCancelled(ModelEvent):
    reason: str
    supplier: str
    units: int


@dataclass(frozen=True, slots=True)
class SourceSwitched(ModelEvent):
    buffer: str
    material: str
    to_supplier: str | None
    orders_from_h: float | None


@dataclass(frozen=True, slots=True)
class SupplierSwitchOrdered(ModelEvent):
    reason: str
    material: str
    to_supplier: str


@dataclass(frozen=True, slots=True)
class RecallStarted(ModelEvent):
    reason: str
    recalled: int
    defective: int


@dataclass(frozen=True, slots=True)
class RecallInspected(ModelEvent):
    reason: str | None  # None when the recalled units were inspected after their lot
    recalled: int
    found: int


@dataclass(frozen=True, slots=True)
class LotInspected(ModelEvent):
    material: str
    supplier: str | None
    lot_size: int
    decision: str  # accepted, rejected_screened, inspected_full, skipped
    severity: str | None  # the switching state of a sampled lot
    n: int
    found: int


@dataclass(frozen=True, slots=True)
class InspectionSwitched(ModelEvent):
    material: str
    from_state: str
    to_state: str
    reason: str


@dataclass(frozen=True, slots=True)
class SupplierHoldStarted(ModelEvent):
    """Acceptance of ``supplier``'s lots stopped (ISO 2859-1 §9.4, Z1.4 §8.3.5) pending its
    corrective action, which takes ``corrective_action_h``; or a trigger held it
    (``reason`` names the trigger, no set duration: ``corrective_action_h`` is None)."""

    supplier: str
    material: str
    reason: str  # a SwitchReason value, or "trigger <id>"
    corrective_action_h: float | None


@dataclass(frozen=True, slots=True)
class SupplierHoldEnded(ModelEvent):
    """The supplier's corrective action is done (or a trigger released it); its lots are
    inspected again."""

    supplier: str
    material: str
    reason: str  # a SwitchReason value, or "trigger <id>"
    held_h: float


@dataclass(frozen=True, slots=True)
class LotQuarantined(ModelEvent):
    """A delivered lot of a supplier on hold waits, undecided, until the hold ends."""

    material: str
    supplier: str
    lot_size: int


@dataclass(frozen=True, slots=True)
class RulesReloaded(ModelEvent):
    reason: str
    from_rules: str | None
    from_hash: str | None
    to_rules: str
    to_hash: str
    changes: list[str]


@dataclass(frozen=True, slots=True)
class DataLost(ModelEvent):
    reason: str
    recovery_point_h: float
    units_reinspected: int


@dataclass(frozen=True, slots=True)
class TriggerFired(ModelEvent):
    trigger: str
    material: str | None
    when: str


@dataclass(frozen=True, slots=True)
class LotMeasured(ModelEvent):
    """A lot's readings of one characteristic at incoming inspection, with its capability
    (Bissell's 95 % intervals) against the limits in force."""

    material: str
    supplier: str | None
    characteristic: str
    n: int
    mean: float
    sd: float
    cpk: float | None  # None where undefined (no spread)
    cpk_low: float | None
    cpk_high: float | None
    ppk: float | None
    out_of_spec: int


@dataclass(frozen=True, slots=True)
class ChartSignalled(ModelEvent):
    """A control chart of a supplier's lots signalled (the limits, or a run rule) on
    ``points`` of a lot's points; ``value`` is the first one's plotted value."""

    material: str
    supplier: str | None
    characteristic: str
    chart: str
    signal: str
    points: int
    value: float


@dataclass(frozen=True, slots=True)
class ComparabilityStudied(ModelEvent):
    """A comparability study (TOST) of a new source's characteristic against the readings on
    record from the source it replaces."""

    material: str
    characteristic: str
    from_supplier: str | None
    to_supplier: str
    attempt: int
    difference: float
    ci_lower: float
    ci_upper: float
    margin: float
    equivalent: bool
    outcome: str  # released, retry, refused


@dataclass(frozen=True, slots=True)
class StockQuarantined(ModelEvent):
    """A trigger quarantined a material's stock for sorting at incoming inspection."""

    material: str
    reason: str
    units: int


@dataclass(frozen=True, slots=True)
class OutputMeasured(ModelEvent):
    """At the end of a run: a process station's measured characteristic over the units it
    made (true values), with its Ppk and Bissell's 95 % interval (None where undefined)."""

    station: str
    characteristic: str
    units: int
    mean: float
    sd: float
    out_of_spec: int
    ppk: float | None
    ppk_low: float | None
    ppk_high: float | None


@dataclass(frozen=True, slots=True)
class CapabilityEstimated(ModelEvent):
    """At the end of a run: a supplier's capability on one characteristic over every lot
    of it measured at incoming inspection (readings), with Bissell's 95 % intervals."""

    material: str
    supplier: str
    characteristic: str
    lsl: float | None
    usl: float | None
    lots: int
    n: int
    mean: float
    sigma_within: float
    sigma_overall: float
    cpk: float | None
    cpk_low: float | None
    cpk_high: float | None
    ppk: float | None
    ppk_low: float | None
    ppk_high: float | None


@dataclass(frozen=True, slots=True)
class ReadingsClassified(ModelEvent):
    """At the end of a run: units an inspection station read with gauges, and how many of
    them the readings misclassified against their true values."""

    station: str
    units: int
    false_accepts: int
    false_rejects: int


@dataclass(frozen=True, slots=True)
class RulesInvalidated(ModelEvent):
    """A context changed: the rules of the library bound to its old value are no longer
    valid, and the plant runs under the rule set's fallback until they are regenerated."""

    reason: str
    context: str
    old: str
    new: str
    rules: int  # rules bound to the old value
    kinds: str  # of those, by kind: "constraint 327"
    fallback: str | None  # what the plant runs under meanwhile


@dataclass(frozen=True, slots=True)
class ResponseStarted(ModelEvent):
    """A playbook's response began, its latency after the event that called for it."""

    playbook: str
    on: str  # what started it: "context toolchain", "backup valve-kr", "shock quake"
    event_h: float
    tasks: int  # tasks it puts on the pools


@dataclass(frozen=True, slots=True)
class WorkFinished(ModelEvent):
    """Every task of one item of a playbook is done."""

    playbook: str
    item: str
    work: str  # its kind of work
    pool: str
    tasks: int
    started_h: float  # when its first task could start (its predecessors done)


@dataclass(frozen=True, slots=True)
class LifeTestCompleted(ModelEvent):
    """A life test of a parameter pack ended: units on test, failures, and whether the lower
    confidence bound cleared the requirement."""

    playbook: str
    item: str
    supplier: str
    units: int
    test_h: float
    use_h: float  # what the test hours are worth at use conditions
    failures: int
    criterion: str
    bound: float
    requirement: float
    passed: bool


@dataclass(frozen=True, slots=True)
class PlaybookFinished(ModelEvent):
    """A playbook finished (or stopped at a failed life test) and what that settled."""

    playbook: str
    passed: bool
    settled: str  # e.g. "327 rules valid for toolchain eda-b", "valve-kr qualified"


@dataclass(frozen=True, slots=True)
class QualitySystemRevalidated(ModelEvent):
    """Every invalidated rule is regenerated and re-reviewed: the fallback ends."""

    onset_h: float  # the onset of the shock that led to the invalidation
    hours: float  # from it to now
    released_under_fallback: int


#: Every kind of in-run record, by name.
EVENT_KINDS: dict[str, type[ModelEvent]] = {
    cls.__name__: cls for cls in (
        ShockStarted, ShockEnded, OrderExpedited, BackupMissing, OrdersCancelled,
        SourceSwitched, SupplierSwitchOrdered, RecallStarted, RecallInspected, LotInspected,
        InspectionSwitched, SupplierHoldStarted, SupplierHoldEnded, LotQuarantined,
        RulesReloaded, DataLost, TriggerFired, SelectorMatched, LotMeasured, ChartSignalled,
        ComparabilityStudied, StockQuarantined, OutputMeasured,
        CapabilityEstimated, ReadingsClassified, RulesInvalidated, ResponseStarted, WorkFinished,
        LifeTestCompleted, PlaybookFinished, QualitySystemRevalidated)}

