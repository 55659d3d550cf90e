"""Switching rules, fed hand-built lot sequences with the outcome the standard prescribes."""

from __future__ import annotations

import pytest

from shocktwin.rules_engine.sampling import Severity, single_sampling_plan
from shocktwin.rules_engine.switching import (
    InspectionState,
    InspectionSwitched,
    LotOutcome,
    SwitchingProcedure,
    SwitchingVariant,
    SwitchReason,
)

ACCEPT, REJECT = True, False


def _feed(procedure: SwitchingProcedure, accepted: list[bool]) -> list[InspectionSwitched | None]:
    """Lots with Ac 1 / Re 2: 0 nonconforming when accepted, 2 when not."""
    return [
        procedure.record(LotOutcome(accepted=a, nonconforming=0 if a else 2, ac=1, re=2))
        for a in accepted
    ]


def _counts(procedure: SwitchingProcedure, lot_size: int, aql: str, counts: list[int]) -> None:
    for count in counts:
        plan = single_sampling_plan(lot_size, "II", aql, procedure.severity)
        procedure.record(LotOutcome.from_plan(plan, count))


@pytest.mark.parametrize("variant", list(SwitchingVariant))
def test_two_not_accepted_within_five_lots_tightens(variant: SwitchingVariant) -> None:
    procedure = SwitchingProcedure(variant)
    events = _feed(procedure, [ACCEPT, REJECT, ACCEPT, ACCEPT, REJECT])
    assert events[:4] == [None] * 4
    assert events[4] == InspectionSwitched(
        after_lot=5,
        from_state=InspectionState.NORMAL,
        to_state=InspectionState.TIGHTENED,
        reason=SwitchReason.TWO_NOT_ACCEPTED_IN_FIVE,
    )
    assert procedure.severity is Severity.TIGHTENED


def test_two_not_accepted_six_lots_apart_stay_on_normal() -> None:
    procedure = SwitchingProcedure()
    _feed(procedure, [REJECT, ACCEPT, ACCEPT, ACCEPT, ACCEPT, REJECT])
    assert procedure.state is InspectionState.NORMAL
    assert procedure.history == ()


def test_five_consecutive_accepted_on_tightened_return_to_normal() -> None:
    procedure = SwitchingProcedure(start=Severity.TIGHTENED)
    events = _feed(procedure, [ACCEPT, ACCEPT, ACCEPT, ACCEPT, REJECT, ACCEPT, ACCEPT, ACCEPT])
    assert procedure.state is InspectionState.TIGHTENED  # the reject broke the run of four
    events += _feed(procedure, [ACCEPT, ACCEPT])
    assert procedure.state is InspectionState.NORMAL
    assert events[-1] is not None
    assert events[-1].reason is SwitchReason.FIVE_ACCEPTED_ON_TIGHTENED
    assert events[-1].after_lot == 10


def test_five_not_accepted_in_one_tightened_run_discontinue() -> None:
    procedure = SwitchingProcedure(start=Severity.TIGHTENED)
    _feed(procedure, [REJECT, ACCEPT, REJECT, ACCEPT, ACCEPT, REJECT, REJECT])
    assert procedure.state is InspectionState.TIGHTENED  # four so far, not consecutive
    (event,) = _feed(procedure, [REJECT])
    assert event is not None and event.reason is SwitchReason.FIVE_NOT_ACCEPTED_ON_TIGHTENED
    assert procedure.discontinued
    assert procedure.severity is Severity.TIGHTENED  # where inspection will resume
    with pytest.raises(RuntimeError, match="discontinued"):
        _feed(procedure, [ACCEPT])


def test_resumed_inspection_starts_a_fresh_tightened_run() -> None:
    procedure = SwitchingProcedure(start=Severity.TIGHTENED)
    _feed(procedure, [REJECT] * 5)
    event = procedure.resume()
    assert event.reason is SwitchReason.RESUMED_AFTER_CORRECTION
    assert procedure.state is InspectionState.TIGHTENED
    _feed(procedure, [REJECT] * 4)
    assert not procedure.discontinued
    with pytest.raises(RuntimeError):
        SwitchingProcedure().resume()


