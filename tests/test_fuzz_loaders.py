"""Fuzzing the loaders of user files: scenario files, rule files, and CSV ingest with a mapping.

Whatever the bytes, a loader either accepts the file or refuses it with a ShocktwinError
whose every problem has a message and names a file; through the CLI (``validate``,
``rules lint``, ``ingest``) the exit code is 0 or 2 (1 also for lint findings), with no
traceback; and no case runs longer than a few seconds.

Inputs come in three families per loader: valid files built from a base with random valid
changes; mutated ones (keys deleted or renamed, values swapped for other types, numbers out
of range, odd text, then the YAML or CSV text damaged at the byte level); and garbage.
The default tier runs a few hundred cases per loader; ``-m slow`` runs 10 000 each.
"""

from __future__ import annotations

import copy
import csv
import io
import itertools
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import BASE_PLANT, ROOT, deep_update
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner, Result

from shocktwin import cli
from shocktwin.edge_replay.ingest import ingest
from shocktwin.errors import ShocktwinError
from shocktwin.rules_engine.ruleset import STATISTICS, load_rules
from shocktwin.scenarios import load_scenario

#: A case that runs longer than this has hung (the watchdog interrupts it).
HANG_S = 20.0
#: Longest a case may take, checked after it returns.
CASE_LIMIT_S = {"scenario": 2.0, "rules": 2.0, "ingest": 5.0}

_HEALTH = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]


def tier(loader: str, examples: int) -> settings:
    """Hypothesis settings of a tier. The default tier reports a failing input as found: each
    case costs a file, a loader and a CLI run, so shrinking could take minutes."""
    phases = list(Phase) if examples > 1000 else [Phase.explicit, Phase.reuse, Phase.generate]
    return settings(max_examples=examples, deadline=timedelta(seconds=CASE_LIMIT_S[loader]),
                    suppress_health_check=_HEALTH, phases=phases)


_case_numbers = itertools.count()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@contextmanager
def case_dir(root: Path) -> Iterator[Path]:
    """A fresh folder per case, removed afterwards (the slow tier makes thousands)."""
    folder = root / f"case{next(_case_numbers)}"
    folder.mkdir()
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


class Hung(Exception):
    """A loader ran past HANG_S."""


@contextmanager
def time_bound(loader: str) -> Iterator[None]:
    """Interrupt a case that hangs; fail one that is merely slow."""

    def interrupt(signum: int, frame: object) -> None:
        raise Hung(f"the {loader} loader still runs after {HANG_S} s")

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, HANG_S)
    # CPU time, not wall time: a busy CI machine must not fail a case that is not slow.
    started = time.process_time()
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    elapsed = time.process_time() - started
    assert elapsed < CASE_LIMIT_S[loader], f"{loader} case took {elapsed:.1f} s of CPU"


def check_refusal(error: ShocktwinError) -> None:
    assert error.problems, f"{type(error).__name__} without problems"
    for problem in error.problems:
        assert problem.message.strip(), f"a problem without a message: {problem!r}"
        assert problem.file, f"a problem that names no file: {problem!r}"
        assert "pydantic" not in problem.message, f"a library's wording leaked: {problem!r}"


def check_cli(result: Result, allowed: set[int]) -> None:
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code in allowed, result.output
    assert "Traceback" not in result.output
    for line in result.stderr.splitlines():
        if line.startswith("error:"):
            assert line.removeprefix("error:").strip(), result.stderr


# --------------------------------------------------------------------------- mutations

#: Text that has broken parsers before: units, numbers, YAML's implicit types, paths, bidi.
ODD_TEXT = ["", " ", "-1h", "0s", "0h", "1e999h", "100000000d", "5 fortnights", "1d12h",
            "NaN", "nan", "inf", "-inf", ".inf", "1/0", "0/h", "1e308/h", "-3/h", "15/h",
            "999999999999999999999999", "1_000", "0x1F", "0o17", "true", "null", "~",
            "yes", "no", "on", "2001-12-14", "12:30:00", "ｈ", "１d", "2d\u200b", "\u202eh1",
            "é", "💥", "a\tb", "line\nbreak", "../../../etc/passwd", "${HOME}", "{{x}}",
            "%s%n%x", "'", '"', "\\", "#", "&a", "*a", "!!python/object", "a" * 3000]


