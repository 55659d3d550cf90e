"""Files named in other files stay inside the allowed folders, and nothing of a file reached
by reference is quoted (issue 15, items 7 and 8).

A scenario's ``rules``, a rule set's ``load_rules`` and a backup supplier's ``failures`` may
lead only into the scenario's folder (links resolved) or a folder the caller allows; a
reference elsewhere is refused by its key and line without opening the file. Failure tables
and model files are read only when they are regular files, so a pipe or /dev/zero is refused
at once instead of hanging the load.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from shocktwin.errors import RuleError, ScenarioError
from shocktwin.rules_engine.failures import load_failures
from shocktwin.rules_engine.lint import LintCode, lint_file
from shocktwin.scenarios import load_scenario, reference_scenario

SECRET = "SECRET_7f3a_do_not_print"
BUNDLED = ["column_discontinued", "valve_earthquake", "photoresist_switch", "regulation_change",
           "valve_quake", "valve_disruptions", "demo_plant", "mmc"]


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A copy of the bundled valve-earthquake scenario (its rules and failures beside it) in
    ``tmp_path/sc``, and files with a secret line outside that folder."""
    reference = Path(str(reference_scenario("valve_earthquake"))).parent
    folder = tmp_path / "sc"
    folder.mkdir()
    shutil.copy(reference / "valve_earthquake.yaml", folder / "plant.yaml")
    shutil.copytree(reference / "rules", folder / "rules")
    shutil.copytree(reference / "failures", folder / "failures")
    (tmp_path / "outside.yaml").write_text(f"version: 1\nname: x\n{SECRET}: [: bad\n")
    (tmp_path / "outside.csv").write_text("material,characteristic,severity,occurrence,"
                                          f"detection\nvalve,{SECRET},9,9,x{SECRET}\n")
    return folder


def scenario(folder: Path, *, rules: str | None = None, failures: str | None = None,
             name: str = "plant.yaml") -> Path:
    text = (folder / "plant.yaml").read_text()
    if rules is not None:
        text = text.replace("rules: rules/valve_incoming.yaml", f"rules: {rules}")
    if failures is not None:
        text = text.replace("failures: failures/valve_kr.csv", f"failures: {failures}")
    path = folder / name
    path.write_text(text)
    return path


def trigger(name: str, file: str) -> str:
    """A trigger appended to a rule file's ``triggers`` list that loads ``file``."""
    return (f"  - id: {name}\n    when: lot.rejected_in_last_5 >= 4\n    then:\n"
            f"      - {{type: load_rules, file: {file}}}\n")


def cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "shocktwin", *map(str, args)],
                          capture_output=True, text=True, timeout=300)


def refused(path: Path, **kwargs: object) -> ScenarioError:
    with pytest.raises(ScenarioError) as e:
        load_scenario(path, **kwargs)  # type: ignore[arg-type]
    assert SECRET not in str(e.value)
    return e.value


# --------------------------------------------------------------------------- outside


@pytest.mark.parametrize("command", ["validate", "run"])
@pytest.mark.parametrize("rules", ["/etc/passwd", "../outside.yaml"])
def test_a_rule_file_outside_the_scenario_folder_is_refused_by_the_cli(
        site: Path, command: str, rules: str) -> None:
    path = scenario(site, rules=rules, name="bad.yaml")
    result = cli(command, path)
    out = result.stdout + result.stderr
    assert result.returncode == 2, out
    assert "outside the allowed folders" in out
    assert f"bad.yaml:{_line_of(path, 'rules:')}: rules:" in out
    assert SECRET not in out and "root:" not in out and "Traceback" not in out


def _line_of(path: Path, start: str) -> int:
    lines = path.read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if line.startswith(start))


def test_a_failure_table_outside_the_scenario_folder_is_refused(site: Path) -> None:
    path = scenario(site, failures="../outside.csv")
    (problem,) = refused(path).problems
    assert problem.path == "plant.suppliers[1].failures"
    assert problem.line == _line_of(path, "       failures:")
    assert "outside the allowed folders" in problem.message
    result = cli("validate", path)
    assert result.returncode == 2 and SECRET not in result.stdout + result.stderr


def test_load_rules_in_a_rule_set_cannot_lead_outside(site: Path) -> None:
    rules = site / "rules" / "valve_incoming.yaml"
    rules.write_text(rules.read_text() + trigger("escape", "../../outside.yaml"))
    (problem,) = refused(site / "plant.yaml").problems
    assert problem.file is not None and Path(problem.file).name == "valve_incoming.yaml"
    assert problem.path == "triggers[1].then[0].file"
    assert problem.line == _line_of(rules, "      - {type: load_rules")
    assert "outside the allowed folders" in problem.message
    # rules lint reads it from the rule file's folder, and refuses the same way.
    findings = lint_file(rules)
    assert [f.code for f in findings if f.path == "triggers[1].then[0].file"] == [
        LintCode.OUTSIDE_FOLDERS]
    assert SECRET not in "\n".join(map(str, findings))


def test_a_link_inside_the_folder_that_points_outside_is_outside(site: Path) -> None:
    os.symlink(site.parent / "outside.yaml", site / "rules" / "link.yaml")
    (problem,) = refused(scenario(site, rules="rules/link.yaml")).problems
    assert "outside the allowed folders" in problem.message


