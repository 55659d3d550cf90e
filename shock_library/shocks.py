"""Built-in shocks. Each docstring says what the shock does to which part of the twin."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, model_validator

from shocktwin.errors import unknown_name
from shocktwin.shock_library.base import Family, Layer, Shock, SupplierSelector, TargetKind
from shocktwin.shock_library.registry import register
from shocktwin.source import Ident
from shocktwin.twin.model.events import BackupMissing, OrdersCancelled
from shocktwin.twin.model.kinds import StationKind
from shocktwin.units import Duration, PositiveDuration

if TYPE_CHECKING:
    from shocktwin.twin.model.base import Model
    from shocktwin.twin.model.station import Station
    from shocktwin.twin.model.supplier import Supplier

__all__ = ["AIModelDrift", "AllocationCut", "BorderClosure", "BreakdownBurst",
           "ContaminatedBatch", "CustomerRecall", "CyberIncident", "DemandSurge", "Embargo",
           "ExpeditedOrder", "ExportControl", "FloodLogistics", "HeatWave",
           "InspectorShortage", "LeadTimeInflation", "MESOutage", "Pandemic",
           "PartialCapacityCut", "PortClosure", "PowerOutage", "PriceSpike", "QualityDrift",
           "RegionalEarthquake", "RegulationChange", "SiteDisaster", "SupplierInsolvency",
           "SupplierOutage", "TariffShock", "ToolChainSwitch", "ToolVendorCutOff", "Typhoon"]

PHYSICAL = frozenset({Layer.PHYSICAL})
LOGICAL = frozenset({Layer.LOGICAL})
SEMANTIC = frozenset({Layer.SEMANTIC})
#: Where a shock regional by nature is aimed: a selector naming one of these.
PLACE = ("region", "country")


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
        plant.supplier(self.target_id).capacity.set(self.id, _toward(level, 0.0))


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
        plant.supplier(self.target_id).capacity.set(
            self.id, _toward(level, 1.0 - self.cut))


@register
class QualityDrift(Shock):
    """Quality drift: the supplier's process drifts (its Cpk falls): its attribute defect
    rate is multiplied, and where its lots carry measured characteristics their mean moves
    by ``mean_shift`` σ (at once) and ``drift_per_day`` σ a day (creeping), and their
    spread by ``spread``. Moves scrap at inspection, escaped
    PPM, lot and supplier Cpk and SPC signals. Severity: the multiplier."""

    family = Family.SUPPLY
    target_kind = TargetKind.SUPPLIER
    severity_axis = "factor"
    acts_on = ("attribute defect rate (factor)", "characteristic mean (mean_shift, "
               "drift_per_day)", "characteristic spread (spread)")
    type: Literal["quality_drift"] = "quality_drift"
    factor: float = Field(1.0, ge=1, le=1000, description="Defect-rate multiplier at full "
                          "shock.")
    mean_shift: float = Field(0.0, ge=-20, le=20, exclude_if=lambda v: v == 0.0, description=(
        "Shift of each measured characteristic's mean at full shock, in its σ."))
    spread: float = Field(1.0, ge=1, le=20, exclude_if=lambda v: v == 1.0, description=(
        "Factor on each measured characteristic's spread at full shock."))
    drift_per_day: float = Field(0.0, ge=-5, le=5, exclude_if=lambda v: v == 0.0, description=(
        "A creeping drift (tool wear): from the shock's start each measured "
        "characteristic's mean moves by this many σ a day, until the shock is over."))
    characteristic: Ident | None = Field(None, exclude_if=lambda v: v is None, description=(
        "Only this characteristic of the supplier's lots (default all)."))

    @model_validator(mode="after")
    def _moves_something(self) -> QualityDrift:
        if (self.factor == 1.0 and self.mean_shift == 0.0 and self.spread == 1.0
                and self.drift_per_day == 0.0):
            raise ValueError("give factor (> 1), mean_shift, spread or drift_per_day")
        return self

    def scenario_problems(self, scenario: Any) -> list[str]:
        problems = super().scenario_problems(scenario)
        measured = self.mean_shift != 0.0 or self.spread != 1.0 or self.drift_per_day != 0.0
        plant = getattr(scenario, "plant", None)
        if plant is None or not isinstance(self.target, str) or not (
                measured or self.characteristic):
            return problems
        material = next((sup.material for sup in plant.suppliers if sup.id == self.target),
                        None)
        names = {c.name for c in plant.characteristics if c.material == material}
        if not names:
            problems.append(f"it moves measured characteristics, and the lots of "
                            f"{self.target!r} ({material}) carry none")
        elif self.characteristic is not None and self.characteristic not in names:
            problems.append(unknown_name(f"characteristic of {material}",
                                         self.characteristic, names, listed="characteristics"))
        return problems

    def _apply(self, plant: Model, level: float) -> None:
        supplier = plant.supplier(self.target_id)
        if self.factor != 1.0:
            supplier.defect_factor.set(self.id, _toward(level, self.factor))
        for name, values, _, _ in supplier.characteristics:
            if self.characteristic in (None, name):
                _move(values, self.id, level, self.mean_shift, self.spread)
                if self.drift_per_day != 0.0:
                    _creep(values, self.id, plant.kernel.now(), level,
                           self.drift_per_day / 24.0)


def _move(values: Any, source: str, level: float, mean_shift: float, spread: float) -> None:
    """Shift a characteristic's mean (in σ) and widen its spread by intensity ``level``."""
    if mean_shift != 0.0:
        values.shift.set(source, None if level <= 0.0 else mean_shift * level)
    if spread != 1.0:
        values.spread.set(source, _toward(level, spread))