def odd_values() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.none(), st.booleans(),
        st.integers(min_value=-(10**30), max_value=10**30),
        st.sampled_from([0, -1, 2**63, -(2**63) - 1, 10**400]),
        st.floats(), st.sampled_from([0.0, -0.0, 5e-324, 1e308, float("nan"), float("inf")]),
        st.sampled_from(ODD_TEXT),
        st.text(max_size=20),
        st.lists(st.integers(-5, 5), max_size=3),
        st.dictionaries(st.text(max_size=6), st.integers(-5, 5), max_size=3),
    )


def _paths(node: Any, path: tuple[Any, ...] = (), depth: int = 0
           ) -> Iterator[tuple[Any, ...]]:
    yield path
    if depth > 12:
        return
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*path, key), depth + 1)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _paths(value, (*path, i), depth + 1)


def _parent(doc: Any, path: tuple[Any, ...]) -> Any:
    node = doc
    for part in path[:-1]:
        node = node[part]
    return node


@st.composite
def mutated(draw: st.DrawFn, base: Any) -> Any:
    """``base`` with one to four random edits anywhere in it."""
    doc = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 4))):
        path = draw(st.sampled_from(list(_paths(doc))))
        op = draw(st.sampled_from(["delete", "rename", "replace", "replace", "wrap",
                                   "duplicate", "insert", "number"]))
        if not path:
            if op in ("replace", "wrap"):
                doc = draw(odd_values()) if op == "replace" else [doc]
            continue
        parent, last = _parent(doc, path), path[-1]
        value = parent[last]
        if op == "delete":
            del parent[last]
        elif op == "rename" and isinstance(parent, dict):
            new = draw(st.one_of(st.text(max_size=12), st.sampled_from(
                [str(last).upper(), f"{last}s", f" {last}", str(last).replace("_", "-"), 1,
                 None, True])))
            parent[new] = parent.pop(last)
        elif op == "wrap":
            parent[last] = draw(st.sampled_from([[value], {"value": value}]))
        elif op == "duplicate" and isinstance(parent, list):
            parent.insert(last, copy.deepcopy(value))
        elif op == "insert" and isinstance(value, dict):
            value[draw(st.text(max_size=12))] = draw(odd_values())
        elif op == "number" and isinstance(value, int | float) and not isinstance(value, bool):
            # An earlier mutation may have left an int too large for float arithmetic.
            scaled = [value * 10**6, value * 10**300] if isinstance(value, int) else [
                value * 1e6, value * 1e300]
            parent[last] = draw(st.sampled_from([-value, *scaled, -1, 0, float("nan"),
                                                 float("inf"), 10**30]))
        elif op == "number" and isinstance(value, str):
            parent[last] = draw(st.sampled_from(["-", "1e400", "0", "+", " "])) + value
        else:
            parent[last] = draw(odd_values())
    return doc


#: Bytes that mean something to YAML, or to a decoder.
YAML_TOKENS = [b"&a ", b"*a", b"!!python/object/apply:os.system ['true']", b"<<: *a\n",
               b"? ", b"- ", b": ", b"{", b"}", b"[", b"]", b"'", b'"', b"%YAML 1.1\n",
               b"---\n", b"...\n", b"!!binary ", b"\t", b"!!set ", b"!!float ", b"!x ",
               b"&a [*a, *a]", b"\x00", b"\xff\xfe", b"\xef\xbb\xbf", b"\r", b"#", b"|",
               b">", b"\x85", b"\xe2\x80\xa8", b"\xc3", b"%", b"@", b"`"]


@st.composite
def damaged(draw: st.DrawFn, data: bytes) -> bytes:
    """``data`` cut, spliced with tokens or random bytes, or with its line ends changed."""
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["cut", "token", "bytes", "crlf", "bom", "delete"]))
        pos = draw(st.integers(0, len(data)))
        if op == "cut":
            data = data[:pos]
        elif op == "token":
            data = data[:pos] + draw(st.sampled_from(YAML_TOKENS)) + data[pos:]
        elif op == "bytes":
            data = data[:pos] + draw(st.binary(min_size=1, max_size=16)) + data[pos:]
        elif op == "crlf":
            data = data.replace(b"\n", b"\r\n")
        elif op == "bom":
            data = b"\xef\xbb\xbf" + data
        else:
            data = data[:pos] + data[pos + draw(st.integers(1, 40)):]
    return data