def test_an_allowed_root_admits_a_reference_outside_the_folder(site: Path) -> None:
    shared = site.parent / "shared"
    shutil.copytree(site / "rules", shared)
    shutil.copy(site / "failures" / "valve_kr.csv", shared / "kr.csv")
    path = scenario(site, rules="../shared/valve_incoming.yaml", failures="../shared/kr.csv")
    refused(path)
    sc = load_scenario(path, allowed_roots=[shared])
    assert sc.binding.allowed_roots == (shared.resolve(),)
    assert sc.drafted_rules("valve-kr") is not None
    # A link into an allowed folder is admitted: it is where the link leads that counts.
    os.symlink(shared / "valve_incoming.yaml", site / "linked.yaml")
    load_scenario(scenario(site, rules="linked.yaml"), allowed_roots=[shared])


def test_the_stress_gate_reads_the_candidate_it_was_given(site: Path) -> None:
    """The candidate is named by the caller, not by a file: it is read where it is, and
    what it loads may lie beside it."""
    from shocktwin.twin.resilience.stress import scenario_with_rules

    candidate = site.parent / "candidate"
    shutil.copytree(site / "rules", candidate)
    main = candidate / "valve_incoming.yaml"
    main.write_text(main.read_text() + trigger("regulation", "valve_regulation_2027.yaml"))
    sc = scenario_with_rules(load_scenario(site / "plant.yaml"), main)
    assert str((candidate / "valve_regulation_2027.yaml").resolve()) in sc.binding.rulesets


# --------------------------------------------------------------------------- quoting


def test_a_referenced_file_inside_the_folder_is_reported_without_its_text(site: Path) -> None:
    (site / "broken.yaml").write_text(f"version: 1\nname: x\n{SECRET}: [: bad\n")
    (site / "unknown.yaml").write_text(
        (site / "rules" / "valve_incoming.yaml").read_text() + f"{SECRET}: 1\n")
    (site / "cells.csv").write_text("material,characteristic,severity,occurrence,detection,"
                                    f"{SECRET}\nvalve,seal,9,9,x{SECRET},1\n")
    for path, line in [(scenario(site, rules="broken.yaml", name="a.yaml"), 3),
                       (scenario(site, rules="unknown.yaml", name="b.yaml"), 19),
                       (scenario(site, failures="cells.csv", name="c.yaml"), 1)]:
        problems = refused(path).problems
        assert any(p.line == line for p in problems), problems
        result = cli("validate", path)
        assert result.returncode == 2 and SECRET not in result.stdout + result.stderr
    # Named on its own, a file is the user's own input, and its problems say everything.
    with pytest.raises(RuleError, match=f"(?i){SECRET}"):
        load_failures(site / "cells.csv")


def test_bundled_scenarios_still_validate() -> None:
    result = cli("validate", *BUNDLED)
    assert result.returncode == 0, result.stdout + result.stderr


# --------------------------------------------------------------------------- not regular


_LOAD = {
    "failures": "from shocktwin.rules_engine.failures import load_failures as f",
    "model": "from shocktwin.rules_engine.ai_inspection import load_inspection_model as f",
}


@pytest.mark.parametrize("what", ["fifo", "zero"])
@pytest.mark.parametrize("loader", sorted(_LOAD))
def test_a_pipe_or_a_device_is_refused_at_once(tmp_path: Path, what: str, loader: str) -> None:
    suffix = ".csv" if loader == "failures" else ".onnx"
    path = tmp_path / f"table{suffix}"
    if what == "fifo":
        os.mkfifo(path)  # nobody ever writes: a reader that opens it waits for ever
    else:
        os.symlink("/dev/zero", path)  # never ends
    code = (f"{_LOAD[loader]}\nfrom shocktwin.errors import RuleError\n"
            f"try:\n    f({str(path)!r})\nexcept RuleError as e:\n    print('refused:', e)\n")
    try:
        result = subprocess.run([sys.executable, "-c", code], capture_output=True,
                                text=True, timeout=120)
    except subprocess.TimeoutExpired:
        pytest.fail(f"loading {what} as {loader} did not return")
    assert result.returncode == 0, result.stderr
    assert "refused:" in result.stdout and "not a regular file" in result.stdout


def test_allow_root_on_the_command_line_admits_a_shared_rules_folder(site: Path) -> None:
    shared = site.parent / "shared"
    shutil.copytree(site / "rules", shared)
    shutil.copy(site / "failures" / "valve_kr.csv", shared / "kr.csv")
    path = scenario(site, rules="../shared/valve_incoming.yaml", failures="../shared/kr.csv")
    assert cli("validate", path).returncode == 2
    allowed = cli("validate", path, "--allow-root", shared)
    assert allowed.returncode == 0, allowed.stderr
    ran = cli("run", path, "-n", "1", "--allow-root", shared)
    assert ran.returncode in (0, 1, 4), ran.stderr
    linted = cli("rules", "lint", site / "rules" / "valve_incoming.yaml", "--scenario", path,
                 "--allow-root", shared)
    assert linted.returncode in (0, 1), linted.stdout + linted.stderr
    assert "outside the allowed folders" not in linted.stdout + linted.stderr
