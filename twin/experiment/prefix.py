"""Searches that share what their severities share.

An MTD search (and the stress gate and the optimiser, which search MTDs) runs each
replication at many severities of one shock. Everything before that shock starts is the
same at every severity: the same events drawn from the same random streams. A *keeper*
process computes it once per replication: it builds the model, runs it up to the moment
the shock starts and pauses there. Each severity is then a child forked from the keeper
(the operating system copies the paused process), which sets the shock's severity
(``Model.set_severity``), runs on to the horizon and hands back its result. That result is
bit-identical to a run of the scenario at that severity from the start: the pending events
keep their times and their first-in, first-out order, and the random streams their state
(``tests/test_shared_prefix.py`` compares journal hashes on every bundled search).

Keepers are forked from this process, so sharing needs ``os.fork`` (Linux, macOS). Where
it is missing, with a Dask executor (its workers run elsewhere), when the shock's start
depends on the run (a cascade) or on its severity, when the prefix is too short to be worth
a fork (``WORTH_S``), or with ``SHOCKTWIN_SHARE_PREFIX=0``, the runs are plain jobs on the
executor, with the same results. At most ``workers`` runs
(counting keepers still computing their prefix) go at once. Keepers beyond a memory
allowance (a quarter of the machine's memory at the budget's estimate of one run) are
closed, least recently used first, and made again when their replication is needed.
"""

from __future__ import annotations

import contextlib
import gc
import os
import pickle
import selectors
import signal
import struct
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NoReturn

from shocktwin.errors import SimulationError
from shocktwin.twin.experiment.executor import Executor, ExecutorSpec, Runner

if TYPE_CHECKING:
    from shocktwin.scenarios.model import Scenario
    from shocktwin.twin.experiment.replication import ReplicationResult
    from shocktwin.twin.model.base import Model

__all__ = ["SWITCH", "SharedPrefix", "open_shared_prefix"]

#: Set to 0 to run every severity from the start (the results are the same).
SWITCH = "SHOCKTWIN_SHARE_PREFIX"

#: The share of the machine's memory that paused keepers may hold.
MEMORY_SHARE = 0.25

#: The least CPU time (the budget's estimate) a run's prefix must cost for a search to
#: share it: a run forked from a keeper pays for the pages it writes that the keeper shares
#: and for the fork itself, 25 to 80 ms a run depending on the process's size, so a short
#: prefix costs more to share than to simulate again.
WORTH_S = 0.25

Variant = Callable[[float], "Scenario"]
Done = Callable[[int, "ReplicationResult"], None]


def open_shared_prefix(variant: Variant, shock_id: str, *, severities: Sequence[float],
                       seed: int, engine: str, executor: ExecutorSpec | Runner,
                       worth_s: float | None = None) -> SharedPrefix | None:
    """Keepers for a search of ``shock_id`` over ``variant(severity)`` on ``executor``, or
    None when its runs cannot share their prefix (the module's docstring says when) or the
    prefix a run would not simulate again is estimated below ``worth_s`` CPU seconds
    (default ``WORTH_S``)."""
    if not hasattr(os, "fork") or os.environ.get(SWITCH, "1").strip() == "0":
        return None
    spec = executor.spec if isinstance(executor, Runner) else executor
    kind = Executor(spec.kind)
    if kind is Executor.DASK:
        return None
    first = variant(severities[0])
    shock = next(s for s in first.shocks if s.id == shock_id)
    if shock.after is not None:
        return None  # starts when its leader does: nothing before it is known to share
    for severity in severities[1:]:
        other = next(s for s in variant(severity).shocks if s.id == shock_id)
        if other.start != shock.start or other.onset != shock.onset:
            return None  # the severity moves the start: the prefixes differ
    worth_s = WORTH_S if worth_s is None else worth_s
    if worth_s > 0.0:
        from shocktwin.twin.experiment.budget import estimate_run

        share = min(max(shock.start / first.horizon, 0.0), 1.0) if first.horizon else 0.0
        if estimate_run(first, 1).cpu_s * share < worth_s:
            return None  # a fork would cost about what the prefix does
    workers = 1 if kind is Executor.LOCAL else (spec.workers or os.cpu_count() or 1)
    return SharedPrefix(variant, shock_id, seed=seed, engine=engine, workers=workers)


@dataclass(eq=False)
class _Keeper:
    pid: int
    replication: int
    request: int  # write end: one request line per run
    reply: int  # read end: "ready", then one line per run
    state: str = "starting"  # starting → idle ⇄ busy
    job: int | None = None  # the index of the run it is on
    used: int = 0
    buffer: bytes = b""


