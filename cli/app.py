"""The `shocktwin` command line: parse, call one library function, render, set the exit code.

Exit codes: 0 the steady-state hypothesis holds, the scenario states none, or the command
succeeded; 1 it is violated; 2 the input is invalid; 3 an internal error (never a verdict);
4 the verdict is undecided (``run``: too few replications to tell; add them with
``--until-decided``). Library errors become one line per problem on stderr.
"""

from __future__ import annotations

import json
import math
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.table import Table
from rich.text import Text

from shocktwin.cli._errors import EXIT_INVALID, console, stderr
from shocktwin.cli._errors import errors_to_exit as _errors_to_exit
from shocktwin.cli.campaign import campaign_command
from shocktwin.cli.report import report_command
from shocktwin.cli.rules import print_rules_schema, rules_app
from shocktwin.errors import ScenarioError, ShocktwinError, unknown_name
from shocktwin.jsontext import json_ready
from shocktwin.kpis import SHARE_KPIS, base_kpi, kpis_to_show
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
app.command("campaign")(campaign_command)

stdout = console()

EXIT_HOLDS, EXIT_VIOLATED = 0, 1
#: ``run``: the held share's interval straddles the required probability. Not 3, which is
#: an internal error (``_errors.EXIT_INTERNAL``): a bug must never read as a verdict.
EXIT_UNDECIDED = 4


def _scenario_path(text: str) -> Path:
    """A scenario file path, or the name of a bundled reference scenario."""
    from shocktwin.scenarios import scenario_path

    return scenario_path(text)


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

#: ``--allow-root DIR`` (repeatable): folders besides the scenario's own that the files a
#: scenario or rule set names (rule sets, failure tables) may lie in.
AllowRoot = Annotated[list[Path] | None, typer.Option(
    "--allow-root", metavar="DIR",
    help="A folder besides the scenario's own that the rule sets and failure "
    "tables it names may lie in (repeatable).")]
# Options shared by the commands that run replications: one declaration each.
SeedOption = Annotated[int | None, typer.Option(min=0, help="Seed (default: scenario).")]
ExecutorOption = Annotated[str, typer.Option(help="Where replications run: local, process or "
                                                  "dask.")]
WorkersOption = Annotated[int | None, typer.Option(min=1, help="Worker processes.")]
SchedulerOption = Annotated[str | None, typer.Option(
    help="Dask scheduler address (tcp://host:8786); without it --executor dask starts a local "
         "cluster of --workers processes.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print only JSON on stdout.")]


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
    seed: SeedOption = None,
    engine: Annotated[Engine | None, typer.Option(help="Simulation engine.")] = None,
    out: Annotated[Path | None, typer.Option(help="Folder for the journal and KPI tables.")
                   ] = None,
    fmt: Annotated[str, typer.Option("--format", help="Results format: duckdb or parquet.")
                   ] = "duckdb",
    executor: ExecutorOption = "local",
    workers: WorkersOption = None,
    scheduler: SchedulerOption = None,
    as_json: JsonOption = False,
    force: Annotated[bool, typer.Option(help="Write into an --out folder that is not empty.")
                     ] = False,
    allow_root: AllowRoot = None,
    until_decided: Annotated[bool, typer.Option(
        "--until-decided",
        help="Add replications in looks (the first -n, then doubled up to the scenario's "
             "experiment.max_replications, default 320) until the verdict is decided; each "
             "look's interval is at level 1 - 0.05/looks, so a wrong verdict stays below "
             "about 5 %.")] = False,
) -> None:
    """Run a scenario's replications; print KPIs with 95 % CIs and the hypothesis verdict.

    The verdict is decided on the share of replications in which all tolerances held,
    with its 95 % Wilson interval: HOLDS when the interval lies at or above the required
    probability, VIOLATED when below it, UNDECIDED when it straddles it. Exit 0 when the
    hypothesis holds or the scenario states none, 1 when it is violated, 4 when undecided
    (add replications: --until-decided), 2 for bad input, 3 for an internal error.
    """
    from shocktwin.edge_replay.results import ResultsFormat
    from shocktwin.twin.journal.run import run_scenario

    results_format = _choice(ResultsFormat, fmt, "--format")
    spec = _executor(executor, workers, scheduler)
    path = _scenario_path(scenario)
    with _progress(path.stem, enabled=not as_json) as progress:
        outcome = run_scenario(path, replications=replications, seed=seed, engine=engine,
                               executor=spec, out=out, fmt=results_format, replace=force,
                               progress=progress, estimated=progress.estimated,
                               allowed_roots=allow_root or (), command=sys.argv,
                               until_decided=until_decided)
    if as_json:
        print(json.dumps(outcome.summary(), indent=2, allow_nan=False))
    else:
        _print_result(outcome.result, outcome.journal_hash, list(outcome.written),
                      rerun=_rerun_hint(scenario))
        _print_chain_hash(outcome.chain_hash, out)
    raise typer.Exit(_VERDICT_EXIT[outcome.state.value])


