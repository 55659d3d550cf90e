"""Reading and writing files safely: one bounded reader, one atomic writer.

Every file the product opens goes through :func:`read_bytes`: a regular file only (a pipe or a
device could block or never end), never more than a limit, whatever ``stat`` says. Every file
it writes goes through :func:`write_atomic`: the whole file or nothing, created with the mode
a plain ``open()`` would give under the caller's umask, or with the mode of the file it
replaces.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import shutil
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from shocktwin.errors import ShocktwinError

__all__ = ["DEFAULT_READ_LIMIT", "TEMP_SUFFIX", "check_writable", "creation_mode",
           "entries_matching", "read_bytes", "read_text", "remove_leftover", "temp_path",
           "write_atomic", "write_folder_atomic"]

#: Bytes read at the most from any one input file unless the caller says otherwise.
DEFAULT_READ_LIMIT = 64 * 1024 * 1024
#: Temporary files of an atomic write end with this; the next write cleans up stale ones.
TEMP_SUFFIX = ".tmp"

_umask_lock = threading.Lock()
T = TypeVar("T")


def creation_mode(replacing: Path | None = None) -> int:
    """The permission bits a new file should get: those of the file it replaces, or
    0o666 less the caller's umask (what ``open(path, "w")`` gives)."""
    if replacing is not None:
        with contextlib.suppress(OSError):
            return replacing.stat().st_mode & 0o777
    return 0o666 & ~_umask()


def _umask() -> int:
    """The process's umask, read without changing it where the system tells (Linux)."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    with _umask_lock:  # elsewhere os.umask can only be read by setting it
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def read_bytes(path: str | Path, *, limit: int = DEFAULT_READ_LIMIT,
               error: type[ShocktwinError] = ShocktwinError) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes, or ``error`` saying why not."""
    file = str(path)
    p = Path(path)
    try:
        st = p.stat()
        if p.is_dir():
            raise error("is a directory, not a file", file=file)
        if not p.is_file():
            raise error("not a regular file", file=file)
        if st.st_size > limit:
            raise error(f"file is {st.st_size:,} bytes; the limit is {limit:,}", file=file)
        with p.open("rb") as fh:  # never more than the limit, whatever stat said
            raw = fh.read(limit + 1)
    except FileNotFoundError:
        raise error("no such file", file=file) from None
    except OSError as e:
        raise error(f"cannot read: {e.strerror}", file=file) from None
    if len(raw) > limit:
        raise error(f"file is over the limit of {limit:,} bytes", file=file)
    return raw


def read_text(path: str | Path, *, limit: int = DEFAULT_READ_LIMIT,
              error: type[ShocktwinError] = ShocktwinError) -> str:
    """A UTF-8 text file read with :func:`read_bytes`' checks; NUL bytes are refused."""
    raw = read_bytes(path, limit=limit, error=error)
    if b"\x00" in raw:
        raise error("not a text file (it contains NUL bytes)", file=str(path))
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise error(f"not UTF-8 text (byte {e.start})", file=str(path)) from None


