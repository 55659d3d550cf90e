"""Parsing of durations ("90min", "4h", "14d", "1h30min") and rates ("25/h") into hours.

The twin keeps time in hours as floats; scenario files must always say the unit, because a
bare number is the most common source of off-by-60 mistakes in simulation models.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any

from pydantic import BeforeValidator, WithJsonSchema

__all__ = ["DURATION_JSON_SCHEMA", "DURATION_UNITS_H", "Duration", "DurationText",
           "PositiveDuration", "Rate", "format_hours", "parse_duration_h", "parse_rate_per_h"]

#: Hours per unit. "m" is refused on purpose: minutes or months?
DURATION_UNITS_H: dict[str, float] = {
    "ms": 1.0 / 3_600_000.0,
    "s": 1.0 / 3600.0,
    "sec": 1.0 / 3600.0,
    "min": 1.0 / 60.0,
    "h": 1.0,
    "hr": 1.0,
    "d": 24.0,
    "w": 168.0,
}

_NUMBER = r"(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_PART = re.compile(rf"\s*({_NUMBER})\s*([A-Za-z]+)\s*")
_UNITS_TEXT = ", ".join(DURATION_UNITS_H)


def parse_duration_h(value: object) -> float:
    """Hours in a duration written with a unit: "90min" → 1.5, "1d12h" → 36.0.

    Raises ValueError with a message fit for a scenario author.
    """
    if isinstance(value, bool) or not isinstance(value, str):
        if isinstance(value, int | float):
            raise ValueError(
                f"a duration needs a unit, e.g. '{value}h' or '{value}min' (units: {_UNITS_TEXT})"
            )
        raise ValueError(f"a duration must be text such as '4h' or '90min', not {value!r}")
    text = value.strip()
    if re.fullmatch(_NUMBER, text):
        raise ValueError(
            f"a duration needs a unit, e.g. '{text}h' or '{text}min' (units: {_UNITS_TEXT})"
        )
    if text.startswith("-"):
        raise ValueError(f"a duration cannot be negative: {value!r}")
    pos, total, seen = 0, 0.0, False
    while pos < len(text):
        m = _PART.match(text, pos)
        if m is None:
            break
        unit = m.group(2)
        if unit not in DURATION_UNITS_H:
            raise ValueError(f"unknown time unit {unit!r} in {value!r} (units: {_UNITS_TEXT})")
        total += float(m.group(1)) * DURATION_UNITS_H[unit]
        pos, seen = m.end(), True
    if not seen or pos != len(text):
        raise ValueError(
            f"not a duration: {value!r}; write a number and a unit, e.g. '4h', '90min', '14d'"
        )
    if not math.isfinite(total):
        raise ValueError(f"duration is not finite: {value!r}")
    return total


def parse_rate_per_h(value: object) -> float:
    """Events per hour in a rate such as "25/h", "600/d" or "3/90min"."""
    if not isinstance(value, str) or "/" not in value:
        raise ValueError(f"a rate is written as count per time unit, e.g. '25/h', not {value!r}")
    count_text, _, per_text = value.partition("/")
    try:
        count = float(count_text.strip())
    except ValueError:
        raise ValueError(f"not a rate: {value!r}; e.g. '25/h'") from None
    per_text = per_text.strip()
    if per_text in DURATION_UNITS_H:
        per_text = "1" + per_text
    per_h = parse_duration_h(per_text)
    if count < 0 or not math.isfinite(count):
        raise ValueError(f"a rate must be a non-negative number per time unit: {value!r}")
    if per_h <= 0:
        raise ValueError(f"a rate's time unit must be positive: {value!r}")
    return count / per_h


def format_hours(hours: float, sep: str = "") -> str:
    """A duration in hours as short human text: 0.25 → '15min', 36 → '1.5d'; ``sep`` goes
    between number and unit (a report uses a no-break space)."""
    if not math.isfinite(hours):
        return str(hours)
    if hours >= 48:
        return f"{hours / 24:.4g}{sep}d"
    if hours >= 1 or hours == 0:
        return f"{hours:.4g}{sep}h"
    if hours >= 1 / 60:
        return f"{hours * 60:.4g}{sep}min"
    return f"{hours * 3600:.4g}{sep}s"


def _duration(value: Any) -> float:
    return parse_duration_h(value)


def _positive_duration(value: Any) -> float:
    hours = parse_duration_h(value)
    if hours <= 0:
        raise ValueError(f"must be longer than zero: {value!r}")
    return hours


def _rate(value: Any) -> float:
    return parse_rate_per_h(value)


DURATION_JSON_SCHEMA = {
    "type": "string",
    "pattern": rf"^(\s*{_NUMBER}\s*(ms|s|sec|min|h|hr|d|w)\s*)+$",
    "description": "A duration with its unit: ms, s, min, h, d, w (e.g. '90min', '4h', '1d12h').",
    "examples": ["90min", "4h", "14d"],
}

#: A duration as written in a file (for JSON Schemas of fields that also take other forms).
DurationText = Annotated[str, WithJsonSchema(DURATION_JSON_SCHEMA)]
#: A duration (hours, float) that may be zero.
Duration = Annotated[float, BeforeValidator(_duration), WithJsonSchema(DURATION_JSON_SCHEMA)]
#: A duration (hours, float) that must be > 0.
PositiveDuration = Annotated[
    float, BeforeValidator(_positive_duration), WithJsonSchema(DURATION_JSON_SCHEMA)
]
#: A rate (events per hour, float).
Rate = Annotated[
    float,
    BeforeValidator(_rate),
    WithJsonSchema({
        "type": "string",
        "pattern": rf"^\s*{_NUMBER}\s*/\s*({_NUMBER})?\s*(ms|s|sec|min|h|hr|d|w)\s*$",
        "description": "Count per time unit, e.g. '25/h' or '600/d'.",
        "examples": ["25/h", "600/d"],
    }),
]