@pytest.mark.parametrize("variant", list(SwitchingVariant))
def test_any_lot_not_accepted_on_reduced_returns_to_normal(variant: SwitchingVariant) -> None:
    procedure = SwitchingProcedure(variant, start=Severity.REDUCED)
    _feed(procedure, [ACCEPT, ACCEPT, ACCEPT])
    assert procedure.state is InspectionState.REDUCED
    (event,) = _feed(procedure, [REJECT])
    assert event is not None and event.reason is SwitchReason.NOT_ACCEPTED_ON_REDUCED
    assert procedure.state is InspectionState.NORMAL


def test_z14_count_between_ac_and_re_accepts_but_returns_to_normal() -> None:
    procedure = SwitchingProcedure(SwitchingVariant.Z14, start=Severity.REDUCED)
    plan = single_sampling_plan(1000, "II", "1.0", Severity.REDUCED)  # 32 / Ac 1 / Re 3
    outcome = LotOutcome.from_plan(plan, 2)
    assert outcome.accepted
    event = procedure.record(outcome)
    assert event is not None and event.reason is SwitchReason.COUNT_BETWEEN_AC_AND_RE
    assert procedure.state is InspectionState.NORMAL


def test_z14_ten_accepted_normal_lots_allow_reduced() -> None:
    procedure = SwitchingProcedure(SwitchingVariant.Z14)
    events = _feed(procedure, [ACCEPT] * 10)
    assert events[:9] == [None] * 9
    assert events[9] is not None and events[9].reason is SwitchReason.TEN_ACCEPTED_ON_NORMAL
    assert procedure.severity is Severity.REDUCED


def test_a_rejection_restarts_the_count_of_ten() -> None:
    procedure = SwitchingProcedure(SwitchingVariant.Z14)
    _feed(procedure, [ACCEPT] * 9 + [REJECT] + [ACCEPT] * 9)
    assert procedure.state is InspectionState.NORMAL
    _feed(procedure, [ACCEPT])
    assert procedure.state is InspectionState.REDUCED
    assert procedure.history[-1].after_lot == 20


@pytest.mark.parametrize(("steady", "approved"), [(False, True), (True, False)])
def test_reduced_needs_steady_production_and_the_authority(steady: bool, approved: bool) -> None:
    for variant in SwitchingVariant:
        procedure = SwitchingProcedure(variant, production_steady=steady, reduced_approved=approved)
        _feed(procedure, [ACCEPT] * 40)
        assert procedure.state is InspectionState.NORMAL, variant


def test_irregular_production_ends_reduced_inspection() -> None:
    procedure = SwitchingProcedure(start=Severity.REDUCED)
    _feed(procedure, [ACCEPT] * 3)
    event = procedure.set_production_steady(False)
    assert event == InspectionSwitched(
        3, InspectionState.REDUCED, InspectionState.NORMAL, SwitchReason.PRODUCTION_IRREGULAR
    )
    _feed(procedure, [ACCEPT] * 12)
    assert procedure.state is InspectionState.NORMAL  # not steady: no way back to reduced


