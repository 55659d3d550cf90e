"""The rule sandbox under attack: hostile trigger conditions and hostile YAML are refused
when a rule set is validated, quickly, with a message that names the file and the place.

Each expression of the corpus is refused by ``compile_expression`` / ``check_expression``,
and again when it is a trigger's ``when`` in a rule file read by ``load_rules``. YAML-level
attacks (Python object tags, alias bombs, recursive anchors, deep nesting) are refused by
the scenario and the rule loaders before anything is built from them. Runs of an absurd
size are refused before they start.
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import BASE_PLANT, ROOT, deep_update
from typer.testing import CliRunner

from shocktwin import cli
from shocktwin.errors import RuleError, ShocktwinError
from shocktwin.rules_engine.expression import MAX_TEXT_CHARS, check_expression, compile_expression
from shocktwin.rules_engine.ruleset import STATISTICS, load_rules
from shocktwin.scenarios import load_scenario

#: Longest an expression or a YAML file may take to be refused, in CPU seconds.
QUICK_S = 2.0

WHERE = "triggers[0].when"

# (id, expression): every one must be refused at validation.
HOSTILE: list[tuple[str, str]] = [
    # imports and the builtins
    ("dunder-import", "__import__('os').system('id')"),
    ("import-statement", "import os"),
    ("builtins", "__builtins__"),
    ("builtins-walk", "supplier.cpk < 1 and __builtins__['eval']('1')"),
    ("eval", "eval('1')"),
    ("exec", "exec('import os')"),
    ("compile", "compile('1', '', 'eval')"),
    ("open", "open('/etc/passwd')"),
    ("globals", "globals()"),
    ("vars", "vars()"),
    ("breakpoint", "breakpoint()"),
    ("getattr", "getattr(supplier, 'cpk') < 1"),
    ("type", "type(1)"),
    ("print", "print(1)"),
    ("undeclared-call", "foo(1)"),
    ("undeclared-name", "supplier.cpk < 1 or os.system"),
    ("call-of-a-name", "supplier.cpk(1) < 1"),
    # dunder walks and attribute access
    ("tuple-mro-walk", "().__class__.__mro__[1].__subclasses__()"),
    ("tuple-bases", "().__class__.__bases__[0]"),
    ("dict-class", "{}.__class__"),
    ("list-base", "[].__class__.__base__"),
    ("str-mro", "''.__class__.__mro__"),
    ("name-class", "supplier.cpk.__class__"),
    ("name-dict", "supplier.__dict__"),
    ("function-globals", "supplier.cpk.__class__.__init__.__globals__"),
    ("function-self", "abs.__self__"),
    ("dunder-call", "max.__call__(1, 2) > 1"),
    ("getattribute", "kpi.otd.__getattribute__('x')"),
    ("debug-flag", "supplier.cpk < 1 and __debug__"),
    ("attribute-of-literal", "1 .real > 0"),
    ("attribute-of-name", "supplier.cpk.real < 1"),
    ("method-call", "supplier.cpk.conjugate() < 1"),
    # subscripts, functions, comprehensions, assignment
    ("subscript-name", "supplier['cpk'] < 1"),
    ("subscript-dotted", "kpi.otd[0] < 1"),
    ("lambda", "lambda x: x"),
    ("lambda-call", "(lambda: 1)()"),
    ("list-comprehension", "[x for x in (1, 2)]"),
    ("dict-comprehension", "{x: 1 for x in (1,)}"),
    ("generator", "min(s for s in (1, 2)) > 0"),
    ("walrus", "(x := 1)"),
    ("walrus-in-condition", "supplier.cpk < 1 if (x := 1) else True"),
    ("starred-call", "abs(*[1]) > 0"),
    ("keyword-call", "max(supplier.cpk, key=id) > 0"),
    ("dict-unpack", "{**{}}"),
    ("yield", "(yield 1)"),
    ("await", "await x"),
    ("ellipsis", "..."),
    ("two-statements", "supplier.cpk < 1; import os"),
    ("second-line-statement", "supplier.cpk < 1\nimport os"),
    # text tricks
    ("f-string", "f'{supplier.cpk}' == '1'"),
    ("f-string-dunder", "f'{().__class__}'"),
    ("str-format", "'{0.__class__}'.format(1)"),
    ("percent-format", "'%s' % supplier.cpk == ''"),
    ("str-join", "''.join(()) == ''"),
    ("bytes", "b'abc' == b'abc'"),
    # cost
    ("power-tower", "9**9**9 > 1"),
    ("huge-exponent", "2**10000 > 1"),
    ("round-digits", "round(1, 10**9) > 0"),
    ("huge-literal", "supplier.cpk < 1e999"),
    ("list-repetition", "[1] * 10**8 == []"),
    ("tuple-repetition", "(1,) * 10**9 == ()"),
    ("parentheses-10000", "(" * 10_000 + "1" + ")" * 10_000),
    ("parentheses-999", "(" * 999 + "1" + ")" * 999),
    ("unary-chain", "-" * 1500 + "1 < 0"),
    ("not-chain", "not " * 400 + "True"),
    ("one-megabyte", "1+" * 500_000 + "1 > 0"),
    ("one-megabyte-name", "x" * 1_000_000),
    # invisible and look-alike characters
    ("null-byte", "supplier.cpk < 1\x00"),
    ("bidi-override", "supplier.cpk < 1 # \u202e"),
    ("zero-width-space", "supplier\u200b.cpk < 1"),
    ("cyrillic-homoglyph", "\u0455upplier.cpk < 1"),
    ("greek-homoglyph", "supplier.cpk < 1 \u03bfr True"),
]


def _params(items: list[tuple[str, str]]) -> list[Any]:
    return [pytest.param(text, id=name) for name, text in items]


def test_the_corpus_is_large_and_distinct() -> None:
    assert len(HOSTILE) >= 40
    assert len({name for name, _ in HOSTILE}) == len({text for _, text in HOSTILE}) == len(
        HOSTILE)


def timed(action: Callable[[], object]) -> float:
    """CPU seconds ``action`` took (wall time would fail on a busy machine)."""
    started = time.process_time()
    action()
    return time.process_time() - started


@pytest.mark.parametrize("text", _params(HOSTILE))
def test_hostile_expression_is_refused_by_the_compiler(text: str) -> None:
    def refuse() -> None:
        with pytest.raises(RuleError) as info:
            compile_expression(text, STATISTICS, where=WHERE, file="rules.yaml")
        assert info.value.problems
        for p in info.value.problems:
            assert p.message.strip() and p.path == WHERE and p.file == "rules.yaml"

    assert timed(refuse) < QUICK_S
    assert check_expression(text, STATISTICS, where=WHERE)


RULES: dict[str, Any] = {
    "version": 1, "name": "sandbox",
    "plans": [{"material": "part", "station": "iqc",
               "sampling": {"method": "single", "level": "II", "aql": 1.0}}],
    "triggers": [{"id": "t", "material": "part", "when": "lot.rejected_in_last_5 >= 2",
                  "then": [{"type": "tighten", "material": "part"}]}],
}


def rule_file(folder: Path, when: str) -> Path:
    doc = copy.deepcopy(RULES)
    doc["triggers"][0]["when"] = when
    path = folder / "rules.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=False, width=10**9), encoding="utf-8")
    return path


def test_the_base_rule_file_is_valid(tmp_path: Path) -> None:
    load_rules(rule_file(tmp_path, RULES["triggers"][0]["when"]))


@pytest.mark.parametrize("text", _params(HOSTILE))
def test_hostile_expression_is_refused_in_a_rule_file(tmp_path: Path, text: str) -> None:
    path = rule_file(tmp_path, text)

    def refuse() -> None:
        with pytest.raises(RuleError) as info:
            load_rules(path)
        at_when = [p for p in info.value.problems if p.path == WHERE]
        assert at_when, [str(p) for p in info.value.problems]
        for p in at_when:
            assert p.file == str(path) and p.message.strip()
            assert str(p).startswith(f"{path}:") and f": {WHERE}: " in str(p)

    assert timed(refuse) < QUICK_S


# ------------------------------------------------------------- look-alikes, text arithmetic


@pytest.mark.parametrize("text", ["\uff53upplier.cpk < 1", "\U0001d42cupplier.cpk < 1",
                                  "supplier.\uff43pk < 1"], ids=["fullwidth", "math-bold",
                                                                 "fullwidth-part"])
def test_names_that_only_normalise_to_a_statistic_are_refused(text: str) -> None:
    assert check_expression(text, STATISTICS)


@pytest.mark.parametrize("text", ["'a' * 10**9 == ''", "'ab' * 2**40 > 1",
                                  "'%0999999999d' % 1 == ''", "'a' in 'b' * 10**9"],
                         ids=["repeat-1e9", "repeat-2e40", "percent-width", "in-repeat"])
def test_text_arithmetic_is_refused_without_being_computed(text: str) -> None:
    code = ("import resource, sys\n"
            "resource.setrlimit(resource.RLIMIT_AS, (800_000_000, 800_000_000))\n"
            "from shocktwin.rules_engine.expression import check_expression\n"
            "from shocktwin.rules_engine.ruleset import STATISTICS\n"
            f"sys.exit(2 if check_expression({text!r}, STATISTICS) else 0)\n")
    # A child with 800 MB of address space: refusing must not need the string.
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=30, cwd=ROOT, check=False,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 2, done.stderr[-1500:]


# --------------------------------------------------------------------------- YAML attacks


def alias_bomb(levels: int = 9) -> str:
    """"Billion laughs": 9 ** levels strings from a few hundred bytes."""
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def merge_bomb(levels: int = 12) -> str:
    """Merge keys (``<<``) that double the mapping at each level."""
    lines = ["m0: &m0 {a0: 1, b0: 2}"]
    for i in range(1, levels):
        lines.append(f"m{i}: &m{i} {{x{i}: {{<<: *m{i - 1}}}, y{i}: {{<<: *m{i - 1}}}, "
                     f"z{i}: [*m{i - 1}, *m{i - 1}, *m{i - 1}]}}")
    return "\n".join(lines) + "\n"


# (id, text, fragment of the message)
YAML_ATTACKS: list[tuple[str, str, str]] = [
    ("python-object-apply", "version: !!python/object/apply:os.system ['echo owned']\n",
     "could not determine a constructor for the tag"),
    ("python-object", "version: !!python/object:os.Popen {args: ['id']}\n",
     "could not determine a constructor for the tag"),
    ("python-name", "version: !!python/name:os.system\n",
     "could not determine a constructor for the tag"),
    ("python-module", "version: !!python/module:os\n",
     "could not determine a constructor for the tag"),
    ("local-tag", "version: !shocktwin 1\n", "could not determine a constructor for the tag"),
    ("alias-bomb", alias_bomb(), "alias bomb"),
    ("merge-bomb", merge_bomb(), "alias bomb"),
    ("recursive-anchor", "a: &a [1, *a]\n", "a YAML anchor refers to itself"),
    ("recursive-mapping", "a: &a {b: *a}\n", "a YAML anchor refers to itself"),
    ("recursive-merge", "a: &a {<<: *a}\n", "a YAML anchor refers to itself"),
    ("deep-lists", "a: " + "[" * 5000 + "]" * 5000 + "\n", "nested"),
    ("deep-mappings", "a: " + "{b: " * 2000 + "1" + "}" * 2000 + "\n", "nested"),
    ("undefined-alias", "a: *nowhere\n", "not valid YAML"),
    ("nul-byte", "version: 1\x00\n", "not a text file"),
]


def _yaml_params() -> list[Any]:
    return [pytest.param(text, fragment, id=name,
                         marks=[])
            for name, text, fragment in YAML_ATTACKS]


@pytest.mark.parametrize("loader", [load_scenario, load_rules], ids=["scenario", "rules"])
@pytest.mark.parametrize(("text", "fragment"), _yaml_params())
def test_hostile_yaml_is_refused_quickly(tmp_path: Path, loader: Callable[[Path], object],
                                         text: str, fragment: str) -> None:
    path = tmp_path / "file.yaml"
    path.write_text(text)

    def refuse() -> None:
        with pytest.raises(ShocktwinError) as info:
            loader(path)
        messages = [str(p) for p in info.value.problems]
        assert any(fragment in m for m in messages), messages
        assert all(p.file == str(path) and p.message for p in info.value.problems)

    assert timed(refuse) < QUICK_S


def test_a_scenario_with_a_tagged_value_deep_inside_is_refused(tmp_path: Path) -> None:
    doc = yaml.safe_dump(BASE_PLANT).replace("material: part",
                                             "material: !!python/object/apply:os.getcwd []", 1)
    path = tmp_path / "scenario.yaml"
    path.write_text(doc)
    with pytest.raises(ShocktwinError, match="could not determine a constructor"):
        load_scenario(path)


def test_a_huge_rule_file_is_refused_before_it_is_parsed(tmp_path: Path) -> None:
    path = rule_file(tmp_path, "supplier.cpk < 1")
    with path.open("a") as fh:
        fh.write("# " + "x" * (5 * 1024 * 1024) + "\n")
    started = time.process_time()
    with pytest.raises(RuleError, match="the limit is"):
        load_rules(path)
    assert time.process_time() - started < QUICK_S


def test_expression_length_limit_is_what_the_messages_say() -> None:
    problems = check_expression("x" * (MAX_TEXT_CHARS + 1), STATISTICS)
    assert f"limit is {MAX_TEXT_CHARS:,}" in problems[0].message


# --------------------------------------------------------------------------- resource bounds


@pytest.mark.parametrize(("changes", "fragments"), [
    ({"horizon": "100000000d"}, ["KPI buckets per replication", "GiB"]),
    ({"horizon": "100000d", "experiment": {"bucket": "1min"}}, ["use a wider bucket"]),
    ({"horizon": "3650d", "experiment": {"replications": 100_000}}, ["CPU-days"]),
], ids=["horizon", "bucket", "replications"])
def test_run_refuses_an_absurd_size_up_front(tmp_path: Path, changes: dict[str, Any],
                                             fragments: list[str]) -> None:
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(deep_update(BASE_PLANT, changes)))
    out = tmp_path / "out"
    started = time.process_time()
    result = CliRunner().invoke(cli.app, ["run", str(path), "--out", str(out)])
    assert time.process_time() - started < 5 * QUICK_S
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in result.stderr
    assert not out.exists()


def test_run_refuses_an_absurd_replication_count_given_on_the_command_line(
        tmp_path: Path) -> None:
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(deep_update(BASE_PLANT, {"horizon": "3650d"})))
    result = CliRunner().invoke(cli.app, ["run", str(path), "-n", "10000000"])
    assert result.exit_code == 2 and "CPU-days" in result.stderr


def test_validate_refuses_more_replications_than_the_format_allows(tmp_path: Path) -> None:
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(deep_update(BASE_PLANT, {
        "experiment": {"replications": 100_001}})))
    result = CliRunner().invoke(cli.app, ["validate", str(path)])
    assert result.exit_code == 2
    assert "experiment.replications: Input should be less than or equal to 100000" in (
        result.stderr)