#: Exit code of ``run`` per verdict state.
_VERDICT_EXIT = {"holds": EXIT_HOLDS, "none": EXIT_HOLDS, "violated": EXIT_VIOLATED,
                 "undecided": EXIT_UNDECIDED}


def _rerun_hint(scenario: str) -> str:
    """The command that adds replications to this run."""
    import shlex

    return f"shocktwin run {shlex.quote(scenario)} --until-decided"


def _print_chain_hash(chain: str | None, out: Path | None) -> None:
    if chain is not None:
        stdout.print(f"chain hash {chain} (keep it to check the results later: "
                     f"shocktwin verify {out} --chain-hash {chain})", highlight=False,
                     markup=False, soft_wrap=True)


#: A run estimated at more CPU seconds than this says so before it starts, and reports its
#: progress on stderr even when stderr is not a terminal (a CI log).
LONG_RUN_CPU_S = 30.0
#: Seconds between two plain progress lines in a log.
PROGRESS_EVERY_S = 10.0


class _progress:
    """Progress on stderr: a bar on a terminal; in a log, plain lines every few seconds for
    a run estimated to be long; nothing with ``--json`` (stdout then carries only JSON, and
    stderr stays quiet unless the run is long)."""

    def __init__(self, label: str, *, enabled: bool) -> None:
        self.label = label
        self.terminal = enabled and stderr.is_terminal
        self.plain = False
        self._bar: Any = None
        self._task: Any = None
        self._last = 0.0

    def __enter__(self) -> _progress:
        return self

    def estimated(self, estimate: Any) -> None:
        """Told the run's estimate before it starts: say it when the run is long."""
        if estimate.cpu_s > LONG_RUN_CPU_S:
            stderr.print(f"{self.label}: {estimate}", markup=False, highlight=False)
            self.plain = not self.terminal

    def __call__(self, done: int, total: int) -> None:
        import time

        if self.terminal:
            if self._bar is None:
                from rich.progress import (
                    BarColumn,
                    MofNCompleteColumn,
                    Progress,
                    TimeRemainingColumn,
                )

                self._bar = Progress("[progress.description]{task.description}", BarColumn(),
                                     MofNCompleteColumn(), TimeRemainingColumn(),
                                     console=stderr, transient=True)
                self._bar.start()
                self._task = self._bar.add_task(self.label, total=None)
            self._bar.update(self._task, completed=done, total=total)
        elif self.plain and total:
            now = time.monotonic()
            if done == total or now - self._last >= PROGRESS_EVERY_S:
                self._last = now
                stderr.print(f"{self.label}: {done} of {total} done", markup=False,
                             highlight=False)

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()