@st.composite
def as_yaml(draw: st.DrawFn, doc: Any) -> bytes:
    text = yaml.safe_dump(doc, sort_keys=draw(st.booleans()), allow_unicode=draw(st.booleans()),
                          default_flow_style=draw(st.sampled_from([False, True, None])),
                          width=draw(st.sampled_from([80, 20, 10**6])))
    return text.encode()


def garbage() -> st.SearchStrategy[bytes]:
    json_like = st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
            st.text(max_size=8), inner, max_size=4), max_leaves=20)
    return st.one_of(st.binary(max_size=2000), st.text(max_size=2000).map(str.encode),
                     json_like.map(lambda v: yaml.safe_dump(v).encode()))


def files_from(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[bytes]:
    """Valid, mutated (maybe damaged) and garbage files around documents from ``valid``."""
    mutated_docs = valid.flatmap(mutated).flatmap(as_yaml)
    return st.one_of(
        valid.flatmap(as_yaml),
        mutated_docs,
        mutated_docs.flatmap(damaged),
        valid.flatmap(as_yaml).flatmap(damaged),
        garbage(),
    )


# --------------------------------------------------------------------------- scenarios


def durations(*choices: str) -> st.SearchStrategy[str]:
    return st.sampled_from(choices)


LEAD_TIMES = st.sampled_from([
    {"dist": "lognormal", "median": "2d", "sigma": 0.3},
    {"dist": "constant", "value": "1d"},
    {"dist": "exponential", "mean": "36h"},
    {"dist": "gamma", "mean": "2d", "cv": 0.5},
    {"dist": "uniform", "low": "1d", "high": "3d"},
    {"dist": "triangular", "low": "1d", "mode": "2d", "high": "4d"},
    {"dist": "weibull", "scale": "2d", "shape": 1.5},
    {"dist": "normal", "mean": "2d", "sd": "4h"},
])
SHOCKS: st.SearchStrategy[dict[str, Any]] = st.sampled_from([
    {"id": "o", "type": "supplier_outage", "target": "sup", "start": "1d", "duration": "6h"},
    {"id": "c", "type": "partial_capacity_cut", "target": "sup", "start": "1d",
     "duration": "2d", "cut": 0.5},
    {"id": "l", "type": "lead_time_inflation", "target": "sup", "start": "1d",
     "duration": "2d", "factor": 2.0},
    {"id": "q", "type": "quality_drift", "target": "sup", "start": "0h", "duration": "2d",
     "factor": 3},
    {"id": "s", "type": "staff_shortage", "target": "work", "start": "1d", "duration": "1d",
     "absent": 0.5},
    {"id": "p", "type": "power_outage", "start": "1d", "duration": "4h"},
    {"id": "d", "type": "demand_surge", "start": "1d", "duration": "1d", "factor": 1.5},
])
#: A small rule set for the base plant with an incoming inspection station added.
RULES_BASE: dict[str, Any] = {
    "version": 1, "name": "fuzz-rules",
    "plans": [{"material": "part", "station": "iqc-in",
               "sampling": {"method": "single", "level": "II", "aql": 1.0, "switching": "z14"},
               "characteristics": [{"name": "bore", "spec": {"lsl": 11.95, "usl": 12.05,
                                                             "unit": "mm"},
                                    "spc": {"chart": "i_mr"},
                                    "capability": {"cpk_min": 1.33}}]}],
    "triggers": [{"id": "t1", "material": "part", "when": "lot.rejected_in_last_5 >= 2",
                  "for": "0h", "then": [{"type": "tighten", "material": "part"}]}],
}


@st.composite
def valid_scenarios(draw: st.DrawFn) -> dict[str, Any]:
    doc = copy.deepcopy(BASE_PLANT)
    doc["horizon"] = draw(durations("2d", "3d", "5d", "1w", "240h", "14d"))
    doc["warmup"] = draw(durations("0h", "6h", "1d", "90min"))
    plant = doc["plant"]
    sup = plant["suppliers"][0]
    sup["lot_size"] = draw(st.integers(1, 5000))
    sup["defect_rate"] = draw(st.floats(0, 0.5))
    sup["lead_time"] = draw(LEAD_TIMES)
    plant["buffers"][0]["initial"] = draw(st.integers(0, 5000))
    plant["buffers"][0]["reorder_point"] = draw(st.integers(0, 2000))
    iqc, work, _ = plant["stations"]
    iqc["inspectors"] = draw(st.integers(1, 5))
    iqc["time_per_unit"] = draw(durations("30s", "1min", "2min", "10min"))
    iqc["detection"] = draw(st.floats(0.01, 1))
    work["servers"] = draw(st.integers(1, 5))
    work["process_time"] = draw(st.sampled_from([
        {"dist": "gamma", "mean": "5min", "cv": 0.5}, {"dist": "constant", "value": "4min"},
        {"dist": "exponential", "mean": "3min"}]))
    plant["demand"] = {"rate": f"{draw(st.integers(1, 30))}/h",
                       "due_in": draw(durations("12h", "1d", "2d"))}
    tolerances: list[dict[str, Any]] = [
        {"kpi": "otd", "min": 0.9}, {"kpi": "throughput_per_h", "min": 1.0},
        {"kpi": "release_lead_time_p95", "max": "8h"}, {"kpi": "scrap", "max": 100}]
    doc["hypothesis"] = draw(st.lists(st.sampled_from(tolerances), min_size=1, max_size=3,
                                      unique_by=lambda t: str(t["kpi"])))
    doc["experiment"] = {"replications": draw(st.integers(1, 20)),
                         "seed": draw(st.integers(0, 2**63 - 1)),
                         "engine": draw(st.sampled_from(["simpy", "salabim"]))}
    doc["shocks"] = draw(st.lists(SHOCKS, max_size=2, unique_by=lambda s: str(s["id"])))
    if draw(st.booleans()):
        plant["stations"].insert(0, {"id": "iqc-in", "kind": "inspection", "role": "incoming",
                                     "inspectors": 1, "time_per_unit": "1min",
                                     "detection": 0.95})
        doc["rules"] = "rules.yaml"
    return doc


def check_scenario(root: Path, data: bytes) -> None:
    with case_dir(root) as folder:
        path = folder / "scenario.yaml"
        path.write_bytes(data)
        (folder / "rules.yaml").write_text(yaml.safe_dump(RULES_BASE))
        with time_bound("scenario"):
            try:
                load_scenario(path)
                accepted = True
            except ShocktwinError as e:
                check_refusal(e)
                accepted = False
            result = CliRunner().invoke(cli.app, ["validate", str(path)])
        check_cli(result, {0, 2})
        assert (result.exit_code == 0) == accepted, result.output


def test_the_valid_scenario_strategy_makes_valid_scenarios(tmp_path: Path) -> None:
    """Guards the generator: were its scenarios invalid, the fuzzer would only test refusals."""
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(RULES_BASE))
    for i, doc in enumerate(_examples(valid_scenarios(), 25)):
        path = tmp_path / f"s{i}.yaml"
        path.write_text(yaml.safe_dump(doc))
        load_scenario(path)


