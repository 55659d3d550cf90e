"""The CI examples are valid YAML and call commands and files that exist."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
import typer
import yaml

from shocktwin import cli
from shocktwin.scenarios import reference_scenario
from shocktwin.scenarios.suite import bundled_suite

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples" / "ci").glob("*.yml"))
#: The examples that run shocktwin (the stress gate, the quarterly review).
GATES = [p for p in EXAMPLES if p.name != "latest-releases.yml"]
#: The variables the examples set, as they set them.
ENV = {"RULES": "scenarios/reference/rules/valve_incoming.yaml", "SUITE": "quarterly_as_is",
       "HISTORY": "history/resilience.duckdb", "REVIEW": "2027-Q1"}


def _commands(doc: object) -> list[str]:
    """Every shell line of the workflow (GitHub `run:` steps, GitLab `script:` lines)."""
    out: list[str] = []
    if isinstance(doc, dict):
        for key, value in doc.items():
            if key == "run" and isinstance(value, str):
                out.append(value)
            elif key == "script" and isinstance(value, list):
                out += [v for v in value if isinstance(v, str)]
            else:
                out += _commands(value)
    elif isinstance(doc, list):
        for item in doc:
            out += _commands(item)
    return out


@pytest.mark.parametrize("path", GATES, ids=lambda p: p.name)
def test_ci_example_is_valid_and_calls_real_commands(path: Path) -> None:
    doc = yaml.safe_load(path.read_text())
    commands = [c for c in _commands(doc) if c.strip().startswith("shocktwin ")]
    assert commands, "the example runs the gate"
    for command in commands:
        for name, value in ENV.items():
            command = command.replace("${" + name + "}", value).replace("$" + name, value)
        words = shlex.split(command)
        assert words[0] == "shocktwin"
        sub = words[1]
        group = typer.main.get_command(cli.app)
        assert sub in group.commands  # type: ignore[attr-defined]
        if sub == "stress":
            assert reference_scenario(words[2]).is_file()
            assert (ROOT / ENV["RULES"]).is_file()
        if sub == "campaign":
            assert bundled_suite(words[2]) is not None
        # Every option the example passes is one the command takes.
        params = {o for p in group.commands[sub].params  # type: ignore[attr-defined]
                  for o in getattr(p, "opts", [])}
        for word in words:
            if word.startswith("--"):
                assert word in params, word


def _make_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text()
    return {line.split(":")[0] for line in text.splitlines()
            if line and not line[0].isspace() and ":" in line and "=" not in line}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_ci_examples_install_the_locked_set_or_test_the_latest(path: Path) -> None:
    commands = " ".join(_commands(yaml.safe_load(path.read_text())))
    assert "pip install -e ." not in commands
    assert "--require-hashes -r requirements.lock" in commands or "make test-latest" in commands


def test_a_scheduled_job_runs_the_newest_releases() -> None:
    github = yaml.safe_load((ROOT / "examples" / "ci" / "latest-releases.yml").read_text())
    # YAML 1.1 reads the key `on` as True
    triggers = github.get("on", github.get(True))
    assert "schedule" in triggers
    assert any("make test-latest" in c for c in _commands(github))
    gitlab = yaml.safe_load((ROOT / "examples" / "ci" / "gitlab-ci.yml").read_text())
    scheduled = [job for job in gitlab.values() if isinstance(job, dict) and any(
        "schedule" in str(rule.get("if", "")) for rule in job.get("rules", []))]
    assert scheduled and any("make test-latest" in c for c in _commands(scheduled))
    assert {"test", "test-latest", "lock", "demo"} <= _make_targets()


def _after_scripts(doc: object) -> list[str]:
    """GitLab ``after_script`` lines (run even when the script failed)."""
    out: list[str] = []
    if isinstance(doc, dict):
        for key, value in doc.items():
            if key == "after_script" and isinstance(value, list):
                out += [v for v in value if isinstance(v, str)]
            else:
                out += _after_scripts(value)
    return out


def test_a_scheduled_quarterly_review_keeps_its_history_and_publishes_the_report() -> None:
    github = yaml.safe_load((ROOT / "examples" / "ci" / "quarterly-review.yml").read_text())
    triggers = github.get("on", github.get(True))
    assert "schedule" in triggers
    steps = github["jobs"]["review"]["steps"]
    uses = [s.get("uses", "") for s in steps]
    # The history store comes from the last run and goes on to the next.
    assert any("download-artifact" in u for u in uses)
    kept = [s for s in steps if "upload-artifact" in s.get("uses", "")]
    assert any(s["with"]["path"].startswith("history") for s in kept)
    commands = _commands(github)
    campaign = next(c for c in commands if c.strip().startswith("shocktwin campaign"))
    assert "--fail-on regression" in campaign and "--history" in campaign
    assert "--junit" in campaign and "--markdown" in campaign
    report = next(c for c in commands if c.strip().startswith("shocktwin report"))
    assert "--history" in report
    assert next(s for s in steps if "shocktwin report" in s.get("run", "")).get("if") == \
        "always()"

    gitlab = yaml.safe_load((ROOT / "examples" / "ci" / "gitlab-ci.yml").read_text())
    job = gitlab["quarterly-review"]
    assert any("schedule" in str(rule.get("if", "")) for rule in job["rules"])
    assert "history/" in job["cache"]["paths"] and "history/" in job["artifacts"]["paths"]
    assert any("--fail-on regression" in c for c in _commands(job))
    assert any(c.startswith("shocktwin report") and "--history" in c
               for c in _after_scripts(job))
    assert job["artifacts"]["reports"]["junit"] == "campaign-junit.xml"
