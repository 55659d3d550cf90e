"""The journal's hash chain: a saved run verifies, and each kind of tampering is reported at
the record where it happened; an unreadable journal is an error, not a verdict."""

from __future__ import annotations

import itertools
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest
from conftest import BASE_PLANT, deep_update
from typer.testing import CliRunner

from shocktwin import cli
from shocktwin.scenarios import parse_scenario
from shocktwin.twin.experiment.replication import ExperimentResult, run_experiment
from shocktwin.twin.journal.record import (
    JOURNAL_FORMAT,
    chain_records,
    header_hash,
    make_journal,
    record_hash,
    save_results,
)
from shocktwin.twin.journal.verify import (
    EXIT_INTACT,
    EXIT_TAMPERED,
    FindingKind,
    JournalError,
    VerifyReport,
    verify_journal,
)

# A supplier outage in each replication, so the journal holds shock records between the
# replications' results: 0 RunStarted; per replication r (at 1 + 3r): ShockStarted,
# ShockEnded, ReplicationFinished; 10 RunFinished.
SCENARIO = deep_update(BASE_PLANT, {
    "horizon": "3d", "warmup": "12h",
    "shocks": [{"id": "o", "type": "supplier_outage", "target": "sup", "start": "1d",
                "duration": "6h"}]})
KINDS = ["RunStarted"] + ["ShockStarted", "ShockEnded", "ReplicationFinished"] * 3 + [
    "RunFinished"]

Doc = dict[str, Any]


@pytest.fixture(scope="module")
def result() -> ExperimentResult:
    return run_experiment(parse_scenario(SCENARIO), replications=3, seed=11)


@pytest.fixture(scope="module")
def saved(result: ExperimentResult, tmp_path_factory: pytest.TempPathFactory
          ) -> dict[str, Path]:
    """The run saved once in each format; tests tamper with copies."""
    out: dict[str, Path] = {}
    for fmt in ("duckdb", "parquet"):
        journal = make_journal(result, started_utc="2026-01-15T08:00:00.000Z",
                               ended_utc="2026-01-15T08:00:01.000Z", scenario_file=None,
                               command=["shocktwin", "run"], tables_format=fmt)
        folder = tmp_path_factory.mktemp(fmt)
        save_results(result, journal, folder, replace=True)
        out[fmt] = folder
    return out


@pytest.fixture
def run_dir(saved: dict[str, Path], tmp_path: Path) -> Path:
    folder = tmp_path / "run"
    shutil.copytree(saved["duckdb"], folder)
    return folder


def load(folder: Path) -> Doc:
    doc: Doc = json.loads((folder / "journal.json").read_text())
    return doc


def save(folder: Path, doc: Doc) -> None:
    (folder / "journal.json").write_text(json.dumps(doc, indent=2, sort_keys=True))


def tamper(folder: Path, change: Callable[[Doc], object]) -> VerifyReport:
    doc = load(folder)
    change(doc)
    save(folder, doc)
    return verify_journal(folder)


def found(report: VerifyReport) -> set[tuple[FindingKind, int | None, str | None]]:
    return {(f.kind, f.index, f.record_kind) for f in report.findings}


def rehash(record: Doc) -> None:
    record["hash"] = record_hash(record)


# --------------------------------------------------------------------------- intact


@pytest.mark.parametrize("fmt", ["duckdb", "parquet"])
def test_a_saved_run_verifies_against_its_tables(saved: dict[str, Path], fmt: str) -> None:
    report = verify_journal(saved[fmt])
    assert report.intact, [str(f) for f in report.findings]
    assert report.exit_code == EXIT_INTACT
    assert report.records == len(KINDS)
    expected = ["results.duckdb"] if fmt == "duckdb" else [
        "replications.parquet", "series.parquet", "stations.parquet"]
    assert [p.name for p in report.tables] == expected
    # The journal file itself is accepted as the path, too.
    assert verify_journal(saved[fmt] / "journal.json").intact