@tier("scenario", 250)
@given(data=files_from(valid_scenarios()))
def test_scenario_loader_accepts_or_refuses_cleanly(workdir: Path, data: bytes) -> None:
    check_scenario(workdir, data)


@pytest.mark.slow
@tier("scenario", 10_000)
@given(data=files_from(valid_scenarios()))
def test_scenario_loader_accepts_or_refuses_cleanly_long(workdir: Path, data: bytes) -> None:
    check_scenario(workdir, data)


# --------------------------------------------------------------------------- rule files


def _bundled_rules() -> list[dict[str, Any]]:
    return [yaml.safe_load((ROOT / "tests" / "rules_engine" / "examples" / f"{n}.yaml").read_text())
            for n in ("baseline", "strict", "weakened")]


NAMES = sorted(STATISTICS)


@st.composite
def conditions(draw: st.DrawFn, depth: int = 0) -> str:
    """A valid trigger condition over the declared statistics."""
    if depth < 2 and draw(st.booleans()):
        left, right = draw(conditions(depth + 1)), draw(conditions(depth + 1))
        joined = f"({left}) {draw(st.sampled_from(['and', 'or']))} ({right})"
        return f"not ({joined})" if draw(st.booleans()) else joined
    name = draw(st.sampled_from(NAMES))
    op = draw(st.sampled_from(["<", "<=", ">", ">=", "==", "!="]))
    value = draw(st.floats(0, 1000, allow_nan=False).map(lambda x: round(x, 3)))
    if draw(st.booleans()):
        return f"max({name}, {value}) {op} {draw(st.integers(0, 100))}"
    return f"{name} {op} {value}"


