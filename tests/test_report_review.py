"""The report rebuilt for the management review: page one's decision from the history and
from results folders alone, honest verdicts and intervals, stress-gate folders, and the
zh-CN catalogue checked against itself."""

from __future__ import annotations

import html
import json
import re
import string
from pathlib import Path
from typing import Any

import pytest
from conftest import deep_update
from scipy import stats
from test_mtd import MTD_PLANT
from test_report import mtd_search, optimize_front, regulation_change, save
from typer.testing import CliRunner

from shocktwin import cli
from shocktwin.errors import ShocktwinError
from shocktwin.interval import wilson_interval
from shocktwin.reports import render_report
from shocktwin.reports._i18n import Language, count, date, hours, num, pct, speaking
from shocktwin.reports._zh_cn import ZH_CN
from shocktwin.scenarios.loader import parse_scenario
from shocktwin.twin.experiment.replication import run_experiment
from shocktwin.twin.journal.document import (
    DocumentKind,
    GateDecided,
    ScenarioCompared,
    make_document,
    write_document,
)
from shocktwin.twin.journal.record import make_journal, save_results

NBSP = "\u00a0"

# --------------------------------------------------------------------------- the history

#: Two reviews of three plants, written straight in the history's schema (version 1).
SCHEMA = """
CREATE TABLE meta(key VARCHAR PRIMARY KEY, value VARCHAR);
CREATE TABLE reviews(review VARCHAR PRIMARY KEY, suite VARCHAR, suite_hash VARCHAR,
  started_utc VARCHAR, finished_utc VARCHAR, interval_days DOUBLE, engine VARCHAR,
  version VARCHAR, executor VARCHAR, runs BIGINT, score DOUBLE, score_json VARCHAR);
CREATE TABLE results(review VARCHAR, scenario VARCHAR, shock VARCHAR, indicator VARCHAR,
  value DOUBLE, ci_low DOUBLE, ci_high DOUBLE, unit VARCHAR, target DOUBLE, status VARCHAR,
  severity DOUBLE, replications BIGINT, runs BIGINT, scenario_hash VARCHAR,
  rules_hash VARCHAR, engine VARCHAR, version VARCHAR, seed BIGINT, finished_utc VARCHAR,
  detail VARCHAR, PRIMARY KEY (review, scenario, shock, indicator));
"""
MITIGATION = {"name": "qualify a second valve supplier", "cost": 12000,
              "effect": "MTD of the quake +24 h"}
#: (review, scenario, shock, indicator, value, low, high, unit, target, status, detail)
ROWS: list[tuple[Any, ...]] = [
    ("2026-Q1", "plant-a", "outage", "mtd", 60.0, 50.0, 70.0, "h", 48.0, "passed", {}),
    ("2026-Q1", "plant-b", "quake", "mtd", 50.0, 40.0, 60.0, "h", 48.0, "passed", {}),
    ("2026-Q1", "plant-a", "outage", "recovery_guarantee", 0.8, 0.7, 0.88, "", 0.8,
     "undecided", {}),
    ("2026-Q1", "plant-b", "quake", "recovery_guarantee", 0.95, 0.9, 0.98, "", 0.8, "passed",
     {}),
    ("2026-Q2", "plant-a", "outage", "mtd", 72.0, 60.0, 80.0, "h", 48.0, "passed", {}),
    ("2026-Q2", "plant-b", "quake", "mtd", 36.0, 30.0, 40.0, "h", 48.0, "failed",
     {"mitigations": [MITIGATION]}),
    ("2026-Q2", "plant-a", "outage", "recovery_guarantee", 0.72, 0.6, 0.82, "", 0.8,
     "undecided", {}),
    ("2026-Q2", "plant-b", "quake", "recovery_guarantee", 0.95, 0.9, 0.98, "", 0.8, "passed",
     {}),
    ("2026-Q2", "plant-a", "", "hypothesis_share", 1.0, 0.92, 1.0, "", 0.9, "passed", {}),
    ("2026-Q2", "plant-c", "", "hypothesis_share", None, None, None, "", None, "no_target",
     {}),
]


