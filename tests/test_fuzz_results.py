"""Fuzzing the result formats: a run's journal and tables, mtd.json, pareto.json, stress.json.

Real results folders are written once per module (a run in each table format, an MTD search,
an optimisation, a stress gate); each case copies one and damages it — at the byte level (cut,
flipped, spliced with garbage or with bytes that are not UTF-8), at the JSON level (keys
deleted or replaced anywhere, values of another type, huge numbers, NaN tokens, deep nesting,
records duplicated or moved, kinds swapped, sometimes re-chained as a forger would), or at
the file level (a table missing, corrupt or taken from another run, a folder or a device
where a file should be).

Whatever was done, ``shocktwin verify`` exits 0, 1 or 2 — never 3, never a traceback — and
exits 0 only when the file reads as the same JSON values as before (a re-indented or
re-ordered file is still intact; any changed value is not). ``report``'s reader refuses what
does not verify with a SimulationError and reads what does; asked for ``--unverified`` it
reads or refuses, never crashes.

The default tier runs 200 cases; ``-m slow`` runs 10 000.
"""

from __future__ import annotations

import copy
import itertools
import json
import os
import re
import shutil
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import BASE_PLANT, ROOT, deep_update
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st
from test_mtd import MTD_PLANT
from test_optimize import PLANT as OPTIMIZE_PLANT
from typer.testing import CliRunner, Result

from shocktwin import cli
from shocktwin.errors import SimulationError
from shocktwin.reports import load_results
from shocktwin.twin.journal.document import document_header_hash
from shocktwin.twin.journal.record import header_hash, record_hash
from shocktwin.twin.resilience.mtd import run_mtd_search
from shocktwin.twin.resilience.optimize import run_optimisation
from shocktwin.twin.resilience.stress import run_stress_gate

_HEALTH = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much,
           HealthCheck.function_scoped_fixture]


def tier(examples: int) -> settings:
    """Settings of a tier. The default tier reports a failing case as found (each costs a
    folder copy, a verify and two reads, so shrinking could take minutes)."""
    phases = list(Phase) if examples > 1000 else [Phase.explicit, Phase.reuse, Phase.generate]
    return settings(max_examples=examples, deadline=None, suppress_health_check=_HEALTH,
                    phases=phases)


# --------------------------------------------------------------------------- the folders

RUN_PLANT = deep_update(BASE_PLANT, {
    "horizon": "3d", "warmup": "12h",
    "shocks": [{"id": "o", "type": "supplier_outage", "target": "sup", "start": "1d",
                "duration": "6h"}]})
VALVE = ROOT / "scenarios" / "reference" / "valve_quality.yaml"
#: The bundled valve scenario cut down so a stress gate takes a few seconds.
SMALL_VALVE = deep_update(yaml.safe_load(VALVE.read_text()), {
    "horizon": "12d",
    "mtd": {"replications": 4, "max_replications": 4,
            "shocks": [{"shock": "drift", "low": 1.5, "high": 40.0, "resolution": 4.0}]},
    "experiment": {"replications": 4}})

#: Each source folder and the result file in it that the byte and JSON mutations damage.
MAIN = {"run-duckdb": "journal.json", "run-parquet": "journal.json", "mtd": "mtd.json",
        "pareto": "pareto.json", "stress": "stress.json"}
SOURCES = tuple(MAIN)
TABLES = {"run-duckdb": ("results.duckdb",),
          "run-parquet": ("replications.parquet", "series.parquet", "stations.parquet")}


@dataclass(frozen=True)
class Built:
    """The real folders, and the parsed main file of each."""

    root: Path
    folders: dict[str, Path]
    #: Another run of the same plant (another seed), in each format: tables to swap in.
    others: dict[str, Path]
    docs: dict[str, dict[str, Any]]


