"""Result documents (mtd.json, pareto.json) are typed, hash-chained, read by one reader, and
checked by ``verify`` like a journal; ``report`` refuses what does not verify.

The documents come from real searches (``run_mtd_search``, ``run_optimisation``) on the
small plants of test_mtd and test_optimize. Each attack edits the file as someone with the
file could, and must be found.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import deep_update, records_of
from test_mtd import MTD_PLANT
from test_optimize import PLANT as OPTIMIZE_PLANT
from typer.testing import CliRunner

from shocktwin import cli
from shocktwin.errors import SimulationError
from shocktwin.jsontext import canonical_json
from shocktwin.reports import render_report
from shocktwin.twin.journal.document import (
    DOCUMENT_FORMAT,
    DocumentError,
    DocumentKind,
    MtdDocument,
    ParetoDocument,
    document_header_hash,
    read_document,
)
from shocktwin.twin.journal.verify import FindingKind, verify_document, verify_results
from shocktwin.twin.resilience.mtd import run_mtd_search
from shocktwin.twin.resilience.optimize import run_optimisation


@pytest.fixture(scope="module")
def mtd_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("mtd")
    scenario = base / "outage.yaml"
    scenario.write_text(yaml.safe_dump(deep_update(MTD_PLANT, {"mtd": {
        "shocks": [{"shock": "outage", "low": "1h", "high": "8d", "resolution": "8h",
                    "target": "2d"}],
        "replications": 4, "max_replications": 4}})))
    run_mtd_search(scenario, out=base / "search", command=["shocktwin", "mtd"])
    return base / "search"


@pytest.fixture(scope="module")
def pareto_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("optimize")
    scenario = base / "opt.yaml"
    scenario.write_text(yaml.safe_dump(OPTIMIZE_PLANT))
    run_optimisation(scenario, out=base / "o")
    return base / "o"


def copy(folder: Path, tmp_path: Path) -> Path:
    target = tmp_path / folder.name
    shutil.copytree(folder, target)
    return target


def load(file: Path) -> dict[str, Any]:
    return json.loads(file.read_text())


def save(file: Path, doc: dict[str, Any]) -> None:
    file.write_text(json.dumps(doc, indent=2))


def rehash(doc: dict[str, Any]) -> None:
    """Recompute every hash as a forger who knows the scheme would."""
    prev = document_header_hash(doc)
    for record in doc["records"]:
        record["prev_hash"] = prev
        body = {k: v for k, v in record.items() if k != "hash"}
        record["hash"] = prev = hashlib.sha256(canonical_json(body).encode()).hexdigest()
    doc["chain_hash"] = prev


# --------------------------------------------------------------------------- the documents


def test_documents_read_back_as_their_typed_models(mtd_dir: Path, pareto_dir: Path) -> None:
    mtd = read_document(mtd_dir / "mtd.json")
    assert isinstance(mtd, MtdDocument) and mtd.format == DOCUMENT_FORMAT
    assert [r.kind for r in mtd.records] == ["MtdFound", "SearchFinished"]
    [found] = mtd.shocks
    assert found.shock == "outage" and found.status == "converged"
    assert mtd.finished is not None and mtd.finished.runs == found.runs > 0
    assert mtd.finished.fails is found.fails
    assert [r.seq for r in mtd.records] == [0, 1]
    pareto = read_document(pareto_dir / "pareto.json", DocumentKind.PARETO)
    assert isinstance(pareto, ParetoDocument)
    assert pareto.points and any(p.on_front for p in pareto.points)
    assert pareto.finished is not None
    assert {o.name for o in pareto.finished.objectives} == {"cost", "stockout_hours"}
    with pytest.raises(DocumentError, match="holds a 'pareto' result, not 'mtd'"):
        read_document(pareto_dir / "pareto.json", DocumentKind.MTD)


def test_every_kind_of_results_folder_verifies(mtd_dir: Path, pareto_dir: Path,
                                               runner: CliRunner) -> None:
    for folder, name in ((mtd_dir, "mtd.json"), (pareto_dir, "pareto.json")):
        [report] = verify_results(folder)
        assert report.intact and report.kind == name.removesuffix(".json")
        done = runner.invoke(cli.app, ["verify", str(folder)])
        assert done.exit_code == 0, done.output
        assert f"{folder / name}: intact" in done.stdout
        kept = runner.invoke(cli.app, ["verify", str(folder), "--chain-hash",
                                       load(folder / name)["chain_hash"]])
        assert kept.exit_code == 0, kept.output


def test_an_edited_mtd_is_found_and_the_report_refuses_it(mtd_dir: Path, tmp_path: Path,
                                                           runner: CliRunner) -> None:
    folder = copy(mtd_dir, tmp_path)
    doc = load(folder / "mtd.json")
    record = records_of(doc, "MtdFound")[0]
    record["mtd"] = 1e6  # a forged MTD that would meet any target
    record["meets_target"] = True
    save(folder / "mtd.json", doc)
    [report] = verify_results(folder)
    assert [(f.kind, f.index) for f in report.findings] == [(FindingKind.EDITED, 0)]
    done = runner.invoke(cli.app, ["verify", str(folder)])
    assert done.exit_code == 1 and "TAMPERED" in done.stdout
    with pytest.raises(SimulationError, match=r"does not verify: mtd.json: record 0"):
        render_report([folder])
    assert "UNVERIFIED" in render_report([folder], unverified=True)


@pytest.mark.parametrize("attack, kind", [
    ("remove the closing record", FindingKind.REMOVED),
    ("swap two records", FindingKind.REORDERED),
    ("insert a point", FindingKind.INSERTED),
    ("edit the header", FindingKind.HEADER),
])
def test_attacks_on_a_pareto_document_are_found(pareto_dir: Path, tmp_path: Path,
                                                attack: str, kind: FindingKind) -> None:
    folder = copy(pareto_dir, tmp_path)
    doc = load(folder / "pareto.json")
    records = doc["records"]
    if attack == "remove the closing record":
        records.pop()
    elif attack == "swap two records":
        records[0], records[1] = records[1], records[0]
    elif attack == "insert a point":
        records.insert(1, {"kind": "PointEvaluated", "decisions": {"x": 1},
                           "objectives": {"cost": 0.0, "stockout_hours": 0.0},
                           "on_front": True})
    else:
        doc["scenario_hash"] = "0" * 64
    save(folder / "pareto.json", doc)
    report = verify_document(folder / "pareto.json")
    assert kind in {f.kind for f in report.findings}, report.findings


def test_a_rewritten_document_is_caught_by_the_chain_hash_kept_elsewhere(
        mtd_dir: Path, tmp_path: Path, runner: CliRunner) -> None:
    folder = copy(mtd_dir, tmp_path)
    original = load(folder / "mtd.json")
    doc = json.loads(json.dumps(original))
    records_of(doc, "MtdFound")[0]["target"] = 0.5
    rehash(doc)
    save(folder / "mtd.json", doc)
    assert verify_results(folder)[0].intact  # consistent in itself
    done = runner.invoke(cli.app, ["verify", str(folder), "--chain-hash",
                                   original["chain_hash"]])
    assert done.exit_code == 1
    assert "kept elsewhere" in done.stdout


@pytest.mark.parametrize("text, fragment", [
    ('{"format": 1, "kind": "mtd", "shocks": []}', "no list of records"),
    ('{"format": 7, "kind": "mtd", "records": []}', "unknown document format 7"),
    ('{"format": 1, "kind": "forecast", "records": []}', "unknown result kind 'forecast'"),
    ('{"shocks": [', "not valid JSON"),
])
def test_documents_that_cannot_be_verified_exit_2(tmp_path: Path, runner: CliRunner,
                                                  text: str, fragment: str) -> None:
    (tmp_path / "mtd.json").write_text(text)
    done = runner.invoke(cli.app, ["verify", str(tmp_path)])
    assert done.exit_code == 2, done.output
    assert fragment in done.stderr and "Traceback" not in done.output


def test_a_deleted_results_file_leaves_nothing_to_verify(tmp_path: Path,
                                                        runner: CliRunner) -> None:
    done = runner.invoke(cli.app, ["verify", str(tmp_path)])
    assert done.exit_code == 2
    assert "holds no results" in done.stderr


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_verify_refuses_a_named_pipe_instead_of_waiting_on_it(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "mtd.json")
    done = subprocess.run([sys.executable, "-m", "shocktwin", "verify", str(tmp_path)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "not a regular file" in done.stderr


def test_mtd_json_on_stdout_is_the_document_written(mtd_dir: Path, tmp_path: Path,
                                                    runner: CliRunner) -> None:
    scenario = mtd_dir.parent / "outage.yaml"
    done = runner.invoke(cli.app, ["mtd", str(scenario), "--json", "--out",
                                   str(tmp_path / "again")])
    assert done.exit_code in (0, 1), done.output
    printed = json.loads(done.stdout)
    written = load(tmp_path / "again" / "mtd.json")
    assert printed == written
    assert verify_results(tmp_path / "again")[0].intact
