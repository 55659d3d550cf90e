"""The writers of result documents and reports under a kill, a second writer and a full disk.

``shocktwin optimize --out`` and ``shocktwin stress --out`` keep a run log as they go and
write their document (pareto.json, stress.json) as a whole at the end; ``shocktwin report
-o`` writes one HTML file as a whole.

- Killed (SIGKILL) at a random moment, a writer leaves its folder with the earlier document
  or the new one, whole: it verifies, and holds what an uninterrupted command gives; then
  ``--resume`` reaches that result, running nothing twice. A killed report leaves the earlier
  report or a complete new one.
- A second command writing the same folder while the first is at work is refused (exit 2,
  naming the process that holds the folder); the first finishes its result.
- On a full disk a command exits 2 with one line naming the file and the reason, no
  traceback, and the previous result is as it was (checked on a small tmpfs mounted in a
  private mount namespace, ``unshare -m``; skipped where mounting is not allowed).

The default tier kills each writer twice; ``-m slow`` kills each twenty times.
"""

from __future__ import annotations

import json
import os
import random
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import ROOT, deep_update
from test_optimize import PLANT as OPTIMIZE_PLANT
from typer.testing import CliRunner

from shocktwin import cli
from shocktwin.files import TEMP_SUFFIX
from shocktwin.locks import lock_path

pytestmark = pytest.mark.skipif(os.name != "posix", reason="SIGKILL and flock need POSIX")

CLI = [sys.executable, "-m", "shocktwin"]
VALVE = ROOT / "scenarios" / "reference" / "valve_quality.yaml"
#: Small enough for the default tier, long enough to be killed part-way.
OPT_PLANT = deep_update(OPTIMIZE_PLANT, {"optimize": {"population": 4, "generations": 2}})
#: The bundled valve scenario cut down so a stress gate takes a few seconds.
SMALL_VALVE = deep_update(yaml.safe_load(VALVE.read_text()), {
    "horizon": "8d",
    "mtd": {"replications": 2, "max_replications": 2,
            "shocks": [{"shock": "drift", "low": 1.5, "high": 40.0, "resolution": 8.0}]},
    "experiment": {"replications": 2}})
#: Header fields that differ between two runs of one command: when and how it was called.
PER_CALL = ("created_utc", "command", "chain_hash", "records")


@dataclass(frozen=True)
class Writer:
    """A command that writes a result document into its --out folder."""

    name: str
    document: str
    #: The command's arguments before --out, given the folder holding its inputs.
    args: Callable[[Path], list[str]]


WRITERS = {
    "optimize": Writer("optimize", "pareto.json",
                       lambda d: ["optimize", str(d / "opt.yaml")]),
    "stress": Writer("stress", "stress.json",
                     lambda d: ["stress", str(d / "valve.yaml"), "--baseline",
                                str(d / "rules" / "valve_incoming.yaml"), "--candidate",
                                str(d / "rules" / "valve_incoming_weakened.yaml")]),
}


@dataclass(frozen=True)
class Reference:
    """An uninterrupted command's result, and how long the command took here."""

    folder: Path
    exit_code: int
    span_s: float

    def document(self, writer: Writer) -> dict[str, Any]:
        doc: dict[str, Any] = json.loads((self.folder / writer.document).read_text())
        return doc


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("inputs")
    (folder / "opt.yaml").write_text(yaml.safe_dump(OPT_PLANT))
    (folder / "valve.yaml").write_text(yaml.safe_dump(SMALL_VALVE))
    shutil.copytree(VALVE.parent / "rules", folder / "rules")
    return folder


