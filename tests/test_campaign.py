"""shocktwin campaign: a review end to end through the CLI, resume without running anything
twice, regressions against the previous review, JUnit and Markdown, and bad input (each
refused with file, line and reason, exit 2, nothing written)."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml

from shocktwin import cli
from shocktwin.twin.resilience.history import History

BAD = Path(__file__).parent / "bad_campaigns"

# A small plant: stock covers a supplier outage of a day or two, so the MTD of the outage
# lies inside the range and the baseline holds in every replication.
TINY: dict[str, Any] = {
    "version": 1, "name": "tiny-plant", "horizon": "8d", "warmup": "1d",
    "plant": {
        "suppliers": [{"id": "sup", "material": "part", "lot_size": 500, "defect_rate": 0.01,
                       "lead_time": {"dist": "lognormal", "median": "2d", "sigma": 0.3}}],
        "buffers": [{"id": "stock", "material": "part", "initial": 1500,
                     "reorder_point": 900}],
        "stations": [
            {"id": "iqc", "kind": "inspection", "inspectors": 1, "time_per_unit": "2min",
             "detection": 0.9, "false_reject": 0.01},
            {"id": "work", "servers": 2, "mtbf": "20h", "mttr": "1h",
             "process_time": {"dist": "gamma", "mean": "5min", "cv": 0.5}},
            {"id": "release", "kind": "release", "sla": "4h"}],
        "routing": ["iqc", "work", "release"],
        "demand": {"rate": "15/h", "due_in": "1d"}},
    "shocks": [{"id": "outage", "type": "supplier_outage", "target": "sup", "start": "3d",
                "duration": "1d"}],
    "hypothesis": {"probability": 0.75, "tolerances": [{"kpi": "otd", "min": 0.95}],
                   "recovery": {"within": "3d"}},
    "mtd": {"shocks": [{"shock": "outage", "low": "1h", "high": "4d", "resolution": "8h",
                        "target": "1d"}],
            "replications": 5, "max_replications": 5, "scan": 1},
    "experiment": {"replications": 4, "seed": 3},
}


def write_suite(folder: Path, *, reorder_point: int = 900, **entry: Any) -> Path:
    plant = json.loads(json.dumps(TINY))
    plant["plant"]["buffers"][0]["reorder_point"] = reorder_point
    (folder / "tiny.yaml").write_text(yaml.safe_dump(plant, sort_keys=False))
    suite = {"version": 1, "name": "tiny-review", "review_interval": "91d",
             "regression": {"mtd": 0.1},
             "entries": [{"label": "tiny", "scenario": "tiny.yaml", "shocks": ["outage"],
                          "guarantee": 0.5,
                          "mitigations": [{"name": "safety stock +1000", "cost": 12000,
                                           "shocks": ["outage"]}], **entry}]}
    path = folder / "suite.yaml"
    path.write_text(yaml.safe_dump(suite, sort_keys=False))
    return path


def campaign(runner: Any, suite: Path, out: Path, history: Path, review: str,
             *extra: str) -> Any:
    return runner.invoke(cli.app, ["campaign", str(suite), "--review", review, "--history",
                                   str(history), "--out", str(out), *extra])


def document(out: Path) -> dict[str, Any]:
    return json.loads((out / "campaign.json").read_text())


def finished(out: Path) -> dict[str, Any]:
    return next(r for r in document(out)["records"] if r["kind"] == "CampaignFinished")


def test_a_review_end_to_end(runner, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    suite = write_suite(tmp_path)
    out, history = tmp_path / "out", tmp_path / "history.duckdb"
    junit, md = tmp_path / "junit.xml", tmp_path / "summary.md"
    result = campaign(runner, suite, out, history, "2027-Q1", "--junit", str(junit),
                      "--markdown", str(md))
    assert result.exit_code in (0, 1), result.output
    assert "Traceback" not in result.output
    # The baseline run is a normal results folder; the searches are an mtd.json.
    assert (out / "tiny" / "run" / "journal.json").is_file()
    mtd = json.loads((out / "tiny" / "mtd" / "mtd.json").read_text())
    verified = runner.invoke(cli.app, ["verify", str(out)])
    assert verified.exit_code == 0, verified.output
    rows = History(history).results("2027-Q1")
    keys = {r.key for r in rows}
    assert ("tiny", "", "hypothesis_share") in keys
    assert {("tiny", "outage", i) for i in ("mtd", "recovery_guarantee", "robustness_pct",
                                            "ttr_p50_h", "ttr_p90_h")} <= keys
    by = {r.indicator: r for r in rows if r.shock == "outage"}
    found = next(r for r in mtd["records"] if r["kind"] == "MtdFound")
    # The history's MTD is the search's, in hours, against its target (1d = 24 h).
    assert by["mtd"].target == 24.0 and by["mtd"].unit == "h"
    if isinstance(found["mtd"], float):
        assert by["mtd"].value == found["mtd"]
        assert by["mtd"].status == ("passed" if found["mtd"] >= 24.0 else "failed")
    assert by["recovery_guarantee"].target == 0.5
    assert json.loads(by["mtd"].detail)["mitigations"][0]["cost"] == 12000
    # The baseline's share is the journal's held / n; every row names the scenario's hashes.
    journal = json.loads((out / "tiny" / "run" / "journal.json").read_text())
    base = next(r for r in rows if r.indicator == "hypothesis_share")
    assert base.replications == journal["replications"] == 4
    assert base.scenario_hash == journal["scenario_hash"]
    assert all(r.rules_hash and r.engine == "simpy" and r.version for r in rows)
    # The score is stored with its components and printed.
    (review,) = History(history).reviews()
    parts = review.score_components
    assert parts["passed"] + parts["failed"] + parts["undecided"] + parts["not_rerun"] == \
        parts["tests"]
    assert "portfolio resilience score" in result.output
    # JUnit: one test case per test with a target; the Markdown names the review.
    suite_xml = ET.fromstring(junit.read_text())
    assert int(suite_xml.get("tests", "0")) == sum(
        r.status in ("passed", "failed", "undecided", "not_converged") for r in rows)
    assert "Resilience review 2027-Q1" in md.read_text()
    # The report over the campaign folder and the history: the folders' readings are the
    # history's (keyed by the entry's label), not counted again under the scenario's name.
    page = tmp_path / "report.html"
    made = runner.invoke(cli.app, ["report", str(out), "--history", str(history), "-o",
                                   str(page)])
    assert made.exit_code == 0, made.output
    html = page.read_text()
    assert "tiny [run]" in html and "tiny [mtd]" in html
    assert f"{TINY['name']} [run]" not in html


def test_resume_runs_nothing_twice(runner, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from shocktwin.twin.resilience.campaign import run_campaign

    suite = write_suite(tmp_path)
    whole = tmp_path / "whole"
    campaign(runner, suite, whole, tmp_path / "h1.duckdb", "R1")
    total = finished(whole)["runs_computed"]
    assert total > 4 and finished(whole)["runs"] == total

    # Interrupted once the baseline run is done: then resumed.
    cut = tmp_path / "cut"

    def stop(task: str, done: int, steps: int) -> None:
        if task == "tiny: outage" and done >= 5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_campaign(suite, review="R1", history=tmp_path / "h2.duckdb", out=cut,
                     progress=stop)
    assert not (tmp_path / "h2.duckdb").exists()  # nothing half-written into the history
    before = len((cut / "runs.jsonl").read_text().splitlines())
    resumed = campaign(runner, suite, cut, tmp_path / "h2.duckdb", "R1", "--resume")
    assert resumed.exit_code in (0, 1), resumed.output
    # The baseline run is not run again; the search's finished runs are not repeated.
    assert finished(cut)["runs_computed"] == total - 4 - before
    keys = [json.loads(line)["key"] for line in (cut / "runs.jsonl").read_text().splitlines()]
    assert len(keys) == len(set(keys))
    # Resumed again with --replace: nothing computed, and no row twice in the history.
    again = campaign(runner, suite, cut, tmp_path / "h2.duckdb", "R1", "--resume",
                     "--replace")
    assert again.exit_code in (0, 1), again.output
    assert finished(cut)["runs_computed"] == 0
    assert finished(cut)["runs"] == total  # the runs it needed, all taken from the folder
    rows = History(tmp_path / "h2.duckdb").results()
    assert len(rows) == len({(r.review, *r.key) for r in rows}) == len(
        History(tmp_path / "h1.duckdb").results())


def test_a_regression_against_the_previous_review_fails(runner, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    history = tmp_path / "history.duckdb"
    first = campaign(runner, write_suite(tmp_path), tmp_path / "q1", history, "2027-Q1")
    assert first.exit_code in (0, 1), first.output
    # Stock reordered later: the outage the plant tolerates gets shorter, beyond the 10 %
    # tolerance.
    junit = tmp_path / "junit.xml"
    second = campaign(runner, write_suite(tmp_path, reorder_point=300), tmp_path / "q2", history,
                      "2027-Q2", "--fail-on", "regression", "--junit", str(junit))
    assert second.exit_code == 1, second.output
    assert "REGRESSION tiny outage mtd" in second.output
    done = finished(tmp_path / "q2")
    assert done["previous_review"] == "2027-Q1" and done["regressions"]
    assert "regression: tiny outage mtd" in junit.read_text()
    # The two reviews compare key for key.
    from shocktwin.twin.resilience.history import compare

    pairs = compare(history, "2027-Q1", "2027-Q2")
    assert all(p.a is not None and p.b is not None for p in pairs)
    mtd = next(p for p in pairs if p.key == ("tiny", "outage", "mtd"))
    assert mtd.direction == "worse"
    # The first review run again in its place keeps its place: nothing is computed again and
    # the second still compares with it.
    again = campaign(runner, write_suite(tmp_path), tmp_path / "q1", history, "2027-Q1",
                     "--resume", "--replace")
    assert again.exit_code in (0, 1), again.output
    assert finished(tmp_path / "q1")["runs_computed"] == 0
    assert [r.review for r in History(history).reviews()] == ["2027-Q1", "2027-Q2"]
    assert History(history).previous_review("2027-Q2") == "2027-Q1"


def test_an_existing_review_is_refused_without_replace(runner, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from shocktwin.edge_replay.history import write_review

    history = tmp_path / "history.duckdb"
    write_review(history, {"review": "R1", "suite": "tiny-review"}, [], replace=False,
                 created_by="test")
    out = tmp_path / "out"
    result = campaign(runner, write_suite(tmp_path), out, history, "R1")
    assert result.exit_code == 2, result.output
    assert "review 'R1' is already in the history; give --replace" in result.output
    assert not out.exists()


def test_a_history_of_another_schema_version_is_refused(runner, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import duckdb

    history = tmp_path / "history.duckdb"
    con = duckdb.connect(str(history))
    con.execute("CREATE TABLE meta(key VARCHAR PRIMARY KEY, value VARCHAR)")
    con.execute("INSERT INTO meta VALUES ('schema_version', '7')")
    con.close()
    out = tmp_path / "out"
    result = campaign(runner, write_suite(tmp_path), out, history, "R1")
    assert result.exit_code == 2, result.output
    assert "history store schema version '7'; this shocktwin reads version 1" in result.output
    assert not out.exists()


def test_a_bad_review_label_is_refused(runner, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = campaign(runner, write_suite(tmp_path), tmp_path / "out", tmp_path / "h.duckdb",
                      "Q1 review")
    assert result.exit_code == 2 and "a review label is" in result.output
    assert not (tmp_path / "out").exists() and not (tmp_path / "h.duckdb").exists()


def _expectations(path: Path) -> list[str]:
    found = re.findall(r"^# expect: (.+)$", path.read_text(), flags=re.M)
    assert found, f"{path.name} has no '# expect:' line"
    return found


@pytest.mark.parametrize("path", sorted(BAD.glob("*.yaml")), ids=lambda p: p.name)
def test_bad_suite_is_refused_with_every_problem(path: Path, runner, tmp_path) -> None:  # type: ignore[no-untyped-def]
    out, history = tmp_path / "out", tmp_path / "history.duckdb"
    result = campaign(runner, path, out, history, "R1")
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    for fragment in _expectations(path):
        assert fragment in result.output, f"missing {fragment!r} in:\n{result.output}"
    assert not out.exists() and not history.exists(), "nothing may be written for bad input"