def _print_result(result: Any, digest: str, written: list[Path], *,
                  rerun: str | None = None) -> None:
    sc = result.scenario
    tolerances = {c.tolerance.key: c for c in result.verdict.checks}
    table = Table(title=f"{sc.name}: {len(result.replications)} replications, seed "
                  f"{result.seed}, {result.engine.value}", title_justify="left")
    for col in ("KPI", "mean", "95% CI", "tolerance", "held in"):
        table.add_column(col, justify="left" if col in ("KPI", "tolerance") else "right",
                         no_wrap=True)
    # A plant of many products would print hundreds of rows: beyond a few products, only
    # those a tolerance names are shown (every one is in --json and the results tables).
    shown, left_out = kpis_to_show(result.summary, {c.tolerance.product
                                                    for c in result.verdict.checks
                                                    if c.tolerance.product})
    beyond = False
    for kpi in shown:
        s = result.summary[kpi]
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
        # Student-t intervals as computed: an end beyond the values the KPI can take (below
        # 0; above 100 % for a share) is marked, never cut, and explained under the table.
        if s.n < 2:
            ci = "–"
        else:
            low, low_out = _interval_end(kpi, s.ci_low)
            high, high_out = _interval_end(kpi, s.ci_high)
            ci = f"{low} … {high}"
            beyond = beyond or low_out or high_out
        # A KPI per product is named like otd[valve_a], which is not markup.
        table.add_row(Text(kpi), _fmt(kpi, s.mean), ci, tol, held)
    stdout.print(table)
    if beyond:
        stdout.print(f"{BEYOND_MARK} beyond the values the KPI can take (below 0, or above "
                     "100 % for a share), shown as computed: the t interval is symmetric about "
                     "the mean and runs past the range with few replications or skewed values. "
                     "Add replications (-n) to narrow it.", highlight=False, markup=False)
    if left_out:
        stdout.print(f"per-product KPIs of {left_out} more products are in --json and the "
                     "results tables (--out)", highlight=False)
    if result.sequential is not None:
        stdout.print(_looks_text(result.sequential), highlight=False, markup=False)
    stdout.print(_verdict_text(result.verdict, result.sequential, rerun), highlight=False,
                 markup=False)
    for g in result.guarantees:
        failure = f", failed below {g.failure_pct:g} %" if g.failure_pct is not None else ""
        stdout.print(f"recovery guarantee of {g.shock} (back at ≥ {g.level_pct:g} % of the "
                     f"pre-shock level within {_axis(g.rto_h, 'h')} of the onset{failure}): "
                     f"{_guarantee_line(g)}", highlight=False, markup=False)
    stdout.print(f"journal hash {digest}", highlight=False)
    if written:
        stdout.print(f"results written to {written[0].parent}/ "
                     f"({', '.join(p.name for p in written)})", highlight=False)
    else:
        stdout.print("results not saved (use --out DIR)", highlight=False)


#: Marks an interval end beyond the KPI's range (explained by a line under the table).
BEYOND_MARK = "*"


def _interval_end(kpi: str, value: float) -> tuple[str, bool]:
    """An interval end as text, and whether it lies beyond the values the KPI can take."""
    beyond = value < 0.0 or (base_kpi(kpi) in SHARE_KPIS and value > 1.0)
    text = f"−{_fmt(kpi, -value)}" if value < 0.0 else _fmt(kpi, value)
    return (f"{text}{BEYOND_MARK}" if beyond else text), beyond


def _pct(share: float) -> str:
    """A share as a percentage: whole at 0 and 100 %, else to one decimal (so an end just
    short of the required share does not print as equal to it)."""
    if share in (0.0, 1.0):
        return f"{share * 100:.0f} %"
    return f"{share * 100:.1f} %"


def _verdict_text(v: Any, sequential: Any, rerun: str | None) -> str:
    if v.state.value == "none":
        return "no hypothesis — no verdict (the scenario states no tolerances)"
    level = f"{v.level * 100:.4g} %"
    text = (f"steady-state hypothesis {v.state.value.upper()}: all tolerances held in "
            f"{v.held} of {v.n} replications ({_pct(v.observed)}, {level} interval "
            f"{_pct(v.share_low)}…{_pct(v.share_high)}; required {_pct(v.required)})")
    if v.state.value != "undecided":
        return text
    if sequential is None:
        return text + (f" — undecided, add replications: {rerun}" if rerun else
                       " — undecided, add replications (--until-decided)")
    if sequential.stopped:
        return text + " — undecided: the budget stopped the replications"
    return text + (" — undecided after the most replications allowed: raise "
                   "experiment.max_replications")


def _looks_text(seq: Any) -> str:
    sizes = ", ".join(str(look.n) for look in seq.looks)
    planned = seq.plan.sizes
    head = (f"until decided: {len(seq.looks)} of {len(planned)} planned looks "
            f"({sizes} replications; up to {planned[-1]}), each at the "
            f"{seq.plan.level * 100:.4g} % level")
    if not seq.looks:
        return "until decided: nothing to decide (no tolerances), one look"
    if seq.stopped:
        return f"{head}; stopped at {seq.n} replications: {seq.stopped}"
    if seq.state.value == "undecided":
        return f"{head}; not decided at {seq.n} replications"
    return f"{head}; decided at {seq.n} replications"


# --------------------------------------------------------------------------- validate, schema


