"""Drafting rules from failure history: an FMEA, defect-count or 8D table → a RuleSet with
inspection plans, or a rule library bound to contexts.

When a shock substitutes a part or a supplier, :func:`draft_plan` turns the part's
failure-mode table into a rule set with one inspection plan per material: which
characteristics to inspect, the inspection level and AQL by risk, and for a new supplier a
first-article inspection and a tightened start. :func:`load_failures` reads the table (CSV, or
a YAML list of mappings) and reports every bad row at once; :func:`dump_rules` writes the
drafted rule set as YAML that :func:`~rules_engine.ruleset.load_rules` reads back to the same
content hash. A draft is a starting point for the quality engineer, not an approved plan.

The table
=========

One row per failure mode of a characteristic. Columns: ``material`` and ``characteristic``
(identifiers), optional ``failure_mode`` (text), and at least one risk basis:

* ``severity``, ``occurrence``, ``detection``: FMEA ratings, 1–10 on the AIAG & VDA (2019)
  scales, given together;
* ``rpn``: a risk priority number S × O × D (1–1000), alone or with severity (with all three
  ratings it must equal their product);
* ``defects`` and ``inspected``: units found nonconforming in units inspected.

``severity`` may also stand alone beside ``rpn`` or the counts. Optional ``lsl``, ``usl`` and
``unit`` are the specification limits; ``inspect`` (yes/no) overrides whether a
characteristic is inspected (see below). Several rows may describe one characteristic (one
per failure mode); rows that give limits for it must give the same ones.

Library rows
============

Three optional columns make a row draft a library rule instead of (a part of) a plan:
``kind`` (``constraint``, ``release_check``, ``characteristic_limit``; the default
``inspection_plan`` is the behaviour described here), ``context`` (the contexts its rules are
bound to: ``toolchain=eda-a;board=rigid|hdi`` — pairs separated by ``;``, alternatives by
``|``; a YAML table may give a mapping) and ``check`` (the constraint as text). A library row
needs a ``failure_mode`` and no ``material`` or ``characteristic`` (a characteristic names its
rules); it may not say ``inspect``. A table with a ``kind`` column need not have the
``material`` and ``characteristic`` columns. Library rows that repeat are not an error: the
rules they draft are merged. :func:`draft_library` turns every row into one rule per failure
mode and combination of context values; :func:`draft_plan` reads only inspection-plan rows.

Risk of a row
=============

A row's risk class is the highest that any basis it gives assigns:

=============================  ===============  =====================  =============
basis                          high             medium                 low
=============================  ===============  =====================  =============
severity S                     S ≥ 9            –                      –
S, O, D: action priority AP    H                M                      L
rpn without O and D            RPN ≥ 200        100 ≤ RPN < 200        RPN < 100
defects / inspected            p₉₅ ≥ 1 %        0.1 % ≤ p₉₅ < 1 %      p₉₅ < 0.1 %
=============================  ===============  =====================  =============

Action priority is the table of the AIAG & VDA FMEA Handbook (1st edition, 2019) for design
and process FMEAs, with S, O and D grouped into bands (H high, M medium, L low):

=====  =====  ====  ===  ===  ===
S      O      D 7–10  5–6  2–4  1
=====  =====  ====  ===  ===  ===
9–10   8–10   H     H    H    H
9–10   6–7    H     H    H    H
9–10   4–5    H     H    H    M
9–10   2–3    H     M    L    L
7–8    8–10   H     H    H    H
7–8    6–7    H     H    H    M
7–8    4–5    H     M    M    M
7–8    2–3    M     M    L    L
4–6    8–10   H     H    M    M
4–6    6–7    M     M    M    L
4–6    4–5    M     L    L    L
2–3    8–10   M     M    L    L
=====  =====  ====  ===  ===  ===

Every other combination (O = 1, S = 1, S 4–6 with O ≤ 3, S 2–3 with O ≤ 7) is L.

Why these choices:

* **S ≥ 9 is high whatever O and D say.** Severity belongs to the effect and does not change
  with the supplier, while O and D were rated for the process being replaced: a substitute
  has not yet shown that failures are as rare or as well caught.
* **RPN bands only without O and D.** The handbook replaced RPN by action priority because
  equal products hide very different risks, and it gives no RPN thresholds; a row that gives
  only an RPN is banded at 200 and 100, the bands chosen here.
* **Counts are judged by an upper bound, not the observed rate**, so a small clean sample
  does not look safe: p₉₅ is the one-sided 95 % upper bound of the Jeffreys interval,
  ``beta.ppf(0.95, d + ½, n − d + ½)`` (1 when d = n). 0 defects in 50 gives p₉₅ = 3.75 %
  (high); it takes about 2 000 clean units to get below 0.1 %. At 1 % or more the supplier
  may not meet the AQL 0.65 the high class samples at; below 0.1 % the process has shown
  itself well inside every AQL used here.

Plan of a material
==================

=======  ==========================================  =====================================
class    sampling (Z1.4 single, z14 switching)       characteristic listed in the plan
=======  ==========================================  =====================================
high     level III, AQL 0.65; 100 % if any S = 10     always (``inspect: no`` is refused)
medium   level II, AQL 1.0                            unless its rows say ``inspect: no``
low      level II, AQL 2.5                            only when a row says ``inspect: yes``
=======  ==========================================  =====================================

A plan takes its material's worst class, so its AQL is the tightest and its level the
highest over the rows. The rule-set format has one sampling per material, so one S = 10
failure mode puts the whole material on 100 % inspection. A characteristic is listed when
any of its rows calls for it; listed characteristics with limits get a ``spec``. For a new
supplier the plan starts on tightened inspection and measures a first article
(:data:`FIRST_ARTICLE_PIECES` pieces); for a current supplier it starts normal, without one.
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import math
import re
import textwrap
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    FiniteFloat,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from shocktwin.errors import Problem, RuleError, ScenarioError, unknown_name
from shocktwin.files import read_text
from shocktwin.references import ON_ITS_OWN, position_only
from shocktwin.rules_engine.ruleset import (
    CONTEXT_KEY_PATTERN,
    Characteristic,
    Fallback,
    FallbackMode,
    FirstArticle,
    FullInspection,
    Library,
    LibraryRule,
    Plan,
    RuleKind,
    RuleSet,
    SamplingMethod,
    SingleSampling,
    Spec,
    Switching,
)
from shocktwin.rules_engine.sampling import InspectionLevel, Severity
from shocktwin.source import (
    ID_PATTERN,
    MAX_FILE_BYTES,
    Ident,
    Loc,
    SemanticProblems,
    error_message,
    line_for,
    loc_text,
    read_yaml,
)

__all__ = [
    "COLUMNS",
    "DEFAULT_FALLBACK",
    "FIRST_ARTICLE_PIECES",
    "HISTORY_CONFIDENCE",
    "MAX_COMBINATIONS",
    "MAX_ROWS",
    "SAMPLING_BY_RISK",
    "DraftCounts",
    "FailureRow",
    "Risk",
    "RiskAssessment",
    "RowContext",
    "action_priority",
    "assess_row",
    "derive_library_file",
    "derive_rules_file",
    "draft_library",
    "draft_library_rules",
    "draft_plan",
    "dump_rules",
    "jeffreys_upper_bound",
    "load_failures",
    "make_fallback",
    "parse_context",
    "parse_context_overrides",
    "parse_failures",
]


class Risk(StrEnum):
    """Risk class of a failure-table row, a characteristic or a material."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"

    @property
    def rank(self) -> int:
        """0 for low, 1 medium, 2 high: for taking the worst of several."""
        return _RANKS[self]