def _creep(values: Any, source: str, now: float, level: float, sigma_per_h: float) -> None:
    """Start a creeping drift at the shock's onset; stop it when the shock is over."""
    if level <= 0.0:
        values.ramp(source, None)
    elif not values.ramping(source):
        values.ramp(source, now, sigma_per_h)


def _degrade(gauges: list[Any], source: str, level: float, noise: float, bias: float) -> None:
    """Inflate gauges' errors and add bias, by intensity ``level``."""
    for gauge in gauges:
        if noise != 1.0:
            gauge.noise.set(source, _toward(level, noise))
        if bias != 0.0:
            gauge.bias_shift.set(source, None if level <= 0.0 else bias * level)


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
        plant.supplier(self.target_id).lead_time_factor.set(
            self.id, _toward(level, self.factor))


@register
class ToolChainSwitch(Shock):
    """Tool-chain switch: the inspection/measurement tool chain is replaced. Until the rule
    library is re-validated (the duration), inspection runs at reduced capacity and units
    take longer (manual review), with a sample floor of 100 %. Severity: the duration."""

    family = Family.TECHNOLOGY
    target_kind = TargetKind.INSPECTION_STATION
    # Inspectors and their time (physical), the fall-back to 100 % (logical), the rules
    # bound to the tool chain invalid for the duration (semantic).
    layers = PHYSICAL | LOGICAL | SEMANTIC
    type: Literal["toolchain_switch"] = "toolchain_switch"
    capacity: float = Field(0.5, gt=0, le=1, description="Share of inspectors available.")
    manual_time_factor: float = Field(2.0, ge=1, le=20, description="Time per unit factor "
                                      "while reviews are manual.")
    full_inspection: bool = Field(True, description="Inspect 100 % until re-validated.")
    gauge_noise: float = Field(1.0, ge=1, le=100, exclude_if=lambda v: v == 1.0, description=(
        "Factor on the repeatability and reproducibility of the gauges read at the station "
        "while the new tools are not yet validated."))
    gauge_bias: float = Field(0.0, ge=-1e12, le=1e12, exclude_if=lambda v: v == 0.0,
                              description="Bias added to those gauges' readings.")
    acts_on = ("gauge (gauge_noise, gauge_bias)",)

    def _apply(self, plant: Model, level: float) -> None:
        _manual_review(plant.station(self.target_id), self.id, level, self.capacity,
                       self.manual_time_factor, self.full_inspection)
        _degrade(plant.gauges_at(self.target_id), self.id, level, self.gauge_noise,
                 self.gauge_bias)


