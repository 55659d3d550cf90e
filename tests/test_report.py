"""The management-review HTML report: self-contained, complete, escaped, reproducible."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from conftest import deep_update
from plotly.offline import get_plotlyjs
from test_mtd import MTD_PLANT
from test_optimize import PLANT as OPTIMIZE_PLANT
from typer.testing import CliRunner

from shocktwin import cli
from shocktwin.cli.report import report_command
from shocktwin.errors import SimulationError
from shocktwin.reports import SECTIONS, load_results, render_report, write_report
from shocktwin.scenarios import reference_scenario
from shocktwin.scenarios.loader import parse_scenario
from shocktwin.source import read_yaml
from shocktwin.twin.experiment.replication import ExperimentResult, run_experiment
from shocktwin.twin.journal.document import MtdDocument, ParetoDocument, read_document
from shocktwin.twin.journal.record import make_journal, save_results

SCRIPT_PAYLOAD = "<script>alert(1)</script>"
ATTR_PAYLOAD = '"><img src=x onerror=alert(1)>'
PAYLOADS = (SCRIPT_PAYLOAD, ATTR_PAYLOAD)
ESCAPED = ("&lt;script&gt;alert(1)&lt;/script&gt;",
           "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;")
URL_ATTRS = frozenset({"src", "href", "action", "data", "poster", "srcset", "xlink:href",
                       "formaction", "background"})


# --------------------------------------------------------------------------- fixtures


def regulation_change(description: str | None = None) -> Any:
    """The bundled regulation-change plant over 30 days (the rule change lands on day 20)."""
    path = reference_scenario("regulation_change")
    data, lines = read_yaml(path)
    data = deep_update(data, {"horizon": "30d", "warmup": "5d",
                              "shocks": [{**data["shocks"][0], "duration": "5d"}]})
    if description is not None:
        data["description"] = description
    return parse_scenario(data, file=str(path), lines=lines, base_dir=path.parent)


def save(result: ExperimentResult, out: Path, fmt: str = "duckdb") -> Path:
    journal = make_journal(result, started_utc="2026-01-02T03:04:05.000Z",
                           ended_utc="2026-01-02T03:04:09.000Z",
                           scenario_file=str(reference_scenario("regulation_change")),
                           command=["shocktwin", "run", "regulation_change", "-n", "2"],
                           tables_format=fmt)
    save_results(result, journal, out, replace=True)
    return out


@pytest.fixture(scope="module")
def result() -> ExperimentResult:
    return run_experiment(regulation_change(), replications=2)


@pytest.fixture(scope="module")
def run_dir(result: ExperimentResult, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save(result, tmp_path_factory.mktemp("run") / "run")


def mtd_search(base: Path) -> Path:
    """A real MTD search through the CLI on the small outage plant of test_mtd."""
    base.mkdir(parents=True, exist_ok=True)
    scenario = base / "outage.yaml"
    scenario.write_text(yaml.safe_dump(deep_update(MTD_PLANT, {"mtd": {
        "shocks": [{"shock": "outage", "low": "1h", "high": "8d", "resolution": "8h",
                    "target": "2d"}],
        "replications": 4, "max_replications": 4, "rto": "3d", "mbco": 50}})))
    out = base / "search"
    done = CliRunner().invoke(cli.app, ["mtd", str(scenario), "--out", str(out)])
    assert done.exit_code in (0, 1), done.output
    return out


def optimize_front(base: Path) -> Path:
    """A real Pareto front through the CLI on the small plant of test_optimize."""
    base.mkdir(parents=True, exist_ok=True)
    scenario = base / "opt.yaml"
    scenario.write_text(yaml.safe_dump(OPTIMIZE_PLANT))
    done = CliRunner().invoke(cli.app, ["optimize", str(scenario), "--out", str(base / "o")])
    assert done.exit_code == 0, done.output
    return base / "o"


@pytest.fixture(scope="module")
def mtd_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return mtd_search(tmp_path_factory.mktemp("mtd"))


@pytest.fixture(scope="module")
def report(run_dir: Path, mtd_dir: Path) -> str:
    return render_report([run_dir, mtd_dir])


class Tags(HTMLParser):
    """Every start tag with its attributes, and the body of every <script>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self.text: list[str] = []
        self._in_script: dict[str, str | None] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._in_script = dict(attrs)
            self.scripts.append((self._in_script, ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = None

    def handle_data(self, data: str) -> None:
        if self._in_script is not None:
            attrs, body = self.scripts[-1]
            self.scripts[-1] = (attrs, body + data)
        else:
            self.text.append(data)


def parse(page: str) -> Tags:
    tags = Tags()
    tags.feed(page)
    tags.close()
    return tags


def figure_scripts(tags: Tags) -> list[str]:
    return [body for _, body in tags.scripts if "Plotly.newPlot" in body]


def report_data(tags: Tags) -> Any:
    body = next(b for a, b in tags.scripts if a.get("id") == "report-data")
    return json.loads(body)


# --------------------------------------------------------------------------- the page


def test_one_document_with_plotly_embedded_exactly_once(report: str) -> None:
    assert report.startswith("<!DOCTYPE html>")
    assert report.count("<html") == 1 and report.count("</html>") == 1
    assert report.count(get_plotlyjs()) == 1
    tags = parse(report)
    plotly = [b for _, b in tags.scripts if "plotly.js v" in b[:200]]
    assert len(plotly) == 1


def test_nothing_is_loaded_from_outside_the_file(report: str) -> None:
    tags = parse(report)
    for tag, attrs in tags.tags:
        assert tag not in ("link", "img", "iframe", "object", "embed", "base"), tag
        for name, value in attrs.items():
            if name in URL_ATTRS and value is not None:
                # Only in-page anchors; no file, protocol or protocol-relative address.
                assert value.startswith("#"), (tag, name, value)
        if tag == "script":
            assert "src" not in attrs
    style = "".join(re.findall(r"<style>(.*?)</style>", report, flags=re.S))
    assert "url(" not in style and "@import" not in style
    outside_scripts = "".join(tags.text)
    assert not re.search(r"https?://", outside_scripts)
    for _, body in tags.scripts:
        if "plotly.js v" not in body[:200]:
            # plotly.js carries URLs as strings (its logo link, map attributions); no
            # other script does.
            assert not re.search(r"https?://", body), body[:300]


def test_every_section_is_present_and_linked(report: str) -> None:
    for anchor, heading, _ in SECTIONS:
        if anchor in ("trends", "stress", "indicators_all", "pareto", "quality",
                      "quality_system"):
            # No history (so no review to compare with), no stress gate, no front, no
            # measured characteristic, no quality system in these folders: left out.
            assert f'id="{anchor}"' not in report
            continue
        assert f'<section id="{anchor}"><h2>{heading}</h2>' in report
        assert f'href="#{anchor}"' in report
    tags = parse(report)
    ids = [a["id"] for t, a in tags.tags if t == "div" and (a.get("class") or "").startswith(
        "plotly-graph-div")]
    # The heat map and the rule change's plans (printed); resilience curves, MTD bars and
    # KPI distributions (the appendix).
    assert [re.sub(r"^fig-\d+-", "", i).split("-")[0] for i in ids] == [
        "heat", "plans", "resilience", "mtd", "distributions"]
    assert len(figure_scripts(tags)) == len(ids)


def test_print_css_breaks_pages_and_hides_the_chart_toolbars(report: str) -> None:
    css = re.search(r"@media print \{(.*)\}\s*</style>", report, flags=re.S)
    assert css is not None
    assert "break-after: page" in css.group(1)
    assert ".modebar" in css.group(1) and "display: none" in css.group(1)


def test_executive_summary_states_verdict_kpis_and_mtd(report: str, result: ExperimentResult,
                                                       mtd_dir: Path) -> None:
    tags = parse(report)
    data = report_data(tags)
    [run] = data["runs"]
    assert run["verdict"] == getattr(result.verdict, "state", run["verdict"])
    assert run["share"] == pytest.approx(result.verdict.observed)
    assert run["required"] == pytest.approx(result.verdict.required)
    assert run["intact"] is True
    assert run["journal_hash"] == json.loads(
        (Path(data["runs"][0]["folder"]) / "journal.json").read_text())["journal_hash"]
    mtd = read_document(mtd_dir / "mtd.json")
    assert isinstance(mtd, MtdDocument)
    [search] = data["mtd"]
    assert search["shocks"][0]["mtd"] == mtd.shocks[0].mtd
    summary = report.split('<section id="decision">')[1].split("</section>")[0]
    held = round(result.verdict.observed * 2)
    assert (f"all tolerances held together in {held} of 2 replications "
            f"({result.verdict.observed:.0%}") in summary
    # Each KPI with its mean and Student-t interval as the run computed them, not cut.
    kpis = report.split('<section id="kpis">')[1].split("</section>")[0]
    ppm = result.summary["escaped_ppm"]
    assert f"<td>escaped_ppm</td><td>{ppm.mean:,.4g}</td>" in kpis
    assert f"{ppm.ci_low:,.4g} … {ppm.ci_high:,.4g}" in kpis
    badge = "MEETS TARGET" if mtd.shocks[0].meets_target else "MISSES TARGET"
    indicators = report.split('<section id="indicators">')[1].split("</section>")[0]
    assert "<b>test-plant</b> · outage</td><td>Maximum tolerable disruption" in indicators
    assert badge in indicators
    assert "<td>otd</td>" in report.split('<section id="mtd">')[1].split("</section>")[0]


def test_rule_change_lists_both_rule_sets_the_changes_and_the_lots(report: str,
                                                                   run_dir: Path) -> None:
    section = report.split('<section id="rules">')[1].split("</section>")[0]
    journal = json.loads((run_dir / "journal.json").read_text())
    reload = next(r for r in journal["records"] if r["kind"] == "RulesReloaded")
    for key in ("from_rules", "to_rules", "from_hash", "to_hash"):
        assert reload[key] in section
    assert "<li>valve: AQL 1.0 → 0.40 (stricter)</li>" in section
    # Level II → III on 4,000-piece lots: sample size 200 before the change, 315 after.
    assert "n = 200 (normal)" in section and "n = 315 (normal)" in section


def test_provenance_and_reproducibility_name_every_hash(report: str, run_dir: Path) -> None:
    journal = json.loads((run_dir / "journal.json").read_text())
    prov = report.split('<section id="provenance_full">')[1].split("</section>")[0]
    for path, digest in journal["rules"].items():
        assert path in prov and digest in prov
    repro = report.split('<section id="reproducibility_full">')[1].split("</section>")[0]
    for key in ("version", "scenario_hash", "journal_hash", "platform", "python",
                "started_utc", "ended_utc"):
        assert str(journal[key]) in repro, key
    assert f"<dd>{journal['seed']}</dd>" in repro
    assert "shocktwin run regulation_change -n 2" in repro


# --------------------------------------------------------------------------- inputs


def test_parquet_results_give_the_same_curves(result: ExperimentResult, run_dir: Path,
                                              tmp_path: Path) -> None:
    parquet = save(result, tmp_path / "parquet", fmt="parquet")
    assert not (parquet / "results.duckdb").exists()
    [a] = load_results([run_dir])
    [b] = load_results([parquet])
    assert a.series is not None and b.series is not None
    assert a.series.keys() == b.series.keys()
    for key in a.series:
        assert a.series[key].tolist() == pytest.approx(b.series[key].tolist(), nan_ok=True)
    # A journal whose tables are gone does not verify; reported anyway when told, the KPI
    # table comes from the journal's ReplicationFinished records.
    bare = tmp_path / "journal-only"
    bare.mkdir()
    (bare / "journal.json").write_text((run_dir / "journal.json").read_text())
    with pytest.raises(SimulationError, match=r"does not verify.*results.duckdb is missing"):
        load_results([bare])
    [c] = load_results([bare], unverified=True)
    assert c.series is None and not c.intact
    for kpi, values in a.kpi_values().items():
        assert c.kpi_values()[kpi].tolist() == pytest.approx(values.tolist(), nan_ok=True)
    assert "No KPI series in this folder" in render_report([bare], unverified=True)


@pytest.fixture(scope="module")
def optimize_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return optimize_front(tmp_path_factory.mktemp("optimize"))


def test_a_pareto_front_is_drawn_when_present(optimize_dir: Path, run_dir: Path,
                                              tmp_path: Path) -> None:
    doc = read_document(optimize_dir / "pareto.json")
    assert isinstance(doc, ParetoDocument)
    front = [p for p in doc.points if p.on_front]
    page = render_report([run_dir, optimize_dir])
    section = page.split('<section id="pareto">')[1].split("</section>")[0]
    assert 'href="#pareto"' in page
    assert f"{len(front)} non-dominated settings of {len(doc.points)}" in section
    assert "cost (minimised)" in section and "stockout_hours (minimised)" in section
    for point in front:
        label = ", ".join(f"{k} = {v}" for k, v in point.decisions.items())
        assert f"<td>{label}</td>" in section
    assert section.count("Plotly.newPlot") == 1
    repro = page.split('<section id="reproducibility">')[1]
    assert doc.scenario_hash is not None and doc.scenario_hash in repro
    # A list of points written by hand carries no integrity data: it is not reported.
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "pareto.json").write_text(json.dumps([{"cost": 1, "otd": 0.9, "name": "a"},
                                                   {"cost": 2, "otd": 0.95, "name": "b"}]))
    with pytest.raises(SimulationError, match=r"does not verify.*not a shocktwin result"):
        render_report([plain])


def test_bad_folders_are_all_listed_in_one_error(run_dir: Path, tmp_path: Path) -> None:
    future = tmp_path / "future"
    future.mkdir()
    journal = json.loads((run_dir / "journal.json").read_text())
    (future / "journal.json").write_text(json.dumps({**journal, "format": 99}))
    empty = tmp_path / "empty"
    empty.mkdir()
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "mtd.json").write_text('{"shocks": [')
    bad_front = tmp_path / "bad-front"
    bad_front.mkdir()
    (bad_front / "journal.json").write_text(json.dumps(journal))
    (bad_front / "pareto.json").write_text(json.dumps({"points": [{"cost": 1}]}))
    missing = tmp_path / "missing"
    with pytest.raises(SimulationError) as caught:
        render_report([run_dir, missing, future, empty, broken, bad_front])
    messages = [str(p) for p in caught.value.problems]
    assert len(messages) == 5, messages
    assert f"{missing}: results folder not found" in messages
    assert any(m.startswith(f"{future}: does not verify") and "unknown journal format 99" in m
               for m in messages)
    assert any(m.startswith(str(empty)) and "holds no journal.json" in m for m in messages)
    assert any(m.startswith(f"{broken}: does not verify") and "not valid JSON" in m
               for m in messages)
    assert any(m.startswith(f"{bad_front}: does not verify") and "pareto.json" in m
               for m in messages)
    with pytest.raises(SimulationError, match="no results folders"):
        render_report([])


