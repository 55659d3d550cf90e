"""The management-review report: one self-contained HTML file from results folders.

A results folder is what ``shocktwin run --out`` writes (``journal.json`` and
``results.duckdb`` or Parquet tables) or what ``shocktwin mtd --out`` writes
(``mtd.json``); either may hold a ``pareto.json``. The report embeds plotly.js once and
refers to nothing outside the file, so it opens offline, can be archived with the review
minutes and prints one section per page.

Every string that came from a user file is HTML-escaped where it is written, and also
before it is handed to plotly (which renders text as HTML).
"""

from __future__ import annotations

import dataclasses
import html
import json
import math
import re
import shlex
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeGuard

import numpy as np

from shocktwin.errors import Problem, ReplayError, ShocktwinError, SimulationError
from shocktwin.files import write_atomic
from shocktwin.kpis import SHARE_KPIS, base_kpi, format_kpi, kpi_key, kpis_to_show, product_of
from shocktwin.reports import _figures as figs
from shocktwin.reports import _quality_system as qs
from shocktwin.reports._locale import bilingual
from shocktwin.twin.journal.document import MtdStatus
from shocktwin.units import format_hours

__all__ = ["REPORT_FORMAT", "SECTIONS", "ParetoFront", "ResultsFolder", "load_results",
           "render_report", "write_report"]

#: Journal format versions this report reads (2 adds the hash chain, 3 names the tables'
#: format; a format 1 journal cannot be verified, so it is read only when told
#: ``unverified``).
REPORT_FORMAT = frozenset({1, 2, 3})
#: Largest journal or document read.
_READ_LIMIT = 1024 * 1024 * 1024

#: The report's sections: (anchor, heading). The Pareto section appears only when a
#: results folder holds a Pareto front.
SECTIONS: tuple[tuple[str, str], ...] = (
    ("summary", "Executive summary"),
    ("resilience", "Resilience curves"),
    ("mtd", "Maximum tolerable disruption"),
    ("distributions", "KPI distributions over replications"),
    ("pareto", "Pareto front of mitigations"),
    ("rules", "Rule-set changes and their effect"),
    ("quality", "Measured quality: capability, control charts, comparability"),
    ("quality_system", "Quality system recovery"),
    ("provenance", "Data provenance"),
    ("reproducibility", "Reproducibility"),
)

#: Series drawn besides the hypothesis's own KPIs, when present.
_CONTEXT_SERIES = ("throughput_per_h", "wip_mean", "stockout_hours", "inspection_utilisation")
_MAX_PANELS = 6
_NOT_KPIS = frozenset({"replication", "events", "bucket", "t_start_h", "t_end_h", "released"})
_JOURNAL_KEYS = ("scenario", "scenario_hash", "seed", "records", "journal_hash")


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


# --------------------------------------------------------------------------- loading


@dataclass(frozen=True)
class ParetoFront:
    """Non-dominated points (objective name -> value) with a label each (their settings),
    and the dominated points evaluated on the way, as ``shocktwin optimize`` saves them."""

    objectives: tuple[str, ...]
    points: tuple[dict[str, float], ...]
    labels: tuple[str, ...]
    senses: dict[str, str] = field(default_factory=dict)  # objective -> "min" | "max"
    evaluated: tuple[dict[str, float], ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)  # scenario, scenario_hash, seed, runs


@dataclass(frozen=True)
class ResultsFolder:
    """What one results folder holds; any part may be absent."""

    path: Path
    journal: dict[str, Any] | None = None
    mtd: dict[str, Any] | None = None
    replications: dict[str, np.ndarray] | None = None
    series: dict[str, np.ndarray] | None = None
    pareto: ParetoFront | None = None
    label: str = ""
    #: True when every result in the folder verified (hash chains, headers and tables as
    #: written); False when one did not and the report was asked for ``unverified``.
    intact: bool = True
    #: What ``verify`` found, one line per finding (empty when intact).
    findings: tuple[str, ...] = ()

    @property
    def scenario(self) -> dict[str, Any]:
        sc = (self.journal or {}).get("scenario")
        return sc if isinstance(sc, dict) else {}

    @property
    def name(self) -> str:
        if self.scenario.get("name"):
            return str(self.scenario["name"])
        if self.mtd and self.mtd.get("scenario"):
            return str(self.mtd["scenario"])
        if self.pareto and self.pareto.meta.get("scenario"):
            return str(self.pareto.meta["scenario"])
        return self.path.name

    @property
    def records(self) -> list[dict[str, Any]]:
        recs = (self.journal or {}).get("records")
        return [r for r in recs if isinstance(r, dict)] if isinstance(recs, list) else []

    def kpi_values(self) -> dict[str, np.ndarray]:
        """Each KPI over replications, from the replications table or the journal."""
        if self.replications is not None:
            return {k: np.asarray(v, dtype=float) for k, v in self.replications.items()
                    if k not in _NOT_KPIS}
        rows = [r.get("kpis") for r in self.records if r.get("kind") == "ReplicationFinished"]
        table: dict[str, list[float]] = {}
        for kpis in rows:
            if isinstance(kpis, dict):
                for k in kpis:
                    table.setdefault(k, [])
        for kpis in rows:
            for k in table:
                v = kpis.get(k) if isinstance(kpis, dict) else None
                table[k].append(float(v) if _is_number(v) else math.nan)
        return {k: np.array(v, dtype=float) for k, v in table.items()}


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _ci95(shock: Mapping[str, Any]) -> list[Any]:
    ci = shock.get("ci95")
    return list(ci) + [None] * (2 - len(ci)) if isinstance(ci, list) else [None, None]


def _is_number(value: object) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def load_results(results_dirs: Sequence[str | Path], *,
                 unverified: bool = False) -> list[ResultsFolder]:
    """Verify and read every results folder; raise :class:`SimulationError` listing all
    problems. A folder whose results do not verify (``shocktwin verify``) is refused unless
    ``unverified``; then it is read as far as it can be and marked as not intact."""
    if not results_dirs:
        raise SimulationError("no results folders given")
    problems: list[Problem] = []
    folders: list[ResultsFolder] = []
    for raw in results_dirs:
        folder = _load_folder(Path(raw), problems, unverified=unverified)
        if folder is not None:
            folders.append(folder)
    if problems:
        raise SimulationError(problems)
    return _labelled(folders)


def _verify(path: Path) -> list[str]:
    """What ``verify`` finds in the folder: one line per finding; empty when intact."""
    from shocktwin.twin.journal.verify import verify_results

    try:
        reports = verify_results(path)
    except ShocktwinError as e:
        return [f"cannot be verified: {p}" for p in e.problems]
    return [f"{r.journal.name}: {x}" for r in reports for x in r.findings]


def _labelled(folders: list[ResultsFolder]) -> list[ResultsFolder]:
    """Each folder's label: its scenario's name, with the folder's name (or path) added
    where several folders hold the same scenario."""
    names = Counter(f.name for f in folders)
    short = Counter(f"{f.name} [{f.path.name}]" for f in folders)
    out = []
    for f in folders:
        label = f.name
        if names[f.name] > 1:
            label = f"{f.name} [{f.path.name}]"
            if short[label] > 1:
                label = f"{f.name} [{f.path}]"
        out.append(dataclasses.replace(f, label=label))
    return out


def _load_folder(path: Path, problems: list[Problem], *,
                 unverified: bool) -> ResultsFolder | None:
    from shocktwin.twin.journal.document import DOCUMENT_FILES, DocumentKind

    where = str(path)
    if not path.exists():
        problems.append(Problem(where, "", "results folder not found"))
        return None
    if not path.is_dir():
        problems.append(Problem(where, "", "not a folder (give the folder a run or an MTD "
                                           "search wrote with --out)"))
        return None
    journal_file = path / "journal.json"
    mtd_file = path / DOCUMENT_FILES[DocumentKind.MTD]
    pareto_file = path / DOCUMENT_FILES[DocumentKind.PARETO]
    if not any(f.is_file() for f in (journal_file, mtd_file, pareto_file)):
        problems.append(Problem(where, "", "holds no journal.json (shocktwin run --out), "
                                           "mtd.json (shocktwin mtd --out) or pareto.json "
                                           "(shocktwin optimize --out)"))
        return None
    from shocktwin.locks import locked

    # Held while the folder is verified and read, so no writer swaps it in between.
    try:
        with locked(path, what="results folder", error=SimulationError, if_possible=True,
                    shared=True):
            return _verified_folder(path, problems, unverified=unverified)
    except SimulationError as e:
        problems.extend(e.problems)
        return None


def _verified_folder(path: Path, problems: list[Problem], *,
                     unverified: bool) -> ResultsFolder | None:
    from shocktwin.twin.journal.document import DOCUMENT_FILES, DocumentKind

    where = str(path)
    journal_file = path / "journal.json"
    mtd_file = path / DOCUMENT_FILES[DocumentKind.MTD]
    pareto_file = path / DOCUMENT_FILES[DocumentKind.PARETO]
    findings = _verify(path)
    if findings and not unverified:
        more = f" (and {len(findings) - 1} more)" if len(findings) > 1 else ""
        problems.append(Problem(where, "", f"does not verify: {findings[0]}{more}; "
                                           f"`shocktwin verify {path}` lists what changed; "
                                           "give --unverified to report it anyway"))
        return None
    before = len(problems)
    journal = _read_journal(journal_file, problems) if journal_file.is_file() else None
    mtd = _read_mtd(mtd_file, problems) if mtd_file.is_file() else None
    tables: dict[str, dict[str, np.ndarray]] = {}
    if journal is not None:
        tables = _read_tables(path, ("replications", "series"), problems)
    pareto = _read_pareto(pareto_file, problems) if pareto_file.is_file() else None
    if len(problems) > before:
        return None
    return ResultsFolder(path=path, journal=journal, mtd=mtd,
                         replications=tables.get("replications"), series=tables.get("series"),
                         pareto=pareto, intact=not findings, findings=tuple(findings))


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return value


