"""Campaign suites: which scenarios a review runs and which shocks it tests in each.

A suite file (YAML) names scenarios — a bundled scenario's name or a path relative to the
suite — under a label (the history's scenario key, so a later review may point the same label
at a changed file), and per scenario the shocks whose maximum tolerable disruption and
recovery guarantee are tested: listed by id (the search range from the scenario's mtd block
or given here), or ``all`` — every shock type of the library that applies to the plant, at
the type's default severity range (``shocktwin shocks show TYPE``). A shock type *applies*
when the plant has a target of its kind (a supplier, an inspection station, ...; for a shock
that hits a place, a supplier with a region or country) and the scenario accepts it (a shock
on the rule engine needs a rule set); each applicable type is tested once, on the first such
target in the plant's order, starting a quarter of the way into the measured window.

Besides: targets (the MTD a shock must reach, the recovery guarantee rate), recorded
mitigations with their cost (for the report's recommendations), the review interval, the
regression tolerance per indicator (how much worse than the previous review an indicator may
get before CI fails), and replication and budget overrides. :func:`load_suite` validates the
file and :func:`plan_campaign` the scenarios and shocks it names, each refusing with every
problem at once, by file, key and line.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from shocktwin.errors import Problem, ScenarioError, unknown_name
from shocktwin.source import Ident, Loc, line_for, loc_text, read_yaml, validation_problems
from shocktwin.units import PositiveDuration

__all__ = ["DEFAULT_REGRESSION", "SUITE_FORMAT", "CampaignPlan", "Entry", "Indicator",
           "Mitigation", "PlannedEntry", "PlannedShock", "SearchSettings", "ShockTest", "Suite",
           "bundled_suite", "load_suite", "plan_campaign", "suite_json_schema"]

SUITE_FORMAT = 1


class Indicator(StrEnum):
    """What a campaign measures, per shock (or per scenario for the baseline run)."""

    MTD = "mtd"  # maximum tolerable disruption, on the shock's severity axis
    RECOVERY_GUARANTEE = "recovery_guarantee"  # share of replications recovered in time
    ROBUSTNESS_PCT = "robustness_pct"  # lowest KPI level during the shock, % of pre-shock
    TTR_P50_H = "ttr_p50_h"  # median time to recover, hours
    TTR_P90_H = "ttr_p90_h"  # 90th percentile of the time to recover, hours
    HYPOTHESIS_SHARE = "hypothesis_share"  # share of baseline replications that held


#: How much worse than the previous review an indicator may get (a share of its previous
#: value) before the campaign counts it as a regression; indicators not named are not gated.
DEFAULT_REGRESSION: dict[str, float] = {"mtd": 0.1, "recovery_guarantee": 0.1,
                                        "hypothesis_share": 0.1}

_AxisValue = float | str


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class ShockTest(_Frozen):
    """One shock of the scenario to test: its MTD search range and targets. Written as the
    shock's id alone when the scenario's mtd block has its range."""

    shock: Ident = Field(description="Id of a shock of the scenario.")
    low: _AxisValue | None = Field(None, description="Lower end of the search range (a "
                                   "duration for time axes); default the mtd block's.")
    high: _AxisValue | None = Field(None, description="Upper end of the search range.")
    resolution: _AxisValue | None = Field(None, description="Search resolution; default the "
                                          "mtd block's, else 1/16 of the range.")
    target: _AxisValue | None = Field(None, description="The MTD the plant must reach; "
                                      "default the mtd block's.")
    guarantee: float | None = Field(None, gt=0, le=1, description="The recovery guarantee "
                                    "rate required after this shock (a share); default the "
                                    "entry's, else the scenario's recovery block's.")

    @model_validator(mode="before")
    @classmethod
    def _short(cls, data: Any) -> Any:
        return {"shock": data} if isinstance(data, str) else data


class SearchSettings(_Frozen):
    """Overrides of the scenario's MTD search settings (fewer replications make a review
    faster and its intervals wider; the intervals say so)."""

    replications: int | None = Field(None, ge=2, le=100_000)
    max_replications: int | None = Field(None, ge=2, le=100_000, description="Default: "
                                         "replications (no replications added).")
    scan: int | None = Field(None, ge=0, le=50)
    budget: int | None = Field(None, ge=10, le=10_000_000, description="Most runs per shock.")
    guarantee_replications: int | None = Field(None, ge=2, le=100_000, description=(
        "Replications at the shock's own severity for its recovery guarantee; default the "
        "search's."))

    @model_validator(mode="after")
    def _counts(self) -> SearchSettings:
        if (self.replications is not None and self.max_replications is not None
                and self.max_replications < self.replications):
            raise ValueError("max_replications is below replications")
        return self


class Mitigation(_Frozen):
    """A mitigation on record, with its cost: the report's recommendations list it against
    the shocks it addresses."""

    name: str = Field(min_length=1, max_length=200)
    cost: float = Field(ge=0, description="One-off cost, in ``currency``.")
    currency: str = Field("EUR", pattern=r"^[A-Z]{3}$", description="ISO 4217 code.")
    shocks: list[Ident] = Field(default_factory=list, max_length=100, description="Shocks it "
                                "addresses; default every shock tested in the scenario.")
    note: str = Field("", max_length=2000)


def _regression(value: Any) -> Any:
    if isinstance(value, dict):
        known = [i.value for i in Indicator]
        for key, share in value.items():
            if key not in known:
                raise ValueError(unknown_name("indicator", key, known, listed="indicators"))
            if isinstance(share, bool) or not isinstance(share, int | float) or share < 0:
                raise ValueError(f"{key}: a share of the previous value, 0 or more "
                                 f"(0.1 = 10 %), not {share!r}")
    return value


Regression = Annotated[dict[str, float], Field(description=(
    "Per indicator, how much worse than the previous review it may get, as a share of the "
    "previous value (0.1 = 10 %), before CI fails; indicators not named are not gated."))]


class Entry(_Frozen):
    """One scenario of the suite."""

    label: Ident = Field(description="The scenario's key in the history (keep it when the "
                         "file changes, so reviews compare).")
    scenario: str = Field(min_length=1, max_length=1024, description="A bundled scenario's "
                          "name, or a file relative to the suite.")
    shocks: Literal["all"] | list[ShockTest] = Field(description=(
        "The shocks to test: a list (ids, or mappings with range and targets), or all: "
        "every shock type in the library that applies to the plant, at its default range."))
    exclude: list[str] = Field(default_factory=list, max_length=100, description="Shock "
                               "types left out of shocks: all.")
    replications: int | None = Field(None, ge=1, le=100_000, description="Replications of "
                                     "the baseline run; default the suite's, else the "
                                     "scenario's.")
    search: SearchSettings | None = Field(None, description="MTD search overrides; default "
                                          "the suite's.")
    recovery: dict[str, Any] | None = Field(None, description="The recovery guarantee's "
                                            "terms (as the scenario's hypothesis.recovery): "
                                            "level, failure, within, guarantee, kpis; "
                                            "replaces the scenario's for the searches.")
    guarantee: float | None = Field(None, gt=0, le=1, description="The recovery guarantee "
                                    "rate required after each shock (a share).")
    mitigations: list[Mitigation] = Field(default_factory=list, max_length=100)
    review_interval: PositiveDuration | None = Field(None, description="Default the suite's.")
    regression: Regression | None = None

    @field_validator("regression", mode="before")
    @classmethod
    def _indicators(cls, value: Any) -> Any:
        return _regression(value)

    @field_validator("shocks")
    @classmethod
    def _listed_once(cls, value: Any) -> Any:
        if isinstance(value, list):
            if not value:
                raise ValueError("list at least one shock, or write all")
            ids = [t.shock for t in value]
            twice = sorted({i for i in ids if ids.count(i) > 1})
            if twice:
                raise ValueError(f"shock {twice[0]!r} is listed twice")
        return value


class Suite(_Frozen):
    """A campaign suite (``shocktwin campaign SUITE``)."""

    version: Literal[1] = Field(description="Suite format version.")
    name: Ident
    description: str = Field("", max_length=10_000)
    review_interval: PositiveDuration = Field(default=91 * 24.0, description=(
        "How often the suite is reviewed (e.g. 91d, a quarter): a result older than this "
        "decays in the portfolio score."))
    replications: int | None = Field(None, ge=1, le=100_000, description="Replications of "
                                     "each baseline run; default each scenario's.")
    search: SearchSettings | None = None
    regression: Regression = Field(default_factory=lambda: dict(DEFAULT_REGRESSION))
    max_runs: int = Field(200_000, ge=1, le=100_000_000, description="Refuse a suite whose "
                          "estimated runs exceed this.")
    entries: list[Entry] = Field(min_length=1, max_length=200)

    @field_validator("regression", mode="before")
    @classmethod
    def _indicators(cls, value: Any) -> Any:
        return _regression(value)

    @field_validator("entries")
    @classmethod
    def _labels_once(cls, value: list[Entry]) -> list[Entry]:
        labels = [e.label for e in value]
        twice = sorted({x for x in labels if labels.count(x) > 1})
        if twice:
            raise ValueError(f"label {twice[0]!r} is used twice")
        return value

    # Where it came from (set by load_suite).
    _file: str | None = None
    _lines: dict[Loc, int] = {}
    _source: dict[str, Any] = {}

    @property
    def file(self) -> str | None:
        return self._file

    def line_of(self, *loc: str | int) -> int | None:
        return line_for(self._lines, tuple(loc))

    @property
    def source(self) -> dict[str, Any]:
        return self._source

    @property
    def base_dir(self) -> Path:
        return Path(self._file).parent if self._file else Path.cwd()

    def content_hash(self) -> str:
        text = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


def bundled_suite(name: str) -> Path | None:
    """A bundled suite by name (``quarterly_as_is``), or None."""
    from importlib import resources

    if "/" in name or name.endswith((".yaml", ".yml")):
        return None
    path = Path(str(resources.files("shocktwin.scenarios.reference") / "suites"
                    / f"{name}.yaml"))
    return path if path.is_file() else None


def suite_json_schema() -> dict[str, Any]:
    schema = Suite.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "shocktwin campaign suite (format version 1)"
    return schema


def load_suite(path: str | Path) -> Suite:
    """Read and validate a suite file; every problem at once, with file, key and line."""
    file = str(path)
    data, lines = read_yaml(path)
    if not isinstance(data, dict):
        raise ScenarioError([Problem(file, "", "the top level must be a mapping of keys "
                                     "(version, name, entries, ...)", 1)], file=file)
    try:
        suite = Suite.model_validate(data)
    except ValidationError as e:
        raise ScenarioError(list(validation_problems(e, data, file, lines)), file=file) from e
    suite._file = file
    suite._lines = dict(lines)
    suite._source = copy.deepcopy(data)
    return suite


# --------------------------------------------------------------------------- the plan


@dataclass(frozen=True)
class PlannedShock:
    """One shock a campaign tests: its search item (as the mtd block writes it) and where it
    came from."""

    shock: str
    type: str
    #: The item of the effective mtd block (low, high, resolution, target as written).
    item: dict[str, Any]
    guarantee: float | None
    #: "listed" (named in the suite) or "library" (from shocks: all).
    source: str
    severity: float
    estimated_runs: int
    #: The scenario its search runs on (the suite's range, settings and recovery terms in
    #: its mtd block and hypothesis) and its item's index in that mtd block.
    scenario: Any = None
    index: int = 0


@dataclass(frozen=True)
class PlannedEntry:
    """One scenario of a campaign, checked and ready to run."""

    index: int
    label: str
    scenario_file: Path
    #: The scenario as its file says (the baseline run, the scenario hash).
    scenario: Any
    #: A scenario the searches run on (the first; each shock carries its own).
    effective: Any
    shocks: tuple[PlannedShock, ...]
    replications: int
    interval_days: float
    regression: dict[str, float]
    mitigations: tuple[Mitigation, ...]
    #: Library shock types a sweep left out, and why.
    skipped: tuple[tuple[str, str], ...] = ()

    @property
    def estimated_runs(self) -> int:
        return self.replications + sum(s.estimated_runs for s in self.shocks)


@dataclass(frozen=True)
class CampaignPlan:
    suite: Suite
    entries: tuple[PlannedEntry, ...]
    problems: tuple[Problem, ...] = field(default=())

    @property
    def estimated_runs(self) -> int:
        return sum(e.estimated_runs for e in self.entries)


def _entry_path(suite: Suite, text: str) -> Path | None:
    """The scenario an entry names: a file relative to the suite, or a bundled scenario."""
    from shocktwin.scenarios import reference_scenario

    local = Path(text).expanduser()
    local = local if local.is_absolute() else suite.base_dir / local
    if local.is_file():
        return local
    if "/" not in text and not text.endswith((".yaml", ".yml")):
        try:
            return reference_scenario(text)
        except FileNotFoundError:
            return None
    return None


def _bundled_names() -> list[str]:
    from importlib import resources

    folder = resources.files("shocktwin.scenarios.reference")
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


def plan_campaign(suite: Suite, *, allowed_roots: Sequence[str | Path] = ()) -> CampaignPlan:
    """Check every scenario and shock the suite names and build what each entry runs.

    Raises ScenarioError with every problem (a missing scenario or shock, a range outside a
    shock's bounds, a scenario that cannot be searched, a plan beyond ``max_runs``) before
    anything runs.
    """
    problems: list[Problem] = []
    planned: list[PlannedEntry] = []
    for i, entry in enumerate(suite.entries):
        found = _plan_entry(suite, i, entry, allowed_roots, problems)
        if found is not None:
            planned.append(found)
    plan = CampaignPlan(suite, tuple(planned))
    if not problems and plan.estimated_runs > suite.max_runs:
        problems.append(Problem(suite.file, "max_runs", (
            f"the suite asks for about {plan.estimated_runs:,} runs, more than max_runs "
            f"{suite.max_runs:,}; list fewer shocks, lower search.replications or raise "
            "max_runs"), suite.line_of("max_runs") or suite.line_of("entries")))
    if problems:
        raise ScenarioError(problems, file=suite.file)
    return plan


def _plan_entry(suite: Suite, i: int, entry: Entry, allowed_roots: Sequence[str | Path],
                problems: list[Problem]) -> PlannedEntry | None:
    from shocktwin.scenarios.loader import load_scenario

    file = suite.file
    at: Loc = ("entries", i)

    def problem(loc: Loc, message: str) -> None:
        full = (*at, *loc)
        problems.append(Problem(file, loc_text(full), message, suite.line_of(*full)))

    path = _entry_path(suite, entry.scenario)
    if path is None:
        names = _bundled_names()
        problem(("scenario",), f"no scenario file {entry.scenario!r} beside the suite, and "
                + unknown_name("bundled scenario", entry.scenario, names, listed="bundled"))
        return None
    try:
        scenario = load_scenario(path, allowed_roots=allowed_roots)
    except ScenarioError as e:
        problem(("scenario",), f"{path} is not a valid scenario (its problems follow)")
        problems.extend(e.problems)
        return None
    if not scenario.hypothesis.tolerances:
        problem(("scenario",), f"{scenario.name} has no steady-state hypothesis with "
                "tolerances, so no shock can be tested against it")
        return None
    settings = _settings(suite, entry, scenario)
    shocks: list[dict[str, Any]] = []  # shocks added from the library (as written)
    items: list[tuple[dict[str, Any], str, float | None, str]] = []
    skipped: list[tuple[str, str]] = []
    before = len(problems)
    if entry.shocks == "all":
        for spec in _library_shocks(scenario, entry, skipped, problem):
            shocks.append(spec["shock"])
            items.append((spec["item"], spec["shock"]["type"], entry.guarantee, "library"))
        if not items:
            problem(("shocks",), f"no shock type of the library applies to {scenario.name}"
                    + "".join(f"; {t}: {why}" for t, why in skipped[:5]))
    else:
        assert isinstance(entry.shocks, list)
        for j, test in enumerate(entry.shocks):
            item = _listed_item(scenario, test, lambda loc, m, j=j: problem(("shocks", j, *loc),
                                                                            m))
            if item is not None:
                shock = next(s for s in scenario.shocks if s.id == test.shock)
                items.append((item, shock.type, test.guarantee if test.guarantee is not None
                               else entry.guarantee, "listed"))
    for k, name in enumerate(entry.exclude):
        from shocktwin.shock_library import shock_types

        if name not in shock_types():
            problem(("exclude", k), unknown_name("shock type", name, shock_types()))
    if len(problems) > before:
        return None
    # Listed shocks are the scenario's own: one variant searches them all. Each library
    # shock gets a variant of its own (library shocks on one target may not combine, e.g.
    # two permanent losses), and one the scenario does not accept is skipped with the reason.
    groups: list[tuple[list[dict[str, Any]], list[int]]] = (
        [([shocks[k]], [k]) for k in range(len(items))] if entry.shocks == "all"
        else [([], list(range(len(items))))])
    planned: list[PlannedShock] = []
    effective = None
    for added, members in groups:
        found: list[Problem] = []
        variant = _effective(suite, i, entry, scenario, added, [items[k][0] for k in members],
                             settings, found)
        if variant is None:
            if entry.shocks == "all":
                kind = items[members[0]][1]
                skipped.append((kind, found[0].message.split(": ", 1)[-1] if found
                                else "the scenario does not accept it"))
                continue
            problems.extend(found)
            return None
        effective = effective or variant
        planned += _planned(variant, [items[k] for k in members])
    if effective is None:
        problem(("shocks",), f"no shock type of the library applies to {scenario.name}"
                + "".join(f"; {t}: {why}" for t, why in skipped[:5]))
        return None
    wants = [p.shock for p in planned if p.guarantee is not None]
    if wants and effective.hypothesis.recovery is None:
        problem(("guarantee",) if entry.guarantee is not None else ("shocks",),
                f"a recovery guarantee target needs the recovery terms: give recovery: "
                f"{{within: ...}} here or in {scenario.name}'s hypothesis")
        return None
    interval_h = entry.review_interval or suite.review_interval
    return PlannedEntry(
        index=i, label=entry.label, scenario_file=path, scenario=scenario, effective=effective,
        shocks=tuple(planned), replications=(entry.replications or suite.replications
                                             or scenario.experiment.replications),
        interval_days=interval_h / 24.0,
        regression=dict(entry.regression if entry.regression is not None
                        else suite.regression),
        mitigations=tuple(entry.mitigations), skipped=tuple(skipped))


def _planned(variant: Any, items: list[tuple[dict[str, Any], str, float | None, str]]
             ) -> list[PlannedShock]:
    from shocktwin.scenarios.model import mtd_range

    by_id = {s.id: s for s in variant.shocks}
    mtd = variant.mtd
    out = []
    for index, ((item, kind, guarantee, source), mtd_item) in enumerate(
            zip(items, mtd.shocks, strict=True)):
        shock = by_id[mtd_item.shock]
        low, high, resolution = mtd_range(shock, mtd_item)
        steps = math.ceil(math.log2(max(2.0, (high - low) / max(resolution, 1e-12))))
        estimate = min(mtd.budget, mtd.max_replications * (mtd.scan + 2 + steps))
        out.append(PlannedShock(mtd_item.shock, kind, item, guarantee, source,
                                shock.severity(), estimate, variant, index))
    return out


def _settings(suite: Suite, entry: Entry, scenario: Any) -> dict[str, Any]:
    """The mtd block's settings: the scenario's, with the suite's and then the entry's
    overrides."""
    out: dict[str, Any] = {}
    for layer in (suite.search, entry.search):
        if layer is None:
            continue
        given = layer.model_dump(exclude_none=True)
        out.update(given)
        if "replications" in given and "max_replications" not in given:
            out["max_replications"] = given["replications"]
    return out


def _listed_item(scenario: Any, test: ShockTest, problem: Any) -> dict[str, Any] | None:
    """The mtd item of a listed shock: the suite's range and target, else the scenario's."""
    from shocktwin.scenarios.model import mtd_axis_value

    shocks = {s.id: s for s in scenario.shocks}
    shock = shocks.get(test.shock)
    if shock is None:
        problem(("shock",), unknown_name("shock", test.shock, shocks,
                                         listed=f"shocks of {scenario.name}"))
        return None
    own = next((m for m in (scenario.mtd.shocks if scenario.mtd else []) if m.shock == shock.id),
               None)
    source_items = ((scenario.binding.source or {}).get("mtd") or {}).get("shocks") or []
    written = next((m for m in source_items if isinstance(m, dict)
                    and m.get("shock") == shock.id), {}) if own is not None else {}
    item: dict[str, Any] = {"shock": shock.id}
    for key in ("low", "high", "resolution", "target"):
        value = getattr(test, key)
        if value is None:
            value = written.get(key)
        if value is None:
            continue
        try:
            number = mtd_axis_value(shock, value)
        except ValueError as e:
            problem((key,), _reason(e))
            return None
        try:
            if key in ("low", "high"):
                shock.with_severity(number)
        except ValueError as e:
            problem((key,), f"outside the bounds of {shock.axis}: {_reason(e)}")
            return None
        item[key] = value
    if "low" not in item or "high" not in item:
        problem(("shock",), f"no search range for {shock.id!r}: give low and high here (the "
                "scenario's mtd block does not search it)")
        return None
    low, high = mtd_axis_value(shock, item["low"]), mtd_axis_value(shock, item["high"])
    if low >= high:
        problem(("high",), "high must be above low")
        return None
    if "resolution" not in item:
        item["resolution"] = _axis_text(shock, (high - low) / 16.0)
    return item


def _reason(e: ValueError) -> str:
    if isinstance(e, ValidationError) and e.errors():
        return str(e.errors(include_url=False)[0]["msg"]).removeprefix("Value error, ")
    return str(e)


def _axis_text(shock: Any, value: float) -> float | str:
    if shock.axis_is_time:
        return f"{float(f'{value:.6g}')!r}h"
    return float(f"{value:.6g}")


def _targets(scenario: Any) -> dict[str, list[Any]]:
    """Targets of the plant by kind, in the plant's order."""
    from shocktwin.shock_library.base import TargetKind
    from shocktwin.twin.model.kinds import StationKind

    out: dict[str, list[Any]] = {k.value: [] for k in TargetKind}
    if scenario.shop is not None:
        for r in scenario.shop.resources:
            out[TargetKind.STATION].append(r.id)
            out[TargetKind.PROCESS_STATION].append(r.id)
        return out
    plant = scenario.plant
    out[TargetKind.SUPPLIER] = [s.id for s in plant.suppliers]
    for st in plant.stations:
        if st.kind != StationKind.RELEASE or getattr(st, "reviewers", None) is not None:
            out[TargetKind.STATION].append(st.id)
        if st.kind == StationKind.PROCESS:
            out[TargetKind.PROCESS_STATION].append(st.id)
        if st.kind == StationKind.INSPECTION:
            out[TargetKind.INSPECTION_STATION].append(st.id)
    return out


def _library_shocks(scenario: Any, entry: Entry, skipped: list[tuple[str, str]],
                    problem: Any) -> Iterator[dict[str, Any]]:
    """Every library shock type that applies to the scenario's plant, at its default
    range: the shock as written and its mtd item."""
    from shocktwin.shock_library import shock_types
    from shocktwin.shock_library.base import SupplierSelector, TargetKind
    from shocktwin.shock_library.ranges import NOT_IN_SWEEP, default_range

    targets = _targets(scenario)
    window_start = scenario.warmup
    start_h = float(round(window_start + (scenario.horizon - window_start) / 4.0))
    room_h = scenario.horizon - start_h
    taken = {s.id for s in scenario.shocks}
    suppliers = list(scenario.plant.suppliers) if scenario.plant is not None else []
    for kind, cls in sorted(shock_types().items()):
        if kind in entry.exclude:
            continue
        if kind in NOT_IN_SWEEP:
            skipped.append((kind, NOT_IN_SWEEP[kind]))
            continue
        default = default_range(kind)
        if default is None:
            skipped.append((kind, "no default severity range (a plug-in type): list it"))
            continue
        want = cls.target_kind
        target: Any = None
        if want not in (TargetKind.PLANT, TargetKind.DEMAND):
            if cls.place_keys:
                place = next(((key, getattr(s, key)) for s in suppliers for key in
                              cls.place_keys if getattr(s, key, None)), None)
                if place is None:
                    skipped.append((kind, f"no supplier has a {' or '.join(cls.place_keys)}"))
                    continue
                target = {place[0]: place[1]}
            elif targets[want.value]:
                target = targets[want.value][0]
            else:
                skipped.append((kind, f"the plant has no {want.value.replace('_', ' ')}"))
                continue
        shock_id = kind if kind not in taken else f"{kind}-library"
        axis = cls.severity_axis
        timed = axis == "duration" or cls.severity_is_time
        low, high = default.low, default.high
        if axis == "duration":
            from shocktwin.units import parse_duration_h

            high_h = min(parse_duration_h(high), room_h)
            if high_h <= parse_duration_h(low):
                skipped.append((kind, "the horizon leaves no room for its range"))
                continue
            high = f"{high_h:g}h"
        written: dict[str, Any] = {"id": shock_id, "type": kind, "start": f"{start_h:g}h",
                                   "duration": default.duration if axis != "duration" else low,
                                   **default.parameters}
        if target is not None:
            written["target"] = target
        try:
            shock = cls.model_validate(written)
            shock = shock.with_severity(_hours(low) if timed else float(low))
        except (ValidationError, ValueError) as e:
            skipped.append((kind, _reason(e)))
            continue
        reasons = shock.scenario_problems(scenario)
        if (isinstance(shock.target, SupplierSelector)
                and not any(shock.target.matches(s) for s in suppliers)):
            reasons.append("its selector matches no supplier")
        if reasons:
            skipped.append((kind, reasons[0]))
            continue
        width = (_hours(high) - _hours(low)) if timed else float(high) - float(low)
        from shocktwin.shock_library.ranges import RESOLUTION_STEPS

        resolution: Any = (f"{width / RESOLUTION_STEPS:.6g}h" if timed
                           else float(f"{width / RESOLUTION_STEPS:.6g}"))
        taken.add(shock_id)
        yield {"shock": written, "item": {"shock": shock_id, "low": low, "high": high,
                                          "resolution": resolution}}


def _hours(value: Any) -> float:
    from shocktwin.units import parse_duration_h

    return parse_duration_h(value)


def _effective(suite: Suite, i: int, entry: Entry, scenario: Any, added: list[dict[str, Any]],
               items: list[dict[str, Any]], settings: dict[str, Any],
               problems: list[Problem]) -> Any:
    """The scenario the searches run, validated as a scenario: its own data with the
    library's shocks added and the mtd block and recovery terms the suite gives."""
    from shocktwin.scenarios.loader import parse_scenario

    data = copy.deepcopy(dict(scenario.binding.source or {}))
    data["shocks"] = [*data.get("shocks", []), *added]
    mtd = dict(data.get("mtd") or {})
    mtd.update(settings)
    mtd["shocks"] = items
    if "max_replications" in mtd and "replications" in mtd and \
            mtd["max_replications"] < mtd["replications"]:
        mtd["max_replications"] = mtd["replications"]
    data["mtd"] = mtd
    entry_source = suite.source.get("entries", [])[i] if suite.source else {}
    if entry.recovery is not None:
        hyp = data.get("hypothesis")
        hyp = {"tolerances": hyp} if isinstance(hyp, list) else dict(hyp or {})
        hyp["recovery"] = copy.deepcopy(entry_source.get("recovery", entry.recovery))
        data["hypothesis"] = hyp
    try:
        return parse_scenario(data, file=scenario.source_file, lines=dict(scenario.binding.lines),
                              base_dir=scenario.binding.base_dir,
                              allowed_roots=scenario.binding.allowed_roots)
    except ScenarioError as e:
        line = suite.line_of("entries", i)
        for p in e.problems:
            where = "recovery" if p.path.startswith("hypothesis.recovery") else (
                "shocks" if p.path.startswith(("mtd", "shocks")) else "")
            loc: Loc = ("entries", i, where) if where else ("entries", i)
            problems.append(Problem(suite.file, loc_text(loc), f"in {scenario.name}: "
                                    f"{p.path + ': ' if p.path else ''}{p.message}",
                                    suite.line_of(*loc) or line))
        return None

