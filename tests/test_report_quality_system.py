"""The report's "Quality system recovery" section: its numbers recomputed here from the
journal's records (and checked against the KPIs the twin measured), its zh-CN text, and
its absence for a run without quality-system records."""

from __future__ import annotations

import html
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import deep_update
from scipy import stats
from test_report import regulation_change, save

from shocktwin.reports import _quality_system as qs
from shocktwin.reports import load_results, render_report
from shocktwin.scenarios import reference_scenario
from shocktwin.scenarios.loader import parse_scenario
from shocktwin.source import read_yaml
from shocktwin.twin.experiment.replication import run_experiment
from shocktwin.units import format_hours

NBSP = "\u00a0"


def scenario(case: str, **changes: Any) -> Any:
    path = reference_scenario(case)
    data, lines = read_yaml(path)
    return parse_scenario(deep_update(data, changes), file=str(path), lines=lines,
                          base_dir=path.parent)


def section(page: str) -> str:
    start = page.index('<section id="quality_system">')
    return page[start:page.index("</section>", start)]


def text(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", fragment))


def of_run(body: str, label: str) -> str:
    """The part of the section about one run (from its heading to the next)."""
    start = body.index(f"<h3>{label}</h3>")
    end = body.find("<h3>", start + 1)
    return body[start:end if end > 0 else len(body)]


def hours(x: float) -> str:
    return format_hours(x, NBSP)


def mean_and_interval(values: list[float]) -> str:
    """Mean (low … high), the Student-t 95 % interval computed here, as the report shows."""
    x = np.asarray(values, dtype=float)
    half = stats.t.ppf(0.975, x.size - 1) * x.std(ddof=1) / math.sqrt(x.size)
    m = float(x.mean())
    return f"{hours(m)} ({hours(m - half)} … {hours(m + half)})"


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("quality-system")
    return {
        "column": save(run_experiment(scenario("column_release_as_is"), replications=4),
                       base / "column"),
        # The quality system is not valid again before this horizon in any replication.
        "short": save(run_experiment(scenario("column_release_as_is", horizon="20d",
                                              warmup="3d", name="column-short"),
                                     replications=3), base / "short"),
        "valve": save(run_experiment(scenario("valve_backup_prepared"), replications=2),
                      base / "valve"),
        "plain": save(run_experiment(regulation_change(), replications=2), base / "plain"),
    }


@pytest.fixture(scope="module")
def page(runs: dict[str, Path]) -> str:
    return render_report([runs["column"], runs["short"], runs["valve"], runs["plain"]])


def records(folder: Path) -> list[dict[str, Any]]:
    (f,) = load_results([folder])
    return f.records


def test_time_to_valid_is_recomputed_from_the_journal(runs: dict[str, Path],
                                                      page: str) -> None:
    recs = records(runs["column"])
    per_rep = {r["replication"]: r["hours"] for r in recs
               if r["kind"] == "QualitySystemRevalidated"}
    assert len(per_rep) == 4
    # The journal's episodes are the twin's own KPI, replication by replication.
    (f,) = load_results([runs["column"]])
    kpi = f.kpi_values()["time_to_valid_quality_system"]
    assert np.allclose(sorted(per_rep.values()), sorted(kpi))
    body = of_run(section(page), "column-release-as-is")
    expected = mean_and_interval(list(per_rep.values()))
    assert f"{expected} after the shock's onset (4 of 4 replications)" in text(body)
    assert "not valid again" not in text(body)


def test_what_was_invalidated_and_the_response_latency(runs: dict[str, Path],
                                                       page: str) -> None:
    recs = records(runs["column"])
    inv = next(r for r in recs if r["kind"] == "RulesInvalidated")
    started = [r for r in recs if r["kind"] == "ResponseStarted"]
    latency = {r["at_h"] - r["event_h"] for r in started}
    assert len(latency) == 1  # a manual escalation of fixed length
    raw = of_run(section(page), "column-release-as-is")
    body = text(raw)
    assert f"{inv['old']} → {inv['new']}" in body
    assert f"<td>{inv['rules']}</td>" in raw
    assert inv["kinds"] in body and "hold release" in body
    assert hours(latency.pop()) in body


def test_each_work_item_finishes_when_the_journal_says(runs: dict[str, Path],
                                                       page: str) -> None:
    recs = records(runs["column"])
    onset = {r["replication"]: r["at_h"] for r in recs if r["kind"] == "ShockStarted"}
    body = of_run(section(page), "column-release-as-is")
    rows = {text(m.group(1)).split()[1]: text(m.group(1))
            for m in re.finditer(r"<tr>(.*?)</tr>", body) if "method-transfer" in m.group(1)
            and "<td>" in m.group(1)}
    for item in ("comparability", "regenerate", "review", "approve"):
        done = [r["at_h"] - onset[r["replication"]] for r in recs
                if r["kind"] == "WorkFinished" and r["item"] == item]
        assert len(done) == 4
        assert mean_and_interval(done) in rows[item], (item, rows[item])
        assert rows[item].rstrip().endswith("4 of 4")


def test_not_valid_by_the_horizon_is_said_in_words(runs: dict[str, Path], page: str) -> None:
    recs = records(runs["short"])
    assert any(r["kind"] == "RulesInvalidated" for r in recs)
    assert not any(r["kind"] == "QualitySystemRevalidated" for r in recs)
    body = text(of_run(section(page), "column-short"))
    assert "not valid again by the horizon" in body
    assert "in 3 of 3 replications" in body
    assert "still in force at the horizon in 3 of 3 replications" in body


def test_life_tests_show_units_failures_bound_and_requirement(runs: dict[str, Path],
                                                              page: str) -> None:
    recs = [r for r in records(runs["valve"]) if r["kind"] == "LifeTestCompleted"]
    assert len(recs) == 2
    body = text(of_run(section(page), "valve-backup-prepared"))
    r = recs[0]
    assert f"{r['test_h']:,.0f}{NBSP}h → {r['use_h']:,.0f}{NBSP}h" in body
    assert f"× {r['use_h'] / r['test_h']:,.1f}" in body  # the inverse power law's factor
    assert f"vs {r['requirement']:,.0f}{NBSP}h" in body
    passed = sum(x["passed"] for x in recs)
    assert f"{passed} of 2 passed" in body
    failures: dict[int, int] = {}
    for x in recs:
        failures[x["failures"]] = failures.get(x["failures"], 0) + 1
    for k, v in failures.items():
        assert f"{k} in {v} of 2" in body


def test_the_backlog_from_the_journal_bounds_the_twins_per_task_backlog(
        runs: dict[str, Path]) -> None:
    (f,) = load_results([runs["column"]])
    w, h = float(f.scenario["warmup"]), float(f.scenario["horizon"])
    reps = qs.replication_ids(f.records)
    per_item = qs.bucket_means(qs.work_spans(f.records, f.scenario), reps,
                               np.array([w, h]))[:, 0]
    twin = f.kpi_values()["quality_backlog_mean"]
    # Tasks leave the twin's backlog one by one, the journal's only when their item is
    # done; under hold_release there are no per-unit approvals outside the playbook.
    assert (per_item >= twin - 1e-9).all() and (per_item > 0).all()


def test_in_zh_cn_the_section_speaks_chinese_only(runs: dict[str, Path]) -> None:
    from test_report_review import untranslated

    from shocktwin.reports._i18n import Language

    lang = Language("zh-CN")
    page = render_report([runs["column"], runs["short"], runs["valve"]], lang=lang)
    assert '<section id="quality_system"><h2>质量体系恢复</h2>' in page
    body = section(page)
    for zh in ("失效的规则", "响应延迟", "工作项", "寿命试验", "质量体系恢复有效"):
        assert zh in body
    assert 'class="zh"' not in page and "Quality system recovery" not in page
    assert not lang.missing and untranslated(page, lang) == []


def test_the_section_is_absent_for_runs_without_quality_events(runs: dict[str, Path],
                                                               page: str) -> None:
    assert "<h3>regulation-change" not in section(page)
    alone = render_report([runs["plain"]])
    assert 'id="quality_system"' not in alone and "质量体系恢复" not in alone