@dataclass(eq=False)
class SharedPrefix:
    """Keepers of one search (one shock of one scenario, one seed and engine), kept across
    its batches; ``run`` runs a batch, ``close`` ends them all."""

    variant: Variant
    shock_id: str
    seed: int
    engine: str
    workers: int
    _keepers: dict[int, _Keeper] = field(default_factory=dict)
    _opened: bool = False
    _selector: selectors.BaseSelector = field(default_factory=selectors.DefaultSelector)
    _clock: int = 0
    _capacity: int = 0
    _made: int = 0

    def __enter__(self) -> SharedPrefix:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def prefixes_computed(self) -> int:
        """Keepers made so far: the number of times a prefix was simulated."""
        return self._made

    def run(self, points: Sequence[tuple[int, float]], done: Done) -> None:
        """Run replication r at severity s for every (r, s) of ``points``; ``done(index,
        result)`` is called as each finishes (in any order)."""
        if not self._opened:
            self._opened = True
            self._capacity = self._keeper_capacity(points[0][1]) if points else self.workers
        queue = list(enumerate(points))
        try:
            while queue or self._running():
                queue = self._dispatch(queue)
                self._wait(done)
        except BaseException:
            self._kill_all()
            raise

    def close(self) -> None:
        """End every keeper."""
        for keeper in list(self._keepers.values()):
            self._retire(keeper, kill=keeper.state != "idle")
        self._selector.close()

    # -- the driver ---------------------------------------------------------------------

    def _running(self) -> int:
        return sum(1 for k in self._keepers.values() if k.state != "idle")

    def _dispatch(self, queue: list[tuple[int, tuple[int, float]]],
                  ) -> list[tuple[int, tuple[int, float]]]:
        """Hand queued runs to idle keepers and start keepers, up to ``workers`` at once;
        what cannot go yet stays queued, in order."""
        waiting = []
        for item in queue:
            index, (r, severity) = item
            keeper = self._keepers.get(r)
            if self._running() >= self.workers:
                waiting.append(item)
            elif keeper is None:
                if self._make_room({x[1][0] for x in queue}):
                    self._start(r, severity)
                waiting.append(item)
            elif keeper.state == "idle":
                self._send(keeper, index, severity)
            else:
                waiting.append(item)
        return waiting

    def _make_room(self, wanted: set[int]) -> bool:
        """Close the least recently used idle keeper when the allowance is full (one not
        wanted by the queue first); False when none can be closed now."""
        if len(self._keepers) < self._capacity:
            return True
        idle = sorted((k for k in self._keepers.values() if k.state == "idle"),
                      key=lambda k: (k.replication in wanted, k.used))
        if not idle:
            return False
        self._retire(idle[0], kill=False)
        return True

    def _start(self, replication: int, severity: float) -> None:
        request_r, request_w = os.pipe()
        reply_r, reply_w = os.pipe()
        others = [fd for k in self._keepers.values() for fd in (k.request, k.reply)]
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the keeper
            for fd in (request_w, reply_r, *others):
                os.close(fd)
            _keeper_main(self, replication, severity, request_r, reply_w)
        with contextlib.suppress(OSError):  # also here, so no signal can miss the group
            os.setpgid(pid, pid)
        os.close(request_r)
        os.close(reply_w)
        keeper = _Keeper(pid, replication, request_w, reply_r)
        self._keepers[replication] = keeper
        self._selector.register(reply_r, selectors.EVENT_READ, keeper)
        self._made += 1
        self._touch(keeper)

    def _send(self, keeper: _Keeper, index: int, severity: float) -> None:
        os.write(keeper.request, f"{severity!r}\n".encode())
        keeper.state, keeper.job = "busy", index
        self._touch(keeper)

    def _touch(self, keeper: _Keeper) -> None:
        self._clock += 1
        keeper.used = self._clock

    def _wait(self, done: Done) -> None:
        """Wait for at least one keeper to report, and take what it reports."""
        if not self._running():
            return
        for key, _ in self._selector.select():
            keeper: _Keeper = key.data
            chunk = os.read(keeper.reply, 1 << 20)
            if not chunk:
                self._retire(keeper, kill=True)
                raise SimulationError(
                    f"the process holding replication {keeper.replication} paused at the "
                    f"start of shock {self.shock_id!r} ended unexpectedly")
            keeper.buffer += chunk
            while len(keeper.buffer) >= _HEAD.size:
                kind, size = _HEAD.unpack_from(keeper.buffer)
                end = _HEAD.size + size
                if len(keeper.buffer) < end:
                    break
                payload, keeper.buffer = keeper.buffer[_HEAD.size:end], keeper.buffer[end:]
                self._reported(keeper, kind, payload, done)

    def _reported(self, keeper: _Keeper, kind: bytes, payload: bytes, done: Done) -> None:
        if kind == _READY:
            keeper.state = "idle"
            return
        outcome = _loads(payload)
        if kind == _FAILED:  # the keeper could not build or run the prefix
            self._retire(keeper, kill=True)
            raise outcome
        index = keeper.job
        assert index is not None
        keeper.state, keeper.job = "idle", None
        if kind != _RESULT:
            raise outcome
        done(index, outcome)

    def _retire(self, keeper: _Keeper, *, kill: bool) -> None:
        self._keepers.pop(keeper.replication, None)
        self._selector.unregister(keeper.reply)
        if kill:
            try:
                os.killpg(keeper.pid, signal.SIGKILL)  # the keeper and the run it is on
            except OSError:
                with contextlib.suppress(OSError):
                    os.kill(keeper.pid, signal.SIGKILL)
        os.close(keeper.request)  # an idle keeper ends when its requests end
        os.close(keeper.reply)
        os.waitpid(keeper.pid, 0)

    def _kill_all(self) -> None:
        for keeper in list(self._keepers.values()):
            self._retire(keeper, kill=True)

    def _keeper_capacity(self, severity: float) -> int:
        from shocktwin.twin.experiment.budget import estimate_run

        per_run = max(estimate_run(self.variant(severity), 1).memory_bytes_per_run, 1)
        try:
            memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        except (ValueError, OSError, AttributeError):
            memory = 4 * 1024**3
        return max(self.workers, int(MEMORY_SHARE * memory // per_run))


# -- the keeper and its runs (forked processes; they leave only through os._exit) -------


def _keeper_main(prefix: SharedPrefix, replication: int, severity: float, requests: int,
                 replies: int) -> NoReturn:
    code = 1
    try:
        with contextlib.suppress(OSError):  # its own group: the driver ends both at once
            os.setpgid(0, 0)
        _end_with_parent()
        from shocktwin.twin.experiment.replication import build_model
        from shocktwin.twin.kernel import make_kernel

        model = build_model(prefix.variant(severity), make_kernel(prefix.engine),
                            seed=prefix.seed, replication=replication)
        model.begin()
        start = model.shock_start(prefix.shock_id)
        if start is not None:
            model.advance(start)
        gc.collect()
        gc.freeze()  # the runs forked from here leave the paused model's pages shared
        _send_frame(replies, _READY, b"")
        with os.fdopen(requests, "rb") as lines:
            for raw in lines:
                # The run tells its outcome through a pipe of its own; it is passed on
                # whole once the run has ended, so a run that dies part-way through telling
                # it cannot leave half a message.
                out, into = os.pipe()
                pid = os.fork()
                if pid == 0:
                    os.close(out)
                    _run_main(prefix, model, replication, float(raw), into)
                os.close(into)
                with os.fdopen(out, "rb") as told:
                    message = told.read()
                _, status = os.waitpid(pid, 0)
                whole = (len(message) >= _HEAD.size
                         and _HEAD.size + _HEAD.unpack_from(message)[1] == len(message))
                if status == 0 and whole:
                    _send(replies, message)
                else:
                    _send_frame(replies, _ERROR, _dumps(SimulationError(
                        f"a run of replication {replication} ended without its result "
                        f"(wait status {status})")))
        code = 0
    except BaseException as e:  # handed to the driver, which raises it
        with contextlib.suppress(OSError):
            _send_frame(replies, _FAILED, _dumps(e))
    finally:
        os._exit(code)


def _run_main(prefix: SharedPrefix, model: Model, replication: int, severity: float,
              told: int) -> NoReturn:
    code = 1
    try:
        _end_with_parent()
        from shocktwin.twin.experiment.replication import result_of

        try:
            started = time.perf_counter()
            scenario = prefix.variant(severity)
            model.set_severity(scenario, prefix.shock_id, severity)
            frame = (_RESULT, _dumps(result_of(scenario, replication, model.finish(),
                                               started)))
        except BaseException as e:  # handed to the driver, which raises it
            frame = (_ERROR, _dumps(e))
        _send_frame(told, *frame)
        code = 0
    finally:
        os._exit(code)


# A message from a keeper: its kind and the length of the pickle that follows.
_HEAD = struct.Struct(">cQ")
_READY, _RESULT, _ERROR, _FAILED = b"R", b"O", b"E", b"F"


def _send_frame(fd: int, kind: bytes, payload: bytes) -> None:
    _send(fd, _HEAD.pack(kind, len(payload)) + payload)


def _send(fd: int, message: bytes) -> None:
    data = memoryview(message)
    while data:
        data = data[os.write(fd, data):]


def _dumps(value: Any) -> bytes:
    if isinstance(value, BaseException):
        try:
            data = pickle.dumps(value, pickle.HIGHEST_PROTOCOL)
            pickle.loads(data)
            return data
        except Exception:  # an exception that does not pickle: its text instead
            text = "".join(traceback.format_exception(value))
            return pickle.dumps(SimulationError(f"a run failed: {text}"))
    return pickle.dumps(value, pickle.HIGHEST_PROTOCOL)


def _loads(payload: bytes) -> Any:
    try:
        return pickle.loads(payload)
    except Exception as e:  # a result that does not unpickle: said as what it is
        return SimulationError(f"a run's result could not be read: {e}")


def _end_with_parent() -> None:
    """Ask the kernel to end this process when its parent ends (Linux); elsewhere a keeper
    ends when its requests end."""
    parent = os.getppid()
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:
        os._exit(1)
