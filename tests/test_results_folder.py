"""A results folder changes as a whole, one writer at a time (issue: results half-written or
mixed).

- A run killed (SIGKILL) at any moment leaves the earlier result or the new one complete:
  the folder always verifies, never new tables beside an old journal.
- Two commands writing one folder at once: one is refused (exit 2, naming the lock), the
  other's result is whole.
- The folder writer itself: a failing fill leaves the old folder, a replaced folder keeps
  its mode, the fallback without an atomic exchange gives the same result.
- An exception that escapes a command is an internal error: exit 3, never 0 or 1.
"""

from __future__ import annotations

import importlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from conftest import BASE_PLANT, deep_update
from typer.testing import CliRunner

from shocktwin import cli, files
from shocktwin.errors import ShocktwinError
from shocktwin.files import write_folder_atomic
from shocktwin.locks import lock_path, locked
from shocktwin.twin.journal.verify import verify_results

posix = pytest.mark.skipif(os.name != "posix", reason="SIGKILL and flock need POSIX")
CLI = [sys.executable, "-m", "shocktwin"]
#: Long enough to be killed part-way, short enough for the default tier.
PLANT = deep_update(BASE_PLANT, {"horizon": "20d", "experiment": {"replications": 4}})


def scenario(tmp_path: Path) -> Path:
    path = tmp_path / "plant.yaml"
    path.write_text(yaml.safe_dump(PLANT))
    return path


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def leftovers(parent: Path, folder: Path) -> list[str]:
    """Temporary folders of a write that were not cleaned up."""
    return [p.name for p in parent.iterdir() if p.name.startswith(f".{folder.name}.")
            and p.name != lock_path(folder).name]


# --------------------------------------------------------------------------- kills


def kill_runs(tmp_path: Path, kills: int, seed: int) -> None:
    path = scenario(tmp_path)
    out = tmp_path / "out"
    first = subprocess.run([*CLI, "run", str(path), "--out", str(out), "--format", "duckdb"],
                           capture_output=True, text=True)
    assert first.returncode in (0, 1, 4), first.stderr
    # How long a run takes here, to kill the next ones anywhere in it.
    started = time.monotonic()
    whole = subprocess.run([*CLI, "run", str(path), "--out", str(out), "--force",
                            "--format", "parquet"], capture_output=True, text=True)
    assert whole.returncode in (0, 1, 4), whole.stderr
    span = time.monotonic() - started
    rng = random.Random(seed)
    killed = 0
    for i in range(kills):
        fmt = ("duckdb", "parquet")[i % 2]
        proc = subprocess.Popen([*CLI, "run", str(path), "--out", str(out), "--force",
                                 "--format", fmt], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.6, 1.05) * span)  # most kills near the writing
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed += 1
        proc.wait()
        # The earlier result or the new one, whole: it verifies, and holds one format.
        [report] = verify_results(out)
        assert report.intact, report.findings
        held = names(out)
        assert held in (["journal.json", "results.duckdb"],
                        ["journal.json", "replications.parquet", "series.parquet",
                         "stations.parquet"]), held
    assert killed, "every run finished before it could be killed"
    again = subprocess.run([*CLI, "run", str(path), "--out", str(out), "--force"],
                           capture_output=True, text=True)
    assert again.returncode in (0, 1, 4), again.stderr
    assert leftovers(tmp_path, out) == []  # the next write cleans up after the killed ones


@posix
def test_a_killed_run_leaves_the_earlier_result_or_the_new_one(tmp_path: Path) -> None:
    kill_runs(tmp_path, kills=4, seed=1)


@posix
@pytest.mark.slow
def test_twenty_killed_runs_never_leave_a_mixed_folder(tmp_path: Path) -> None:
    kill_runs(tmp_path, kills=20, seed=2)


# --------------------------------------------------------------------------- concurrency