def make_history(path: Path, rows: list[tuple[Any, ...]] = ROWS, version: str = "1") -> Path:
    import duckdb

    con = duckdb.connect(str(path))
    con.execute(SCHEMA)
    con.execute("INSERT INTO meta VALUES ('schema_version', ?), ('created_by', 'test')",
                [version])
    for i, review in enumerate(dict.fromkeys(r[0] for r in rows)):
        con.execute("INSERT INTO reviews VALUES (?, 'bundled', 'x', ?, ?, 91, 'simpy', "
                    "'0.1.0', 'local', 10, ?, '{}')",
                    [review, f"2026-0{1 + 3 * i}-05T08:00:00.000Z",
                     f"2026-0{1 + 3 * i}-05T09:00:00.000Z", 0.8 - 0.1 * i])
    for (review, sc, shock, ind, v, lo, hi, unit, target, status, detail) in rows:
        con.execute("INSERT INTO results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, 40, 400, "
                    "'sh', 'rh', 'simpy', '0.1.0', 7, '2026-04-05T09:00:00.000Z', ?)",
                    [review, sc, shock, ind, v, lo, hi, unit, target, status,
                     json.dumps(detail)])
    con.close()
    return path


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_history(tmp_path_factory.mktemp("history") / "history.duckdb")


def section(page: str, anchor: str) -> str:
    start = page.index(f'<section id="{anchor}">')
    return page[start:page.index("</section>", start)]


def text(fragment: str) -> str:
    fragment = re.sub(r"<script.*?</script>", " ", fragment, flags=re.S)
    return re.sub(r"[ \t\n]+", " ", html.unescape(re.sub(r"<[^>]+>", " ", fragment)))


def element(page: str, element_id: str) -> str:
    start = page.index(f'id="{element_id}"')
    return text(page[start:page.index("</div>", start)])


def test_page_one_from_the_history_is_the_decision(history: Path) -> None:
    page = render_report([], history=history)
    one = section(page, "decision")
    # Five readings with a target: one misses (plant-b's MTD), one is undecided; plant-c
    # has no hypothesis.
    assert ("Resilience is not maintained: 1 of 5 tests miss their target, 1 undecided; 1 "
            "without a target or hypothesis.") in text(one)
    mtd = element(one, "indicator-mtd")
    # The most exposed MTD: plant-b's, 12 h (25 %) short of its 48 h target, down 14 h.
    assert f"36{NBSP}h" in mtd and f"30{NBSP}h … 40{NBSP}h" in mtd
    assert "plant-b · quake" in mtd and "MISSES TARGET" in mtd
    assert f"since 2026-Q1: −14{NBSP}h; was meets target" in mtd
    assert "1 of 2 meet their target" in mtd
    guarantee = element(one, "indicator-guarantee")
    # The review indicator is the lowest rate of the campaign: plant-a's 72 %.
    assert "72.0%" in guarantee and "60.0% … 82.0%" in guarantee
    assert "since 2026-Q1: −8 points" in guarantee and "UNDECIDED" in guarantee
    risks = text(one.split("Top risks, by exposure")[1].split("Recommendations")[0])
    assert re.search(r"1 plant-b · quake Maximum tolerable disruption .* 25% short of the "
                     r"target", risks)
    assert re.search(r"2 plant-a · outage Minimum recovery guarantee rate .* 8 points short",
                     risks)
    recs = text(one.split("Recommendations")[1])
    assert "qualify a second valve supplier plant-b 12,000 MTD of the quake +24 h" in recs
    assert "no hypothesis — no verdict" in text(one)
    # The trend over both reviews, with the portfolio score.
    assert section(page, "trends").count("Plotly.newPlot") == 2
    assert '<html lang="en">' in page


def test_an_earlier_review_is_reported_against_its_own_predecessor(history: Path) -> None:
    page = render_report([], history=history, review="2026-Q1")
    one = text(section(page, "decision"))
    assert "Resilience management review 2026-Q1" in page
    # plant-b's 50 h is the closer of the two to its 48 h target; there is no review before.
    assert f"2.083{NBSP}d" in one and "plant-b · quake" in one and "since" not in one