def test_a_journal_without_a_format_version_is_refused(run_dir: Path, tmp_path: Path) -> None:
    old = tmp_path / "old"
    old.mkdir()
    journal = json.loads((run_dir / "journal.json").read_text())
    del journal["format"]
    (old / "journal.json").write_text(json.dumps(journal))
    with pytest.raises(SimulationError, match=r"does not verify.*unknown journal format None"):
        load_results([old])
    with pytest.raises(SimulationError, match="has no format version"):
        load_results([old], unverified=True)


def test_the_journal_is_verified_and_an_edit_is_flagged(report: str, run_dir: Path,
                                                        tmp_path: Path) -> None:
    repro = report.split('<section id="reproducibility_full">')[1]
    assert repro.count("INTACT</span> every result is as it was written") == 2
    edited = tmp_path / "edited"
    edited.mkdir()
    (edited / "results.duckdb").write_bytes((run_dir / "results.duckdb").read_bytes())
    journal = json.loads((run_dir / "journal.json").read_text())
    finished = next(r for r in journal["records"] if r["kind"] == "ReplicationFinished")
    finished["kpis"]["otd"] = 1.0 - finished["kpis"]["otd"] / 2
    (edited / "journal.json").write_text(json.dumps(journal))
    with pytest.raises(SimulationError, match=f"{edited}: does not verify: journal.json: "
                       "record .* edited"):
        render_report([edited])
    page = render_report([edited], unverified=True)
    summary = page.split('<section id="decision">')[1].split("</section>")[0]
    assert ("UNVERIFIED</span> The results of <b>regulation-change</b> do not verify"
            in summary.split('id="overall-verdict"')[0])  # page one, before the verdict
    assert "ReplicationFinished" in page.split('<section id="reproducibility_full">')[1]
    # A journal from before the hash chain (format 1) cannot be verified: refused, or
    # reported as unverified when told.
    legacy = tmp_path / "legacy"
    legacy.mkdir()
    journal = json.loads((run_dir / "journal.json").read_text())
    journal["format"] = 1
    for key in ("chain_hash",):
        journal.pop(key, None)
    for r in journal["records"]:
        for key in ("seq", "prev_hash", "hash"):
            r.pop(key, None)
    (legacy / "journal.json").write_text(json.dumps(journal))
    with pytest.raises(SimulationError, match="format 1 has no hash chain"):
        render_report([legacy])
    page = render_report([legacy], unverified=True)
    assert "format 1 has no hash chain" in page and "UNVERIFIED" in page