_RANKS: Mapping[Risk, int] = MappingProxyType({Risk.LOW: 0, Risk.MEDIUM: 1, Risk.HIGH: 2})

#: Inspection level and AQL of a plan by its material's worst risk class.
SAMPLING_BY_RISK: Mapping[Risk, tuple[InspectionLevel, str]] = MappingProxyType({
    Risk.HIGH: (InspectionLevel.III, "0.65"),
    Risk.MEDIUM: (InspectionLevel.II, "1.0"),
    Risk.LOW: (InspectionLevel.II, "2.5"),
})

#: Units of the first lot from a new supplier measured in full (a five-piece layout).
FIRST_ARTICLE_PIECES = 5
#: One-sided confidence of the upper bound on a historical defect rate.
HISTORY_CONFIDENCE = 0.95

# Thresholds of the risk table in the module docstring.
_SEVERITY_HIGH = 9
_SEVERITY_FULL = 10
_RPN_HIGH, _RPN_MEDIUM = 200, 100
_RATE_HIGH, _RATE_MEDIUM = 0.01, 0.001

#: Rows a failure table may have.
MAX_ROWS = 5000

# Action priority (AIAG & VDA FMEA Handbook 2019): per severity band and occurrence band, the
# letters for the detection bands 7–10, 5–6, 2–4, 1. Bands missing here are all L.
_AP_TABLE: Mapping[tuple[str, str], str] = MappingProxyType({
    ("9-10", "8-10"): "HHHH", ("9-10", "6-7"): "HHHH", ("9-10", "4-5"): "HHHM",
    ("9-10", "2-3"): "HMLL",
    ("7-8", "8-10"): "HHHH", ("7-8", "6-7"): "HHHM", ("7-8", "4-5"): "HMMM",
    ("7-8", "2-3"): "MMLL",
    ("4-6", "8-10"): "HHMM", ("4-6", "6-7"): "MMML", ("4-6", "4-5"): "MLLL",
    ("2-3", "8-10"): "MMLL",
})  # fmt: skip
_LETTERS: Mapping[str, Risk] = MappingProxyType({"H": Risk.HIGH, "M": Risk.MEDIUM,
                                                 "L": Risk.LOW})

_SCALE = "(AIAG & VDA scale)"


# --------------------------------------------------------------------------- risk


def _band(value: int, bands: Sequence[tuple[int, str]]) -> str:
    return next(label for low, label in bands if value >= low)


def action_priority(severity: int, occurrence: int, detection: int) -> Risk:
    """The AIAG & VDA (2019) action priority of S, O and D ratings (each 1–10).

    Raises:
        RuleError: a rating is not a whole number from 1 to 10.
    """
    problems = [Problem(None, name, f"must be a whole number from 1 to 10 {_SCALE}, got "
                        f"{value!r}")
                for name, value in (("severity", severity), ("occurrence", occurrence),
                                    ("detection", detection))
                if isinstance(value, bool) or not isinstance(value, int)
                or not 1 <= value <= 10]
    if problems:
        raise RuleError(problems)
    s = _band(severity, ((9, "9-10"), (7, "7-8"), (4, "4-6"), (2, "2-3"), (1, "1")))
    o = _band(occurrence, ((8, "8-10"), (6, "6-7"), (4, "4-5"), (2, "2-3"), (1, "1")))
    d = (7, 5, 2, 1).index(next(low for low in (7, 5, 2, 1) if detection >= low))
    return _LETTERS[_AP_TABLE.get((s, o), "LLLL")[d]]