def _read_json(file: Path, problems: list[Problem]) -> Any:
    from shocktwin.jsontext import read_json

    try:
        return read_json(file, limit=_READ_LIMIT, error=SimulationError)
    except ShocktwinError as e:
        problems.extend(e.problems)
    return None


def _read_journal(file: Path, problems: list[Problem]) -> dict[str, Any] | None:
    doc = _read_json(file, problems)
    if doc is None:
        return None
    if not isinstance(doc, dict):
        problems.append(Problem(str(file), "", "not a run journal (expected a JSON object)"))
        return None
    fmt = doc.get("format")
    if isinstance(fmt, bool) or not isinstance(fmt, int | float) or fmt not in REPORT_FORMAT:
        known = ", ".join(str(v) for v in sorted(REPORT_FORMAT))
        what = "has no format version" if fmt is None else f"has unknown format {fmt!r}"
        problems.append(Problem(str(file), "format", f"the journal {what}; this version of "
                                                     f"shocktwin reads format {known}"))
        return None
    missing = [k for k in _JOURNAL_KEYS if k not in doc]
    if missing:
        problems.append(Problem(str(file), "", f"not a complete run journal: missing "
                                               f"{', '.join(missing)}"))
        return None
    if not isinstance(doc["scenario"], dict) or not isinstance(doc["records"], list):
        problems.append(Problem(str(file), "", "not a run journal: scenario must be an "
                                               "object and records a list"))
        return None
    return doc


def _read_mtd(file: Path, problems: list[Problem]) -> dict[str, Any] | None:
    """``mtd.json`` through its one reader, as the plain values the report shows."""
    from shocktwin.twin.journal.document import DocumentKind, MtdDocument, read_document

    try:
        doc = read_document(file, DocumentKind.MTD)
    except ShocktwinError as e:
        problems.extend(e.problems)
        return None
    assert isinstance(doc, MtdDocument)
    finished = doc.finished
    skip = {"seq", "prev_hash", "hash", "kind"}
    return {"scenario": doc.scenario, "scenario_hash": doc.scenario_hash, "seed": doc.seed,
            "runs_reused": finished.runs_reused if finished else 0,
            "chain_hash": doc.chain_hash,
            "shocks": [r.model_dump(mode="json", exclude=skip) for r in doc.shocks]}


def _read_pareto(file: Path, problems: list[Problem]) -> ParetoFront | None:
    """``pareto.json`` through its one reader: the front, labelled by its settings."""
    from shocktwin.twin.journal.document import DocumentKind, ParetoDocument, read_document

    try:
        doc = read_document(file, DocumentKind.PARETO)
    except ShocktwinError as e:
        problems.extend(e.problems)
        return None
    assert isinstance(doc, ParetoDocument)
    finished = doc.finished
    objectives = [o.name for o in finished.objectives] if finished else []
    if len(objectives) < 2:
        problems.append(Problem(str(file), "", "a Pareto front needs at least two objectives"))
        return None

    def values(p: Any) -> dict[str, float]:
        return {k: float(v) for k, v in p.objectives.items() if v is not None}

    front = [p for p in doc.points if p.on_front]
    return ParetoFront(
        objectives=tuple(objectives), points=tuple(values(p) for p in front),
        labels=tuple(_point_label(p.decisions) for p in front),
        senses={o.name: o.sense for o in finished.objectives} if finished else {},
        evaluated=tuple(values(p) for p in doc.points),
        meta={"scenario": doc.scenario, "scenario_hash": doc.scenario_hash, "seed": doc.seed,
              "runs": finished.runs if finished else None, "chain_hash": doc.chain_hash})


def _read_tables(folder: Path, names: Iterable[str],
                 problems: list[Problem]) -> dict[str, dict[str, np.ndarray]]:
    """The run's tables from ``results.duckdb`` or from ``NAME.parquet`` files."""
    from shocktwin.edge_replay.result_tables import (
        RESULTS_DB,
        read_duckdb_tables,
        read_parquet_tables,
    )

    order = {"series": "replication, bucket", "replications": "replication"}
    db = folder / RESULTS_DB
    try:
        if db.is_file():
            tables = read_duckdb_tables(db, names, order=order)
        else:
            tables = read_parquet_tables({n: folder / f"{n}.parquet" for n in names},
                                         order=order)
    except ReplayError as e:
        problems.extend(Problem(p.file, p.path, f"results tables: {p.message}")
                        for p in e.problems)
        return {}
    return {name: {k: np.asarray(v) for k, v in columns.items()}
            for name, columns in tables.items()}


def _point_label(fields: Mapping[str, Any]) -> str:
    parts = []
    for k, v in fields.items():
        if isinstance(v, dict):
            parts += [f"{kk} = {vv}" for kk, vv in v.items()]
        else:
            parts.append(f"{k} = {v}")
    return ", ".join(parts)


# --------------------------------------------------------------------------- formatting


#: Between a number and its unit in the report, so a line never breaks inside a duration.
_NBSP = "\u00a0"


def _hours(h: float) -> str:
    return format_hours(h, _NBSP)


def _fmt_kpi(kpi: str, x: float | None) -> str:
    return format_kpi(kpi, x, _NBSP)


def _fmt_axis(value: object, unit: str) -> str:
    """A severity as text; ``above_range``/``below_range`` as mtd.json writes them."""
    if value is None:
        return "–"
    if isinstance(value, str):
        return value.replace("_", " ")
    if not _is_number(value):
        return str(value)
    x = float(value)  # type: ignore[arg-type]
    if math.isinf(x):
        return "above range" if x > 0 else "below range"
    if math.isnan(x):
        return "–"
    return _hours(x) if unit == "h" else f"{x:.4g}"


def _tolerances(folder: ResultsFolder) -> dict[str, tuple[float | None, float | None]]:
    hyp = folder.scenario.get("hypothesis")
    tols = hyp.get("tolerances") if isinstance(hyp, dict) else None
    out: dict[str, tuple[float | None, float | None]] = {}
    for t in tols if isinstance(tols, list) else []:
        if isinstance(t, dict) and t.get("kpi"):
            lo, hi = t.get("min"), t.get("max")
            product = t.get("product")
            key = kpi_key(str(t["kpi"]), str(product) if product else None)
            out[key] = (float(lo) if _is_number(lo) else None,
                        float(hi) if _is_number(hi) else None)
    return out


def _shown(folder: ResultsFolder, values: Mapping[str, Any]) -> tuple[list[str], int]:
    """The KPIs to show one by one (all of a few products; of many, those bounded)."""
    return kpis_to_show(values, {p for p in map(product_of, _tolerances(folder)) if p})


def _tolerance_text(kpi: str, bounds: tuple[float | None, float | None]) -> str:
    lo, hi = bounds
    parts = []
    if lo is not None:
        parts.append(f"≥ {_fmt_kpi(kpi, lo)}")
    if hi is not None:
        parts.append(f"≤ {_fmt_kpi(kpi, hi)}")
    return ", ".join(parts)


def _holds(value: float, bounds: tuple[float | None, float | None]) -> bool:
    lo, hi = bounds
    if not math.isfinite(value):
        return False
    return not ((lo is not None and value < lo) or (hi is not None and value > hi))


def _ci(values: np.ndarray) -> tuple[float, float, float, int]:
    from shocktwin.twin.experiment.replication import confidence_interval

    s = confidence_interval("", np.asarray(values, dtype=float))
    return s.mean, s.ci_low, s.ci_high, s.n


def _badge(ok: bool | None, yes: str = "PASS", no: str = "FAIL", na: str = "n/a") -> str:
    if ok is None:
        return f'<span class="badge na">{na}</span>'
    return f'<span class="badge {"ok" if ok else "bad"}">{yes if ok else no}</span>'


def _table(head: Sequence[str], rows: Iterable[Sequence[str]], *, cls: str = "") -> str:
    """An HTML table; cells are already HTML (escape user text before)."""
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    if not body:
        return ""
    th = "".join(f"<th>{h}</th>" for h in head)
    return f'<table class="{cls}"><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>'


def _dl(items: Iterable[tuple[str, str]]) -> str:
    return "<dl>" + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in items) + "</dl>"


def _code(value: object) -> str:
    return f"<code>{_e(value)}</code>"


def _note(text: str) -> str:
    return f'<p class="note">{text}</p>'


# --------------------------------------------------------------------------- sections


@dataclass
class _Page:
    """Collects figures with deterministic ids while the sections are written."""

    figures: int = 0
    sections: list[str] = field(default_factory=list)

    def figure(self, fig: Any, name: str) -> str:
        if fig is None:
            return ""
        self.figures += 1
        div_id = f"fig-{self.figures}-{re.sub(r'[^a-z0-9]+', '-', name.lower())}"
        return f'<div class="figure">{figs.figure_html(fig, div_id)}</div>'


def _runs(folders: Sequence[ResultsFolder]) -> list[ResultsFolder]:
    return [f for f in folders if f.journal is not None]


def _searches(folders: Sequence[ResultsFolder]) -> list[ResultsFolder]:
    return [f for f in folders if f.mtd is not None]