@pytest.fixture(scope="module")
def references(inputs: Path) -> dict[str, Reference]:
    """Each writer run once, uninterrupted, into its own folder (timed, to kill the next
    ones anywhere in their run)."""
    started = time.monotonic()
    procs = {name: subprocess.Popen([*CLI, *writer.args(inputs), "--out",
                                     str(inputs / f"whole-{name}")],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
             for name, writer in WRITERS.items()}  # side by side, to save time
    ended: dict[str, float] = {}
    while len(ended) < len(procs):
        for name, proc in procs.items():
            if name not in ended and proc.poll() is not None:
                ended[name] = time.monotonic()
        assert time.monotonic() - started < 600, "the reference commands hang"
        time.sleep(0.02)
    out: dict[str, Reference] = {}
    for name, proc in procs.items():
        _, err = proc.communicate()
        assert proc.returncode in (0, 1), err
        out[name] = Reference(inputs / f"whole-{name}", proc.returncode,
                              ended[name] - started)
    return out


def verify(folder: Path) -> int:
    done = CliRunner().invoke(cli.app, ["verify", str(folder)])
    assert done.exception is None or isinstance(done.exception, SystemExit), done.output
    assert "Traceback" not in done.output
    return done.exit_code


def same_result(doc: dict[str, Any], reference: dict[str, Any]) -> None:
    """``doc`` holds what ``reference`` holds: the same header but for when and how it was
    called, and the same records but for their chain keys and how many runs were reused."""
    head = {k: v for k, v in doc.items() if k not in PER_CALL}
    assert head == {k: v for k, v in reference.items() if k not in PER_CALL}
    drop = {"seq", "prev_hash", "hash", "runs_reused"}

    def records(d: dict[str, Any]) -> list[dict[str, Any]]:
        return [{k: v for k, v in r.items() if k not in drop} for r in d["records"]]

    assert records(doc) == records(reference)


def log_keys(folder: Path) -> list[str]:
    """Keys of the complete lines of the run log (a kill may cut its last line short)."""
    log = folder / "runs.jsonl"
    if not log.exists():
        return []
    keys = []
    for line in log.read_text().splitlines():
        try:
            keys.append(json.loads(line)["key"])
        except ValueError:
            continue
    return keys


def temporaries(folder: Path) -> list[str]:
    """Temporary files of an atomic write still in ``folder``."""
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(TEMP_SUFFIX))


# --------------------------------------------------------------------------- kills


def kill_and_resume(inputs: Path, reference: Reference, writer: Writer, tmp_path: Path,
                    kills: int, seed: int) -> None:
    expected = reference.document(writer)
    out = tmp_path / "out"
    command = [*CLI, *writer.args(inputs), "--out", str(out), "--resume"]
    rng = random.Random(seed)
    killed = 0
    for _ in range(kills):
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.05, 1.0) * reference.span_s)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed += 1
        proc.wait(timeout=600)
        document = out / writer.document
        if document.exists():
            # The earlier document or the new one, whole: it verifies and it is the result.
            assert verify(out) == 0
            same_result(json.loads(document.read_text()), expected)
        elif out.exists():
            assert verify(out) == 2  # a run log alone is not a result
    assert killed, "every command finished before it could be killed"
    stored = len(set(log_keys(out)))
    resumed = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == reference.exit_code, resumed.stderr
    doc = json.loads((out / writer.document).read_text())
    same_result(doc, expected)
    assert verify(out) == 0
    keys = log_keys(out)
    assert len(keys) == len(set(keys)), "a run was logged twice"
    assert set(keys) == set(log_keys(reference.folder))
    if writer.name == "optimize":  # the runs the killed commands logged were reused
        [finished] = [r for r in doc["records"] if r["kind"] == "OptimisationFinished"]
        assert finished["runs_reused"] >= stored
    assert temporaries(out) == []  # the last write removed what the killed ones left


@pytest.mark.parametrize("name", sorted(WRITERS))
def test_a_killed_writer_leaves_a_whole_result_and_resumes(
        name: str, inputs: Path, references: dict[str, Reference], tmp_path: Path) -> None:
    kill_and_resume(inputs, references[name], WRITERS[name], tmp_path, kills=2, seed=1)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(WRITERS))
def test_twenty_killed_writers_never_leave_a_broken_result(
        name: str, inputs: Path, references: dict[str, Reference], tmp_path: Path) -> None:
    kill_and_resume(inputs, references[name], WRITERS[name], tmp_path, kills=20, seed=2)


def is_whole_report(path: Path) -> bool:
    data = path.read_bytes()
    return data.startswith(b"<!DOCTYPE html>") and data.endswith(b"</html>\n")


