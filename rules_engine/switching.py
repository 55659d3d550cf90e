"""Switching between normal, tightened and reduced inspection, lot by lot.

A :class:`SwitchingProcedure` is fed the outcome of each lot's original inspection and keeps
the severity to use for the next lot, with a history of every switch. Two variants:

``z14``
    MIL-STD-105E / ANSI/ASQ Z1.4. Normal → reduced after 10 consecutive lots accepted on
    normal inspection. The further Table VIII condition (the total nonconforming in those
    10 samples within a limit number) is waived, as Z1.4 permits, because Table VIII is not
    bundled. Reduced → normal when a lot is not accepted or is accepted with a count above
    Ac and below Re.
``iso2859``
    ISO 2859-1:1999. Normal → reduced when the switching score reaches 30. The score starts
    at 0 on entering normal inspection; after each lot with Ac ≤ 1 it gains 2 if the lot is
    accepted, with Ac ≥ 2 it gains 3 if the lot would have been accepted at the AQL one step
    tighter (same sample); otherwise it returns to 0. A score of 30 implies at least 10
    consecutive accepted lots on normal inspection.

Both variants: normal → tightened when 2 of 5 or fewer consecutive lots are not accepted;
tightened → normal after 5 consecutive accepted lots; inspection is discontinued when 5 lots
in one uninterrupted run of tightened inspection are not accepted (cumulative, not
necessarily consecutive) and resumes on tightened after the supplier's correction. Reduced
inspection also needs production at a steady rate and the responsible authority's consent;
irregular production returns it to normal. Resubmitted lots are not counted. Every count
runs within the current uninterrupted stretch of one severity, so a switch restarts them all
(a lot rejected on reduced inspection is not one of the "2 in 5" on the normal that follows).

ISO 2859-1:1999 has the same normal and tightened plans as Z1.4 but a different reduced
table (Re = Ac + 1) and the switching score above. The bundled reduced table
(:mod:`rules_engine.sampling`) is the Z1.4 one; with ISO plans a count between Ac and Re
cannot occur on reduced inspection, so returning to normal on it is harmless there.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from enum import StrEnum

from shocktwin.rules_engine.sampling import (
    SamplingPlan,
    Severity,
    acceptance_number_one_step_tighter,
)

__all__ = [
    "InspectionState",
    "InspectionSwitched",
    "LotOutcome",
    "SwitchReason",
    "SwitchingProcedure",
    "SwitchingVariant",
]

# Counts from the switching rules, shared by both variants.
_TIGHTEN_WINDOW_LOTS = 5
_TIGHTEN_NOT_ACCEPTED = 2
_RELAX_ACCEPTED_IN_A_ROW = 5
_DISCONTINUE_NOT_ACCEPTED = 5
_REDUCE_ACCEPTED_IN_A_ROW = 10
_REDUCE_SCORE = 30
_SCORE_STEP_AC_0_1 = 2
_SCORE_STEP_AC_2_UP = 3


class SwitchingVariant(StrEnum):
    """Which standard's switching rules apply."""

    Z14 = "z14"
    ISO2859 = "iso2859"


class InspectionState(StrEnum):
    """Where the procedure stands: one of the three severities, or discontinued."""

    NORMAL = "normal"
    TIGHTENED = "tightened"
    REDUCED = "reduced"
    DISCONTINUED = "discontinued"


class SwitchReason(StrEnum):
    """Why the inspection state changed."""

    TWO_NOT_ACCEPTED_IN_FIVE = "two_not_accepted_in_five"
    FIVE_ACCEPTED_ON_TIGHTENED = "five_accepted_on_tightened"
    TEN_ACCEPTED_ON_NORMAL = "ten_accepted_on_normal"
    SWITCHING_SCORE_REACHED = "switching_score_reached"
    NOT_ACCEPTED_ON_REDUCED = "not_accepted_on_reduced"
    COUNT_BETWEEN_AC_AND_RE = "count_between_ac_and_re"
    PRODUCTION_IRREGULAR = "production_irregular"
    NORMAL_REQUIRED = "normal_required"
    FIVE_NOT_ACCEPTED_ON_TIGHTENED = "five_not_accepted_on_tightened"
    RESUMED_AFTER_CORRECTION = "resumed_after_correction"


