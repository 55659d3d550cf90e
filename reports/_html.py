"""Small HTML pieces the report's sections are written with. Cells, items and notes are HTML
already: escape user text (:func:`e`) before it goes in."""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence

from shocktwin.reports._i18n import t

__all__ = ["STATE_CLASS", "badge", "code", "dl", "e", "note", "state_badge", "table"]


def e(value: object) -> str:
    return html.escape(str(value), quote=True)


#: A state's colour class: ok (green), bad (red), warn (amber), na (grey).
STATE_CLASS = {"passed": "ok", "holds": "ok", "meets": "ok", "failed": "bad", "violated": "bad",
               "misses": "bad", "below_range": "bad", "undecided": "warn",
               "not_converged": "warn", "above_range": "ok", "no_target": "na", "none": "na"}
#: A state's words on a badge (translated when shown).
STATE_WORDS = {"passed": "MEETS TARGET", "failed": "MISSES TARGET", "undecided": "UNDECIDED",
               "not_converged": "NOT CONVERGED", "no_target": "NO TARGET",
               "holds": "HOLDS", "violated": "VIOLATED", "none": "NO HYPOTHESIS",
               "below_range": "MISSES TARGET", "above_range": "MEETS TARGET"}


def badge(text: str, cls: str) -> str:
    """A coloured badge; ``text`` is a label already translated (escaped here)."""
    return f'<span class="badge {cls}">{e(text)}</span>'


def state_badge(state: str, words: str | None = None) -> str:
    """A state (passed, failed, undecided, holds, violated, none …) as a badge."""
    return badge(t(words or STATE_WORDS.get(state, state.upper())),
                 STATE_CLASS.get(state, "na"))


def table(head: Sequence[str], rows: Iterable[Sequence[str]], *, cls: str = "") -> str:
    """An HTML table; header and cells are already HTML (escape user text before)."""
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    if not body:
        return ""
    th = "".join(f"<th>{h}</th>" for h in head)
    return f'<table class="{cls}"><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>'


def dl(items: Iterable[tuple[str, str]]) -> str:
    return "<dl>" + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in items) + "</dl>"


def code(value: object) -> str:
    return f"<code>{e(value)}</code>"


def note(text: str) -> str:
    return f'<p class="note">{text}</p>'