@st.composite
def valid_rules(draw: st.DrawFn) -> dict[str, Any]:
    doc = copy.deepcopy(draw(st.sampled_from([RULES_BASE, *_bundled_rules()])))
    for plan in doc["plans"]:
        sampling = plan.get("sampling")
        if isinstance(sampling, dict) and sampling.get("method", "single") == "single":
            sampling["level"] = draw(st.sampled_from(["S-1", "S-2", "S-3", "S-4", "I", "II",
                                                      "III"]))
            sampling["aql"] = draw(st.sampled_from([0.065, 0.1, 0.25, 0.65, 1.0, 1.5, 2.5,
                                                    4.0, 6.5, 10.0, "1.0", "0.65"]))
            sampling["switching"] = draw(st.sampled_from(["z14", "iso2859", "none"]))
    for trigger in doc.get("triggers", []):
        trigger["when"] = draw(conditions())
        trigger["for"] = draw(durations("0h", "1d", "60d", "90min"))
    return doc


def check_rules(root: Path, data: bytes) -> None:
    with case_dir(root) as folder:
        path = folder / "rules.yaml"
        path.write_bytes(data)
        with time_bound("rules"):
            try:
                load_rules(path)
                accepted = True
            except ShocktwinError as e:
                check_refusal(e)
                accepted = False
            result = CliRunner().invoke(cli.app, ["rules", "lint", str(path)])
        check_cli(result, {0, 1, 2})
        assert (result.exit_code != 2) == accepted, result.output


def test_the_valid_rules_strategy_makes_valid_rule_sets() -> None:
    from shocktwin.rules_engine.ruleset import parse_rules

    for doc in _examples(valid_rules(), 25):
        parse_rules(doc)


@tier("rules", 250)
@given(data=files_from(valid_rules()))
def test_rule_loader_accepts_or_refuses_cleanly(workdir: Path, data: bytes) -> None:
    check_rules(workdir, data)


@pytest.mark.slow
@tier("rules", 10_000)
@given(data=files_from(valid_rules()))
def test_rule_loader_accepts_or_refuses_cleanly_long(workdir: Path, data: bytes) -> None:
    check_rules(workdir, data)


# --------------------------------------------------------------------------- CSV ingest


@dataclass(frozen=True)
class Layout:
    """A mapping file and what the values of each source column look like."""

    mapping: dict[str, Any]
    #: Source column -> kind of value: text, timestamp, count, number or result.
    kinds: dict[str, str]
    timestamp_format: str = "%Y-%m-%d %H:%M:%S"


LAYOUTS = [
    Layout({"table": "operations", "columns": {
        "order": "case_id", "step": "activity", "machine": "resource", "began": "start_ts",
        "ended": "end_ts", "good": "qty_completed", "scrap": "qty_rejected"},
        "null_values": ["n/a"]},
        {"order": "text", "step": "text", "machine": "text", "began": "timestamp",
         "ended": "timestamp", "good": "count", "scrap": "count"}),
    Layout({"table": "operations", "delimiter": ";", "timestamp_format": "%d.%m.%Y %H:%M",
            "columns": {"Auftrag": "case_id", "Schritt": "activity", "Beginn": "start_ts",
                        "Ende": "end_ts", "Gut": "qty_completed"}},
           {"Auftrag": "text", "Schritt": "text", "Beginn": "timestamp", "Ende": "timestamp",
            "Gut": "count"}, "%d.%m.%Y %H:%M"),
    Layout({"table": "inspections", "columns": {
        "id": "entity_id", "at": "ts", "verdict": "result", "char": "characteristic",
        "value": "measured_value"}},
        {"id": "text", "at": "timestamp", "verdict": "result", "char": "text",
         "value": "number"}),
]