@app.command()
def validate(
    files: Annotated[list[str], typer.Argument(help="Scenario files (or bundled names).")],
    as_json: JsonOption = False,
    allow_root: AllowRoot = None,
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
            sc = load_scenario(path, allowed_roots=allow_root or ())
            check_plan(sc)
            report.append({"file": str(path), "valid": True, "name": sc.name,
                           "scenario_hash": sc.content_hash(), "problems": []})
            if not as_json:
                stdout.print(f"ok: {path} ({sc.name})", highlight=False)
        except ShocktwinError as e:
            bad = True
            report.append({"file": str(path), "valid": False, "problems": [
                {"line": p.line, "column": p.column, "path": p.path,
                 "message": p.message} for p in e.problems]})
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
                                     "steel-plates, steel-plates-measurements, downtime, "
                                     "snapshot, measurements, csv or parquet.")],
    db: Annotated[Path, typer.Option(help="The DuckDB store (created when missing).")],
    mapping: Annotated[Path | None, typer.Option(help="Column mapping (YAML) for csv and "
                                                 "parquet sources.")] = None,
    as_json: JsonOption = False,
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
    form: Annotated[str, typer.Option("--as", help="shop: the log's resources only; plant: "
                                      "a plant whose products replay the log's work orders "
                                      "over stations bound to its resources, ready for "
                                      "suppliers, stock and a rule set.")] = "plant",
    force: Annotated[bool, typer.Option(help="Overwrite an existing file.")] = False,
) -> None:
    """Write a runnable plant (or job-shop) scenario derived from an ingested MES log."""
    from shocktwin.scenarios.model import ReplayMode
    from shocktwin.twin.experiment.derive import DerivedForm, write_derived_scenario

    replay_mode = _choice(ReplayMode, mode, "--mode")
    derived_form = _choice(DerivedForm, form, "--as")
    derived = write_derived_scenario(db, out, source, name=name, mode=replay_mode,
                                     replace=force, form=derived_form)
    stdout.print(f"{out}: {len(derived.resources)} resources, {derived.cases} work orders, "
                 f"{derived.operations} operation reports, {derived.n_variants} routing "
                 f"variants over {derived.span_h / 24:.1f} days", highlight=False)
    for r in derived.resources:
        stdout.print(f"  {r.id:<32} {r.kind:<10} servers {r.servers:>3}  util "
                     f"{r.utilisation:>5.1%}  work {r.work_fit}", highlight=False,
                     markup=False)
    for p in derived.products:
        stdout.print(f"  product {p.id:<24} {p.orders:>4} orders {p.units:>7} units  due "
                     f"{p.due_in_days} d", highlight=False, markup=False)
    stdout.print(f"run it: shocktwin run {out}", highlight=False, markup=False)


@app.command("replay-check")
@_errors_to_exit
def replay_check(
    scenario: Annotated[str, typer.Argument(help="A shop scenario, or a plant that replays "
                                            "a log (see derive).")],
    modes: Annotated[bool, typer.Option("--modes/--no-modes", help="Also compare the "
                                        "bootstrap and fit modes with the log.")] = True,
    replications: Annotated[int, typer.Option("-n", min=2, help="Replications per "
                                              "resampling mode.")] = 10,
    as_json: JsonOption = False,
) -> None:
    """Replay the scenario's log with no shocks and compare the twin with the record."""
    import dataclasses

    from shocktwin.errors import ScenarioError
    from shocktwin.scenarios import load_scenario
    from shocktwin.scenarios.model import ReplayMode
    from shocktwin.twin.experiment.replay_check import check_replay

    sc = load_scenario(_scenario_path(scenario))
    if sc.shop is None and (sc.plant is None or sc.plant.log is None):
        raise ScenarioError("replay-check needs a scenario with a shop section, or a plant "
                            "that replays a log (plant.log)",
                            file=str(_scenario_path(scenario)))
    chosen = (ReplayMode.BOOTSTRAP, ReplayMode.FIT) if modes else ()
    f = check_replay(sc, modes=chosen, replications=replications, seed=sc.experiment.seed)
    if as_json:
        doc = dataclasses.asdict(f)
        doc["utilisation_max_abs_error"] = f.utilisation_max_abs_error
        print(json.dumps(json_ready(doc), indent=2, allow_nan=False))
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
    seed: SeedOption = None,
    executor: ExecutorOption = "local",
    workers: WorkersOption = None,
    scheduler: SchedulerOption = None,
    as_json: JsonOption = False,
    allow_root: AllowRoot = None,
) -> None:
    """Maximum tolerable disruption of each shock in the scenario's mtd block, with a 95 %
    interval, the KPI that breaks first, and TTS / TTR / loss at the MTD.

    Exit 0 when every MTD meets its target (and RTO / MBCO hold), 1 when one does not or a
    search did not converge, 2 for bad input.
    """
    from shocktwin.twin.journal.document import to_json
    from shocktwin.twin.resilience.mtd import run_mtd_search

    spec = _executor(executor, workers, scheduler)
    path = _scenario_path(scenario)
    with _progress(f"mtd {path.stem}", enabled=not as_json) as progress:
        outcome = run_mtd_search(path, shocks=shock or (), out=out, resume=resume, seed=seed,
                                 executor=spec, progress=progress,
                                 allowed_roots=allow_root or (), command=sys.argv)
    if as_json:
        print(to_json(outcome.document), end="")
    else:
        _print_mtd(outcome.scenario.name, list(outcome.results), out, outcome.runs_reused)
        _print_chain_hash(outcome.document.chain_hash if out is not None else None, out)
    raise typer.Exit(EXIT_VIOLATED if outcome.fails else EXIT_HOLDS)


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