def test_the_chain_is_in_the_file(saved: dict[str, Path]) -> None:
    doc = load(saved["duckdb"])
    records = doc["records"]
    assert doc["format"] == JOURNAL_FORMAT == 3
    assert [r["kind"] for r in records] == KINDS
    assert [r["seq"] for r in records] == list(range(len(KINDS)))
    assert records[0]["prev_hash"] == header_hash(doc)
    for before, after in itertools.pairwise(records):
        assert after["prev_hash"] == before["hash"] == record_hash(before)
    assert doc["chain_hash"] == records[-1]["hash"]
    finished = records[-1]
    assert finished["journal_hash"] == doc["journal_hash"]
    assert set(finished["tables_sha256"]) == {"replications", "series", "stations"}


def test_journal_hash_reproduces_while_the_chain_is_per_run(result: ExperimentResult) -> None:
    first = make_journal(result, started_utc="2026-01-15T08:00:00.000Z",
                         ended_utc="2026-01-15T08:00:01.000Z", scenario_file=None)
    again = make_journal(result, started_utc="2026-02-01T09:30:00.000Z",
                         ended_utc="2026-02-01T09:30:02.000Z", scenario_file=None)
    assert first.journal_hash == again.journal_hash
    assert first.chain_hash != again.chain_hash


def test_chain_records_refuses_records_that_already_have_chain_keys() -> None:
    with pytest.raises(ValueError, match="seq"):
        chain_records([{"kind": "X", "seq": 3}], "0" * 64)


# --------------------------------------------------------------------------- tampering


def test_an_edited_kpi_is_found_in_its_record_and_against_the_table(run_dir: Path) -> None:
    def edit(doc: Doc) -> None:
        doc["records"][3]["kpis"]["otd"] = 0.5

    report = tamper(run_dir, edit)
    assert report.exit_code == EXIT_TAMPERED
    assert found(report) == {(FindingKind.EDITED, 3, "ReplicationFinished"),
                             (FindingKind.MEASUREMENTS, 3, "ReplicationFinished")}
    [measured] = [f for f in report.findings if f.kind is FindingKind.MEASUREMENTS]
    assert "replication 0" in measured.message and "otd 0.5" in measured.message


def test_an_edit_whose_hash_was_recomputed_is_still_found(run_dir: Path) -> None:
    def edit(doc: Doc) -> None:
        doc["records"][6]["events"] += 1
        rehash(doc["records"][6])

    report = tamper(run_dir, edit)
    assert (FindingKind.EDITED, 6, "ReplicationFinished") in found(report)
    assert {f.kind for f in report.findings} == {FindingKind.EDITED, FindingKind.MEASUREMENTS}


def test_an_edited_table_is_found(run_dir: Path) -> None:
    con = duckdb.connect(str(run_dir / "results.duckdb"))
    con.execute("UPDATE replications SET otd = 0.25 WHERE replication = 2")
    con.execute("UPDATE series SET released = released + 1 WHERE bucket = 0")
    con.close()
    report = verify_journal(run_dir)
    messages = [f.message for f in report.findings]
    assert {f.kind for f in report.findings} == {FindingKind.MEASUREMENTS}
    assert any("table replications" in m for m in messages)
    assert any("table series" in m for m in messages)
    assert not any("table stations" in m for m in messages)
    assert (FindingKind.MEASUREMENTS, 9, "ReplicationFinished") in found(report)


def test_a_removed_record_is_found_where_it_was(run_dir: Path) -> None:
    report = tamper(run_dir, lambda doc: doc["records"].pop(6))
    assert (FindingKind.REMOVED, 6, None) in found(report)
    kinds = {f.kind for f in report.findings}
    # Its replication's row in the table now has no record in the journal.
    assert kinds == {FindingKind.REMOVED, FindingKind.MEASUREMENTS}


def test_removed_shock_records_are_one_finding(run_dir: Path) -> None:
    def remove(doc: Doc) -> None:
        del doc["records"][4:6]

    report = tamper(run_dir, remove)
    assert found(report) == {(FindingKind.REMOVED, 4, None)}
    assert "records 4–5" in report.findings[0].message


def test_a_journal_emptied_of_records_is_found(run_dir: Path) -> None:
    def empty(doc: Doc) -> None:
        doc["records"] = []
        doc["chain_hash"] = ""

    report = tamper(run_dir, empty)
    assert (FindingKind.REMOVED, 0, None) in found(report)


def test_a_removed_tail_is_found(run_dir: Path) -> None:
    report = tamper(run_dir, lambda doc: doc["records"].pop())
    assert (FindingKind.REMOVED, 10, None) in found(report)