def _verdict(folder: ResultsFolder) -> tuple[bool | None, float | None, float | None]:
    """(holds, share of replications in which all tolerances held, required share)."""
    holds = next((r.get("hypothesis_holds") for r in folder.records
                  if r.get("kind") == "RunFinished"), None)
    hyp = folder.scenario.get("hypothesis")
    required = hyp.get("probability") if isinstance(hyp, dict) else None
    values = folder.kpi_values()
    tols = _tolerances(folder)
    n = max((v.size for v in values.values()), default=0)
    observed = None
    if n and tols:
        together = np.ones(n, dtype=bool)
        for kpi, bounds in tols.items():
            col = values.get(kpi, np.full(n, np.nan))
            together &= np.array([_holds(float(v), bounds) for v in col], dtype=bool)
        observed = float(together.mean())
    return (holds if isinstance(holds, bool) else None, observed,
            float(required) if _is_number(required) else None)


def _mtd_rows(folder: ResultsFolder) -> list[dict[str, Any]]:
    return list((folder.mtd or {}).get("shocks", []))


def _summary(folders: Sequence[ResultsFolder],
             integrity: Mapping[Path, tuple[bool | None, list[str]]]) -> str:
    out: list[str] = []
    unverified = [f for f in folders if integrity.get(f.path, (None, []))[0] is False]
    if unverified:
        names = ", ".join(f"<b>{_e(f.label)}</b>" for f in unverified)
        out.append(f'<p class="unverified">{_badge(False, no="UNVERIFIED")} The results of '
                   f"{names} do not verify: they changed after they were written, or carry "
                   "no integrity data. This report was written with --unverified; their "
                   "numbers cannot be relied on (see Reproducibility).</p>")
    findings: list[str] = []
    for f in _runs(folders):
        holds, observed, required = _verdict(f)
        word = {True: "HOLDS", False: "IS VIOLATED", None: "was not judged"}[holds]
        share = ""
        if observed is not None:
            share = f": all tolerances held together in {observed:.0%} of replications"
            if required is not None:
                share += f" (required {required:.0%})"
        findings.append(f"<li>{_badge(holds, 'HOLDS', 'VIOLATED')} <b>{_e(f.label)}</b> — the "
                        f"steady-state hypothesis {word}{share}.</li>")
    for f in _searches(folders):
        for s in _mtd_rows(f):
            unit = str(s.get("unit") or "")
            ci = _ci95(s)
            target = s.get("target")
            line = (f"<b>{_e(s.get('shock'))}</b> ({_e(f.label)}): MTD "
                    f"{_e(_fmt_axis(s.get('mtd'), unit))} (95 % CI "
                    f"{_e(_fmt_axis(ci[0], unit))} … "
                    f"{_e(_fmt_axis(ci[1], unit))})")
            if target is not None:
                line += f" against a target of {_e(_fmt_axis(target, unit))}"
            if s.get("binding_kpi"):
                line += f"; {_e(s['binding_kpi'])} breaks first"
            if s.get("status") == MtdStatus.NOT_CONVERGED:
                line += "; the search did not converge"
            findings.append(f"<li>{_badge(s.get('meets_target'))} {line}.</li>")
    for f in folders:
        if f.pareto is not None:
            tried = f" of {len(f.pareto.evaluated)} evaluated" if f.pareto.evaluated else ""
            findings.append(f'<li>{_badge(None, na="INFO")} <b>{_e(f.label)}</b>: '
                            f"{len(f.pareto.points)} non-dominated mitigation settings{tried} "
                            f"on {', '.join(_e(o) for o in f.pareto.objectives)} (see the "
                            "Pareto front).</li>")
    if findings:
        out.append(f'<ul class="findings">{"".join(findings)}</ul>')
    for f in _searches(folders):
        out.append(f"<h3>MTD against target — {_e(f.label)}</h3>")
        out.append(_mtd_table(f))
    for f in _runs(folders):
        out.append(f"<h3>KPIs with 95 % confidence intervals — {_e(f.label)}</h3>")
        desc = f.scenario.get("description")
        if desc:
            out.append(f'<p class="description">{_e(desc)}</p>')
        out.append(_kpi_table(f))
    if not out:
        out.append(_note("No run journal and no MTD result among the results."))
    return "".join(out)


def _mtd_table(f: ResultsFolder) -> str:
    rows = []
    for s in _mtd_rows(f):
        unit = str(s.get("unit") or "")
        ci = _ci95(s)
        res = _dict(s.get("resilience_at_mtd"))
        iso = _dict(s.get("iso22301"))
        iso_text = "; ".join(f"{_e(k.replace('_', ' '))}: {'yes' if v else 'NO'}"
                             for k, v in iso.items() if isinstance(v, bool)) or "–"

        def hours(key: str, res: dict[str, Any] = res) -> str:
            v = res.get(key)
            return _e(_hours(float(v))) if _is_number(v) and math.isfinite(v) else "–"

        robust = res.get("robustness_pct")
        loss = res.get("loss_pct_h")
        rows.append([
            _e(s.get("shock")), _e(s.get("axis")),
            _e(_fmt_axis(s.get("mtd"), unit)) if s.get("status") != MtdStatus.NOT_CONVERGED
            else "not converged",
            f"{_e(_fmt_axis(ci[0], unit))} … "
            f"{_e(_fmt_axis(ci[1], unit))}",
            _e(_fmt_axis(s.get("target"), unit)), _badge(s.get("meets_target")),
            _e(s.get("binding_kpi") or "–"), hours("tts_h"), hours("ttr_h"),
            f"{robust:.0f} %" if _is_number(robust) and math.isfinite(robust) else "–",
            f"{loss:,.0f}" if _is_number(loss) and math.isfinite(loss) else "–",
            iso_text])
    table = _table(["shock", "severity axis", "MTD", "95 % CI", "target", "result",
                    "binds first", "TTS", "TTR", "robustness", "loss %·h", "ISO 22301"],
                   rows, cls="num")
    if any(None in _ci95(s) for s in _mtd_rows(f)):
        table += _note("–: too few replications to bound the interval on that side (at "
                       "p = 0.9, 36 replications bound it on both sides).")
    outside = {str(s.get("mtd")) for s in _mtd_rows(f)} & set(figs.RANGE_WORDS)
    for token in sorted(outside):
        advice = ("a lower low would place it, if any severity is tolerable at all"
                  if token == "below_range" else "a higher high would place it")
        table += _note(f"{token.replace('_', ' ')}: the MTD is "
                       f"{figs.RANGE_WORDS[token]}; {advice}.")
    return table


def _kpi_table(f: ResultsFolder) -> str:
    values = f.kpi_values()
    tols = _tolerances(f)
    rows = []
    shown, left_out = _shown(f, values)
    for kpi in shown:
        v = values[kpi]
        mean, low, high, n = _ci(v)
        if n >= 2:
            low = max(low, 0.0)  # every KPI is >= 0 and shares are <= 1
            high = min(high, 1.0) if base_kpi(kpi) in SHARE_KPIS else high
            ci = f"{_e(_fmt_kpi(kpi, low))} … {_e(_fmt_kpi(kpi, high))}"
        else:
            ci = "–"
        bounds = tols.get(kpi)
        tol = held = status = ""
        if bounds is not None:
            tol = _e(_tolerance_text(kpi, bounds))
            ok = np.array([_holds(float(x), bounds) for x in v], dtype=bool)
            held = f"{ok.mean():.0%}" if ok.size else "–"
            status = _badge(_holds(mean, bounds), "within", "outside")
        rows.append([_e(kpi), _e(_fmt_kpi(kpi, mean)), ci, tol, held, status])
    n = max((v.size for v in values.values()), default=0)
    more = (_note(f"The KPIs of {left_out} more products are in the results tables.")
            if left_out else "")
    return _table(["KPI", f"mean of {n}", "95 % CI (t)", "tolerance", "held in",
                   "mean vs tolerance"], rows, cls="num") + more


def _shock_windows(f: ResultsFolder) -> list[figs.ShockWindow]:
    horizon = f.scenario.get("horizon")
    end_default = float(horizon) if _is_number(horizon) else math.nan
    open_: dict[tuple[Any, str], list[float]] = defaultdict(list)
    spans: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for r in f.records:
        kind, shock = r.get("kind"), str(r.get("shock"))
        at = r.get("at_h")
        if not _is_number(at):
            continue
        key = (r.get("replication"), shock)
        if kind == "ShockStarted":
            open_[key].append(float(at))
        elif kind == "ShockEnded" and open_[key]:
            spans[shock].append((open_[key].pop(0), float(at)))
    for (_, shock), starts in open_.items():
        spans[shock] += [(s, end_default) for s in starts]
    out = []
    for shock, pairs in spans.items():
        pairs = [(a, b if math.isfinite(b) else a) for a, b in pairs]
        out.append(figs.ShockWindow(shock, min(a for a, _ in pairs), max(b for _, b in pairs),
                                    len(set(pairs)) > 1))
    return sorted(out, key=lambda w: (w.start_h, w.shock))