def _manual_review(st: Station, source: str, level: float, capacity: float,
                   time_factor: float, full_inspection: bool) -> None:
    """An inspection station without its tool: fewer inspectors, longer manual reviews and,
    if ``full_inspection``, a sample floor of 100 %."""
    st.capacity.set(source, _toward(level, capacity))
    st.speed.set(source, _toward(level, time_factor))
    if full_inspection:
        st.sample_floor.set(source, None if level <= 0.0 else 1.0)  # type: ignore[attr-defined]


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
        plant.station(self.target_id).capacity.set(
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
        plant.station(self.target_id).mtbf_factor.set(
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

    def scenario_problems(self, scenario: Any) -> list[str]:
        return [*super().scenario_problems(scenario),
                *_defect_free(self, scenario, "defective units")]

    def _apply(self, plant: Model, level: float) -> None:
        sup = plant.supplier(self.target_id)
        base = max(sup.defect_rate, 1e-9)
        sup.defect_factor.set(self.id, _toward(level, self.defective_share / base))


def _defect_free(shock: Shock, scenario: Any, what: str) -> list[str]:
    """The suppliers ``shock`` hits whose defect rate is 0: the twin multiplies a
    supplier's defect rate, so a shock cannot spoil their units."""
    plant = getattr(scenario, "plant", None)
    target = shock.target
    if plant is None or target is None:
        return []
    hit = [s for s in plant.suppliers
           if (target.matches(s) if isinstance(target, SupplierSelector) else s.id == target)]
    clean = [s.id for s in hit if s.defect_rate <= 0.0]
    if not clean:
        return []
    return [f"{shock.type} makes {what} by multiplying the supplier's defect rate, and "
            f"{', '.join(clean)} {'has' if len(clean) == 1 else 'have'} defect_rate 0: "
            "give a small one (e.g. 1e-6)"]


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
        sup = plant.supplier(self.target_id)
        sup.lead_time_factor.set(self.id, _toward(level, self.lead_time_factor))
        sup.lead_time_spread.set(self.id, None if level <= 0.0 else self.spread * level)


@register
class SiteDisaster(Shock):
    """Site disaster (e.g. an earthquake at a supplier): the supplier ships nothing for the
    duration, then capacity comes back as the recovery profile says (give a linear ramp for
    a staged restart). With ``backup_after``, the plant activates its backup (the next
    supplier listed for the material, once qualified) when the site is still down that long
    after the disaster. For every supplier in a region at once, see regional_earthquake.
    Severity: the duration."""

    family = Family.CLIMATE
    target_kind = TargetKind.SUPPLIER
    layers = PHYSICAL | LOGICAL  # the site stops; the backup plan moves the orders
    type: Literal["site_disaster"] = "site_disaster"
    backup_after: Duration | None = Field(None, description="Move orders to the backup when "
                                          "the site is still down this long after the start.")

    def _apply(self, plant: Model, level: float) -> None:
        plant.supplier(self.target_id).capacity.set(self.id, _toward(level, 0.0))
        if (level > 0.0 and self.backup_after is not None and self.backup_after < self.duration
                and plant.once(f"backup plan {self.id}")):
            plant.kernel.schedule(self.backup_after, lambda _: plant.activate_backup(
                self.target_id, reason=f"shock {self.id}"))


@register
class HeatWave(Shock):
    """Heat wave: a process drifts; it runs slower and makes more defects (yield loss):
    an added attribute defect rate, and where its output carries measured characteristics,
    their mean moves by ``mean_shift`` σ and their spread widens by ``spread``. Severity:
    the added defect rate."""

    family = Family.CLIMATE
    target_kind = TargetKind.PROCESS_STATION
    severity_axis = "added_defect_rate"
    acts_on = ("attribute defect rate (added_defect_rate)", "characteristic mean "
               "(mean_shift)", "characteristic spread (spread)")
    type: Literal["heat_wave"] = "heat_wave"
    added_defect_rate: float = Field(0.0, ge=0, lt=1, description="Defect rate added at full "
                                     "shock.")
    slowdown: float = Field(1.1, ge=1, le=5, description="Process-time multiplier.")
    mean_shift: float = Field(0.0, ge=-20, le=20, exclude_if=lambda v: v == 0.0, description=(
        "Shift of the output's measured characteristics at full shock, in their σ."))
    spread: float = Field(1.0, ge=1, le=20, exclude_if=lambda v: v == 1.0, description=(
        "Factor on the output's measured characteristics' spread at full shock."))

    @model_validator(mode="after")
    def _moves_something(self) -> HeatWave:
        if self.added_defect_rate == 0.0 and self.mean_shift == 0.0 and self.spread == 1.0:
            raise ValueError("give added_defect_rate (> 0), mean_shift or spread")
        return self

    def scenario_problems(self, scenario: Any) -> list[str]:
        problems = super().scenario_problems(scenario)
        plant = getattr(scenario, "plant", None)
        if plant is not None and (self.mean_shift != 0.0 or self.spread != 1.0) and not any(
                c.station == self.target for c in plant.characteristics):
            problems.append(f"it moves measured characteristics, and the output of "
                            f"{self.target!r} carries none")
        return problems

    def _apply(self, plant: Model, level: float) -> None:
        st = plant.station(self.target_id)
        st.speed.set(self.id, _toward(level, self.slowdown))
        if self.added_defect_rate > 0.0:
            st.defect_rate.set(self.id, None if level <= 0.0
                               else st.defect_rate.base + self.added_defect_rate * level)
        if st.measured is not None:
            for values in st.measured.streams:
                _move(values, self.id, level, self.mean_shift, self.spread)


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
    layers = SEMANTIC  # the inspection model is the measurement system the rules act on
    severity_axis = "detection_loss"
    type: Literal["ai_model_drift"] = "ai_model_drift"
    detection_loss: float = Field(gt=0, le=1, description="Share of the detection "
                                  "probability lost at full shock.")

    gauge_noise: float = Field(1.0, ge=1, le=100, exclude_if=lambda v: v == 1.0, description=(
        "Factor on the errors of the gauges read at the station (a vision or ML measurement "
        "drifting) at full shock."))
    acts_on = ("detection (detection_loss)", "gauge (gauge_noise)")

    def _apply(self, plant: Model, level: float) -> None:
        plant.station(self.target_id).detection_factor.set(  # type: ignore[attr-defined]
            self.id, _toward(level, 1.0 - self.detection_loss))
        _degrade(plant.gauges_at(self.target_id), self.id, level, self.gauge_noise, 0.0)


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
    layers = PHYSICAL | SEMANTIC  # the lab's test time; the rule set in force
    severity_axis = "test_time_factor"
    exclusive = True
    type: Literal["regulation_change"] = "regulation_change"
    rules: str = Field(min_length=1, max_length=1024, description="The rule-set file the "
                       "regulation makes mandatory, relative to the scenario file.")
    test_time_factor: float = Field(1.5, ge=1, le=20, description="Inspection time factor "
                                    "while the new tests are being set up.")

    def _apply(self, plant: Model, level: float) -> None:
        if level > 0.0:
            plant.reload_rules(self.rules, reason=f"shock {self.id}", once=True)
        plant.station(self.target_id).speed.set(self.id, _toward(level, self.test_time_factor))


@register
class SupplierInsolvency(Shock):
    """Supplier insolvency: the supplier is lost for good at the start; its open orders are
    cancelled and the buffer orders from its next backup once that one is contracted and
    qualified — after the duration (finding and contracting it) or the backup's own
    qualification time, whichever is longer. Without a backup the material stops. Moves
    stock-outs and OTD. Severity: the duration."""

    family = Family.SUPPLY
    target_kind = TargetKind.SUPPLIER
    layers = PHYSICAL | LOGICAL  # deliveries lost; the buffer moves to its backup
    permanent = True
    type: Literal["supplier_insolvency"] = "supplier_insolvency"

    def _apply(self, plant: Model, level: float) -> None:
        if level > 0.0:
            plant.supplier(self.target_id).lose(self.duration)


@register
class AllocationCut(Shock):
    """Allocation cut on a single-sourced part: the supplier fills only part of each order
    placed in the window; the rest stays on order with it and ships when the allocation is
    lifted, so the buffer cannot order around it. Moves stock-outs and OTD. Severity: the
    share of each order withheld."""

    family = Family.SUPPLY
    target_kind = TargetKind.SUPPLIER
    severity_axis = "cut"
    type: Literal["allocation_cut"] = "allocation_cut"
    cut: float = Field(gt=0, le=1, description="Share of each order withheld at full shock.")

    def scenario_problems(self, scenario: Any) -> list[str]:
        plant = getattr(scenario, "plant", None)
        if plant is None or not isinstance(self.target, str):
            return []
        material = next((s.material for s in plant.suppliers if s.id == self.target), None)
        sources = [s.id for s in plant.suppliers if s.material == material]
        if material is not None and len(sources) > 1:
            return [f"an allocation cut hits a single-sourced part, but {material!r} has "
                    f"{len(sources)} suppliers ({', '.join(sources)})"]
        return []

    def _apply(self, plant: Model, level: float) -> None:
        plant.supplier(self.target_id).allocation.set(
            self.id, _toward(level, 1.0 - self.cut))


@register
class ExportControl(Shock):
    """Export control: the supplier needs a licence to ship the part; goods wait at the
    border for the licence decision, a licence covers a share of each order and strands the
    rest, and a denial loses the supplier for good. From the start, goods in transit and
    what is ordered meanwhile wait at the border until the decision (``decision_after``
    the start). A licence covers ``licensed`` of each order placed while the control is in
    force: that share ships, and the rest is stranded — it stays on order with the supplier,
    so the buffer cannot order around it — until the control is lifted after the duration
    (and its recovery). With no licence (``licensed: 0``, the default) the supplier is lost
    at the decision: what waits at the border and every open order is cancelled (journal:
    OrdersCancelled), and the buffer's backup takes orders once the part is redesigned and
    requalified — the duration from the start — or once the backup is qualified, whichever
    is later. A control lifted before its decision releases what waited. Unlike an
    insolvency, the supplier may go on shipping under licence, and goods wait for the
    decision instead of being lost at once. Moves stock-outs and OTD. Severity: the
    duration."""

    family = Family.GEOPOLITICS
    target_kind = TargetKind.SUPPLIER
    layers = PHYSICAL | LOGICAL  # shipments held and cut; on a denial the backup takes over
    permanent = True
    type: Literal["export_control"] = "export_control"
    licensed: float = Field(0.0, ge=0, le=1, description="Share of each order the licence "
                            "covers (0: the licence is denied).")
    decision_after: Duration = Field(0.0, description="From the start to the licence "
                                     "decision; goods wait at the border until then.")

    @property
    def loses_target(self) -> bool:
        # A partial licence keeps the supplier; only a denial loses it for good.
        return self.licensed == 0.0

    def _apply(self, plant: Model, level: float) -> None:
        sup = plant.supplier(self.target_id)
        if level > 0.0 and plant.once(f"licence {self.id} {sup.id}"):
            if self.decision_after <= 0.0:
                self._decide(plant, sup)
            else:
                sup.capacity.set(self.id, 0.0)  # at the border until the decision
                if self.decision_after < self.duration:
                    plant.kernel.schedule(self.decision_after,
                                          lambda _: self._decide(plant, sup))
        if sup.lost:
            return
        sup.allocation.set(self.id, _toward(level, self.licensed))
        if level <= 0.0:
            sup.capacity.set(self.id, None)  # lifted: what waited ships

    def _decide(self, plant: Model, sup: Supplier) -> None:
        if self.licensed > 0.0:
            sup.capacity.set(self.id, None)  # licensed: what waited at the border ships
            return
        before = sup.units_cancelled
        # The redesign began with the control; the backup's qualification begins now.
        sup.lose(max(0.0, self.duration - self.decision_after))
        if sup.units_cancelled > before:
            plant.log(OrdersCancelled(plant.kernel.now(), reason=f"shock {self.id}: licence "
                                      "denied", supplier=sup.id,
                                      units=sup.units_cancelled - before))


@register
class TariffShock(Shock):
    """Tariff shock: units delivered by the supplier during the window cost more by the
    tariff rate. Cost only: lead times, quality and flow are untouched. Moves
    cost_per_unit. Severity: the tariff rate."""

    family = Family.GEOPOLITICS
    target_kind = TargetKind.SUPPLIER
    severity_axis = "tariff"
    type: Literal["tariff_shock"] = "tariff_shock"
    tariff: float = Field(gt=0, le=10, description="Ad valorem tariff at full shock "
                          "(0.25 = +25 % on the price).")

    def _apply(self, plant: Model, level: float) -> None:
        plant.supplier(self.target_id).price_factor.set(
            self.id, _toward(level, 1.0 + self.tariff))


def _needs_rules(shock: Shock, scenario: Any) -> list[str]:
    plant = getattr(scenario, "plant", None)
    has_incoming = plant is not None and any(
        getattr(st, "role", "line") == "incoming" for st in plant.stations)
    if getattr(scenario, "rules", None) is None or not has_incoming:
        return [f"a {shock.type} shock acts on the rule engine: give the scenario a rule set "
                "(rules:) and an incoming inspection station"]
    return []


@register
class MESOutage(Shock):
    """MES / data outage: inspection results and statistics stop flowing for the duration,
    so triggers cannot evaluate and incoming inspection falls back to the safe plan —
    tightened sampling (or 100 %) — for every lot. Moves inspection load and release lead
    time. Severity: the duration."""

    family = Family.TECHNOLOGY
    target_kind = TargetKind.PLANT
    layers = LOGICAL  # the data the triggers read, the safe plan in force
    type: Literal["mes_outage"] = "mes_outage"
    fallback: Literal["tightened", "full"] = Field("tightened", description="The safe plan "
                                                  "while data is down.")

    def scenario_problems(self, scenario: Any) -> list[str]:
        return _needs_rules(self, scenario)

    def _apply(self, plant: Model, level: float) -> None:
        assert plant.rules is not None
        plant.rules.data_down.set(self.id, None if level <= 0.0 else
                                  (2.0 if self.fallback == "full" else 1.0))


@register
class CyberIncident(Shock):
    """Cyber incident with data loss: systems are down for the duration — no batch can be
    released without its electronic record, and incoming inspection runs on the safe plan
    without triggers — and data back to the recovery point is lost: switching histories and
    statistics restart, and lots put into stock within the recovery point before the
    incident lose their inspection records, so they are pulled and inspected again in full.
    Moves release lead time, OTD and inspection load. Severity: the duration."""

    family = Family.TECHNOLOGY
    target_kind = TargetKind.PLANT
    layers = LOGICAL | SEMANTIC  # release and triggers stopped; records and statistics lost
    type: Literal["cyber_incident"] = "cyber_incident"
    recovery_point: Duration = Field(24.0, description="How far back data is lost (RPO).")

    def scenario_problems(self, scenario: Any) -> list[str]:
        return _needs_rules(self, scenario)

    def _apply(self, plant: Model, level: float) -> None:
        assert plant.rules is not None
        down = level > 0.0
        plant.rules.data_down.set(self.id, 1.0 if down else None)
        for st in plant.stations:
            if st.kind == StationKind.RELEASE:
                st.capacity.set(self.id, 0.0 if down else None)
        if down:
            plant.rules.lose_data(self.recovery_point, reason=f"shock {self.id}", once=True)


@register
class CustomerRecall(Shock):
    """Customer audit or recall: units shipped within the look-back before the start are
    recalled and inspected again in full at the target inspection station; defective ones
    found are scrapped and made again, and shipments are held (quarantine) for the
    duration. Moves inspection load, scrap, OTD and throughput. Severity: the look-back."""

    family = Family.REGULATION
    target_kind = TargetKind.INSPECTION_STATION
    layers = PHYSICAL | LOGICAL  # shipped units come back; shipments quarantined
    severity_axis = "lookback"
    severity_is_time = True
    type: Literal["customer_recall"] = "customer_recall"
    lookback: PositiveDuration = Field(description="Units shipped this long before the "
                                       "start are recalled.")

    def _apply(self, plant: Model, level: float) -> None:
        down = level > 0.0
        for st in plant.stations:
            if st.kind == StationKind.RELEASE:
                st.capacity.set(self.id, 0.0 if down else None)
        if down:
            plant.recall(self.lookback, plant.station(self.target_id),
                         reason=f"shock {self.id}", once=True)


@register
class ExpeditedOrder(Shock):
    """Expedited order from a supplier — typically a backup, in a cascade after a
    stock-out: an emergency lot of ``quantity`` units is bought at once, delivered in a
    fraction of the normal lead time at a price premium, even from a backup not yet
    qualified (the emergency buy accepts that risk). Moves stock-outs (down) and
    cost_per_unit (up). Severity: the quantity."""

    family = Family.OPERATIONS
    target_kind = TargetKind.SUPPLIER
    layers = LOGICAL  # an emergency order outside the buffer's policy
    severity_axis = "quantity"
    type: Literal["expedited_order"] = "expedited_order"
    quantity: int = Field(ge=1, le=100_000_000, description="Units bought.")
    lead_time_factor: float = Field(0.25, gt=0, le=1, description="Share of the normal lead "
                                    "time (air freight).")
    premium: float = Field(0.5, ge=0, le=20, description="Price premium (0.5 = +50 %).")

    def _apply(self, plant: Model, level: float) -> None:
        if level > 0.0:
            plant.expedite(plant.supplier(self.target_id), self.quantity,
                           self.lead_time_factor, self.premium, reason=f"shock {self.id}",
                           once=True)


# ------------------------------------------------------------ regional and geopolitical


def _spoiling(defect_rate: float, share: float) -> float | None:
    """The defect factor that spoils ``share`` of the units a supplier's process leaves
    good, on top of its own ``defect_rate`` (None: a rate of 0 cannot be multiplied)."""
    if defect_rate <= 0.0 or share <= 0.0:
        return None
    spoiled = 1.0 - (1.0 - defect_rate) * (1.0 - share)
    # The rate is capped at 1: twice what is needed spoils every unit whatever the rounding.
    return 2.0 / defect_rate if spoiled >= 1.0 else spoiled / defect_rate


def _stop_then_ship(sup: Supplier, source: str, level: float, lever_name: str,
                    factor: float | None) -> None:
    """Nothing ships while ``level`` is full; when it falls, the lots that waited ship
    first, with ``lever_name`` still at ``factor``, and the lever is then released."""
    lever = getattr(sup, lever_name)
    if level >= 1.0:
        sup.capacity.set(source, 0.0)
        lever.set(source, factor)
    else:
        sup.capacity.set(source, _toward(level, 0.0))
        lever.set(source, None)


def _plan_backup(shock: Any, plant: Model, sup: Any, level: float) -> None:
    """With ``backup_after``: when ``sup`` is still down that long after the start (and the
    shock lasts longer), its material moves to the first backup able to ship."""
    after = shock.backup_after
    if (level > 0.0 and after is not None and after < shock.duration
            and plant.once(f"backup plan {shock.id} {sup.id}")):
        plant.kernel.schedule(after, lambda _: _move_to_backup(plant, sup,
                                                               reason=f"shock {shock.id}"))


def _move_to_backup(plant: Model, sup: Supplier, reason: str) -> None:
    """The plant's stock of ``sup``'s material orders from its first backup that can ship
    now (not lost, on hold or stopped — by this event or another); its open orders at
    ``sup`` are cancelled. With no such backup, BackupMissing is journalled."""
    buffer = plant.buffers.get(sup.material)
    if buffer is None or buffer.supplier is not sup:
        return
    backup = next((s for s in buffer.sources if s is not sup and not s.lost
                   and not s.on_hold and s.capacity.value > 0.0), None)
    now = plant.kernel.now()
    if backup is None:
        plant.log(BackupMissing(now, reason=reason, material=sup.material))
        return
    cancelled = sup.cancel_orders(buffer)
    if cancelled:
        plant.log(OrdersCancelled(now, reason=reason, supplier=sup.id, units=cancelled))
    plant.switch_supplier(sup.material, backup.id, reason=reason)


@register
class RegionalEarthquake(Shock):
    """Regional earthquake: every supplier in the region stops shipping for the duration
    and the damaged roads and ports slow what is ordered meanwhile. Lots falling due wait at
    their sites and ship as capacity comes back with the recovery profile; orders placed
    while the shock lasts (fading with the recovery) take ``route_factor`` times their lead
    time. With ``backup_after``, the plant moves each stricken supplier's material to its
    first backup that can still ship — one the quake spared — when the sites are still
    down that long after the start. Aim it with a selector naming a region or a country,
    e.g. {region: JP}. Moves stock-outs and OTD. Severity: the duration."""

    family = Family.CLIMATE
    target_kind = TargetKind.SUPPLIER
    place_keys = PLACE
    layers = PHYSICAL | LOGICAL  # sites and routes; the backup plan moves the orders
    type: Literal["regional_earthquake"] = "regional_earthquake"
    route_factor: float = Field(1.5, ge=1, le=20, description="Lead-time multiplier of "
                                "orders placed while roads and ports are damaged.")
    backup_after: Duration | None = Field(None, description="Move orders to a backup the "
                                          "quake spared when the sites are still down this "
                                          "long after the start.")

    def _apply(self, plant: Model, level: float) -> None:
        sup = plant.supplier(self.target_id)
        sup.capacity.set(self.id, _toward(level, 0.0))
        sup.lead_time_factor.set(self.id, _toward(level, self.route_factor))
        _plan_backup(self, plant, sup, level)


@register
class Typhoon(Shock):
    """Typhoon: ports and roads in the region close while the storm passes, so no supplier
    there ships, and the lots that waited out the storm may ship water-damaged. Lots falling
    due wait; when the storm has passed (the duration) they ship first, with
    ``water_damage`` of the units their supplier made good spoiled (none by default: goods
    sealed in containers), and later lots are sound. The damage multiplies the supplier's
    defect rate, so it needs one above 0. Aim it with a selector naming a region or a
    country, e.g. {region: PH}. Moves stock-outs, OTD and, with water damage, scrap at
    inspection and escapes. Severity: the duration."""

    family = Family.CLIMATE
    target_kind = TargetKind.SUPPLIER
    place_keys = PLACE
    type: Literal["typhoon"] = "typhoon"
    water_damage: float = Field(0.0, ge=0, le=1, description="Share of the units in lots "
                                "that waited out the storm spoiled by water.")

    def scenario_problems(self, scenario: Any) -> list[str]:
        problems = super().scenario_problems(scenario)
        if self.water_damage > 0.0:
            problems += [f"{p}, or water_damage: 0"
                         for p in _defect_free(self, scenario, "water-damaged units")]
        return problems

    def _apply(self, plant: Model, level: float) -> None:
        sup = plant.supplier(self.target_id)
        _stop_then_ship(sup, self.id, level, "defect_factor",
                        _spoiling(sup.defect_rate, self.water_damage))


@register
class PortClosure(Shock):
    """Port closure (a strike, a blockade, a closure by the authorities): nothing ships from
    the suppliers the port serves while it is shut, and the lots that waited there pay
    demurrage. Lots falling due wait at the port; when it reopens (the duration) they ship
    first, each at ``surcharge`` on its price (demurrage, storage, congestion fees), and later
    lots at the normal price. Aim it with a selector naming a region or a country, e.g.
    {region: CN-east}. Moves stock-outs, OTD and cost_per_unit. Severity: the duration."""

    family = Family.GEOPOLITICS
    target_kind = TargetKind.SUPPLIER
    place_keys = PLACE
    type: Literal["port_closure"] = "port_closure"
    surcharge: float = Field(0.1, ge=0, le=10, description="Extra on the price of a lot that "
                             "waited at the port (0.1 = +10 %).")

    def _apply(self, plant: Model, level: float) -> None:
        _stop_then_ship(plant.supplier(self.target_id), self.id, level, "price_factor",
                        1.0 + self.surcharge)


@register
class Embargo(Shock):
    """Embargo: no goods from the suppliers in a country cross the border for the duration,
    and the plant moves their materials to backups outside it. Lots falling due wait at the
    border and ship if the embargo is lifted before they are cancelled; ``backup_after`` the
    start (at once by default) each embargoed supplier's material moves to its first backup
    that can ship — one outside the embargo — and its open orders there are cancelled. The
    plant stays with the backup after the embargo; with no backup (journal: BackupMissing)
    it waits for the embargo to end. Aim it with a selector naming the country, e.g.
    {country: XX}. Moves stock-outs, OTD and cost_per_unit. Severity: the duration."""

    family = Family.GEOPOLITICS
    target_kind = TargetKind.SUPPLIER
    place_keys = ("country",)
    layers = PHYSICAL | LOGICAL  # shipments stopped; orders moved to backups
    type: Literal["embargo"] = "embargo"
    backup_after: Duration | None = Field(0.0, description="Move orders to a backup outside "
                                          "the embargo this long after the start (none: "
                                          "wait for the embargo to end).")

    def _apply(self, plant: Model, level: float) -> None:
        sup = plant.supplier(self.target_id)
        sup.capacity.set(self.id, _toward(level, 0.0))
        _plan_backup(self, plant, sup, level)


@register
class PriceSpike(Shock):
    """FX or commodity price spike: units delivered during the window by the suppliers hit
    cost more by the rise, as far as their contracts pass it on. Aim it with a selector at
    the suppliers paid in a currency ({country: ...}) or at the makers of a commodity
    ({material: ...}), or at one supplier. Unlike a tariff, no border is involved: a
    market moves. Cost only: lead times, quality and flow are untouched. Moves
    cost_per_unit. Severity: the rise."""

    family = Family.SUPPLY
    target_kind = TargetKind.SUPPLIER
    severity_axis = "rise"
    type: Literal["price_spike"] = "price_spike"
    rise: float = Field(0.3, gt=0, le=10, description="Price rise at full shock (0.3 = "
                        "+30 %).")
    pass_through: float = Field(1.0, gt=0, le=1, description="Share of the rise the contracts "
                                "pass on (1: all, indexed prices).")

    def _apply(self, plant: Model, level: float) -> None:
        plant.supplier(self.target_id).price_factor.set(
            self.id, _toward(level, 1.0 + self.rise * self.pass_through))


@register
class Pandemic(Shock):
    """Pandemic: workforce, demand and logistics at once — a share of every station's staff
    is absent, customers order at another rate, and every supplier's orders take longer.
    For the duration (fading with the recovery), each station with staff (not an immediate
    release) keeps ``1 − absent`` of its servers, orders arrive at ``demand`` times the rate
    (below 1: demand falls), and orders placed with any supplier take ``lead_time_factor``
    times their lead time. Moves throughput, release lead time, stock-outs and OTD.
    Severity: the share absent."""

    family = Family.OPERATIONS
    target_kind = TargetKind.PLANT
    acts_on_suppliers = True
    severity_axis = "absent"
    type: Literal["pandemic"] = "pandemic"
    absent: float = Field(0.2, gt=0, le=1, description="Share of every station's staff "
                          "absent at full shock.")
    demand: float = Field(1.0, gt=0, le=10, description="Order-rate multiplier at full "
                          "shock (1: unchanged).")
    lead_time_factor: float = Field(1.5, ge=1, le=20, description="Lead-time multiplier of "
                                    "every supplier at full shock.")

    def _apply(self, plant: Model, level: float) -> None:
        for st in plant.stations:
            if not getattr(st, "immediate", False):
                st.capacity.set(self.id, _toward(level, 1.0 - self.absent))
        plant.demand_factor.set(self.id, _toward(level, self.demand))
        for sup in plant.suppliers.values():
            sup.lead_time_factor.set(self.id, _toward(level, self.lead_time_factor))


@register
class ToolVendorCutOff(Shock):
    """Tool vendor cut off (sanctions on the vendor, or its software licence revoked): every
    inspection station bound to the vendor's tool loses it at once, and runs on manual
    review until requalified on a replacement. The target and the stations in ``also_at``
    keep ``capacity`` of their inspectors, take ``manual_time_factor`` times as long per
    unit and, with ``full_inspection``, inspect 100 % — for the duration (finding,
    installing and requalifying a replacement), fading with the recovery. The rules bound
    to the tool are invalid meanwhile; marking them so in the rule library, and the work to
    re-validate or regenerate them for the replacement, is left to the rule library: here
    the twin models what the stations do without the tool. Unlike a tool-chain switch it is
    not planned, and it hits every station that uses the tool. Severity: the duration."""

    family = Family.TECHNOLOGY
    target_kind = TargetKind.INSPECTION_STATION
    # Inspectors and their time (physical), the fall-back to 100 % (logical), the rules
    # bound to the tool invalid until requalified (semantic).
    layers = PHYSICAL | LOGICAL | SEMANTIC
    type: Literal["tool_vendor_cutoff"] = "tool_vendor_cutoff"
    also_at: list[Ident] = Field(default_factory=list, max_length=100, description="The "
                                 "other inspection stations that use the tool.")
    capacity: float = Field(0.5, gt=0, le=1, description="Share of inspectors available.")
    manual_time_factor: float = Field(2.0, ge=1, le=20, description="Time per unit factor "
                                      "while reviews are manual.")
    full_inspection: bool = Field(True, description="Inspect 100 % until requalified.")

    def scenario_problems(self, scenario: Any) -> list[str]:
        problems = super().scenario_problems(scenario)
        plant = getattr(scenario, "plant", None)
        if plant is None:
            return problems
        inspection = [st.id for st in plant.stations if st.kind == StationKind.INSPECTION]
        seen = {self.target}
        for sid in self.also_at:
            if sid in seen:
                problems.append(f"also_at names {sid!r} twice (the target counts)")
            elif sid not in inspection:
                problems.append(f"also_at: {sid!r} is not an inspection station (inspection "
                                f"stations: {', '.join(inspection)})")
            seen.add(sid)
        return problems

    def _apply(self, plant: Model, level: float) -> None:
        for sid in (self.target_id, *self.also_at):
            _manual_review(plant.station(sid), self.id, level, self.capacity,
                           self.manual_time_factor, self.full_inspection)