# --------------------------------------------------------------------------- escaping


def inject(journal: dict[str, Any], payload: str) -> dict[str, Any]:
    """Put ``payload`` into every user-supplied string the report shows."""
    journal = json.loads(json.dumps(journal))
    sc = journal["scenario"]
    sc["name"] = f"plant{payload}"
    shock = sc["shocks"][0]["id"]
    sc["shocks"][0].update(id=f"shock{payload}", target=f"iqc{payload}")
    for r in journal["records"]:
        if r.get("shock") == shock:
            r["shock"] = f"shock{payload}"
            r["target"] = f"iqc{payload}"
        if r["kind"] == "RulesReloaded":
            r["to_rules"] = f"rules{payload}"
            r["reason"] = f"reason{payload}"
            r["changes"] = [*r["changes"], f"change{payload}"]
        if r["kind"] == "RunStarted":
            r["scenario"] = f"plant{payload}"
    journal["command"] = ["shocktwin", "run", f"file{payload}.yaml"]
    journal["scenario_file"] = f"/plants/{payload}.yaml"
    journal["rules"] = {f"/rules/{payload}.yaml": "ab" * 32}
    journal["platform"] = f"Linux{payload}"
    journal["data"] = [{"store": f"/stores/{payload}.duckdb", "ingests": [
        {"source": f"/exports/{payload}.csv", "table": "operations", "format": "csv",
         "sha256": "cd" * 32, "rows_read": 12, "rows_loaded": 10, "rows_quarantined": 2,
         "period_start": "2024-01-01", "period_end": f"2024-03-31{payload}"}]}]
    return journal