@dataclass(frozen=True)
class LotOutcome:
    """Result of one lot's inspection, as the switching rules need it.

    ``ac_one_step_tighter`` is needed only by the ISO switching score when ``ac`` ≥ 2;
    :meth:`from_plan` fills it from the tables.
    """

    accepted: bool
    nonconforming: int
    ac: int
    re: int
    ac_one_step_tighter: int | None = None
    resubmitted: bool = False

    def __post_init__(self) -> None:
        if self.nonconforming < 0 or self.ac < 0 or self.re <= self.ac:
            raise ValueError(
                f"inconsistent lot outcome: nonconforming={self.nonconforming}, "
                f"ac={self.ac}, re={self.re}"
            )
        if self.accepted and self.nonconforming >= self.re:
            raise ValueError(f"a lot with {self.nonconforming} ≥ Re {self.re} cannot be accepted")

    @classmethod
    def from_plan(
        cls, plan: SamplingPlan, nonconforming: int, *, resubmitted: bool = False
    ) -> LotOutcome:
        """Outcome of inspecting a lot with ``plan``: accepted when the count is below Re."""
        return cls(
            accepted=nonconforming < plan.re,
            nonconforming=nonconforming,
            ac=plan.ac,
            re=plan.re,
            ac_one_step_tighter=acceptance_number_one_step_tighter(plan),
            resubmitted=resubmitted,
        )


@dataclass(frozen=True)
class InspectionSwitched:
    """The inspection state changed after lot ``after_lot`` (1-based; 0 = before any lot)."""

    after_lot: int
    from_state: InspectionState
    to_state: InspectionState
    reason: SwitchReason


_STATE_OF: dict[Severity, InspectionState] = {
    Severity.NORMAL: InspectionState.NORMAL,
    Severity.TIGHTENED: InspectionState.TIGHTENED,
    Severity.REDUCED: InspectionState.REDUCED,
}


