"""Incoming inspection by the rule set in force, and its reload inside a running twin.

Every lot a supplier delivers of a planned material goes to the plan's incoming inspection
station before it goes into stock:

- **single sampling**: the lot-size → (n, Ac, Re) lookup of the compiled plan at the
  material's current severity. The n units drawn hold a hypergeometric number of the lot's
  defective units; inspectors catch each with the station's detection probability and
  reject good ones at its false-reject rate. The lot is accepted when fewer than Re
  nonconforming are found. A lot not accepted is screened 100 % (rectifying inspection)
  and every unit found nonconforming is removed before the rest goes into stock, so the
  average outgoing quality follows the textbook AOQ = p·Pa·(N − n)/N (with perfect
  detection). Inspection time is the station's time per unit for every unit handled.
- **supplier statistics** for triggers: ``supplier.cpk`` is the Cpk implied by the
  nonconforming share found at incoming inspection over 30 days (a normal process,
  one-sided: Φ⁻¹(1 − p)/3, 2.0 when none was found), ``supplier.otd`` the share of the
  current supplier's lots delivered within its promised lead time over 90 days,
  ``supplier.ppm`` what was found per million inspected over 90 days.
- **switching**: each original inspection updates the plan's Z1.4 or ISO 2859-1 switching
  state (normal ↔ tightened ↔ reduced); a trigger's ``tighten`` overrides it until
  ``normal``.
- **discontinuation** (ISO 2859-1 §9.4, Z1.4 §8.3.5: 5 lots not accepted in one run of
  tightened inspection): acceptance of the supplier's lots stops pending its corrective
  action. The supplier is put on hold for its corrective-action time (``SupplierHoldStarted``):
  it ships nothing and takes no orders; the buffer orders from its next available backup if
  it has one (``SupplierSwitchOrdered``), else waits (``BackupMissing``). Its lots already
  delivered but not yet decided wait in quarantine (``LotQuarantined``) rather than being
  rejected: the standard stops the acceptance procedure, it does not reject lots unseen,
  and it resumes inspection once the correction is made. When the corrective action is
  done (``SupplierHoldEnded``) inspection resumes on tightened (``InspectionSwitched``
  discontinued → tightened), then the quarantined lots and the lots that fell due during
  the hold are inspected, in that order. A non-accepted lot is still sorted 100 % and its
  conforming rest stocked (the rectifying disposition, not an acceptance). Lots from
  another supplier while the material's plan waits for the correction are sorted 100 %.
- **100 % inspection**, **skip-lot** (after k accepted in a row, inspect 1 in m lots) and
  **first article** (extra pieces measured in full on a supplier's first lot).
- A station whose sample floor a shock sets to 100 % (a tool-chain fall-back) screens
  every lot.

Triggers are evaluated when their statistics change (after each lot decision, sampled or
inspected in full), not per unit; a condition must hold without a break for its ``for``
duration. ``reload`` replaces the rule set: lots already queued or under inspection keep
the plan they arrived under, switching states carry over for materials that stay planned,
and the journal gets a ``RulesReloaded`` record with both hashes and the changes.
"""

from __future__ import annotations

import functools
import math
from collections import deque
from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np

from shocktwin.errors import RuleError, SimulationError
from shocktwin.rules_engine.quality import (
    DEFAULT_CPK_MIN,
    Moments,
    QualityRecord,
    SupplierWindow,
    estimate,
    lot_moments,
    within_sigma,
)
from shocktwin.rules_engine.ruleset import (
    ActionType,
    ChartType,
    Comparability,
    CompiledPlan,
    CompiledRules,
    RuleSet,
    compile_plan,
    diff_rules,
)
from shocktwin.rules_engine.sampling import SamplingPlan, Severity
from shocktwin.rules_engine.switching import (
    InspectionState,
    LotOutcome,
    SwitchingProcedure,
    SwitchReason,
)
from shocktwin.twin.model.events import (
    BackupMissing,
    CapabilityEstimated,
    ChartSignalled,
    ComparabilityStudied,
    DataLost,
    InspectionSwitched,
    LotInspected,
    LotMeasured,
    LotQuarantined,
    ReadingsClassified,
    RulesReloaded,
    StockQuarantined,
    SupplierHoldEnded,
    SupplierHoldStarted,
    TriggerFired,
)
from shocktwin.twin.model.lever import Combine, Lever
from shocktwin.twin.model.measure import MeasuredLot, out_of_spec
from shocktwin.twin.model.part import LotJob, LotKind
from shocktwin.twin.model.station import InspectionStation
from shocktwin.twin.model.supplier import Buffer, Supplier

if TYPE_CHECKING:
    from shocktwin.twin.model.base import Model

#: A comparability study in progress: (buffer, new source, the source it replaces,
#: attempt, study number).
_Study = tuple[Buffer, str, str, int, int]

__all__ = ["MaterialState", "RuleEngine"]

_PPM_WINDOW_H = 90 * 24.0
_CPK_WINDOW_H = 30 * 24.0


#: The statistics a running twin keeps up to date for triggers, in the order
#: ``RuleEngine.statistics`` computes them; ``fit.SUPPORTED_STATISTICS`` is this set.
MEASURED = ("supplier.cpk", "supplier.otd", "lot.rejected_in_last_5", "lot.rejected_in_last_10",
            "lot.accepted_in_a_row", "lot.defect_rate", "supplier.ppm", "station.queue",
            "supplier.cpk_low", "supplier.cpk_high", "supplier.ppk", "lot.cpk", "lot.ppk",
            "lots_below_cpk_in_a_row", "spc.signals",
            *(f"spc.{chart.value}.signal" for chart in ChartType))