def cell(kind: str, fmt: str) -> st.SearchStrategy[str]:
    stamps = st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31))
    odd = st.one_of(st.sampled_from(ODD_TEXT[:40]), st.text(max_size=12))
    by_kind: dict[str, st.SearchStrategy[str]] = {
        "text": st.text(max_size=12),
        "timestamp": st.one_of(
            stamps.map(lambda d: d.strftime(fmt)), stamps.map(lambda d: d.isoformat()),
            st.sampled_from(["2012-02-30 10:00:00", "30.02.2012 10:00", "24:00", "0000-00-00",
                             "2012-01-01T10:00:00Z", "2012-01-01 10:00:00+02:00",
                             "1e10", "-1", "1355314332"])),
        "count": st.one_of(st.integers(-(10**20), 10**20).map(str),
                           st.floats().map(repr), st.sampled_from(["3.0", "1,000", "-0"])),
        "number": st.one_of(st.floats().map(repr), st.integers().map(str)),
        "result": st.sampled_from(["pass", "fail", "PASS", "Fail", "ok", "1", "-1"]),
    }
    return st.one_of(by_kind[kind], by_kind[kind], by_kind[kind], odd, st.just(""))


@st.composite
def csv_cases(draw: st.DrawFn) -> tuple[bytes, bytes]:
    """A CSV source and its mapping file."""
    layout = draw(st.sampled_from(LAYOUTS))
    mapping: Any = layout.mapping
    if draw(st.integers(0, 4)) == 0:
        mapping = draw(mutated(mapping))
    mapping_bytes = draw(as_yaml(mapping))
    if draw(st.integers(0, 9)) == 0:
        mapping_bytes = draw(damaged(mapping_bytes))
    delimiter = str(layout.mapping.get("delimiter", ","))
    columns = list(layout.kinds)
    columns = draw(st.permutations(columns))
    if draw(st.integers(0, 3)) == 0:  # missing, renamed or extra columns
        columns = draw(st.lists(st.sampled_from([*columns, "extra", "Order", "bégan", ""]),
                                min_size=1, max_size=len(columns) + 2))
    rows: list[list[str]] = []
    for _ in range(draw(st.integers(0, 25))):
        row = [draw(cell(layout.kinds.get(c, "text"), layout.timestamp_format))
               for c in columns]
        if draw(st.integers(0, 9)) == 0:  # ragged
            row = row[: draw(st.integers(0, len(row)))] + draw(
                st.lists(st.text(max_size=4), max_size=2))
        rows.append(row)
    buffer = io.StringIO()
    ending = draw(st.sampled_from(["\n", "\r\n"]))
    if draw(st.booleans()):
        writer = csv.writer(buffer, delimiter=delimiter, lineterminator=ending,
                            quoting=csv.QUOTE_ALL)
    else:
        writer = csv.writer(buffer, delimiter=delimiter, lineterminator=ending)
    writer.writerow(columns)
    writer.writerows(rows)
    source = buffer.getvalue().encode()
    if draw(st.integers(0, 3)) == 0:
        source = draw(damaged(source))
    if draw(st.integers(0, 9)) == 0:
        source = draw(st.binary(max_size=500))
    return source, mapping_bytes


def check_ingest(root: Path, source: bytes, mapping: bytes, via_cli: bool) -> None:
    with case_dir(root) as folder:
        src, mapping_file = folder / "source.csv", folder / "mapping.yaml"
        src.write_bytes(source)
        mapping_file.write_bytes(mapping)
        with time_bound("ingest"):
            try:
                report = ingest(src, "csv", folder / "store.duckdb", mapping_file)
                accepted = True
                for t in report.tables:
                    assert t.rows_read == t.rows_loaded + t.rows_quarantined, t
            except ShocktwinError as e:
                check_refusal(e)
                accepted = False
        if via_cli:
            with time_bound("ingest"):
                result = CliRunner().invoke(cli.app, [
                    "ingest", str(src), "--format", "csv", "--db", str(folder / "cli.duckdb"),
                    "--mapping", str(mapping_file)])
            check_cli(result, {0, 2})
            assert (result.exit_code == 0) == accepted, result.output