def test_iso_score_with_ac_two_or_more_counts_acceptance_at_the_tighter_aql() -> None:
    # Lot 1000 @ II, AQL 2.5 normal: J, n 80, Ac 5; one step tighter (1.5) the same sample
    # has Ac 3. Counts of 2 add 3 each; the count of 4 in lot 7 accepts the lot but would
    # not have been accepted at 1.5, so the score returns to 0 there. By hand:
    #   lots 1-6: 3 6 9 12 15 18; lot 7: 0; lots 8-17: 3 6 ... 30 → reduced after lot 17.
    counts = [2, 2, 2, 2, 2, 2, 4] + [2] * 10
    iso = SwitchingProcedure(SwitchingVariant.ISO2859)
    _counts(iso, 1000, "2.5", counts[:6])
    assert iso.switching_score == 18
    _counts(iso, 1000, "2.5", counts[6:7])
    assert iso.switching_score == 0
    _counts(iso, 1000, "2.5", counts[7:16])
    assert iso.switching_score == 27
    assert iso.state is InspectionState.NORMAL
    _counts(iso, 1000, "2.5", counts[16:])
    assert iso.state is InspectionState.REDUCED
    assert iso.history[-1].reason is SwitchReason.SWITCHING_SCORE_REACHED
    assert iso.history[-1].after_lot == 17

    # The same lots under Z1.4: ten accepted lots suffice, whatever the count.
    z14 = SwitchingProcedure(SwitchingVariant.Z14)
    _counts(z14, 1000, "2.5", counts[:10])
    assert z14.state is InspectionState.REDUCED
    assert z14.history[-1].after_lot == 10


def test_iso_score_with_ac_zero_or_one_needs_fifteen_accepted_lots() -> None:
    # Lot 1000 @ II, AQL 0.65: J, n 80, Ac 1 → 2 points per accepted lot, 30 after 15.
    iso = SwitchingProcedure(SwitchingVariant.ISO2859)
    _counts(iso, 1000, "0.65", [1] * 14)
    assert (iso.switching_score, iso.state) == (28, InspectionState.NORMAL)
    _counts(iso, 1000, "0.65", [0])
    assert iso.state is InspectionState.REDUCED


def test_iso_score_resets_on_a_rejected_lot() -> None:
    iso = SwitchingProcedure(SwitchingVariant.ISO2859)
    _counts(iso, 1000, "0.65", [0, 0, 0, 2])
    assert iso.switching_score == 0
    assert iso.state is InspectionState.NORMAL  # one rejection alone does not tighten


def test_iso_score_without_the_tighter_acceptance_number_is_misuse() -> None:
    iso = SwitchingProcedure(SwitchingVariant.ISO2859)
    with pytest.raises(ValueError, match="ac_one_step_tighter"):
        iso.record(LotOutcome(accepted=True, nonconforming=0, ac=2, re=3))


def test_resubmitted_lots_are_not_counted() -> None:
    procedure = SwitchingProcedure()
    _feed(procedure, [REJECT])
    resubmitted = LotOutcome(accepted=False, nonconforming=2, ac=1, re=2, resubmitted=True)
    assert procedure.record(resubmitted) is None
    assert procedure.lots_counted == 1
    assert procedure.state is InspectionState.NORMAL


def test_an_outcome_that_contradicts_its_plan_is_misuse() -> None:
    with pytest.raises(ValueError):
        LotOutcome(accepted=True, nonconforming=3, ac=2, re=3)
    with pytest.raises(ValueError):
        LotOutcome(accepted=False, nonconforming=-1, ac=2, re=3)


def test_history_lists_every_switch_in_order() -> None:
    procedure = SwitchingProcedure(SwitchingVariant.Z14)
    _feed(procedure, [REJECT, REJECT] + [ACCEPT] * 5 + [ACCEPT] * 10 + [REJECT])
    assert [(e.after_lot, e.to_state) for e in procedure.history] == [
        (2, InspectionState.TIGHTENED),
        (7, InspectionState.NORMAL),
        (17, InspectionState.REDUCED),
        (18, InspectionState.NORMAL),
    ]


def test_counts_restart_when_the_severity_changes() -> None:
    # The rejection that ends reduced inspection is not one of the "2 in 5" on normal.
    procedure = SwitchingProcedure(start=Severity.REDUCED)
    _feed(procedure, [REJECT, REJECT])
    assert procedure.state is InspectionState.NORMAL
    _feed(procedure, [REJECT])
    assert procedure.state is InspectionState.TIGHTENED
    assert [e.after_lot for e in procedure.history] == [1, 3]
