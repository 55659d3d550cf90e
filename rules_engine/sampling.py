"""Attribute acceptance sampling: MIL-STD-105E / Z1.4 single sampling plans and their OC curves.

The tables (code letters, Tables II-A/B/C) are package data in ``rules_engine/data``; see its
README for provenance. Plans are looked up by lot size, inspection level, AQL and severity;
the printed arrows are already resolved in the data, so a plan's ``n`` may be that of another
code letter. The reduced table is the 105E/Z1.4 one (Re − Ac may exceed 1), not ISO
2859-1:1999's Table 2-C.
"""

from __future__ import annotations

import csv
import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from shocktwin.errors import Problem, RuleError

__all__ = [
    "AQL_SERIES",
    "CODE_LETTERS",
    "InspectionLevel",
    "Measure",
    "PlanCell",
    "SamplingPlan",
    "Severity",
    "acceptance_number_one_step_tighter",
    "code_letter",
    "normalise_aql",
    "oc_curve",
    "plan_table",
    "single_sampling_plan",
]


class InspectionLevel(StrEnum):
    """Inspection level of Table I: special levels S-1..S-4 and general levels I-III."""

    S1 = "S-1"
    S2 = "S-2"
    S3 = "S-3"
    S4 = "S-4"
    I = "I"  # noqa: E741 - the standard's own name for general level I
    II = "II"
    III = "III"


class Severity(StrEnum):
    """Severity of inspection, which selects Table II-A, II-B or II-C."""

    NORMAL = "normal"
    TIGHTENED = "tightened"
    REDUCED = "reduced"


class Measure(StrEnum):
    """What an AQL and a defect rate count, which decides the OC-curve model."""

    PERCENT_NONCONFORMING = "percent_nonconforming"
    NONCONFORMITIES_PER_100_UNITS = "nonconformities_per_100_units"


#: The AQLs of Tables II-A/B/C, as the standard prints them.
AQL_SERIES: tuple[str, ...] = (
    "0.010", "0.015", "0.025", "0.040", "0.065", "0.10", "0.15", "0.25", "0.40", "0.65",
    "1.0", "1.5", "2.5", "4.0", "6.5", "10", "15", "25", "40", "65",
    "100", "150", "250", "400", "650", "1000",
)  # fmt: skip

#: Sample-size code letters; the standard skips I and O.
CODE_LETTERS: tuple[str, ...] = tuple("ABCDEFGHJKLMNPQR")

# Above this AQL the tables are for nonconformities per 100 units only.
_MAX_PERCENT_AQL = 10.0

_PLAN_FILES: Mapping[Severity, str] = MappingProxyType(
    {
        Severity.NORMAL: "single_normal.csv",
        Severity.TIGHTENED: "single_tightened.csv",
        Severity.REDUCED: "single_reduced.csv",
    }
)

_AQL_BY_VALUE: Mapping[float, str] = MappingProxyType({float(a): a for a in AQL_SERIES})


class PlanCell(NamedTuple):
    """One cell of Table II-A/B/C after arrow resolution: sample size, Ac, Re."""

    n: int
    ac: int
    re: int


@dataclass(frozen=True)
class _LotRange:
    lot_min: int
    lot_max: int | None
    letters: Mapping[InspectionLevel, str]


@dataclass(frozen=True)
class SamplingPlan:
    """One single sampling plan, as read from the table for the given lot and severity.

    Accept the lot when the count found is ≤ ``ac``; do not accept it when it is ≥ ``re``.
    On reduced inspection a count between the two accepts the lot but returns inspection
    to normal. When ``full_inspection`` is true the whole lot is inspected (``n`` ≥ lot size)
    and ``ac``/``re`` still apply to the count.
    """

    code_letter: str
    n: int
    ac: int
    re: int
    full_inspection: bool
    severity: Severity
    level: InspectionLevel
    aql: str
    lot_size: int

    def __post_init__(self) -> None:
        if self.n < 1 or self.ac < 0 or self.re <= self.ac:
            raise ValueError(f"inconsistent plan n={self.n}, ac={self.ac}, re={self.re}")

    @property
    def items_to_inspect(self) -> int:
        """Number of items actually inspected: the sample, or the whole lot."""
        return self.lot_size if self.full_inspection else self.n

    @property
    def measure(self) -> Measure:
        """Default OC model: nonconformities above AQL 10 (the only reading there), else percent."""
        if float(self.aql) > _MAX_PERCENT_AQL:
            return Measure.NONCONFORMITIES_PER_100_UNITS
        return Measure.PERCENT_NONCONFORMING


def _data_text(name: str) -> str:
    return (
        resources.files("shocktwin.rules_engine").joinpath("data").joinpath(name).read_text(encoding="utf-8")
    )