@pytest.mark.parametrize("payload", PAYLOADS, ids=["script", "attribute"])
def test_user_text_is_escaped_everywhere(payload: str, tmp_path: Path, mtd_dir: Path,
                                         optimize_dir: Path) -> None:
    # The description is free text in a valid scenario; the rest is put in the journal by
    # hand, as anyone with the file could.
    result = run_experiment(regulation_change(description=f"plan {payload} done"),
                            replications=2)
    run = save(result, tmp_path / "run")
    journal = json.loads((run / "journal.json").read_text())
    (run / "journal.json").write_text(json.dumps(inject(journal, payload)))
    search = tmp_path / "search"
    search.mkdir()
    mtd = json.loads((mtd_dir / "mtd.json").read_text())
    mtd["scenario"] = f"mtd{payload}"
    mtd["records"][0].update(shock=f"outage{payload}", axis=f"axis{payload}",
                             binding_kpi=f"kpi{payload}", notes=[f"note{payload}"])
    (search / "mtd.json").write_text(json.dumps(mtd))
    pareto = json.loads((optimize_dir / "pareto.json").read_text())
    for r in pareto["records"]:
        if r["kind"] == "PointEvaluated":
            r["objectives"] = {f"{k}{payload}" if k == "cost" else k: v
                               for k, v in r["objectives"].items()}
            r["decisions"] = {f"{k}{payload}": v for k, v in r["decisions"].items()}
        else:
            for o in r["objectives"]:
                o["name"] = f"{o['name']}{payload}" if o["name"] == "cost" else o["name"]
    (search / "pareto.json").write_text(json.dumps(pareto))

    with pytest.raises(SimulationError, match="does not verify"):
        render_report([run, search])  # the hand edits break the hash chains
    page = render_report([run, search], title=f"Review {payload}", unverified=True)
    assert payload not in page
    assert "UNVERIFIED" in page
    assert "<img" not in page
    escaped = ESCAPED[PAYLOADS.index(payload)]
    for where in (f"<h1>Review {escaped}</h1>", f"plan {escaped} done", f"plant{escaped}",
                  f"change{escaped}", f"/stores/{escaped}.duckdb", f"file{escaped}.yaml",
                  f"outage{escaped}", f"note{escaped}", f"/rules/{escaped}.yaml"):
        assert where in page or where.replace("&quot;", "&#x27;") in page, where
    tags = parse(page)
    assert [t for t, _ in tags.tags].count("script") == len(tags.scripts)
    assert all(set(a) <= {"type", "id"} for a, _ in tags.scripts)
    for _, body in tags.scripts:
        if "plotly.js v" in body[:200]:
            continue
        # Nothing inside a script can close it or open a tag: JSON carries "<" as \u003c.
        assert "<" not in body, body[:300]
    # What plotly renders as HTML was escaped before plotly saw it.
    figures = "".join(figure_scripts(tags))
    decoded = figures.replace("\\u003c", "<").replace("\\u003e", ">").replace("\\u002f", "/")
    assert payload not in decoded
    assert f"shock{escaped}" in decoded  # the shaded window's legend entry
    assert f"outage{escaped}" in decoded  # the MTD bar's category
    assert f"cost{escaped}" in decoded  # the Pareto axis title
    data = report_data(tags)
    assert data["runs"][0]["scenario"] == f"plant{payload}"  # JSON round-trips exactly