def _mtd_end(value: float | None, r: Any) -> str:
    """An MTD or an interval end in words: a censored end names the range's end it lies
    beyond."""
    if value == -math.inf:
        return f"< {_axis(r.low, r.unit)}"
    if value == math.inf:
        return f"> {_axis(r.high, r.unit)}"
    return _axis(value, r.unit)


def _mtd_hours(value: float | None) -> str:
    return "–" if value is None or math.isnan(value) else (
        "beyond horizon" if math.isinf(value) else _axis(value, "h"))


def _print_mtd(name: str, results: list[Any], out: Path | None, reused: int) -> None:
    from shocktwin.twin.resilience.mtd import MtdStatus

    table = Table(title=f"{name}: maximum tolerable disruption", show_lines=False)
    for col in ("shock", "MTD", "95% CI", "target", "binds first", "TTS", "TTR",
                "loss %·h", "runs"):
        table.add_column(col, justify="left" if col in ("shock", "binds first") else "right")
    for r in results:
        res = r.resilience
        target = "" if r.target is None else (
            f"{_axis(r.target, r.unit)} {'✓' if r.meets_target else '✗'}")
        mtd_text = {MtdStatus.NOT_CONVERGED: "not converged",
                    MtdStatus.BELOW_RANGE: f"below range (< {_axis(r.low, r.unit)})",
                    MtdStatus.ABOVE_RANGE: f"above range (> {_axis(r.high, r.unit)})",
                    }.get(r.status, _axis(r.mtd, r.unit))
        table.add_row(
            f"{r.shock} ({r.axis})", mtd_text,
            f"{_mtd_end(r.ci_low, r)} … {_mtd_end(r.ci_high, r)}", target,
            r.binding_kpi or "–",
            _axis(res.get("tts_h"), "h") if res and not math.isnan(res["tts_h"]) else "–",
            _axis(res.get("ttr_h"), "h") if res and not math.isnan(res["ttr_h"]) else "–",
            f"{res['loss_pct_h']:.0f}" if res and not math.isnan(res["loss_pct_h"]) else "–",
            str(r.runs))
    stdout.print(table)

    def say(text: str) -> None:
        stdout.print(text, highlight=False, markup=False)

    for r in results:
        if r.replications:
            head = f"{r.shock}: p = {r.probability:.0%} over {r.replications} replications"
        else:
            head = (f"{r.shock}: p = {r.probability:.0%}; no replication's tolerable severity "
                    "was bracketed")
        if r.status is MtdStatus.NOT_CONVERGED:
            held = [t.tolerable for t in r.thresholds if math.isfinite(t.tolerable)]
            failed = [t.failing for t in r.thresholds if math.isfinite(t.failing)]
            span = (f"; bracket reached {_axis(min(held), r.unit)} … "
                    f"{_axis(max(failed), r.unit)}" if held and failed else "")
            head += f" — NOT CONVERGED{span}"
        say(head)
        if r.status is MtdStatus.BELOW_RANGE:
            say(f"  fails already at the range's low end {_axis(r.low, r.unit)}: the MTD is "
                "below the searched range (lower the range's low end to find it)")
        elif r.status is MtdStatus.ABOVE_RANGE:
            say(f"  still holds at the range's high end {_axis(r.high, r.unit)}: the MTD is "
                "above the searched range (raise the range's high end to find it)")
        elif r.status is MtdStatus.CONVERGED:
            say(f"  the MTD is the largest severity tried at which {r.probability:.0%} of the "
                f"replications held, at most one resolution step "
                f"({_axis(r.resolution, r.unit)}) below the true quantile; the interval runs "
                "from the replications' last holding severities to their first failing ones")
        res = r.resilience
        if res and res.get("replications"):
            say(f"  at the MTD over {res['replications']} replications ({res['kpi']}): "
                f"robustness {_mtd_pct(res.get('robustness_pct'))} "
                f"({_mtd_pct(res.get('robustness_pct_low'))} … "
                f"{_mtd_pct(res.get('robustness_pct_high'))}, lowest "
                f"{_mtd_pct(res.get('robustness_pct_min'))}); TTR median "
                f"{_mtd_hours(res.get('ttr_h_p50'))} ({_mtd_hours(res.get('ttr_h_p50_low'))} … "
                f"{_mtd_hours(res.get('ttr_h_p50_high'))}), 90th percentile "
                f"{_mtd_hours(res.get('ttr_h_p90'))} ({_mtd_hours(res.get('ttr_h_p90_low'))} … "
                f"{_mtd_hours(res.get('ttr_h_p90_high'))})")
        for key, value in r.iso22301.items():
            if isinstance(value, bool):
                say(f"  ISO 22301 {key.replace('_', ' ')}: {'yes' if value else 'NO'}")
        _print_guarantees(r, say)
        for text in r.notes:
            say(f"  note: {text}")
    if reused:
        stdout.print(f"{reused} runs reused from the earlier search", highlight=False)
    if out is not None:
        stdout.print(f"results written to {out}/ (mtd.json, runs.jsonl)", highlight=False,
                     markup=False)


