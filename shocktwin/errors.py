"""The exception hierarchy: one base, one subclass per kind of bad input or failure.

Library code raises these and never prints or exits; ``shocktwin.cli`` turns them into one clear
line per problem and exit code 2.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = [
    "Problem",
    "ReplayError",
    "RuleError",
    "ScenarioError",
    "ShockError",
    "ShocktwinError",
    "SimulationError",
    "close_names",
    "one_line",
    "unknown_name",
]

# Control characters (terminal escapes among them), line breaks and lone surrogates (which
# cannot even be encoded for output): a message quoting a file's text must not carry them
# into a terminal or a CI log.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def one_line(text: str) -> str:
    """``text`` with its control characters and line breaks written as escapes (``\\n``,
    ``\\x1b``), so that a message quoting a source's header or values stays one line."""
    return _UNPRINTABLE.sub(lambda m: repr(m.group())[1:-1], text)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: where it is and why it is wrong."""

    file: str | None
    path: str
    message: str
    line: int | None = None
    column: int | None = None  # where a syntax error is known to the character

    def __str__(self) -> str:
        where = self.file or ""
        if self.file and self.line is not None:
            where = f"{where}:{self.line}"
            if self.column is not None:
                where = f"{where}:{self.column}"
        parts = [x for x in (where, self.path, self.message) if x]
        # One line, whatever a file's name or quoted text holds: no escapes reach a terminal.
        return one_line(": ".join(parts))


class ShocktwinError(Exception):
    """Base of every error the library raises for bad input or a failed run.

    It carries *all* problems found, not only the first.
    """

    def __init__(self, problems: Iterable[Problem] | str, *, file: str | None = None) -> None:
        if isinstance(problems, str):
            problems = [Problem(file=file, path="", message=problems)]
        self.problems: Sequence[Problem] = tuple(problems)
        self.file = file
        super().__init__("\n".join(str(p) for p in self.problems))


class ScenarioError(ShocktwinError):
    """A scenario file is missing, unreadable or invalid."""


class RuleError(ShocktwinError):
    """A rule set, an inspection plan or a trigger expression is invalid."""


class ShockError(ShocktwinError):
    """A shock is unknown, mis-targeted or out of its bounds."""


class ReplayError(ShocktwinError):
    """Recorded data cannot be ingested, found or replayed."""


class SimulationError(ShocktwinError):
    """A run could not be carried out (an executor failed, a resource bound was hit)."""


def close_names(name: str, known: Iterable[str]) -> list[str]:
    """The valid names closest to a mistyped one (``cpk`` also finds ``supplier.cpk``)."""
    candidates = sorted(set(known))
    close = difflib.get_close_matches(name, candidates, n=1)
    if close:
        return close
    last = name.rpartition(".")[2]
    by_last: dict[str, list[str]] = {}
    for candidate in candidates:
        by_last.setdefault(candidate.rpartition(".")[2], []).append(candidate)
    matches = difflib.get_close_matches(last, sorted(by_last), n=1)
    return by_last[matches[0]][:3] if matches else []


def unknown_name(what: str, name: object, known: Iterable[str], *, listed: str = "known"
                 ) -> str:
    """``unknown station 'asembly'; did you mean 'assembly'? (stations: assembly, iqc)``:
    the message for a name that is not one of ``known``, with the nearest valid one."""
    names = sorted(set(known))
    message = f"unknown {what} {name!r}"
    close = close_names(name, names) if isinstance(name, str) else []
    if close:
        message += f"; did you mean {' or '.join(map(repr, close))}?"
    return f"{message} ({listed}: {', '.join(names) or 'none'})"