# Each ingest builds a DuckDB store (~0.2 s), so the default tier runs fewer cases here, and
# only one in four also through the CLI.
@tier("ingest", 100)
@given(case=csv_cases(), via_cli=st.integers(0, 3).map(lambda n: n == 0))
def test_csv_ingest_accepts_or_refuses_cleanly(workdir: Path, case: tuple[bytes, bytes],
                                               via_cli: bool) -> None:
    check_ingest(workdir, *case, via_cli)


@pytest.mark.slow
@tier("ingest", 10_000)
@given(case=csv_cases(), via_cli=st.integers(0, 3).map(lambda n: n == 0))
def test_csv_ingest_accepts_or_refuses_cleanly_long(workdir: Path, case: tuple[bytes, bytes],
                                                    via_cli: bool) -> None:
    check_ingest(workdir, *case, via_cli)


def _examples(strategy: st.SearchStrategy[Any], n: int) -> list[Any]:
    out: list[Any] = []

    @settings(max_examples=n, database=None, suppress_health_check=_HEALTH, deadline=None)
    @given(strategy)
    def collect(value: Any) -> None:
        out.append(value)

    collect()
    return out


# --------------------------------------------------------------------------- special files

# The child limits its own address space (a preexec_fn could deadlock: DuckDB's threads).
# The time limit is the child's own alarm, set after its imports: a loaded machine slows
# the interpreter's start, which is not what is being timed.
_PROBE = """
import resource, signal, sys
resource.setrlimit(resource.RLIMIT_AS, (1_200_000_000, 1_200_000_000))
{imports}
from shocktwin.errors import ShocktwinError
signal.alarm({timeout_s})
try:
    {call}
except ShocktwinError as e:
    print("\\n".join(str(p) for p in e.problems))
    sys.exit(2)
"""


def probe(imports: str, call: str, timeout_s: int = 10) -> subprocess.CompletedProcess[str]:
    """Run a loader on a special file in a child with 1.2 GB of memory; the call itself
    must end within ``timeout_s`` (SIGALRM ends the child otherwise)."""
    code = _PROBE.format(imports=imports, call=call, timeout_s=timeout_s)
    try:
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              timeout=timeout_s + 120, cwd=ROOT,
                              env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{call} still runs after {timeout_s + 120} s")
    if done.returncode == -signal.SIGALRM:
        pytest.fail(f"{call} still ran after {timeout_s} s")
    return done


needs_dev_zero = pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")

@needs_dev_zero
@pytest.mark.parametrize("imports, call", [
    ("from shocktwin.scenarios.loader import load_scenario", "load_scenario('/dev/zero')"),
    ("from shocktwin.rules_engine.ruleset import load_rules", "load_rules('/dev/zero')"),
    ("from shocktwin.edge_replay.ingest import ingest",
     "ingest('tests/edge_replay/bad/ops.csv', 'csv', {store!r}, '/dev/zero')"),
], ids=["scenario", "rules", "mapping"])
def test_an_endless_device_is_refused(imports: str, call: str, tmp_path: Path) -> None:
    done = probe(imports, call.format(store=str(tmp_path / "store.duckdb")))
    assert done.returncode == 2, done.stderr[-2000:]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes")
def test_a_named_pipe_is_refused(tmp_path: Path) -> None:
    pipe = tmp_path / "scenario.yaml"
    os.mkfifo(pipe)
    done = probe("from shocktwin.scenarios.loader import load_scenario",
                 f"load_scenario({str(pipe)!r})", timeout_s=3)
    assert done.returncode == 2, done.stderr[-2000:]



# --------------------------------------------------------------------------- findings
#
# Inputs the fuzzer once crashed a loader with, kept as plain cases.