def test_a_review_not_in_the_history_is_refused_with_exit_2(history: Path,
                                                            tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    done = CliRunner().invoke(cli.app, ["report", "--history", str(history), "--review",
                                        "2027-Q9", "-o", str(out)])
    assert done.exit_code == 2
    assert ("review '2027-Q9' is not in the history (its reviews: 2026-Q1, 2026-Q2)"
            in done.stderr)
    assert "Traceback" not in done.output and not out.exists()
    old = make_history(tmp_path / "old.duckdb", version="0")
    with pytest.raises(ShocktwinError, match=r"old.duckdb: .*schema version '0'"):
        render_report([], history=old)
    with pytest.raises(ShocktwinError, match=r"none\.duckdb: no history store here"):
        render_report([], history=tmp_path / "none.duckdb")
    bad = CliRunner().invoke(cli.app, ["report", "--history", str(history), "--lang", "fr",
                                       "-o", str(out)])
    assert bad.exit_code == 2 and "unknown language 'fr'" in bad.stderr


# --------------------------------------------------------------------------- results folders


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("folders")
    free = parse_scenario({k: v for k, v in deep_update(MTD_PLANT, {
        "name": "no-hypothesis", "experiment": {"replications": 2}}).items()
        if k not in ("hypothesis", "mtd")})
    result = run_experiment(free)
    journal = make_journal(result, started_utc="2026-01-02T03:04:05.000Z",
                           ended_utc="2026-01-02T03:04:09.000Z", scenario_file=None,
                           command=["shocktwin", "run", "free"], tables_format="duckdb")
    save_results(result, journal, base / "free")
    return {"run": save(run_experiment(regulation_change(), replications=2), base / "run"),
            "free": base / "free", "mtd": mtd_search(base / "m"),
            "optimize": optimize_front(base / "o"), "stress": stress_folder(base / "stress")}


def stress_folder(out: Path) -> Path:
    """A stress gate's document as `shocktwin stress --out` writes it, with numbers chosen
    here: the MTD of `drift` drops from 40 to 12.93 (paired interval −27.37 … −5.113,
    allowed drop 4): a regression; escaped PPM is held in every replication either way."""
    compared = ScenarioCompared(
        scenario="valve-quality", file="valve_quality.yaml", replications=10,
        hypothesis_baseline=True, hypothesis_candidate=True, untested=None, failed=True,
        kpis=[{"kpi": "escaped_ppm", "tolerance": "≤ 20000", "baseline": 1000.0,
               "candidate": 1252.7, "difference": 252.7, "ci_low": -136.1, "ci_high": 641.4,
               "held_baseline": 1.0, "held_candidate": 1.0, "newly_broken": False}],
        mtds=[{"shock": "drift", "unit": "", "baseline": 40.0, "candidate": 12.93,
               "difference": -27.07, "ci_low": -27.37, "ci_high": -5.113,
               "allowed_drop": 4.0, "regression": True, "message": "MTD ≥ 40 → 12.93"}])
    untested = ScenarioCompared(
        scenario="column-discontinued", file="column_discontinued.yaml", replications=10,
        hypothesis_baseline=None, hypothesis_candidate=None,
        untested="no incoming inspection of the changed materials", failed=False, kpis=[],
        mtds=[])
    decided = GateDecided(baseline="base.yaml", candidate="weak.yaml", baseline_hash="a" * 64,
                          candidate_hash="b" * 64, tolerance=0.1, policy="any",
                          regression=True, failed=True, untested=["column-discontinued"])
    doc = make_document(DocumentKind.STRESS, [compared, untested, decided], scenario=None,
                        scenario_hash=None, seed=None, command=["shocktwin", "stress"])
    out.mkdir(parents=True)
    write_document(out, doc)
    return out


@pytest.fixture(scope="module")
def page(folders: dict[str, Path]) -> str:
    return render_report([folders[k] for k in ("run", "free", "mtd", "optimize", "stress")])


def test_without_a_history_page_one_comes_from_the_folders(page: str,
                                                           folders: dict[str, Path]) -> None:
    one = text(section(page, "decision"))
    data = json.loads(re.search(r'id="report-data">(.*?)</script>', page, re.S).group(1))
    run = next(r for r in data["runs"] if r["scenario"] == "regulation-change")
    # Held in both replications: the interval of 2/2 reaches far below the required 90 %,
    # so the verdict is not decided either way; the page says what the journal says.
    journal = json.loads((folders["run"] / "journal.json").read_text())
    finished = next(r for r in journal["records"] if r["kind"] == "RunFinished")
    held, n = run["held"], run["n"]
    low, high = finished.get("share_low"), finished.get("share_high")
    if low is None:  # a journal from before verdict states: decided again by the rule
        w = wilson_interval(2, 2)
        low, high = w.low, w.high
    assert run["verdict"] == "undecided" and (held, n) == (2, 2)
    assert run["share_low"] == pytest.approx(low) and run["share_high"] == pytest.approx(high)
    assert low < 0.9 <= high
    # One decimal: an end just short of the required share does not read as equal to it.
    assert (f"all tolerances held together in 2 of 2 replications (100%, 95% interval "
            f"{low:.1%} … {high:.0%}; required 90%)") in one
    assert "Undecided:" in one
    assert "no-hypothesis : no hypothesis — no verdict" in one
    free = next(r for r in data["runs"] if r["scenario"] == "no-hypothesis")
    assert free["verdict"] == "none" and "HOLDS" not in section(page, "decision").split(
        "no-hypothesis")[0].rsplit("<li>", 1)[-1]
    assert "Maximum tolerable disruption" in one and "not measured" in one
    # The recommendations are the Pareto front's settings, cheapest first, with the cost.
    front = json.loads((folders["optimize"] / "pareto.json").read_text())
    costs = sorted(r["objectives"]["cost"] for r in front["records"]
                   if r["kind"] == "PointEvaluated" and r["on_front"])
    recs = one.split("Recommendations")[1]
    assert recs.index(count(costs[0])) < recs.index(count(costs[1]))


def test_a_journal_from_before_verdict_states_is_decided_again_by_the_rule(
        folders: dict[str, Path], tmp_path: Path) -> None:
    old = tmp_path / "old"
    old.mkdir()
    journal = json.loads((folders["run"] / "journal.json").read_text())
    for r in journal["records"]:
        if r["kind"] == "RunFinished":
            for key in ("verdict", "held", "n", "share_low", "share_high", "level"):
                r.pop(key, None)
            r["hypothesis_holds"] = True  # what an old run said of 2 held in 2
    (old / "journal.json").write_text(json.dumps(journal))
    (old / "results.duckdb").write_bytes((folders["run"] / "results.duckdb").read_bytes())
    page = render_report([old], unverified=True)
    w = wilson_interval(2, 2)
    data = json.loads(re.search(r'id="report-data">(.*?)</script>', page, re.S).group(1))
    [run] = data["runs"]
    # Not "HOLDS" on 2 of 2: the interval of the held share decides, as for a new run.
    assert run["verdict"] == "undecided"
    assert (run["share_low"], run["share_high"]) == pytest.approx((w.low, w.high))


def test_the_kpi_table_says_what_it_compares(page: str, folders: dict[str, Path]) -> None:
    kpis = section(page, "kpis")
    # No green "within" badge: the verdict counts replications, the mean is only a mean.
    assert 'class="badge ok">within' not in kpis and "mean vs tolerance" in kpis
    assert "held in (replications)" in kpis
    journal = json.loads((folders["run"] / "journal.json").read_text())
    otd = [r["kpis"]["otd"] for r in journal["records"] if r["kind"] == "ReplicationFinished"]
    held = sum(v >= 0.95 for v in otd)
    assert f"{held} of 2 ({held / 2:.0%})" in text(kpis)


def test_an_interval_reaching_below_zero_is_shown_as_computed(page: str,
                                                              folders: dict[str, Path]
                                                              ) -> None:
    journal = json.loads((folders["free"] / "journal.json").read_text())
    values = [r["kpis"] for r in journal["records"] if r["kind"] == "ReplicationFinished"]
    kpis = text(section(page, "kpis").split("no-hypothesis")[1])
    shown = 0
    for kpi in ("stockout_hours", "scrap", "wip_mean"):
        x = [float(v[kpi]) for v in values]
        mean = sum(x) / 2
        half = stats.t.ppf(0.975, 1) * abs(x[0] - x[1]) / 2  # s/√2 with n = 2
        if half > mean > 0:
            with speaking("en"):
                low = hours(mean - half) if kpi == "stockout_hours" else num(mean - half)
            assert low.startswith("-") and f"{low} …" in kpis, kpi
            shown += 1
    if shown:
        assert "† The interval is shown as computed: it reaches below 0" in kpis


def test_a_stress_folder_shows_paired_differences_and_the_decision(page: str) -> None:
    gate = section(page, "stress")
    assert "REGRESSION" in gate and "candidate weak.yaml against baseline base.yaml" in gate
    rows = text(gate)
    assert "valve-quality drift 40 12.93 -27.07 (-27.37 … -5.113) 4 REGRESSION" in rows
    assert "escaped_ppm ≤ 20000 100% → 100% 252.7 (-136.1 … 641.4) OK" in rows
    assert "NOT TESTED no incoming inspection of the changed materials" in rows
    assert "allowed 10%" in rows


def test_a_resumed_search_shows_the_runs_it_needed(folders: dict[str, Path],
                                                   tmp_path: Path) -> None:
    scenario = folders["mtd"].parent / "outage.yaml"
    out = tmp_path / "resumed"
    for extra in ([], ["--resume"]):
        done = CliRunner().invoke(cli.app, ["mtd", str(scenario), "--out", str(out), *extra])
        assert done.exit_code in (0, 1), done.output
    doc = json.loads((out / "mtd.json").read_text())
    found = next(r for r in doc["records"] if r["kind"] == "MtdFound")
    assert found["runs"] > 0 and found["runs_reused"] == found["runs"]
    page = render_report([out])
    assert f"({found['runs']} runs)" in text(section(page, "indicators"))
    assert (f"{found['runs']} (of them {found['runs_reused']} reused from an earlier search)"
            in text(section(page, "mtd")))


def test_every_chart_has_a_caption(page: str) -> None:
    figures = re.findall(r'<figure class="figure">(.*?)</figure>', page, re.S)
    assert len(figures) == page.count('class="plotly-graph-div"') >= 4
    for fig in figures:
        caption = re.search(r"<figcaption>(.*?)</figcaption>", fig, re.S)
        assert caption is not None and len(caption.group(1).split()) >= 12


def test_print_leaves_the_appendix_out_and_page_one_on_its_own(page: str) -> None:
    css = re.search(r"@media print \{(.*)\}\s*</style>", page, flags=re.S)
    assert css is not None
    assert "details.appendix { display: none !important; }" in css.group(1).replace(
        "nav.toc, ", "")
    assert "section#decision { break-after: page;" in css.group(1)
    appendix = page[page.index('<details class="appendix"'):]
    for anchor in ("kpis", "resilience", "mtd", "distributions", "pareto"):
        assert f'<section id="{anchor}">' in appendix
    for anchor in ("decision", "indicators", "stress", "rules", "cost", "signoff"):
        assert f'<section id="{anchor}">' not in appendix


def test_the_cost_view_says_what_is_not_measured(page: str,
                                                 folders: dict[str, Path]) -> None:
    cost = text(section(page, "cost"))
    import duckdb

    con = duckdb.connect(str(folders["run"] / "results.duckdb"), read_only=True)
    inspected = con.execute("SELECT sum(inspected) FILTER (NOT isnan(inspected)) / "
                            "count(DISTINCT replication) FROM stations").fetchone()[0]
    scrap = con.execute("SELECT avg(scrap) FROM replications").fetchone()[0]
    con.close()
    with speaking("en"):
        assert f"{count(inspected)} units inspected" in cost
        assert f"{num(scrap)} units scrapped" in cost
    assert "not measured" in cost and "Expediting is not modelled" in cost


# --------------------------------------------------------------------------- languages


def test_numbers_and_dates_follow_the_locale() -> None:
    with speaking("en"):
        assert (num(1234.5678), pct(0.725, 1), hours(36), hours(72)) == (
            "1,235", "72.5%", f"36{NBSP}h", f"3{NBSP}d")
        assert date("2026-01-02T03:04:05.000Z") == "Jan 2, 2026, 3:04:05\u202fAM UTC"
    with speaking("zh-CN"):
        assert (num(1234.5678), pct(0.725, 1), hours(36), hours(72)) == (
            "1,235", "72.5%", f"36{NBSP}小时", f"3{NBSP}天")
        assert date("2026-01-02T03:04:05.000Z") == "2026年1月2日 03:04:05 UTC"


def english_fragments(label: str) -> list[str]:
    """The fixed text of a catalogue label (between its fields) that is long enough to be
    recognised as prose in a page: three words or more."""
    parts = [literal for literal, *_ in string.Formatter().parse(label)]
    return [p.strip(" ,;:.()") for p in parts if len(p.split()) >= 3]


def untranslated(page: str, lang: Language) -> list[str]:
    """What a zh-CN page still says in English, judged from the catalogue itself: labels
    asked for that it lacks, and any catalogue label's English prose left in the text."""
    problems = [f"missing: {m}" for m in sorted(lang.missing)]
    visible = text(re.sub(r"<style>.*?</style>", " ", page, flags=re.S))
    # Identifiers (in <code>: file names, table names, hashes) are not labels.
    bare = re.sub(r"<(script|style|code).*?</\1>", " ", page, flags=re.S)
    nodes = {n.strip() for n in html.unescape(re.sub(r"<[^>]+>", "\n", bare)).split("\n")}
    for label in ZH_CN:
        if label.startswith(("kpi:", "unit:", "layer:")) or ZH_CN[label] == label:
            continue
        if label in nodes and len(label) > 3:
            problems.append(f"label: {label}")
        for fragment in english_fragments(label):
            if fragment and fragment in visible:
                problems.append(f"prose: {fragment}")
    return problems


def test_zh_cn_leaves_no_catalogue_label_in_english(folders: dict[str, Path],
                                                    history: Path) -> None:
    lang = Language("zh-CN")
    page = render_report([folders[k] for k in ("run", "free", "mtd", "optimize", "stress")],
                         history=history, lang=lang)
    assert '<html lang="zh-CN">' in page
    # The check is built from the catalogue and the labels the page asked for: it cannot
    # pass by looking at nothing.
    assert len(lang.used) >= 200 and not lang.missing
    assert untranslated(page, lang) == []
    # The same check finds the English of an English page.
    english = Language("en")
    en_page = render_report([folders["run"], folders["stress"]], lang=english)
    assert len(untranslated(en_page, english)) > 20
    # Every label of the catalogue keeps its fields in translation.
    for label, zh in ZH_CN.items():
        fields = {f for _, f, *_ in string.Formatter().parse(label) if f}
        assert fields == {f for _, f, *_ in string.Formatter().parse(zh) if f}, label


def test_the_language_switch_writes_one_language(folders: dict[str, Path]) -> None:
    zh = render_report([folders["run"]], lang="zh-CN")
    assert "<h2>评审结论</h2>" in zh and "The decision" not in zh
    assert 'class="zh"' not in zh  # no side-by-side labels any more
    assert "2026年1月2日" in zh
    assert "Plotly.register(" in zh and '"name": "zh-CN"' in zh


def test_a_censored_mtd_in_the_history_is_said_as_its_bound(tmp_path: Path) -> None:
    """The history keeps an MTD above the searched range as the range's top (60 d = 1440 h)
    with the side in its detail: the report says so in words, the heat map as a bound."""
    rows = [("2026-Q1", "plant-a", "quake", "mtd", 1440.0, None, None, "h", 720.0, "passed",
             {"censored": "above_range", "range": [1.0, 1440.0]})]
    page = render_report([], history=make_history(tmp_path / "h.duckdb", rows))
    assert f"above 60{NBSP}d (the highest severity searched)" in text(page)
    assert "\\u2265 60\\u00a0d" in page  # the heat map's cell (JSON-escaped)
