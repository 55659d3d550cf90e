"""Built-in shocks. Each docstring says what the shock does to which part of the twin."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field

from shock_library.base import Family, Shock, TargetKind
from shock_library.registry import register

if TYPE_CHECKING:
    from twin.model.base import Model

__all__ = ["AIModelDrift", "BorderClosure", "BreakdownBurst", "ContaminatedBatch",
           "DemandSurge", "FloodLogistics", "HeatWave", "InspectorShortage",
           "LeadTimeInflation", "PartialCapacityCut", "PowerOutage", "QualityDrift",
           "RegulationChange", "SiteDisaster", "SupplierOutage", "ToolChainSwitch"]


def _toward(level: float, full: float) -> float | None:
    """A factor moved from 1 toward its full-shock value ``full`` by intensity ``level``;
    None (no contribution) once the shock has faded."""
    return None if level <= 0.0 else 1.0 + (full - 1.0) * level


@register
class SupplierOutage(Shock):
    """Supplier outage: the supplier ships nothing; lots due in the outage wait and ship
    when it ends (capacity ramps back with the recovery profile). Moves stock-outs and OTD."""

    family = Family.SUPPLY
    target_kind = TargetKind.SUPPLIER
    type: Literal["supplier_outage"] = "supplier_outage"

    def _apply(self, plant: Model, level: float) -> None:
        plant.supplier(self.target or "").capacity.set(self.id, _toward(level, 0.0))


@register
class PartialCapacityCut(Shock):
    """Partial capacity cut: the supplier ships only part of each lot; the shortfall is
    cancelled and re-ordered. Severity: the share of capacity lost."""

    family = Family.SUPPLY
    target_kind = TargetKind.SUPPLIER
    severity_axis = "cut"
    type: Literal["partial_capacity_cut"] = "partial_capacity_cut"
    cut: float = Field(gt=0, le=1, description="Share of the supplier's capacity lost.")

    def _apply(self, plant: Model, level: float) -> None:
        plant.supplier(self.target or "").capacity.set(
            self.id, _toward(level, 1.0 - self.cut))


@register
class QualityDrift(Shock):
    """Quality drift: the supplier's defect rate is multiplied (its Cpk falls). Moves
    scrap at inspection and escaped PPM. Severity: the multiplier."""

    family = Family.SUPPLY
    target_kind = TargetKind.SUPPLIER
    severity_axis = "factor"
    type: Literal["quality_drift"] = "quality_drift"
    factor: float = Field(gt=1, le=1000, description="Defect-rate multiplier at full shock.")

    def _apply(self, plant: Model, level: float) -> None:
        plant.supplier(self.target or "").defect_factor.set(
            self.id, _toward(level, self.factor))


@register
class LeadTimeInflation(Shock):
    """Lead-time inflation: orders placed during the shock take longer to arrive.
    Severity: the lead-time multiplier."""

    family = Family.SUPPLY
    target_kind = TargetKind.SUPPLIER
    severity_axis = "factor"
    type: Literal["lead_time_inflation"] = "lead_time_inflation"
    factor: float = Field(gt=1, le=100, description="Lead-time multiplier at full shock.")

    def _apply(self, plant: Model, level: float) -> None:
        plant.supplier(self.target or "").lead_time_factor.set(
            self.id, _toward(level, self.factor))


@register
class ToolChainSwitch(Shock):
    """Tool-chain switch: the inspection/measurement tool chain is replaced. Until the rule
    library is re-validated (the duration), inspection runs at reduced capacity and units
    take longer (manual review), with a sample floor of 100 %. Severity: the duration."""

    family = Family.TECHNOLOGY
    target_kind = TargetKind.INSPECTION_STATION
    type: Literal["toolchain_switch"] = "toolchain_switch"
    capacity: float = Field(0.5, gt=0, le=1, description="Share of inspectors available.")
    manual_time_factor: float = Field(2.0, ge=1, le=20, description="Time per unit factor "
                                      "while reviews are manual.")
    full_inspection: bool = Field(True, description="Inspect 100 % until re-validated.")

    def _apply(self, plant: Model, level: float) -> None:
        st = plant.station(self.target or "")
        st.capacity.set(self.id, _toward(level, self.capacity))
        st.speed.set(self.id, _toward(level, self.manual_time_factor))
        if self.full_inspection:
            st.sample_floor.set(  # type: ignore[attr-defined]
                self.id, None if level <= 0.0 else 1.0)


@register
class InspectorShortage(Shock):
    """Inspector or operator shortage: a share of a station's staff is absent.
    Severity: the share absent."""

    family = Family.OPERATIONS
    target_kind = TargetKind.STATION
    severity_axis = "absent"
    type: Literal["staff_shortage"] = "staff_shortage"
    absent: float = Field(gt=0, le=1, description="Share of servers absent at full shock.")

    def _apply(self, plant: Model, level: float) -> None:
        plant.station(self.target or "").capacity.set(
            self.id, _toward(level, 1.0 - self.absent))


@register
class BreakdownBurst(Shock):
    """Breakdown burst: a station's machines fail more often (MTBF divided by the factor).
    Severity: the factor."""

    family = Family.OPERATIONS
    target_kind = TargetKind.PROCESS_STATION
    severity_axis = "factor"
    type: Literal["breakdown_burst"] = "breakdown_burst"
    factor: float = Field(gt=1, le=100, description="Failure-rate multiplier at full shock.")

    def _apply(self, plant: Model, level: float) -> None:
        rate = _toward(level, self.factor)
        plant.station(self.target or "").mtbf_factor.set(
            self.id, None if rate is None else 1.0 / rate)


@register
class PowerOutage(Shock):
    """Power outage: every station stops; units in work resume when power returns."""

    family = Family.OPERATIONS
    target_kind = TargetKind.PLANT
    type: Literal["power_outage"] = "power_outage"

    def _apply(self, plant: Model, level: float) -> None:
        for st in plant.stations:
            st.capacity.set(self.id, _toward(level, 0.0))


@register
class DemandSurge(Shock):
    """Demand surge / rush orders: customer orders arrive faster. Severity: the rate
    multiplier."""

    family = Family.OPERATIONS
    target_kind = TargetKind.DEMAND
    severity_axis = "factor"
    type: Literal["demand_surge"] = "demand_surge"
    factor: float = Field(gt=1, le=100, description="Order-rate multiplier at full shock.")

    def _apply(self, plant: Model, level: float) -> None:
        plant.demand_factor.set(self.id, _toward(level, self.factor))


@register
class ContaminatedBatch(Shock):
    """Contaminated batch: lots the supplier ships during the window carry a high share of
    defective units. Moves scrap at inspection and escapes. Severity: the defective share."""

    family = Family.SUPPLY
    target_kind = TargetKind.SUPPLIER
    severity_axis = "defective_share"
    type: Literal["contaminated_batch"] = "contaminated_batch"
    defective_share: float = Field(gt=0, le=1, description="Share of units defective in lots "
                                   "shipped at full shock.")

    def _apply(self, plant: Model, level: float) -> None:
        sup = plant.supplier(self.target or "")
        base = max(sup.defect_rate, 1e-9)
        sup.defect_factor.set(self.id, _toward(level, self.defective_share / base))


@register
class BorderClosure(Shock):
    """Border closure: a supplier's shipments take longer and their lead times spread wider
    (customs, rerouting). Severity: the duration."""

    family = Family.GEOPOLITICS
    target_kind = TargetKind.SUPPLIER
    type: Literal["border_closure"] = "border_closure"
    lead_time_factor: float = Field(2.0, ge=1, le=20, description="Lead-time multiplier.")
    spread: float = Field(0.5, ge=0, le=3, description="Extra log-normal sigma of lead times.")

    def _apply(self, plant: Model, level: float) -> None:
        sup = plant.supplier(self.target or "")
        sup.lead_time_factor.set(self.id, _toward(level, self.lead_time_factor))
        sup.lead_time_spread.set(self.id, None if level <= 0.0 else self.spread * level)


@register
class SiteDisaster(Shock):
    """Site disaster (e.g. an earthquake at a supplier): the supplier ships nothing for the
    duration, then capacity comes back gradually (a linear ramp unless told otherwise).
    Severity: the duration."""

    family = Family.CLIMATE
    target_kind = TargetKind.SUPPLIER
    type: Literal["site_disaster"] = "site_disaster"

    def _apply(self, plant: Model, level: float) -> None:
        plant.supplier(self.target or "").capacity.set(self.id, _toward(level, 0.0))


@register
class HeatWave(Shock):
    """Heat wave: a process drifts; it runs slower and makes more defects (yield loss).
    Severity: the added defect rate."""

    family = Family.CLIMATE
    target_kind = TargetKind.PROCESS_STATION
    severity_axis = "added_defect_rate"
    type: Literal["heat_wave"] = "heat_wave"
    added_defect_rate: float = Field(gt=0, lt=1, description="Defect rate added at full "
                                     "shock.")
    slowdown: float = Field(1.1, ge=1, le=5, description="Process-time multiplier.")

    def _apply(self, plant: Model, level: float) -> None:
        st = plant.station(self.target or "")
        st.speed.set(self.id, _toward(level, self.slowdown))
        st.defect_rate.set(self.id, None if level <= 0.0
                           else st.defect_rate.base + self.added_defect_rate * level)


@register
class FloodLogistics(Shock):
    """Flood blocking logistics: no inbound shipment from any supplier reaches the plant;
    lots wait and arrive when the roads reopen. Severity: the duration."""

    family = Family.CLIMATE
    target_kind = TargetKind.PLANT
    acts_on_suppliers = True
    type: Literal["flood_logistics"] = "flood_logistics"

    def _apply(self, plant: Model, level: float) -> None:
        for sup in plant.suppliers.values():
            sup.capacity.set(self.id, _toward(level, 0.0))


@register
class AIModelDrift(Shock):
    """AI-model drift: the inspection model loses accuracy, so it catches fewer defects.
    Moves escaped PPM. Severity: the share of detection lost."""

    family = Family.TECHNOLOGY
    target_kind = TargetKind.INSPECTION_STATION
    severity_axis = "detection_loss"
    type: Literal["ai_model_drift"] = "ai_model_drift"
    detection_loss: float = Field(gt=0, le=1, description="Share of the detection "
                                  "probability lost at full shock.")

    def _apply(self, plant: Model, level: float) -> None:
        plant.station(self.target or "").detection_factor.set(  # type: ignore[attr-defined]
            self.id, _toward(level, 1.0 - self.detection_loss))


@register
class RegulationChange(Shock):
    """Regulation change: a new rule set becomes mandatory at the shock's start (tighter
    AQL or spec limits, a new characteristic) and the rule engine loads it inside the
    running twin — lots already under inspection finish under the old plan; the journal
    records ``RulesReloaded`` with both versions' hashes and what changed. Until the lab
    is set up for the new tests (the duration), inspection at the target takes longer by
    ``test_time_factor``. The new rules stay in force after the shock. Severity: the test
    time factor."""

    family = Family.REGULATION
    target_kind = TargetKind.INSPECTION_STATION
    severity_axis = "test_time_factor"
    type: Literal["regulation_change"] = "regulation_change"
    rules: str = Field(min_length=1, max_length=1024, description="The rule-set file the "
                       "regulation makes mandatory, relative to the scenario file.")
    test_time_factor: float = Field(1.5, ge=1, le=20, description="Inspection time factor "
                                    "while the new tests are being set up.")

    def _apply(self, plant: Model, level: float) -> None:
        if level > 0.0:
            plant.reload_rules(self.rules, reason=f"shock {self.id}", once=True)
        plant.station(self.target or "").speed.set(self.id, _toward(level, self.test_time_factor))