def _resilience(folders: Sequence[ResultsFolder], page: _Page) -> str:
    out: list[str] = []
    for f in _runs(folders):
        out.append(f"<h3>{_e(f.label)}</h3>")
        windows = _shock_windows(f)
        if f.series is None:
            out.append(_note("No KPI series in this folder (results.duckdb or series.parquet "
                             "is missing)."))
        else:
            # The series are the plant's; a product's tolerance has none of its own.
            tols = {k: b for k, b in _tolerances(f).items() if product_of(k) is None}
            kpis = list(dict.fromkeys([*tols, *_CONTEXT_SERIES]))[:_MAX_PANELS]
            warmup = f.scenario.get("warmup")
            fig = figs.resilience_figure(
                f.series, kpis, windows=windows,
                warmup_h=float(warmup) if _is_number(warmup) else 0.0, tolerances=tols)
            if fig is None:
                out.append(_note("The KPI series hold no values."))
            else:
                out.append(_note("Mean over replications per time bucket with its 95 % "
                                 "confidence band; shaded: each shock's window (grey: "
                                 "warm-up, not measured); dotted: the hypothesis's "
                                 "tolerances."))
                out.append(page.figure(fig, f"resilience {f.label}"))
        out.append(_shock_table(f, windows))
        out.append(_events_table(f))
    if not out:
        out.append(_note("No run journal among the results, so no KPI series to draw."))
    return "".join(out)


def _shock_table(f: ResultsFolder, windows: Sequence[figs.ShockWindow]) -> str:
    declared = {str(s.get("id")): s for s in f.scenario.get("shocks") or []
                if isinstance(s, dict)}
    started: dict[str, list[dict[str, Any]]] = defaultdict(list)
    hit: dict[str, set[str]] = defaultdict(set)
    for r in f.records:
        if r.get("kind") == "ShockStarted":
            started[str(r.get("shock"))].append(r)
        elif r.get("kind") == "SelectorMatched" and isinstance(r.get("suppliers"), list):
            hit[str(r.get("shock"))].update(str(x) for x in r["suppliers"])
    reps = len({r.get("replication") for r in f.records
                if r.get("kind") == "ReplicationFinished"})
    rows = []
    for w in windows:
        recs = started.get(w.shock, [])
        spec = declared.get(w.shock, {})
        severities = sorted({float(r["severity"]) for r in recs
                             if _is_number(r.get("severity"))})
        sev = ", ".join(f"{s:.4g}" for s in severities[:4]) + (" …" if len(severities) > 4
                                                                  else "")
        in_reps = len({r.get("replication") for r in recs})
        first = recs[0] if recs else {}
        kind = str(spec.get("type") or first.get("type") or "")
        target = first.get("target") or spec.get("target")
        where = _e(target) if target else "–"
        if hit.get(w.shock):
            where += ": " + _e(", ".join(sorted(hit[w.shock])))
        rows.append([_e(w.shock), _e(kind or "–"), where, _e(_layers(kind)),
                     f"{_e(_hours(w.start_h))} → {_e(_hours(w.end_h))}"
                     + (" (envelope)" if w.varies else ""),
                     _e(sev or "–"), f"{in_reps} of {reps}"])
    if not rows:
        return _note("No shock occurred in this run.")
    return _table(["shock", "type", "target (what it hit)", "layers touched",
                   "window (from the start)", "severity", "occurred in"], rows)


def _layers(shock_type: str) -> str:
    """The layers of the twin a shock type touches (physical, logical, semantic), or "–"
    for a type this installation does not know."""
    from shocktwin.shock_library.base import Layer
    from shocktwin.shock_library.registry import shock_types

    cls = shock_types().get(shock_type)
    if cls is None:
        return "–"
    return ", ".join(layer.value for layer in Layer if layer in cls.layers)


_COVERED = frozenset({"RunStarted", "RunFinished", "ReplicationFinished", "ShockStarted",
                      "ShockEnded", "RulesReloaded", "LotInspected", "InspectionSwitched",
                      "TriggerFired"})


def _events_table(f: ResultsFolder) -> str:
    counts = Counter(str(r.get("kind")) for r in f.records if r.get("kind") not in _COVERED)
    if not counts:
        return ""
    rows = [[_e(k), str(n)] for k, n in sorted(counts.items())]
    return "<h4>Other events recorded</h4>" + _table(["event", "count (all replications)"],
                                                     rows)


def _mtd_section(folders: Sequence[ResultsFolder], page: _Page) -> str:
    out: list[str] = []
    for f in _searches(folders):
        rows = _mtd_rows(f)
        out.append(f"<h3>{_e(f.label)}</h3>")
        probability = next((s.get("probability") for s in rows
                            if _is_number(s.get("probability"))), None)
        if probability is not None:
            out.append(_note(f"The MTD is the largest severity at which the steady-state "
                             f"hypothesis holds in at least {probability:.0%} of replications; "
                             "bars show it with its distribution-free 95 % interval, diamonds "
                             "the target (green: met, red: missed), dots each replication's "
                             "own tolerable severity."))
        out.append(page.figure(figs.mtd_figure(rows), f"mtd {f.label}"))
        for s in rows:
            notes = [n for n in s.get("notes") or [] if isinstance(n, str)]
            non_mono = s.get("non_monotone_replications") or []
            counts = _dict(s.get("binding_counts"))
            items = []
            if counts:
                items.append(("KPIs breaking first (replications)",
                              ", ".join(f"{_e(k)}: {_e(v)}" for k, v in counts.items())))
            items.append(("replications / runs", f"{_e(s.get('replications', '–'))} / "
                                                 f"{_e(s.get('runs', '–'))}"))
            if non_mono:
                items.append(("non-monotone replications", _e(", ".join(map(str, non_mono)))))
            for n in notes:
                items.append(("note", _e(n)))
            out.append(f"<h4>{_e(s.get('shock'))}</h4>" + _dl(items))
    if not out:
        out.append(_note("No MTD search among the results (shocktwin mtd SCENARIO --out DIR "
                         "writes one)."))
    return "".join(out)


def _distributions(folders: Sequence[ResultsFolder], page: _Page) -> str:
    runs = [(f.label, f.kpi_values()) for f in _runs(folders)]
    if not runs:
        return _note("No run journal among the results.")
    kpis = list(dict.fromkeys(k for f, (_, values) in zip(_runs(folders), runs, strict=True)
                              for k in _shown(f, values)[0]))
    fig = figs.distribution_figure(runs, kpis)
    if fig is None:
        return _note("No KPI values to show.")
    legend = ""
    if len(runs) > 1:
        legend = _note("Boxes from left to right: " + ", ".join(
            f'<span style="color:{figs.PALETTE[i % len(figs.PALETTE)]}">&#9632;</span> '
            f"{_e(label)}" for i, (label, _) in enumerate(runs)) + ".")
    return (_note("One point per replication; the box spans the quartiles, the line is the "
                  "median.") + legend + page.figure(fig, "distributions"))


def _pareto_section(folders: Sequence[ResultsFolder], page: _Page) -> str:
    out: list[str] = []
    for f in folders:
        if f.pareto is None:
            continue
        p = f.pareto
        out.append(f"<h3>{_e(f.label)}</h3>")
        evaluated = f" of {len(p.evaluated)} evaluated" if p.evaluated else ""
        out.append(_note(f"{len(p.points)} non-dominated settings{evaluated}: none of them "
                         "can improve one objective without giving up another. Grey dots: "
                         "the dominated settings tried on the way."))
        names = [f"{o} ({p.senses[o]}imised)" if o in p.senses else o for o in p.objectives]
        out.append(page.figure(figs.pareto_figure(p.points, p.objectives, p.labels,
                                                  titles=names, evaluated=p.evaluated),
                               f"pareto {f.label}"))
        first = p.objectives[0]
        order = sorted(range(len(p.points)), key=lambda i: p.points[i].get(first, math.inf))
        rows = [[_e(p.labels[i]) or "–", *[_e(f"{p.points[i][o]:,.4g}")
                                          if o in p.points[i] else "–" for o in p.objectives]]
                for i in order]
        out.append(_table(["setting", *[_e(n) for n in names]], rows, cls="num"))
    return "".join(out)


def _rules(folders: Sequence[ResultsFolder], page: _Page) -> str:
    out: list[str] = []
    for f in _runs(folders):
        out.append(f"<h3>{_e(f.label)}</h3>")
        body = _rule_changes(f, page) + _switching(f)
        out.append(body or _note("No rule set was loaded or changed during this run."))
    if not out:
        out.append(_note("No run journal among the results."))
    return "".join(out)


def _rule_changes(f: ResultsFolder, page: _Page) -> str:
    reloads = [r for r in f.records if r.get("kind") == "RulesReloaded"]
    if not reloads:
        return ""
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    for r in reloads:
        changes = tuple(str(c) for c in r.get("changes") or [])
        key = (r.get("from_rules"), r.get("from_hash"), r.get("to_rules"), r.get("to_hash"),
               changes, r.get("reason"))
        groups[key].append(r)
    reps = len({r.get("replication") for r in f.records
                if r.get("kind") == "ReplicationFinished"}) or None
    bounds = _reload_times(reloads)
    out = []
    for (from_name, from_hash, to_name, to_hash, changes, reason), recs in groups.items():
        times = sorted(float(r["at_h"]) for r in recs if _is_number(r.get("at_h")))
        when = ""
        if times:
            when = _e(_hours(times[0])) if times[0] == times[-1] else (
                f"{_e(_hours(times[0]))} … {_e(_hours(times[-1]))}")
        title = f"{_e(from_name or 'none')} → {_e(to_name)}"
        out.append(f"<h4>{title}</h4>")
        out.append(_dl([
            ("from", f"{_e(from_name or '–')} {_code(from_hash or '–')}"),
            ("to", f"{_e(to_name)} {_code(to_hash)}"),
            ("reason", _e(reason or "–")),
            ("when (from the start)", when or "–"),
            ("replications", f"{len(recs)}" + (f" of {reps}" if reps else "")),
        ]))
        if changes:
            out.append('<ul class="changes">' + "".join(f"<li>{_e(c)}</li>" for c in changes)
                       + "</ul>")
        out.append(_plan_effect(f, recs, bounds, f"{from_name or 'none'} → {to_name}", page))
    return "".join(out)