@cache
def _code_letter_table() -> tuple[_LotRange, ...]:
    rows = csv.DictReader(_data_text("code_letters.csv").splitlines())
    return tuple(
        _LotRange(
            lot_min=int(row["lot_min"]),
            lot_max=int(row["lot_max"]) if row["lot_max"] else None,
            letters=MappingProxyType({level: row[level.value] for level in InspectionLevel}),
        )
        for row in rows
    )


@cache
def _plan_table(severity: Severity) -> Mapping[tuple[str, str], PlanCell]:
    rows = csv.DictReader(_data_text(_PLAN_FILES[severity]).splitlines())
    table = {
        (row["code_letter"], row["aql"]): PlanCell(int(row["n"]), int(row["ac"]), int(row["re"]))
        for row in rows
    }
    expected = {(letter, aql) for letter in CODE_LETTERS for aql in AQL_SERIES}
    if set(table) != expected:
        # A broken installation, not a user mistake.
        raise RuntimeError(f"{_PLAN_FILES[severity]} does not cover every code letter and AQL")
    return MappingProxyType(table)


def normalise_aql(aql: float | str) -> str:
    """Return the standard label of an AQL given as a number or a string (``1`` → ``"1.0"``).

    Raises:
        RuleError: the value is not one of the 26 AQLs of the tables.
    """
    label = _aql_label(aql)
    if label is None:
        raise RuleError([_aql_problem(aql)])
    return label


def _aql_label(aql: object) -> str | None:
    if isinstance(aql, bool):
        return None
    if isinstance(aql, str):
        try:
            value = float(aql.strip())
        except ValueError:
            return None
    elif isinstance(aql, numbers.Real):
        value = float(aql)
    else:
        return None
    if not math.isfinite(value):
        return None
    # Tolerates values computed in floating point (0.1 + 0.55) as well as typed ones.
    for known, label in _AQL_BY_VALUE.items():
        if math.isclose(value, known, rel_tol=1e-9):
            return label
    return None


def _aql_problem(aql: object) -> Problem:
    return Problem(
        file=None,
        path="aql",
        message=f"unknown AQL {aql!r}; expected one of {', '.join(AQL_SERIES)}",
    )


def _parse_level(level: object) -> InspectionLevel | None:
    if isinstance(level, InspectionLevel):
        return level
    if isinstance(level, str):
        try:
            return InspectionLevel(level.strip().upper())
        except ValueError:
            return None
    return None


def _parse_severity(severity: object) -> Severity | None:
    if isinstance(severity, Severity):
        return severity
    if isinstance(severity, str):
        try:
            return Severity(severity.strip().lower())
        except ValueError:
            return None
    return None


def _lot_size_problem(lot_size: object) -> Problem | None:
    if isinstance(lot_size, bool) or not isinstance(lot_size, numbers.Integral):
        return Problem(None, "lot_size", f"lot size must be a whole number, got {lot_size!r}")
    if int(lot_size) < 2:
        return Problem(None, "lot_size", f"lot size must be at least 2, got {int(lot_size)}")
    return None


def _level_problem(level: object) -> Problem:
    names = ", ".join(lv.value for lv in InspectionLevel)
    return Problem(None, "level", f"unknown inspection level {level!r}; expected one of {names}")


def _severity_problem(severity: object) -> Problem:
    names = ", ".join(s.value for s in Severity)
    return Problem(None, "severity", f"unknown severity {severity!r}; expected one of {names}")


def _letter_for(lot_size: int, level: InspectionLevel) -> str:
    for lot_range in _code_letter_table():
        if lot_size >= lot_range.lot_min and (
            lot_range.lot_max is None or lot_size <= lot_range.lot_max
        ):
            return lot_range.letters[level]
    # Unreachable for lot_size >= 2: the table starts at 2 and its last range is open.
    raise RuntimeError(f"code-letter table has no range for lot size {lot_size}")


def code_letter(lot_size: int, level: InspectionLevel | str = InspectionLevel.II) -> str:
    """Sample-size code letter (Table I) for a lot size and an inspection level.

    Raises:
        RuleError: the lot size is below 2 or not a whole number, or the level is unknown;
            every problem is listed.
    """
    problems: list[Problem] = []
    if (problem := _lot_size_problem(lot_size)) is not None:
        problems.append(problem)
    parsed_level = _parse_level(level)
    if parsed_level is None:
        problems.append(_level_problem(level))
    if problems or parsed_level is None:
        raise RuleError(problems)
    return _letter_for(int(lot_size), parsed_level)


