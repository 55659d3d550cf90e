"""The `rules` commands: bad rule files refused with every problem, lint exit codes, show."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from shocktwin.cli.rules import (
    EXIT_CLEAN,
    EXIT_FINDINGS,
    EXIT_INVALID,
    print_rules_schema,
    rules_app,
    schema_rules,
)
from shocktwin.rules_engine.ruleset import rules_json_schema

HERE = Path(__file__).parent
BAD = HERE / "bad_rules"
RULES = HERE / "examples"
# Files that cannot carry an "# expect:" comment.
NO_COMMENT = {"empty.yaml": ["empty.yaml: the file is empty"]}


def expectations(path: Path) -> list[str]:
    if path.name in NO_COMMENT:
        return NO_COMMENT[path.name]
    found = re.findall(r"^# expect: (.+)$", path.read_text(), flags=re.M)
    assert found, f"{path.name} has no '# expect:' line"
    return found


@pytest.mark.parametrize("path", sorted(BAD.glob("*.yaml")), ids=lambda p: p.name)
def test_bad_rule_file_is_refused_with_every_problem(path: Path, runner: CliRunner) -> None:
    result = runner.invoke(rules_app, ["lint", str(path)])
    assert result.exit_code == EXIT_INVALID, result.output
    assert "Traceback" not in result.output
    assert result.stdout == "", "problems go to stderr"
    for fragment in expectations(path):
        assert fragment in result.output, f"missing {fragment!r} in:\n{result.output}"
    # One line per problem, each saying where.
    for line in result.output.splitlines():
        assert line.startswith(f"error: {path}"), line


def test_bad_rules_folder_covers_the_hostile_cases() -> None:
    names = {p.stem for p in BAD.glob("*.yaml")}
    assert {"hostile_import", "hostile_dunder", "hostile_power", "hostile_long",
            "hostile_deep", "unknown_aql", "unknown_level", "lsl_above_usl",
            "unknown_action", "duplicate_key", "duration_without_unit"} <= names


# --------------------------------------------------------------------------- lint


BUNDLED_RULES = HERE.parents[1] / "scenarios" / "reference" / "rules"


@pytest.mark.parametrize(("rules", "scenario"), [
    ("valve_incoming", "valve_quality"), ("valve_incoming", "valve_earthquake"),
    ("column_incoming", "column_discontinued"), ("photoresist", "photoresist_switch"),
    ("valve_regulation_2027", "regulation_change")])
def test_a_bundled_rule_set_lints_clean_against_its_scenario(rules: str, scenario: str,
                                                            runner: CliRunner) -> None:
    result = runner.invoke(rules_app, ["lint", str(BUNDLED_RULES / f"{rules}.yaml"),
                                       "--scenario", scenario])
    assert result.exit_code == EXIT_CLEAN, result.output
    assert "0 errors, 0 warnings" in result.output


@pytest.mark.parametrize("scenario", [[], ["--scenario", "demo_plant"]])
def test_lint_fails_a_rule_set_that_loading_refuses(scenario: list[str],
                                                     runner: CliRunner) -> None:
    """strict.yaml asks for stop_line, which the twin does not carry out, and reads a KPI it
    does not measure: loading it into a scenario refuses it, so lint fails it too, with or
    without a plant."""
    result = runner.invoke(rules_app, ["lint", str(RULES / "strict.yaml"), *scenario])
    assert result.exit_code == EXIT_FINDINGS, result.output
    assert "the twin does not carry out 'stop_line' actions" in result.output
    assert "[not-in-twin]" in result.output


def write_rules(tmp_path: Path, when: str) -> Path:
    path = tmp_path / "r.yaml"
    path.write_text(
        "version: 1\nname: r\nplans:\n  - {material: valve, sampling: {aql: 1.0}}\n"
        "triggers:\n"
        f"  - id: t\n    when: {when}\n    then: [{{type: tighten, material: valve}}]\n")
    return path


def test_lint_findings_exit_1(tmp_path: Path, runner: CliRunner) -> None:
    path = write_rules(tmp_path, "supplier.cpk < 1 and supplier.cpk > 2")
    result = runner.invoke(rules_app, ["lint", str(path)])
    assert result.exit_code == EXIT_FINDINGS
    assert (f"error: {path}:7: triggers[0].when: can never be true: supplier.cpk would have "
            "to be > 2 and < 1 [never-true]") in result.output
    assert "lint failed" in result.output


def test_lint_json(tmp_path: Path, runner: CliRunner) -> None:
    path = write_rules(tmp_path, "2 > 1")
    result = runner.invoke(rules_app, ["lint", str(path), "--json"])
    assert result.exit_code == EXIT_FINDINGS
    report = json.loads(result.stdout)
    assert report["valid"] is True and report["clean"] is False
    (finding,) = report["findings"]
    assert finding == {"severity": "warning", "code": "always-true", "file": str(path),
                       "line": 7, "path": "triggers[0].when",
                       "message": finding["message"]}
    clean = runner.invoke(rules_app, ["lint", str(RULES / "baseline.yaml"), "--json"])
    assert clean.exit_code == EXIT_CLEAN
    assert json.loads(clean.stdout) == {"file": str(RULES / "baseline.yaml"), "valid": True,
                                        "clean": True, "findings": []}


def test_lint_json_of_an_invalid_file(runner: CliRunner) -> None:
    path = BAD / "unknown_aql.yaml"
    result = runner.invoke(rules_app, ["lint", str(path), "--json"])
    assert result.exit_code == EXIT_INVALID
    report = json.loads(result.stdout)
    assert report["valid"] is False
    (problem,) = report["problems"]
    assert (problem["line"], problem["path"]) == (7, "plans[0].sampling.aql")


def test_lint_with_a_bad_scenario_is_invalid_input(tmp_path: Path, runner: CliRunner) -> None:
    result = runner.invoke(rules_app, ["lint", str(RULES / "baseline.yaml"), "--scenario",
                                       str(tmp_path / "missing.yaml")])
    assert result.exit_code == EXIT_INVALID
    assert "missing.yaml: no such file" in result.output


def test_lint_against_a_scenario_finds_unknown_stations(tmp_path: Path,
                                                        runner: CliRunner) -> None:
    path = tmp_path / "r.yaml"
    path.write_text("version: 1\nname: r\nplans:\n  - {material: valve, station: paint, "
                    "sampling: full}\n")
    result = runner.invoke(rules_app, ["lint", str(path), "--scenario", "valve_quake"])
    assert result.exit_code == EXIT_FINDINGS
    assert (f"error: {path}:4: plans[0].station: scenario 'valve-quake' has no station "
            "'paint' (stations: iqc, assembly, release) [unknown-station]") in result.output


# --------------------------------------------------------------------------- show


def test_show_prints_the_compiled_plans(runner: CliRunner) -> None:
    result = runner.invoke(rules_app, ["show", str(RULES / "baseline.yaml")])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "plan valve at iqc: single sampling, level II, AQL 1.0, z14 switching" in out
    # Table I row 501-1200 at level II is J: 80/2/3 normal, 80/1/2 tightened, 32/1/3 reduced.
    row = next(line for line in out.splitlines() if "501–1,200" in line)
    assert re.search(r"\bJ\b.*\b80/2/3\b.*\b80/1/2\b.*\b32/1/3\b", row), row
    assert "incapable-and-late [valve]: when supplier.cpk < 1.33 and supplier.otd < 0.92 " \
           "for 60d → tighten material=valve, inspect_full material=valve lots=5" in out


def test_show_for_given_lot_sizes_json(runner: CliRunner) -> None:
    result = runner.invoke(rules_app, ["show", str(RULES / "weakened.yaml"), "--lot-size",
                                       "1000", "--lot-size", "5000", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    valve = next(p for p in data["plans"] if p["material"] == "valve")
    assert valve["skip_lot"] == {"inspect": 1, "of": 4, "after_accepted": 10}
    lot_1000, lot_5000 = valve["compiled"]
    # Published Z1.4 cells: J @ 2.5 normal 80/5/6; L @ 2.5 normal 200/10/11.
    assert (lot_1000["code_letter"], lot_1000["normal"]["n"], lot_1000["normal"]["ac"],
            lot_1000["normal"]["re"]) == ("J", 80, 5, 6)
    assert (lot_5000["code_letter"], lot_5000["normal"]["n"], lot_5000["normal"]["ac"],
            lot_5000["normal"]["re"]) == ("L", 200, 10, 11)
    assert data["triggers"][0]["for"] == "1440.0h"


def test_show_full_inspection_has_no_table(runner: CliRunner) -> None:
    result = runner.invoke(rules_app, ["show", str(RULES / "strict.yaml"), "--json"])
    data = json.loads(result.stdout)
    housing = next(p for p in data["plans"] if p["material"] == "housing")
    assert housing["compiled"] == []
    assert len(next(p for p in data["plans"] if p["material"] == "valve")["compiled"]) == 15


@pytest.mark.parametrize("lot", ["1", "0"])
def test_show_refuses_a_lot_below_two(lot: str, runner: CliRunner) -> None:
    result = runner.invoke(rules_app, ["show", str(RULES / "baseline.yaml"), "--lot-size", lot])
    assert result.exit_code == EXIT_INVALID
    assert result.stdout == ""
    assert f"error: lot_size: lot size must be a whole number of at least 2, got {lot}" \
        in result.output


def test_show_of_an_invalid_file(runner: CliRunner) -> None:
    result = runner.invoke(rules_app, ["show", str(BAD / "unknown_level.yaml")])
    assert result.exit_code == EXIT_INVALID
    assert "unknown inspection level 'IV'" in result.output


# --------------------------------------------------------------------------- mounting, help


def mounted_app() -> typer.Typer:
    """An app wired the way shocktwin.cli.app mounts these commands."""
    app = typer.Typer(no_args_is_help=True, add_completion=False)
    schema_app = typer.Typer(no_args_is_help=True)
    app.add_typer(schema_app, name="schema")
    app.add_typer(rules_app, name="rules")
    schema_app.command("rules")(print_rules_schema)
    return app


def test_mounted_commands_and_schema(runner: CliRunner) -> None:
    app = mounted_app()
    result = runner.invoke(app, ["schema", "rules"])
    assert result.exit_code == 0
    assert json.loads(result.stdout) == json.loads(json.dumps(schema_rules()))
    assert schema_rules() == rules_json_schema()
    result = runner.invoke(app, ["rules", "lint", str(BUNDLED_RULES / "valve_incoming.yaml")])
    assert result.exit_code == EXIT_CLEAN, result.output


@pytest.mark.parametrize("command", [[], ["lint"], ["show"]])
def test_every_command_has_help(command: list[str], runner: CliRunner) -> None:
    result = runner.invoke(rules_app, [*command, "--help"])
    assert result.exit_code == 0
    assert "Show this message and exit." in result.output
    for name in ("lint", "show"):
        if not command:
            assert name in result.output
    if command:
        doc = {"lint": "Check a rule-set file", "show": "Summarise a rule set"}[command[0]]
        assert doc in result.output