def _reload_times(reloads: Sequence[dict[str, Any]]) -> dict[Any, list[float]]:
    """Per replication, the times the rule set changed (sorted)."""
    out: dict[Any, list[float]] = defaultdict(list)
    for r in reloads:
        if _is_number(r.get("at_h")):
            out[r.get("replication")].append(float(r["at_h"]))
    return {k: sorted(v) for k, v in out.items()}


def _plan_effect(f: ResultsFolder, recs: Sequence[dict[str, Any]],
                 bounds: Mapping[Any, list[float]], title: str, page: _Page) -> str:
    """Lots inspected per sampling plan in the windows before and after the change."""
    lots = defaultdict(list)
    for r in f.records:
        if r.get("kind") == "LotInspected" and _is_number(r.get("at_h")):
            lots[r.get("replication")].append(r)
    horizon = f.scenario.get("horizon")
    end = float(horizon) if _is_number(horizon) else math.inf
    before: Counter[tuple[Any, Any]] = Counter()
    after: Counter[tuple[Any, Any]] = Counter()
    rejected = {"before": [0, 0], "after": [0, 0]}
    sampled = {"before": 0, "after": 0}
    span = {"before": 0.0, "after": 0.0}
    n_reps = 0
    for rec in recs:
        if not _is_number(rec.get("at_h")):
            continue
        rep, at = rec.get("replication"), float(rec["at_h"])
        changes = bounds.get(rep, [at])
        i = changes.index(at) if at in changes else 0
        lo = changes[i - 1] if i > 0 else 0.0
        hi = changes[i + 1] if i + 1 < len(changes) else end
        n_reps += 1
        span["before"] += at - lo
        span["after"] += (hi - at) if math.isfinite(hi) else 0.0
        for lot in lots.get(rep, []):
            t = float(lot["at_h"])
            side = "before" if lo <= t < at else "after" if at <= t < hi else None
            if side is None:
                continue
            plan = (lot.get("n"), lot.get("severity") or lot.get("decision"))
            (before if side == "before" else after)[plan] += 1
            rejected[side][1] += 1
            rejected[side][0] += lot.get("decision") == "rejected_screened"
            sampled[side] += int(lot["n"]) if _is_number(lot.get("n")) else 0
    if not n_reps or not (before or after):
        return _note("No lots were inspected around this change.")
    plans = sorted(set(before) | set(after), key=lambda p: (
        p[0] if _is_number(p[0]) else -1, str(p[1])))
    names = [f"n = {n} ({sev})" for n, sev in plans]
    rows = [[_e(name), f"{before[p] / n_reps:.3g}", f"{after[p] / n_reps:.3g}"]
            for name, p in zip(names, plans, strict=True)]

    def share(side: str) -> str:
        bad, total = rejected[side]
        return f"{bad / total:.1%}" if total else "–"

    def per_lot(side: str) -> str:
        total = rejected[side][1]
        return f"{sampled[side] / total:,.0f}" if total else "–"

    rows.append(["<i>units inspected per lot (mean)</i>", per_lot("before"), per_lot("after")])
    rows.append(["<i>lots rejected (screened 100 %)</i>", share("before"), share("after")])
    rows.append(["<i>window length per replication</i>",
                 _e(_hours(span["before"] / n_reps)), _e(_hours(span["after"] / n_reps))])
    fig = figs.plan_figure(names, [before[p] / n_reps for p in plans],
                           [after[p] / n_reps for p in plans],
                           f"Lots inspected per replication: {title}")
    return (_table(["sampling plan (sample size n, severity)", "lots before (per replication)",
                    "lots after (per replication)"], rows, cls="num")
            + page.figure(fig, f"plans {title}"))


def _switching(f: ResultsFolder) -> str:
    switched = Counter((str(r.get("material")), str(r.get("from_state")), str(r.get("to_state")),
                        str(r.get("reason"))) for r in f.records
                       if r.get("kind") == "InspectionSwitched")
    fired = Counter((str(r.get("trigger")), str(r.get("material")), str(r.get("when")))
                    for r in f.records if r.get("kind") == "TriggerFired")
    out = []
    if switched:
        out.append("<h4>Switching between normal, tightened and reduced inspection</h4>")
        out.append(_table(["material", "from", "to", "reason", "times (all replications)"],
                          [[_e(m), _e(a), _e(b), _e(why), str(n)]
                           for (m, a, b, why), n in sorted(switched.items())]))
    if fired:
        out.append("<h4>Triggers fired</h4>")
        out.append(_table(["trigger", "material", "condition", "times (all replications)"],
                          [[_e(t), _e(m), _code(w), str(n)]
                           for (t, m, w), n in sorted(fired.items())]))
    return "".join(out)


def _quality(folders: Sequence[ResultsFolder]) -> str:
    """Per run with measured characteristics: each supplier's capability pooled over the
    replications, the control charts' signals, comparability studies, the gauges'
    misclassification and the process stations' output capability. Empty (the section is
    left out) when no run measured anything."""
    out: list[str] = []
    for f in _runs(folders):
        body = (_capability_table(f) + _signal_table(f) + _study_table(f)
                + _misclassification_table(f) + _output_table(f))
        if body:
            out.append(f"<h3>{_e(f.label)}</h3>{body}")
    return "".join(out)


def _of_kind(f: ResultsFolder, kind: str) -> list[dict[str, Any]]:
    return [r for r in f.records if r.get("kind") == kind]


def _index_text(value: float | None, low: float | None, high: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "–"
    if low is None or high is None:
        return f"{value:.2f}"
    return f"{value:.2f} ({low:.2f} … {high:.2f})"


def _capability_table(f: ResultsFolder) -> str:
    from shocktwin.rules_engine.quality import Moments

    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in _of_kind(f, "CapabilityEstimated"):
        groups[(str(r["material"]), str(r["supplier"]), str(r["characteristic"]))].append(r)
    if not groups:
        return ""
    rows = []
    for (material, supplier, name), recs in sorted(groups.items()):
        # Pooled over the replications: each one's readings as one block of lots.
        pooled = Moments()
        for r in recs:
            n, lots = int(r["n"]), int(r["lots"])
            within_dof = n - lots  # each lot's readings less one
            pooled.merge(lots, n, float(r["mean"]), float(r["sigma_overall"]) ** 2 * (n - 1),
                         float(r["sigma_within"]) ** 2 * within_dof, within_dof)
        est = pooled.estimate(recs[0].get("lsl"), recs[0].get("usl"))
        if est is None:
            continue
        rows.append([_e(material), _e(supplier), _e(name), str(len(recs)), str(pooled.lots),
                     f"{est.n:,}", _index_text(est.cpk, est.cpk_low, est.cpk_high),
                     _index_text(est.ppk, est.ppk_low, est.ppk_high)])
    return ("<h4>Supplier capability at incoming inspection (readings, all replications)</h4>"
            + _table(["material", "supplier", "characteristic", "replications", "lots",
                      "readings", "Cpk (95 % interval)", "Ppk (95 % interval)"], rows)
            + _note("Cpk with the pooled within-lot σ, Ppk with the overall σ (a drift between "
                    "lots lowers Ppk, not Cpk); intervals by Bissell (1990)."))


def _signal_table(f: ResultsFolder) -> str:
    points: Counter[tuple[str, str, str, str, str]] = Counter()
    reps: dict[tuple[str, str, str, str, str], set[Any]] = defaultdict(set)
    first: dict[tuple[str, str, str, str, str], dict[Any, float]] = defaultdict(dict)
    for r in _of_kind(f, "ChartSignalled"):
        key = (str(r["material"]), str(r.get("supplier") or "–"), str(r["characteristic"]),
               str(r["chart"]), str(r["signal"]))
        points[key] += int(r.get("points") or 1)
        reps[key].add(r.get("replication"))
        if _is_number(r.get("at_h")):
            first[key].setdefault(r.get("replication"), float(r["at_h"]))
    if not points:
        return ""
    total = len({r.get("replication") for r in _of_kind(f, "ReplicationFinished")}) or None
    rows = [[_e(m), _e(s), _e(c), _e(chart), _e(sig), f"{points[k]:,}",
             f"{len(reps[k])}" + (f" of {total}" if total else ""),
             _e(_hours(float(np.median(list(first[k].values()))))) if first[k] else "–"]
            for k in sorted(points) for (m, s, c, chart, sig) in [k]]
    return ("<h4>Control-chart signals</h4>"
            + _table(["material", "supplier", "characteristic", "chart", "signal",
                      "points (all replications)", "replications", "first (median)"], rows))


def _study_table(f: ResultsFolder) -> str:
    groups: dict[tuple[str, str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in _of_kind(f, "ComparabilityStudied"):
        groups[(str(r["material"]), str(r["characteristic"]), str(r.get("from_supplier")),
                str(r["to_supplier"]))].append(r)
    if not groups:
        return ""
    rows = []
    for (material, name, old, new), recs in sorted(groups.items()):
        outcomes = Counter(str(r["outcome"]) for r in recs)
        diffs = [float(r["difference"]) for r in recs if _is_number(r.get("difference"))]
        rows.append([_e(material), _e(name), f"{_e(old)} → {_e(new)}", str(len(recs)),
                     ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())),
                     f"{min(diffs):.3g} … {max(diffs):.3g}" if diffs else "–",
                     f"± {float(recs[0]['margin']):.3g}"])
    return ("<h4>Comparability studies (two one-sided tests)</h4>"
            + _table(["material", "characteristic", "source change", "studies",
                      "outcomes", "difference of means (range)", "margin"], rows))


def _misclassification_table(f: ResultsFolder) -> str:
    sums: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for r in _of_kind(f, "ReadingsClassified"):
        row = sums[str(r["station"])]
        row[0] += int(r["units"])
        row[1] += int(r["false_accepts"])
        row[2] += int(r["false_rejects"])
    if not sums:
        return ""
    rows = [[_e(st), f"{u:,}", f"{fa:,} ({1e6 * fa / u:,.0f} ppm)",
             f"{fr:,} ({1e6 * fr / u:,.0f} ppm)"]
            for st, (u, fa, fr) in sorted(sums.items()) if u]
    return ("<h4>Gauge misclassification at incoming inspection (all replications)</h4>"
            + _table(["station", "units read", "false accepts", "false rejects"], rows))


def _output_table(f: ResultsFolder) -> str:
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in _of_kind(f, "OutputMeasured"):
        groups[(str(r["station"]), str(r["characteristic"]))].append(r)
    if not groups:
        return ""
    rows = []
    for (station, name), recs in sorted(groups.items()):
        units = sum(int(r["units"]) for r in recs)
        out = sum(int(r["out_of_spec"]) for r in recs)
        ppks = [float(r["ppk"]) for r in recs if _is_number(r.get("ppk"))]
        rows.append([_e(station), _e(name), f"{units:,}",
                     f"{out:,} ({1e6 * out / units:,.0f} ppm)" if units else "–",
                     f"{min(ppks):.2f} … {max(ppks):.2f}" if ppks else "–"])
    return ("<h4>Process output (true values)</h4>"
            + _table(["station", "characteristic", "units made", "out of limits",
                      "Ppk (range over replications)"], rows))


# --------------------------------------------------------------------------- quality system

#: The backlog and fallback series the quality-system chart adds to the plant's.
_BACKLOG_SERIES = "quality backlog (tasks of open work items)"
_FALLBACK_SERIES = "under the fallback (share of replications)"


def _quality_system(folders: Sequence[ResultsFolder], page: _Page) -> str:
    """Per run whose journal has quality-system records: what was invalidated, the
    response, each work item and life test, when the quality system was valid again, and
    its backlog and fallback window over time next to the plant's KPIs. Empty (the section
    is left out) when no run has such records."""
    out: list[str] = []
    for f in _runs(folders):
        if not qs.has_quality_events(f.records):
            continue
        out.append(f"<h3>{_e(f.label)}</h3>")
        out.append(_qs_headline(f) + _qs_invalidated(f) + _qs_response(f) + _qs_work(f)
                   + _qs_life_tests(f) + _qs_chart(f, page))
    if out:
        out.append(_note("Times are from the shock's onset in each replication. A single "
                         "value is the same in every replication; otherwise the mean over "
                         "the replications and its 95 % interval (Student t). Every number "
                         "here is recomputed from the run's journal."))
    return "".join(out)


def _same(values: Sequence[float]) -> bool:
    return max(values) - min(values) <= 1e-9 * max(1.0, abs(max(values)))


def _spread(values: Sequence[float], fmt: Any = None) -> str:
    """One value when every replication gave it, else the mean and its 95 % interval."""
    show = fmt or _hours
    values = [v for v in values if math.isfinite(v)]
    if not values:
        return "–"
    if _same(values):
        return _e(show(values[0]))
    mean, low, high, n = _ci(np.asarray(values))
    if n < 2 or not math.isfinite(low):
        return _e(show(mean))
    return f"{_e(show(mean))} ({_e(show(low))} … {_e(show(high))})"


def _whole(x: float) -> str:
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.1f}"