def single_sampling_plan(
    lot_size: int,
    level: InspectionLevel | str = InspectionLevel.II,
    aql: float | str = "1.0",
    severity: Severity | str = Severity.NORMAL,
) -> SamplingPlan:
    """Single sampling plan for a lot from Table II-A, II-B or II-C.

    ``aql`` may be a number or a label (``1``, ``1.0`` and ``"1.0"`` are the same AQL).

    Raises:
        RuleError: lot size below 2, unknown level, AQL or severity; every problem is listed.
    """
    problems: list[Problem] = []
    if (problem := _lot_size_problem(lot_size)) is not None:
        problems.append(problem)
    parsed_level = _parse_level(level)
    if parsed_level is None:
        problems.append(_level_problem(level))
    aql_label = _aql_label(aql)
    if aql_label is None:
        problems.append(_aql_problem(aql))
    parsed_severity = _parse_severity(severity)
    if parsed_severity is None:
        problems.append(_severity_problem(severity))
    if problems or parsed_level is None or aql_label is None or parsed_severity is None:
        raise RuleError(problems)

    lots = int(lot_size)
    letter = _letter_for(lots, parsed_level)
    n, ac, re = _plan_table(parsed_severity)[(letter, aql_label)]
    return SamplingPlan(
        code_letter=letter,
        n=n,
        ac=ac,
        re=re,
        full_inspection=n >= lots,
        severity=parsed_severity,
        level=parsed_level,
        aql=aql_label,
        lot_size=lots,
    )


def acceptance_number_one_step_tighter(plan: SamplingPlan) -> int | None:
    """Ac for the same sample size at the next tighter AQL, from the plan's own table.

    ISO 2859-1:1999's switching score asks whether a lot "would have been accepted if the
    AQL had been one step tighter". The count comes from the sample already drawn, so the
    comparison is with the plan of the same sample size in the next AQL column (the master
    table is laid out by sample size). That is not always the same code letter's cell: at
    the right edge the ↑ arrows give J @ 25 the n = 50 plan, whose tighter neighbour is
    H @ 15 (50/14/15), not J @ 15 (80/21/22).

    Returns ``None`` for the tightest AQL, or when the column holds no single plan with
    that sample size.
    """
    position = AQL_SERIES.index(plan.aql)
    if position == 0:
        return None
    tighter = AQL_SERIES[position - 1]
    table = _plan_table(plan.severity)
    candidates = {
        table[(letter, tighter)].ac
        for letter in CODE_LETTERS
        if table[(letter, tighter)].n == plan.n
    }
    return candidates.pop() if len(candidates) == 1 else None


def oc_curve(
    plan: SamplingPlan,
    defect_rates: ArrayLike,
    measure: Measure | None = None,
) -> NDArray[np.float64]:
    """Probability of accepting a lot (type B OC curve) at each defect rate.

    ``defect_rates`` are fractions: the fraction nonconforming per item (0.01 = 1 %) for
    percent nonconforming, or nonconformities per unit (0.01 = 1 per 100 units) otherwise.
    The count in the sample is binomial(n, p) for percent nonconforming and Poisson(n·λ)
    for nonconformities, which is the model behind the standard's own OC tables. The lot
    is accepted when the count is below ``re``; for normal and tightened plans that is the
    same as ≤ ``ac``, for reduced plans it includes the counts that accept the lot but
    return inspection to normal. The lot is taken as large against the sample; for
    ``full_inspection`` plans the result is the process view, not the exact lot view.

    ``measure`` defaults to percent nonconforming up to AQL 10 and nonconformities per
    100 units above (where ``ac`` may exceed ``n``).

    Returns:
        Pa with the shape of ``defect_rates``.

    Raises:
        RuleError: a rate is negative, not finite, or above 1 for percent nonconforming, or
            percent nonconforming was asked for an AQL above 10.
    """
    from scipy import stats  # heavy: imported where it is used

    chosen = plan.measure if measure is None else measure
    rates = np.asarray(defect_rates, dtype=np.float64)
    problems: list[Problem] = []
    if chosen is Measure.PERCENT_NONCONFORMING and float(plan.aql) > _MAX_PERCENT_AQL:
        problems.append(
            Problem(
                None,
                "measure",
                f"AQL {plan.aql} is above 10, so it counts nonconformities per 100 units only",
            )
        )
    bad = ~np.isfinite(rates) | (rates < 0)
    if chosen is Measure.PERCENT_NONCONFORMING:
        bad |= rates > 1
    if bad.any():
        allowed = "[0, 1]" if chosen is Measure.PERCENT_NONCONFORMING else "[0, inf)"
        shown = rates[bad].ravel()[:5].tolist()
        problems.append(
            Problem(
                None,
                "defect_rates",
                f"{int(bad.sum())} rate(s) outside {allowed}, e.g. {shown}",
            )
        )
    if problems:
        raise RuleError(problems)

    max_accepted = plan.re - 1
    if chosen is Measure.PERCENT_NONCONFORMING:
        pa = stats.binom.cdf(max_accepted, plan.n, rates)
    else:
        pa = stats.poisson.cdf(max_accepted, plan.n * rates)
    return np.asarray(pa, dtype=np.float64)


def plan_table(severity: Severity | str) -> Mapping[tuple[str, str], PlanCell]:
    """The whole table for a severity, keyed by (code letter, AQL label); read-only.

    Raises:
        RuleError: the severity is unknown.
    """
    parsed = _parse_severity(severity)
    if parsed is None:
        raise RuleError([_severity_problem(severity)])
    return _plan_table(parsed)