class MaterialState:
    """Where one material's inspection stands: switching, overrides and statistics."""

    def __init__(self, plan: CompiledPlan) -> None:
        self.plan = plan
        self.switching: SwitchingProcedure | None = plan.switching_procedure()
        self.override: Severity | None = None
        self.full_lots = 0
        self.accepted_in_a_row = 0
        self.skip_counter = 0
        self.recent: deque[bool] = deque(maxlen=10)  # accepted?
        self.last_defect_rate = 0.0
        self.found: deque[tuple[float, int, int]] = deque()  # (time, inspected, found)
        self.suppliers_seen: set[str] = set()

    def severity(self) -> Severity:
        if self.override is not None:
            return self.override
        return self.switching.severity if self.switching is not None else self.plan.start


class RuleEngine:
    """The rule set in force for one replication of a plant."""

    def __init__(self, model: Model, stations: dict[str, InspectionStation],
                 rng: np.random.Generator) -> None:
        self.model = model
        self.kernel = model.kernel
        self.stations = stations  # incoming inspection stations by id
        self.rng = rng
        self.ruleset: RuleSet | None = None
        self.ruleset_path: Path | None = None
        self.compiled: CompiledRules | None = None
        self.materials: dict[str, MaterialState] = {}
        self._trigger_since: dict[tuple[str, str], float] = {}
        self._trigger_fired: set[tuple[str, str]] = set()
        self._reasons: set[str] = set()
        self.lots = 0
        self.quality: dict[str, QualityRecord] = {}  # measured materials
        self._refused_sources: dict[str, set[str]] = {}  # by comparability studies
        # Comparability: per material, the released source in use, the sources released,
        # and the number of the current study.
        self._sources: dict[str, str] = {}
        self._approved: dict[str, set[str]] = {}
        self._study_seq: dict[str, int] = {}
        self._qualified_at: dict[str, float] = {}  # a new source's qualification end
        self._trigger_holds: dict[str, float] = {}  # supplier → since, held by a trigger
        # Delivered lots of suppliers on hold, by supplier, in arrival order.
        self._quarantine: dict[str, list[tuple[Buffer, list[bool]]]] = {}
        # Data down (MES outage, cyber incident): 1 = sample on the safe tightened plan,
        # 2 = inspect every lot in full; no statistics, no triggers meanwhile.
        self.data_down = Lever("rules.data_down", 0.0, Combine.MAX)

    # -- rule sets ----------------------------------------------------------------------

    def install(self, ruleset: RuleSet, path: Path) -> None:
        """The rule set in force from the start (no reload record)."""
        self.ruleset, self.ruleset_path = ruleset, path
        self.compiled = compile_plan(ruleset)
        self.materials = {m: MaterialState(p) for m, p in self.compiled.plans.items()}

    def reload(self, ruleset: RuleSet, path: Path, *, reason: str, once: bool = False,
               fresh: frozenset[str] = frozenset()) -> None:
        """Replace the rule set now; lots already delivered keep their plan. Switching
        states carry over, except for the ``fresh`` materials (a new supplier)."""
        if once and reason in self._reasons:
            return
        self._reasons.add(reason)
        old, old_compiled = self.ruleset, self.compiled
        compiled = compile_plan(ruleset)
        materials: dict[str, MaterialState] = {}
        for material, plan in compiled.plans.items():
            state = self.materials.get(material)
            if state is None or state.plan.switching != plan.switching or material in fresh:
                materials[material] = MaterialState(plan)
            else:
                state.plan = plan  # switching state and statistics carry over
                materials[material] = state
        self.ruleset, self.compiled, self.materials = ruleset, compiled, materials
        self.ruleset_path = path
        self._trigger_since.clear()
        self._trigger_fired.clear()
        self.model.log(RulesReloaded(
            self.kernel.now(), reason=reason,
            from_rules=old.name if old else None,
            from_hash=old_compiled.content_hash if old_compiled else None,
            to_rules=ruleset.name, to_hash=compiled.content_hash,
            changes=diff_rules(old, ruleset) if old is not None else ["rule set installed"]))

    def substitute(self, drafted: RuleSet, material: str, *, reason: str) -> None:
        """A backup supplier took over ``material``: its drafted plan replaces the
        material's plan (other materials keep theirs)."""
        plans = [p for p in drafted.plans if p.material == material]
        before = self.ruleset.plan(material) if self.ruleset is not None else None
        if before is not None:
            # The drafted sampling replaces the old; what the material must show (its
            # characteristics) and prove (its comparability study) stays.
            plans = [p.model_copy(update={
                "characteristics": p.characteristics or before.characteristics,
                "comparability": p.comparability or before.comparability}) for p in plans]
        if self.ruleset is None:
            merged = drafted
        else:
            kept = [p for p in self.ruleset.plans if p.material != material]
            merged = self.ruleset.model_copy(update={
                "name": f"{self.ruleset.name}+{drafted.name}", "plans": [*kept, *plans]})
        path = self.ruleset_path or Path(drafted.name)
        self.reload(merged, path, reason=reason, fresh=frozenset({material}))

    def resume_inspection(self, states: dict[str, str]) -> None:
        """A warm start: each material's inspection stands at the switching state given
        (normal, tightened or reduced), as it did when the plant's state was taken."""
        for material, severity in states.items():
            state = self.materials.get(material)
            if state is not None and state.switching is not None:
                state.switching.resume_at(Severity(severity))
            elif state is not None:
                state.override = Severity(severity)

    # -- lots -----------------------------------------------------------------------------

    def inbound(self, buffer: Buffer, flags: list[bool], supplier_id: str) -> None:
        """A lot arrives from ``supplier_id`` for ``buffer``."""
        if self._on_hold(supplier_id):
            self._quarantine_lot(buffer, flags, supplier_id)
            return
        self._inspect(buffer, flags, supplier_id)

    def _inspect(self, buffer: Buffer, flags: list[bool], supplier_id: str) -> None:
        state = self.materials.get(buffer.material)
        ordered = len(flags)
        if state is None or ordered < 2:
            buffer.receive(flags)
            return
        plan = state.plan
        station = self.stations[plan.station or next(iter(self.stations))]
        self.lots += 1
        first_article = 0
        if plan.first_article is not None and supplier_id not in state.suppliers_seen:
            first_article = min(plan.first_article.pieces, ordered)
        state.suppliers_seen.add(supplier_id)
        sampling: SamplingPlan | None = None
        if state.full_lots > 0:
            state.full_lots -= 1
            kind = LotKind.SCREEN
        elif station.sample_floor.value >= 1.0:
            kind = LotKind.SCREEN  # a shock forced 100 % inspection at the station
        elif self.data_down.value >= 2.0:
            kind = LotKind.SCREEN  # the safe plan while data is down is 100 % inspection
        elif state.switching is not None and state.switching.discontinued:
            # Acceptance sampling is discontinued (5 lots not accepted on tightened) until
            # the held supplier corrects; meanwhile another supplier's lots are sorted in full.
            kind = LotKind.SCREEN
        else:
            severity = Severity.TIGHTENED if self.data_down.value >= 1.0 else state.severity()
            sampling = plan.plan_for(ordered, severity)
            kind = LotKind.SCREEN if sampling is None or sampling.full_inspection \
                else LotKind.SAMPLE
            if kind is LotKind.SAMPLE and self._skip(state):
                self.model.log(LotInspected(
                    self.kernel.now(), material=buffer.material, supplier=supplier_id,
                    lot_size=ordered, decision="skipped", severity=None, n=0, found=0))
                buffer.receive(flags)
                return
        units = (sampling.n if kind is LotKind.SAMPLE and sampling else ordered) + first_article
        work = sum(station.service() for _ in range(units))
        job = LotJob(buffer.material, buffer, flags, ordered, kind, sampling,
                     sampling.n if kind is LotKind.SAMPLE and sampling else ordered, work,
                     self._lot_done, supplier=supplier_id)
        station.arrive_lot(job)

    def _skip(self, state: MaterialState) -> bool:
        skip = state.plan.skip_lot
        if skip is None or state.accepted_in_a_row < skip.after_accepted:
            return False
        state.skip_counter = (state.skip_counter + 1) % skip.of
        return state.skip_counter >= skip.inspect

    def _lot_done(self, job: LotJob, station: InspectionStation) -> None:
        original = job.kind is LotKind.SAMPLE or (
            job.kind is LotKind.SCREEN and job.sample == job.ordered)
        if original and job.supplier is not None and self._on_hold(job.supplier):
            # Its supplier was put on hold while the lot was queued or under inspection:
            # no decision now; the lot waits with the others for the correction.
            self._quarantine_lot(job.buffer, job.flags, job.supplier)
            return
        state = self.materials.get(job.material)
        flags = job.flags
        gate = station.ai
        if gate is None and isinstance(flags, MeasuredLot):
            self._measured_lot_done(job, station, state, flags)
            return
        base = gate.decisions.sensitivity if gate is not None else station.detection
        false_reject = gate.decisions.false_reject_rate if gate is not None \
            else station.false_reject
        detection = min(base * station.detection_factor.value, 1.0)
        n_def = sum(flags)
        if job.kind is LotKind.SAMPLE:
            n = job.sample
            k = int(self.rng.hypergeometric(n_def, len(flags) - n_def, n)) if n_def else 0
            caught = int(self.rng.binomial(k, detection)) if k else 0
            false = int(self.rng.binomial(n - k, false_reject)) if false_reject > 0.0 else 0
            found = caught + false
            plan = job.plan
            assert plan is not None
            accepted = found < plan.re
            _remove(flags, True, caught)
            _remove(flags, False, false)
            station.inspected += n
            station.rejected += found
            discontinued = False
            if state is not None and self.data_down.value <= 0.0:
                discontinued = self._record(state, plan, found, n, accepted, station)
            self.model.log(LotInspected(
                self.kernel.now(), material=job.material, supplier=job.supplier,
                lot_size=job.ordered, decision="accepted" if accepted else "rejected_screened",
                severity=plan.severity.value, n=n, found=found))
            if discontinued and job.supplier is not None:
                self._hold(job.material, job.supplier)
            if not accepted:
                rest = len(flags) - (n - found)
                work = sum(station.service() for _ in range(max(rest, 0)))
                screen = LotJob(job.material, job.buffer, flags, job.ordered, LotKind.SCREEN, None,
                                rest, work, self._lot_done, supplier=job.supplier)
                station.arrive_lot(screen)
                return
        else:
            caught = int(self.rng.binomial(n_def, detection)) if n_def else 0
            good = len(flags) - n_def
            false = int(self.rng.binomial(good, false_reject)) if false_reject > 0.0 and good \
                else 0
            _remove(flags, True, caught)
            _remove(flags, False, false)
            station.inspected += job.sample
            station.rejected += caught + false
            if job.sample == job.ordered:
                # a whole lot inspected (not a rejected lot's rest, not a re-inspection)
                if state is not None and self.data_down.value <= 0.0:
                    self._count(state, job.sample, caught + false)
                    self._evaluate(job.material, station)
                self.model.log(LotInspected(
                    self.kernel.now(), material=job.material, supplier=job.supplier,
                    lot_size=job.ordered, decision="inspected_full", severity=None,
                    n=job.sample, found=caught + false))
        job.buffer.receive(flags, ordered=job.ordered)

    def _count(self, state: MaterialState, inspected: int, found: int) -> None:
        now = self.kernel.now()
        state.found.append((now, inspected, found))
        while state.found and state.found[0][0] < now - _PPM_WINDOW_H:
            state.found.popleft()

    def _record(self, state: MaterialState, plan: SamplingPlan, found: int, n: int,
                accepted: bool, station: InspectionStation) -> bool:
        """Count a sampled lot's decision; True when it discontinued acceptance inspection."""
        self._count(state, n, found)
        state.recent.append(accepted)
        state.accepted_in_a_row = state.accepted_in_a_row + 1 if accepted else 0
        state.last_defect_rate = found / n if n else 0.0
        switching = state.switching
        switched = None
        # While discontinued, no lot counts towards switching: the held supplier's lots
        # wait, and another supplier's lots are not part of its sequence.
        if switching is not None and state.override is None and not switching.discontinued:
            switched = switching.record(LotOutcome.from_plan(plan, found))
            if switched is not None:
                self.model.log(InspectionSwitched(
                    self.kernel.now(), material=state.plan.material,
                    from_state=switched.from_state.value, to_state=switched.to_state.value,
                    reason=switched.reason.value))
        self._evaluate(state.plan.material, station)
        return switched is not None and switched.to_state is InspectionState.DISCONTINUED

    # -- measured lots ------------------------------------------------------------------

    def _limits(self, state: MaterialState | None, material: str,
                name: str) -> tuple[float | None, float | None]:
        """The limits a reading is judged by: the rule set's spec of the characteristic,
        else the plant's."""
        if state is not None:
            for c in state.plan.characteristics:
                if c.name == name and c.spec is not None:
                    return c.spec.lsl, c.spec.usl
        ch = self.model.characteristics[(material, name)]
        return ch.lsl, ch.usl

    def _measured_lot_done(self, job: LotJob, station: InspectionStation,
                           state: MaterialState | None, lot: MeasuredLot) -> None:
        """Inspection by reading the lot's characteristics with their gauges: a unit is
        nonconforming when a reading is out of the limits in force, so what the quality
        system finds differs from the truth by the gauge's error. The misclassification is
        counted against the true values at the plant's limits; defects nobody measures (an
        attribute defect rate, spoiled inputs) are found at the station's detection rate,
        as in a plant without characteristics."""
        material = job.material
        lot.aligned()
        size = len(lot)
        sampled = job.kind is LotKind.SAMPLE
        n = min(job.sample, size) if sampled else size
        if sampled and n < size:
            idx = np.sort(self.rng.choice(size, n, replace=False))
        elif lot.read is not None:
            idx = np.flatnonzero(~lot.read)  # a rejected lot's rest: its sample was read
        else:
            idx = np.arange(size)
        truth = np.asarray(lot, dtype=bool)[idx]
        out_true = np.zeros(idx.size, dtype=bool)  # out of the plant's limits, truly
        read_out = np.zeros(idx.size, dtype=bool)  # out of the limits in force, as read
        readings: dict[str, np.ndarray] = {}
        for j, name in enumerate(lot.names):
            true = lot.values[idx, j]
            ch = self.model.characteristics[(material, name)]
            out_true |= out_of_spec(true, ch.lsl, ch.usl)
            read = self.model.gauges[(material, name)].read(true)
            readings[name] = read
            read_out |= out_of_spec(read, *self._limits(state, material, name))
        station.units_measured += idx.size
        station.false_accepts += int((out_true & ~read_out).sum())
        station.false_rejects += int((~out_true & read_out).sum())
        factor = station.detection_factor.value
        flagged = read_out
        if factor < 1.0 and flagged.any():
            flagged = flagged & (self.rng.random(idx.size) < factor)  # readings not acted on
        unmeasured = truth & ~out_true
        if unmeasured.any():
            detection = min(station.detection * factor, 1.0)
            flagged = flagged | (unmeasured & (self.rng.random(idx.size) < detection))
        found = int(flagged.sum())
        station.inspected += idx.size
        station.rejected += found
        keep = np.ones(size, dtype=bool)
        keep[idx[flagged]] = False
        original = sampled or job.sample == job.ordered
        counted = state is not None and self.data_down.value <= 0.0 and original
        if counted:
            assert state is not None
            self._measured(state, job.supplier, readings, found, idx.size)
        if sampled:
            plan = job.plan
            assert plan is not None
            accepted = found < plan.re
            discontinued = False
            if counted:
                assert state is not None
                discontinued = self._record(state, plan, found, n, accepted, station)
            self.model.log(LotInspected(
                self.kernel.now(), material=material, supplier=job.supplier,
                lot_size=job.ordered, decision="accepted" if accepted else "rejected_screened",
                severity=plan.severity.value, n=n, found=found))
            if discontinued and job.supplier is not None:
                self._hold(material, job.supplier)
            if not accepted:
                # The rest is screened; the sample's conforming units are not read again.
                was_read = np.zeros(size, dtype=bool)
                was_read[idx] = True
                rest = lot.keep(keep, was_read)
                work = sum(station.service() for _ in range(size - n))
                station.arrive_lot(LotJob(material, job.buffer, rest, job.ordered,
                                          LotKind.SCREEN, None, size - n, work,
                                          self._lot_done, supplier=job.supplier))
                return
        elif job.sample == job.ordered:
            if counted:
                assert state is not None
                self._count(state, size, found)
                self._evaluate(material, station)
            self.model.log(LotInspected(
                self.kernel.now(), material=material, supplier=job.supplier,
                lot_size=job.ordered, decision="inspected_full", severity=None, n=size,
                found=found))
        job.buffer.receive(lot.keep(keep), ordered=job.ordered)

    def _measured(self, state: MaterialState, supplier: str | None,
                  readings: dict[str, np.ndarray], found: int, n: int) -> None:
        """Charts, capability and the journal for one lot's readings."""
        material = state.plan.material
        record = self.quality.get(material)
        if record is None:
            record = self.quality[material] = QualityRecord(material)
        now = self.kernel.now()
        specs = {c.name: c for c in state.plan.characteristics}
        lowest_cpk = lowest_ppk = math.inf
        below = False
        if supplier != record.last_supplier:
            record.below_in_a_row = 0  # lots in a row of one supplier
        if supplier is not None:
            record.last_supplier = supplier
        for name, read in readings.items():
            spec = specs.get(name)
            lsl, usl = self._limits(state, material, name)
            # σ within the chart's subgroups (an X̄ chart's); else within subgroups of five.
            subgroup = (spec.subgroup_size or 0) if spec is not None and spec.chart in (
                ChartType.XBAR_R, ChartType.XBAR_S) else 0
            within = within_sigma(read, subgroup) if read.size > 1 else 0.0
            overall = float(read.std(ddof=1)) if read.size > 1 else 0.0
            est = estimate(read.size, float(read.mean()), within, overall, lsl, usl)
            bad = int(out_of_spec(read, lsl, usl).sum())
            self.model.log(LotMeasured(
                now, material=material, supplier=supplier, characteristic=name, n=read.size,
                mean=est.mean, sd=overall, cpk=_finite(est.cpk), cpk_low=_finite(est.cpk_low),
                cpk_high=_finite(est.cpk_high), ppk=_finite(est.ppk), out_of_spec=bad))
            lowest_cpk = min(lowest_cpk, est.cpk)
            lowest_ppk = min(lowest_ppk, est.ppk)
            required = spec.cpk_min if spec is not None and spec.cpk_min else DEFAULT_CPK_MIN
            below = below or est.cpk < required
            if supplier is not None:
                record.windows.setdefault((supplier, name), SupplierWindow()).add(now, read,
                                                                          within * within)
                record.totals.setdefault((supplier, name), Moments()).add(
                    *lot_moments(read), within * within)
                record.remember(supplier, name, read)
            chart = record.chart(spec, supplier) if spec is not None else None
            if chart is not None:
                signals, points_signalled = chart.feed(read, bad, read.size)
                record.signals.extend([(now, chart.chart.value, supplier)] * points_signalled)
                for signal, points, value in signals:
                    self.model.log(ChartSignalled(now, material=material, supplier=supplier,
                                             characteristic=name, chart=chart.chart.value,
                                             signal=signal, points=points, value=value))
        record.lot_cpk, record.lot_ppk = lowest_cpk, lowest_ppk
        record.signal_count(now)  # drop signals older than the window
        record.below_in_a_row = record.below_in_a_row + 1 if below else 0

    def log_capability(self) -> None:
        """At the end of a run: each supplier's capability per characteristic over all its
        lots measured (pooled within-lot σ for Cpk, overall σ for Ppk, Bissell's 95 %
        intervals), and each inspection station's misclassification by its gauges."""
        now = self.kernel.now()
        for material, record in self.quality.items():
            state = self.materials.get(material)
            for (supplier, name), totals in sorted(record.totals.items()):
                lsl, usl = self._limits(state, material, name)
                est = totals.estimate(lsl, usl)
                if est is None:
                    continue
                self.model.log(CapabilityEstimated(
                    now, material=material, supplier=supplier, characteristic=name, lsl=lsl,
                    usl=usl, lots=totals.lots, n=est.n, mean=est.mean,
                    sigma_within=est.sigma_within, sigma_overall=est.sigma_overall,
                    cpk=_finite(est.cpk),
                    cpk_low=_finite(est.cpk_low), cpk_high=_finite(est.cpk_high),
                    ppk=_finite(est.ppk), ppk_low=_finite(est.ppk_low),
                    ppk_high=_finite(est.ppk_high)))
        for station in self.stations.values():
            if station.units_measured:
                self.model.log(ReadingsClassified(
                    now, station=station.id, units=station.units_measured,
                    false_accepts=station.false_accepts, false_rejects=station.false_rejects))

    # -- suppliers on hold --------------------------------------------------------------

    def _on_hold(self, supplier_id: str) -> bool:
        supplier = self.model.suppliers.get(supplier_id)
        return supplier is not None and supplier.on_hold

    def _quarantine_lot(self, buffer: Buffer, flags: list[bool], supplier_id: str) -> None:
        self._quarantine.setdefault(supplier_id, []).append((buffer, flags))
        self.model.log(LotQuarantined(self.kernel.now(), material=buffer.material,
                                      supplier=supplier_id, lot_size=len(flags)))

    def _hold(self, material: str, supplier_id: str) -> None:
        """Acceptance of ``supplier_id``'s lots is discontinued: hold it for its corrective
        action, and order ``material`` from the next available backup meanwhile."""
        supplier = self.model.suppliers.get(supplier_id)
        if supplier is None or supplier.on_hold:
            return
        now = self.kernel.now()
        duration_h = supplier.corrective_action_h()
        supplier.hold()
        self.model.log(SupplierHoldStarted(
            now, supplier=supplier_id, material=material,
            reason=SwitchReason.FIVE_NOT_ACCEPTED_ON_TIGHTENED.value,
            corrective_action_h=duration_h))
        buffer = self.model.buffers.get(material)
        if buffer is not None and buffer.supplier is supplier:
            why = f"hold {supplier_id}"
            backup = next((s for s in buffer.sources if not (s.lost or s.on_hold)), None)
            if backup is None:
                self.model.log(BackupMissing(now, reason=why, material=material))
            else:
                # May load the backup's drafted plan, which restarts the material's switching.
                self.model.switch_supplier(material, backup.id, reason=why)
        self.kernel.schedule(duration_h, self._end_hold, (supplier_id, material, now))

    def _end_hold(self, arg: tuple[str, str, float]) -> None:
        """The corrective action is done: inspection resumes on tightened, then the lots
        that waited are inspected."""
        supplier_id, material, since = arg
        now = self.kernel.now()
        self.model.log(SupplierHoldEnded(
            now, supplier=supplier_id, material=material,
            reason=SwitchReason.RESUMED_AFTER_CORRECTION.value, held_h=now - since))
        state = self.materials.get(material)
        if state is not None and state.switching is not None and state.switching.discontinued:
            switched = state.switching.resume()
            self.model.log(InspectionSwitched(
                now, material=material, from_state=switched.from_state.value,
                to_state=switched.to_state.value, reason=switched.reason.value))
        for buffer, flags in self._quarantine.pop(supplier_id, []):
            self._inspect(buffer, flags, supplier_id)
        self.model.suppliers[supplier_id].release()  # then what fell due during the hold

    def hold_supplier(self, supplier_id: str, material: str, *, reason: str) -> None:
        """A trigger holds ``supplier_id`` until a trigger releases it: it ships nothing,
        its delivered lots wait in quarantine, and the material is ordered from the next
        available backup (``BackupMissing`` when there is none); what it still owes that
        buffer is cancelled and ordered there instead."""
        supplier = self.model.suppliers.get(supplier_id)
        if supplier is None or supplier.on_hold or supplier.lost:
            return
        now = self.kernel.now()
        supplier.hold()
        self._trigger_holds[supplier_id] = now
        self.model.log(SupplierHoldStarted(now, supplier=supplier_id, material=material,
                                           reason=reason, corrective_action_h=None))
        self.model.activate_backup(supplier_id, reason=reason)

    def release_supplier(self, supplier_id: str, material: str, *, reason: str) -> None:
        """End a trigger's hold: the lots that waited are inspected, then it ships again.
        A hold for a corrective action (discontinued sampling) ends only when that is
        done."""
        supplier = self.model.suppliers.get(supplier_id)
        if supplier is None or supplier_id not in self._trigger_holds:
            return
        now = self.kernel.now()
        since = self._trigger_holds.pop(supplier_id)
        self.model.log(SupplierHoldEnded(now, supplier=supplier_id, material=material,
                                         reason=reason, held_h=now - since))
        for buffer, flags in self._quarantine.pop(supplier_id, []):
            self._inspect(buffer, flags, supplier_id)
        supplier.release()

    # -- comparability studies ----------------------------------------------------------
    #
    # A study runs for one (buffer, new source) and is identified by a sequence number:
    # a later switch, or a rule set without the study, makes it stale, and a stale study
    # neither releases nor refuses anything. Sources already released (the first, and
    # every one a study released) need no study when the buffer moves to them again.

    def source_switched(self, buffer: Buffer, to: Supplier | None) -> None:
        """The material's buffer moved to ``to``: where its plan requires a comparability
        study and ``to`` has not passed one, the buffer orders nothing from it until a
        study releases it."""
        material = buffer.material
        self._study_seq[material] = self._study_seq.get(material, 0) + 1  # any study is stale
        approved = self._approved.setdefault(material, {buffer.sources[0].id})
        state = self.materials.get(material)
        if to is None:
            return
        if to.id in approved or state is None or state.plan.comparability is None:
            self._sources[material] = to.id
            return
        # Compared with the released source it replaces; held until the study is done,
        # and no sooner than the qualification ends.
        reference = self._sources.get(material) or buffer.sources[0].id
        self._qualified_at[material] = buffer.ready_at_h
        buffer.ready_at_h = math.inf
        self._study_start((buffer, to.id, reference, 1, self._study_seq[material]))

    def _current(self, arg: _Study) -> Comparability | None:
        """The study's requirement if the study is still the buffer's current one."""
        buffer, to, _, _, seq = arg
        if self._study_seq.get(buffer.material) != seq or buffer.supplier.id != to:
            return None
        state = self.materials.get(buffer.material)
        study = state.plan.comparability if state is not None else None
        if study is None:
            self._released(buffer, to)  # the rules in force no longer ask for it
        return study

    def _study_start(self, arg: _Study) -> None:
        study = self._current(arg)
        if study is not None:
            self.kernel.schedule(study.lead, self._study_lab, arg)

    def _study_lab(self, arg: _Study) -> None:
        study = self._current(arg)
        if study is None:
            return
        buffer, _, reference, _, _ = arg
        state = self.materials[buffer.material]
        station = self.stations.get(study.lab or state.plan.station or "") \
            or next(iter(self.stations.values()))
        # The new source's samples are measured; so are retained samples of the old one
        # unless enough of its readings are on record.
        on_record = len(self._history(buffer.material, reference, study.characteristic)) \
            >= study.samples
        work = (1 if on_record else 2) * study.samples * study.time_per_sample
        station.arrive_lot(LotJob(buffer.material, buffer, [], 0, LotKind.SCREEN, None, 0,
                                  work, functools.partial(self._study_done, arg)))

    def _history(self, material: str, supplier: str, name: str) -> list[float]:
        record = self.quality.get(material)
        history = record.history.get((supplier, name)) if record is not None else None
        return list(history) if history is not None else []

    def _study_done(self, arg: _Study, job: LotJob, station: InspectionStation) -> None:
        """TOST of the new source's readings against the readings on record of the source
        it replaces (or, with too few on record, against retained samples of it)."""
        from shocktwin.rules_engine.equivalence import tost

        study = self._current(arg)
        if study is None:
            return
        buffer, to, reference, attempt, _ = arg
        material, name, now = buffer.material, study.characteristic, self.kernel.now()
        gauge = self.model.gauges[(material, name)]
        new = gauge.read(self._source_values(to, name, study.samples, now))
        history = self._history(material, reference, name)
        old = (np.asarray(history[-study.samples:], dtype=float)
               if len(history) >= study.samples
               else gauge.read(self._source_values(reference, name, study.samples, now)))
        try:
            result = tost(new, old, margin=study.margin, alpha=study.alpha)
            difference, low, high = result.difference, result.ci_lower, result.ci_upper
            equivalent = result.equivalent
        except RuleError:
            # No spread in either sample (a perfect gauge on constant values): the
            # difference is known exactly.
            difference = low = high = float(new.mean() - old.mean())
            equivalent = abs(difference) < study.margin
        if equivalent:
            outcome = "released"
        elif study.on_fail == "retry" and attempt < study.attempts:
            outcome = "retry"
        else:
            outcome = "refused"
        self.model.log(ComparabilityStudied(
            now, material=material, characteristic=name, from_supplier=reference,
            to_supplier=to, attempt=attempt, difference=difference, ci_lower=low,
            ci_upper=high, margin=study.margin, equivalent=equivalent, outcome=outcome))
        if outcome == "released":
            self._released(buffer, to)
        elif outcome == "retry":
            self.kernel.schedule(study.retry_after, self._study_start,
                                 (buffer, to, reference, attempt + 1, arg[4]))
        else:
            self._refused(buffer, to, reference)

    def _source_values(self, supplier_id: str, name: str, n: int, now: float) -> np.ndarray:
        for cname, values, _, _ in self.model.suppliers[supplier_id].characteristics:
            if cname == name:
                return values.draw(n, now)
        raise SimulationError(f"supplier {supplier_id!r} has no characteristic {name!r}")

    def _released(self, buffer: Buffer, to: str) -> None:
        """``to`` is released: the buffer orders from it once its qualification is done
        too."""
        material = buffer.material
        self._approved.setdefault(material, {buffer.sources[0].id}).add(to)
        self._sources[material] = to
        now = self.kernel.now()
        qualified = self._qualified_at.pop(material, now)
        buffer.ready_at_h = max(qualified, now)
        if qualified > now:
            self.kernel.schedule(qualified - now, lambda _: buffer.review())
        else:
            buffer.review()

    def _refused(self, buffer: Buffer, to: str, reference: str) -> None:
        """The change is refused: back to the source it replaced if it can still deliver,
        else on to the next backup not yet refused (studied in turn), else none."""
        refused = self._refused_sources.setdefault(buffer.material, set())
        refused.add(to)
        back = self.model.suppliers.get(reference)
        reason = f"comparability refused {to}"
        self._qualified_at.pop(buffer.material, None)
        if back is not None and not (back.lost or back.on_hold):
            self.model.switch_supplier(buffer.material, back.id, reason=reason)
            return
        nxt = next((s for s in buffer.sources if s.id not in refused and s.id != to
                    and not (s.lost or s.on_hold)), None)
        if nxt is None:
            self.model.log(BackupMissing(self.kernel.now(), reason=reason,
                                         material=buffer.material))
            return
        self.model.switch_supplier(buffer.material, nxt.id, reason=reason)

    def quarantine_stock(self, material: str, *, reason: str) -> None:
        """Quarantine the material's stock: every unit is pulled and sorted 100 % at the
        plan's incoming inspection; only the units found conforming go back to stock."""
        buffer = self.model.buffers.get(material)
        state = self.materials.get(material)
        if buffer is None or state is None:
            return
        station = self.stations[state.plan.station or next(iter(self.stations))]
        pulled = 0
        for flags in buffer.pull_recent(-math.inf):
            pulled += len(flags)
            work = sum(station.service() for _ in range(len(flags)))
            station.arrive_lot(LotJob(material, buffer, flags, 0, LotKind.SCREEN, None,
                                      len(flags), work, self._lot_done))
        self.model.log(StockQuarantined(self.kernel.now(), material=material, reason=reason,
                                        units=pulled))

    def lose_data(self, recovery_point_h: float, *, reason: str, once: bool = False) -> None:
        """Records back to the recovery point are gone: switching histories and statistics
        restart, and lots stocked since then are pulled and inspected again in full."""
        if once and reason in self._reasons:
            return
        self._reasons.add(reason)
        for material, state in list(self.materials.items()):
            self.materials[material] = MaterialState(state.plan)
        for record in self.quality.values():
            record.forget()
        self._trigger_since.clear()
        self._trigger_fired.clear()
        since = self.kernel.now() - recovery_point_h
        pulled = 0
        for buffer in self.model.buffers.values():
            planned = self.materials.get(buffer.material)
            if planned is None:
                continue
            station = self.stations[planned.plan.station or next(iter(self.stations))]
            for flags in buffer.pull_recent(since):
                pulled += len(flags)
                work = sum(station.service() for _ in range(len(flags)))
                station.arrive_lot(LotJob(buffer.material, buffer, flags, 0, LotKind.SCREEN, None,
                                          len(flags), work, self._lot_done))
        self.model.log(DataLost(self.kernel.now(), reason=reason,
                                recovery_point_h=recovery_point_h, units_reinspected=pulled))

    # -- triggers -------------------------------------------------------------------------

    def statistics(self, material: str) -> dict[str, float]:
        state = self.materials[material]
        recent = list(state.recent)
        inspected = sum(i for _, i, _ in state.found)
        found = sum(f for _, _, f in state.found)
        station = self.stations[state.plan.station or next(iter(self.stations))]
        now = self.kernel.now()
        month = [(i, f) for t, i, f in state.found if t >= now - _CPK_WINDOW_H]
        inspected_30 = sum(i for i, _ in month)
        found_30 = sum(f for _, f in month)
        buffer = self.model.buffers.get(material)
        supplier = buffer.supplier if buffer is not None else None
        recent_lots = [ok for t, ok in (supplier.deliveries if supplier else ())
                       if t >= now - _PPM_WINDOW_H]
        record = self.quality.get(material)
        cpk = cpk_low = cpk_high = ppk = math.inf
        if record is not None and supplier is not None:
            limits = {name: self._limits(state, material, name)
                      for (_, name) in record.windows}
            cpk, cpk_low, cpk_high, ppk = record.supplier_capability(supplier.id, limits,
                                                                     now)
        measured = any(owner == material for owner, _ in self.model.characteristics)
        if not math.isfinite(cpk) and not measured:
            # Attribute inspection only: the Cpk the nonconforming share found implies.
            cpk = cpk_low = cpk_high = _implied_cpk(found_30, inspected_30)
        # Signals of the current supplier's lots: a switch starts its charts and count anew.
        current = supplier.id if supplier is not None else None
        signals = {f"spc.{chart.value}.signal": 0.0 for chart in ChartType}
        if record is not None:
            for chart in signals:
                signals[chart] = float(record.signal_count(now, chart.split(".")[1], current))
        return dict(zip(MEASURED, (
            cpk,
            (sum(recent_lots) / len(recent_lots)) if recent_lots else 1.0,
            float(sum(1 for a in recent[-5:] if not a)),
            float(sum(1 for a in recent if not a)),
            float(state.accepted_in_a_row),
            state.last_defect_rate,
            1e6 * found / inspected if inspected else 0.0,
            float(len(station.queue)),
            cpk_low, cpk_high, ppk,
            record.lot_cpk if record is not None else math.inf,
            record.lot_ppk if record is not None else math.inf,
            float(record.below_in_a_row) if record is not None else 0.0,
            float(record.signal_count(now, None, current)) if record is not None else 0.0,
            *signals.values(),
        ), strict=True))

    def _evaluate(self, material: str, station: InspectionStation) -> None:
        compiled = self.compiled
        if compiled is None or not compiled.triggers or self.data_down.value > 0.0:
            return
        values = self.statistics(material)
        now = self.kernel.now()
        for trigger in compiled.triggers:
            if trigger.material not in (None, material):
                continue
            key = (trigger.id, material)
            if not trigger.condition.evaluate(values):
                self._trigger_since.pop(key, None)
                self._trigger_fired.discard(key)
                continue
            if key in self._trigger_fired:
                continue
            since = self._trigger_since.setdefault(key, now)
            if now - since >= trigger.for_h:
                self._fire(trigger, material)
            elif since == now:
                self.kernel.schedule(trigger.for_h, self._recheck, (trigger.id, material, since))

    def _recheck(self, arg: tuple[str, str, float]) -> None:
        trigger_id, material, since = arg
        key = (trigger_id, material)
        if self._trigger_since.get(key) != since or key in self._trigger_fired:
            return  # the condition broke (or the rules changed) in between
        compiled = self.compiled
        trigger = next((t for t in compiled.triggers if t.id == trigger_id), None) \
            if compiled else None
        if trigger is not None and material in self.materials:
            self._fire(trigger, material)

    def _fire(self, trigger: Any, material: str) -> None:
        self._trigger_fired.add((trigger.id, material))
        self.model.log(TriggerFired(self.kernel.now(), trigger=trigger.id, material=material,
                                    when=trigger.condition.text))
        for action in trigger.actions:
            act = ACTIONS.get(action.type)
            if act is None:  # loading refuses such rule sets; a hand-built one is refused here
                raise SimulationError(f"trigger {trigger.id}: the twin does not carry out "
                                      f"{action.type.value!r} actions")
            act(self, action, f"trigger {trigger.id}", material)