def _test_hours(x: float) -> str:
    """Life-test hours as test plans write them: whole hours, not days."""
    return f"{x:,.0f}{_NBSP}h"


def _qs_setup(f: ResultsFolder) -> tuple[list[Any], dict[Any, float], float]:
    """The replications, each one's shock onset (0 without a shock) and the warm-up."""
    reps = qs.replication_ids(f.records)
    onsets = qs.shock_onsets(f.records)
    warmup = f.scenario.get("warmup")
    return (reps, {r: onsets.get(r, 0.0) for r in reps},
            float(warmup) if _is_number(warmup) else 0.0)


def _since(r: Mapping[str, Any], onsets: Mapping[Any, float], key: str = "at_h") -> float:
    at = r.get(key)
    return float(at) - onsets.get(r.get("replication"), 0.0) if _is_number(at) else math.nan


def _qs_headline(f: ResultsFolder) -> str:
    reps, _, warmup = _qs_setup(f)
    n = len(reps)
    ttv = qs.time_to_valid(f.records, reps, warmup)
    valid = [v for v in ttv.values() if math.isfinite(v)]
    never = n - len(valid)
    when = (f"{_spread(valid)} after the shock's onset ({len(valid)} of {n} replications)"
            if valid else "–")
    if never:
        when += (f"; {bilingual('not valid again by the horizon')} in {never} of {n} "
                 "replications")
    modes = sorted({str(r.get("fallback")) for r in _of_kind(f, "RulesInvalidated")})
    spans = qs.fallback_spans(f.records)
    # Per replication, the hours under the fallback where it ended before the horizon.
    lengths, still = [], 0
    for rep in reps:
        mine = spans.get(rep, [])
        if any(math.isnan(s.end_h) for s in mine):
            still += 1
        elif mine:
            lengths.append(sum(s.end_h - s.start_h for s in mine))
    window = _e(", ".join(m.replace("_", " ") for m in modes) or "–")
    if lengths:
        window += (f", ended after {_spread(lengths)} ({len(lengths)} of {n} "
                   "replications)")
    if still:
        window += f"; still in force at the horizon in {still} of {n} replications"
    return _dl([(bilingual("Quality system valid again"), when),
                (bilingual("Fallback in force"), window)])


def _qs_invalidated(f: ResultsFolder) -> str:
    reps, onsets, _ = _qs_setup(f)
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for r in _of_kind(f, "RulesInvalidated"):
        key = tuple(str(r.get(k)) for k in ("context", "old", "new", "rules", "kinds",
                                            "fallback", "reason"))
        groups[key].append(r)
    rows = [[_code(ctx), f"{_e(old)} → {_e(new)}", _e(rules), _e(kinds),
             _e(fallback.replace("_", " ")), _e(reason),
             _spread([_since(r, onsets) for r in recs]),
             f"{len({r.get('replication') for r in recs})} of {len(reps)}"]
            for (ctx, old, new, rules, kinds, fallback, reason), recs in groups.items()]
    if not rows:
        return ""
    return (f"<h4>{bilingual('What was invalidated')}</h4>"
            + _table([bilingual(h) for h in ("context", "old → new", "rules", "kinds",
                                            "fallback", "reason",
                                            "invalidated (after the shock's onset)",
                                            "replications")], rows))


def _qs_response(f: ResultsFolder) -> str:
    reps, _, _ = _qs_setup(f)
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in _of_kind(f, "ResponseStarted"):
        groups[(str(r.get("playbook")), str(r.get("on")))].append(r)
    rows = [[_e(book), _e(on),
             _spread([float(r["at_h"]) - float(r["event_h"]) for r in recs
                      if _is_number(r.get("at_h")) and _is_number(r.get("event_h"))]),
             _spread([float(r["tasks"]) for r in recs if _is_number(r.get("tasks"))],
                     _whole),
             f"{len({r.get('replication') for r in recs})} of {len(reps)}"]
            for (book, on), recs in groups.items()]
    if not rows:
        return ""
    return (f"<h4>{bilingual('Response')}</h4>"
            + _table([bilingual(h) for h in ("playbook", "started by", "latency", "tasks",
                                            "replications")], rows))


def _qs_work(f: ResultsFolder) -> str:
    reps, onsets, _ = _qs_setup(f)
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    # Every item of a playbook that responded, finished or not, in the playbook's order.
    books = {str(r.get("playbook")) for r in _of_kind(f, "ResponseStarted")}
    quality = _dict(_dict(f.scenario.get("plant")).get("quality"))
    meta: dict[tuple[str, str], tuple[str, str]] = {}
    for b in quality.get("playbooks") or []:
        if isinstance(b, dict) and str(b.get("id")) in books:
            for it in b.get("items") or []:
                if isinstance(it, dict):
                    key = (str(b["id"]), str(it.get("id")))
                    groups[key] = []
                    meta[key] = (str(it.get("kind")), str(it.get("pool")))
    for r in _of_kind(f, "WorkFinished"):
        key = (str(r.get("playbook")), str(r.get("item")))
        groups.setdefault(key, []).append(r)
        meta[key] = (str(r.get("work")), str(r.get("pool")))
    rows = []
    for (book, item), recs in groups.items():
        work, pool = meta[(book, item)]
        rows.append([_e(book), _e(item), _e(work.replace("_", " ")), _e(pool),
                     _spread([float(r["tasks"]) for r in recs if _is_number(r.get("tasks"))],
                             _whole),
                     _spread([_since(r, onsets, "started_h") for r in recs]),
                     _spread([_since(r, onsets) for r in recs]),
                     f"{len({r.get('replication') for r in recs})} of {len(reps)}"])
    if not rows:
        return ""
    return (f"<h4>{bilingual('Work items')}</h4>"
            + _table([bilingual(h) for h in ("playbook", "item", "work", "pool", "tasks",
                                            "could start (after the onset)",
                                            "finished (after the onset)", "finished in")],
                     rows, cls="num"))


