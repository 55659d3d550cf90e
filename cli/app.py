"""The `shocktwin` command line: parse, call one library function, render, set the exit code.

Exit codes: 0 the steady-state hypothesis holds (or the command succeeded), 1 it is
violated, 2 the input is invalid. Library errors become one line per problem on stderr.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.table import Table

from shocktwin.cli._errors import EXIT_INVALID, console, stderr
from shocktwin.cli._errors import errors_to_exit as _errors_to_exit
from shocktwin.cli.report import report_command
from shocktwin.cli.rules import print_rules_schema, rules_app
from shocktwin.errors import Problem, ScenarioError, ShocktwinError, SimulationError, unknown_name
from shocktwin.files import write_atomic
from shocktwin.kpis import SHARE_KPIS
from shocktwin.kpis import format_kpi as _fmt
from shocktwin.twin.kernel import Engine

app = typer.Typer(
    name="shocktwin",
    help="How much disruption can your quality system take? A resilience digital twin.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
schema_app = typer.Typer(help="Print JSON Schemas of the file formats.", no_args_is_help=True)
app.add_typer(schema_app, name="schema")
shocks_app = typer.Typer(help="The shock types this installation knows.", no_args_is_help=True)
app.add_typer(shocks_app, name="shocks")
app.add_typer(rules_app, name="rules")
schema_app.command("rules")(print_rules_schema)
app.command("report")(report_command)

stdout = console()

EXIT_HOLDS, EXIT_VIOLATED = 0, 1


def _scenario_path(text: str) -> Path:
    """A scenario file path, or the name of a bundled reference scenario."""
    path = Path(text)
    if path.exists() or path.suffix in {".yaml", ".yml"} or "/" in text:
        return path
    from shocktwin.scenarios import reference_scenario

    try:
        return reference_scenario(text)
    except FileNotFoundError:
        return path


E = TypeVar("E", bound=StrEnum)


def _choice(kind: type[E], value: str, option: str,
            error: type[ShocktwinError] = ScenarioError) -> E:
    """``value`` as a member of ``kind``, or an error naming the option, the valid values and
    the nearest one."""
    try:
        return kind(value)
    except ValueError:
        message = unknown_name("value", value, [k.value for k in kind], listed="one of")
        raise error(f"{option}: {message}") from None


# --------------------------------------------------------------------------- run

_EXECUTOR_HELP = "Where replications run: local, process or dask."
_SCHEDULER_HELP = ("Dask scheduler address (tcp://host:8786); without it --executor dask "
                   "starts a local cluster of --workers processes.")


def _executor(kind: str, workers: int | None, scheduler: str | None) -> Any:
    from shocktwin.twin.experiment.executor import Executor, ExecutorSpec

    chosen = _choice(Executor, kind, "--executor")
    if scheduler is not None and chosen is not Executor.DASK:
        raise ScenarioError("--scheduler goes with --executor dask")
    return ExecutorSpec(chosen, workers, scheduler)



@app.command()
@_errors_to_exit
def run(
    scenario: Annotated[str, typer.Argument(help="Scenario file, or a bundled scenario's name.")],
    replications: Annotated[int | None, typer.Option("--replications", "-n", min=1,
                                                     help="Replications (default: scenario).")
                            ] = None,
    seed: Annotated[int | None, typer.Option(min=0, help="Seed (default: scenario).")] = None,
    engine: Annotated[Engine | None, typer.Option(help="Simulation engine.")] = None,
    out: Annotated[Path | None, typer.Option(help="Folder for the journal and KPI tables.")
                   ] = None,
    fmt: Annotated[str, typer.Option("--format", help="Results format: duckdb or parquet.")
                   ] = "duckdb",
    executor: Annotated[str, typer.Option(help=_EXECUTOR_HELP)] = "local",
    workers: Annotated[int | None, typer.Option(min=1, help="Worker processes.")] = None,
    scheduler: Annotated[str | None, typer.Option(help=_SCHEDULER_HELP)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print only JSON on stdout.")] = False,
    force: Annotated[bool, typer.Option(help="Write into an --out folder that is not empty.")
                     ] = False,
) -> None:
    """Run a scenario's replications; print KPIs with 95 % CIs and the hypothesis verdict.

    Exit 0 when the steady-state hypothesis holds, 1 when it is violated, 2 for bad input.
    """
    from shocktwin.edge_replay.results import check_results_folder
    from shocktwin.scenarios.loader import load_scenario
    from shocktwin.twin.experiment.replication import run_experiment
    from shocktwin.twin.journal.record import journal_hash, make_journal, save_results, utc_now

    if fmt not in ("duckdb", "parquet"):
        raise ScenarioError(f"--format must be duckdb or parquet, not {fmt!r}")
    spec = _executor(executor, workers, scheduler)
    path = _scenario_path(scenario)
    sc = load_scenario(path)
    if out is not None:
        check_results_folder(out, replace=force)  # before the run, not after it
    started = utc_now()
    with _progress(f"{sc.name}", enabled=not as_json) as progress:
        result = run_experiment(sc, replications=replications, seed=seed, engine=engine,
                                executor=spec.kind, workers=spec.workers,
                                scheduler=spec.scheduler, progress=progress)
    ended = utc_now()
    written: list[Path] = []
    chain = None
    if out is not None:
        journal = make_journal(result, started_utc=started, ended_utc=ended,
                               scenario_file=str(path), command=sys.argv)
        written = save_results(result, journal, out, fmt, replace=force)
        chain = journal.chain_hash
    digest = journal_hash(result)
    if as_json:
        doc = _result_json(result, digest, written)
        if chain is not None:
            doc["chain_hash"] = chain
        print(json.dumps(doc, indent=2, allow_nan=False))
    else:
        _print_result(result, digest, written)
        if chain is not None:
            stdout.print(f"chain hash {chain} (keep it to check the results later: "
                         f"shocktwin verify {out} --chain-hash {chain})", highlight=False,
                         markup=False, soft_wrap=True)
    raise typer.Exit(EXIT_HOLDS if result.verdict.holds else EXIT_VIOLATED)


class _progress:
    """A progress bar on stderr for runs of several replications (only on a terminal)."""

    def __init__(self, label: str, *, enabled: bool) -> None:
        self.label = label
        self.enabled = enabled and stderr.is_terminal
        self._bar: Any = None
        self._task: Any = None

    def __enter__(self) -> Callable[[int, int], None] | None:
        if not self.enabled:
            return None
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

        self._bar = Progress("[progress.description]{task.description}", BarColumn(),
                             MofNCompleteColumn(), TimeRemainingColumn(), console=stderr,
                             transient=True)
        self._bar.start()
        self._task = self._bar.add_task(self.label, total=None)

        def update(done: int, total: int) -> None:
            self._bar.update(self._task, completed=done, total=total)

        return update

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()


def _num(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else x


def _result_json(result: Any, digest: str, written: list[Path]) -> dict[str, Any]:
    sc = result.scenario
    stations: dict[str, dict[str, float | None]] = {}
    for rep in result.replications:
        for row in rep.stations:
            acc = stations.setdefault(row["station"], {})
            for k, v in row.items():
                if isinstance(v, int | float) and not isinstance(v, bool):
                    acc[k] = (acc.get(k) or 0.0) + v / len(result.replications)
    return {
        "scenario": sc.name,
        "scenario_hash": sc.content_hash(),
        "seed": result.seed,
        "engine": result.engine.value,
        "replications": len(result.replications),
        "events": result.events,
        "kpis": {k: {"mean": _num(s.mean), "std": _num(s.std), "ci_low": _num(s.ci_low),
                     "ci_high": _num(s.ci_high), "n": s.n} for k, s in result.summary.items()},
        "stations": {sid: {k: _num(v) for k, v in m.items()} for sid, m in stations.items()},
        "hypothesis": {
            "holds": result.verdict.holds,
            "required": result.verdict.required,
            "observed": result.verdict.observed,
            "checks": [{"kpi": c.tolerance.kpi.value, "min": c.tolerance.min,
                        "max": c.tolerance.max, "mean": _num(c.mean),
                        "share_within": c.share_within} for c in result.verdict.checks],
        },
        "journal_hash": digest,
        "output": [str(p) for p in written],
    }


def _print_result(result: Any, digest: str, written: list[Path]) -> None:
    sc = result.scenario
    tolerances = {c.tolerance.kpi.value: c for c in result.verdict.checks}
    table = Table(title=f"{sc.name}: {len(result.replications)} replications, seed "
                  f"{result.seed}, {result.engine.value}", title_justify="left")
    for col in ("KPI", "mean", "95% CI", "tolerance", "held in"):
        table.add_column(col, justify="left" if col in ("KPI", "tolerance") else "right",
                         no_wrap=True)
    for kpi, s in result.summary.items():
        check = tolerances.get(kpi)
        tol = ""
        held = ""
        if check is not None:
            t = check.tolerance
            parts = []
            if t.min is not None:
                parts.append(f"≥ {_fmt(kpi, t.min)}")
            if t.max is not None:
                parts.append(f"≤ {_fmt(kpi, t.max)}")
            tol = ", ".join(parts)
            held = f"{check.share_within:.0%}"
        # Student-t intervals, shown within each KPI's range: all are >= 0, shares <= 1.
        low, high = max(s.ci_low, 0.0), s.ci_high
        if kpi in SHARE_KPIS:
            high = min(high, 1.0)
        ci = "–" if s.n < 2 else f"{_fmt(kpi, low)} … {_fmt(kpi, high)}"
        table.add_row(kpi, _fmt(kpi, s.mean), ci, tol, held)
    stdout.print(table)
    v = result.verdict
    word = "HOLDS" if v.holds else "VIOLATED"
    stdout.print(f"steady-state hypothesis {word}: all tolerances held in {v.observed:.0%} of "
                 f"replications (required {v.required:.0%})", highlight=False)
    stdout.print(f"journal hash {digest}", highlight=False)
    if written:
        stdout.print(f"results written to {written[0].parent}/ "
                     f"({', '.join(p.name for p in written)})", highlight=False)
    else:
        stdout.print("results not saved (use --out DIR)", highlight=False)


# --------------------------------------------------------------------------- validate, schema


@app.command()
def validate(
    files: Annotated[list[str], typer.Argument(help="Scenario files (or bundled names).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print only JSON on stdout.")] = False,
) -> None:
    """Check scenario files, and that what they ask for fits the run budget (memory,
    CPU-days); list every problem with file, line and path. Exit 2 if any."""
    from shocktwin.scenarios.loader import load_scenario
    from shocktwin.twin.experiment.budget import check_plan

    report: list[dict[str, Any]] = []
    bad = False
    for text in files:
        path = _scenario_path(text)
        try:
            sc = load_scenario(path)
            check_plan(sc)
            report.append({"file": str(path), "valid": True, "name": sc.name,
                           "scenario_hash": sc.content_hash(), "problems": []})
            if not as_json:
                stdout.print(f"ok: {path} ({sc.name})", highlight=False)
        except ShocktwinError as e:
            bad = True
            report.append({"file": str(path), "valid": False, "problems": [
                {"line": p.line, "path": p.path, "message": p.message} for p in e.problems]})
            if not as_json:
                for p in e.problems:
                    stderr.print(f"error: {p}", markup=False, highlight=False)
    if as_json:
        print(json.dumps(report, indent=2))
    raise typer.Exit(EXIT_INVALID if bad else 0)


@app.command()
@_errors_to_exit
def ingest(
    source: Annotated[Path, typer.Argument(help="The file to read.")],
    fmt: Annotated[str, typer.Option("--format", help="4tu-production, secom, scms, "
                                     "steel-plates, csv or parquet.")],
    db: Annotated[Path, typer.Option(help="The DuckDB store (created when missing).")],
    mapping: Annotated[Path | None, typer.Option(help="Column mapping (YAML) for csv and "
                                                 "parquet sources.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print only JSON on stdout.")] = False,
) -> None:
    """Load recorded shop-floor data into the store; unusable rows go to quarantine."""
    from shocktwin.edge_replay.ingest import SourceFormat
    from shocktwin.edge_replay.ingest import ingest as run_ingest
    from shocktwin.errors import ReplayError

    kind = _choice(SourceFormat, fmt, "--format", ReplayError)
    report = run_ingest(source, kind, db, mapping)
    rows = [{"table": str(t.table), "read": t.rows_read, "loaded": t.rows_loaded,
             "quarantined": t.rows_quarantined,
             "period_start": str(t.period_start) if t.period_start else None,
             "period_end": str(t.period_end) if t.period_end else None}
            for t in report.tables]
    if as_json:
        print(json.dumps({"source": str(report.source), "db": str(report.db),
                          "format": str(report.format), "sha256": report.sha256,
                          "replaced_previous": report.replaced_previous, "tables": rows},
                         indent=2))
        return
    for r in rows:
        period = f" ({r['period_start']} – {r['period_end']})" if r["period_start"] else ""
        stdout.print(f"{r['table']}: read {r['read']:,}, loaded {r['loaded']:,}, "
                     f"quarantined {r['quarantined']:,}{period}", highlight=False)
    if report.rows_quarantined:
        stdout.print(f"quarantined rows and their reasons: SELECT * FROM quarantine in {db}",
                     highlight=False)


@app.command()
@_errors_to_exit
def derive(
    db: Annotated[Path, typer.Option(help="The store holding an ingested MES log.")],
    out: Annotated[Path, typer.Option(help="The scenario file to write.")],
    source: Annotated[str | None, typer.Option(help="Which ingested file, when the store "
                                               "holds several (its path or name).")] = None,
    name: Annotated[str | None, typer.Option(help="Scenario name.")] = None,
    mode: Annotated[str, typer.Option(help="Replay mode: trace, bootstrap or fit.")] = "trace",
    force: Annotated[bool, typer.Option(help="Overwrite an existing file.")] = False,
) -> None:
    """Write a runnable job-shop scenario derived from an ingested MES log."""
    import os

    from shocktwin.errors import Problem, ScenarioError
    from shocktwin.scenarios.model import ReplayMode
    from shocktwin.twin.experiment.derive import derive_scenario

    replay_mode = _choice(ReplayMode, mode, "--mode")
    if out.exists() and not force:
        raise ScenarioError([Problem(str(out), "", "the file exists; use --force to replace "
                                     "it")], file=str(out))
    folder = out.resolve().parent
    store_ref = os.path.relpath(db.resolve(), folder)
    derived = derive_scenario(db, source, name=name, store_ref=store_ref, mode=replay_mode)
    write_atomic(out, derived.yaml_text, error=ScenarioError)
    stdout.print(f"{out}: {len(derived.resources)} resources, {derived.cases} work orders, "
                 f"{derived.operations} operation reports, {derived.n_variants} routing "
                 f"variants over {derived.span_h / 24:.1f} days", highlight=False)
    for r in derived.resources:
        stdout.print(f"  {r.id:<32} {r.kind:<10} servers {r.servers:>3}  util "
                     f"{r.utilisation:>5.1%}  work {r.work_fit}", highlight=False,
                     markup=False)
    stdout.print(f"run it: shocktwin run {out}", highlight=False, markup=False)


@app.command("replay-check")
@_errors_to_exit
def replay_check(
    scenario: Annotated[str, typer.Argument(help="A shop scenario (see derive).")],
    modes: Annotated[bool, typer.Option("--modes/--no-modes", help="Also compare the "
                                        "bootstrap and fit modes with the log.")] = True,
    replications: Annotated[int, typer.Option("-n", min=2, help="Replications per "
                                              "resampling mode.")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Print only JSON on stdout.")] = False,
) -> None:
    """Replay the scenario's log with no shocks and compare the twin with the record."""
    import dataclasses

    from shocktwin.errors import ScenarioError
    from shocktwin.scenarios import load_scenario
    from shocktwin.scenarios.model import ReplayMode
    from shocktwin.twin.experiment.replay_check import check_replay

    sc = load_scenario(_scenario_path(scenario))
    if sc.shop is None:
        raise ScenarioError("replay-check needs a scenario with a shop section",
                            file=str(_scenario_path(scenario)))
    chosen = (ReplayMode.BOOTSTRAP, ReplayMode.FIT) if modes else ()
    f = check_replay(sc, modes=chosen, replications=replications, seed=sc.experiment.seed)
    if as_json:
        doc = dataclasses.asdict(f)
        doc["utilisation_max_abs_error"] = f.utilisation_max_abs_error
        print(json.dumps(doc, indent=2, default=_num))
        return
    p = stdout.print
    p(f"trace replay of {f.source}, no shocks", highlight=False, markup=False)
    p(f"  orders: {f.orders} in the log, {f.orders_compared} compared, "
      f"{f.orders_unfinished} unfinished in the twin", highlight=False)
    p(f"  order lead time: median abs error {f.lead_time_mdape:.3%}, p90 "
      f"{f.lead_time_p90_ape:.3%}, {f.share_within_1pct:.1%} of orders within 1 %",
      highlight=False)
    p(f"  mean lead time: log {f.log_lead_time_mean_h:.1f} h, twin "
      f"{f.twin_lead_time_mean_h:.1f} h", highlight=False)
    p(f"  utilisation: largest difference {f.utilisation_max_abs_error:.4f} "
      "(share of capacity)", highlight=False)
    table = Table(show_edge=False, box=None)
    for col in ("resource", "servers", "reports log", "twin", "util log", "twin"):
        table.add_column(col, justify="left" if col == "resource" else "right")
    for r in sorted(f.resources, key=lambda r: -r.log_reports):
        table.add_row(r.id, str(r.servers), str(r.log_reports), str(r.twin_reports),
                      f"{r.log_utilisation:.1%}", f"{r.twin_utilisation:.1%}")
    stdout.print(table)
    for m in f.modes:
        p(f"{m.mode} (n={m.replications}, mean ± 95% half-width) vs log:", highlight=False)
        p(f"  orders released per h {m.release_rate_per_h[0]:.4f} ± "
          f"{m.release_rate_per_h[1]:.4f} vs {f.log_throughput_per_h:.4f}", highlight=False)
        p(f"  resource hours worked {m.busy_h[0]:,.0f} ± {m.busy_h[1]:,.0f} vs "
          f"{f.log_busy_h:,.0f}", highlight=False)
        p(f"  mean lead time of finished orders {m.lead_time_mean_h[0]:.1f} ± "
          f"{m.lead_time_mean_h[1]:.1f} h vs {f.log_lead_time_mean_h:.1f} h (the log's "
          "orders are cut by its window)", highlight=False, markup=False)