# --------------------------------------------------------------------------- output


def test_same_inputs_give_the_same_bytes(run_dir: Path, mtd_dir: Path) -> None:
    a = render_report([run_dir, mtd_dir])
    b = render_report([run_dir, mtd_dir])
    assert a == b
    stamped = render_report([run_dir, mtd_dir], generated_utc="2026-02-03T04:05:06.000Z")
    differ = [(x, y) for x, y in zip(a.splitlines(), stamped.splitlines(), strict=True)
              if x != y]
    assert len(differ) == 1 and "report generated Feb 3, 2026, 4:05:06" in differ[0][1]


def test_write_report_is_atomic_and_readable(run_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "review" / "report.html"
    assert write_report([run_dir], out, title="Q1 review") == out
    assert out.read_text(encoding="utf-8") == render_report([run_dir], title="Q1 review")
    assert [p.name for p in out.parent.iterdir()] == ["report.html"]
    assert out.stat().st_mode & 0o044 == 0o044  # readable by the review, not private
    before = out.read_text(encoding="utf-8")
    with pytest.raises(SimulationError):
        write_report([tmp_path / "nope"], out)
    assert out.read_text(encoding="utf-8") == before  # a failed report leaves the old one


def test_report_command_writes_the_file_and_exits_2_on_bad_input(run_dir: Path,
                                                                  tmp_path: Path) -> None:
    app = typer.Typer()
    app.command("report")(report_command)
    app.command("noop")(lambda: None)  # two commands, so "report" is a subcommand
    runner = CliRunner()
    out = tmp_path / "r.html"
    done = runner.invoke(app, ["report", str(run_dir), "-o", str(out), "--title", "Review"])
    assert done.exit_code == 0, done.output
    assert "report written to" in done.stdout and "<h1>Review</h1>" in out.read_text()
    assert "report generated " in out.read_text()
    bad = runner.invoke(app, ["report", str(run_dir), str(tmp_path / "gone"), "-o",
                              str(tmp_path / "x.html")])
    assert bad.exit_code == 2
    assert f"error: {tmp_path / 'gone'}: results folder not found" in bad.stderr
    assert not (tmp_path / "x.html").exists()
    assert (report_command.__doc__ or "").strip()


def test_the_shock_table_names_the_layers_touched_and_what_a_selector_hit(
        tmp_path: Path) -> None:
    from test_products import _two_tier

    data = _two_tier(target={"region": "JP"})
    data["warmup"] = "10h"
    rows = _table_rows(_report_of(data, tmp_path / "tiers"))
    assert rows["quake"][:4] == ["quake", "supplier_outage", "{region=JP}: foundry",
                                 "physical"]


def _report_of(data: dict[str, Any], folder: Path) -> str:
    """The report of one run of the scenario ``data``, saved into ``folder``."""
    result = run_experiment(parse_scenario(data))
    journal = make_journal(result, started_utc="2026-01-02T03:04:05.000Z",
                           ended_utc="2026-01-02T03:04:09.000Z", scenario_file=None,
                           command=["shocktwin", "run", folder.name], tables_format="duckdb")
    save_results(result, journal, folder)
    return render_report([folder])


def _table_rows(page: str) -> dict[str, list[str]]:
    """Every table row of ``page`` by the text of its first cell, as the cells' texts."""
    rows = {}
    for row in re.findall(r"<tr>.*?</tr>", page, re.S):
        cells = [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row,
                                                                  re.S)]
        if cells:
            rows.setdefault(cells[0], cells)
    return rows


