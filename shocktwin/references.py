"""Files one input file names: where a reference may lead, and what is said about it.

A scenario names rule files and failure tables, a rule set names more rule files
(``load_rules``). Such a reference may only lead into the referring input's folder — the
folder of the scenario file, or of the rule file a user named directly (``rules lint``, a
stress candidate) — or into a folder the caller allows (``allowed_roots``; the CLI's
``--allow-root``). Symbolic links are resolved before the check, so a link inside the folder
that points outside is outside. What lies elsewhere is never opened: a pull request's rule
file that names ``/etc/passwd`` is refused by its own line and key, and nothing of the other
file appears in a message or a CI log.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from shocktwin.errors import Problem

__all__ = ["ON_ITS_OWN", "OUTSIDE", "ReferenceRoots", "allowed_roots", "position_only",
           "real_path"]

#: The reason given for a reference that leads outside the allowed folders.
OUTSIDE = ("leads outside the allowed folders (the referring file's folder and any folder "
           "allowed with --allow-root); it was not read")
#: Where the details withheld from a message about a referenced file can be seen.
ON_ITS_OWN = "details are shown when the file is checked on its own"


def real_path(path: str | Path) -> Path:
    """``path`` absolute with every symbolic link and ``..`` resolved (it need not exist)."""
    return Path(os.path.realpath(Path(path).expanduser()))


@dataclass(frozen=True)
class ReferenceRoots:
    """The folders references may lead into, each a real path (links resolved)."""

    folders: tuple[Path, ...]

    @classmethod
    def of(cls, *folders: str | Path | None, allowed: Iterable[str | Path] = ()
           ) -> ReferenceRoots:
        """The roots ``folders`` (None is skipped) and the caller's ``allowed`` ones."""
        found = [real_path(f) for f in (*folders, *allowed) if f is not None]
        return cls(tuple(dict.fromkeys(found)))

    def with_folder(self, folder: str | Path) -> ReferenceRoots:
        """These roots and one more."""
        return ReferenceRoots.of(folder, allowed=self.folders)

    def resolve(self, text: str, base: str | Path) -> tuple[Path, Path | None]:
        """The path ``text`` names (relative to ``base``) and its real path when that lies
        inside one of the roots, else None. The real path is the one to read."""
        named = Path(text).expanduser()
        if not named.is_absolute():
            named = Path(base) / named
        try:
            real = real_path(named)
        except (OSError, ValueError):  # a NUL byte, a loop of links
            return named, None
        return named, (real if self.contains(real) else None)

    def contains(self, real: Path) -> bool:
        """Whether the real path ``real`` lies inside one of the roots."""
        return any(real == root or real.is_relative_to(root) for root in self.folders)


def allowed_roots(roots: Sequence[str | Path] | None) -> tuple[Path, ...]:
    """The caller's allowed folders as real paths, in order, without repeats."""
    return ReferenceRoots.of(allowed=roots or ()).folders


def position_only(problems: Iterable[Problem]) -> list[Problem]:
    """Problems of reading a file reached by reference, with nothing quoted from it: the
    file, the line and a generic reason. A YAML parser's reason quotes the text it stopped
    at, a duplicate or unknown key is named by the key itself; those are left out (a user
    sees them by checking the file on its own)."""
    out = []
    for p in problems:
        message, path = p.message, p.path
        if message.startswith("not valid YAML"):
            message, path = f"not valid YAML ({ON_ITS_OWN})", ""
        elif message.startswith("duplicate key"):
            path = ""
        elif message == "unknown key":
            message, path = f"unknown key ({ON_ITS_OWN})", ""
        out.append(Problem(p.file, path, message, p.line))
    return out