# --------------------------------------------------------------------------- mtd


@app.command()
@_errors_to_exit
def mtd(
    scenario: Annotated[str, typer.Argument(help="Scenario file (with an mtd block), or a "
                                                 "bundled scenario's name.")],
    shock: Annotated[list[str] | None, typer.Option(help="Only this shock of the mtd "
                                                    "block (repeatable).")] = None,
    out: Annotated[Path | None, typer.Option(help="Folder for mtd.json and the run log "
                                             "that --resume continues from.")] = None,
    resume: Annotated[bool, typer.Option(help="Continue an interrupted search in --out; "
                                         "finished runs are not repeated.")] = False,
    seed: Annotated[int | None, typer.Option(min=0, help="Seed (default: scenario).")] = None,
    executor: Annotated[str, typer.Option(help=_EXECUTOR_HELP)] = "local",
    workers: Annotated[int | None, typer.Option(min=1, help="Worker processes.")] = None,
    scheduler: Annotated[str | None, typer.Option(help=_SCHEDULER_HELP)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print only JSON on stdout.")] = False,
) -> None:
    """Maximum tolerable disruption of each shock in the scenario's mtd block, with a 95 %
    interval, the KPI that breaks first, and TTS / TTR / loss at the MTD.

    Exit 0 when every MTD meets its target (and RTO / MBCO hold), 1 when one does not or a
    search did not converge, 2 for bad input.
    """
    from shocktwin.scenarios.loader import load_scenario
    from shocktwin.twin.resilience.mtd import (
        RunStore,
        mtd_document,
        search_mtds,
        write_mtd_document,
    )

    spec = _executor(executor, workers, scheduler)
    if resume and out is None:
        raise ScenarioError("--resume needs --out, the folder of the interrupted search")
    path = _scenario_path(scenario)
    sc = load_scenario(path)
    if sc.mtd is None:
        raise ScenarioError("the scenario has no mtd block", file=str(path))
    items = [i for i in sc.mtd.shocks if not shock or i.shock in shock]
    unknown = sorted(set(shock or ()) - {i.shock for i in sc.mtd.shocks})
    if unknown:
        raise ScenarioError(f"--shock {', '.join(unknown)}: not in the mtd block "
                            f"({', '.join(i.shock for i in sc.mtd.shocks)})")
    store = RunStore(out / "runs.jsonl" if out is not None else None, resume=resume)
    with _progress(f"mtd {sc.name}", enabled=not as_json) as progress:
        results = search_mtds(sc, items, executor=spec, store=store, seed=seed,
                              progress=progress)
    doc = mtd_document(sc, results, seed=seed, runs_reused=store.loaded)
    if out is not None:
        write_mtd_document(out, doc)
    if as_json:
        print(json.dumps(doc, indent=2, allow_nan=False))
    else:
        _print_mtd(sc.name, results, out, store.loaded)
    raise typer.Exit(EXIT_VIOLATED if any(r.fails for r in results) else EXIT_HOLDS)


def _axis(value: float | None, unit: str) -> str:
    if value is None:
        return "–"
    if value == math.inf:
        return "above range"
    if value == -math.inf:
        return "below range"
    if unit == "h":
        from shocktwin.units import format_hours

        return format_hours(value)
    return f"{value:.4g}"


def _print_mtd(name: str, results: list[Any], out: Path | None, reused: int) -> None:
    table = Table(title=f"{name}: maximum tolerable disruption", show_lines=False)
    for col in ("shock", "MTD", "95% CI", "target", "binds first", "TTS", "TTR",
                "loss %·h", "runs"):
        table.add_column(col, justify="left" if col in ("shock", "binds first") else "right")
    for r in results:
        res = r.resilience
        target = "" if r.target is None else (
            f"{_axis(r.target, r.unit)} {'✓' if r.meets_target else '✗'}")
        mtd_text = _axis(r.mtd, r.unit) if r.status != "not_converged" else "not converged"
        table.add_row(
            f"{r.shock} ({r.axis})", mtd_text,
            f"{_axis(r.ci_low, r.unit)} … {_axis(r.ci_high, r.unit)}", target,
            r.binding_kpi or "–",
            _axis(res.get("tts_h"), "h") if res and not math.isnan(res["tts_h"]) else "–",
            _axis(res.get("ttr_h"), "h") if res and not math.isnan(res["ttr_h"]) else "–",
            f"{res['loss_pct_h']:.0f}" if res and not math.isnan(res["loss_pct_h"]) else "–",
            str(r.runs))
    stdout.print(table)
    for r in results:
        head = f"{r.shock}: p = {r.probability:.0%} over {r.replications} replications"
        if r.status == "not_converged":
            held = [t.tolerable for t in r.thresholds if math.isfinite(t.tolerable)]
            failed = [t.failing for t in r.thresholds if math.isfinite(t.failing)]
            span = (f"; bracket reached {_axis(min(held), r.unit)} … "
                    f"{_axis(max(failed), r.unit)}" if held and failed else "")
            head += f" — NOT CONVERGED{span}"
        stdout.print(head, highlight=False, markup=False)
        for key, value in r.iso22301.items():
            if isinstance(value, bool):
                stdout.print(f"  ISO 22301 {key.replace('_', ' ')}: {'yes' if value else 'NO'}",
                             highlight=False, markup=False)
        for text in r.notes:
            stdout.print(f"  note: {text}", highlight=False, markup=False)
    if reused:
        stdout.print(f"{reused} runs reused from the earlier search", highlight=False)
    if out is not None:
        stdout.print(f"results written to {out}/ (mtd.json, runs.jsonl)", highlight=False,
                     markup=False)


# --------------------------------------------------------------------------- screen


@app.command()
@_errors_to_exit
def screen(
    scenario: Annotated[str, typer.Argument(help="Scenario file with a screen block.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print only JSON on stdout.")] = False,
) -> None:
    """Rank supplier disruptions by the time-to-survive / time-to-recover LPs
    (Simchi-Levi et al. 2015) to choose which deserve a full simulation.

    Exit 0, or 2 for bad input.
    """
    from shocktwin.scenarios.loader import load_scenario
    from shocktwin.twin.resilience.screen import network_of
    from shocktwin.twin.resilience.screen import screen as run_screen

    path = _scenario_path(scenario)
    sc = load_scenario(path)
    if sc.screen is None:
        raise ScenarioError("the scenario has no screen block", file=str(path))
    rows = run_screen(network_of(sc))
    if as_json:
        print(json.dumps({"scenario": sc.name, "nodes": [
            {"supplier": r.supplier, "material": r.material, "tts_h": _num(r.tts_h),
             "ttr_h": r.ttr_h, "lost_units": r.lost_units, "lost_profit": r.lost_profit,
             "risk_exposure": r.risk_exposure, "at_risk": r.at_risk} for r in rows]},
            indent=2, allow_nan=False))
        return
    table = Table(title=f"{sc.name}: supplier risk (TTS / TTR)")
    for col in ("supplier", "material", "TTS", "TTR", "lost units", "lost profit", "REI",
                "at risk"):
        table.add_column(col, justify="left" if col in ("supplier", "material") else "right")
    for r in rows:
        table.add_row(r.supplier, r.material, _axis(r.tts_h, "h") if math.isfinite(r.tts_h)
                      else "∞", _axis(r.ttr_h, "h"), f"{r.lost_units:,.0f}",
                      f"{r.lost_profit:,.0f}", f"{r.risk_exposure:.2f}",
                      "yes" if r.at_risk else "no")
    stdout.print(table)


# --------------------------------------------------------------------------- optimize


@app.command()
@_errors_to_exit
def optimize(
    scenario: Annotated[str, typer.Argument(help="Scenario file with an optimize block.")],
    out: Annotated[Path | None, typer.Option(help="Folder for pareto.json and the run log "
                                             "that --resume continues from.")] = None,
    resume: Annotated[bool, typer.Option(help="Continue an interrupted optimisation in "
                                         "--out; finished runs are not repeated.")] = False,
    seed: Annotated[int | None, typer.Option(min=0, help="Seed (default: scenario).")] = None,
    executor: Annotated[str, typer.Option(help=_EXECUTOR_HELP)] = "local",
    workers: Annotated[int | None, typer.Option(min=1, help="Worker processes.")] = None,
    scheduler: Annotated[str | None, typer.Option(help=_SCHEDULER_HELP)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print only JSON on stdout.")] = False,
) -> None:
    """Search mitigations with NSGA-II on common random numbers; print and save the
    Pareto front of the scenario's objectives (cost, KPIs, MTDs).

    Exit 0, or 2 for bad input.
    """
    from shocktwin.scenarios.loader import load_scenario
    from shocktwin.twin.experiment.executor import Runner
    from shocktwin.twin.resilience.mtd import RunStore
    from shocktwin.twin.resilience.optimize import optimize as run_optimize

    spec = _executor(executor, workers, scheduler)
    if resume and out is None:
        raise ScenarioError("--resume needs --out, the folder of the interrupted run")
    path = _scenario_path(scenario)
    sc = load_scenario(path)
    if sc.optimize is None:
        raise ScenarioError("the scenario has no optimize block", file=str(path))
    with _progress(f"optimize {sc.name}", enabled=not as_json) as progress, \
            Runner(spec) as runner:
        store = RunStore(out / "runs.jsonl" if out is not None else None, resume=resume)
        result = run_optimize(sc, executor=runner, seed=seed, progress=progress, store=store)

    def point(c: Any) -> dict[str, Any]:
        return {"decisions": c.decisions,
                "objectives": {k: _num(v) for k, v in c.objectives.items()}}

    doc = {"scenario": sc.name, "scenario_hash": sc.content_hash(),
           "seed": sc.experiment.seed if seed is None else seed,
           "objectives": [{"name": n, "sense": s} for n, s in
                          zip(result.objectives, result.senses, strict=True)],
           "runs": result.runs, "front": [point(c) for c in result.front],
           "evaluated": [point(c) for c in result.evaluated]}
    if out is not None:
        write_atomic(out / "pareto.json", json.dumps(doc, indent=2, allow_nan=False) + "\n",
                     error=SimulationError)
    if as_json:
        print(json.dumps(doc, indent=2, allow_nan=False))
        return
    table = Table(title=f"{sc.name}: Pareto front ({len(result.front)} of "
                        f"{len(result.evaluated)} evaluated, {result.runs} runs)")
    names = [v.name for v in sc.optimize.variables]
    for col in names:
        table.add_column(col)
    for label, sense in zip(result.objectives, result.senses, strict=True):
        table.add_column(f"{label} ({sense})", justify="right")
    for c in sorted(result.front, key=lambda c: c.objectives[result.objectives[0]]):
        table.add_row(*[str(c.decisions[n]) for n in names],
                      *[f"{c.objectives[label]:,.4g}" for label in result.objectives])
    stdout.print(table)
    if out is not None:
        stdout.print(f"front written to {out}/pareto.json", highlight=False, markup=False)


# --------------------------------------------------------------------------- stress


@app.command()
@_errors_to_exit
def stress(
    scenarios: Annotated[list[str], typer.Argument(help="Scenario files (or bundled names) "
                                                       "with incoming inspection.")],
    baseline: Annotated[Path, typer.Option(help="The rule set in force today.")],
    candidate: Annotated[Path, typer.Option(help="The changed rule set.")],
    tolerance: Annotated[float, typer.Option(min=0.0, max=1.0, help="Allowed MTD drop, as a "
                                             "share of the baseline MTD.")] = 0.0,
    junit: Annotated[Path | None, typer.Option(help="Write a JUnit XML file.")] = None,
    markdown: Annotated[Path | None, typer.Option(help="Write a Markdown summary.")] = None,
    out: Annotated[Path | None, typer.Option(help="Folder for the run log (reused by "
                                             "--resume).")] = None,
    resume: Annotated[bool, typer.Option(help="Reuse the runs in --out.")] = False,
    executor: Annotated[str, typer.Option(help=_EXECUTOR_HELP)] = "local",
    workers: Annotated[int | None, typer.Option(min=1, help="Worker processes.")] = None,
    scheduler: Annotated[str | None, typer.Option(help=_SCHEDULER_HELP)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print only JSON on stdout.")] = False,
) -> None:
    """The stress gate: compare a candidate rule set with the baseline on common random
    numbers — MTDs and hypothesis KPIs — and fail on a regression.

    Exit 0 when there is none, 1 on a regression (a significant MTD drop beyond the
    tolerance, or a KPI tolerance newly broken), 2 for bad input.
    """
    import dataclasses

    from shocktwin.reports.gate import junit_xml, markdown_summary
    from shocktwin.scenarios.loader import load_scenario
    from shocktwin.twin.experiment.executor import Runner
    from shocktwin.twin.resilience.mtd import RunStore
    from shocktwin.twin.resilience.stress import compare_rules

    spec = _executor(executor, workers, scheduler)
    problems = [Problem(str(f), "", "rule file does not exist") for f in (baseline, candidate)
                if not f.is_file()]
    if problems:
        raise ScenarioError(problems)
    loaded = [(str(p), load_scenario(p)) for p in map(_scenario_path, scenarios)]
    store = RunStore(out / "runs.jsonl" if out is not None else None, resume=resume)
    with Runner(spec) as runner:
        report = compare_rules(loaded, baseline, candidate, tolerance=tolerance,
                               executor=runner, store=store)
    if junit is not None:
        write_atomic(junit, junit_xml(report), error=SimulationError)
    summary = markdown_summary(report)
    if markdown is not None:
        write_atomic(markdown, summary, error=SimulationError)
    if as_json:
        def clean(x: Any) -> Any:
            if isinstance(x, float):
                return _num(x)
            if isinstance(x, dict):
                return {k: clean(v) for k, v in x.items()}
            if isinstance(x, list | tuple):
                return [clean(v) for v in x]
            return x

        doc = clean(dataclasses.asdict(report))
        doc["failed"] = report.failed
        print(json.dumps(doc, indent=2, allow_nan=False))
    else:
        stdout.print(summary, markup=False, highlight=False)
    raise typer.Exit(EXIT_VIOLATED if report.failed else EXIT_HOLDS)


# --------------------------------------------------------------------------- verify


@app.command()
@_errors_to_exit
def verify(
    results: Annotated[Path, typer.Argument(help="A results folder (or its journal.json).")],
    chain_hash: Annotated[str | None, typer.Option(
        "--chain-hash", help="The chain hash as recorded elsewhere (a review's minutes, the CI "
        "log): a journal rewritten as a whole, chain and all, no longer matches it.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print only JSON on stdout.")] = False,
) -> None:
    """Check a results folder's hash-chained journal and its tables: any edited, removed,
    inserted or reordered record is reported.

    Exit 0 when intact, 1 when tampered with, 2 when unreadable.
    """
    from shocktwin.twin.journal.verify import verify_command

    if chain_hash is not None:
        chain_hash = chain_hash.strip().lower()
        if len(chain_hash) != 64 or any(c not in "0123456789abcdef" for c in chain_hash):
            raise ScenarioError("--chain-hash must be a SHA-256 in hex (64 characters, as "
                                "printed by run and verify)")
    raise typer.Exit(verify_command(results, as_json, chain_hash=chain_hash))


OC_RATES = (0.001, 0.005, 0.01, 0.02, 0.05, 0.10)


@app.command()
@_errors_to_exit
def plan(
    lot_size: Annotated[int, typer.Option("--lot-size", help="Units in the lot.")],
    aql: Annotated[str, typer.Option(help="Acceptable quality limit, e.g. 0.65, 1.0, 2.5.")],
    level: Annotated[str, typer.Option(help="Inspection level: S-1..S-4, I, II, III.")] = "II",
    severity: Annotated[str, typer.Option(help="normal, tightened or reduced.")] = "normal",
    as_json: Annotated[bool, typer.Option("--json", help="Print only JSON on stdout.")] = False,
) -> None:
    """Look up a single sampling plan (MIL-STD-105E / ANSI/ASQ Z1.4) and its OC curve."""
    from shocktwin.rules_engine.sampling import oc_curve, single_sampling_plan

    p = single_sampling_plan(lot_size, level, aql, severity)
    pa = oc_curve(p, OC_RATES)
    oc = [{"defect_rate": r, "p_accept": float(a)} for r, a in zip(OC_RATES, pa, strict=True)]
    if as_json:
        print(json.dumps({"lot_size": lot_size, "level": str(p.level), "aql": p.aql,
                          "severity": str(p.severity), "code_letter": p.code_letter,
                          "n": p.n, "ac": p.ac, "re": p.re,
                          "full_inspection": p.full_inspection, "oc": oc}, indent=2))
        return
    stdout.print(f"lot {lot_size:,}, level {p.level}, AQL {p.aql}, {p.severity} inspection",
                 highlight=False)
    stdout.print(f"code letter {p.code_letter}: sample n = {p.n}, accept Ac = {p.ac}, "
                 f"reject Re = {p.re}", highlight=False)
    if p.full_inspection:
        stdout.print(f"n ≥ lot size: inspect all {lot_size:,} units (100 %)", highlight=False)
    table = Table(title="operating characteristic", title_justify="left")
    table.add_column("lot defect rate", justify="right")
    table.add_column("P(accept)", justify="right")
    for row in oc:
        table.add_row(f"{row['defect_rate']:.1%}", f"{row['p_accept']:.4f}")
    stdout.print(table)


@shocks_app.command("list")
def shocks_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print only JSON on stdout.")] = False,
) -> None:
    """Every shock type: family, target, severity axis and what it does."""
    from shocktwin.shock_library import shock_types

    rows = [cls.describe() for cls in shock_types().values()]
    rows.sort(key=lambda r: (r["family"], r["type"]))
    for row, cls in zip(rows, [shock_types()[r["type"]] for r in rows], strict=True):
        row["parameters"] = [name for name in cls.model_fields
                             if name not in ("id", "type", "target", "start", "recovery")]
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table(title=f"{len(rows)} shock types", title_justify="left")
    for col in ("type", "family", "target", "severity axis"):
        table.add_column(col, no_wrap=True)
    table.add_column("what it does", overflow="fold", min_width=30)
    for r in rows:
        table.add_row(r["type"], r["family"], r["target"], r["severity_axis"], r["summary"])
    stdout.print(table)


@shocks_app.command("show")
@_errors_to_exit
def shocks_show(
    shock: Annotated[str, typer.Argument(help="A shock type, e.g. supplier_outage.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print only JSON on stdout.")] = False,
) -> None:
    """A shock type's documentation and the JSON Schema of its parameters."""
    from shocktwin.errors import ShockError
    from shocktwin.shock_library import shock_types

    types = shock_types()
    if shock not in types:
        raise ShockError(f"unknown shock type {shock!r} (known: {', '.join(sorted(types))})")
    cls = types[shock]
    info = {**cls.describe(), "doc": " ".join((cls.__doc__ or "").split()),
            "schema": cls.model_json_schema()}
    if as_json:
        print(json.dumps(info, indent=2))
        return
    stdout.print(f"{shock} ({info['family']}; target: {info['target']}; severity axis: "
                 f"{info['severity_axis']})", highlight=False)
    stdout.print(info["doc"], highlight=False)
    print(json.dumps(info["schema"], indent=2))


@schema_app.command("scenario")
def schema_scenario() -> None:
    """The JSON Schema of scenario files (point your editor's YAML plugin at it)."""
    from shocktwin.scenarios.loader import scenario_json_schema

    print(json.dumps(scenario_json_schema(), indent=2))


@app.command("version")
def version_cmd() -> None:
    """Print the version."""
    from shocktwin.twin.journal.record import version

    print(version())


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