def jeffreys_upper_bound(defects: int, inspected: int,
                         confidence: float = HISTORY_CONFIDENCE) -> float:
    """One-sided upper confidence bound on a defect rate (a share) from counts.

    The ``confidence`` quantile of the Jeffreys posterior Beta(d + ½, n − d + ½), and 1 when
    every unit was defective (Brown, Cai & DasGupta 2001). 0 in 50 at 95 % gives 0.0375.

    Raises:
        RuleError: counts that are not whole numbers with 0 ≤ defects ≤ inspected, inspected
            ≥ 1, or a confidence outside (0, 1).
    """
    from scipy import stats  # heavy: imported where it is used

    problems = []
    for name, value, low in (("defects", defects, 0), ("inspected", inspected, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            problems.append(Problem(None, name, f"must be a whole number of at least {low}, "
                                    f"got {value!r}"))
    if not problems and defects > inspected:
        problems.append(Problem(None, "defects", f"{defects} defects cannot exceed "
                                f"{inspected} inspected"))
    if not (isinstance(confidence, float | int) and 0 < confidence < 1):
        problems.append(Problem(None, "confidence", f"must be between 0 and 1, got "
                                f"{confidence!r}"))
    if problems:
        raise RuleError(problems)
    if defects == inspected:
        return 1.0
    return float(stats.beta.ppf(confidence, defects + 0.5, inspected - defects + 0.5))


# --------------------------------------------------------------------------- the table


Rating = Annotated[int, Field(ge=1, le=10)]

_CONTEXT_KEY = re.compile(CONTEXT_KEY_PATTERN)
_CONTEXT_VALUE = re.compile(ID_PATTERN)
_CONTEXT_SYNTAX = ("write key=value pairs separated by ';' and alternatives by '|' (e.g. "
                   "toolchain=eda-a;board=rigid|hdi)")
#: Combinations one row's context may expand to.
MAX_COMBINATIONS = 1000


def parse_context(value: Any) -> dict[str, tuple[str, ...]]:
    """A row's context as each key with its alternative values, from text
    (``toolchain=eda-a;board=rigid|hdi``) or a mapping (``{board: [rigid, hdi]}``).

    Raises:
        SemanticProblems: every problem of the text or mapping at once.
    """
    pairs: list[tuple[str, list[Any]]] = []
    problems: list[tuple[Loc, str]] = []
    if isinstance(value, str):
        for part in value.split(";"):
            if not part.strip():
                continue
            key, equals, alternatives = part.partition("=")
            if not equals:
                problems.append(((), f"{part.strip()!r} is not key=value: {_CONTEXT_SYNTAX}"))
                continue
            pairs.append((key.strip(), [a.strip() for a in alternatives.split("|")]))
    elif isinstance(value, dict):
        for key, given in value.items():
            listed = (given.split("|") if isinstance(given, str)
                      else given if isinstance(given, list) else [given])
            pairs.append((key, [a.strip() if isinstance(a, str) else a for a in listed]))
    else:
        problems.append(((), f"must be text or a mapping: {_CONTEXT_SYNTAX}"))
    out: dict[str, tuple[str, ...]] = {}
    for key, values in pairs:
        if not isinstance(key, str) or not _CONTEXT_KEY.fullmatch(key):
            problems.append(((), f"context {key!r} must be a name, or a name and a qualifier "
                             "joined by '.' (toolchain, supplier.valve)"))
            continue
        if key in out:
            problems.append(((), f"context {key} is given twice; list its values as "
                             "alternatives (a|b)"))
            continue
        bad = [a for a in values if not isinstance(a, str) or not _CONTEXT_VALUE.fullmatch(a)]
        if bad:
            problems.append(((), f"values of context {key} must be identifiers (a letter "
                             "first, then letters, digits, '_', '-', '.'), got "
                             f"{', '.join(map(repr, bad))}"))
            continue
        out[key] = tuple(dict.fromkeys(values))
    if not problems and not out:
        problems.append(((), f"an empty context: {_CONTEXT_SYNTAX}"))
    if not problems and math.prod(len(v) for v in out.values()) > MAX_COMBINATIONS:
        problems.append(((), f"expands to more than {MAX_COMBINATIONS:,} combinations"))
    if problems:
        raise SemanticProblems(problems)
    return out


#: A row's contexts: each key with the values its rules are bound to (one rule per
#: combination).
RowContext = Annotated[dict[str, tuple[str, ...]], BeforeValidator(parse_context)]


class FailureRow(BaseModel):
    """One row of a failure table: a failure mode of a material's characteristic and the
    evidence of its risk (FMEA ratings, an RPN, or defect counts)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    material: Ident | None = Field(None, description="Required for inspection-plan rows.")
    characteristic: Ident | None = Field(None, description="Required for inspection-plan "
                                         "rows; names a library row's rules.")
    failure_mode: str = Field("", max_length=200)
    severity: Rating | None = None
    occurrence: Rating | None = None
    detection: Rating | None = None
    rpn: int | None = Field(None, ge=1, le=1000)
    defects: int | None = Field(None, ge=0)
    inspected: int | None = Field(None, ge=1, le=1_000_000_000)
    lsl: FiniteFloat | None = None
    usl: FiniteFloat | None = None
    unit: str | None = Field(None, min_length=1, max_length=32)
    inspect: bool | None = Field(None, description="yes: inspect even at low risk; no: do "
                                 "not inspect at medium risk (refused at high risk).")
    kind: RuleKind = Field(RuleKind.INSPECTION_PLAN, description=(
        "What the row drafts: inspection_plan rows feed draft_plan, the other kinds one "
        "library rule per context (draft_library)."))
    context: RowContext | None = Field(None, description=(
        "The contexts the row's rules are bound to: key=value pairs separated by ';', "
        "alternatives by '|' (toolchain=eda-a;board=rigid|hdi), or a YAML mapping."))
    check: str | None = Field(None, min_length=1, max_length=2000, description=(
        "The constraint or check as text."))

    @field_validator("kind", mode="before")
    @classmethod
    def _kind(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip().lower()
            known = [k.value for k in RuleKind]
            if value not in known:
                raise ValueError(unknown_name("rule kind", value, known))
        return value

    @model_validator(mode="after")
    def _consistent(self) -> FailureRow:
        problems: list[tuple[Loc, str]] = []
        if self.kind is RuleKind.INSPECTION_PLAN:
            problems.extend(((name,), "required, but empty or missing")
                            for name in _PLAN_COLUMNS if getattr(self, name) is None)
        else:
            if not self.failure_mode.strip():
                problems.append((("failure_mode",), f"required for a {self.kind.value} row: "
                                 "one rule is drafted per failure mode and context"))
            if self.inspect is not None:
                problems.append((("inspect",), "only inspection-plan rows take inspect"))
        ratings = {"severity": self.severity, "occurrence": self.occurrence,
                   "detection": self.detection}
        if self.occurrence is not None or self.detection is not None:
            problems.extend(((name,), "give severity, occurrence and detection together")
                            for name, value in ratings.items() if value is None)
        if (self.rpn is not None and self.severity is not None
                and self.occurrence is not None and self.detection is not None):
            product = self.severity * self.occurrence * self.detection
            if self.rpn != product:
                problems.append((("rpn",), f"rpn {self.rpn} is not severity × occurrence × "
                                 f"detection = {self.severity} × {self.occurrence} × "
                                 f"{self.detection} = {product}"))
        if (self.defects is None) != (self.inspected is None):
            missing = "inspected" if self.inspected is None else "defects"
            problems.append(((missing,), "give defects and inspected together"))
        elif (self.defects is not None and self.inspected is not None
              and self.defects > self.inspected):
            problems.append((("defects",), f"{self.defects} defects cannot exceed "
                             f"{self.inspected} inspected"))
        has_basis = (self.occurrence is not None or self.detection is not None
                     or self.rpn is not None or self.defects is not None
                     or self.inspected is not None)
        if not has_basis:
            problems.append(((), "no risk basis: give severity, occurrence and detection, "
                             "or rpn, or defects and inspected"
                             + (" (severity alone is not enough)" if self.severity else "")))
        if self.unit is not None and self.lsl is None and self.usl is None:
            problems.append((("unit",), "a unit without lsl or usl"))
        if self.unit is None and (self.lsl is not None or self.usl is not None):
            problems.append((("unit",), "spec limits need a unit"))
        if self.lsl is not None and self.usl is not None and self.lsl >= self.usl:
            problems.append((("lsl",), f"lsl {self.lsl:g} must be below usl {self.usl:g}"))
        if not problems and self.inspect is False and self.kind is RuleKind.INSPECTION_PLAN:
            risk = assess_row(self)
            if risk.risk is Risk.HIGH:
                problems.append((("inspect",), "a high-risk characteristic is always "
                                 f"inspected ({'; '.join(risk.reasons)})"))
        if problems:
            raise SemanticProblems(problems)
        return self

    @property
    def has_spec(self) -> bool:
        """True when the row gives a specification limit."""
        return self.lsl is not None or self.usl is not None



#: The columns a failure table may have, in the order of :class:`FailureRow`.
COLUMNS: tuple[str, ...] = tuple(FailureRow.model_fields)
#: Columns an inspection-plan row needs (and a table without a kind column).
_PLAN_COLUMNS = _REQUIRED = ("material", "characteristic")
_BASIS_COLUMNS = ("severity", "rpn", "defects")


@dataclass(frozen=True)
class RiskAssessment:
    """A row's risk class, why (one reason per basis), and what it asks of the plan."""

    risk: Risk
    reasons: tuple[str, ...]
    #: True when the row asks for 100 % inspection of its material (S = 10).
    full_inspection: bool
    #: True when the row asks for its characteristic to be listed in the plan.
    inspect: bool
    action_priority: Risk | None = None
    #: Upper bound on the defect rate (a share) from the row's counts.
    rate_upper: float | None = None


def assess_row(row: FailureRow) -> RiskAssessment:
    """The risk class of one row by the table in the module docstring."""
    classes: list[Risk] = []
    reasons: list[str] = []
    ap: Risk | None = None
    upper: float | None = None
    s, o, d = row.severity, row.occurrence, row.detection
    if s is not None and o is not None and d is not None:
        ap = action_priority(s, o, d)
        classes.append(ap)
        reasons.append(f"S {s}, O {o}, D {d} → AP {ap.value[0].upper()}")
    elif row.rpn is not None:
        rpn_class = (Risk.HIGH if row.rpn >= _RPN_HIGH else
                     Risk.MEDIUM if row.rpn >= _RPN_MEDIUM else Risk.LOW)
        classes.append(rpn_class)
        reasons.append(f"RPN {row.rpn}")
    if s is not None and s >= _SEVERITY_HIGH:
        classes.append(Risk.HIGH)
        if ap is not Risk.HIGH:
            reasons.append(f"S {s} ≥ {_SEVERITY_HIGH}")
    if row.defects is not None and row.inspected is not None:
        upper = jeffreys_upper_bound(row.defects, row.inspected)
        classes.append(Risk.HIGH if upper >= _RATE_HIGH else
                       Risk.MEDIUM if upper >= _RATE_MEDIUM else Risk.LOW)
        reasons.append(f"{row.defects:,} in {row.inspected:,} → p95 ≤ {_percent(upper)}")
    risk = max(classes, key=lambda r: r.rank, default=Risk.LOW)
    full = s is not None and s >= _SEVERITY_FULL
    if full:
        reasons.append(f"S {s}: 100 %")
    # Without a say from the table, medium and high are inspected; it cannot drop a high.
    inspect = risk is not Risk.LOW if row.inspect is None else row.inspect or risk is Risk.HIGH
    return RiskAssessment(risk=risk, reasons=tuple(reasons), full_inspection=full,
                          inspect=inspect, action_priority=ap, rate_upper=upper)


def _percent(share: float) -> str:
    pct = 100 * share
    return f"{pct:.2g} %" if pct < 1 else f"{pct:.3g} %"


# --------------------------------------------------------------------------- reading


Locate = Callable[[int, Loc], tuple[str, int | None]]


def load_failures(path: str | Path, *, referenced: bool = False) -> list[FailureRow]:
    """Read and validate a failure table: ``.csv`` (a header row of :data:`COLUMNS` in any
    order and case; empty cells are missing values; ``#`` comment lines allowed) or
    ``.yaml``/``.yml`` (a list of mappings with those keys). Only a regular file of at most
    :data:`~shocktwin.source.MAX_FILE_BYTES` is read (a pipe or a device is refused).

    ``referenced``: the table was reached by a reference in another file (a scenario's
    ``failures``) rather than named by the user, so each problem gives the line, the column
    (when it is one of :data:`COLUMNS`) and a generic reason, never a cell, a header or a
    line of the file. The caller has checked that the reference stays inside the allowed
    folders.

    Raises:
        RuleError: the file is missing, unreadable, empty, not text or invalid; every bad
            row is listed with the file, its line, the column and the reason.
    """
    try:
        return _load_failures(path)
    except RuleError as e:
        if not referenced:
            raise
        raise RuleError(_quoting_nothing(e.problems), file=e.file) from None


def _load_failures(path: str | Path) -> list[FailureRow]:
    file = str(path)
    suffix = Path(path).suffix.lower()
    if suffix in (".yaml", ".yml"):
        try:
            data, lines = read_yaml(path)
        except ScenarioError as e:
            raise RuleError(e.problems, file=file) from None
        return parse_failures(data, file=file, lines=lines)
    if suffix != ".csv":
        raise RuleError(f"unknown table format {suffix or '(no suffix)'!r}: give a .csv, "
                        ".yaml or .yml file", file=file)
    return _parse_csv(_read_text(Path(path), file), file)


# Messages of a table's problems that quote nothing of it (after ", got ..." is cut off).
_SAFE_MESSAGES = (
    "a column has no name", "duplicate column", "unknown column", "required column is missing",
    "no risk columns", "a row must be a mapping", "required, but empty or missing", "must be ",
    "the same material, characteristic and failure mode as line", "give defects and "
    "inspected together", "no risk basis", "a unit without lsl or usl", "spec limits need a "
    "unit", "the table has no rows", "the file has no header row", "more than ",
    "the file is empty", "not a regular file", "required for a ", "only inspection-plan rows",
    "an empty context", "expands to more than", "is a directory", "no such file", "file is ",
    "not a text file", "not UTF-8 text", "cannot read", "unknown table format",
    "a failure table must be a list of rows", "duplicate key", "YAML nested",
    "a YAML anchor refers to itself", "the YAML expands", "the file holds no YAML document",
)
_CELLS = re.compile(r"\d+ cells, but the header has \d+ columns")
_TABLE_PATH = re.compile(r"(\[\d+\])?(\.?(" + "|".join(COLUMNS) + r"))?")


def _quoting_nothing(problems: Iterable[Problem]) -> list[Problem]:
    """A referenced table's problems with no text of the table: a path only when it is a
    row index and a known column, a message only when it is one of the fixed ones."""
    out = []
    for p in position_only(problems):
        message = p.message.split(", got ")[0]
        if message.startswith("not valid CSV"):
            message = f"not valid CSV ({ON_ITS_OWN})"
        elif not (message.startswith(_SAFE_MESSAGES) or _CELLS.fullmatch(message)
                  or message.startswith("not valid YAML (") or message.startswith("unknown key (")):
            message = f"invalid ({ON_ITS_OWN})"
        path = p.path if _TABLE_PATH.fullmatch(p.path) else ""
        out.append(Problem(p.file, path, message, p.line))
    return out


def parse_failures(data: Any, *, file: str | None = None,
                   lines: Mapping[Loc, int] | None = None) -> list[FailureRow]:
    """Validate already-parsed rows (a list of mappings, e.g. from YAML) into FailureRows."""
    line_map = dict(lines or {})
    if not isinstance(data, list):
        raise RuleError([Problem(file, "", "a failure table must be a list of rows (mappings "
                                 f"with the keys {', '.join(COLUMNS)})",
                                 line_map.get((), 1 if file else None))], file=file)

    def locate(index: int, loc: Loc) -> tuple[str, int | None]:
        full = (index, *loc)
        return loc_text(full), (line_for(line_map, full) if line_map else None)

    return _validate(data, file, locate)


def _read_text(path: Path, file: str) -> str:
    text = read_text(path, limit=MAX_FILE_BYTES, error=RuleError)
    if not text.strip():
        raise RuleError("the file is empty", file=file)
    return text


def _parse_csv(text: str, file: str) -> list[FailureRow]:
    # Comment lines are blanked rather than dropped, so line numbers stay the file's.
    kept = "\n".join("" if line.lstrip().startswith("#") else line
                     for line in text.split("\n"))
    reader = csv.reader(io.StringIO(kept, newline=""))
    header: list[str] | None = None
    records: list[dict[str, str]] = []
    row_lines: list[int] = []
    problems: list[Problem] = []
    before = header_line = 0
    try:
        for cells in reader:
            start, before = before + 1, reader.line_num
            if not any(c.strip() for c in cells):
                continue
            if header is None:
                header, header_line = [c.strip().lower() for c in cells], start
                problems.extend(_header_problems(header, file, start))
                if problems:
                    raise RuleError(problems, file=file)
                continue
            if len(cells) != len(header):
                problems.append(Problem(file, "", f"{len(cells)} cells, but the header has "
                                        f"{len(header)} columns", start))
                continue
            if len(records) >= MAX_ROWS:
                problems.append(Problem(file, "", f"more than {MAX_ROWS:,} rows", start))
                break
            records.append({k: v.strip() for k, v in zip(header, cells, strict=True)
                            if v.strip()})
            row_lines.append(start)
    except csv.Error as e:
        problems.append(Problem(file, "", f"not valid CSV: {e}", reader.line_num))
    if header is None:
        raise RuleError("the file has no header row", file=file)
    if not records and not problems:
        raise RuleError([Problem(file, "", "the table has no rows, only a header",
                                 header_line)], file=file)

    def locate(index: int, loc: Loc) -> tuple[str, int | None]:
        return (str(loc[0]) if loc else ""), row_lines[index]

    rows: list[FailureRow] = []
    if records:
        try:
            rows = _validate(records, file, locate)
        except RuleError as e:
            problems.extend(e.problems)
    if problems:
        raise RuleError(sorted(problems, key=lambda p: p.line or 0), file=file)
    return rows


def _header_problems(header: list[str], file: str, line: int) -> Iterator[Problem]:
    seen: set[str] = set()
    for name in header:
        if not name:
            yield Problem(file, "", "a column has no name", line)
        elif name in seen:
            yield Problem(file, name, "duplicate column", line)
        elif name not in COLUMNS:
            yield Problem(file, name, f"unknown column (columns: {', '.join(COLUMNS)})", line)
        seen.add(name)
    # A table with a kind column may hold library rows only, which need neither.
    for name in () if "kind" in header else _REQUIRED:
        if name not in header:
            yield Problem(file, name, "required column is missing", line)
    if not any(name in header for name in _BASIS_COLUMNS):
        yield Problem(file, "", "no risk columns: give severity, occurrence and detection, "
                      "or rpn, or defects and inspected", line)


def _validate(records: Sequence[Any], file: str | None, locate: Locate) -> list[FailureRow]:
    if not records:
        raise RuleError([Problem(file, "", "the table has no rows", None)], file=file)
    if len(records) > MAX_ROWS:
        raise RuleError([Problem(file, "", f"more than {MAX_ROWS:,} rows", None)], file=file)
    problems: list[Problem] = []
    rows: list[tuple[int, FailureRow]] = []
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            path, line = locate(index, ())
            problems.append(Problem(file, path, "a row must be a mapping of column to value",
                                    line))
            continue
        try:
            rows.append((index, FailureRow.model_validate(record)))
        except ValidationError as e:
            found = list(_row_errors(e))
            # The row's own checks did not run: say what else its kind needs.
            told = {loc[:1] for loc, _ in found}
            found.extend(((name,), message) for name, message in _missing_columns(record)
                         if (name,) not in told)
            for loc, message in found:
                path, line = locate(index, loc)
                problems.append(Problem(file, path, message, line))
    problems.extend(_cross_row_problems(rows, file, locate))
    if problems:
        raise RuleError(sorted(problems, key=lambda p: p.line or 0), file=file)
    return [row for _, row in rows]


def _missing_columns(record: dict[str, Any]) -> list[tuple[str, str]]:
    """The columns a row's kind needs that it leaves empty, for a row that failed
    validation before its own checks ran."""
    kind = str(record.get("kind") or RuleKind.INSPECTION_PLAN.value).strip().lower()
    if kind == RuleKind.INSPECTION_PLAN.value:
        return [(name, "required, but empty or missing") for name in _PLAN_COLUMNS
                if record.get(name) in (None, "")]
    if kind in set(RuleKind) and not str(record.get("failure_mode") or "").strip():
        return [("failure_mode", f"required for a {kind} row: one rule is drafted per "
                 "failure mode and context")]
    return []


def _cross_row_problems(rows: Sequence[tuple[int, FailureRow]], file: str | None,
                        locate: Locate) -> Iterator[Problem]:
    """Repeated rows, and limits of one characteristic that differ between its rows."""
    seen: dict[tuple[str, str, str], int] = {}
    limits: dict[tuple[str, str], tuple[int, FailureRow]] = {}
    for index, row in rows:
        if row.kind is not RuleKind.INSPECTION_PLAN:
            continue  # library rows that repeat are merged by draft_library
        material, characteristic = _plan_names(row)
        key = (material, characteristic, row.failure_mode.strip().lower())
        if key in seen:
            path, line = locate(index, ("failure_mode",) if row.failure_mode else ())
            yield Problem(file, path, "the same material, characteristic and failure mode "
                          f"as {_where(seen[key], locate)}", line)
        else:
            seen[key] = index
        if not row.has_spec:
            continue
        first = limits.setdefault((material, characteristic), (index, row))
        other = first[1]
        if (other.lsl, other.usl, other.unit) != (row.lsl, row.usl, row.unit):
            path, line = locate(index, ("lsl" if row.lsl is not None else "usl",))
            yield Problem(file, path, f"limits {_limits_text(row)} differ from "
                          f"{_limits_text(other)} given for {row.characteristic} at "
                          f"{_where(first[0], locate)}", line)


def _plan_names(row: FailureRow) -> tuple[str, str]:
    """The material and characteristic of an inspection-plan row (which has both)."""
    return row.material or "", row.characteristic or ""


def _where(index: int, locate: Locate) -> str:
    path, line = locate(index, ())
    return f"line {line}" if line is not None else path


def _limits_text(row: FailureRow) -> str:
    low = "–" if row.lsl is None else f"{row.lsl:g}"
    high = "–" if row.usl is None else f"{row.usl:g}"
    return f"[{low}, {high}] {row.unit}"


_BOUNDED = {"greater_than_equal", "less_than_equal", "greater_than", "less_than"}
_RANGES: Mapping[str, str] = MappingProxyType({
    "severity": f"from 1 to 10 {_SCALE}", "occurrence": f"from 1 to 10 {_SCALE}",
    "detection": f"from 1 to 10 {_SCALE}", "rpn": "from 1 to 1000",
    "defects": "0 or more", "inspected": "from 1 to 1,000,000,000",
})


def _row_errors(e: ValidationError) -> Iterator[tuple[Loc, str]]:
    for err in e.errors(include_url=False):
        loc: Loc = tuple(err["loc"])
        inner = (err.get("ctx") or {}).get("error")
        if isinstance(inner, SemanticProblems):
            for sub, message in inner.problems:
                yield (*loc, *sub), message
            continue
        yield loc, _row_message(err, str(loc[0]) if loc else "")


def _row_message(err: Any, column: str) -> str:
    kind = err["type"]
    got = err.get("input")
    if kind == "extra_forbidden":
        return f"unknown column (columns: {', '.join(COLUMNS)})"
    if kind == "missing":
        return "required, but empty or missing"
    if kind in _BOUNDED and column in _RANGES:
        return f"must be {_RANGES[column]}, got {got}"
    if kind in ("int_parsing", "int_from_float", "int_type"):
        return f"must be a whole number, got {got!r}"
    if kind in ("float_parsing", "float_type"):
        return f"must be a number, got {got!r}"
    if kind == "finite_number":
        return f"must be a finite number, got {got!r}"
    if kind in ("bool_parsing", "bool_type"):
        return f"must be yes or no, got {got!r}"
    if kind == "string_pattern_mismatch":
        return ("must be an identifier (a letter first, then letters, digits, '_', '-', '.'; "
                f"at most 64 characters), got {got!r}")
    return error_message(err)


# --------------------------------------------------------------------------- drafting


_DRAFTED = "Drafted from a failure-mode table"


def _table(rows: Iterable[FailureRow], caller: str, source: str | None) -> list[FailureRow]:
    """The rows of a failure table as a list: FailureRow objects only, and at least one."""
    table = list(rows)
    wrong = [type(r).__name__ for r in table if not isinstance(r, FailureRow)]
    if wrong:
        raise TypeError(f"{caller} takes FailureRow objects, not {', '.join(set(wrong))}")
    if not table:
        raise RuleError([Problem(source, "", "the failure table has no rows")], file=source)
    return table


def draft_plan(rows: Iterable[FailureRow], *, material: str | None = None,
               new_supplier: bool = True, station: str | None = "iqc",
               name: str | None = None, source: str | None = None,
               first_article_pieces: int = FIRST_ARTICLE_PIECES) -> RuleSet:
    """A rule set with one inspection plan per material of ``rows``, by the risk mapping of
    the module docstring.

    Args:
        rows: the failure table, e.g. from :func:`load_failures`.
        material: draft only this material's plan (default every material in the table).
        new_supplier: start on tightened inspection with a first-article inspection of
            ``first_article_pieces`` units; otherwise start normal, without one.
        station: the inspection station of the plans (``None``: any the material passes).
        name: the rule set's name; default ``<material>-draft`` for one material, else
            ``draft``.
        source: where the rows came from, named in the description.

    The description says, per plan, which rows set its level and AQL and which
    characteristics are inspected; :func:`dump_rules` repeats it as a header comment.

    Raises:
        RuleError: no rows (for ``material``), rows that repeat or contradict each other,
            or a name, station or piece count the rule-set format refuses.
    """
    table = _table(rows, "draft_plan", source)
    problems = list(_cross_row_problems(list(enumerate(table)), source,
                                        lambda i, loc: (loc_text((i, *loc)), None)))
    if problems:
        raise RuleError(problems, file=source)
    plan_rows = [r for r in table if r.kind is RuleKind.INSPECTION_PLAN]
    if not plan_rows:
        kinds = ", ".join(dict.fromkeys(r.kind.value for r in table))
        raise RuleError([Problem(source, "kind", f"the table has no inspection-plan rows "
                                 f"(only {kinds}): draft a rule library from it")],
                        file=source)
    table = plan_rows
    if material is not None:
        known = list(dict.fromkeys(_plan_names(r)[0] for r in table))
        table = [r for r in table if r.material == material]
        if not table:
            raise RuleError([Problem(source, "material", f"the table has no rows for "
                                     f"{material!r} (materials: {', '.join(known)})")],
                            file=source)
    by_material: dict[str, list[FailureRow]] = {}
    for row in table:
        by_material.setdefault(_plan_names(row)[0], []).append(row)
    if name is None:
        name = f"{next(iter(by_material))}-draft" if len(by_material) == 1 else "draft"
    problems = list(_argument_problems(name=name, station=station,
                                       first_article_pieces=first_article_pieces))
    if problems:
        raise RuleError(problems, file=source)
    start = Severity.TIGHTENED if new_supplier else Severity.NORMAL
    if new_supplier:
        who = (f"for a new supplier: plans start on tightened inspection and measure a first "
               f"article of {first_article_pieces} pieces.")
    else:
        who = "for a current supplier: plans start on normal inspection, without a first " \
              "article."
    lines = [f"{_DRAFTED}{f' ({source})' if source else ''} {who}"]
    try:
        plans = []
        for mat, mat_rows in by_material.items():
            plan, note = _draft_material(mat, mat_rows, start=start, station=station,
                                         first_article=FirstArticle(pieces=first_article_pieces)
                                         if new_supplier else None)
            plans.append(plan)
            lines.append(note)
        return RuleSet(version=1, name=name, description="\n".join(lines), plans=plans)
    except ValidationError as e:
        raise RuleError([Problem(source, loc_text(tuple(err["loc"])), _row_message(
            err, str(err["loc"][-1]) if err["loc"] else "")) for err in e.errors(
            include_url=False)], file=source) from e


_IDENT: TypeAdapter[str] = TypeAdapter(Ident)
_PIECES: TypeAdapter[int] = TypeAdapter(Annotated[int, Field(ge=1, le=10_000)])


def _argument_problems(**values: Any) -> Iterator[Problem]:
    """The arguments of :func:`draft_plan` the rule-set format constrains, all at once."""
    for key, value in values.items():
        if value is None:
            continue
        adapter: TypeAdapter[Any] = _PIECES if key == "first_article_pieces" else _IDENT
        try:
            adapter.validate_python(value, strict=True)
        except ValidationError as e:
            err = e.errors(include_url=False)[0]
            message = (f"must be a whole number from 1 to 10,000, got {value!r}"
                       if adapter is _PIECES else _row_message(err, key))
            yield Problem(None, key, message)


def _draft_material(material: str, rows: list[FailureRow], *, start: Severity,
                    station: str | None, first_article: FirstArticle | None
                    ) -> tuple[Plan, str]:
    assessed = [(row, assess_row(row)) for row in rows]
    worst = max((a.risk for _, a in assessed), key=lambda r: r.rank)
    full_rows = [(r, a) for r, a in assessed if a.full_inspection]
    sampling: SingleSampling | FullInspection
    if full_rows:
        sampling = FullInspection(method=SamplingMethod.FULL)
        how, drivers = "100 % inspection", full_rows
    else:
        level, aql = SAMPLING_BY_RISK[worst]
        sampling = SingleSampling(level=level, aql=aql, switching=Switching.Z14, start=start)
        how = f"level {level.value}, AQL {aql}"
        drivers = [(r, a) for r, a in assessed if a.risk is worst]
    by_name: dict[str, list[tuple[FailureRow, RiskAssessment]]] = {}
    for row, a in assessed:
        by_name.setdefault(_plan_names(row)[1], []).append((row, a))
    characteristics: list[Characteristic] = []
    listed: list[str] = []
    left_out: list[str] = []
    for name, items in by_name.items():
        risk = max((a.risk for _, a in items), key=lambda r: r.rank)
        if not any(a.inspect for _, a in items):
            left_out.append(f"{name} ({risk.value})")
            continue
        spec = next((Spec(lsl=r.lsl, usl=r.usl, unit=r.unit) for r, _ in items
                     if r.has_spec and r.unit is not None), None)
        characteristics.append(Characteristic(name=name, spec=spec))
        why = "" if risk is not Risk.LOW else ", listed by the table"
        listed.append(f"{name} ({risk.value}{why})")
    plan = Plan(material=material, station=station, sampling=sampling,
                first_article=first_article, characteristics=characteristics)
    shown = [_driver_text(r, a) for r, a in drivers[:5]]
    if len(drivers) > 5:
        shown.append(f"{len(drivers) - 5} more")
    note = (f"{material}: {how} ({worst.value} risk), set by {_join(shown)}. "
            f"Inspected: {_join(listed) or 'none'}.")
    if left_out:
        note += f" Not inspected: {_join(left_out)}."
    return plan, note


def _driver_text(row: FailureRow, a: RiskAssessment) -> str:
    mode = f" '{row.failure_mode}'" if row.failure_mode else ""
    return f"{row.characteristic}{mode} ({'; '.join(a.reasons)})"


def _join(items: Sequence[str]) -> str:
    if len(items) <= 2:
        return " and ".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


# --------------------------------------------------------------------------- rule libraries


@dataclass(frozen=True)
class DraftCounts:
    """What :func:`draft_library` drafted: rows read, rules before and after duplicates were
    merged, rows the context overrides changed, and the rules per kind and context value."""

    rows: int
    #: One per row and combination of its context values, before merging.
    candidates: int
    rules: int
    #: Candidates merged into an earlier rule of the same kind, failure mode and context.
    merged: int
    #: Rows with a context that the overrides changed (a value replaced or a key added).
    rebound: int
    by_kind: Mapping[RuleKind, int]
    #: Context key → value → rules bound to it, in the order they first appear.
    by_context: Mapping[str, Mapping[str, int]]
    #: (kind, context key, value) → rules.
    by_kind_and_context: Mapping[tuple[RuleKind, str, str], int]


#: The fallback a drafted library declares unless told otherwise: nothing is released under
#: an invalidated rule until it is regenerated.
DEFAULT_FALLBACK = Fallback(mode=FallbackMode.HOLD_RELEASE)
_MAX_ID = 100


def draft_library(rows: Iterable[FailureRow], *, contexts: Mapping[str, str] | None = None,
                  fallback: Fallback | None = None, source: str | None = None
                  ) -> tuple[Library, DraftCounts]:
    """A rule library with one rule per failure mode and context of ``rows``.

    A row's ``context`` (``toolchain=eda-a;board=rigid|hdi``) expands to one rule per
    combination of its values (here toolchain=eda-a with board=rigid, and with board=hdi).
    Candidates of the same kind, failure mode (case and spacing aside), material and
    context are merged into the first: it keeps its check text and takes the highest
    severity. Every row is drafted: inspection-plan rows too, as rules of that kind.

    ``contexts`` (``{"toolchain": "eda-b"}``) drafts the library for other context values:
    every rule is bound to each given value, whatever the row says for that key: a row bound
    to toolchain=eda-a (or to eda-a|eda-b) gives rules bound to toolchain=eda-b, and a row
    with no toolchain gains it. A row without any context needs one from ``contexts``. So a
    failure history recorded under the old tool chain regenerates the same checks for the new
    one; rows that then coincide are merged and counted.

    Rule ids are ``<name>.<context values>``: the row's characteristic (prefixed by its
    material, if any), else the first words of its failure mode, then the context values in
    the row's key order, e.g. ``annular_ring_external.eda-a.rigid``. Different rules that
    would get the same id are told apart by ``-2``, ``-3`` in table order; an id longer than
    100 characters is cut and ends in a digest of the whole.

    ``fallback`` is the library's (default :data:`DEFAULT_FALLBACK`, hold release).

    Raises:
        RuleError: no rows, a bad context override, or rows that have no context.
    """
    table = _table(rows, "draft_library", source)
    overrides = _checked_overrides(contexts or {}, source)
    problems: list[Problem] = []
    merged_into: dict[tuple[Any, ...], int] = {}
    drafted: list[dict[str, Any]] = []
    candidates = rebound = 0
    for index, row in enumerate(table):
        given = dict(row.context or {})
        bound = {**given, **{key: (value,) for key, value in overrides.items()}}
        if given and bound != given:
            rebound += 1
        if not bound:
            problems.append(Problem(source, f"[{index}].context", "the row has no context: "
                                    "give it one (e.g. toolchain=eda-a) or draft with "
                                    "context values"))
            continue
        mode = " ".join((row.failure_mode or row.characteristic or "").lower().split())
        for values in itertools.product(*bound.values()):
            candidates += 1
            context = dict(zip(bound, values, strict=True))
            key = (row.kind, mode, row.material, frozenset(context.items()))
            if key in merged_into:
                rule = drafted[merged_into[key]]
                if row.severity is not None:
                    rule["severity"] = max(rule["severity"] or 0, row.severity)
                rule["check"] = rule["check"] or _check_text(row)
                continue
            merged_into[key] = len(drafted)
            drafted.append({"name": _rule_name(row), "kind": row.kind, "context": context,
                            "material": row.material,
                            "failure_mode": row.failure_mode.strip() or None,
                            "check": _check_text(row), "severity": row.severity})
    if problems:
        raise RuleError(problems, file=source)
    rules = [LibraryRule(id=rule_id, **{k: v for k, v in d.items() if k != "name"})
             for rule_id, d in zip(_rule_ids(drafted), drafted, strict=True)]
    library = Library(fallback=fallback or DEFAULT_FALLBACK, rules=rules)
    return library, _counts(table, rules, candidates=candidates, rebound=rebound)


def _checked_overrides(contexts: Mapping[str, str], source: str | None) -> dict[str, str]:
    problems = [Problem(source, f"contexts.{key}", message)
                for key, value in contexts.items()
                for message in _override_problems(key, value)]
    if problems:
        raise RuleError(problems, file=source)
    return dict(contexts)


def _override_problems(key: Any, value: Any) -> Iterator[str]:
    if not isinstance(key, str) or not _CONTEXT_KEY.fullmatch(key):
        yield (f"context {key!r} must be a name, or a name and a qualifier joined by '.' "
               "(toolchain, supplier.valve)")
    if not isinstance(value, str) or not _CONTEXT_VALUE.fullmatch(value):
        yield (f"the value of context {key} must be an identifier (a letter first, then "
               f"letters, digits, '_', '-', '.'; at most 64 characters), got {value!r}")


def parse_context_overrides(items: Iterable[str]) -> dict[str, str]:
    """``key=value`` texts (``rules derive --context``) as a mapping for
    :func:`draft_library`.

    Raises:
        RuleError: every text that is not key=value, names a key twice, or gives a key or
            value the rule-set format refuses.
    """
    out: dict[str, str] = {}
    problems: list[Problem] = []
    for item in items:
        key, equals, value = item.partition("=")
        key, value = key.strip(), value.strip()
        if not equals:
            problems.append(Problem(None, "context", f"{item!r} is not key=value (e.g. "
                                    "toolchain=eda-b)"))
        elif key in out:
            problems.append(Problem(None, "context", f"context {key} is given twice"))
        else:
            problems.extend(Problem(None, "context", message)
                            for message in _override_problems(key, value))
            out[key] = value
    if problems:
        raise RuleError(problems)
    return out


def make_fallback(mode: str, *, pool: str | None = None,
                  approval_time: str | float | None = None) -> Fallback:
    """A library's fallback from command-line values (``rules derive --fallback``).

    Raises:
        RuleError: an unknown mode (with the nearest one), a deviation without its pool and
            approval time, or those given to another mode.
    """
    data = {k: v for k, v in (("mode", mode), ("pool", pool),
                              ("approval_time", approval_time)) if v is not None}
    try:
        return Fallback.model_validate(data)
    except ValidationError as e:
        raise RuleError([Problem(None, loc_text(("fallback", *loc)), message)
                         for loc, message in _row_errors(e)]) from None


def _rule_name(row: FailureRow) -> str:
    if row.characteristic is not None:
        return f"{row.material}.{row.characteristic}" if row.material else row.characteristic
    words = re.sub(r"[^a-z0-9]+", "-", row.failure_mode.lower()).strip("-")
    short = words[:40].rsplit("-", 1)[0] if len(words) > 40 else words
    return short or "rule"


def _rule_ids(drafted: Sequence[Mapping[str, Any]]) -> Iterator[str]:
    taken: set[str] = set()
    for rule in drafted:
        base = ".".join([rule["name"], *rule["context"].values()])
        if len(base) > _MAX_ID:
            digest = hashlib.sha256(base.encode()).hexdigest()[:8]
            base = f"{base[:_MAX_ID - 12]}-{digest}"
        rule_id, n = base, 1
        while rule_id in taken:
            n += 1
            rule_id = f"{base[:_MAX_ID - 1 - len(str(n))]}-{n}"
        taken.add(rule_id)
        yield rule_id


def _check_text(row: FailureRow) -> str | None:
    if row.check is not None:
        return " ".join(row.check.split())
    if row.has_spec:
        return f"{row.characteristic or 'value'} within {_limits_text(row)}"
    return None


def _counts(table: Sequence[FailureRow], rules: Sequence[LibraryRule], *, candidates: int,
            rebound: int) -> DraftCounts:
    by_kind = {kind: n for kind in RuleKind if (n := sum(r.kind is kind for r in rules))}
    by_context: dict[str, dict[str, int]] = {}
    by_both: dict[tuple[RuleKind, str, str], int] = {}
    for rule in rules:
        for key, value in rule.context.items():
            values = by_context.setdefault(key, {})
            values[value] = values.get(value, 0) + 1
            by_both[(rule.kind, key, value)] = by_both.get((rule.kind, key, value), 0) + 1
    return DraftCounts(
        rows=len(table), candidates=candidates, rules=len(rules),
        merged=candidates - len(rules), rebound=rebound,
        by_kind=MappingProxyType(by_kind),
        by_context=MappingProxyType({k: MappingProxyType(v) for k, v in by_context.items()}),
        by_kind_and_context=MappingProxyType(by_both))


_LIBRARY_DRAFTED = "A rule library drafted from a failure-mode table"


def draft_library_rules(rows: Iterable[FailureRow], *, name: str = "library-draft",
                        contexts: Mapping[str, str] | None = None,
                        fallback: Fallback | None = None, source: str | None = None
                        ) -> tuple[RuleSet, DraftCounts]:
    """A rule set that holds only the library :func:`draft_library` drafts from ``rows``
    (no plans), its description saying what was drafted; ``dump_rules`` writes it."""
    problems = list(_argument_problems(name=name))
    if problems:
        raise RuleError(problems, file=source)
    library, counts = draft_library(rows, contexts=contexts, fallback=fallback, source=source)
    kinds = ", ".join(f"{kind.value} {n}" for kind, n in counts.by_kind.items())
    bound = "; ".join(", ".join(f"{key}={value} {n}" for value, n in values.items())
                      for key, values in counts.by_context.items())
    lines = [f"{_LIBRARY_DRAFTED}{f' ({source})' if source else ''}: {counts.rules} rules, "
             f"one per failure mode and context, from {counts.rows} rows ({counts.merged} "
             f"duplicates merged). Rules by kind: {kinds}. Rules by context: {bound}."]
    if contexts:
        given = ", ".join(f"{k}={v}" for k, v in contexts.items())
        lines.append(f"Drafted for {given}: every rule is bound to it ({counts.rebound} rows "
                     "re-bound).")
    mode = (library.fallback or DEFAULT_FALLBACK).mode.value
    lines.append(f"While rules are invalid the plant runs under the fallback: {mode}.")
    ruleset = RuleSet(version=1, name=name, description="\n".join(lines), plans=[],
                      library=library)
    return ruleset, counts


# --------------------------------------------------------------------------- writing


class _RulesDumper(yaml.SafeDumper):
    """Safe YAML with multi-line text as literal blocks and no anchors."""

    def ignore_aliases(self, data: Any) -> bool:
        return True

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        # Items of a block list indented under their key, as in the hand-written files.
        super().increase_indent(flow, False)


def _represent_str(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    style = "|" if "\n" in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_RulesDumper.add_representer(str, _represent_str)

_WIDTH = 92


def dump_rules(ruleset: RuleSet) -> str:
    """A rule set as YAML text that :func:`~rules_engine.ruleset.load_rules` reads back to
    the same content hash.

    A header comment repeats the description; for a rule set from :func:`draft_plan` it
    first gives the risk mapping, so the description's per-plan lines (which rows set the
    level and AQL) can be checked against it.
    """
    data = ruleset.model_dump(mode="json", by_alias=True, exclude_none=True)
    if not data.get("triggers"):
        data.pop("triggers", None)
    if not data.get("description"):
        data.pop("description", None)
    body = yaml.dump(data, Dumper=_RulesDumper, sort_keys=False, allow_unicode=True,
                     width=_WIDTH + 8, default_flow_style=None)
    return _header(ruleset) + body


def _header(ruleset: RuleSet) -> str:
    out: list[str] = []
    drafted = ruleset.description.startswith(_DRAFTED)
    if ruleset.description.startswith(_LIBRARY_DRAFTED):
        out.append(f"Rule set {ruleset.name}: a rule library drafted from a failure-mode "
                   "table. Review before use.")
        out.append("")
        out.extend(_library_legend())
    elif drafted:
        out.append(f"Rule set {ruleset.name}: inspection plans drafted from a failure-mode "
                   "table. Review before use.")
        out.append("")
        out.extend(_legend())
    else:
        out.append(f"Rule set {ruleset.name}.")
    for paragraph in ruleset.description.split("\n"):
        words = " ".join(paragraph.split())
        if words:
            out.append("")
            out.extend(textwrap.wrap(words, _WIDTH - 2, break_long_words=False,
                                     break_on_hyphens=False))
    # str.split above took every YAML line break out of the text, so each line stays a comment.
    return "".join(f"# {line}".rstrip() + "\n" for line in out) + "\n"


def _library_legend() -> list[str]:
    return [
        "One rule per failure mode and context: a row's context (key=a|b;other=c) expands to",
        "every combination of its values; rows of the same kind, failure mode and context are",
        "merged into one rule (the first row's check, the highest severity). Rule ids are the",
        "row's characteristic (or the first words of its failure mode) and the context values.",
        "Drafted for given context values, every rule is bound to them.",
    ]


def _legend() -> list[str]:
    high, medium, low = (SAMPLING_BY_RISK[r] for r in (Risk.HIGH, Risk.MEDIUM, Risk.LOW))
    return [
        "Risk class of a row (the highest any of its bases gives):",
        f"  high    S ≥ {_SEVERITY_HIGH}, action priority H, RPN ≥ {_RPN_HIGH}, or defect "
        f"rate ≥ {_percent(_RATE_HIGH)}",
        f"  medium  action priority M, RPN {_RPN_MEDIUM}–{_RPN_HIGH - 1}, or defect rate "
        f"{_percent(_RATE_MEDIUM)} to {_percent(_RATE_HIGH)}",
        "  low     anything else",
        "Action priority: AIAG & VDA FMEA Handbook (2019). Defect rate: Jeffreys "
        f"{_percent(HISTORY_CONFIDENCE)} upper bound.",
        "A plan takes its material's worst class:",
        f"  high    level {high[0].value}, AQL {high[1]} (100 % inspection when S = "
        f"{_SEVERITY_FULL}); characteristic always inspected",
        f"  medium  level {medium[0].value}, AQL {medium[1]}; inspected unless the table "
        "says no",
        f"  low     level {low[0].value}, AQL {low[1]}; inspected only if the table says yes",
    ]


def derive_rules_file(failures: str | Path, out: str | Path, *, material: str | None = None,
                      new_supplier: bool = True, replace: bool = False
                      ) -> tuple[RuleSet, list[FailureRow]]:
    """Draft a rule set from the failure table ``failures`` and write it to ``out`` as a
    whole (``rules derive``); returns it with the table's rows. ``out`` is checked first: a
    folder, the table itself, a missing folder, or an existing file without ``replace`` is
    refused before anything is read."""
    from shocktwin.files import write_atomic

    table, target = _paths(failures, out, replace=replace)
    rows = load_failures(table)
    name = table.stem if _RULESET_NAME.fullmatch(table.stem) else None
    ruleset = draft_plan(rows, material=material, new_supplier=new_supplier, name=name,
                         source=table.name)
    write_atomic(target, dump_rules(ruleset), error=RuleError, what="the rule set")
    return ruleset, rows


def derive_library_file(failures: str | Path, out: str | Path, *,
                        contexts: Mapping[str, str] | None = None,
                        fallback: Fallback | None = None, replace: bool = False
                        ) -> tuple[RuleSet, DraftCounts]:
    """Draft a rule library from the failure table ``failures`` (:func:`draft_library_rules`,
    named after the table) and write it to ``out`` as a whole (``rules derive --library``);
    ``out`` is checked first as for :func:`derive_rules_file`. The same table, contexts and
    fallback write the same bytes."""
    from shocktwin.files import write_atomic

    table, target = _paths(failures, out, replace=replace)
    rows = load_failures(table)
    name = table.stem if _RULESET_NAME.fullmatch(table.stem) else "library-draft"
    ruleset, counts = draft_library_rules(rows, name=name, contexts=contexts,
                                          fallback=fallback, source=table.name)
    write_atomic(target, dump_rules(ruleset), error=RuleError, what="the rule set")
    return ruleset, counts


def _paths(failures: str | Path, out: str | Path, *, replace: bool) -> tuple[Path, Path]:
    """The table and the file to write, refusing a target that is a folder, the table
    itself, in a missing folder, or (without ``replace``) an existing file."""
    table, target = Path(failures), Path(out)
    if target.is_dir():
        raise RuleError("is a directory; give the rule-set file to write", file=str(target))
    if target.exists() and target.resolve() == table.resolve():
        raise RuleError("is the failure table itself", file=str(target))
    if target.exists() and not replace:
        raise RuleError("exists; pass --force to overwrite it", file=str(target))
    if not target.parent.is_dir():
        raise RuleError(f"folder {target.parent} does not exist", file=str(target))
    return table, target


#: A table's file name that can name the drafted rule set as it is.
_RULESET_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.\-]{0,63}")