@posix
def test_a_second_writer_of_one_folder_is_refused(tmp_path: Path) -> None:
    """A run writing a folder holds its lock from before the clock starts; a second run
    arriving meanwhile is refused at once and leaves the first one's result whole."""
    # Long enough (several seconds) that the first run still holds the lock while the
    # second starts its interpreter, however loaded the machine is.
    path = tmp_path / "long.yaml"
    path.write_text(yaml.safe_dump(deep_update(PLANT, {"horizon": "120d",
                                                       "experiment": {"replications": 6}})))
    out = tmp_path / "out"
    first = subprocess.Popen([*CLI, "run", str(path), "--out", str(out), "--format",
                              "duckdb"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    # Wait until the first run holds the lock (its process id is written into the lock).
    lock = lock_path(out)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (
            lock.exists() and lock.read_text().strip() == str(first.pid)):
        time.sleep(0.02)
    second = subprocess.run([*CLI, "run", str(path), "--out", str(out), "--force",
                             "--format", "parquet"], capture_output=True, text=True)
    assert first.wait() in (0, 1, 4), first.stderr.read() if first.stderr else ""
    assert second.returncode == 2, second.stderr
    assert f"another shocktwin command (process {first.pid}) is writing this results " \
        "folder" in second.stderr
    [report] = verify_results(out)
    assert report.intact and names(out) == ["journal.json", "results.duckdb"]


@posix
def test_the_lock_is_dropped_when_its_holder_dies(tmp_path: Path) -> None:
    target = tmp_path / "out"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time\n"
        "from shocktwin.locks import locked\n"
        f"with locked({str(target)!r}, what='results folder'):\n"
        "    print('held', flush=True); time.sleep(60)\n")], stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    with pytest.raises(ShocktwinError, match=f"process {holder.pid}"), \
            locked(target, what="results folder"):
        pass
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    with locked(target, what="results folder"):
        pass  # taken at once: a dead holder keeps nothing


# --------------------------------------------------------------------------- the writer


def fill_with(*pairs: tuple[str, str]):  # type: ignore[no-untyped-def]
    def fill(folder: Path) -> list[str]:
        for name, text in pairs:
            (folder / name).write_text(text)
        return [name for name, _ in pairs]
    return fill


def test_a_failing_fill_leaves_the_old_folder(tmp_path: Path) -> None:
    target = tmp_path / "out"
    write_folder_atomic(target, fill_with(("a.txt", "old"), ("b.txt", "old")))

    def broken(folder: Path) -> None:
        (folder / "a.txt").write_text("new")
        raise RuntimeError("the disk is full")

    with pytest.raises(RuntimeError):
        write_folder_atomic(target, broken)
    assert names(target) == ["a.txt", "b.txt"] and (target / "a.txt").read_text() == "old"
    assert leftovers(tmp_path, target) == []


@pytest.mark.parametrize("exchange", [True, False], ids=["exchange", "two-renames"])
def test_the_new_folder_replaces_the_old_whole(tmp_path: Path, exchange: bool,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    if not exchange:
        monkeypatch.setattr(files, "_exchange", lambda a, b: False)
    target = tmp_path / "out"
    write_folder_atomic(target, fill_with(("a.txt", "old"), ("stale.txt", "old")))
    target.chmod(0o750)
    (target / "a.txt").chmod(0o640)
    write_folder_atomic(target, fill_with(("a.txt", "new"), ("c.txt", "new")))
    assert names(target) == ["a.txt", "c.txt"]
    assert (target / "a.txt").read_text() == "new"
    assert (target / "a.txt").stat().st_mode & 0o777 == 0o640  # a replaced file keeps its mode
    assert target.stat().st_mode & 0o777 == 0o750  # and so does the folder
    assert leftovers(tmp_path, target) == []


def test_force_never_deletes_files_that_are_not_results(tmp_path: Path,
                                                        runner: CliRunner) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "plant.duckdb").write_bytes(b"a store the user keeps here")
    done = runner.invoke(cli.app, ["run", str(scenario(tmp_path)), "-n", "2", "--out",
                                   str(out), "--force"])
    assert done.exit_code == 2
    assert "not shocktwin results (plant.duckdb)" in done.stderr
    assert names(out) == ["plant.duckdb"]


# --------------------------------------------------------------------------- internal errors


