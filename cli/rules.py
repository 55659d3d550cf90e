"""The `shocktwin rules` commands: lint a rule-set file, show it compiled, draft one from a
failure table, print its schema.

Mounted by ``shocktwin.cli.app``. Exit codes of ``rules lint``: 0 no errors or warnings
(info notes allowed), 1 lint found errors or warnings, 2 the file (or the scenario) is
invalid. Invalid input is reported as in the rest of the CLI: one line per problem on
stderr, no traceback.
"""

from __future__ import annotations

import functools
import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from shocktwin.cli._errors import console
from shocktwin.cli._errors import errors_to_exit as _errors_to_exit

if TYPE_CHECKING:
    from shocktwin.rules_engine.lint import LintFinding
    from shocktwin.rules_engine.ruleset import CompiledPlan, Plan, RuleSet

__all__ = ["EXIT_CLEAN", "EXIT_FINDINGS", "EXIT_INVALID", "print_rules_schema", "rules_app",
           "schema_rules"]

EXIT_CLEAN, EXIT_FINDINGS, EXIT_INVALID = 0, 1, 2

rules_app = typer.Typer(
    help="Rule-set files: inspection plans per material and the triggers that change them.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

_stdout = console()


@rules_app.command("lint")
@_errors_to_exit
def lint_command(
    file: Annotated[Path, typer.Argument(help="The rule-set file (YAML).")],
    scenario: Annotated[str | None, typer.Option(
        help="Check materials, stations and suppliers against this scenario (a file or a "
             "bundled scenario's name).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print only JSON on stdout.")] = False,
    allow_root: Annotated[list[Path] | None, typer.Option(
        "--allow-root", metavar="DIR", help="A folder besides the rule file's own that the "
        "rule files it "
        "loads may lie in (repeatable).")] = None,
) -> None:
    """Check a rule-set file for mistakes that validation lets through.

    Exit 0 when lint finds no errors or warnings, 1 when it does, 2 when the file is invalid.
    """
    from shocktwin.errors import ShocktwinError
    from shocktwin.rules_engine.lint import LintSeverity, lint_file

    try:
        roots = allow_root or ()
        sc = _scenario(scenario, roots) if scenario is not None else None
        findings = lint_file(file, sc, allowed_roots=roots)
    except ShocktwinError as e:
        if not as_json:
            raise
        print(json.dumps({"file": str(file), "valid": False, "problems": [
            {"file": p.file, "line": p.line, "column": p.column, "path": p.path,
             "message": p.message}
            for p in e.problems]}, indent=2))
        raise typer.Exit(EXIT_INVALID) from None
    failing = [f for f in findings if f.severity is not LintSeverity.INFO]
    if as_json:
        print(json.dumps({"file": str(file), "valid": True, "clean": not failing,
                          "findings": [_finding_json(f) for f in findings]}, indent=2))
    else:
        for f in findings:
            _stdout.print(f"{f.severity.value}: {f} [{f.code.value}]", markup=False,
                          highlight=False)
        counts = {s: sum(f.severity is s for f in findings) for s in LintSeverity}
        summary = ", ".join(f"{n} {_PLURAL[s.value] if n != 1 else s.value}"
                            for s, n in counts.items())
        verdict = "ok" if not failing else "lint failed"
        _stdout.print(f"{verdict}: {file}: {summary}", markup=False, highlight=False)
    raise typer.Exit(EXIT_FINDINGS if failing else EXIT_CLEAN)


_PLURAL = {"error": "errors", "warning": "warnings", "info": "info"}


def _finding_json(f: LintFinding) -> dict[str, Any]:
    return {"severity": f.severity.value, "code": f.code.value, "file": f.file,
            "line": f.line, "path": f.path, "message": f.message}


def _scenario(text: str, allowed_roots: Sequence[Path]) -> Any:
    from shocktwin.scenarios import load_scenario, scenario_path

    return load_scenario(scenario_path(text), allowed_roots=allowed_roots)


@rules_app.command("show")
@_errors_to_exit
def show_command(
    file: Annotated[Path, typer.Argument(help="The rule-set file (YAML).")],
    lot_size: Annotated[list[int] | None, typer.Option(
        "--lot-size", help="Show the plans for these lot sizes only (repeatable).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print only JSON on stdout.")] = False,
) -> None:
    """Summarise a rule set: each plan with its compiled n/Ac/Re per lot size, and triggers."""
    from shocktwin.rules_engine.ruleset import compile_plan, load_rules

    ruleset = load_rules(file)
    compiled = compile_plan(ruleset)
    lots = list(lot_size or [])
    # Checked before anything is printed, so bad input leaves no partial output.
    first = next(iter(compiled.plans.values()), None)  # a library alone has no plan
    if first is not None:
        for lot in lots:
            first.plan_for(lot)
    if as_json:
        print(json.dumps(_show_json(ruleset, compiled.plans, lots, compiled.content_hash),
                         indent=2))
        return
    _print_show(ruleset, compiled.plans, lots, compiled.content_hash)


def _rows(plan: CompiledPlan, lots: list[int]) -> list[dict[str, Any]]:
    """One row per lot-size range (or per asked lot size) with n/Ac/Re at each severity."""
    from shocktwin.rules_engine.sampling import Severity

    rows: list[dict[str, Any]] = []
    if not plan.ranges:
        return rows
    if lots:
        for lot in lots:
            row: dict[str, Any] = {"lot_size": lot}
            for severity in Severity:
                p = plan.plan_for(lot, severity)
                if p is not None:
                    row["code_letter"] = p.code_letter
                    row[severity.value] = {"n": p.n, "ac": p.ac, "re": p.re,
                                           "full_inspection": p.full_inspection}
            rows.append(row)
        return rows
    normal = plan.ranges[Severity.NORMAL]
    for index, r in enumerate(normal):
        row = {"lot_min": r.lot_min, "lot_max": r.lot_max, "code_letter": r.code_letter}
        for severity in Severity:
            cell = plan.ranges[severity][index].cell
            row[severity.value] = {"n": cell.n, "ac": cell.ac, "re": cell.re}
        rows.append(row)
    return rows


def _show_json(ruleset: RuleSet, plans: Any, lots: list[int], digest: str) -> dict[str, Any]:
    data = ruleset.model_dump(mode="json", by_alias=True)
    data["content_hash"] = digest
    for plan_data in data["plans"]:
        plan_data["compiled"] = _rows(plans[plan_data["material"]], lots)
    return data


def _cell_text(cell: dict[str, Any] | None) -> str:
    if cell is None:
        return "–"
    text = f"{cell['n']}/{cell['ac']}/{cell['re']}"
    return text + " (100 %)" if cell.get("full_inspection") else text


def _print_show(ruleset: RuleSet, plans: Any, lots: list[int], digest: str) -> None:
    from shocktwin.rules_engine.ruleset import SingleSampling
    from shocktwin.units import format_hours

    say = functools.partial(_stdout.print, markup=False, highlight=False)
    say(f"rule set {ruleset.name} (format {ruleset.version}), content hash {digest}")
    if ruleset.description.strip():
        say(" ".join(ruleset.description.split()))
    if ruleset.library is not None:
        kinds = Counter(str(r.kind) for r in ruleset.library.rules)
        fallback = ruleset.library.fallback
        say(f"library: {len(ruleset.library.rules)} rules ("
            + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())) + "), fallback "
            + (str(fallback.mode) if fallback is not None else "none"))
    for plan in ruleset.plans:
        compiled = plans[plan.material]
        station = f" at {plan.station}" if plan.station else ""
        s = plan.sampling
        if isinstance(s, SingleSampling):
            how = (f"single sampling, level {s.level.value}, AQL {s.aql}, {s.switching.value} "
                   f"switching, starting {s.start.value}")
        else:
            how = "100 % inspection"
        say("")
        say(f"plan {plan.material}{station}: {how}")
        if plan.skip_lot is not None:
            k = plan.skip_lot
            say(f"  skip-lot: inspect {k.inspect} lot in {k.of} after {k.after_accepted} "
                "accepted in a row")
        if plan.first_article is not None:
            say(f"  first article: {plan.first_article.pieces} pieces of the first lot of a "
                "new supplier or part")
        if plan.ai is not None:
            threshold = ("its own threshold" if plan.ai.threshold is None
                         else f"threshold {plan.ai.threshold:g}")
            say(f"  AI inspection: {plan.ai.model}, {threshold}")
        for c in compiled.characteristics:
            parts = []
            if c.spec is not None:
                parts.append(f"spec [{_limit(c.spec.lsl)}, {_limit(c.spec.usl)}] {c.spec.unit}")
            if c.chart is not None:
                numbers = ", ".join(r.value.split("_")[0] for r in c.run_rules)
                size = "sample size" if c.subgroup_size is None else c.subgroup_size
                parts.append(f"{c.chart.value} chart (n={size}; {numbers})")
            if c.cpk_min is not None:
                parts.append(f"Cpk ≥ {c.cpk_min:g}")
            if c.ppk_min is not None:
                parts.append(f"Ppk ≥ {c.ppk_min:g}")
            say(f"  {c.name}: {'; '.join(parts) or 'recorded only'}")
        rows = _rows(compiled, lots)
        if not rows:
            continue
        table = Table(title=f"{plan.material}: n/Ac/Re", title_justify="left")
        for col in ("lot size", "code", "normal", "tightened", "reduced"):
            table.add_column(col, justify="left" if col == "lot size" else "right",
                             no_wrap=True)
        for row in rows:
            if "lot_size" in row:
                span = f"{row['lot_size']:,}"
            elif row["lot_max"] is None:
                span = f"{row['lot_min']:,} and over"
            else:
                span = f"{row['lot_min']:,}–{row['lot_max']:,}"
            table.add_row(span, row["code_letter"], _cell_text(row.get("normal")),
                          _cell_text(row.get("tightened")), _cell_text(row.get("reduced")))
        _stdout.print(table)
    if ruleset.triggers:
        say("")
        say("triggers:")
    for t in ruleset.triggers:
        scope = f" [{t.material}]" if t.material else ""
        hold = f" for {format_hours(t.for_h)}" if t.for_h else ""
        actions = ", ".join(_action_text(a.model_dump(mode="json")) for a in t.then)
        say(f"  {t.id}{scope}: when {t.when}{hold} → {actions}")