def _mtd_pct(value: float | None) -> str:
    return "–" if value is None or not math.isfinite(value) else f"{value:.0f} %"


def _mtd_share(value: float) -> str:
    return "–" if not math.isfinite(value) else f"{100 * value:.0f} %"


def _guarantee_line(g: Any) -> str:
    if not g.n:
        return "not measurable (no pre-shock level, or the shock did not start)"
    text = (f"{g.recovered}/{g.n} = {_mtd_share(g.rate)} "
            f"({_mtd_share(g.low)} … {_mtd_share(g.high)})")
    if g.target is not None:
        text += f", target {_mtd_share(g.target)}: {g.state}"
    return text


def _print_guarantees(r: Any, say: Any) -> None:
    """The recovery guarantee of one MTD result: at the shock's own severity, at the MTD,
    and its curve over the scan grid."""
    some = r.guarantee or r.guarantee_at_mtd or (r.guarantee_curve[0] if r.guarantee_curve
                                                 else None)
    if some is None:
        return
    failure = (f", failed below {some.failure_pct:g} %" if some.failure_pct is not None
               else "")
    say(f"  recovery guarantee (back at ≥ {some.level_pct:g} % of the pre-shock level within "
        f"{_axis(some.rto_h, 'h')} of the onset{failure}):")
    if r.guarantee is not None:
        say(f"    at the shock's own severity {_axis(r.guarantee.severity, r.unit)}: "
            f"{_guarantee_line(r.guarantee)}")
    if r.guarantee_at_mtd is not None:
        say(f"    at the MTD {_axis(r.guarantee_at_mtd.severity, r.unit)}: "
            f"{_guarantee_line(r.guarantee_at_mtd)}")
    if r.guarantee_curve:
        table = Table(title=f"{r.shock}: recovery guarantee over severity", show_lines=False)
        for col in (r.axis, "recovered", "rate", "95% CI", "robustness", "TTR p50",
                    "TTR p90", "failed"):
            table.add_column(col, justify="right")
        for g in r.guarantee_curve:
            table.add_row(_axis(g.severity, r.unit), f"{g.recovered}/{g.n}",
                          _mtd_share(g.rate), f"{_mtd_share(g.low)} … {_mtd_share(g.high)}",
                          _mtd_pct(g.robustness_pct), _mtd_hours(g.ttr_p50_h),
                          _mtd_hours(g.ttr_p90_h), _mtd_share(g.failed_share))
        stdout.print(table)


# --------------------------------------------------------------------------- screen