def _run(runner: CliRunner, scenario: Path, out: Path, fmt: str, seed: int) -> None:
    done = runner.invoke(cli.app, ["run", str(scenario), "-n", "2", "--seed", str(seed),
                                   "--out", str(out), "--format", fmt])
    assert done.exit_code in (0, 1, 4), done.output


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    root = tmp_path_factory.mktemp("sources")
    runner = CliRunner()
    plant = root / "plant.yaml"
    plant.write_text(yaml.safe_dump(RUN_PLANT))
    folders: dict[str, Path] = {}
    others: dict[str, Path] = {}
    for fmt in ("duckdb", "parquet"):
        folders[f"run-{fmt}"] = root / f"run-{fmt}"
        _run(runner, plant, folders[f"run-{fmt}"], fmt, seed=11)
        others[f"run-{fmt}"] = root / f"other-{fmt}"
        _run(runner, plant, others[f"run-{fmt}"], fmt, seed=12)
    mtd = root / "mtd.yaml"
    mtd.write_text(yaml.safe_dump(deep_update(MTD_PLANT, {"mtd": {
        "shocks": [{"shock": "outage", "low": "1h", "high": "8d", "resolution": "8h",
                    "target": "2d"}], "replications": 4, "max_replications": 4}})))
    folders["mtd"] = root / "mtd"
    run_mtd_search(mtd, out=folders["mtd"], command=["shocktwin", "mtd"])
    opt = root / "opt.yaml"
    opt.write_text(yaml.safe_dump(OPTIMIZE_PLANT))
    folders["pareto"] = root / "pareto"
    run_optimisation(opt, out=folders["pareto"], command=["shocktwin", "optimize"])
    shutil.copytree(VALVE.parent / "rules", root / "rules")
    valve = root / "valve.yaml"
    valve.write_text(yaml.safe_dump(SMALL_VALVE))
    folders["stress"] = root / "stress"
    run_stress_gate([valve], root / "rules" / "valve_incoming.yaml",
                    root / "rules" / "valve_incoming_weakened.yaml", out=folders["stress"],
                    command=["shocktwin", "stress"])
    for folder in folders.values():  # the run logs are not results; verify ignores them
        (folder / "runs.jsonl").unlink(missing_ok=True)
    docs = {k: json.loads((folders[k] / MAIN[k]).read_text()) for k in SOURCES}
    return Built(root, folders, others, docs)


_case_numbers = itertools.count()


@contextmanager
def case_of(built: Built, source: str) -> Iterator[Path]:
    """A fresh copy of a source folder, removed afterwards (the slow tier makes thousands)."""
    case = built.root / f"case{next(_case_numbers)}"
    folder = case / source
    shutil.copytree(built.folders[source], folder)
    try:
        yield folder
    finally:
        shutil.rmtree(case, ignore_errors=True)


# --------------------------------------------------------------------------- the oracle


def parsed(raw: bytes) -> Any:
    """The file as ``verify`` reads it (UTF-8, then JSON); raises when it cannot."""
    return json.loads(raw.decode("utf-8"))


def values_of(doc: Any) -> str | None:
    """The JSON values a document holds, strictly: 1, 1.0 and true differ, NaN is NaN, key
    order and spacing do not count. None when there is no such text (nested too deeply)."""
    try:
        return json.dumps(doc, sort_keys=True, ensure_ascii=True, allow_nan=True)
    except (RecursionError, ValueError):
        return None


#: What a case must end as: intact (0), found out (1 or 2), unreadable (2), or anything but
#: a crash (a forger re-chained it: only a chain hash kept elsewhere can tell).
INTACT, FOUND, UNREADABLE, ANY = "intact", "found", "unreadable", "any"
ALLOWED = {INTACT: {0}, FOUND: {1, 2}, UNREADABLE: {2}, ANY: {0, 1, 2}}