def _limit(x: float | None) -> str:
    return "–" if x is None else f"{x:g}"


def _action_text(fields: dict[str, Any]) -> str:
    kind = fields.pop("type")
    return f"{kind} " + " ".join(f"{k}={v}" for k, v in fields.items())


@rules_app.command("derive")
@_errors_to_exit
def derive_command(
    failures: Annotated[Path, typer.Option(
        "--failures", help="The failure-mode table: FMEA ratings or defect counts per "
                           "characteristic (.csv, or a YAML list).")],
    out: Annotated[Path, typer.Option("--out", help="Where to write the drafted rule set "
                                                    "(YAML).")],
    material: Annotated[str | None, typer.Option(
        help="Draft only this material's plan (default every material in the table).")
                        ] = None,
    existing_supplier: Annotated[bool, typer.Option(
        "--existing-supplier", help="The supplier is not new: start on normal inspection, "
                                    "without a first article.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Overwrite --out if it exists.")
                     ] = False,
    library: Annotated[bool, typer.Option(
        "--library", help="Draft a rule library instead: one rule per failure mode and "
                          "context of the table's rows, bound to those contexts.")] = False,
    context: Annotated[list[str] | None, typer.Option(
        "--context", metavar="KEY=VALUE", help="With --library: bind every rule to this "
        "context value, replacing the value the rows give for KEY (e.g. toolchain=eda-b "
        "regenerates rules written for another tool chain); repeatable.")] = None,
    fallback: Annotated[str | None, typer.Option(
        "--fallback", metavar="MODE", help="With --library: how the plant releases while "
        "rules are invalid: hold_release (default), full_inspection or deviation.")] = None,
    pool: Annotated[str | None, typer.Option(
        "--pool", help="With --fallback deviation: the resource pool of approvers.")] = None,
    approval_time: Annotated[str | None, typer.Option(
        "--approval-time", metavar="DURATION", help="With --fallback deviation: mean time "
        "to approve a unit (e.g. 2h).")] = None,
) -> None:
    """Draft inspection plans from a failure-mode table: level and AQL by risk, which
    characteristics to inspect, first article and tightened start for a new supplier.
    With --library, draft a rule library: one rule per failure mode and context.

    Exit 0 when the rule set was written, 2 for a bad table or an --out that exists.
    """
    from shocktwin.errors import Problem, RuleError
    from shocktwin.rules_engine.failures import assess_row, derive_rules_file

    plan_options = {"--material": material is not None,
                    "--existing-supplier": existing_supplier}
    library_options = {"--context": bool(context), "--fallback": fallback is not None,
                       "--pool": pool is not None, "--approval-time": approval_time is not None}
    refused = ([Problem(None, name, "drafts inspection plans; leave it out with --library")
                for name, given in plan_options.items() if given] if library else
               [Problem(None, name, "needs --library") for name, given in
                library_options.items() if given])
    if refused:
        raise RuleError(refused)
    if library:
        _derive_library(failures, out, context or [], fallback, pool, approval_time, force)
        return
    ruleset, rows = derive_rules_file(failures, out, material=material,
                                      new_supplier=not existing_supplier, replace=force)

    drafted = {p.material: {c.name for c in p.characteristics} for p in ruleset.plans}
    table = Table(title=f"{failures}: risk by row", title_justify="left")
    for col in ("material", "characteristic", "failure mode", "basis", "risk", "inspected"):
        table.add_column(col, overflow="fold", no_wrap=col not in ("failure mode", "basis"))
    for row in rows:
        if row.material not in drafted:
            continue
        a = assess_row(row)
        table.add_row(row.material, row.characteristic, row.failure_mode or "–",
                      "; ".join(a.reasons), a.risk.value,
                      "yes" if row.characteristic in drafted[row.material] else "no")
    _stdout.print(table)
    say = functools.partial(_stdout.print, markup=False, highlight=False)
    for plan in ruleset.plans:
        say(f"plan {plan.material}: {_plan_text(plan)}")
    say(f"wrote {out} (rule set {ruleset.name}, content hash {ruleset.content_hash()})")



