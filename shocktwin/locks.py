"""Locks that keep two shocktwin commands from writing one result or one store at once.

A writer holds an advisory lock on a small file beside what it writes
(``.<name>.lock`` in the same folder) for as long as it writes. The operating system drops
the lock when the process ends, however it ends (a SIGKILL included), so a lock is never
left held by a dead writer; the lock file itself stays and is reused.

Two ways to meet a lock that is held: ``wait=False`` refuses at once, naming the process
that holds it (two runs into one results folder are a mistake to report); ``wait=True``
queues behind it, so two ingests into one store both land, one after the other.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

from shocktwin.errors import ShocktwinError

__all__ = ["LOCK_SUFFIX", "lock_path", "locked"]

LOCK_SUFFIX = ".lock"


def lock_path(target: str | Path) -> Path:
    """The lock file of ``target`` (a file or a folder): ``.<name>.lock`` beside it."""
    p = Path(target).absolute()
    return p.parent / f".{p.name}{LOCK_SUFFIX}"


@contextlib.contextmanager
def locked(target: str | Path, *, what: str, wait: bool = False, timeout_s: float | None = None,
           error: type[ShocktwinError] = ShocktwinError,
           if_possible: bool = False, shared: bool = False) -> Iterator[Path | None]:
    """Hold the lock of ``target`` for the ``with`` block.

    ``what`` names the thing locked in messages ("results folder", "store"). With
    ``wait=False`` a lock held by another process raises ``error`` at once; with
    ``wait=True`` the call waits for it (at most ``timeout_s`` seconds when given). A folder
    where the lock file cannot be created (read-only, missing parent) raises ``error`` too,
    unless ``if_possible`` (a reader: where no lock can be made, no writer can write either),
    which then yields None and holds nothing. ``shared``: a reader's lock, which other
    readers may hold at once and a writer may not.
    """
    import fcntl  # POSIX; imported here so the rest of the foundation loads anywhere

    path = lock_path(target)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        except PermissionError:
            # Another user's lock file (0644 under their umask): a lock needs no write access.
            fd = os.open(path, os.O_RDONLY)
    except OSError as e:
        if if_possible:
            yield None
            return
        raise error(f"cannot lock the {what}: {e.strerror or e}", file=str(target)) from None
    try:
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not wait or (deadline is not None and time.monotonic() >= deadline):
                    holder = _holder(fd)
                    by = f" (process {holder})" if holder else ""
                    raise error(f"another shocktwin command{by} is writing this {what}; wait "
                                "for it to finish, or choose another", file=str(target)
                                ) from None
                time.sleep(0.05)
        if not shared:
            with contextlib.suppress(OSError):  # who holds it, for the next one's message
                os.ftruncate(fd, 0)
                os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield path
    finally:
        os.close(fd)  # closing drops the lock


def _holder(fd: int) -> str:
    with contextlib.suppress(OSError, ValueError):
        text = os.pread(fd, 32, 0).decode("ascii").strip()
        if text.isdigit():
            return text
    return ""