def kill_reports(references: dict[str, Reference], tmp_path: Path, kills: int,
                 seed: int) -> None:
    folders = [str(references["optimize"].folder)]
    target = tmp_path / "report.html"
    started = time.monotonic()
    first = subprocess.run([*CLI, "report", *folders, "-o", str(target)], capture_output=True,
                           text=True, timeout=600)
    span = time.monotonic() - started
    assert first.returncode == 0, first.stderr
    rng = random.Random(seed)
    killed = 0
    for attempt in range(kills):
        before = target.read_bytes()
        proc = subprocess.Popen([*CLI, "report", *folders, "-o", str(target), "--title",
                                 f"attempt {attempt}"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.3, 1.1) * span)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed += 1
        proc.wait(timeout=600)
        # The earlier report byte for byte, or the new one whole (the kill came after it
        # took the file's place).
        after = target.read_bytes()
        assert after == before or (is_whole_report(target)
                                   and f"<title>attempt {attempt}".encode() in after)
    assert killed, "every report was written before it could be killed"
    again = subprocess.run([*CLI, "report", *folders, "-o", str(target)], capture_output=True,
                           text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    assert is_whole_report(target)
    assert temporaries(tmp_path) == []


def test_a_killed_report_leaves_the_earlier_report(references: dict[str, Reference],
                                                   tmp_path: Path) -> None:
    kill_reports(references, tmp_path, kills=2, seed=3)


@pytest.mark.slow
def test_twenty_killed_reports_never_leave_a_broken_one(references: dict[str, Reference],
                                                        tmp_path: Path) -> None:
    kill_reports(references, tmp_path, kills=20, seed=4)


# --------------------------------------------------------------------------- two writers


def wait_for_runs(folder: Path, proc: subprocess.Popen[str], count: int) -> None:
    deadline = time.monotonic() + 120
    while len(log_keys(folder)) < count:
        assert proc.poll() is None, "the first command ended before it had logged a run"
        assert time.monotonic() < deadline, "the first command logged no run in 120 s"
        time.sleep(0.02)


@pytest.mark.parametrize("name", sorted(WRITERS))
def test_a_second_writer_of_one_folder_is_refused(
        name: str, inputs: Path, references: dict[str, Reference], tmp_path: Path) -> None:
    writer = WRITERS[name]
    out = tmp_path / "out"
    command = [*CLI, *writer.args(inputs), "--out", str(out)]
    first = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             text=True)
    try:
        wait_for_runs(out, first, 1)
        # Held still while it holds the folder, so the second command meets it at work.
        first.send_signal(signal.SIGSTOP)
        # With --resume, so that only the lock can refuse it (not the first one's run log).
        second = subprocess.run([*command, "--resume"], capture_output=True, text=True,
                                timeout=600)
        assert second.returncode == 2, second.stderr
        [line] = second.stderr.strip().splitlines()
        assert line.startswith(f"error: {out}: another shocktwin command (process "
                               f"{first.pid}) is writing this results folder"), line
        first.send_signal(signal.SIGCONT)
        _, err = first.communicate(timeout=600)
    finally:
        if first.poll() is None:
            first.send_signal(signal.SIGCONT)
            first.kill()
            first.wait()
    reference = references[name]
    assert first.returncode == reference.exit_code, err
    assert verify(out) == 0
    same_result(json.loads((out / writer.document).read_text()), reference.document(writer))