@pytest.mark.parametrize("a, b", [(4, 5), (3, 6), (0, 10)])
def test_swapped_records_are_both_reported(run_dir: Path, a: int, b: int) -> None:
    def swap(doc: Doc) -> None:
        records = doc["records"]
        records[a], records[b] = records[b], records[a]

    report = tamper(run_dir, swap)
    assert found(report) == {(FindingKind.REORDERED, a, KINDS[b]),
                             (FindingKind.REORDERED, b, KINDS[a])}


def test_an_inserted_record_is_found_at_its_position(run_dir: Path) -> None:
    def insert(doc: Doc) -> None:
        doc["records"].insert(2, {"kind": "ShockEnded", "replication": 0, "at_h": 30.0,
                                  "shock": "o"})

    report = tamper(run_dir, insert)
    assert found(report) == {(FindingKind.INSERTED, 2, "ShockEnded")}


def test_an_inserted_copy_is_found(run_dir: Path) -> None:
    def insert(doc: Doc) -> None:
        doc["records"].insert(8, dict(doc["records"][3]))

    report = tamper(run_dir, insert)
    assert found(report) == {(FindingKind.INSERTED, 8, "ReplicationFinished")}
    assert "copy of record 3" in report.findings[0].message


def test_a_forged_record_chained_to_its_predecessor_is_found(run_dir: Path) -> None:
    # Made to look right locally: the previous record's hash and a hash of its own.
    def forge(doc: Doc) -> None:
        records = doc["records"]
        fake = {**records[5], "at_h": 31.0}
        rehash(fake)
        records.insert(5, fake)

    report = tamper(run_dir, forge)
    assert found(report) == {(FindingKind.INSERTED, 5, "ShockEnded")}


def test_an_edited_header_is_found(run_dir: Path) -> None:
    def edit(doc: Doc) -> None:
        doc["seed"] = 12

    report = tamper(run_dir, edit)
    assert {(f.kind, f.index) for f in report.findings} == {(FindingKind.HEADER, None)}
    messages = " | ".join(f.message for f in report.findings)
    assert "prev_hash of record 0" in messages
    assert "seed is 12, but the chained RunStarted record has 11" in messages


def test_an_edited_scenario_copy_is_named(run_dir: Path) -> None:
    def edit(doc: Doc) -> None:
        doc["scenario"]["name"] = "a-better-plant"

    report = tamper(run_dir, edit)
    assert {f.kind for f in report.findings} == {FindingKind.HEADER}
    assert any("scenario copy" in f.message for f in report.findings)


@pytest.mark.parametrize("key, value, fragment", [
    ("journal_hash", "0" * 64, "journal_hash is '000"),
    ("status", "failed", "status is 'failed'"),
    ("ended_utc", "2030-01-01T00:00:00.000Z", "ended_utc is"),
    ("chain_hash", "0" * 64, "chain_hash is not the hash of the last record"),
    ("approved_by", "QA", "unexpected top-level field 'approved_by'"),
])
def test_edited_closing_fields_are_found(run_dir: Path, key: str, value: str,
                                         fragment: str) -> None:
    report = tamper(run_dir, lambda doc: doc.__setitem__(key, value))
    assert [f.kind for f in report.findings] == [FindingKind.HEADER]
    assert fragment in report.findings[0].message


def test_a_chain_hash_kept_elsewhere_catches_a_rewritten_journal(run_dir: Path) -> None:
    original = load(run_dir)["chain_hash"]

    def rewrite(doc: Doc) -> None:
        # A careful forger: edit, then recompute the whole chain after the edit.
        records = doc["records"]
        records[3]["kpis"]["otd"] = 0.5
        prev = records[2]["hash"]
        for record in records[3:]:
            record["prev_hash"] = prev
            rehash(record)
            prev = record["hash"]
        doc["chain_hash"] = prev

    tamper(run_dir, rewrite)
    alone = verify_journal(run_dir)
    assert {f.kind for f in alone.findings} == {FindingKind.MEASUREMENTS}
    anchored = verify_journal(run_dir, chain_hash=original)
    assert any(f.kind is FindingKind.HEADER and "kept elsewhere" in f.message
               for f in anchored.findings)


@pytest.mark.parametrize("fmt, gone", [("duckdb", "results.duckdb"),
                                       ("parquet", "series.parquet")])