# --------------------------------------------------------------------------- actions
#
# What each trigger action does in a running twin. ``fit.SUPPORTED_ACTIONS`` is the keys of
# ACTIONS, so the check that refuses a rule set and the run that carries it out cannot drift.


def _material_state(engine: RuleEngine, action: Any) -> MaterialState | None:
    return engine.materials.get(getattr(action, "material", ""), None)


def _tighten(engine: RuleEngine, action: Any, reason: str, material: str) -> None:
    if (target := _material_state(engine, action)) is not None:
        target.override = Severity.TIGHTENED


def _normal(engine: RuleEngine, action: Any, reason: str, material: str) -> None:
    if (target := _material_state(engine, action)) is not None:
        target.override = None
        if target.switching is not None and target.switching.severity != Severity.NORMAL:
            target.switching.require_normal()


def _inspect_full(engine: RuleEngine, action: Any, reason: str, material: str) -> None:
    if (target := _material_state(engine, action)) is not None:
        target.full_lots += action.lots


def _switch_supplier(engine: RuleEngine, action: Any, reason: str, material: str) -> None:
    engine.model.switch_supplier(material, action.to, reason=reason)


def _load_rules(engine: RuleEngine, action: Any, reason: str, material: str) -> None:
    folder = engine.ruleset_path.parent if engine.ruleset_path else None
    engine.model.reload_rules(action.file, reason=reason, relative_to=folder)


