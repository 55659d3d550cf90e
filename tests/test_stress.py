"""The stress gate: a weakened rule set fails it, an identical or stricter one passes."""

from __future__ import annotations

import pytest

from shocktwin import cli
from shocktwin.errors import ScenarioError
from shocktwin.scenarios import load_scenario, reference_scenario
from shocktwin.twin.resilience.mtd import RunStore
from shocktwin.twin.resilience.stress import compare_rules

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


def gate(candidate, store, tolerance: float = 0.1):  # type: ignore[no-untyped-def]
    return compare_rules([(str(SCENARIO), small())], BASELINE, candidate,
                         tolerance=tolerance, store=store)


def test_a_weakened_candidate_fails_the_gate(store) -> None:
    # AQL 2.5 instead of 1.0, and skip-lot: escapes pass 20,000 ppm at a drift the
    # baseline absorbs over the whole range.
    report = gate(RULES / "valve_incoming_weakened.yaml", store)
    assert report.failed
    [mtd] = report.scenarios[0].mtds
    assert mtd.regression and mtd.ci_high is not None and mtd.ci_high < -mtd.allowed_drop
    assert mtd.candidate < mtd.baseline


def test_an_identical_candidate_passes_with_zero_difference(store, tmp_path) -> None:
    copy = tmp_path / "same.yaml"
    copy.write_text(BASELINE.read_text())
    report = gate(copy, store)
    assert not report.failed
    [mtd] = report.scenarios[0].mtds
    assert mtd.difference == 0.0 and mtd.ci_low == 0.0 and mtd.ci_high == 0.0
    assert all(k.difference == 0.0 or k.difference != k.difference
               for k in report.scenarios[0].kpis)


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