#: Scalars that PyYAML types by their tag or their look, then fails to build.
BAD_SCALARS = ["x: !!float ''\n", "x: !!float abc\n", "x: !!int abc\n", "x: !!bool maybe\n",
               "x: !!timestamp abc\n", "start: 2024-02-30\n", "horizon: 2024-13-01\n"]

@pytest.mark.parametrize("text", BAD_SCALARS)
def test_scenario_loader_refuses_scalars_that_do_not_fit_their_type(tmp_path: Path,
                                                                     text: str) -> None:
    path = tmp_path / "scenario.yaml"
    path.write_text(text)
    with pytest.raises(ShocktwinError) as info:
        load_scenario(path)
    check_refusal(info.value)


@pytest.mark.parametrize("text", ["version: !!int one\n", "name: x\nplans: [{aql: !!float ''}]\n"])
def test_rule_loader_refuses_scalars_that_do_not_fit_their_type(tmp_path: Path,
                                                                 text: str) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(text)
    with pytest.raises(ShocktwinError) as info:
        load_rules(path)
    check_refusal(info.value)


@pytest.mark.parametrize("station", [1, "iqc", [{"id": "release", "kind": "release"}]])
def test_scenario_loader_refuses_a_station_that_is_not_a_mapping(tmp_path: Path,
                                                                  station: Any) -> None:
    doc = copy.deepcopy(BASE_PLANT)
    doc["plant"]["stations"][2] = station
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(ShocktwinError) as info:
        load_scenario(path)
    check_refusal(info.value)


@pytest.mark.parametrize("kind", [["demand_surge"], {"name": "demand_surge"}])
def test_scenario_loader_refuses_a_shock_type_that_is_not_text(tmp_path: Path,
                                                                kind: Any) -> None:
    doc = deep_update(BASE_PLANT, {"shocks": [
        {"id": "d", "type": kind, "start": "1d", "duration": "1d", "factor": 1.5}]})
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(ShocktwinError) as info:
        load_scenario(path)
    check_refusal(info.value)


_OPS_MAPPING = "table: operations\ncolumns: {order: case_id, step: activity}\n"


@pytest.mark.parametrize("extra", [
    pytest.param("timestamp_format: !!float abc\n", id="tag"),
    pytest.param("null_values: [2024-02-30]\n", id="date"),
    pytest.param("table: [operations]\n", id="table-list"),
    pytest.param("table: {name: operations}\n", id="table-mapping"),
    pytest.param("null_values: &a [*a]\n", id="recursive-anchor"),
])
def test_mapping_loader_refuses_bad_yaml(tmp_path: Path, extra: str) -> None:
    from shocktwin.edge_replay.mapping import load_mapping

    path = tmp_path / "mapping.yaml"
    text = _OPS_MAPPING + extra
    if extra.startswith("table:"):
        text = text.replace("table: operations\n", "")
    path.write_text(text)
    with pytest.raises(ShocktwinError) as info:
        load_mapping(path)
    check_refusal(info.value)


@pytest.mark.parametrize("source", [b"\xc2", b"order,step,began,ended\xe2\x82"],
                         ids=["one-byte", "cut-header"])
def test_csv_ingest_refuses_a_file_cut_inside_a_character(tmp_path: Path,
                                                          source: bytes) -> None:
    src = tmp_path / "source.csv"
    src.write_bytes(source)
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(yaml.safe_dump(LAYOUTS[0].mapping))
    with pytest.raises(ShocktwinError) as info:
        ingest(src, "csv", tmp_path / "store.duckdb", mapping)
    check_refusal(info.value)


def alias_bomb(levels: int = 9) -> str:
    """A "billion laughs" document: 9 ** levels strings from a few hundred bytes."""
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def test_mapping_loader_refuses_an_alias_bomb_quickly(tmp_path: Path) -> None:
    path = tmp_path / "mapping.yaml"
    path.write_text(_OPS_MAPPING + alias_bomb())
    done = probe("from shocktwin.edge_replay.mapping import load_mapping",
                 f"load_mapping({str(path)!r})", timeout_s=4)
    assert done.returncode == 2, done.stderr[-2000:]