class SwitchingProcedure:
    """The switching rules as a state machine over original inspections of lots.

    Args:
        variant: which standard's rules apply.
        start: severity of the first lot; normal unless the responsible party decides
            otherwise.
        production_steady: production is at a steady rate (a condition for reduced).
        reduced_approved: the responsible authority agrees to reduced inspection.
    """

    def __init__(
        self,
        variant: SwitchingVariant = SwitchingVariant.Z14,
        *,
        start: Severity = Severity.NORMAL,
        production_steady: bool = True,
        reduced_approved: bool = True,
    ) -> None:
        self._variant = SwitchingVariant(variant)
        self._state = _STATE_OF[Severity(start)]
        self._production_steady = production_steady
        self._reduced_approved = reduced_approved
        self._lots = 0
        self._history: list[InspectionSwitched] = []
        self._normal_window: deque[bool] = deque(maxlen=_TIGHTEN_WINDOW_LOTS)
        self._accepted_in_a_row = 0
        self._not_accepted_on_tightened = 0
        self._score = 0

    @property
    def variant(self) -> SwitchingVariant:
        return self._variant

    def resume_at(self, severity: Severity) -> None:
        """Continue from ``severity`` (a warm start), with the counts of a fresh start in
        that state."""
        self._state = _STATE_OF[Severity(severity)]

    @property
    def state(self) -> InspectionState:
        """Current state, including discontinued."""
        return self._state

    @property
    def severity(self) -> Severity:
        """Severity for the next lot; while discontinued, tightened (where inspection resumes)."""
        if self._state is InspectionState.DISCONTINUED:
            return Severity.TIGHTENED
        return Severity(self._state.value)

    @property
    def discontinued(self) -> bool:
        return self._state is InspectionState.DISCONTINUED

    @property
    def switching_score(self) -> int:
        """ISO 2859-1 switching score in the current normal run (0 outside normal)."""
        return self._score

    @property
    def lots_counted(self) -> int:
        """Original inspections recorded so far (resubmissions excluded)."""
        return self._lots

    @property
    def history(self) -> tuple[InspectionSwitched, ...]:
        return tuple(self._history)

    def record(self, outcome: LotOutcome) -> InspectionSwitched | None:
        """Apply one lot's outcome; return the switch it caused, if any.

        Raises:
            RuntimeError: inspection is discontinued (call :meth:`resume` first).
            ValueError: the ISO score needs ``ac_one_step_tighter`` and it is missing.
        """
        if self._state is InspectionState.DISCONTINUED:
            raise RuntimeError("inspection is discontinued; resume() after the correction")
        if outcome.resubmitted:
            return None
        self._lots += 1
        if self._state is InspectionState.NORMAL:
            return self._after_normal_lot(outcome)
        if self._state is InspectionState.TIGHTENED:
            return self._after_tightened_lot(outcome)
        return self._after_reduced_lot(outcome)

    def set_production_steady(self, steady: bool) -> InspectionSwitched | None:
        """Report whether production runs at a steady rate; irregular production ends reduced."""
        self._production_steady = steady
        if not steady and self._state is InspectionState.REDUCED:
            return self._switch(InspectionState.NORMAL, SwitchReason.PRODUCTION_IRREGULAR)
        return None

    def require_normal(self) -> InspectionSwitched | None:
        """Leave reduced inspection because other conditions make normal necessary."""
        if self._state is InspectionState.REDUCED:
            return self._switch(InspectionState.NORMAL, SwitchReason.NORMAL_REQUIRED)
        return None

    def resume(self) -> InspectionSwitched:
        """Restart discontinued inspection, on tightened, after the supplier's correction.

        Raises:
            RuntimeError: inspection is not discontinued.
        """
        if self._state is not InspectionState.DISCONTINUED:
            raise RuntimeError("inspection is not discontinued")
        return self._switch(InspectionState.TIGHTENED, SwitchReason.RESUMED_AFTER_CORRECTION)

    def _after_normal_lot(self, outcome: LotOutcome) -> InspectionSwitched | None:
        self._normal_window.append(outcome.accepted)
        self._update_score(outcome)
        if not outcome.accepted:
            self._accepted_in_a_row = 0
            not_accepted = self._normal_window.count(False)
            if not_accepted >= _TIGHTEN_NOT_ACCEPTED:
                return self._switch(
                    InspectionState.TIGHTENED, SwitchReason.TWO_NOT_ACCEPTED_IN_FIVE
                )
            return None
        self._accepted_in_a_row += 1
        if not (self._production_steady and self._reduced_approved):
            return None
        if self._variant is SwitchingVariant.Z14:
            if self._accepted_in_a_row >= _REDUCE_ACCEPTED_IN_A_ROW:
                return self._switch(InspectionState.REDUCED, SwitchReason.TEN_ACCEPTED_ON_NORMAL)
        elif self._score >= _REDUCE_SCORE:
            return self._switch(InspectionState.REDUCED, SwitchReason.SWITCHING_SCORE_REACHED)
        return None

    def _update_score(self, outcome: LotOutcome) -> None:
        if self._variant is not SwitchingVariant.ISO2859:
            return
        if outcome.ac <= 1:
            self._score = self._score + _SCORE_STEP_AC_0_1 if outcome.accepted else 0
            return
        if outcome.ac_one_step_tighter is None:
            raise ValueError(
                "the ISO 2859-1 switching score needs ac_one_step_tighter when Ac ≥ 2; "
                "build the outcome with LotOutcome.from_plan"
            )
        accepted_tighter = outcome.accepted and outcome.nonconforming <= outcome.ac_one_step_tighter
        self._score = self._score + _SCORE_STEP_AC_2_UP if accepted_tighter else 0

    def _after_tightened_lot(self, outcome: LotOutcome) -> InspectionSwitched | None:
        if outcome.accepted:
            self._accepted_in_a_row += 1
            if self._accepted_in_a_row >= _RELAX_ACCEPTED_IN_A_ROW:
                return self._switch(InspectionState.NORMAL, SwitchReason.FIVE_ACCEPTED_ON_TIGHTENED)
            return None
        self._accepted_in_a_row = 0
        self._not_accepted_on_tightened += 1
        if self._not_accepted_on_tightened >= _DISCONTINUE_NOT_ACCEPTED:
            return self._switch(
                InspectionState.DISCONTINUED, SwitchReason.FIVE_NOT_ACCEPTED_ON_TIGHTENED
            )
        return None

    def _after_reduced_lot(self, outcome: LotOutcome) -> InspectionSwitched | None:
        if not outcome.accepted:
            return self._switch(InspectionState.NORMAL, SwitchReason.NOT_ACCEPTED_ON_REDUCED)
        if outcome.nonconforming > outcome.ac:
            return self._switch(InspectionState.NORMAL, SwitchReason.COUNT_BETWEEN_AC_AND_RE)
        return None

    def _switch(self, to_state: InspectionState, reason: SwitchReason) -> InspectionSwitched:
        event = InspectionSwitched(self._lots, self._state, to_state, reason)
        self._history.append(event)
        self._state = to_state
        self._reset_counters()
        return event

    def _reset_counters(self) -> None:
        # Every rule counts lots within the current uninterrupted run of one severity, so a
        # switch starts all counts afresh (the ISO score "starts at 0 on normal inspection").
        self._normal_window.clear()
        self._accepted_in_a_row = 0
        self._not_accepted_on_tightened = 0
        self._score = 0
