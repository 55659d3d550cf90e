"""Page one of the report: the decision a management review takes from it.

Every indicator the results (or the history's review) hold is read into a :class:`Reading`
— the MTD of each shock, the minimum recovery guarantee rate of each shock, and each
scenario's hypothesis share — with its interval, its target and its state, and, from the
history, the same reading of the review before. From them: an overall verdict in one line,
the two review indicators against their targets, the top risks ranked by exposure (the gap
to target; or a screen's risk-exposure index when one is given) and the recommendations
(mitigations recorded in the suite or found by ``optimize``, each with its cost).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from shocktwin.reports._folders import ResultsFolder, is_number
from shocktwin.reports._history import History, HistoryRow
from shocktwin.reports._html import badge, e, note, state_badge, table
from shocktwin.reports._i18n import hours, num, pct, t

__all__ = ["INDICATORS", "Reading", "Verdict", "overall", "page_one", "readings_of_folders",
           "readings_of_history", "run_verdict"]

#: The indicators page one speaks of, in order.
MTD, GUARANTEE, HYPOTHESIS = "mtd", "recovery_guarantee", "hypothesis_share"
INDICATORS = (MTD, GUARANTEE, HYPOTHESIS)
_TOKENS = ("below_range", "above_range")
#: Risks and recommendations shown on page one.
TOP = 5


def _num(value: object) -> float | None:
    if not is_number(value):
        return None
    x = float(value)
    return x if math.isfinite(x) else None


def _value(value: object) -> float | str | None:
    """A number, a censoring token (below_range / above_range), or None."""
    if isinstance(value, str) and value in _TOKENS:
        return value
    return _num(value)


# --------------------------------------------------------------------------- verdicts


@dataclass(frozen=True)
class Verdict:
    """A run's verdict on its steady-state hypothesis: the state (holds, violated,
    undecided, none), the replications in which every tolerance held, and the Wilson
    interval of that share."""

    state: str
    held: int | None
    n: int | None
    share: float | None
    low: float | None
    high: float | None
    required: float | None
    level: float = 0.95


def _tolerances(scenario: Mapping[str, Any]) -> list[dict[str, Any]]:
    hyp = scenario.get("hypothesis")
    tols = hyp.get("tolerances") if isinstance(hyp, dict) else None
    return [x for x in tols if isinstance(x, dict) and x.get("kpi")] if isinstance(
        tols, list) else []


def _held_together(folder: ResultsFolder) -> tuple[int, int] | None:
    """Replications in which every tolerance held, of those run (from the KPI values)."""
    import numpy as np

    from shocktwin.kpis import kpi_key

    values = folder.kpi_values()
    n = max((v.size for v in values.values()), default=0)
    tols = _tolerances(folder.scenario)
    if not n or not tols:
        return None
    together = np.ones(n, dtype=bool)
    for tol in tols:
        key = kpi_key(str(tol["kpi"]), str(tol["product"]) if tol.get("product") else None)
        col = np.asarray(values.get(key, np.full(n, np.nan)), dtype=float)
        ok = np.isfinite(col)
        lo, hi = _num(tol.get("min")), _num(tol.get("max"))
        if lo is not None:
            ok &= ~(col < lo)
        if hi is not None:
            ok &= ~(col > hi)
        together &= ok
    return int(together.sum()), n


def run_verdict(folder: ResultsFolder) -> Verdict:
    """The run's verdict: as its journal states it (``RunFinished.verdict``), or, in a
    journal from before verdict states, decided again by the same rule from the KPI values
    (Wilson interval of the held share at 95 %: its low end ≥ the required share → holds,
    its high end below it → violated, else undecided; a required share of 100 % holds only
    when every replication held). A scenario without tolerances has no verdict."""
    from shocktwin.interval import wilson_interval

    hyp = folder.scenario.get("hypothesis")
    required = _num(hyp.get("probability")) if isinstance(hyp, dict) else None
    finished = next((r for r in folder.records if r.get("kind") == "RunFinished"), {})
    if not _tolerances(folder.scenario):
        return Verdict("none", None, None, None, None, None, None)
    counted = _held_together(folder)
    held, n = counted if counted else (None, None)
    stated = finished.get("verdict")
    if isinstance(stated, str) and stated in ("holds", "violated", "undecided", "none"):
        held = int(finished["held"]) if is_number(finished.get("held")) else held
        n_stated = finished.get("n")
        n = int(n_stated) if is_number(n_stated) else n
        low, high = _num(finished.get("share_low")), _num(finished.get("share_high"))
        level = _num(finished.get("level")) or 0.95
        if (low is None or high is None) and held is not None and n:
            w = wilson_interval(held, n, level)
            low, high = w.low, w.high
        share = held / n if held is not None and n else None
        return Verdict(stated, held, n, share, low, high, required, level)
    if held is None or not n:
        return Verdict("undecided", None, None, None, None, None, required)
    w = wilson_interval(held, n)
    need = 1.0 if required is None else required
    if need >= 1.0:
        state = "holds" if held == n else "violated"
    elif w.low >= need:
        state = "holds"
    elif w.high < need:
        state = "violated"
    else:
        state = "undecided"
    return Verdict(state, held, n, held / n, w.low, w.high, required)


# --------------------------------------------------------------------------- readings


@dataclass(frozen=True)
class Reading:
    """One indicator of one shock (or of a scenario's hypothesis) with its interval, target
    and state; ``previous`` is the same reading in the review before, when known."""

    scenario: str
    shock: str
    indicator: str
    value: float | str | None
    low: float | str | None
    high: float | str | None
    unit: str
    target: float | None
    #: passed, failed, undecided, not_converged, no_target; for a hypothesis: holds,
    #: violated, undecided, none.
    state: str
    runs: int | None = None
    replications: int | None = None
    severity: float | None = None
    range: tuple[float, float] | None = None
    axis: str = ""
    detail: dict[str, Any] = field(default_factory=dict)
    previous: Reading | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.scenario, self.shock, self.indicator)

    @property
    def meets(self) -> bool | None:
        """Whether the target is met (None: no target, or not decided)."""
        return {"passed": True, "holds": True, "failed": False, "violated": False}.get(
            self.state)

    @property
    def gap(self) -> float | None:
        """How far the reading falls short of its target, as a share of the target (MTD) or
        in points of the share (rates): > 0 short, ≤ 0 met with that margin."""
        if self.target is None:
            return None
        value = self.value
        if value == "below_range":
            value = self.range[0] if self.range else 0.0
        elif value == "above_range":
            value = self.range[1] if self.range else None
        if not isinstance(value, float | int):
            return None
        if self.indicator == MTD:
            return (self.target - value) / self.target if self.target > 0 else None
        return self.target - value


def _guarantee_state(state: object) -> str:
    return {"meets": "passed", "misses": "failed", "undecided": "undecided"}.get(
        str(state), "no_target")


def _guarantee_reading(scenario: str, g: Mapping[str, Any], runs: int | None) -> Reading:
    return Reading(scenario=scenario, shock=str(g.get("shock") or ""), indicator=GUARANTEE,
                   value=_num(g.get("rate")), low=_num(g.get("low")), high=_num(g.get("high")),
                   unit="share", target=_num(g.get("target")),
                   state=_guarantee_state(g.get("state")), runs=runs,
                   replications=int(g["n"]) if is_number(g.get("n")) else None,
                   severity=_num(g.get("severity")), detail=dict(g))


def _run_guarantees(folder: ResultsFolder) -> list[Mapping[str, Any]]:
    """The recovery guarantees a run measured for its shocks, wherever its journal holds
    them (the run's closing record, or records of their own)."""
    out: list[Mapping[str, Any]] = []
    for r in folder.records:
        if r.get("kind") == "RunFinished":
            for key in ("recovery", "guarantees", "recovery_guarantees"):
                value = r.get(key)
                if isinstance(value, list):
                    out += [g for g in value if isinstance(g, dict)]
        elif "Guarantee" in str(r.get("kind")) and "rate" in r:
            out.append(r)
    return out


def _mtd_state(s: Mapping[str, Any]) -> str:
    if s.get("status") == "not_converged":
        return "not_converged"
    meets = s.get("meets_target")
    if s.get("target") is None or meets is None:
        return "no_target"
    return "passed" if meets else "failed"


def readings_of_folders(folders: Sequence[ResultsFolder]) -> list[Reading]:
    """Every indicator the results folders hold."""
    out: list[Reading] = []
    for f in folders:
        if f.journal is not None:
            v = run_verdict(f)
            out.append(Reading(scenario=f.name, shock="", indicator=HYPOTHESIS, value=v.share,
                               low=v.low, high=v.high, unit="share", target=v.required,
                               state=v.state, replications=v.n,
                               detail={"held": v.held, "n": v.n, "level": v.level}))
            out += [_guarantee_reading(f.name, g, None) for g in _run_guarantees(f)]
        for s in (f.mtd or {}).get("shocks", []):
            ci = s.get("ci95") if isinstance(s.get("ci95"), list) else [None, None]
            rng = s.get("range")
            runs = s.get("runs")
            out.append(Reading(
                scenario=f.name, shock=str(s.get("shock")), indicator=MTD,
                value=_value(s.get("mtd")), low=_value(ci[0]), high=_value(ci[1]),
                unit=str(s.get("unit") or ""), target=_num(s.get("target")),
                state=_mtd_state(s), runs=int(runs) if is_number(runs) else None,
                replications=int(s["replications"]) if is_number(s.get("replications"))
                else None,
                range=(float(rng[0]), float(rng[1])) if isinstance(rng, list) and len(rng) == 2
                and all(is_number(x) for x in rng) else None,
                axis=str(s.get("axis") or ""), detail=dict(s)))
            g = s.get("guarantee")
            if isinstance(g, dict):
                out.append(_guarantee_reading(f.name, {"shock": s.get("shock"), **g},
                                              int(runs) if is_number(runs) else None))
    return out


_HISTORY_STATE = {"passed": "passed", "failed": "failed", "undecided": "undecided",
                  "not_converged": "not_converged", "below_range": "failed",
                  "above_range": "passed", "no_target": "no_target"}
_HYPOTHESIS_STATE = {"passed": "holds", "failed": "violated", "undecided": "undecided",
                     "no_target": "none"}


def _of_row(row: HistoryRow) -> Reading:
    detail = row.detail
    value: float | str | None = row.value
    if row.indicator == MTD and row.status in _TOKENS and row.value is None:
        value = row.status
    elif row.indicator == MTD and detail.get("censored") in _TOKENS:
        # Stored as the range's end it reached, with the side in the detail: said in words.
        value = str(detail["censored"])
    rng = detail.get("range")
    state = (_HYPOTHESIS_STATE.get(row.status, "undecided") if row.indicator == HYPOTHESIS
             else _HISTORY_STATE.get(row.status, "no_target"))
    if row.target is None and row.indicator != HYPOTHESIS and state != "not_converged":
        state = "no_target"
    return Reading(scenario=row.scenario, shock=row.shock, indicator=row.indicator,
                   value=value, low=row.ci_low, high=row.ci_high,
                   unit="share" if row.indicator in (GUARANTEE, HYPOTHESIS) else row.unit,
                   target=row.target, state=state, runs=row.runs,
                   replications=row.replications, severity=row.severity,
                   range=(float(rng[0]), float(rng[1])) if isinstance(rng, list)
                   and len(rng) == 2 and all(is_number(x) for x in rng) else None,
                   axis=str(detail.get("axis") or ""), detail=detail)


def readings_of_history(history: History) -> list[Reading]:
    """The page-one indicators of the history's current review, each with its reading in
    the review before (when that review has it)."""
    now = [_of_row(r) for r in history.of(history.current) if r.indicator in INDICATORS]
    before = {r.key: _of_row(r) for r in history.of(history.previous)
              if r.indicator in INDICATORS}
    return [replace(r, previous=before.get(r.key)) for r in now]


# --------------------------------------------------------------------------- formatting


def value_text(r: Reading, value: float | str | None) -> str:
    """A reading's value in its unit (a censored MTD end in words)."""
    if value == "below_range":
        low = r.range[0] if r.range else None
        return t("below {low} (the lowest severity searched)", low=axis_value(r, low)) if (
            low is not None) else t("below the searched range")
    if value == "above_range":
        high = r.range[1] if r.range else None
        return t("above {high} (the highest severity searched)", high=axis_value(r, high)) if (
            high is not None) else t("above the searched range")
    if r.unit == "share":
        return pct(value, 1 if r.indicator == GUARANTEE else 0)
    return axis_value(r, value)


def axis_value(r: Reading, value: object) -> str:
    if r.unit == "h":
        return hours(value)
    return num(value)


def interval_text(r: Reading) -> str:
    """The 95 % interval, with a censored end said in words and a missing end as "–"."""
    if r.low is None and r.high is None:
        return "–"
    if r.low == r.high == "below_range":
        return t("all of it below the searched range")
    if r.low == r.high == "above_range":
        return t("all of it above the searched range")

    def end(v: float | str | None, side: str) -> str:
        if v is None:
            return "–"
        if v == "below_range":
            return t("below the range")
        if v == "above_range":
            return t("above the range")
        return value_text(r, v)

    return f"{end(r.low, 'low')} … {end(r.high, 'high')}"


def target_text(r: Reading) -> str:
    if r.target is None:
        return "–"
    if r.indicator == HYPOTHESIS:
        return t("≥ {share} of replications", share=pct(r.target))
    return ("≥ " + pct(r.target)) if r.unit == "share" else ("≥ " + axis_value(r, r.target))


def change_text(r: Reading) -> str:
    """The change since the review before: the value's difference and a state that changed."""
    p = r.previous
    if p is None:
        return t("new in this review") if r.detail.get("_history") else "–"
    a, b = r.value, p.value
    parts = []
    if isinstance(a, float | int) and isinstance(b, float | int):
        d = float(a) - float(b)
        if r.unit == "share":
            parts.append(t("{sign}{points} points", sign="+" if d > 0 else "−" if d < 0 else "±",
                           points=num(abs(d) * 100, 3)))
        else:
            sign = "+" if d > 0 else "−" if d < 0 else "±"
            parts.append(sign + axis_value(r, abs(d)))
    elif a != b:
        parts.append(t("was {value}", value=value_text(p, b)))
    if p.state != r.state:
        parts.append(t("was {state}", state=t(_STATE_WORD.get(p.state, p.state))))
    return "; ".join(parts) or t("unchanged")


_STATE_WORD = {"passed": "meets target", "failed": "misses target", "undecided": "undecided",
               "not_converged": "not converged", "no_target": "no target", "holds": "holds",
               "violated": "violated", "none": "no hypothesis"}
_INDICATOR_NAME = {MTD: "Maximum tolerable disruption",
                   GUARANTEE: "Minimum recovery guarantee rate",
                   HYPOTHESIS: "Steady-state hypothesis"}


def indicator_name(indicator: str) -> str:
    return t(_INDICATOR_NAME.get(indicator, indicator))


def where(r: Reading) -> str:
    """Scenario and shock, escaped."""
    return f"<b>{e(r.scenario)}</b>" + (f" · {e(r.shock)}" if r.shock else "")


# --------------------------------------------------------------------------- the decision


@dataclass(frozen=True)
class Overall:
    """The review's verdict: ok (maintained), bad (not maintained), warn (undecided), na
    (no verdict), with its one line."""

    cls: str
    word: str
    line: str


def overall(readings: Sequence[Reading]) -> Overall:
    """One line: whether resilience is maintained, from every reading with a target."""
    judged = [r for r in readings if r.state not in ("no_target", "none")]
    failed = [r for r in judged if r.meets is False]
    open_ = [r for r in judged if r.state in ("undecided", "not_converged")]
    n = len(judged)
    without = len(readings) - n
    rest = t("; {k} without a target or hypothesis", k=num(without)) if without else ""
    if not judged:
        return Overall("na", t("NO VERDICT"),
                       t("No verdict: no indicator in these results has a target or a "
                         "hypothesis{rest}.", rest=rest))
    if failed:
        return Overall("bad", t("NOT MAINTAINED"), t(
            "Resilience is not maintained: {k} of {n} tests miss their target{undecided}{rest}.",
            k=num(len(failed)), n=num(n), rest=rest,
            undecided=t(", {u} undecided", u=num(len(open_))) if open_ else ""))
    if open_:
        return Overall("warn", t("UNDECIDED"), t(
            "Undecided: no test misses its target, but {u} of {n} cannot be decided yet "
            "(add replications){rest}.", u=num(len(open_)), n=num(n), rest=rest))
    return Overall("ok", t("MAINTAINED"), t(
        "Resilience is maintained: all {n} tests meet their target{rest}.", n=num(n),
        rest=rest))


def _headline(readings: Sequence[Reading], indicator: str, review: str | None) -> str:
    """The card of one review indicator: its binding reading against target, with interval,
    state, the change since the review before, and how many readings meet their target."""
    mine = [r for r in readings if r.indicator == indicator]
    name = indicator_name(indicator)
    anchor = "indicator-mtd" if indicator == MTD else "indicator-guarantee"
    if not mine:
        why = (t("No MTD search among these results (shocktwin mtd or campaign).")
               if indicator == MTD else
               t("Not measured in these results: state a recovery objective in the "
                 "hypothesis (recovery: level, within, guarantee) and run mtd or campaign."))
        return (f'<div class="indicator" id="{anchor}"><h3>{e(name)}</h3>'
                f'<p class="value na">{e(t("not measured"))}</p><p class="note">{e(why)}</p>'
                "</div>")
    if indicator == GUARANTEE:
        # The review indicator is the minimum over the campaign.
        numbered = [r for r in mine if isinstance(r.value, float | int)]
        binding = min(numbered, key=lambda r: (float(r.value), r.key)) if numbered else mine[0]  # type: ignore[arg-type]
        what = t("the lowest over {n} shocks", n=num(len(mine)))
    else:
        ranked = sorted(mine, key=lambda r: (-(r.gap if r.gap is not None else -math.inf),
                                             r.key))
        binding = ranked[0]
        what = t("the most exposed of {n} shocks", n=num(len(mine)))
    targeted = [r for r in mine if r.target is not None]
    meeting = [r for r in targeted if r.meets]
    lines = [
        f'<p class="value {_cls(binding.state)}">{e(value_text(binding, binding.value))}</p>',
        f"<p>{where(binding)} — {e(what)}</p>",
        f"<p>{e(t('95 % interval'))}: {e(interval_text(binding))}</p>",
        f"<p>{e(t('target'))}: {e(target_text(binding))} {state_badge(binding.state)}</p>",
    ]
    if review is not None:
        lines.append(f"<p>{e(t('since {review}', review=review))}: "
                     f"{e(change_text(binding))}</p>")
    if targeted:
        met = t("{k} of {n} meet their target", k=num(len(meeting)), n=num(len(targeted)))
        lines.append(f"<p>{e(met)}</p>")
    return (f'<div class="indicator" id="{anchor}"><h3>{e(name)}</h3>{"".join(lines)}</div>')


def _cls(state: str) -> str:
    from shocktwin.reports._html import STATE_CLASS

    return STATE_CLASS.get(state, "na")


def _gap_text(r: Reading) -> str:
    gap = r.gap
    if gap is None:
        return "–"
    if r.state == "undecided" and gap <= 0 and r.target is not None and isinstance(
            r.low, float | int):
        # Met by the estimate, not by the interval: how far its lower end reaches below.
        below = r.target - float(r.low)
        if r.indicator == MTD:
            return t("its interval reaches {share} below the target",
                     share=pct(below / r.target) if r.target > 0 else "–")
        return t("its interval reaches {points} points below the target",
                 points=num(below * 100, 3))
    if r.indicator == MTD:
        return (t("{share} short of the target", share=pct(gap)) if gap > 0
                else t("{share} above the target", share=pct(-gap)))
    points = num(abs(gap) * 100, 3)
    return (t("{points} points short", points=points) if gap > 0
            else t("{points} points above", points=points))


def risks(readings: Sequence[Reading]) -> list[Reading]:
    """The readings that miss their target or are undecided, most exposed first (largest
    gap to target); a tie keeps the order of scenario and shock."""
    at_risk = [r for r in readings if r.meets is False or r.state in ("undecided",
                                                                      "not_converged")]
    return sorted(at_risk, key=lambda r: (-(r.gap if r.gap is not None else -math.inf),
                                          r.key))


def _risk_table(readings: Sequence[Reading], screen: Mapping[str, Any] | None) -> str:
    out = []
    ranked = risks(readings)[:TOP]
    rows = [[str(i), where(r), e(indicator_name(r.indicator)), e(value_text(r, r.value)),
             e(interval_text(r)), e(target_text(r)), e(_gap_text(r)), state_badge(r.state)]
            for i, r in enumerate(ranked, start=1)]
    out.append(table([e(t(h)) for h in ("rank", "scenario · shock", "indicator", "value",
                                         "95 % interval", "target", "exposure (gap to target)",
                                         "state")], rows, cls="num")
               or note(e(t("No indicator misses its target or is undecided."))))
    more = len(risks(readings)) - len(ranked)
    if more > 0:
        out.append(note(e(t("{n} more below (Indicators by scenario and shock).",
                            n=num(more)))))
    if screen is not None:
        nodes = [n for n in screen.get("nodes") or [] if isinstance(n, dict)]
        nodes.sort(key=lambda n: -(_num(n.get("risk_exposure")) or 0.0))
        srows = [[str(i), e(n.get("supplier", "–")), e(n.get("material", "–")),
                  num(n.get("risk_exposure"), 3), hours(n.get("tts_h")), hours(n.get("ttr_h")),
                  num(n.get("lost_units"))]
                 for i, n in enumerate(nodes[:TOP], start=1)]
        head = t("Suppliers by risk-exposure index (screen of {scenario})",
                 scenario=str(screen.get("scenario", "–")))
        out.append(f"<h4>{e(head)}</h4>")
        out.append(table([e(t(h)) for h in ("rank", "supplier", "material",
                                             "risk-exposure index", "TTS", "TTR",
                                             "units lost")], srows, cls="num")
                   or note(e(t("The screen found no supplier at risk."))))
    return "".join(out)


@dataclass(frozen=True)
class Mitigation:
    """A recommendation: what to do, for which scenario, at what cost, and its effect."""

    what: str
    scenario: str
    cost: float | None
    effect: str
    source: str


def _mitigations_of(value: object, scenario: str, source: str) -> list[Mitigation]:
    out = []
    for m in value if isinstance(value, list) else []:
        if isinstance(m, str):
            out.append(Mitigation(m, scenario, None, "", source))
        elif isinstance(m, dict):
            what = m.get("name") or m.get("label") or m.get("id") or m.get("mitigation")
            effect = m.get("effect") or m.get("description") or ""
            out.append(Mitigation(str(what or "–"), scenario, _num(m.get("cost")),
                                  str(effect), source))
    return out


def recommendations(folders: Sequence[ResultsFolder], history: History | None
                    ) -> list[Mitigation]:
    """Mitigations recorded in the suite (the history's rows, a campaign's document) and the
    settings ``optimize`` found on its Pareto front, cheapest first."""
    out: list[Mitigation] = []
    seen: set[tuple[str, str]] = set()
    suite = t("recorded in the suite")
    if history is not None:
        for row in history.of(history.current):
            for m in _mitigations_of(row.detail.get("mitigations"), row.scenario, suite):
                if (m.what, m.scenario) not in seen:
                    seen.add((m.what, m.scenario))
                    out.append(m)
    for f in folders:
        doc = f.campaign or {}
        entries = doc.get("entries")
        for entry in [doc, *[x for x in entries or [] if isinstance(x, dict)]]:
            name = str(entry.get("scenario") or f.name)
            for m in _mitigations_of(entry.get("mitigations"), name, suite):
                if (m.what, m.scenario) not in seen:
                    seen.add((m.what, m.scenario))
                    out.append(m)
    for f in folders:
        p = f.pareto
        if p is None:
            continue
        cost_key = next((o for o in p.objectives if o.lower() == "cost"), None)
        order = sorted(range(len(p.points)), key=lambda i: (
            p.points[i].get(cost_key, math.inf) if cost_key else 0.0, p.labels[i]))
        for i in order:
            others = ", ".join(f"{o} {num(p.points[i][o])}" for o in p.objectives
                               if o != cost_key and o in p.points[i])
            out.append(Mitigation(p.labels[i] or "–", f.name,
                                  p.points[i].get(cost_key) if cost_key else None, others,
                                  t("Pareto front of optimize")))
    return out


def _recommendation_table(items: Sequence[Mitigation]) -> str:
    if not items:
        return note(e(t("No mitigation is recorded in the suite and no optimisation is among "
                        "the results: shocktwin optimize finds mitigation settings with their "
                        "cost.")))
    rows = [[e(m.what), e(m.scenario), num(m.cost) if m.cost is not None else
             e(t("not stated")), e(m.effect) or "–", e(m.source)] for m in items[:TOP]]
    more = (note(e(t("{n} more options in the appendix (Pareto front of mitigations).",
                     n=num(len(items) - TOP)))) if len(items) > TOP else "")
    return table([e(t(h)) for h in ("mitigation", "scenario", "cost", "effect", "from")],
                 rows, cls="num") + more


def page_one(readings: Sequence[Reading], *, folders: Sequence[ResultsFolder],
             history: History | None, review_before: str | None,
             screen: Mapping[str, Any] | None, unverified: str = "") -> str:
    """The decision: the overall verdict, both review indicators, the top risks and the
    recommendations."""
    o = overall(readings)
    out = [unverified,
           f'<p class="verdict {o.cls}" id="overall-verdict">{badge(o.word, o.cls)} '
           f"{e(o.line)}</p>",
           '<div class="indicators">',
           _headline(readings, MTD, review_before),
           _headline(readings, GUARANTEE, review_before),
           "</div>"]
    hyps = [r for r in readings if r.indicator == HYPOTHESIS]
    if 0 < len(hyps) <= 3:
        items = "".join(
            f"<li>{state_badge(r.state)} {where(r)}: {e(_hypothesis_line(r))}</li>"
            for r in hyps)
        out.append(f'<ul class="findings">{items}</ul>')
    elif hyps:
        # Many scenarios: one line, each scenario's verdict in the indicator tables.
        states = {s: sum(r.state == s for r in hyps) for s in ("holds", "violated",
                                                              "undecided", "none")}
        line = t("Steady-state hypotheses of {n} scenarios: {holds} hold, {violated} "
                 "violated, {undecided} undecided, {none} without a hypothesis.",
                 n=num(len(hyps)), **{k: num(v) for k, v in states.items()})
        out.append(f'<p class="findings">{e(line)}</p>')
    out.append(f"<h3>{e(t('Top risks, by exposure'))}</h3>")
    out.append(_risk_table(readings, screen))
    out.append(f"<h3>{e(t('Recommendations'))}</h3>")
    out.append(_recommendation_table(recommendations(folders, history)))
    return "".join(out)


def _hypothesis_line(r: Reading) -> str:
    held, n = r.detail.get("held"), r.detail.get("n") or r.replications
    if r.state == "none":
        return t("no hypothesis — no verdict")
    if held is None or not n:
        return t("steady-state hypothesis {state}", state=t(_STATE_WORD[r.state]))
    # One decimal (as the run prints it), so an end just short of the required share does
    # not read as equal to it (44 of 44: 89.99 %, not 90 %).
    return t("all tolerances held together in {held} of {n} replications ({share}, {level} "
             "interval {low} … {high}; required {required})", held=num(held), n=num(n),
             share=_share(r.value), low=_share(r.low), high=_share(r.high),
             level=_share(r.detail.get("level") or 0.95, 2),
             required=_share(r.target) if r.target is not None else "–")


def _share(x: object, decimals: int = 1) -> str:
    """A share to ``decimals`` decimals, whole where it is whole (0 %, 95 %, 100 %)."""
    whole = is_number(x) and float(x) * 100 == round(float(x) * 100)  # type: ignore[arg-type]
    return pct(x, 0 if whole else decimals)


def changed(r: Reading) -> bool:
    """Whether a reading needs the review's attention: it does not meet its target, or its
    state differs from the review before."""
    return r.meets is not True or (r.previous is not None and r.previous.state != r.state)


def indicator_table(readings: Sequence[Reading], review_before: str | None) -> str:
    """Every reading, by scenario and shock, with its change since the review before."""
    rows = []
    for r in sorted(readings, key=lambda r: (r.scenario, r.shock, INDICATORS.index(
            r.indicator) if r.indicator in INDICATORS else 9)):
        extra = ""
        if r.indicator == MTD and r.runs is not None:
            extra = " " + t("({runs} runs)", runs=num(r.runs))
        rows.append([where(r), e(indicator_name(r.indicator)),
                     e(value_text(r, r.value)) + e(extra), e(interval_text(r)),
                     e(target_text(r)), state_badge(r.state)]
                    + ([e(change_text(r))] if review_before is not None else []))
    head = [e(t(h)) for h in ("scenario · shock", "indicator", "value", "95 % interval",
                              "target", "state")]
    if review_before is not None:
        head.append(e(t("since {review}", review=review_before)))
    return table(head, rows, cls="num")