def test_two_reports_into_one_file_leave_one_whole_report(references: dict[str, Reference],
                                                          tmp_path: Path) -> None:
    """A report is one file replaced in one step, so two at once need no lock: each writes
    the whole file and the later one stays."""
    target = tmp_path / "report.html"
    folder = str(references["optimize"].folder)
    procs = [subprocess.Popen([*CLI, "report", folder, "-o", str(target), "--title", title],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
             for title in ("first", "second")]
    for proc in procs:
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
    assert is_whole_report(target)
    text = target.read_text()
    assert ("<title>first" in text) != ("<title>second" in text)
    assert temporaries(tmp_path) == []


# --------------------------------------------------------------------------- full disks


def on_full_disk(disk: Path, size: str, previous: Path, command: list[str],
                 after: Path) -> tuple[int, str]:
    """Mount a tmpfs of ``size`` on ``disk``, copy ``previous`` (a file or folder) onto it,
    fill the disk, run ``command``; then copy what is at ``previous``'s place on the disk
    to ``after``. Returns the command's exit code and its stderr."""
    q = shlex.quote
    placed = disk / previous.name
    err = after.with_name(after.name + ".stderr")
    script = "; ".join([
        f"mount -t tmpfs -o size={size} tmpfs {q(str(disk))} || exit 99",
        f"cp -a {q(str(previous))} {q(str(placed))} || exit 98",
        f"cat /dev/zero > {q(str(disk / 'filler'))} 2>/dev/null",
        f"{shlex.join(command)} >/dev/null 2>{q(str(err))}; echo \"rc=$?\"",
        f"cp -a {q(str(placed))} {q(str(after))}"])
    done = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True,
                          text=True, timeout=600)
    lines = done.stdout.splitlines()
    assert done.returncode == 0 and lines, (done.returncode, done.stderr)
    return int(lines[0].removeprefix("rc=")), err.read_text()


def one_clean_error(stderr: str, path: Path) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith(f"error: {path}: cannot "), stderr
    assert "Traceback" not in stderr and "internal error" not in stderr
    return lines[0]


@pytest.mark.parametrize("name", sorted(WRITERS))
def test_a_full_disk_keeps_the_previous_result(
        name: str, inputs: Path, references: dict[str, Reference], small_disk: Path,
        tmp_path: Path) -> None:
    writer, reference = WRITERS[name], references[name]
    out = small_disk / reference.folder.name
    after = tmp_path / "after"
    # Every run is in the log: only the document is written, and the disk has no room.
    code, stderr = on_full_disk(small_disk, "1m", reference.folder,
                                [*CLI, *writer.args(inputs), "--out", str(out), "--resume"],
                                after)
    assert code == 2
    line = one_clean_error(stderr, out / writer.document)
    assert "No space left on device" in line
    for file in (writer.document, "runs.jsonl"):
        assert (after / file).read_bytes() == (reference.folder / file).read_bytes()
    assert temporaries(after) == []
    assert verify(after) == 0


def test_a_full_disk_stops_a_fresh_writer_at_its_run_log(inputs: Path, small_disk: Path,
                                                         tmp_path: Path) -> None:
    """No earlier result: the first run that cannot be logged stops the command."""
    writer = WRITERS["optimize"]
    empty = tmp_path / "empty"
    empty.mkdir()
    out = small_disk / empty.name
    after = tmp_path / "after"
    code, stderr = on_full_disk(small_disk, "1m", empty,
                                [*CLI, *writer.args(inputs), "--out", str(out)], after)
    assert code == 2
    line = one_clean_error(stderr, out / "runs.jsonl")
    assert "No space left on device" in line
    assert not (after / writer.document).exists() and temporaries(after) == []


def test_a_full_disk_keeps_the_previous_report(references: dict[str, Reference],
                                               small_disk: Path, tmp_path: Path) -> None:
    folder = references["optimize"].folder
    previous = tmp_path / "report.html"
    done = subprocess.run([*CLI, "report", str(folder), "-o", str(previous)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    after = tmp_path / "after.html"
    code, stderr = on_full_disk(small_disk, "16m", previous,
                                [*CLI, "report", str(folder), "-o",
                                 str(small_disk / previous.name), "--title", "new"], after)
    assert code == 2
    line = one_clean_error(stderr, small_disk / previous.name)
    assert "No space left on device" in line
    assert after.read_bytes() == previous.read_bytes()


def test_a_result_folder_holds_the_document_and_its_run_log_only(
        references: dict[str, Reference]) -> None:
    """The writer's lock is beside the folder and its temporaries are gone, so verify and
    report see only results."""
    for name, reference in references.items():
        assert sorted(p.name for p in reference.folder.iterdir()) == sorted(
            [WRITERS[name].document, "runs.jsonl"])
        assert lock_path(reference.folder).parent == reference.folder.parent