def expectation(original: bytes, raw: bytes) -> str:
    if raw == original:
        return INTACT
    try:
        doc = parsed(raw)
    except (UnicodeDecodeError, ValueError):
        return UNREADABLE
    except RecursionError:  # how deep a reader gets depends on its stack: 1 or 2
        return FOUND
    before = values_of(parsed(original))
    return INTACT if before is not None and values_of(doc) == before else FOUND


def check_cli(result: Result, allowed: set[int], what: str) -> None:
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"{what}: {result.exception!r}") from result.exception
    assert result.exit_code in allowed, (what, result.exit_code, result.output)
    assert "Traceback" not in result.output and "internal error" not in result.output, what
    if result.exit_code == 2:
        lines = result.stderr.splitlines()
        assert lines and all(line.startswith("error: ") for line in lines), result.stderr


def verify(runner: CliRunner, folder: Path, *extra: str) -> Result:
    return runner.invoke(cli.app, ["verify", str(folder), *extra])


def check_report(folder: Path, source: str, code: int, what: str) -> None:
    """``report``'s reader refuses what does not verify, reads what does; with
    ``unverified`` it reads or refuses, never anything else."""
    try:
        loaded = load_results([folder])
    except SimulationError:
        # A stress gate alone is not something the report shows.
        assert code != 0 or source == "stress", f"{what}: intact, but report refused it"
    else:
        assert code == 0, f"{what}: verify exits {code}, report read it"
        assert [f.intact for f in loaded] == [True]
    try:
        loaded = load_results([folder], unverified=True)
    except SimulationError:
        pass
    else:
        assert [f.intact for f in loaded] == [code == 0], what


# --------------------------------------------------------------------------- mutations

Doc = dict[str, Any]
Path_ = tuple[Any, ...]


def _paths(node: Any, path: Path_ = ()) -> Iterator[Path_]:
    yield path
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _paths(value, (*path, i))


def _parent(doc: Any, path: Path_) -> Any:
    node = doc
    for part in path[:-1]:
        node = node[part]
    return node


def deep_text(depth: int) -> bytes:
    """JSON text of a value nested ``depth`` deep (objects and lists in turn)."""
    opens = [b'{"x": ' if i % 2 else b"[" for i in range(depth)]
    closes = [b"}" if i % 2 else b"]" for i in reversed(range(depth))]
    return b"".join(opens) + b"0" + b"".join(closes)


#: Stands for a deeply nested value until the document is written (so no copy or walk of
#: the document recurses into it); ``serialised`` puts the nesting in.
_DEEP = re.compile(rb'"@deep(\d+)@"')


ODD_VALUES: list[Any] = [
    None, True, False, 0, -1, 1, 1.0, -0.0, 2**63, -(2**63) - 1, 10**30, 10**400, 5e-324,
    1e308, float("nan"), float("inf"), float("-inf"), "", " ", "NaN", "Infinity", "1", "null",
    "true", "\u202e", "\ud800", "\udcff", "a\nb", "\x00", "é", "💥", "../../etc/passwd",
    "x" * 5000, [], {}, [None], {"": None}, "0" * 64, "f" * 64]
#: Copies, so that an edit to a list or a dict put into one document never reaches the next.
odd_values = st.sampled_from(ODD_VALUES).map(copy.deepcopy)
RECORD_KINDS = ["RunStarted", "RunFinished", "ReplicationFinished", "ShockStarted", "MtdFound",
                "SearchFinished", "PointEvaluated", "OptimisationFinished", "ScenarioCompared",
                "GateDecided", "LotInspected", "", None, 0, "\ud800", "Run\nFinished",
                "\x1b[2J"]
DOC_KINDS = ["mtd", "pareto", "stress", "journal", "MTD", "", None, 1]


def _respelled(value: float) -> list[float]:
    """The same number as the other JSON type (1 as 1.0, 2.0 as 2), where there is one."""
    try:
        return [float(value) if isinstance(value, int) else int(value)]
    except (OverflowError, ValueError):
        return []