def temp_path(target: Path) -> Path:
    """A fresh, empty, private temporary file beside ``target`` (same filesystem, so a rename
    is atomic), named ``.<target name>.<12 hex digits>.tmp``."""
    while True:
        name = target.parent / f".{target.name}.{secrets.token_hex(6)}{TEMP_SUFFIX}"
        try:
            os.close(os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:
            continue
        return name


def _temps_of(target: Path) -> re.Pattern[str]:
    """Names of ``target``'s temporary files and of what DuckDB keeps beside one
    (``<temp>.wal``, the ``<temp>.tmp`` spill folder). The random tag has no dot, so the
    temporary of another file whose name starts the same (``mtd.json.bak``) never matches."""
    return re.compile(re.escape(f".{target.name}.") + r"[0-9a-f]{12}"
                      + re.escape(TEMP_SUFFIX) + r"(?:\.wal|\.tmp)?")


def remove_leftover(path: Path) -> None:
    """Remove a temporary file or folder (a killed writer's leftover among them) with what
    DuckDB keeps beside a database (``.wal``, the ``.tmp`` spill folder)."""
    for leftover in (path, Path(f"{path}.wal"), Path(f"{path}.tmp")):
        if leftover.is_dir() and not leftover.is_symlink():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            leftover.unlink(missing_ok=True)


def entries_matching(folder: Path, names: re.Pattern[str]) -> list[Path]:
    """The entries of ``folder`` whose whole name matches ``names`` (none when the folder
    cannot be read): how a writer finds what a killed writer left beside its target."""
    try:
        with os.scandir(folder) as entries:
            return [Path(e.path) for e in entries if names.fullmatch(e.name)]
    except OSError:
        return []


def _stale_temps(target: Path) -> list[Path]:
    return entries_matching(target.parent, _temps_of(target))


def _fsync_path(path: Path, *, directory: bool = False) -> None:
    fd = os.open(path, os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(target: str | Path, content: str | bytes | Callable[[Path], object], *,
                 mode: int | None = None, fsync: bool = True,
                 error: type[ShocktwinError] = ShocktwinError, what: str = "") -> Path:
    """Write ``target`` as a whole or not at all; returns its path.

    ``content`` is text (UTF-8), bytes, or a function that writes a file at the path it is
    given (the path does not exist yet, so a database may create it). The file gets ``mode``
    if given, else the mode of the file it replaces, else what the caller's umask allows.
    Temporary files left by a killed earlier write of the same target are removed first.
    An OS failure (read-only folder, full disk) is raised as ``error`` naming the target,
    worded "cannot write ``what``: why" (``what`` may be empty); any other exception of
    ``content`` passes through. Either way the previous file is as it was and no temporary
    file is left.
    """
    path = Path(target)
    label = f"cannot write {what}".rstrip()

    def failed(e: OSError) -> ShocktwinError:
        return error(f"{label}: {e.strerror or e}", file=str(path))

    if path.exists() and not path.is_file():
        # A device, a pipe or a folder is never replaced by a file (``--out /dev/full``).
        raise error(f"{label}: it is not a regular file, and is not replaced",
                    file=str(path))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        bits = mode if mode is not None else creation_mode(path if path.exists() else None)
        writing = _writing_in(path.parent)
        if writing.alone:
            for stale in _stale_temps(path):
                remove_leftover(stale)
        writing.share()
        tmp = temp_path(path)
    except OSError as e:
        raise failed(e) from e
    try:
        if callable(content):
            tmp.unlink()  # the writer creates the file itself (DuckDB insists)
            content(tmp)
            if fsync:
                _fsync_path(tmp)
        else:
            data = content.encode("utf-8") if isinstance(content, str) else content
            with tmp.open("wb") as fh:
                fh.write(data)
                if fsync:
                    fh.flush()
                    os.fsync(fh.fileno())
        os.chmod(tmp, bits)
        os.replace(tmp, path)
    except BaseException as e:
        remove_leftover(tmp)
        if isinstance(e, OSError):
            raise failed(e) from e
        raise
    finally:
        writing.close()
    if fsync:  # the rename itself survives a crash once the folder is on disk
        with contextlib.suppress(OSError):
            _fsync_path(path.parent, directory=True)
    return path


class _writing_in:
    """Writers announce themselves on the folder they write into (a shared ``flock`` on the
    folder), so that the temporary files of a writer still at work are never taken for a
    killed writer's leftovers: only a writer alone in the folder (it got the lock
    exclusively) cleans up, and then shares it while it writes. Where ``flock`` is missing
    every writer counts as not alone, and leftovers stay."""

    def __init__(self, folder: Path) -> None:
        self.alone = False
        self._fd: int | None = None
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX
            return
        self._flock = fcntl.flock
        self._shared = fcntl.LOCK_SH
        try:
            self._fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        except OSError:
            return
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            self.alone = True
        except OSError:
            self.alone = False

    def share(self) -> None:
        if self._fd is not None:
            self._flock(self._fd, self._shared)  # waits only while one cleans up

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def check_writable(target: str | Path, *, error: type[ShocktwinError] = ShocktwinError,
                   what: str = "") -> None:
    """Refuse, before any work is done, a target that :func:`write_atomic` could not write:
    a device, pipe or folder in its place, or a file where its folder should be."""
    path = Path(target)
    label = f"cannot write {what}".rstrip()
    if path.exists() and not path.is_file():
        raise error(f"{label}: it is not a regular file, and is not replaced", file=str(path))
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise error(f"{label}: {parent} is not a folder", file=str(path))
            break


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux ``renameat2(RENAME_EXCHANGE)``); False where the
    system cannot."""
    import ctypes

    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)  # the C library the process already has
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                          ctypes.c_uint]
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):  # old kernel or filesystem
        return False
    raise OSError(err, os.strerror(err), str(b))


#: The old folder set aside while a new one takes its name (without an atomic exchange).
ASIDE_SUFFIX = ".aside"


def _restore_set_aside(path: Path) -> None:
    """Put back an old folder a killed writer set aside, if ``path`` is missing; remove
    those no longer needed."""
    pattern = re.compile(re.escape(f".{path.name}.") + r"[0-9a-f]{12}" + re.escape(ASIDE_SUFFIX))
    for old in entries_matching(path.parent, pattern):
        if not path.exists() and not path.is_symlink():
            os.rename(old, path)
        else:
            shutil.rmtree(old, ignore_errors=True)


def write_folder_atomic(target: str | Path, fill: Callable[[Path], T], *,
                        error: type[ShocktwinError] = ShocktwinError, what: str = "") -> T:
    """Replace the folder ``target`` as a whole by what ``fill`` writes into a new folder.

    ``fill`` gets an empty private folder beside ``target`` and writes the complete result
    into it; then that folder takes ``target``'s place in one step (an exchange of the two
    names where the system has one, so at every moment ``target`` is the old folder or the
    new one), and the old folder is removed. A ``fill`` that fails or is killed leaves
    ``target`` as it was; its half-written folder is removed now or by the next write. The
    new folder gets the mode of the one it replaces, or what the caller's umask allows.
    Callers serialise writers to one target themselves (``shocktwin.locks``).
    """
    path = Path(target)
    label = f"cannot write {what}".rstrip()

    def failed(e: OSError) -> ShocktwinError:
        return error(f"{label}: {e.strerror or e}", file=str(path))

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _restore_set_aside(path)
        for stale in _stale_temps(path):
            remove_leftover(stale)
        # The folder it replaces keeps its mode, setgid and sticky bits included.
        bits = (path.stat().st_mode & 0o7777) if path.is_dir() else 0o777 & ~_umask()
        staging = temp_path(path)
        staging.unlink()
        staging.mkdir(mode=0o700)
    except OSError as e:
        raise failed(e) from e
    try:
        value = fill(staging)
        new_file = 0o666 & ~_umask()
        for entry in staging.iterdir():
            if entry.is_file() and not entry.is_symlink():
                _fsync_path(entry)  # before the mode, which may not let it be opened again
                # A file that replaces one keeps its mode; a new one gets the umask's.
                os.chmod(entry, creation_mode(path / entry.name) if (path / entry.name)
                         .is_file() else new_file)
        os.chmod(staging, bits)
        _fsync_path(staging, directory=True)
        if path.is_dir() and not path.is_symlink():
            if not _exchange(staging, path):
                # Two renames, where the system has no exchange: the old folder is set aside
                # first; if the second rename fails it is put back, and if a kill comes
                # between them the next write puts it back (``_restore_set_aside``).
                old = path.parent / f".{path.name}.{secrets.token_hex(6)}{ASIDE_SUFFIX}"
                os.rename(path, old)
                try:
                    os.rename(staging, path)
                except BaseException:
                    os.rename(old, path)
                    raise
                staging = old
            remove_leftover(staging)  # now the old folder
        else:
            os.rename(staging, path)
    except BaseException as e:
        if staging.exists() and staging != path:
            remove_leftover(staging)
        if isinstance(e, OSError):
            raise failed(e) from e
        raise
    with contextlib.suppress(OSError):
        _fsync_path(path.parent, directory=True)
    return value