def test_an_internal_error_exits_3_never_0_or_1(tmp_path: Path, runner: CliRunner,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from shocktwin.twin.journal import run as run_module

    def broken(*args: object, **kwargs: object) -> None:
        raise ValueError("a bug")

    monkeypatch.setattr(run_module, "run_experiment", broken)
    done = runner.invoke(cli.app, ["run", str(scenario(tmp_path)), "-n", "2"])
    assert done.exit_code == 3
    assert "internal error" in done.stderr and "ValueError: a bug" in done.stderr


def test_the_console_script_turns_an_escaped_exception_into_exit_3(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise KeyError("escaped")

    module = importlib.import_module("shocktwin.cli.app")  # ``cli.app`` is the Typer app
    monkeypatch.setattr(module, "app", broken)
    with pytest.raises(SystemExit) as ended:
        module.main()
    assert ended.value.code == 3
    assert "internal error" in capsys.readouterr().err


def test_a_device_is_never_replaced_by_a_file(tmp_path: Path) -> None:
    from shocktwin.files import write_atomic

    if not Path("/dev/null").exists():
        pytest.skip("no /dev/null here")
    before = os.stat("/dev/null")
    with pytest.raises(ShocktwinError, match="not a regular file, and is not replaced"):
        write_atomic("/dev/null", "text")
    after = os.stat("/dev/null")
    assert (after.st_mode, after.st_rdev) == (before.st_mode, before.st_rdev)
    folder = tmp_path / "a-folder"
    folder.mkdir()
    with pytest.raises(ShocktwinError, match="not a regular file"):
        write_atomic(folder, "text")


def test_a_folder_name_that_is_not_utf8_is_refused_before_the_run(tmp_path: Path,
                                                                  runner: CliRunner) -> None:
    odd = Path(os.fsdecode(bytes(tmp_path) + b"/run\xff"))
    try:
        odd.mkdir()
        odd.rmdir()
    except (OSError, UnicodeError):
        pytest.skip("this file system takes UTF-8 names only")
    path = scenario(tmp_path)
    done = runner.invoke(cli.app, ["run", str(path), "-n", "2", "--out", str(odd)])
    assert done.exit_code == 2, done.output
    assert "byte 0xff that is not UTF-8" in done.stderr and "Traceback" not in done.output
    assert not odd.exists()  # refused before the run: nothing written
    # A report may be written under such a name: it is not a DuckDB file.
    good = tmp_path / "good"
    assert runner.invoke(cli.app, ["run", str(path), "-n", "2", "--out", str(good)]
                         ).exit_code in (0, 1, 4)
    html = Path(os.fsdecode(bytes(tmp_path) + b"/review\xfe.html"))
    made = runner.invoke(cli.app, ["report", str(good), "-o", str(html)])
    assert made.exit_code == 0, made.output
    assert html.is_file()


def optimizable(tmp_path: Path) -> Path:
    from test_optimize import PLANT as OPTIMIZE_PLANT

    path = tmp_path / "opt.yaml"
    path.write_text(yaml.safe_dump(OPTIMIZE_PLANT))
    return path


@pytest.mark.parametrize("command", ["run", "mtd", "optimize", "stress"])
def test_an_output_folder_that_cannot_be_made_is_one_error_line(tmp_path: Path,
                                                                runner: CliRunner,
                                                                command: str) -> None:
    """--out below a regular file cannot be created (as on a read-only or full disk, which
    root ignores for chmod): exit 2 naming the path and the reason, no traceback, nothing
    run."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder\n")
    out = blocker / "results"
    args = {
        "run": ["run", str(scenario(tmp_path)), "-n", "1"],
        "mtd": ["mtd", "column_discontinued"],
        "optimize": ["optimize", str(optimizable(tmp_path))],
        "stress": ["stress", "valve_quality", "--baseline", "b.yaml", "--candidate", "c.yaml"],
    }[command]
    if command == "stress":
        rules = Path(str(importlib.import_module("shocktwin.scenarios").reference_scenario(
            "valve_quality"))).parent / "rules"
        args[3], args[5] = str(rules / "valve_incoming.yaml"), str(rules / "valve_incoming.yaml")
    done = runner.invoke(cli.app, [*args, "--out", str(out)])
    assert done.exit_code == 2, done.output
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {blocker}"), lines
    assert "Traceback" not in done.output


@pytest.mark.parametrize("where", ["link", "dot"])
def test_an_out_folder_that_cannot_be_swapped_is_refused_before_the_run(
        tmp_path: Path, runner: CliRunner, where: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A symbolic link (or '.') cannot be replaced by a folder: refused up front, not after
    hours of work."""
    path = scenario(tmp_path)
    real = tmp_path / "real"
    real.mkdir()
    if where == "link":
        out = tmp_path / "link"
        out.symlink_to(real)
        message = "is a symbolic link"
    else:
        monkeypatch.chdir(real)
        out = Path(".")
        message = "give a folder of its own"
    from shocktwin.twin.journal import run as run_module

    ran: list[int] = []
    monkeypatch.setattr(run_module, "run_experiment", lambda *a, **k: ran.append(1))
    done = runner.invoke(cli.app, ["run", str(path), "-n", "1", "--out", str(out), "--force"])
    assert done.exit_code == 2 and message in done.stderr, done.output
    assert ran == []


def test_an_interrupted_command_exits_130_never_1(tmp_path: Path, runner: CliRunner,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from shocktwin.twin.journal import run as run_module

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(run_module, "run_experiment", interrupted)
    done = runner.invoke(cli.app, ["run", str(scenario(tmp_path)), "-n", "1"])
    assert done.exit_code == 130


def test_a_folder_set_aside_by_a_killed_swap_is_put_back(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    """Without an atomic exchange the old folder is set aside before the new one takes its
    name; killed in between, the next write puts the old folder back instead of deleting
    it, and a write that then fails leaves it there."""
    monkeypatch.setattr(files, "_exchange", lambda a, b: False)
    target = tmp_path / "out"
    write_folder_atomic(target, fill_with(("a.txt", "old")))
    aside = tmp_path / f".out.{'0' * 12}{files.ASIDE_SUFFIX}"
    target.rename(aside)  # the state a kill between the two renames leaves

    def broken(folder: Path) -> None:
        raise RuntimeError("killed again")

    with pytest.raises(RuntimeError):
        write_folder_atomic(target, broken)
    assert (target / "a.txt").read_text() == "old" and not aside.exists()


@pytest.mark.skipif(sys.platform != "linux", reason="renameat2 is Linux's")
def test_linux_swaps_the_folders_in_one_step(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "x").write_text("a")
    assert files._exchange(a, b)  # the exchange path is the one taken here
    assert (b / "x").read_text() == "a" and not (a / "x").exists()


def test_a_lock_file_of_another_user_is_used_read_only(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "shared-results"
    with locked(target, what="results folder"):
        pass  # the lock file now exists, as another user would have left it
    real_open = os.open

    def no_write_access(path: object, flags: int, *args: object) -> int:
        if str(path).endswith(".lock") and flags & os.O_RDWR:
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, flags, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", no_write_access)
    with locked(target, what="results folder"):
        pass


def test_a_report_does_not_read_a_folder_while_it_is_written(tmp_path: Path,
                                                            runner: CliRunner) -> None:
    """The report holds the folder's lock while it verifies and reads it, so a writer cannot
    swap the folder between the two; one being written is refused with the reason."""
    from shocktwin.reports import render_report

    out = tmp_path / "out"
    assert runner.invoke(cli.app, ["run", str(scenario(tmp_path)), "-n", "1", "--out",
                                   str(out)]).exit_code in (0, 1, 4)
    with locked(out, what="results folder"), pytest.raises(
            ShocktwinError, match=r"another shocktwin command .* is writing this results"):
        render_report([out])
    assert "<html" in render_report([out])


def test_readers_share_a_folder_and_a_writer_waits_for_none_of_them(tmp_path: Path) -> None:
    target = tmp_path / "out"
    with locked(target, what="results folder", shared=True), \
            locked(target, what="results folder", shared=True), \
            pytest.raises(ShocktwinError, match="another shocktwin command"), \
            locked(target, what="results folder"):
        pass  # a writer is refused while reports read
    with locked(target, what="results folder"):
        pass