@st.composite
def edited(draw: st.DrawFn, base: Doc) -> Doc:
    """``base`` with one to four edits anywhere in it."""
    doc = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from([
            "delete", "replace", "replace", "type", "number", "nest", "record", "record",
            "kind", "field"]))
        if op == "record" and isinstance(doc.get("records"), list) and doc["records"]:
            records = doc["records"]
            i = draw(st.integers(0, len(records) - 1))
            how = draw(st.sampled_from(["duplicate", "delete", "move", "swap_kind"]))
            if how == "duplicate":
                records.insert(draw(st.integers(0, len(records))), copy.deepcopy(records[i]))
            elif how == "delete":
                del records[i]
            elif how == "move":
                records.insert(draw(st.integers(0, len(records) - 1)), records.pop(i))
            elif isinstance(records[i], dict):
                records[i]["kind"] = draw(st.sampled_from(RECORD_KINDS))
            continue
        if op == "kind":
            if draw(st.booleans()):
                doc["kind"] = draw(st.sampled_from(DOC_KINDS))
            else:
                doc["format"] = draw(st.sampled_from([0, 1, 2, 3, 4, "3", 3.0, None, True]))
            continue
        path = draw(st.sampled_from(list(_paths(doc))[1:] or [()]))
        if not path:
            continue
        parent, last = _parent(doc, path), path[-1]
        value = parent[last]
        if op == "delete":
            del parent[last]
        elif op == "field" and isinstance(value, dict):
            value[draw(st.sampled_from(["x", "kind", "hash", "seq", "", "records"]))] = draw(
                odd_values)
        elif op == "type":
            parent[last] = draw(st.sampled_from([
                [value], {"value": value}, str(value), json.dumps(value, default=str)]))
        elif op == "number" and isinstance(value, int | float) and not isinstance(value, bool):
            parent[last] = draw(st.sampled_from([*_respelled(value), -value, value + 1,
                                                 10**400, float("nan"), float("inf")]))
        elif op == "nest":
            parent[last] = f"@deep{draw(st.sampled_from([3, 50, 400, 990, 2000]))}@"
        else:
            parent[last] = draw(odd_values)
    return doc


def rechain(doc: Doc, source: str) -> None:
    """Recompute every hash as a forger who knows the scheme would."""
    records = doc.get("records")
    if not isinstance(records, list):
        return
    try:
        prev = header_hash(doc) if source.startswith("run") else document_header_hash(doc)
        for seq, record in enumerate(records):
            if isinstance(record, dict):
                record.update(seq=seq, prev_hash=prev)
                record["hash"] = prev = record_hash(record)
        doc["chain_hash"] = prev
        if source.startswith("run") and records and isinstance(records[-1], dict):
            doc["journal_hash"] = records[-1].get("journal_hash")
    except (ValueError, TypeError, RecursionError):
        pass  # NaN or a nesting the canonical text refuses: left as it is


@dataclass(frozen=True)
class Style:
    """How a document is written back: JSON readers must not care."""

    indent: int | str | None
    sort_keys: bool
    ascii_only: bool


def serialised(doc: Any, style: Style) -> bytes:
    text = json.dumps(doc, indent=style.indent, sort_keys=style.sort_keys,
                      ensure_ascii=style.ascii_only)
    return _DEEP.sub(lambda m: deep_text(int(m.group(1))),
                     text.encode("utf-8", "surrogatepass"))


#: Bytes that mean something to a JSON reader or a UTF-8 decoder.
JSON_TOKENS = [b"NaN", b"-Infinity", b"Infinity", b"1e999", b"-1e999", b"9" * 5000,
               b"\x00", b"\xff", b"\xfe\xff", b"\xef\xbb\xbf", b"\xc3", b"\xc0\xaf",
               b"\xed\xa0\x80", b'"\\ud800"', b'"', b"\\", b"{", b"}", b"[", b"]", b",", b":",
               b"null", b"true", b'"kind": "MtdFound", ', b'"x": 1, ', b"[" * 5000,
               b"\r\n", b"\t", b"\x85", b"\xe2\x80\xa8"]