@app.command()
@_errors_to_exit
def screen(
    scenario: Annotated[str, typer.Argument(help="Scenario file with a screen block.")],
    as_json: JsonOption = False,
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
        print(json.dumps(json_ready({"scenario": sc.name, "nodes": [
            {"supplier": r.supplier, "tier": r.tier, "material": r.material, "tts_h": r.tts_h,
             "ttr_h": r.ttr_h, "lost_units": r.lost_units,
             "lost_by_product": r.lost_by_product, "lost_profit": r.lost_profit,
             "risk_exposure": r.risk_exposure, "at_risk": r.at_risk} for r in rows]}),
            indent=2, allow_nan=False))
        return
    table = Table(title=f"{sc.name}: supplier risk (TTS / TTR)")
    for col in ("supplier", "tier", "material", "TTS", "TTR", "lost units", "lost profit",
                "REI", "at risk"):
        table.add_column(col, justify="left" if col in ("supplier", "material") else "right")
    for r in rows:
        table.add_row(r.supplier, str(r.tier), r.material,
                      _axis(r.tts_h, "h") if math.isfinite(r.tts_h)
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
    seed: SeedOption = None,
    executor: ExecutorOption = "local",
    workers: WorkersOption = None,
    scheduler: SchedulerOption = None,
    as_json: JsonOption = False,
    allow_root: AllowRoot = None,
) -> None:
    """Search mitigations with NSGA-II on common random numbers; print and save the
    Pareto front of the scenario's objectives (cost, KPIs, MTDs).

    Exit 0, or 2 for bad input.
    """
    from shocktwin.twin.journal.document import to_json
    from shocktwin.twin.resilience.optimize import run_optimisation

    spec = _executor(executor, workers, scheduler)
    path = _scenario_path(scenario)
    with _progress(f"optimize {path.stem}", enabled=not as_json) as progress:
        outcome = run_optimisation(path, out=out, resume=resume, seed=seed, executor=spec,
                                   progress=progress, allowed_roots=allow_root or (),
                                   command=sys.argv)
    if as_json:
        print(to_json(outcome.document), end="")
        return
    sc, result = outcome.scenario, outcome.result
    assert sc.optimize is not None
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
        stdout.print(f"front written to {outcome.written[0]}", highlight=False, markup=False)
        _print_chain_hash(outcome.document.chain_hash, out)


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
    out: Annotated[Path | None, typer.Option(help="Folder for stress.json and the run log "
                                             "(reused by --resume).")] = None,
    resume: Annotated[bool, typer.Option(help="Reuse the runs in --out.")] = False,
    fail_on_untested: Annotated[str, typer.Option(
        "--fail-on-untested", help="When scenarios that cannot tell the candidate from the "
        "baseline fail the gate: any (the default, for CI), all (only when no scenario tests "
        "it) or never (reported as not tested, never failing).")] = "any",
    executor: ExecutorOption = "local",
    workers: WorkersOption = None,
    scheduler: SchedulerOption = None,
    as_json: JsonOption = False,
    allow_root: AllowRoot = None,
) -> None:
    """The stress gate: compare a candidate rule set with the baseline on common random
    numbers — MTDs and hypothesis KPIs — and fail on a regression.

    A scenario that cannot tell the candidate from the baseline is reported as not tested
    (JUnit skipped, with the reason), never as passed.

    Exit 0 when there is no regression, 1 on a regression (a significant MTD drop beyond the
    tolerance, or a KPI tolerance newly broken) or when untested scenarios fail the gate per
    --fail-on-untested, 2 for bad input.
    """
    from shocktwin.reports.gate import markdown_summary, write_gate_files
    from shocktwin.twin.journal.document import to_json
    from shocktwin.twin.resilience.stress import UntestedPolicy, run_stress_gate

    policy = _choice(UntestedPolicy, fail_on_untested, "--fail-on-untested")
    spec = _executor(executor, workers, scheduler)
    outcome = run_stress_gate([_scenario_path(s) for s in scenarios], baseline, candidate,
                              tolerance=tolerance, policy=policy, out=out,
                              resume=resume, executor=spec, allowed_roots=allow_root or (),
                              outputs=[p for p in (junit, markdown) if p is not None],
                              command=sys.argv)
    if as_json:
        print(to_json(outcome.document), end="")
    else:
        stdout.print(markdown_summary(outcome.report), markup=False, highlight=False)
        _print_chain_hash(outcome.document.chain_hash if out is not None else None, out)
    write_gate_files(outcome.report, junit=junit, markdown=markdown)
    raise typer.Exit(EXIT_VIOLATED if outcome.failed else EXIT_HOLDS)


# --------------------------------------------------------------------------- verify


