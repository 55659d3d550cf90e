"""Replaying an MES log as a job shop: the task decomposition, the three feeds, derive, and
the fidelity of the trace replay against the recorded 4TU log."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import yaml
from replay_testkit import SHARED_DATA, new_store
from typer.testing import CliRunner

from shocktwin import cli
from shocktwin.edge_replay.ingest import ingest
from shocktwin.edge_replay.mapping import SourceMapping
from shocktwin.edge_replay.replay import open_shop_log
from shocktwin.edge_replay.schema import Table
from shocktwin.errors import ScenarioError
from shocktwin.scenarios import load_scenario
from shocktwin.scenarios.model import ReplayMode
from shocktwin.twin.experiment.derive import DerivedForm, derive_scenario
from shocktwin.twin.experiment.replay_check import check_replay
from shocktwin.twin.experiment.replication import run_replication

FOURTU = SHARED_DATA / "production_4tu" / "Production_Data.csv"
needs_4tu = pytest.mark.skipif(
    not FOURTU.is_file(), reason=f"the 4TU production log is not bundled (licence "
    f"unconfirmed) and is absent from {FOURTU.parent}")

# Three work orders, hand-made so every kind of task shows:
#  A: mill on M 08-10, then QC 12-13: an `after` task with a 2 h gap while QC is free.
#  B: QC 07-08, then M 10-11: its gap 08-10 is exactly when M (one machine) ran A, so the
#     extraneous wait is 0 and the twin must make it queue behind A instead.
#  C: P 08-12 and QC 09-09:30 overlapping it: a `with` task, offset 1 h.
# No two QC reports overlap, so every resource has one server.
LOG = """order,step,machine,began,ended,good,bad
A,mill,M,2024-01-01 08:00,2024-01-01 10:00,10,0
A,check,QC,2024-01-01 12:00,2024-01-01 13:00,9,1
B,check,QC,2024-01-01 07:00,2024-01-01 08:00,5,0
B,mill,M,2024-01-01 10:00,2024-01-01 11:00,5,0
C,turn,P,2024-01-01 08:00,2024-01-01 12:00,4,0
C,check,QC,2024-01-01 09:00,2024-01-01 09:30,4,0
"""
MAPPING = SourceMapping(table=Table.OPERATIONS, columns={
    "order": "case_id", "step": "activity", "machine": "resource", "began": "start_ts",
    "ended": "end_ts", "good": "qty_completed", "bad": "qty_rejected"},
    timestamp_format="%Y-%m-%d %H:%M")


@pytest.fixture
def small_store(tmp_path: Path) -> Path:
    src = tmp_path / "mes.csv"
    src.write_text(LOG)
    db = new_store(tmp_path)
    ingest(src, "csv", db, MAPPING)
    return db


def _scenario(tmp_path: Path, db: Path, mode: str = "trace", shocks: str = "") -> Path:
    derived = derive_scenario(db, store_ref=str(db), mode=ReplayMode(mode),
                              form=DerivedForm.SHOP)
    path = tmp_path / f"shop-{mode}.yaml"
    path.write_text(derived.yaml_text + shocks)
    return path


def test_tasks_split_recorded_gaps_into_contention_and_extraneous_wait(small_store) -> None:
    log = open_shop_log(small_store)
    assert (log.cases, log.operations) == (3, 6)
    assert {r.name: r.capacity for r in log.resources} == {"M": 1, "P": 1, "QC": 1}
    tasks = {(t["case_id"], t["seq"]): t for t in log.task_table().to_pylist()}
    t0 = 7.0  # the log starts at 07:00
    assert tasks["A", 2]["after"] and tasks["A", 2]["wait_h"] == pytest.approx(2.0)
    assert tasks["B", 2]["after"] and tasks["B", 2]["wait_h"] == pytest.approx(0.0)
    assert not tasks["C", 2]["after"] and tasks["C", 2]["wait_h"] == pytest.approx(1.0)
    assert tasks["A", 1]["release_h"] == pytest.approx(8.0 - t0)
    assert tasks["A", 1]["work_h"] == pytest.approx(2.0)


def test_trace_replay_reproduces_the_recorded_lead_times(small_store, tmp_path) -> None:
    sc = load_scenario(_scenario(tmp_path, small_store))
    fidelity = check_replay(sc)
    assert fidelity.orders_compared == 3 and fidelity.orders_unfinished == 0
    # B only matches because the twin queues it behind A on the single machine M.
    assert fidelity.lead_time_mdape == 0.0
    assert fidelity.lead_time_p90_ape == 0.0
    assert {r.name: (r.log_reports, r.twin_reports) for r in fidelity.resources} == {
        "M": (2, 2), "P": (1, 1), "QC": (3, 3)}
    assert fidelity.utilisation_max_abs_error < 1e-12


def test_a_shock_on_a_shop_resource_delays_the_orders_that_need_it(small_store,
                                                                   tmp_path) -> None:
    # A day, so that the delayed orders finish within the run (a derived run measures the
    # log's 6 h).
    base = load_scenario(_scenario(tmp_path, small_store)).model_copy(update={"horizon": 24.0})
    cut = load_scenario(_scenario(tmp_path, small_store, shocks=(
        "shocks:\n  - {id: m-down, type: staff_shortage, target: m, start: 0h, "
        "duration: 6h, absent: 1.0}\n"))).model_copy(update={"horizon": 24.0})
    lead = run_replication(base, 0, seed=1).kpis["release_lead_time_mean"]
    shocked = run_replication(cut, 0, seed=1)
    # M is out for the first 6 h (07:00-13:00). A's milling and B's (both ready at 08:00,
    # A's first) wait until 13:00: A mills 13-15 and checks 17-18, 5 h late; B mills
    # 15-16, 5 h late. C does not use M.
    assert shocked.kpis["release_lead_time_mean"] == pytest.approx(lead + (5 + 5) / 3)


def test_resampling_modes_release_orders_from_their_own_stream(small_store, tmp_path) -> None:
    boot = load_scenario(_scenario(tmp_path, small_store, "bootstrap"))
    # The log holds one day, so each simulated day (a day of warm-up, then the log's 6 h)
    # replays its three orders.
    assert math.ceil(boot.horizon / 24) == 2
    assert run_replication(boot, 0, seed=3).snapshots["started"][-1] == 2 * 3
    fit = load_scenario(_scenario(tmp_path, small_store, "fit"))
    a = run_replication(fit, 0, seed=3)
    again = run_replication(fit, 0, seed=3)
    other = run_replication(fit, 1, seed=3)
    assert json.dumps(a.kpis) == json.dumps(again.kpis)
    assert json.dumps(a.kpis) != json.dumps(other.kpis)


def test_shop_scenarios_refuse_what_they_cannot_replay(small_store, tmp_path) -> None:
    text = _scenario(tmp_path, small_store).read_text()
    bad = tmp_path / "bad.yaml"
    bad.write_text(text + "shocks:\n  - {id: rush, type: demand_surge, start: 0h, "
                   "duration: 1h, factor: 2}\n  - {id: wet, type: flood_logistics, "
                   "start: 0h, duration: 1h}\n")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(bad)
    text_of = "\n".join(str(p) for p in caught.value.problems)
    assert "a trace replay takes from the log" in text_of
    assert "acts on suppliers" in text_of
    missing = yaml.safe_load(text)
    missing["shop"]["resources"] = missing["shop"]["resources"][:1]
    (tmp_path / "missing.yaml").write_text(yaml.safe_dump(missing))
    result = CliRunner().invoke(cli.app, ["run", str(tmp_path / "missing.yaml")])
    assert result.exit_code == 2
    assert "the log has work on 'P', which the scenario does not list" in result.output


# ------------------------------------------------------------------------ the 4TU log


@pytest.fixture(scope="module")
def fourtu(tmp_path_factory) -> tuple[Path, Path]:  # type: ignore[no-untyped-def]
    if not FOURTU.is_file():
        pytest.skip(f"the 4TU production log is absent from {FOURTU.parent}")
    folder = tmp_path_factory.mktemp("fourtu")
    db = folder / "plant.duckdb"
    runner = CliRunner()
    assert runner.invoke(cli.app, ["ingest", str(FOURTU), "--format", "4tu-production",
                                   "--db", str(db)]).exit_code == 0
    out = folder / "scenarios" / "shop.yaml"
    result = runner.invoke(cli.app, ["derive", "--db", str(db), "--out", str(out),
                                     "--as", "shop"])
    assert result.exit_code == 0, result.output
    return db, out


@needs_4tu
def test_derive_then_run_on_the_4tu_log(fourtu) -> None:
    _, path = fourtu
    sc = load_scenario(path)
    assert sc.shop is not None
    by_name = {r.name: r for r in sc.shop.resources}
    # SOURCE.md: 31 resources; Quality Check 1 is the busiest, and a QC station.
    assert len(by_name) == 31
    assert by_name["Quality Check 1"].kind == "inspection"
    assert by_name["Machine 4 - Turning & Milling"].kind == "process"
    text = path.read_text()
    assert "225 work orders, 4521 operation reports" in text
    out = path.parent / "out"
    result = CliRunner().invoke(cli.app, ["run", str(path), "--json", "--out", str(out)])
    # Held in every replication; too few replications to show the 90 % required: exit 4.
    assert result.exit_code in (0, 4), result.output
    hypothesis = json.loads(result.output)["hypothesis"]
    assert hypothesis["held"] == hypothesis["n"]
    kpis = {k: v["mean"] for k, v in json.loads(result.output)["kpis"].items()}
    # All 225 recorded orders finish within the log's 2141.75 h (and the minute after).
    assert kpis["throughput_per_h"] == pytest.approx(225 / (2141.75 + 1 / 60))
    # The journal names the data: the log's SHA-256 as SOURCE.md gives it.
    [store] = json.loads((out / "journal.json").read_text())["data"]
    assert {i["sha256"] for i in store["ingests"]} == {
        "decb1af65bb7a9cd06db8a99ccfd5f2858b66399745fe7e2a4faf5da8dca2877"}


@needs_4tu
def test_trace_replay_fidelity_on_the_4tu_log(fourtu) -> None:
    """The twin's validation against the record.

    Trace mode replays recorded releases, work and extraneous waits; what the twin decides
    is contention at the resources (capacity = the most reports the log shows at once)
    and when overlapping reports are dispatched. Timestamps are to the minute, so an
    exact replay is within 1/60 h of the record; the bound allows for the two modelling
    choices that can move an order: an overlapping report is placed from the dispatch of
    the report before it rather than its start, and the saturated-time split of a gap is
    an approximation when several orders wait for the same machine. Median < 1 % and
    90th percentile < 2 % of the order lead time (median 334 h in the log).
    """
    _, path = fourtu
    f = check_replay(load_scenario(path), modes=(ReplayMode.BOOTSTRAP,), replications=10)
    assert f.orders == 225 and f.orders_compared == 225 and f.orders_unfinished == 0
    assert f.lead_time_mdape < 0.01
    assert f.lead_time_p90_ape < 0.02
    assert math.isclose(f.twin_lead_time_mean_h, f.log_lead_time_mean_h, rel_tol=0.01)
    # Every report is worked, on its own resource, for its recorded time.
    assert all(r.twin_reports == r.log_reports for r in f.resources)
    assert f.utilisation_max_abs_error < 1e-9
    assert sum(r.log_reports for r in f.resources) == 4521
    # Bootstrap releases orders at the recorded rate (225 over 89.2 days).
    [boot] = f.modes
    rate, half = boot.release_rate_per_h
    assert abs(rate - f.log_throughput_per_h) < max(2 * half, 0.15 * f.log_throughput_per_h)


# ------------------------------------------------------------ recorded supplier lead times


def test_supplier_lead_times_replay_recorded_deliveries(tmp_path) -> None:
    import numpy as np
    from replay_testkit import REPO_DATA

    from shocktwin.scenarios.model import RecordedDist
    from shocktwin.twin.experiment.feed import recorded_sampler

    db = new_store(tmp_path)
    ingest(REPO_DATA / "scms_delivery_history" / "SCMS_Delivery_History_Dataset.csv", "scms",
           db)
    sc = load_scenario(Path(__file__).resolve().parents[2] / "scenarios" / "replay"
                       / "valve_scms.yaml")
    vendor = "S. BUYS WHOLESALER"
    boot = recorded_sampler(sc, RecordedDist(dist="recorded", store=str(db), supplier=vendor),
                            np.random.default_rng(1))
    draws = np.array([boot() for _ in range(5000)]) / 24.0
    # 491 recorded lines with an order date; median 19 days (computed from the source CSV
    # by SOURCE.md's recipe: PO sent -> delivered).
    assert np.all(draws == np.round(draws)) and draws.min() >= 0  # whole recorded days
    assert np.median(draws) == pytest.approx(19, abs=2)
    fit = recorded_sampler(sc, RecordedDist(dist="recorded", store=str(db), supplier=vendor,
                                            mode="fit"), np.random.default_rng(1))
    assert np.mean([fit() for _ in range(20000)]) / 24.0 == pytest.approx(
        np.mean(draws), rel=0.15)
    with pytest.raises(Exception, match="no recorded lead time for supplier 'Nobody'"):
        recorded_sampler(sc, RecordedDist(dist="recorded", store=str(db), supplier="Nobody"),
                         np.random.default_rng(1))
