"""The report's languages: every label from one catalogue, every number, percentage, duration
and date formatted for the reader's locale (Babel).

The report is written in one language at a time (``shocktwin report --lang en|zh-CN``).
Labels are written in English in the code and looked up with :func:`t`; the zh-CN
catalogue (:mod:`shocktwin.reports._zh_cn`) maps each English label to its translation.
A label the catalogue lacks is shown in English and recorded in :attr:`Language.missing`,
so a test can render a report in zh-CN and require that nothing was missing.

The language in force is a context variable set by :func:`speaking` around one rendering,
so sections and figures need not pass it along and two reports can render at once.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

__all__ = ["LANGUAGES", "NBSP", "Language", "count", "date", "hours", "kpi_name", "kpi_value",
           "language", "num", "pct", "speaking", "t", "tagged", "unit", "word"]

#: The languages a report can be written in: code -> Babel locale.
LANGUAGES: dict[str, str] = {"en": "en", "zh-CN": "zh_Hans_CN"}
#: Between a number and its unit, so a line never breaks inside a duration.
NBSP = "\u00a0"


@dataclass
class Language:
    """One language of the report and what a rendering in it looked up."""

    code: str = "en"
    #: English labels asked for that the catalogue has no translation of (zh-CN only).
    missing: set[str] = field(default_factory=set)
    #: Every English label asked for.
    used: set[str] = field(default_factory=set)

    @property
    def locale(self) -> str:
        return LANGUAGES[self.code]

    @property
    def catalogue(self) -> dict[str, str]:
        if self.code == "en":
            return {}
        from shocktwin.reports._zh_cn import ZH_CN

        return ZH_CN


_current: ContextVar[Language] = ContextVar("report_language", default=Language())  # noqa: B039


def language() -> Language:
    """The language being written."""
    return _current.get()


@contextmanager
def speaking(lang: str | Language) -> Iterator[Language]:
    """Write in ``lang`` within the block."""
    if isinstance(lang, str):
        if lang not in LANGUAGES:
            raise ValueError(f"unknown language {lang!r}; the report speaks "
                             f"{', '.join(LANGUAGES)}")
        lang = Language(lang)
    token = _current.set(lang)
    try:
        yield lang
    finally:
        _current.reset(token)


def t(label: str, /, **values: Any) -> str:
    """``label`` in the language being written, with ``values`` put into its ``{name}``
    fields (already formatted; not escaped: escape the result where it goes into HTML)."""
    lang = _current.get()
    lang.used.add(label)
    text = label
    if lang.code != "en":
        found = lang.catalogue.get(label)
        if found is None:
            lang.missing.add(label)
        else:
            text = found
    return text.format(**values) if values else text


def word(value: str) -> str:
    """A word taken from the results (a sampling state, a fallback mode, a gate policy):
    translated when the catalogue knows it, else shown as written."""
    lang = _current.get()
    return lang.catalogue.get(value, value) if lang.code != "en" else value


# --------------------------------------------------------------------------- numbers


def _finite(x: object) -> float | None:
    if isinstance(x, bool) or not isinstance(x, int | float):
        return None
    return float(x) if math.isfinite(x) else None


def num(x: object, digits: int = 4) -> str:
    """``x`` to ``digits`` significant digits with the locale's grouping and decimal signs;
    "–" when not a finite number."""
    from babel.numbers import format_decimal

    v = _finite(x)
    if v is None:
        return "–"
    if v == 0:
        return format_decimal(0, locale=language().locale)
    magnitude = math.floor(math.log10(abs(v)))
    decimals = max(digits - 1 - magnitude, 0)
    rounded = round(v, decimals)
    pattern = "#,##0" + ("." + "#" * decimals if decimals else "")
    return format_decimal(rounded, format=pattern, locale=language().locale)


def count(x: object) -> str:
    """A whole number with the locale's grouping."""
    from babel.numbers import format_decimal

    v = _finite(x)
    return "–" if v is None else format_decimal(round(v), format="#,##0",
                                                locale=language().locale)


def pct(x: object, decimals: int = 0) -> str:
    """A share (0…1) as a percentage in the locale's form."""
    from babel.numbers import format_percent

    v = _finite(x)
    if v is None:
        return "–"
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "") + "%"
    return format_percent(v, format=pattern, locale=language().locale)


#: Duration units, largest first: (hours per unit, English symbol).
_UNITS = ((24.0, "d"), (1.0, "h"), (1 / 60, "min"), (1 / 3600, "s"))


def unit(symbol: str) -> str:
    """A unit's symbol in the language being written (``h`` → 小时 in zh-CN)."""
    if symbol not in {"d", "h", "min", "s"}:
        return symbol
    return symbol if _current.get().code == "en" else t(f"unit:{symbol}")


def hours(h: object) -> str:
    """A duration given in hours as short text: 36 → "1.5 d", 0.25 → "15 min" (the same
    steps as the CLI's), number and unit joined by a no-break space."""
    v = _finite(h)
    if v is None:
        return "–"
    if abs(v) >= 48:
        value, symbol = v / 24, "d"
    elif abs(v) >= 1 or v == 0:
        value, symbol = v, "h"
    elif abs(v) >= 1 / 60:
        value, symbol = v * 60, "min"
    else:
        value, symbol = v * 3600, "s"
    return f"{num(value)}{NBSP}{unit(symbol)}"


def tagged(kind: str, value: str) -> str:
    """A name of a known kind (``layer``, ``kpi``) as written in English, or its
    translation (catalogued as ``kind:value``)."""
    return value if _current.get().code == "en" else t(f"{kind}:{value}")


def kpi_name(kpi: str) -> str:
    """A KPI's name for the reader: its identifier, with the translated name in zh-CN
    (``otd`` → "准时交付率 otd")."""
    from shocktwin.kpis import KPI_TABLE, base_kpi

    lang = _current.get()
    base = base_kpi(kpi)
    if lang.code == "en" or base not in {str(k) for k in KPI_TABLE}:
        return kpi
    name = t(f"kpi:{base}")
    return f"{name} {kpi}"


def kpi_value(kpi: str, x: object) -> str:
    """A KPI value: durations with units, shares as percentages, others to 4 digits."""
    from shocktwin.kpis import SHARE_KPIS, TIME_KPIS, base_kpi

    base = base_kpi(kpi)
    if base in TIME_KPIS:
        return hours(x)
    if base in SHARE_KPIS:
        return pct(x, 2)
    v = _finite(x)
    if v is not None and abs(v) >= 1e5:
        return count(v)
    return num(x)


def date(iso: object) -> str:
    """A UTC time as written in journals ("2026-01-02T03:04:05.000Z") in the locale's
    medium date-time form, marked UTC; text that is not such a time is shown as it is."""
    from babel.dates import format_datetime

    if not isinstance(iso, str) or not iso:
        return "–"
    try:
        when = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return iso
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    text = format_datetime(when, format="medium", tzinfo=UTC, locale=language().locale)
    return f"{text} UTC"