@app.command()
@_errors_to_exit
def verify(
    results: Annotated[Path, typer.Argument(help="A results folder, or one result file in it "
                                                 "(journal.json, mtd.json, pareto.json, "
                                                 "stress.json).")],
    chain_hash: Annotated[list[str] | None, typer.Option(
        "--chain-hash", help="A chain hash as recorded elsewhere (a review's minutes, the CI "
        "log): a result rewritten as a whole, chain and all, no longer matches it "
        "(repeatable, one per result in the folder).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Check every result in a results folder — a run's hash-chained journal and its tables,
    an MTD search, an optimisation, a stress gate: any edited, removed, inserted or
    reordered record, edited header or changed table is reported.

    Exit 0 when intact, 1 when tampered with, 2 when unreadable.
    """
    from shocktwin.twin.journal.verify import EXIT_TAMPERED, render_report, verify_results

    kept: list[str] = []
    for text in chain_hash or []:
        value = text.strip().lower()
        if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
            raise ScenarioError("--chain-hash must be a SHA-256 in hex (64 characters, as "
                                "printed by run, mtd, optimize, stress and verify)")
        kept.append(value)
    reports = verify_results(results, chain_hashes=kept)
    if as_json:
        docs = [r.to_dict() for r in reports]
        print(json.dumps(docs[0] if len(docs) == 1 else docs, indent=2))
    else:
        for r in reports:
            print(render_report(r))
    raise typer.Exit(EXIT_TAMPERED if any(not r.intact for r in reports) else 0)


OC_RATES = (0.001, 0.005, 0.01, 0.02, 0.05, 0.10)


@app.command()
@_errors_to_exit
def plan(
    lot_size: Annotated[int, typer.Option("--lot-size", help="Units in the lot.")],
    aql: Annotated[str, typer.Option(help="Acceptable quality limit, e.g. 0.65, 1.0, 2.5.")],
    level: Annotated[str, typer.Option(help="Inspection level: S-1..S-4, I, II, III.")] = "II",
    severity: Annotated[str, typer.Option(help="normal, tightened or reduced.")] = "normal",
    as_json: JsonOption = False,
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
    as_json: JsonOption = False,
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
    table.add_column("layers", max_width=9)  # one layer a line
    table.add_column("what it does", overflow="fold", min_width=30)
    for r in rows:
        table.add_row(r["type"], r["family"], r["target"], r["severity_axis"],
                      "\n".join(r["layers"]), r["summary"])
    stdout.print(table)


@shocks_app.command("show")
@_errors_to_exit
def shocks_show(
    shock: Annotated[str, typer.Argument(help="A shock type, e.g. supplier_outage.")],
    as_json: JsonOption = False,
) -> None:
    """A shock type's documentation and the JSON Schema of its parameters."""
    from shocktwin.errors import ShockError
    from shocktwin.shock_library import shock_types

    types = shock_types()
    if shock not in types:
        raise ShockError(f"unknown shock type {shock!r} (known: {', '.join(sorted(types))})")
    cls = types[shock]
    from shocktwin.shock_library.ranges import NOT_IN_SWEEP, default_range

    default = default_range(shock)
    info = {**cls.describe(), "doc": " ".join((cls.__doc__ or "").split()),
            "campaign_default": None if default is None else {
                "low": default.low, "high": default.high, "duration": default.duration,
                "parameters": default.parameters},
            "schema": cls.model_json_schema()}
    if as_json:
        print(json.dumps(info, indent=2))
        return
    stdout.print(f"{shock} ({info['family']}; target: {info['target']}; severity axis: "
                 f"{info['severity_axis']})", highlight=False)
    stdout.print(info["doc"], highlight=False)
    stdout.print("campaign default (suite shocks: all): " + (
        default.text(cls.severity_axis) if default is not None
        else f"not in the sweep — {NOT_IN_SWEEP.get(shock, 'no default range; list it')}"),
        highlight=False, markup=False)
    stdout.print("acts on quality: " + ("; ".join(info["acts_on"])
                                        or "no defect rate, characteristic or gauge"),
                 highlight=False)
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
    """Console-script entry point. An exception that escapes a command is an internal
    error: it exits 3, never 0 or 1 (which say whether the hypothesis holds)."""
    from shocktwin.cli._errors import EXIT_INTERNAL, report_internal_error

    for stream in (sys.stdout, sys.stderr):  # a file name that is not UTF-8 still prints
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")
    from shocktwin.cli._errors import EXIT_INTERRUPTED

    try:
        app()
    except SystemExit:
        raise
    except KeyboardInterrupt:
        sys.exit(EXIT_INTERRUPTED)
    except Exception as e:
        report_internal_error(e)
        sys.exit(EXIT_INTERNAL)


if __name__ == "__main__":  # pragma: no cover
    main()
