"""Argument checks the statistics modules share: each adds a located problem to a list, so
a call lists every bad argument at once, and :func:`raise_problems` raises them together."""

from __future__ import annotations

import math
from typing import TypeGuard

from shocktwin.errors import Problem, RuleError

__all__ = ["check_finite", "check_positive", "is_number", "raise_problems"]


def is_number(value: object) -> TypeGuard[int | float]:
    """A finite int or float (a bool is not a number here)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def check_positive(name: str, value: object, problems: list[Problem]) -> None:
    if not (is_number(value) and value > 0):
        problems.append(Problem(None, name, f"must be a finite number > 0, got {value!r}"))


def check_finite(name: str, value: object, problems: list[Problem]) -> None:
    if not is_number(value):
        problems.append(Problem(None, name, f"must be a finite number, got {value!r}"))


def raise_problems(problems: list[Problem]) -> None:
    """Raise every problem found, if any, as one :class:`RuleError`."""
    if problems:
        raise RuleError(problems)
