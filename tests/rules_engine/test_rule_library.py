"""Rule libraries: rules bound to contexts with a fallback, drafted from a failure table.

The bundled EDA case (scenarios/reference/failures/eda_dfm.csv) must give 327 constraint
rules by a real run of the drafting code; the count is recomputed here from the CSV with the
csv module alone, and the bundled library file must be exactly what ``rules derive`` writes.
"""

from __future__ import annotations

import csv
import hashlib
import itertools
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shocktwin.cli.rules import EXIT_CLEAN, EXIT_INVALID, rules_app
from shocktwin.errors import RuleError
from shocktwin.rules_engine.failures import (
    draft_library,
    draft_library_rules,
    draft_plan,
    dump_rules,
    load_failures,
    parse_context_overrides,
)
from shocktwin.rules_engine.ruleset import (
    Fallback,
    FallbackMode,
    Library,
    LibraryRule,
    RuleKind,
    diff_rules,
    load_rules,
    parse_rules,
    rules_json_schema,
)

REPO = Path(__file__).resolve().parents[2]
REFERENCE = REPO / "scenarios" / "reference"
EDA_TABLE = REFERENCE / "failures" / "eda_dfm.csv"
EDA_LIBRARY = REFERENCE / "rules" / "eda_dfm_library.yaml"
BAD = Path(__file__).parent / "bad_library"

#: content_hash of the bundled rule sets as they were before rule sets had libraries.
HASHES_BEFORE_LIBRARIES = {
    "column_incoming.yaml": "133eb86792adafa79bd3b7a49022fbf8e2b800fc60ba30a5bcb82511b03e0993",
    "photoresist.yaml": "eeef8cba07e2568fdb2505660e3e4fd204e7c5eb7a8f4d1f391b838615e3a846",
    "spool_incoming.yaml": "b5dc1f5b652e4d796f9ea3d57c6fc849e3c75ab48e8e028eea7b0e8ddf64f29b",
    "valve_incoming.yaml": "7979358730bbd0e032c7e7ada000e75e6d12b14eb700e874e9fe7f6a1609eddd",
    "valve_incoming_weakened.yaml":
        "141c3e60daa416c3c332f33e27f011ce2008d6637d0e68cac08809d6fe11ff9a",
    "valve_regulation_2027.yaml":
        "fb43f69382c1d9e5fc032997ec0b7107f1dc6f18566170e88cfcbdcd409c70e4",
}
#: sha256 of the YAML that draft_plan + dump_rules wrote for the bundled tables before.
DRAFTS_BEFORE_LIBRARIES = {
    "column_backup.csv": "afbfe33dcdc28b65cef50954d614b86c250a369204a3aac7f21d88c52aefd0ce",
    "valve_kr.csv": "fe494eee8cf1927f2aa7d74c3ad9290d59789dcd06394aa7c68c35cc66f450c0",
}


def derive(runner: CliRunner, out: Path, *args: str) -> str:
    result = runner.invoke(rules_app, ["derive", "--failures", str(EDA_TABLE), "--library",
                                       "--out", str(out), *args])
    assert result.exit_code == EXIT_CLEAN, result.output
    return result.output


# --------------------------------------------------------------------------- the 327 rules


def independent_combinations(path: Path) -> tuple[set[tuple[str, frozenset[tuple[str, str]]]],
                                                    int, list[dict[str, str]]]:
    """(failure mode, context) pairs of a table read with the csv module alone: each row's
    ``key=a|b;key2=c`` expanded by hand; also the number of pairs before de-duplication."""
    lines = [line for line in path.read_text(encoding="utf-8").splitlines()
             if not line.startswith("#")]
    rows = list(csv.DictReader(lines))
    pairs: set[tuple[str, frozenset[tuple[str, str]]]] = set()
    total = 0
    for row in rows:
        keys, choices = [], []
        for part in row["context"].split(";"):
            key, values = part.split("=")
            keys.append(key)
            choices.append(values.split("|"))
        for combo in itertools.product(*choices):
            total += 1
            pairs.add((" ".join(row["failure_mode"].lower().split()),
                       frozenset(zip(keys, combo, strict=True))))
    return pairs, total, rows