def _qs_life_tests(f: ResultsFolder) -> str:
    reps, _, _ = _qs_setup(f)
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in _of_kind(f, "LifeTestCompleted"):
        groups[(str(r.get("playbook")), str(r.get("item")), str(r.get("supplier")))].append(r)
    rows = []
    for (book, item, supplier), recs in groups.items():
        def values(key: str, recs: list[dict[str, Any]] = recs) -> list[float]:
            return [float(r[key]) for r in recs if _is_number(r.get(key))]

        criterion = str(recs[0].get("criterion"))
        show = _test_hours if criterion == "b_life" else (lambda x: f"{x:.4f}")
        test_h, use_h = values("test_h"), values("use_h")
        factor = (f" (× {use_h[0] / test_h[0]:,.1f})" if test_h and use_h and test_h[0] > 0
                  else "")
        failures = Counter(int(x) for x in values("failures"))
        passed = sum(r.get("passed") is True for r in recs)
        rows.append([
            _e(book), _e(item), _e(supplier), _spread(values("units"), _whole),
            f"{_spread(test_h, _test_hours)} → {_spread(use_h, _test_hours)}{_e(factor)}",
            ", ".join(f"{k} in {v} of {len(recs)}" for k, v in sorted(failures.items())),
            _e(criterion.replace("_", " ")),
            f"{_spread(values('bound'), show)} vs {_spread(values('requirement'), show)}",
            f"{_badge(passed == len(recs), 'PASS', f'{len(recs) - passed} FAILED')} "
            f"{passed} of {len(recs)} passed (run in "
            f"{len({r.get('replication') for r in recs})} of {len(reps)} replications)"])
    if not rows:
        return ""
    return (f"<h4>{bilingual('Life tests')}</h4>"
            + _table([bilingual(h) for h in ("playbook", "item", "supplier", "units",
                                            "test hours → use hours", "failures",
                                            "criterion", "lower bound vs requirement",
                                            "passed")], rows, cls="num"))


def _qs_chart(f: ResultsFolder, page: _Page) -> str:
    """The backlog and the fallback over the plant's buckets, above the plant's own KPIs."""
    if f.series is None or "bucket" not in f.series or "replication" not in f.series:
        return _note("No KPI series in this folder, so no chart over time.")
    reps_col = np.asarray(f.series["replication"], dtype=np.int64)
    buckets = np.asarray(f.series["bucket"], dtype=np.int64)
    if not buckets.size:
        return ""
    n_buckets = int(buckets.max()) + 1
    edges = np.full(n_buckets + 1, np.nan)
    edges[buckets] = np.asarray(f.series["t_start_h"], dtype=float)
    edges[buckets + 1] = np.asarray(f.series["t_end_h"], dtype=float)
    ids = [int(x) for x in np.unique(reps_col)]
    row_of = np.searchsorted(np.asarray(ids), reps_col)
    backlog = qs.bucket_means(qs.work_spans(f.records, f.scenario), ids, edges)
    fallback = qs.bucket_means(qs.fallback_spans(f.records), ids, edges)
    series = dict(f.series)
    series[_BACKLOG_SERIES] = backlog[row_of, buckets]
    series[_FALLBACK_SERIES] = fallback[row_of, buckets]
    tols = {k: b for k, b in _tolerances(f).items() if product_of(k) is None}
    plant = [k for k in dict.fromkeys([*tols, "throughput_per_h"]) if k in f.series]
    kpis = [_BACKLOG_SERIES, _FALLBACK_SERIES, *plant][:_MAX_PANELS]
    horizon = float(edges[-1])
    spans = [s for ss in qs.fallback_spans(f.records).values() for s in ss]
    shaded = []
    if spans:
        ends = [horizon if math.isnan(s.end_h) else s.end_h for s in spans]
        starts = [s.start_h for s in spans]
        varies = not (_same(starts) and _same(ends))
        shaded.append(("fallback in force" + (" (envelope over replications)" if varies
                                              else ""), min(starts), max(ends)))
    warmup = f.scenario.get("warmup")
    fig = figs.resilience_figure(series, kpis, windows=_shock_windows(f),
                                 warmup_h=float(warmup) if _is_number(warmup) else 0.0,
                                 tolerances=tols, spans=shaded, shares={_FALLBACK_SERIES})
    if fig is None:
        return ""
    return (f"<h4>{bilingual('Quality backlog and the plant over time')}</h4>"
            + _note("Top: quality-work tasks of the work items that could start and were "
                    "not done yet (an item's tasks count until its last one is done, so "
                    "this is an upper bound of the twin's per-task backlog; approvals of "
                    "single units under a deviation fallback are not in it), and the share "
                    "of replications running under the fallback; below: the plant's own "
                    "KPIs over the same buckets. Mean over replications with its 95 % "
                    "band.")
            + page.figure(fig, f"quality system {f.label}"))


def _provenance(folders: Sequence[ResultsFolder]) -> str:
    out: list[str] = []
    for f in _runs(folders):
        j = f.journal or {}
        out.append(f"<h3>{_e(f.label)}</h3>")
        out.append(_dl([("scenario file", _code(j.get("scenario_file") or "–")),
                        ("scenario hash (SHA-256)", _code(j.get("scenario_hash", "–")))]))
        rows = []
        for store in j.get("data") or []:
            if not isinstance(store, dict):
                continue
            ingests = [i for i in store.get("ingests") or [] if isinstance(i, dict)]
            for i in ingests or [{}]:
                period = (f"{_e(i.get('period_start'))} – {_e(i.get('period_end'))}"
                          if i.get("period_start") else "–")
                rows.append([_code(store.get("store", "–")), _code(i.get("source", "–")),
                             _e(i.get("table", "–")), _e(i.get("format", "–")),
                             _code(i.get("sha256", "–")), _count(i.get("rows_read")),
                             _count(i.get("rows_loaded")), _count(i.get("rows_quarantined")),
                             period])
        out.append("<h4>Recorded data</h4>")
        out.append(_table(["store", "ingested file", "table", "format", "SHA-256", "rows read",
                           "loaded", "quarantined", "period"], rows, cls="wide")
                   or _note("The scenario replays no recorded data."))
        rules = _dict(j.get("rules"))
        out.append("<h4>Rule files</h4>")
        out.append(_table(["rule file", "SHA-256 (content)"],
                          [[_code(p), _code(h)] for p, h in sorted(rules.items())], cls="wide")
                   or _note("The scenario loads no rule set."))
        finished = next((r for r in f.records if r.get("kind") == "RunFinished"), {})
        tables = _dict(finished.get("tables_sha256"))
        if tables:
            out.append("<h4>Results tables as the run wrote them</h4>")
            out.append(_table(["table", "SHA-256 (columns)"],
                              [[_e(t), _code(h)] for t, h in sorted(tables.items())],
                              cls="wide"))
    for f in folders:
        if f.journal is None:
            meta = f.mtd or (f.pareto.meta if f.pareto else {})
            what = "MTD search" if f.mtd else "optimisation"
            out.append(f"<h3>{_e(f.label)} ({what})</h3>")
            out.append(_dl([("scenario", _e(meta.get("scenario", "–"))),
                            ("scenario hash (SHA-256)", _code(meta.get("scenario_hash", "–")))]))
    return "".join(out) or _note("Nothing to show.")


def _count(value: object) -> str:
    return f"{value:,}" if _is_number(value) else "–"


def _integrity(f: ResultsFolder) -> tuple[bool | None, list[str]]:
    """Whether the folder's results are as they were written, and what ``verify`` found."""
    return f.intact, list(f.findings)


def _integrity_html(state: tuple[bool | None, list[str]]) -> str:
    intact, lines = state
    head = {True: _badge(True, "INTACT") + " every result is as it was written (hash chains, "
                  "headers and table digests recomputed)",
            False: _badge(False, no="UNVERIFIED") + " the results changed after they were "
                   "written, or cannot be verified",
            None: _badge(None)}[intact]
    more = "".join(f"<li>{_e(x)}</li>" for x in lines[:20])
    if len(lines) > 20:
        more += f"<li>… and {len(lines) - 20} more</li>"
    return head + (f"<ul>{more}</ul>" if more else "")


