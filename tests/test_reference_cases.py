"""The three reference cases of the quality system, run by name from the CLI: every as-is
variant is VIOLATED (exit 1) with its own replications; every prepared variant holds in all
of its own and HOLDS (exit 0) once enough replications decide it (`--until-decided`, slow
tier: ten replications that all hold only show a share above 66 %, not the 90 % required);
their figures (327 rules, 17 min, 1000 h) are read back from the journal and the bundled
files, not from what the run printed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from shocktwin import cli
from shocktwin.scenarios import load_scenario, reference_scenario

CASES = ["eda_toolchain", "column_release", "valve_backup"]
VARIANTS = [f"{case}_{variant}" for case in CASES for variant in ("as_is", "prepared")]


@pytest.fixture(scope="module")
def journals(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Each variant run once by name: its exit code, output and journal records."""
    from typer.testing import CliRunner

    runner = CliRunner()
    out: dict[str, Any] = {}
    for name in VARIANTS:
        folder = tmp_path_factory.mktemp(name) / "out"
        result = runner.invoke(cli.app, ["run", name, "--out", str(folder)])
        records = []
        if (folder / "journal.json").is_file():
            records = json.loads((folder / "journal.json").read_text())["records"]
        out[name] = (result, records)
    return out


def _of(records: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [r for r in records if r["kind"] == kind]


def _replications(records: list[dict[str, Any]]) -> int:
    return len(_of(records, "ReplicationFinished"))


@pytest.mark.parametrize("name", VARIANTS)
def test_as_is_fails_and_prepared_holds_in_every_replication(journals: dict[str, Any],
                                                             name: str) -> None:
    """With each scenario's own ten replications: an as-is variant is VIOLATED (it holds in
    none, whose interval lies far below 90 %); a prepared one holds in all ten, which shows
    a share above 66 %, not yet 90 %: UNDECIDED, exit 4 (deciding it is the slow test
    below)."""
    result, records = journals[name]
    assert "Traceback" not in result.output
    experiment = load_scenario(reference_scenario(name)).experiment
    finished = [r for r in records if r["kind"] == "RunFinished"]
    assert _replications(records) == experiment.replications
    if name.endswith("_as_is"):
        assert result.exit_code == 1, result.output
        assert "VIOLATED" in result.output and finished[0]["verdict"] == "violated"
    else:
        assert result.exit_code == 4, result.output
        assert finished[0]["verdict"] == "undecided"
        assert finished[0]["held"] == experiment.replications


@pytest.mark.slow
@pytest.mark.parametrize("name", [f"{case}_prepared" for case in CASES])
def test_each_prepared_variant_holds_once_decided(tmp_path: Path, name: str) -> None:
    """`run --until-decided`: looks at 10, 20, 40 … replications, each at the 99.17 % level
    of six planned looks; a prepared variant holds in every replication, so it is decided
    HOLDS at 80 (lower end 0.908 ≥ 0.9) — not UNDECIDED at the most allowed, not VIOLATED."""
    from typer.testing import CliRunner

    folder = tmp_path / "out"
    result = CliRunner().invoke(cli.app, ["run", name, "--out", str(folder), "--until-decided",
                                          "--executor", "process"])
    assert result.exit_code == 0, result.output
    (finished,) = [r for r in json.loads((folder / "journal.json").read_text())["records"]
                   if r["kind"] == "RunFinished"]
    assert finished["verdict"] == "holds"
    assert "until decided:" in result.output


def _bound(rules_file: Path, key: str, value: str) -> int:
    library = yaml.safe_load(rules_file.read_text())["library"]
    return sum(1 for rule in library["rules"] if rule["context"].get(key) == value)


@pytest.mark.parametrize("name", ["eda_toolchain_as_is", "eda_toolchain_prepared"])
def test_the_eda_switch_invalidates_the_327_rules_drafted_for_the_old_tool_chain(
        journals: dict[str, Any], name: str) -> None:
    _, records = journals[name]
    scenario = load_scenario(reference_scenario(name))
    assert scenario.rules is not None
    drafted = _bound(scenario.resolve(scenario.rules), "toolchain", "eda-a")
    assert drafted == 327
    invalidated = _of(records, "RulesInvalidated")
    assert len(invalidated) == _replications(records)
    for r in invalidated:
        assert (r["context"], r["old"], r["new"], r["rules"]) == ("toolchain", "eda-a",
                                                                  "eda-b", 327)
    regenerated = [r for r in _of(records, "WorkFinished") if r["work"] == "rule_regeneration"]
    assert regenerated and all(r["tasks"] == 327 for r in regenerated)


@pytest.mark.parametrize(("case", "key", "value"), [
    ("eda_toolchain", "toolchain", "eda-a"),
    ("column_release", "supplier.column", "column-a"),
    ("valve_backup", "supplier.valve", "valve-jp"),
])
def test_prepared_responds_in_17_minutes_and_is_valid_sooner(
        journals: dict[str, Any], case: str, key: str, value: str) -> None:
    """The prepared playbooks start 17 min after the event; the time to a valid quality
    system (revalidation − the shock's onset, from the journal) is shorter in every
    replication than the as-is variant's shortest."""
    def valid_hours(records: list[dict[str, Any]]) -> list[float]:
        onset = {r["replication"]: r["at_h"] for r in _of(records, "ShockStarted")}
        return [r["at_h"] - onset[r["replication"]]
                for r in _of(records, "QualitySystemRevalidated")]

    _, prepared = journals[f"{case}_prepared"]
    _, as_is = journals[f"{case}_as_is"]
    for r in _of(prepared, "ResponseStarted"):
        assert (r["at_h"] - r["event_h"]) * 60 == pytest.approx(17.0, abs=1e-6)
    assert max(valid_hours(prepared)) < min(valid_hours(as_is))
    scenario = load_scenario(reference_scenario(f"{case}_prepared"))
    assert scenario.rules is not None
    bound = _bound(scenario.resolve(scenario.rules), key, value)
    assert {r["rules"] for r in _of(prepared, "RulesInvalidated")} == {bound}


def test_eda_prepared_is_valid_within_72_hours(journals: dict[str, Any]) -> None:
    _, records = journals["eda_toolchain_prepared"]
    hours = [r["hours"] for r in _of(records, "QualitySystemRevalidated")]
    assert len(hours) == _replications(records) and max(hours) <= 72.0


def test_valve_prepared_runs_the_1000_hour_life_test(journals: dict[str, Any]) -> None:
    _, records = journals["valve_backup_prepared"]
    tests = _of(records, "LifeTestCompleted")
    assert tests and all(r["test_h"] == 1000.0 for r in tests)
    # Each test hour at 350 bar is worth (350/210)^7 hours at 210 bar (inverse power law).
    assert all(r["use_h"] == pytest.approx(1000.0 * (350 / 210) ** 7, rel=1e-9) for r in tests)
    assert sum(r["passed"] for r in tests) >= 0.9 * len(tests)