def test_the_eda_table_gives_327_constraint_rules_counted_independently() -> None:
    pairs, total, raw = independent_combinations(EDA_TABLE)
    assert len(pairs) == 327
    assert {r["kind"] for r in raw} == {"constraint"}
    assert all("toolchain=eda-a" in r["context"] for r in raw)

    library, counts = draft_library(load_failures(EDA_TABLE))
    assert counts.rows == len(raw)
    assert counts.candidates == total
    assert counts.rules == len(library.rules) == 327
    assert counts.merged == total - 327 > 0  # the table repeats some 8D records
    assert dict(counts.by_kind) == {RuleKind.CONSTRAINT: 327}
    assert dict(counts.by_context["toolchain"]) == {"eda-a": 327}
    assert sum(counts.by_context["board"].values()) == 327
    drafted = {(" ".join((r.failure_mode or "").lower().split()), frozenset(r.context.items()))
               for r in library.rules}
    assert drafted == pairs
    assert library.fallback == Fallback(mode=FallbackMode.HOLD_RELEASE)


def test_merged_duplicates_keep_the_highest_severity() -> None:
    _, _, raw = independent_combinations(EDA_TABLE)
    by_mode: dict[str, list[dict[str, str]]] = {}
    for row in raw:
        by_mode.setdefault(row["failure_mode"], []).append(row)
    repeated = {mode: rows for mode, rows in by_mode.items() if len(rows) > 1}
    assert repeated
    library, _ = draft_library(load_failures(EDA_TABLE))
    for mode, rows in repeated.items():
        for rule in [r for r in library.rules if r.failure_mode == mode]:
            covering = [int(r["severity"]) for r in rows
                        if f"board={rule.context['board']}" in r["context"]
                        or rule.context["board"] in r["context"].split("board=")[1].split("|")]
            assert rule.severity == max(covering)


def test_regenerating_for_another_tool_chain_rebinds_every_rule() -> None:
    rows = load_failures(EDA_TABLE)
    old, _ = draft_library(rows)
    new, counts = draft_library(rows, contexts={"toolchain": "eda-b"})
    assert counts.rules == 327 and counts.rebound == len(rows)
    assert len(new.bound_to("toolchain", "eda-b")) == 327
    assert new.bound_to("toolchain", "eda-a") == []
    assert new.contexts()["toolchain"] == {"eda-b"}
    assert new.contexts()["board"] == old.contexts()["board"]
    # Same checks, re-bound: only the tool chain differs.
    assert [(r.failure_mode, r.check, {**r.context, "toolchain": "eda-a"}) for r in new.rules] \
        == [(r.failure_mode, r.check, r.context) for r in old.rules]
    assert all(r.id.replace(".eda-b.", ".eda-a.") == o.id
               for r, o in zip(new.rules, old.rules, strict=True))


def test_rule_ids_are_readable_unique_and_stable() -> None:
    rows = load_failures(EDA_TABLE)
    first, _ = draft_library(rows)
    again, _ = draft_library(rows)
    assert first == again
    ids = [r.id for r in first.rules]
    assert len(set(ids)) == len(ids)
    for rule in first.rules:
        assert rule.id.endswith(f".{rule.context['toolchain']}.{rule.context['board']}")
        assert re.fullmatch(r"[a-z0-9_]+", rule.id.split(".")[0])