def test_a_products_tolerance_is_its_own_and_many_products_are_summed_up(
        tmp_path: Path) -> None:
    products = [{"id": f"p{k}", "routing": ["m"], "demand": {"rate": "0.1/h", "due_in": "5h"}}
                for k in range(8)]
    data = {"version": 1, "name": "many", "horizon": "50h",
            "plant": {"stations": [{"id": "m", "process_time": "1min"}],
                      "products": products},
            "hypothesis": [{"kpi": "otd", "min": 0.5},
                           {"kpi": "otd", "product": "p3", "min": 0.99}],
            "experiment": {"replications": 2}}
    page = _report_of(data, tmp_path / "many")
    rows = _table_rows(page)
    assert rows["otd"][3] == "≥ 50.00%"  # the plant's bound, not p3's
    assert rows["otd[p3]"][3] == "≥ 99.00%"
    assert "otd[p4]" not in rows
    assert "The KPIs of 7 more products are in the results tables." in page


def test_an_mtd_outside_its_range_is_said_in_words(tmp_path: Path) -> None:
    # The hypothesis fails even at the lowest severity searched: the table and the chart
    # say what "below range" means, never the raw token mtd.json writes.
    base = tmp_path / "below"
    base.mkdir()
    scenario = base / "outage.yaml"
    scenario.write_text(yaml.safe_dump(deep_update(MTD_PLANT, {
        "hypothesis": {"probability": 0.9, "tolerances": [{"kpi": "otd", "min": 1.0001}]},
        "mtd": {"shocks": [{"shock": "outage", "low": "1h", "high": "8d",
                            "resolution": "8h"}],
                "replications": 4, "max_replications": 4}})))
    out = base / "search"
    done = CliRunner().invoke(cli.app, ["mtd", str(scenario), "--out", str(out)])
    assert done.exit_code in (0, 1), done.output
    doc = read_document(out / "mtd.json")
    assert isinstance(doc, MtdDocument) and doc.shocks[0].mtd == "below_range"
    page = render_report([out])
    assert "below the searched range (the hypothesis fails at its lowest severity)" in page
    assert "below_range" not in page.split("<script", 1)[0]
    assert "MTD below_range" not in page