def _reproducibility(folders: Sequence[ResultsFolder],
                     integrity: Mapping[Path, tuple[bool | None, list[str]]]) -> str:
    out: list[str] = []
    for f in folders:
        out.append(f"<h3>{_e(f.label)}</h3>")
        items: list[tuple[str, str]] = [
            ("results folder", _code(f.path)),
            ("integrity", _integrity_html(integrity.get(f.path, (None, []))))]
        j = f.journal
        if j is not None:
            command = j.get("command")
            cmd = shlex.join(str(c) for c in command) if isinstance(command, list) else ""
            items += [
                ("shocktwin version", _e(j.get("version", "–"))),
                ("journal format", _e(j.get("format"))),
                ("status", _e(j.get("status", "–"))),
                ("seed", _e(j.get("seed"))),
                ("engine", _e(j.get("engine", "–"))),
                ("replications", _e(j.get("replications", "–"))),
                ("scenario hash", _code(j.get("scenario_hash"))),
                ("journal hash", _code(j.get("journal_hash"))),
                ("chain hash", _code(j["chain_hash"]) if j.get("chain_hash") else "–"),
                ("platform", _e(j.get("platform", "–"))),
                ("Python", _e(j.get("python", "–"))),
                ("command line", _code(cmd) if cmd else "–"),
                ("started (UTC)", _e(j.get("started_utc", "–"))),
                ("ended (UTC)", _e(j.get("ended_utc", "–"))),
            ]
            if j.get("scenario_file"):
                again = shlex.join(["shocktwin", "run", str(j["scenario_file"]),
                                    "--replications", str(j.get("replications")),
                                    "--seed", str(j.get("seed")),
                                    "--engine", str(j.get("engine"))])
                items.append(("to reproduce", _code(again)))
        if f.mtd is not None:
            m = f.mtd
            items += [("MTD scenario hash", _code(m.get("scenario_hash", "–"))),
                      ("MTD seed", _e(m.get("seed", "–"))),
                      ("MTD runs reused from an earlier search", _e(m.get("runs_reused", 0)))]
        if f.pareto is not None and f.pareto.meta:
            m = f.pareto.meta
            items += [("optimisation scenario hash", _code(m.get("scenario_hash", "–"))),
                      ("optimisation seed", _e(m.get("seed", "–"))),
                      ("optimisation runs", _e(m.get("runs", "–")))]
        out.append(_dl(items))
    out.append(_note("The journal hash covers the scenario, seed, engine, replication count, "
                     "rule-set contents and every measured number, not times or platform: the "
                     "same inputs give the same hash on any machine."))
    return "".join(out)


# --------------------------------------------------------------------------- page

_CSS = """
:root { --ink: #1b1f24; --muted: #5b6470; --rule: #d6dbe1; --ok: #0a7d4f; --bad: #b00020; }
* { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial,
       sans-serif; color: var(--ink); margin: 0; line-height: 1.45; background: #fff; }
header { padding: 28px 40px 12px; border-bottom: 3px solid #0072B2; }
header h1 { margin: 0 0 4px; font-size: 1.7rem; }
header p { margin: 2px 0; color: var(--muted); }
nav.toc { padding: 10px 40px; border-bottom: 1px solid var(--rule); font-size: .92rem; }
nav.toc a { margin-right: 18px; color: #0072B2; text-decoration: none; }
main { padding: 0 40px 40px; max-width: 1400px; }
section { padding-top: 18px; border-bottom: 1px solid var(--rule); padding-bottom: 18px; }
h2 { font-size: 1.35rem; margin: 10px 0; }
h3 { font-size: 1.1rem; margin: 18px 0 6px; }
h4 { font-size: 1rem; margin: 14px 0 4px; }
table { border-collapse: collapse; margin: 8px 0 14px; font-size: .88rem; }
th, td { border-bottom: 1px solid var(--rule); padding: 4px 10px; text-align: left;
         vertical-align: top; }
th { background: #f3f5f7; font-weight: 600; }
table.num td { font-variant-numeric: tabular-nums; }
table.wide td { word-break: break-all; }
code { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace;
       font-size: .85em; background: #f3f5f7; padding: 0 3px; word-break: break-all; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; font-size: .9rem; }
dt { color: var(--muted); }
dd { margin: 0; }
.badge { display: inline-block; font-size: .75rem; font-weight: 700; padding: 1px 7px;
         border-radius: 3px; color: #fff; letter-spacing: .03em; }
.badge.ok { background: var(--ok); }
.badge.bad { background: var(--bad); }
.badge.na { background: #8a939e; }
p.unverified { border: 2px solid var(--bad); padding: .5rem .75rem; }
ul.findings { font-size: 1rem; padding-left: 18px; }
ul.findings li { margin: 4px 0; list-style: none; }
ul.changes li { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: .88rem; }
.note { color: var(--muted); font-size: .88rem; max-width: 60rem; }
.description { font-style: italic; max-width: 60rem; }
.zh { color: var(--muted); font-weight: normal; }
th .zh, dt .zh { display: block; font-size: .85em; }
.figure { margin: 6px 0 12px; break-inside: avoid; page-break-inside: avoid; }
@media print {
  @page { size: A4 landscape; margin: 12mm; }
  body { font-size: 10pt; }
  header { padding: 0 0 6px; }
  nav.toc { display: none; }
  main { padding: 0; max-width: none; }
  section { break-before: page; page-break-before: always; border: none; }
  section:first-of-type { break-before: auto; page-break-before: auto; }
  .modebar, .modebar-container, .plotly-notifier, .hoverlayer { display: none !important; }
  table, dl, .figure { break-inside: avoid; page-break-inside: avoid; }
  .badge { border: 1px solid #000; print-color-adjust: exact; -webkit-print-color-adjust: exact; }
  a { color: inherit; text-decoration: none; }
}
"""

# Resize the responsive charts to the printed page width before printing.
_PRINT_JS = """
window.addEventListener("beforeprint", function () {
  document.querySelectorAll(".plotly-graph-div").forEach(function (d) {
    if (window.Plotly) { Plotly.Plots.resize(d); }
  });
});
"""


def _plotly_js() -> str:
    from plotly.offline import get_plotlyjs

    # A "</script" inside the library would end the element early; "<\/" is the same
    # string to JavaScript.
    return re.sub(r"</(script)", r"<\\/\1", get_plotlyjs(), flags=re.IGNORECASE)


def _script_json(value: Any) -> str:
    """JSON safe inside a <script> element: no "</" or "<!--" can end or comment it."""
    return (json.dumps(value, sort_keys=True, ensure_ascii=False, allow_nan=False)
            .replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _summary_data(folders: Sequence[ResultsFolder],
                  integrity: Mapping[Path, tuple[bool | None, list[str]]]) -> dict[str, Any]:
    """A machine-readable digest embedded in the page (id ``report-data``)."""
    runs = []
    for f in _runs(folders):
        holds, observed, required = _verdict(f)
        j = f.journal or {}
        runs.append({"folder": str(f.path), "scenario": f.name,
                     "journal_hash": j.get("journal_hash"),
                     "scenario_hash": j.get("scenario_hash"), "hypothesis_holds": holds,
                     "held_together": observed, "required": required,
                     "intact": integrity.get(f.path, (None, []))[0]})
    searches = [{"folder": str(f.path), "scenario": f.name, "shocks": [
        {k: s.get(k) for k in ("shock", "axis", "unit", "status", "mtd", "ci95", "target",
                               "meets_target", "binding_kpi")} for s in _mtd_rows(f)]}
        for f in _searches(folders)]
    return {"runs": runs, "mtd": searches}


def _safe_number(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _safe_number(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_safe_number(v) for v in value]
    return value


def render_report(results_dirs: Sequence[str | Path], *, title: str | None = None,
                  generated_utc: str | None = None, unverified: bool = False) -> str:
    """The management-review report of the results folders, as one HTML document.

    ``generated_utc`` is printed in the header when given; without it the same inputs
    always give the same bytes.
    """
    folders = load_results(results_dirs, unverified=unverified)
    names = list(dict.fromkeys(f.name for f in folders))
    heading = title if title is not None else (
        "Resilience management review: " + ", ".join(names))
    page = _Page()
    integrity = {f.path: _integrity(f) for f in folders}
    bodies = {
        "summary": _summary(folders, integrity),
        "resilience": _resilience(folders, page),
        "mtd": _mtd_section(folders, page),
        "distributions": _distributions(folders, page),
        "pareto": _pareto_section(folders, page),
        "rules": _rules(folders, page),
        "quality": _quality(folders),
        "quality_system": _quality_system(folders, page),
        "provenance": _provenance(folders),
        "reproducibility": _reproducibility(folders, integrity),
    }
    shown = [(anchor, head) for anchor, head in SECTIONS if bodies[anchor]]
    toc = "".join(f'<a href="#{anchor}">{head}</a>' for anchor, head in shown)
    sections = "".join(f'<section id="{anchor}"><h2>{bilingual(head)}</h2>{bodies[anchor]}'
                       "</section>" for anchor, head in shown)
    started = sorted(str((f.journal or {}).get("started_utc")) for f in _runs(folders))
    sub = [f"{len(folders)} results folder{'s' if len(folders) != 1 else ''}: "
           + ", ".join(_e(f.label) for f in folders)]
    if started:
        sub.append(f"runs started {_e(started[0])}" + (f" … {_e(started[-1])}"
                                                        if started[-1] != started[0] else ""))
    if generated_utc:
        sub.append(f"report generated {_e(generated_utc)}")
    header = f"<h1>{_e(heading)}</h1>" + "".join(f"<p>{s}</p>" for s in sub)
    data = _script_json(_safe_number(_summary_data(folders, integrity)))
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="generator" content="shocktwin report">\n'
        f"<title>{_e(heading)}</title>\n<style>{_CSS}</style>\n"
        "<script>window.PlotlyConfig = {MathJaxConfig: 'local'};</script>\n"
        f"<script>{_plotly_js()}</script>\n"
        "</head>\n<body>\n"
        f"<header>{header}</header>\n<nav class=\"toc\">{toc}</nav>\n"
        f"<main>{sections}</main>\n"
        f'<script type="application/json" id="report-data">{data}</script>\n'
        f"<script>{_PRINT_JS}</script>\n"
        "</body>\n</html>\n"
    )


def write_report(results_dirs: Sequence[str | Path], out_path: str | Path, *,
                 title: str | None = None, generated_utc: str | None = None,
                 unverified: bool = False) -> Path:
    """Render the report and write it to ``out_path`` atomically; returns the path."""
    text = render_report(results_dirs, title=title, generated_utc=generated_utc,
                         unverified=unverified)
    return write_atomic(out_path, text, error=SimulationError, what="the report")