def test_the_bundled_library_is_what_derive_writes(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "eda_dfm_library.yaml"
    output = derive(runner, out, "--context", "toolchain=eda-a")
    assert out.read_bytes() == EDA_LIBRARY.read_bytes()
    assert "drafted 327 rules (327 constraint)" in output
    assert "4 duplicates merged" in output
    assert re.search(r"constraint\s*│\s*toolchain=eda-a\s*│\s*327", output)

    bundled = load_rules(EDA_LIBRARY)
    assert bundled.plans == [] and bundled.library is not None
    assert bundled.library.fallback == Fallback(mode=FallbackMode.HOLD_RELEASE)
    assert len(bundled.library.bound_to("toolchain", "eda-a")) == 327
    assert {r.kind for r in bundled.library.rules} == {RuleKind.CONSTRAINT}
    assert bundled.library.contexts() == {"toolchain": {"eda-a"},
                                          "board": {"rigid", "hdi", "rigid-flex", "flex"}}


def test_derive_for_the_new_tool_chain_and_a_deviation_fallback(
        runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "eda_b.yaml"
    output = derive(runner, out, "--context", "toolchain=eda-b", "--fallback", "deviation",
                    "--pool", "approvers", "--approval-time", "90min")
    assert "drafted 327 rules" in output and "re-bound to toolchain=eda-b" in output
    ruleset = load_rules(out)
    assert ruleset.library is not None
    assert len(ruleset.library.bound_to("toolchain", "eda-b")) == 327
    assert ruleset.library.fallback == Fallback(mode=FallbackMode.DEVIATION, pool="approvers",
                                                approval_time="1.5h")
    changes = diff_rules(load_rules(EDA_LIBRARY), ruleset)
    assert changes[0] == "description changed"  # it names the context and the fallback
    assert changes[1] == ("library fallback hold_release → deviation approved by approvers in "
                          "1.5h per unit")
    assert changes[2].startswith("library rules removed: 327 constraint rules bound to "
                                 "toolchain=eda-a (327), board=rigid (104)")
    assert changes[3].startswith("library rules added: 327 constraint rules bound to "
                                 "toolchain=eda-b (327)")
    assert len(changes) == 4


# --------------------------------------------------------------------------- format


def test_rule_sets_without_a_library_keep_their_hash() -> None:
    for name, expected in HASHES_BEFORE_LIBRARIES.items():
        ruleset = load_rules(REFERENCE / "rules" / name)
        assert ruleset.library is None
        assert '"library"' not in ruleset.canonical_json()
        assert ruleset.content_hash() == expected, name


def test_plans_drafted_from_the_bundled_tables_are_unchanged() -> None:
    for name, expected in DRAFTS_BEFORE_LIBRARIES.items():
        path = REFERENCE / "failures" / name
        text = dump_rules(draft_plan(load_failures(path), name=path.stem, source=path.name))
        assert hashlib.sha256(text.encode()).hexdigest() == expected, name


def test_a_library_round_trips_through_yaml_and_json(tmp_path: Path) -> None:
    library = Library(
        fallback=Fallback(mode=FallbackMode.DEVIATION, pool="mrb", approval_time="2h"),
        rules=[
            LibraryRule(id="leak.kr", kind=RuleKind.CHARACTERISTIC_LIMIT, material="valve",
                        context={"supplier.valve": "kr-backup"}, check="leak ≤ 0.5 mL/min",
                        severity=9),
            LibraryRule(id="cert", kind=RuleKind.RELEASE_CHECK,
                        context={"regulation": "eu-2027", "toolchain": "eda-a"}),
        ])
    ruleset = parse_rules({"version": 1, "name": "lib", "plans": [],
                           "library": library.model_dump(mode="json")})
    path = tmp_path / "lib.yaml"
    path.write_text(dump_rules(ruleset))
    again = load_rules(path)
    assert again == ruleset and again.content_hash() == ruleset.content_hash()
    dumped = again.model_dump(mode="json")["library"]["rules"][1]
    assert "material" not in dumped and "check" not in dumped
    assert again.library is not None
    assert [r.id for r in again.library.bound_to("toolchain", "eda-a")] == ["cert"]
    assert again.library.contexts() == {"supplier.valve": {"kr-backup"},
                                        "regulation": {"eu-2027"}, "toolchain": {"eda-a"}}
    assert diff_rules(ruleset, again) == []


def test_the_schema_describes_libraries() -> None:
    schema = rules_json_schema()
    assert "library" in schema["properties"] and "library" not in schema["required"]
    rule = schema["$defs"]["LibraryRule"]
    assert set(rule["required"]) == {"id", "kind", "context"}
    assert schema["$defs"]["RuleKind"]["enum"] == [k.value for k in RuleKind]
    assert schema["$defs"]["FallbackMode"]["enum"] == [m.value for m in FallbackMode]


# --------------------------------------------------------------------------- bad input


def expectations(path: Path) -> list[str]:
    found = re.findall(r"^# expect: (.+)$", path.read_text(), flags=re.M)
    assert found, f"{path.name} has no '# expect:' line"
    return found


@pytest.mark.parametrize("path", sorted(BAD.glob("*.yaml")), ids=lambda p: p.name)
def test_bad_library_is_refused_with_every_problem(path: Path, runner: CliRunner) -> None:
    result = runner.invoke(rules_app, ["lint", str(path)])
    assert result.exit_code == EXIT_INVALID, result.output
    assert "Traceback" not in result.output and result.stdout == ""
    expected = expectations(path)
    for fragment in expected:
        assert fragment in result.output, f"missing {fragment!r} in:\n{result.output}"
    lines = result.output.splitlines()
    assert len(lines) == len(expected), result.output
    assert all(line.startswith(f"error: {path}:") for line in lines)


def test_a_bad_library_table_is_refused_with_every_row(runner: CliRunner,
                                                      tmp_path: Path) -> None:
    table = BAD / "bad_table.csv"
    out = tmp_path / "out.yaml"
    result = runner.invoke(rules_app, ["derive", "--failures", str(table), "--library",
                                       "--out", str(out)])
    assert result.exit_code == EXIT_INVALID, result.output
    assert "Traceback" not in result.output and not out.exists()
    assert result.output.splitlines() == [
        f"error: {table}:3: kind: unknown rule kind 'constriant'; did you mean 'constraint'? "
        "(known: characteristic_limit, constraint, inspection_plan, release_check)",
        f"error: {table}:4: context: 'toolchain' is not key=value: write key=value pairs "
        "separated by ';' and alternatives by '|' (e.g. toolchain=eda-a;board=rigid|hdi)",
        f"error: {table}:5: context: values of context board must be identifiers (a letter "
        "first, then letters, digits, '_', '-', '.'), got ''",
        f"error: {table}:5: failure_mode: required for a constraint row: one rule is "
        "drafted per failure mode and context",
        f"error: {table}:6: context: context toolchain is given twice; list its values as "
        "alternatives (a|b)",
    ]


@pytest.mark.parametrize(("args", "fragments"), [
    (["--context", "toolchain=eda-b"], ["--context: needs --library"]),
    (["--library", "--material", "pcb"], ["--material: drafts inspection plans"]),
    (["--library", "--context", "toolchain", "--context", "tool chain=x",
      "--fallback", "deviation"],
     ["context: 'toolchain' is not key=value", "context: context 'tool chain' must be a name",
      "fallback.pool: a deviation fallback needs pool",
      "fallback.approval_time: a deviation fallback needs approval_time"]),
    (["--library", "--fallback", "hold_relase"],
     ["fallback.mode: unknown fallback mode 'hold_relase'; did you mean 'hold_release'?"]),
    (["--library", "--fallback", "hold_release", "--pool", "mrb"],
     ["fallback.pool: only a deviation fallback takes pool"]),
], ids=["context-without-library", "material-with-library", "everything", "mode", "pool"])
def test_bad_derive_options_exit_2(runner: CliRunner, tmp_path: Path, args: list[str],
                                   fragments: list[str]) -> None:
    out = tmp_path / "out.yaml"
    result = runner.invoke(rules_app, ["derive", "--failures", str(EDA_TABLE), "--out",
                                       str(out), *args])
    assert result.exit_code == EXIT_INVALID, result.output
    assert "Traceback" not in result.output and not out.exists()
    for fragment in fragments:
        assert fragment in result.output, result.output


def test_library_rows_are_not_inspection_plans() -> None:
    with pytest.raises(RuleError, match="no inspection-plan rows"):
        draft_plan(load_failures(EDA_TABLE))


def test_rows_without_a_context_need_one_given(tmp_path: Path) -> None:
    table = tmp_path / "t.csv"
    table.write_text("failure_mode,severity,occurrence,detection,kind,check\n"
                     "certificate missing,6,3,3,release_check,certificate present\n")
    rows = load_failures(table)
    with pytest.raises(RuleError) as caught:
        draft_library(rows)
    assert caught.value.problems[0].path == "[0].context"
    library, counts = draft_library(rows, contexts=parse_context_overrides(
        ["regulation=eu-2027"]))
    assert [r.id for r in library.rules] == ["certificate-missing.eu-2027"]
    assert counts.rebound == 0  # bound, not re-bound: the row had no context
    ruleset, _ = draft_library_rules(rows, name="release", contexts={"regulation": "eu-2027"})
    assert ruleset.library is not None and ruleset.library.rules[0].kind is RuleKind.RELEASE_CHECK


def test_rules_show_summarises_a_library_without_plans() -> None:
    """A rule set that is a library alone shows its rules by kind and its fallback, counted
    here from the file itself."""
    bundled = load_rules(EDA_LIBRARY)
    assert bundled.library is not None and not bundled.plans
    kinds: dict[str, int] = {}
    for rule in bundled.library.rules:
        kinds[str(rule.kind)] = kinds.get(str(rule.kind), 0) + 1
    result = CliRunner().invoke(rules_app, ["show", str(EDA_LIBRARY)])
    assert result.exit_code == EXIT_CLEAN, result.output
    expected = ", ".join(f"{k} {n}" for k, n in sorted(kinds.items()))
    assert (f"library: {len(bundled.library.rules)} rules ({expected}), fallback hold_release"
            in result.output)
    as_json = CliRunner().invoke(rules_app, ["show", str(EDA_LIBRARY), "--json"])
    assert as_json.exit_code == EXIT_CLEAN, as_json.output