#: A number in JSON text (after a colon or a bracket, so not inside a hash or a date).
_NUMBER = re.compile(rb"[:\[,]\s*(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)")
#: What a number may be respelled as: the same value otherwise written, or another.
NUMBER_TOKENS = [b"9" * 5000, b"-" + b"1" * 4301, b"1" * 4300, b"1e999", b"-1e999", b"NaN",
                 b"Infinity", b"-0", b"0.0", b"1E0", b"1.000", b"00", b"1.", b".5", b"+1",
                 b"0x10", b"1_000", b"true", b"null", b'"1"']


@st.composite
def damaged(draw: st.DrawFn, data: bytes) -> bytes:
    """``data`` cut, flipped, spliced with tokens or garbage, or with a stretch deleted."""
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["cut", "flip", "token", "bytes", "delete", "utf8",
                                   "number", "number"]))
        pos = draw(st.integers(0, max(len(data) - 1, 0)))
        number = _NUMBER.search(data, pos)
        if op == "number" and number is not None:  # a number token of the file respelled
            data = (data[:number.start(1)] + draw(st.sampled_from(NUMBER_TOKENS))
                    + data[number.end(1):])
        elif op == "cut":
            data = data[:pos]
        elif op == "flip" and data:
            data = data[:pos] + bytes([data[pos] ^ draw(st.integers(1, 255))]) + data[pos + 1:]
        elif op == "token":
            data = data[:pos] + draw(st.sampled_from(JSON_TOKENS)) + data[pos:]
        elif op == "bytes":
            data = data[:pos] + draw(st.binary(min_size=1, max_size=16)) + data[pos:]
        elif op == "delete":
            data = data[:pos] + data[pos + draw(st.integers(1, 40)):]
        else:  # a byte of a string that no UTF-8 decoder accepts
            quote = data.find(b'"', pos)
            at = quote + 1 if quote >= 0 else pos
            data = data[:at] + draw(st.sampled_from([b"\xff", b"\x80", b"\xc3("])) + data[at:]
    return data