def test_a_deleted_results_file_is_found(saved: dict[str, Path], tmp_path: Path, fmt: str,
                                         gone: str) -> None:
    folder = tmp_path / fmt
    shutil.copytree(saved[fmt], folder)
    (folder / gone).unlink()
    report = verify_journal(folder)
    assert not report.intact
    assert any(f.kind is FindingKind.MEASUREMENTS and f"{gone} is missing" in f.message
               for f in report.findings)


def test_tables_of_the_other_format_beside_the_journal_are_found(saved: dict[str, Path],
                                                                 tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    shutil.copytree(saved["duckdb"], folder)
    shutil.copy(saved["parquet"] / "series.parquet", folder)
    report = verify_journal(folder)
    assert any("series.parquet beside the journal" in f.message for f in report.findings)


# --------------------------------------------------------------------------- unreadable


@pytest.mark.parametrize("content, fragment", [
    (None, "no such file"),
    (b"", "not valid JSON"),
    (b"\xff\xfe garbage", "not UTF-8"),
    (b"[1, 2, 3]", "not a shocktwin journal"),
    (b'{"format": 2, "records": {}}', "not a shocktwin journal"),
    (b'{"format": 1, "records": []}', "format 1 has no hash chain"),
    (b'{"format": 99, "records": []}', "unknown journal format 99"),
    (b"[" * 100_000, "nested too deeply"),
])
def test_unreadable_journals_raise(tmp_path: Path, content: bytes | None,
                                   fragment: str) -> None:
    if content is not None:
        (tmp_path / "journal.json").write_bytes(content)
    with pytest.raises(JournalError) as info:
        verify_journal(tmp_path)
    assert fragment in str(info.value)
    assert all(p.message and p.file for p in info.value.problems)


def test_a_truncated_journal_is_unreadable(run_dir: Path) -> None:
    text = (run_dir / "journal.json").read_text()
    (run_dir / "journal.json").write_text(text[: len(text) // 2])
    with pytest.raises(JournalError, match="cut short or damaged"):
        verify_journal(run_dir)


def test_a_damaged_results_store_is_unreadable(run_dir: Path) -> None:
    (run_dir / "results.duckdb").write_bytes(b"not a database" * 100)
    with pytest.raises(JournalError, match=r"results\.duckdb cannot be read"):
        verify_journal(run_dir)


# --------------------------------------------------------------------------- the command


def test_command_exit_codes(run_dir: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(cli.app, ["verify", str(run_dir)])
    assert ok.exit_code == 0, ok.output
    assert "intact" in ok.stdout
    as_json = runner.invoke(cli.app, ["verify", str(run_dir), "--json"])
    assert as_json.exit_code == 0 and json.loads(as_json.stdout)["intact"] is True

    tamper(run_dir, lambda doc: doc["records"].pop(6))
    bad = runner.invoke(cli.app, ["verify", str(run_dir)])
    assert bad.exit_code == 1
    assert "TAMPERED" in bad.stdout and "record 6: removed" in bad.stdout
    data = json.loads(runner.invoke(cli.app, ["verify", str(run_dir), "--json"]).stdout)
    assert data["intact"] is False
    assert {"kind": "removed", "index": 6}.items() <= data["findings"][0].items()

    missing = runner.invoke(cli.app, ["verify", str(tmp_path / "nowhere")])
    assert missing.exit_code == 2
    assert "no such file" in missing.stderr and "Traceback" not in missing.output


def test_command_checks_a_chain_hash_kept_elsewhere(run_dir: Path) -> None:
    runner = CliRunner()
    original = load(run_dir)["chain_hash"]
    ok = runner.invoke(cli.app, ["verify", str(run_dir), "--chain-hash", original.upper()])
    assert ok.exit_code == 0, ok.output
    other = "0" * 64
    moved = runner.invoke(cli.app, ["verify", str(run_dir), "--chain-hash", other])
    assert moved.exit_code == 1
    assert "kept elsewhere" in moved.stdout
    bad = runner.invoke(cli.app, ["verify", str(run_dir), "--chain-hash", "abc"])
    assert bad.exit_code == 2
    assert "--chain-hash must be a SHA-256" in bad.stderr and "Traceback" not in bad.output
