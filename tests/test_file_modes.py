"""Every file a command writes is created with the caller's umask, and a file it replaces
keeps its mode: 0o644 under umask 022, 0o600 under 077, 0o640 stays 0o640.

Each writer is driven through the real command line on a small input: ``run --out`` (journal
and tables), ``mtd --out``, ``optimize --out``, ``stress --junit --markdown``, ``report``,
``ingest --db`` (the store), ``derive`` and ``rules derive``. Then the atomic writer itself:
a failed write leaves the old file and no temporary file, and the temporary files of an
earlier killed write are removed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest
import yaml
from conftest import BASE_PLANT, ROOT, deep_update
from typer.testing import CliRunner

from shocktwin import cli
from shocktwin.edge_replay.ingest import ingest
from shocktwin.edge_replay.mapping import SourceMapping
from shocktwin.edge_replay.schema import Table
from shocktwin.errors import ScenarioError, SimulationError
from shocktwin.files import TEMP_SUFFIX, creation_mode, temp_path, write_atomic
from shocktwin.locks import lock_path
from shocktwin.scenarios import reference_scenario

RUNNER = CliRunner()
REPLACED = 0o640  # a mode no umask gives: only keeping the replaced file's mode does


@contextlib.contextmanager
def umask(mask: int) -> Iterator[None]:
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def invoke(*args: str, codes: Sequence[int] = (0,)) -> None:
    result = RUNNER.invoke(cli.app, list(args))
    assert result.exit_code in codes, result.output


def check_modes(write: Callable[[Path, bool], Sequence[Path]], tmp_path: Path) -> None:
    """``write(folder, again)`` writes its files into ``folder`` (``again``: they exist, or
    the earlier run's work may be reused) and returns them. New under umask 022 they are
    0o644, under 077 0o600; rewritten after a chmod to 0o640 they stay 0o640."""
    for mask, expected in ((0o022, 0o644), (0o077, 0o600)):
        with umask(mask):
            written = write(tmp_path / f"umask{mask:03o}", False)
        assert written
        assert {p.name: mode(p) for p in written} == {p.name: expected for p in written}
    for p in written:
        p.chmod(REPLACED)
    with umask(0o022):
        again = write(tmp_path / "umask077", True)
    assert {p.name: mode(p) for p in again} == {p.name: REPLACED for p in again}


def no_temporaries(folder: Path) -> None:
    assert not [p.name for p in folder.iterdir() if p.name.endswith(TEMP_SUFFIX)]


# --------------------------------------------------------------------------- commands


def scenario(tmp_path: Path, doc: dict[str, object], name: str = "scenario.yaml") -> Path:
    path = tmp_path / name
    if not path.exists():
        path.write_text(yaml.safe_dump(doc))
    return path


@pytest.mark.parametrize("fmt", ["duckdb", "parquet"])
def test_run_outputs(tmp_path: Path, fmt: str) -> None:
    path = scenario(tmp_path, BASE_PLANT)

    def write(out: Path, again: bool) -> list[Path]:
        invoke("run", str(path), "-n", "2", "--out", str(out), "--format", fmt,
               *(["--force"] if again else []), codes=(0, 1, 4))
        no_temporaries(out)
        written = sorted(out.iterdir())  # the journal and every table
        assert out / "journal.json" in written
        assert (out / "results.duckdb" in written) is (fmt == "duckdb")
        return written

    check_modes(write, tmp_path)


def _resumable(command: str, path: Path, name: str, *extra: str
               ) -> Callable[[Path, bool], list[Path]]:
    """A command with --out/--resume: the 077 folder starts from the 022 folder's run log,
    so only the first search computes anything."""
    def write(out: Path, again: bool) -> list[Path]:
        first = out.parent / "umask022"
        resume = []
        if out != first:
            if not out.exists():
                out.mkdir()
                shutil.copyfile(first / "runs.jsonl", out / "runs.jsonl")
            resume = ["--resume"]
        invoke(command, str(path), "--out", str(out), *resume, *extra, codes=(0, 1))
        no_temporaries(out)
        return [out / name]

    return write


MTD_PLANT = deep_update(BASE_PLANT, {
    "horizon": "12d", "warmup": "1d",
    "plant": {"buffers": [{"id": "stock", "material": "part", "initial": 2500,
                           "reorder_point": 1500}]},
    "shocks": [{"id": "outage", "type": "supplier_outage", "target": "sup", "start": "4d",
                "duration": "1d"}],
    "hypothesis": {"probability": 0.75, "tolerances": [{"kpi": "otd", "min": 0.95}]},
    "mtd": {"shocks": [{"shock": "outage", "low": "1h", "high": "6d", "resolution": "12h"}],
            "replications": 3, "max_replications": 3},
    "experiment": {"replications": 3, "seed": 3},
})


def test_mtd_json(tmp_path: Path) -> None:
    check_modes(_resumable("mtd", scenario(tmp_path, MTD_PLANT), "mtd.json"), tmp_path)


OPTIMIZE_PLANT = deep_update(BASE_PLANT, {
    "horizon": "6d",
    "shocks": [{"id": "outage", "type": "supplier_outage", "target": "sup", "start": "2d",
                "duration": "2d"}],
    "optimize": {
        "variables": [{"name": "inspectors", "path": "plant.stations[0].inspectors",
                       "choices": [1, 2], "choice_costs": [0, 400]}],
        "objectives": [{"cost": True}, {"kpi": "stockout_hours"}],
        "population": 4, "generations": 1, "replications": 2},
})


def test_pareto_json(tmp_path: Path) -> None:
    check_modes(_resumable("optimize", scenario(tmp_path, OPTIMIZE_PLANT), "pareto.json"),
                tmp_path)


def test_stress_junit_and_markdown(tmp_path: Path) -> None:
    bundled = reference_scenario("valve_quality")
    rules = bundled.parent / "rules"
    doc = yaml.safe_load(bundled.read_text())
    shutil.copytree(rules, tmp_path / "rules")  # a scenario's rule files lie in its folder
    doc.update(horizon="12d", rules="rules/valve_incoming.yaml",
               mtd={"shocks": [{"shock": "drift", "low": 1.5, "high": 40.0,
                                "resolution": 8.0}], "replications": 3,
                    "max_replications": 3},
               experiment={"replications": 3, "seed": 7})
    doc["shocks"][0]["duration"] = "6d"
    path = scenario(tmp_path, doc)
    first = tmp_path / "umask022"

    def write(folder: Path, again: bool) -> list[Path]:
        folder.mkdir(exist_ok=True)
        junit, markdown = folder / "gate.xml", folder / "gate.md"
        invoke("stress", str(path), "--baseline", str(rules / "valve_incoming.yaml"),
               "--candidate", str(rules / "valve_incoming_weakened.yaml"),
               "--junit", str(junit), "--markdown", str(markdown),
               "--out", str(first / "runs"), *(["--resume"] if folder != first else []),
               codes=(0, 1))
        no_temporaries(folder)
        return [junit, markdown]

    check_modes(write, tmp_path)


def test_report_html(tmp_path: Path) -> None:
    results = tmp_path / "results"
    invoke("run", str(scenario(tmp_path, BASE_PLANT)), "-n", "2", "--out", str(results),
           codes=(0, 1, 4))

    def write(folder: Path, again: bool) -> list[Path]:
        out = folder / "report.html"
        invoke("report", str(results), "-o", str(out))
        no_temporaries(folder)
        return [out]

    check_modes(write, tmp_path)


def test_ingest_store_keeps_its_mode(tmp_path: Path) -> None:
    source = ROOT / "data" / "secom_labels_uci" / "secom_labels.data"

    def write(folder: Path, again: bool) -> list[Path]:
        folder.mkdir(exist_ok=True)
        db = folder / "plant.duckdb"
        invoke("ingest", str(source), "--format", "secom", "--db", str(db))
        assert [p.name for p in folder.iterdir() if p != lock_path(db)] == ["plant.duckdb"]
        return [db]

    check_modes(write, tmp_path)
    # The case: a private store stays private when it is ingested into again.
    db = tmp_path / "umask077" / "plant.duckdb"
    db.chmod(0o600)
    with umask(0o022):
        write(db.parent, True)
    assert mode(db) == 0o600


def test_rules_derive(tmp_path: Path) -> None:
    table = reference_scenario("valve_quality").parent / "failures" / "valve_kr.csv"

    def write(folder: Path, again: bool) -> list[Path]:
        folder.mkdir(exist_ok=True)
        out = folder / "valve_kr.yaml"
        invoke("rules", "derive", "--failures", str(table), "--out", str(out),
               *(["--force"] if again else []))
        no_temporaries(folder)
        return [out]

    check_modes(write, tmp_path)


# Three work orders on three resources (the hand-made log of tests/edge_replay/test_replay).
SHOP_LOG = """order,step,machine,began,ended,good,bad
A,mill,M,2024-01-01 08:00,2024-01-01 10:00,10,0
A,check,QC,2024-01-01 12:00,2024-01-01 13:00,9,1
B,check,QC,2024-01-01 07:00,2024-01-01 08:00,5,0
B,mill,M,2024-01-01 10:00,2024-01-01 11:00,5,0
C,turn,P,2024-01-01 08:00,2024-01-01 12:00,4,0
C,check,QC,2024-01-01 09:00,2024-01-01 09:30,4,0
"""
SHOP_MAPPING = SourceMapping(table=Table.OPERATIONS, columns={
    "order": "case_id", "step": "activity", "machine": "resource", "began": "start_ts",
    "ended": "end_ts", "good": "qty_completed", "bad": "qty_rejected"},
    timestamp_format="%Y-%m-%d %H:%M")


def test_derive_scenario(tmp_path: Path) -> None:
    (tmp_path / "mes.csv").write_text(SHOP_LOG)
    db = tmp_path / "plant.duckdb"
    ingest(tmp_path / "mes.csv", "csv", db, SHOP_MAPPING)

    def write(folder: Path, again: bool) -> list[Path]:
        folder.mkdir(exist_ok=True)
        out = folder / "shop.yaml"
        invoke("derive", "--db", str(db), "--out", str(out), *(["--force"] if again else []))
        no_temporaries(folder)
        return [out]

    check_modes(write, tmp_path)


# --------------------------------------------------------------------------- write_atomic


def test_creation_mode_follows_the_umask_and_leaves_it_as_it_was(tmp_path: Path) -> None:
    for mask in (0o022, 0o077, 0o002):
        with umask(mask):
            assert creation_mode() == 0o666 & ~mask
            assert creation_mode(tmp_path / "missing") == 0o666 & ~mask
            assert os.umask(mask) == mask
    existing = tmp_path / "f"
    existing.write_text("x")
    existing.chmod(0o604)
    assert creation_mode(existing) == 0o604


def test_a_failed_writer_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "results.duckdb"
    target.write_bytes(b"old")
    target.chmod(REPLACED)

    def broken(path: Path) -> None:
        path.write_bytes(b"half")
        Path(f"{path}.wal").write_bytes(b"log")  # DuckDB's log beside it
        (path.parent / f"{path.name}.tmp").mkdir()  # and its spill folder
        raise RuntimeError("the disk went away")

    with pytest.raises(RuntimeError, match="the disk went away"):
        write_atomic(target, broken)
    assert [p.name for p in tmp_path.iterdir()] == ["results.duckdb"]
    assert target.read_bytes() == b"old" and mode(target) == REPLACED
    write_atomic(target, lambda path: path.write_bytes(b"new"))
    assert target.read_bytes() == b"new" and mode(target) == REPLACED
    assert [p.name for p in tmp_path.iterdir()] == ["results.duckdb"]


def test_stale_temporaries_of_a_killed_write_are_removed(tmp_path: Path) -> None:
    target = tmp_path / "mtd.json"
    stale = temp_path(target)  # what a write killed before its rename leaves
    stale.write_text("{half")
    Path(f"{stale}.wal").write_text("log")
    (tmp_path / f"{stale.name}.tmp").mkdir()  # a spill folder of a killed DuckDB write
    # Another file's temporary shares the prefix and must be left alone, as must files
    # that only look alike.
    other = temp_path(tmp_path / "mtd.json.bak")
    lookalikes = [tmp_path / ".mtd.json.notes.tmp", tmp_path / "mtd.json.tmp"]
    for p in lookalikes:
        p.write_text("mine")
    assert write_atomic(target, "{}\n") == target
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["mtd.json", other.name, *(p.name for p in lookalikes)])
    assert target.read_text() == "{}\n"


def test_write_atomic_modes_and_errors(tmp_path: Path) -> None:
    with umask(0o077):
        new = write_atomic(tmp_path / "sub" / "a.txt", "a")
        assert mode(new) == 0o600 and new.read_text() == "a"
    with umask(0o022):
        assert mode(write_atomic(tmp_path / "b.bin", b"\x00", mode=0o604)) == 0o604
        assert mode(write_atomic(tmp_path / "sub" / "a.txt", "b")) == 0o600  # replaced
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(SimulationError, match="cannot write the report: ") as caught:
        write_atomic(blocker / "report.html", "x", error=SimulationError, what="the report")
    assert caught.value.file == str(blocker / "report.html")
    with pytest.raises(ScenarioError, match="cannot write: "):
        write_atomic(blocker / "x.yaml", "x", error=ScenarioError)