def replace_path(folder: Path, name: str, how: str, built: Built, source: str) -> None:
    """A file-level change to ``folder/name``."""
    target = folder / name
    if how == "missing":
        target.unlink()
    elif how == "folder":
        target.unlink()
        target.mkdir()
        (target / "x").write_text("{}")
    elif how == "device":
        target.unlink()
        target.symlink_to("/dev/zero")
    elif how == "fifo":
        target.unlink()
        os.mkfifo(target)
    elif how == "dangling":
        target.unlink()
        target.symlink_to(folder / "nothing-here")
    elif how == "other":  # the same file of another run of the plant
        shutil.copyfile(built.others[source] / name, target)
    elif how == "empty":
        target.write_bytes(b"")
    else:  # "cut": the second half of the file gone
        target.write_bytes(target.read_bytes()[: target.stat().st_size // 2])


@dataclass(frozen=True)
class Case:
    """One damaged folder: how it was made, and what verify must say."""

    source: str
    what: str
    expect: str
    #: When a forger re-chained a changed document: a chain hash kept elsewhere finds it.
    changed_after_rechain: bool = False


Mutation = Callable[[Path, Built], Case]
Drawn = tuple[str, Mutation]


def base_bytes(built: Built, source: str) -> bytes:
    return (built.folders[source] / MAIN[source]).read_bytes()


def byte_case(source: str, data_of: Callable[[bytes], bytes]) -> Mutation:
    def apply(folder: Path, built: Built) -> Case:
        file = folder / MAIN[source]
        original = file.read_bytes()
        raw = data_of(original)
        file.write_bytes(raw)
        return Case(source, f"bytes of {file.name}", expectation(original, raw))
    return apply


@st.composite
def mutations(draw: st.DrawFn, built: Built) -> Drawn:
    source = draw(st.sampled_from(SOURCES))
    base = built.docs[source]
    family = draw(st.sampled_from(["bytes", "json", "json", "json+bytes", "rechain",
                                   "spacing", "files"]))
    style = Style(draw(st.sampled_from([None, 0, 1, 2, 4, "\t"])), draw(st.booleans()),
                  draw(st.booleans()))
    if family == "bytes":
        cut = draw(damaged(base_bytes(built, source)))
        return source, byte_case(source, lambda raw: cut)
    if family == "spacing":  # the same values, written otherwise: still intact
        return source, byte_case(source, lambda raw: serialised(base, style))
    if family in ("json", "json+bytes"):
        doc = draw(edited(base))
        text = serialised(doc, style)
        if family == "json+bytes":
            text = draw(damaged(text))
        return source, byte_case(source, lambda raw: text)
    if family == "rechain":
        doc = draw(edited(base))
        rechain(doc, source)
        text = serialised(doc, style)

        def forged(folder: Path, built: Built) -> Case:
            case = byte_case(source, lambda raw: text)(folder, built)
            return Case(source, "re-chained " + case.what, ANY,
                        changed_after_rechain=case.expect != INTACT)
        return source, forged
    names = [MAIN[source], *TABLES.get(source, ())]
    name = draw(st.sampled_from(names))
    hows = ["missing", "folder", "device", "fifo", "dangling", "empty", "cut"]
    if source in built.others:
        hows.append("other")
    how = draw(st.sampled_from(hows))

    def file_level(folder: Path, built: Built) -> Case:
        replace_path(folder, name, how, built, source)
        return Case(source, f"{name}: {how}", FOUND)
    return source, file_level


# --------------------------------------------------------------------------- found by fuzzing


def _respell_first_number(key: bytes, token: bytes) -> Callable[[bytes], bytes]:
    def change(raw: bytes) -> bytes:
        at = raw.index(key) + len(key)
        end = at + len(_NUMBER_AT.match(raw, at).group())  # type: ignore[union-attr]
        return raw[:at] + token + raw[end:]
    return change


def _json_edit(edit: Callable[[Doc], object]) -> Callable[[bytes], bytes]:
    def change(raw: bytes) -> bytes:
        doc = json.loads(raw)
        edit(doc)
        return json.dumps(doc, indent=2).encode()
    return change


def _record_kind(kind: str) -> Callable[[Doc], object]:
    return lambda doc: doc["records"][0].update(kind=kind)


_NUMBER_AT = re.compile(rb"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")
_GIANT = b"9" * 5000  # more digits than Python turns into an int (4,300)
#: Inputs that once crashed verify or report (exit 3) or passed as intact: (source, change,
#: exit code, text that verify must print). Each is the smallest form of what the fuzzer
#: found.
BAD_INPUTS: dict[str, tuple[str, Callable[[bytes], bytes], int, str]] = {
    "document-with-a-5000-digit-number": (
        "stress", _respell_first_number(b'"replications": ', _GIANT), 2,
        "a number in it is too long to read"),
    "journal-with-a-5000-digit-number": (
        "run-duckdb", _respell_first_number(b'"seed": ', _GIANT), 2,
        "a number in it is too long to read"),
    "journal-kpi-beyond-any-float": (
        "run-parquet", _respell_first_number(b'"events": ', b"1" + b"0" * 400), 1,
        "edited: its content no longer hashes"),
    "journal-chain-hash-null": (
        "run-duckdb", _json_edit(lambda doc: doc.update(chain_hash=None)), 1,
        "header: chain_hash is None, not the hash of the last record"),
    "journal-chain-hash-a-number": (
        "run-parquet", _json_edit(lambda doc: doc.update(chain_hash=5)), 1,
        "header: chain_hash is 5, not the hash of the last record"),
    # An edited seq was counted up to: memory and time grew with the number (OOM at 2**63).
    "document-record-seq-of-ten-to-the-thirty": (
        "pareto", _json_edit(lambda doc: doc["records"][-1].update(seq=10**30)), 1,
        "removed: the chain's records 12–999999999999999999999999999999 are missing"),
    "journal-record-seq-of-two-to-the-sixty-three": (
        "run-duckdb", _json_edit(lambda doc: doc["records"][-1].update(seq=2**63)), 1,
        "(written as record 9223372036854775808)"),
    # Read only by report --unverified: a format that is a list was looked up in a set.
    "journal-format-a-list": (
        "run-duckdb", _json_edit(lambda doc: doc.update(format=[3])), 2,
        "unknown journal format [3]"),
    "record-kind-with-a-lone-surrogate": (
        "pareto", _json_edit(_record_kind("\ud800")), 1, "(\\ud800)"),
    "record-kind-with-a-line-break": (
        "mtd", _json_edit(_record_kind("Mtd\nFound")), 1, "(Mtd\\nFound)"),
}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_inputs_the_fuzzer_found_are_refused_cleanly(built: Built, name: str) -> None:
    source, change, code, fragment = BAD_INPUTS[name]
    runner = CliRunner()
    with case_of(built, source) as folder:
        file = folder / MAIN[source]
        file.write_bytes(change(file.read_bytes()))
        done = verify(runner, folder)
        check_cli(done, {code}, name)
        assert fragment in done.output
        assert all(line.isprintable() for line in done.output.splitlines()), done.output
        with pytest.raises(SimulationError):
            load_results([folder])
        check_report(folder, source, code, name)


def test_a_run_log_line_that_cannot_be_read_is_run_again(tmp_path: Path) -> None:
    """``--resume`` skips a line of the run log it cannot read, as it skips one a kill cut
    short: that run is simply made again."""
    from shocktwin.twin.resilience.mtd import RunStore

    log = tmp_path / "runs.jsonl"
    log.write_bytes(b'{"key": "a", "kpis": {}}\n{"key": "b", "events": ' + _GIANT
                    + b'}\n{"key": ["c"]}\n' + b"[" * 100_000 + b"\n{\"key\": \"d\"")
    store = RunStore(log, resume=True)
    assert store.loaded == 1 and store.get("a") == {"key": "a", "kpis": {}}


# --------------------------------------------------------------------------- the property


#: A case that runs longer than this has hung (the watchdog interrupts it).
HANG_S = 20.0


class Hung(Exception):
    """A case ran past HANG_S."""


@contextmanager
def time_bound() -> Iterator[None]:
    """Interrupt a case that hangs (or grows without end) instead of waiting for it."""

    def interrupt(signum: int, frame: object) -> None:
        raise Hung(f"the case still runs after {HANG_S} s")

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, HANG_S)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def check_case(built: Built, runner: CliRunner, drawn: tuple[str, Mutation]) -> None:
    source, mutation = drawn
    with case_of(built, source) as folder, time_bound():
        case = mutation(folder, built)
        done = verify(runner, folder)
        event(f"{source}: {case.expect}, exit {done.exit_code}")
        check_cli(done, ALLOWED[case.expect], case.what)
        if case.changed_after_rechain:
            chain = built.docs[source]["chain_hash"]
            kept = verify(runner, folder, "--chain-hash", chain)
            check_cli(kept, {1, 2}, "kept chain hash: " + case.what)
        check_report(folder, source, done.exit_code, case.what)


@tier(200)
@given(drawn=st.data())
def test_verify_and_report_survive_damaged_results(built: Built, drawn: st.DataObject) -> None:
    check_case(built, CliRunner(), drawn.draw(mutations(built)))


@pytest.mark.slow
@tier(10_000)
@given(drawn=st.data())
def test_ten_thousand_damaged_results(built: Built, drawn: st.DataObject) -> None:
    check_case(built, CliRunner(), drawn.draw(mutations(built)))
