"""Scenario files: units, the bundled scenarios, and the folder of bad inputs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from shocktwin import cli
from shocktwin.scenarios import load_scenario, reference_scenario, scenario_json_schema
from shocktwin.units import parse_duration_h, parse_rate_per_h

BAD = Path(__file__).parent / "bad_scenarios"
# Files that cannot carry an "# expect:" comment.
NO_COMMENT = {"empty.yaml": ["the file is empty"],
              "comment_only.yaml": ["holds no YAML document"],
              "not_yaml.yaml": ["not_yaml.yaml:3:8: not valid YAML"],
              "binary.yaml": ["not a text file"]}


def expectations(path: Path) -> list[str]:
    if path.name in NO_COMMENT:
        return NO_COMMENT[path.name]
    found = re.findall(r"^# expect: (.+)$", path.read_text(), flags=re.M)
    assert found, f"{path.name} has no '# expect:' line"
    return found


@pytest.mark.parametrize("path", sorted(BAD.glob("*.yaml")), ids=lambda p: p.name)
def test_bad_scenario_is_refused_with_every_problem(path: Path, runner, tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out"
    result = runner.invoke(cli.app, ["run", str(path), "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    for fragment in expectations(path):
        assert fragment in result.output, f"missing {fragment!r} in:\n{result.output}"
    assert not out.exists(), "nothing may be written for invalid input"


@pytest.mark.parametrize(("text", "hours"), [
    ("90min", 1.5), ("4h", 4.0), ("14d", 336.0), ("1d12h", 36.0), ("30s", 1 / 120),
    ("2w", 336.0), ("0.5h", 0.5), (" 3 h ", 3.0),
])
def test_durations(text: str, hours: float) -> None:
    assert parse_duration_h(text) == pytest.approx(hours)


@pytest.mark.parametrize(("text", "fragment"), [
    ("4", "needs a unit"), ("-1h", "negative"), ("5m", "unknown time unit 'm'"),
    ("h", "not a duration"), ("4h4", "not a duration"), ("1e999h", "not finite"),
])
def test_bad_durations(text: str, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        parse_duration_h(text)


def test_rates() -> None:
    assert parse_rate_per_h("25/h") == 25.0
    assert parse_rate_per_h("600/d") == 25.0
    assert parse_rate_per_h("1/90min") == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="count per time unit"):
        parse_rate_per_h("25")


BUNDLED = sorted(p.stem for p in (Path(__file__).resolve().parents[1] / "scenarios"
                                  / "reference").glob("*.yaml"))
# Scenarios replaying data that `make demo` ingests, and the rule examples.
REPLAY = sorted((Path(__file__).resolve().parents[1] / "scenarios" / "replay").glob("*.yaml"))


@pytest.mark.parametrize("name", BUNDLED)
def test_reference_scenarios_validate(name: str, runner) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(cli.app, ["validate", name])
    assert result.exit_code == 0, result.output
    assert load_scenario(reference_scenario(name)).name.replace("_", "-") in result.output


def test_same_meaning_same_hash(tmp_path: Path) -> None:
    # Units and key order do not change what a scenario means, nor its hash.
    text = reference_scenario("mmc").read_text()
    other = tmp_path / "mmc.yaml"
    other.write_text(text.replace("horizon: 20000h", "horizon: 1200000min"))
    assert load_scenario(other).content_hash() == load_scenario(
        reference_scenario("mmc")).content_hash()


def test_schema_command_prints_the_json_schema(runner) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(cli.app, ["schema", "scenario"])
    assert result.exit_code == 0
    schema = json.loads(result.output)
    assert schema == json.loads(json.dumps(scenario_json_schema()))
    assert {"version", "name", "horizon"} <= set(schema["required"])
    assert {"plant", "shop"} <= set(schema["properties"])  # one of the two, checked on load
    assert schema["properties"]["horizon"]["type"] == "string"


def test_schema_accepts_the_bundled_scenarios() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    import yaml

    schema = scenario_json_schema()
    assert {"demo_plant", "mmc", "valve_quake", "regulation_change"} <= set(BUNDLED)
    for path in [*(reference_scenario(name) for name in BUNDLED), *REPLAY]:
        data = yaml.safe_load(path.read_text())
        jsonschema.validate(data, schema)


@pytest.mark.parametrize("path", REPLAY, ids=lambda p: p.stem)
def test_replay_scenarios_validate(path: Path, runner) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(cli.app, ["validate", str(path)])
    if (path.parent / "../../out/demo/plant.duckdb").is_file():
        assert result.exit_code == 0, result.output
    else:  # a run needs the store `make demo` ingests, so validate refuses without it
        assert result.exit_code == 2, result.output
        assert "out/demo/plant.duckdb" in result.stderr and "does not exist" in result.stderr


def test_a_scenario_never_changes_once_built(tmp_path: Path) -> None:
    """Where a scenario reads its files from, its source and its rule sets are set on a
    fresh copy, never on a scenario someone already holds."""
    import pydantic

    sc = load_scenario(reference_scenario("valve_quality"))
    before = (sc.resolve("x.csv"), sc.rule_files(), sc.source_file, sc.binding)
    moved = sc.with_base_dir(tmp_path)
    assert moved is not sc and moved.resolve("x.csv") == tmp_path.resolve() / "x.csv"
    assert (sc.resolve("x.csv"), sc.rule_files(), sc.source_file, sc.binding) == before
    assert moved.rule_files() == sc.rule_files()  # what was loaded with it comes along
    with pytest.raises(pydantic.ValidationError):
        sc.horizon = 1.0  # type: ignore[misc]