def _derive_library(failures: Path, out: Path, context: list[str], fallback: str | None,
                    pool: str | None, approval_time: str | None, force: bool) -> None:
    from shocktwin.errors import Problem, RuleError
    from shocktwin.rules_engine.failures import (
        DEFAULT_FALLBACK,
        derive_library_file,
        make_fallback,
        parse_context_overrides,
    )

    problems: list[Problem] = []
    try:
        contexts = parse_context_overrides(context)
    except RuleError as e:
        problems.extend(e.problems)
        contexts = {}
    try:
        chosen = make_fallback(fallback or DEFAULT_FALLBACK.mode.value, pool=pool,
                               approval_time=approval_time)
    except RuleError as e:
        problems.extend(e.problems)
        chosen = DEFAULT_FALLBACK
    if problems:
        raise RuleError(problems)
    ruleset, counts = derive_library_file(failures, out, contexts=contexts, fallback=chosen,
                                          replace=force)
    table = Table(title=f"{failures}: rules by kind and context", title_justify="left")
    for col in ("kind", "context", "rules"):
        table.add_column(col, justify="right" if col == "rules" else "left", no_wrap=True)
    for (kind, key, value), n in counts.by_kind_and_context.items():
        table.add_row(kind.value, f"{key}={value}", f"{n:,}")
    _stdout.print(table)
    say = functools.partial(_stdout.print, markup=False, highlight=False)
    kinds = ", ".join(f"{n:,} {kind.value}" for kind, n in counts.by_kind.items())
    say(f"drafted {counts.rules:,} rules ({kinds}) from {counts.rows:,} rows: "
        f"{counts.candidates:,} failure mode and context combinations, {counts.merged:,} "
        f"duplicates merged" + (f", {counts.rebound:,} rows re-bound to "
                                f"{', '.join(context)}" if context else ""))
    say(f"wrote {out} (rule set {ruleset.name}, fallback {chosen.mode.value}, content hash "
        f"{ruleset.content_hash()})")


def _plan_text(plan: Plan) -> str:
    from shocktwin.rules_engine.ruleset import SingleSampling

    s = plan.sampling
    parts = [f"single sampling, level {s.level.value}, AQL {s.aql}, starting {s.start.value}"
             if isinstance(s, SingleSampling) else "100 % inspection"]
    if plan.first_article is not None:
        parts.append(f"first article {plan.first_article.pieces} pieces")
    names = ", ".join(c.name for c in plan.characteristics) or "none"
    parts.append(f"inspects {names}")
    return "; ".join(parts)


def schema_rules() -> dict[str, Any]:
    """The JSON Schema of rule-set files."""
    from shocktwin.rules_engine.ruleset import rules_json_schema

    return rules_json_schema()


def print_rules_schema() -> None:
    """The JSON Schema of rule-set files (point your editor's YAML plugin at it)."""
    print(json.dumps(schema_rules(), indent=2))
