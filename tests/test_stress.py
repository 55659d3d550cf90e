"""The stress gate: a weakened rule set fails it, a stricter one passes, and a candidate the
scenario cannot tell from the baseline is reported as not tested, never as passed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import records_of

from shocktwin import cli
from shocktwin.errors import ScenarioError
from shocktwin.reports.gate import junit_xml, markdown_summary
from shocktwin.scenarios import load_scenario, reference_scenario
from shocktwin.twin.journal.verify import verify_results
from shocktwin.twin.resilience.mtd import RunStore
from shocktwin.twin.resilience.stress import (
    ScenarioComparison,
    StressReport,
    UntestedPolicy,
    compare_rules,
)

SCENARIO = reference_scenario("valve_quality")
RULES = SCENARIO.parent / "rules"
BASELINE = RULES / "valve_incoming.yaml"


@pytest.fixture(scope="module")
def store() -> RunStore:
    # One store for the module: the baseline's runs are computed once and reused.
    return RunStore(None, resume=False)


def small():  # type: ignore[no-untyped-def]
    """The bundled scenario with 10 replications, for speed."""
    sc = load_scenario(SCENARIO)
    return sc.model_copy(update={
        "mtd": sc.mtd.model_copy(update={"replications": 10, "max_replications": 10}),
        "experiment": sc.experiment.model_copy(update={"replications": 10})})


def gate(candidate, store, tolerance: float = 0.1,  # type: ignore[no-untyped-def]
         baseline: Path = BASELINE):
    return compare_rules([(str(SCENARIO), small())], baseline, candidate,
                         tolerance=tolerance, store=store)


def two_materials(folder: Path, name: str, housing_aql: str, extra: str = "") -> Path:
    """A rule set for valves (as the baseline's) and housings, which the valve scenario's
    plant does not stock; the housing plan names a station the plant does not have."""
    path = folder / f"{name}.yaml"
    path.write_text(BASELINE.read_text().replace("name: valve-incoming", f"name: {name}")
                    .replace("triggers:", f"""  - material: housing
    station: iqc-housing
    sampling: {{method: single, level: II, aql: {housing_aql}, switching: z14}}
triggers:""") + extra)
    return path


def test_a_weakened_candidate_fails_the_gate(store) -> None:
    # AQL 2.5 instead of 1.0, and skip-lot: escapes pass 20,000 ppm at a drift the
    # baseline absorbs over the whole range.
    report = gate(RULES / "valve_incoming_weakened.yaml", store)
    assert report.failed and report.scenarios[0].tested and not report.untested
    assert report.gate_failed(UntestedPolicy.NEVER)
    [mtd] = report.scenarios[0].mtds
    assert mtd.regression and mtd.ci_high is not None and mtd.ci_high < -mtd.allowed_drop
    assert mtd.candidate < mtd.baseline


def test_an_identical_candidate_is_not_tested(store, tmp_path) -> None:
    # Renamed and re-commented, but the same plans and triggers: nothing to test, nothing run.
    copy = tmp_path / "same.yaml"
    copy.write_text("# a copy\n" + BASELINE.read_text().replace("name: valve-incoming",
                                                                "name: valve-incoming-copy"))
    report = gate(copy, store)
    [sc] = report.scenarios
    assert not sc.tested and "same as the baseline's" in (sc.untested or "")
    assert sc.kpis == () and sc.hypothesis_baseline is None
    assert report.untested == (sc,) and not report.failed and report.gate_failed()


def test_a_candidate_whose_changes_the_scenario_does_not_use_is_not_tested(store,
                                                                          tmp_path) -> None:
    # The reproducer: a weakened housing plan (AQL 6.5) and a relaxing housing trigger pass
    # as "no regression" on a scenario that has no housings at all.
    base = two_materials(tmp_path, "base", "1.0")
    weak = two_materials(tmp_path, "weak", "6.5", """  - id: housing-relax
    material: housing
    when: lot.accepted_in_a_row >= 3
    then:
      - {type: normal, material: housing}
""")
    report = gate(weak, store, baseline=base)
    [sc] = report.scenarios
    assert sc.untested is not None and not report.failed
    assert "housing: AQL 1.0 → 6.5" in sc.untested and "housing-relax" in sc.untested
    assert "stocks valve" in sc.untested
    assert sc.kpis == ()  # nothing was run
    assert sc.baseline_applied == sc.candidate_applied
    assert report.gate_failed() and report.gate_failed(UntestedPolicy.ALL)
    assert not report.gate_failed(UntestedPolicy.NEVER)
    xml, md = junit_xml(report), markdown_summary(report)
    assert 'skipped="2"' in xml and 'failures="0"' in xml and "<failure" not in xml
    assert xml.count("<skipped message=") == 2 and "AQL 1.0 → 6.5" in xml
    assert "not tested" in md.splitlines()[0] and "✅" not in md
    assert "AQL 1.0 → 6.5" in md and "| drift |" in md and "| not tested |" in md
    # Deterministic: a second gate gives the same bytes.
    again = gate(weak, store, baseline=base)
    assert (junit_xml(again), markdown_summary(again)) == (xml, md)
    # The same change to the valves the plant stocks is tested (a short run, no MTD).
    valve_weak = tmp_path / "valve_weak.yaml"
    valve_weak.write_text(base.read_text().replace("level: II, aql: 1.0, switching: z14, start",
                                                   "level: I, aql: 1.0, switching: z14, start"))
    short = small().model_copy(update={"mtd": None, "experiment": small().experiment
                                       .model_copy(update={"replications": 2})})
    [sc] = compare_rules([(str(SCENARIO), short)], base, valve_weak).scenarios
    assert sc.tested and sc.baseline_applied != sc.candidate_applied


def test_a_changed_rule_that_never_fires_is_not_tested(store, tmp_path) -> None:
    # A trigger for a queue no station ever has: it applies to the scenario's valves, so it
    # runs, but no replication and no MTD search goes differently.
    never = tmp_path / "never.yaml"
    never.write_text(BASELINE.read_text() + """  - id: huge-queue
    material: valve
    when: station.queue >= 1000000
    then:
      - {type: tighten, material: valve}
""")
    report = gate(never, store)
    [sc] = report.scenarios
    assert sc.baseline_applied != sc.candidate_applied
    assert sc.untested is not None and "never made a difference" in sc.untested
    assert "huge-queue" in sc.untested and "10 replications" in sc.untested
    assert sc.kpis and sc.mtds[0].difference == 0.0  # it ran
    assert report.gate_failed() and not report.failed


def test_untested_policy_decides_a_mixed_report() -> None:
    tested = ScenarioComparison("a", "a.yaml", 3, (), (), True, True)
    untested = ScenarioComparison("b", "b.yaml", 3, (), (), None, None, untested="why")
    mixed = StressReport("base.yaml", "cand.yaml", "0" * 64, "1" * 64, 0.1,
                         (tested, untested))
    assert not mixed.failed and mixed.untested == (untested,)
    assert mixed.gate_failed(UntestedPolicy.ANY) and mixed.gate_failed()
    assert not mixed.gate_failed(UntestedPolicy.ALL)
    assert not mixed.gate_failed(UntestedPolicy.NEVER)
    assert "not tested** on 1 of 2" in markdown_summary(mixed)
    assert 'tests="2" failures="0" errors="0" skipped="1"' in junit_xml(mixed)
    nothing = StressReport("base.yaml", "cand.yaml", "0" * 64, "1" * 64, 0.1, ())
    assert nothing.gate_failed(UntestedPolicy.ANY) and nothing.gate_failed(UntestedPolicy.ALL)


def test_a_plant_without_incoming_inspection_tests_no_rule_set(make_scenario,
                                                               tmp_path) -> None:
    sc = make_scenario()  # stocks "part", inspects nothing on receipt
    base = two_materials(tmp_path, "base", "1.0")
    weak = base.with_name("weak.yaml")
    weak.write_text(base.read_text().replace("aql: 1.0", "aql: 6.5"))
    report = compare_rules([("plant.yaml", sc)], base, weak)
    [result] = report.scenarios
    assert result.untested is not None and "no incoming inspection" in result.untested


def test_a_stricter_candidate_passes(store) -> None:
    report = gate(RULES / "valve_regulation_2027.yaml", store)
    assert not report.failed
    [mtd] = report.scenarios[0].mtds
    assert mtd.candidate >= mtd.baseline


def test_cli_gate_writes_junit_and_markdown_deterministically(tmp_path, runner) -> None:  # type: ignore[no-untyped-def]
    outputs = []
    for attempt in range(2):
        junit, md = tmp_path / f"j{attempt}.xml", tmp_path / f"s{attempt}.md"
        args = ["stress", str(SCENARIO), "--baseline", str(BASELINE), "--candidate",
                str(RULES / "valve_incoming_weakened.yaml"), "--tolerance", "0.1",
                "--junit", str(junit), "--markdown", str(md), "--out", str(tmp_path / "o")]
        result = runner.invoke(cli.app, args + (["--resume"] if attempt else []))
        assert result.exit_code == 1, result.output
        outputs.append((junit.read_bytes(), md.read_bytes()))
    assert outputs[0] == outputs[1]
    xml = outputs[0][0].decode()
    assert 'failures="1"' in xml and "MTD regression" in xml and "allowed drop" in xml
    assert "regression" in outputs[0][1].decode()


def test_bad_candidates_are_refused(tmp_path, runner) -> None:  # type: ignore[no-untyped-def]
    other = tmp_path / "housing.yaml"
    other.write_text(BASELINE.read_text().replace("material: valve", "material: housing"))
    with pytest.raises(ScenarioError, match="must cover the same materials"):
        compare_rules([(str(SCENARIO), load_scenario(SCENARIO))], BASELINE, other)
    result = runner.invoke(cli.app, ["stress", str(SCENARIO), "--baseline", str(BASELINE),
                                     "--candidate", str(tmp_path / "missing.yaml")])
    assert result.exit_code == 2 and "rule file does not exist" in result.output
    not_rules = tmp_path / "scenario.yaml"
    not_rules.write_text(SCENARIO.read_text())
    result = runner.invoke(cli.app, ["stress", str(SCENARIO), "--baseline", str(BASELINE),
                                     "--candidate", str(not_rules), "--json"])
    assert result.exit_code == 2
    # The refusal is one line per problem with file and path, no traceback.
    assert all(line.startswith("error: ") for line in result.output.strip().splitlines())
    assert "Traceback" not in result.output


def test_cli_fails_on_an_untested_candidate_as_the_policy_says(tmp_path, runner) -> None:  # type: ignore[no-untyped-def]
    # An identical candidate: nothing runs, the gate cannot pass it.
    same = tmp_path / "same.yaml"
    same.write_text(BASELINE.read_text())
    base = ["stress", str(SCENARIO), "--baseline", str(BASELINE), "--candidate", str(same)]
    for policy, code in (("any", 1), ("all", 1), ("never", 0)):
        out = tmp_path / policy
        result = runner.invoke(cli.app, [*base, "--fail-on-untested", policy, "--json",
                                         "--out", str(out), "--junit", str(out / "j.xml")])
        assert result.exit_code == code, (policy, result.output)
        doc = json.loads(result.stdout)
        [decided] = records_of(doc, "GateDecided")
        assert decided["failed"] is bool(code) and decided["policy"] == policy
        assert decided["regression"] is False and decided["untested"] == ["valve-quality"]
        assert "<skipped" in (out / "j.xml").read_text()
        [report] = verify_results(out)  # stress.json verifies, like every result kind
        assert report.intact and report.kind == "stress"
    wrong = runner.invoke(cli.app, [*base, "--fail-on-untested", "sometimes"])
    assert wrong.exit_code == 2
    assert "--fail-on-untested: unknown value 'sometimes'" in wrong.stderr


def test_a_junit_target_that_cannot_be_written_is_refused_before_the_gate_runs(
        tmp_path, runner, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import shocktwin.twin.resilience.stress as stress_module

    ran: list[int] = []
    monkeypatch.setattr(stress_module, "compare_rules", lambda *a, **k: ran.append(1))
    folder = tmp_path / "a-folder"
    folder.mkdir()
    result = runner.invoke(cli.app, ["stress", str(SCENARIO), "--baseline", str(BASELINE),
                                     "--candidate", str(BASELINE), "--junit", str(folder)])
    assert result.exit_code == 2 and "not a regular file" in result.stderr
    assert ran == []