def _hold_supplier(engine: RuleEngine, action: Any, reason: str, material: str) -> None:
    buffer = engine.model.buffers.get(material)
    supplier_id = action.supplier or (buffer.supplier.id if buffer is not None else None)
    if supplier_id is not None:
        engine.hold_supplier(supplier_id, material, reason=reason)


def _release_supplier(engine: RuleEngine, action: Any, reason: str, material: str) -> None:
    engine.release_supplier(action.supplier, material, reason=reason)


def _quarantine(engine: RuleEngine, action: Any, reason: str, material: str) -> None:
    engine.quarantine_stock(action.material, reason=reason)


#: Trigger actions the twin carries out, and how.
ACTIONS: Mapping[ActionType, Callable[[RuleEngine, Any, str, str], None]] = MappingProxyType({
    ActionType.TIGHTEN: _tighten, ActionType.NORMAL: _normal,
    ActionType.INSPECT_FULL: _inspect_full, ActionType.SWITCH_SUPPLIER: _switch_supplier,
    ActionType.LOAD_RULES: _load_rules, ActionType.HOLD_SUPPLIER: _hold_supplier,
    ActionType.RELEASE_SUPPLIER: _release_supplier, ActionType.QUARANTINE: _quarantine,
})


def _implied_cpk(found: int, inspected: int) -> float:
    """The Cpk a normal process would need to make the nonconforming share found,
    Φ⁻¹(1 − p) / 3 (one-sided), capped at 2.0. With nothing found (or nothing inspected)
    it is 2.0: attribute samples of a few thousand cannot show a Cpk of 1.33 (32 ppm) either
    way, so only nonconforming units found count as evidence against the supplier."""
    from scipy.stats import norm

    if inspected <= 0 or found <= 0:
        return 2.0
    p = min(found / inspected, 1.0 - 1e-12)
    return float(min(norm.ppf(1.0 - p) / 3.0, 2.0))


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _remove(flags: list[bool], value: bool, count: int) -> None:
    """Take ``count`` units with defect flag ``value`` out of a lot."""
    i = len(flags) - 1
    while count > 0 and i >= 0:
        if flags[i] is value:
            del flags[i]
            count -= 1
        i -= 1

