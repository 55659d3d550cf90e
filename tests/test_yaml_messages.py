"""YAML syntax errors read ``file:line:column: not valid YAML: reason``, in our words: the
line and column of the character at fault, never the library's ``in "<unicode string>"``."""

from __future__ import annotations

from pathlib import Path

import pytest

from shocktwin import cli
from shocktwin.errors import RuleError, ScenarioError
from shocktwin.rules_engine.ruleset import load_rules
from shocktwin.source import read_yaml

# (text, line, column) of the character the reader stops at, counted by hand from 1.
CASES = [
    ("version: 1\nname: [unclosed\nhorizon: 10d\n", 3, 8),  # the ':' a flow list cannot hold
    ('version: 1\nname: "a\x01b"\n', 2, 9),  # a control character
    ('version: 1\nname: "é\x01b"\n', 2, 9),  # the same after a two-byte character
    ("a: 1\n  b: 2\n", 2, 4),  # a mapping inside a plain scalar
    ("a: *nowhere\n", 1, 4),  # an alias to nothing
    ('a: "\\xZZ"\n', 1, 7),  # a broken escape
    ("a: !!python/object:os.system x\n", 1, 4),  # a tag the safe loader refuses
    ("a: [1, 2\n", 2, 1),  # the end of the file inside a list
]


@pytest.mark.parametrize(("text", "line", "column"), CASES,
                         ids=[repr(text)[:24] for text, _, _ in CASES])
def test_syntax_errors_name_the_line_and_column(tmp_path: Path, text: str, line: int,
                                                column: int) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as e:
        read_yaml(path)
    (problem,) = e.value.problems
    assert (problem.line, problem.column) == (line, column)
    assert str(problem).startswith(f"{path}:{line}:{column}: not valid YAML: ")
    assert "<unicode string>" not in str(problem)
    assert "position" not in problem.message


def test_rule_files_and_the_cli_say_it_the_same_way(tmp_path: Path, runner) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "rules.yaml"
    path.write_text('version: 1\nname: "r\x07"\n', encoding="utf-8")
    with pytest.raises(RuleError) as e:
        load_rules(path)
    assert str(e.value.problems[0]).startswith(f"{path}:2:9: not valid YAML: ")
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text('version: 1\nname: "s\x07"\n', encoding="utf-8")
    result = runner.invoke(cli.app, ["validate", str(scenario)])
    assert result.exit_code == 2
    assert f"{scenario}:2:9: not valid YAML: unacceptable character #x0007" in result.output
    assert "<unicode string>" not in result.output
