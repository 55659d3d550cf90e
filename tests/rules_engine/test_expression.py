"""Tests of the trigger-expression language: results, problems reported, and hostile input."""

from __future__ import annotations

import ast
import builtins
import math
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shocktwin.errors import Problem, RuleError
from shocktwin.rules_engine.expression import (
    MAX_DEPTH,
    MAX_NODES,
    MAX_TEXT_CHARS,
    CompiledExpression,
    EvaluationError,
    ValueKind,
    check_expression,
    compile_expression,
)

NAMES = frozenset(
    {
        "supplier.cpk",
        "supplier.otd",
        "supplier.state",
        "supplier.blocked",
        "line.oee",
        "lot.size",
        "kpi.escaped_ppm",
    }
)
TRIGGER = "supplier.cpk < 1.33 and supplier.otd < 0.92"


def value_of(text: str, values: dict[str, Any] | None = None) -> object:
    return compile_expression(text, NAMES, expect=ValueKind.ANY).evaluate(values or {})


def problems_of(text: str, **kwargs: Any) -> list[str]:
    with pytest.raises(RuleError) as caught:
        compile_expression(text, NAMES, **kwargs)
    return [problem.message for problem in caught.value.problems]


# --- results ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("2 * 3 ** 2", 18),
        ("2 ** 3 ** 2", 512),  # ** is right-associative
        ("-2 ** 2", -4),  # ** binds tighter than unary minus
        ("(-2) ** 2", 4),
        ("2 ** -1", 0.5),
        ("10 - 4 - 3", 3),  # left-associative
        ("7 // 2", 3),
        ("-7 // 2", -4),
        ("7 % 3", 1),
        ("7 / 2", 3.5),
        ("1 + 2 * 3 - 4 / 2", 5.0),
        ("+3 - -3", 6),
        ("not false", True),
        ("not 1 < 2", False),  # comparison binds tighter than not
        ("true or false and false", True),  # and binds tighter than or
        ("(true or false) and false", False),
        ("True == true", True),
        ("1 if 2 > 1 else 2", 1),
        ("1 if 2 < 1 else 2 if false else 3", 3),
        ("1 + 2 < 4 == 4", True),  # a chain: (3 < 4) and (4 == 4), not (3 < 4) == 4
    ],
)
def test_arithmetic_and_logic_follow_python_precedence(text: str, expected: object) -> None:
    result = value_of(text)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    ("oee", "expected"),
    [(0.95, True), (1.0, True), (0.9, False), (1.01, False), (0.5, False)],
)
def test_chained_comparison_is_a_range_check(oee: float, expected: bool) -> None:
    assert value_of("0.9 < line.oee <= 1", {"line.oee": oee}) is expected


def test_chained_comparison_stops_at_the_first_false_link() -> None:
    assert value_of("2 < 1 < 1 / 0") is False
    assert value_of("1 < lot.size < 10 < 100", {"lot.size": 5}) is True
    assert value_of("1 < lot.size < 10 < 100", {"lot.size": 50}) is False


@pytest.mark.parametrize(
    "text",
    [
        "false and 1 / 0 > 0",
        "true or 1 / 0 > 0",
        "not (true or lot.size / 0 > 1)",
        "1 if true else 1 / 0",
        "1 / 0 if false else 2",
        "false and supplier.cpk > 1",  # a missing value is not read either
    ],
)
def test_and_or_and_if_short_circuit(text: str) -> None:
    value_of(text)


def test_short_circuit_still_fails_where_the_division_is_reached() -> None:
    with pytest.raises(EvaluationError, match="division by zero in '1 / 0'"):
        value_of("true and 1 / 0 > 0")


@pytest.mark.parametrize(
    ("text", "state", "expected"),
    [
        ('supplier.state in ("approved", "conditional")', "approved", True),
        ('supplier.state in ["approved", "conditional"]', "blocked", False),
        ('supplier.state not in ("blocked",)', "approved", True),
        ('supplier.state not in ("blocked",)', "blocked", False),
        ('supplier.state == "approved"', "approved", True),
        ('supplier.state != "approved"', "approved", False),
    ],
)
def test_text_states_compare_and_belong(text: str, state: str, expected: bool) -> None:
    assert value_of(text, {"supplier.state": state}) is expected


def test_membership_of_numbers_including_negative_literals() -> None:
    assert value_of("lot.size in (-1, 0, 125)", {"lot.size": 125}) is True
    assert value_of("lot.size in (-1, 0, 125)", {"lot.size": -1}) is True
    assert value_of("lot.size in ()", {"lot.size": 1}) is False


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("min(3, 1, 2)", 1),
        ("max(3, 1, 2)", 3),
        ("min(2.5, 4)", 2.5),
        ("abs(-4.5)", 4.5),
        ("round(2.567, 2)", 2.57),
        ("round(2.5)", 2),  # banker's rounding, as Python's round
        ("round(1234, -2)", 1200),
        ("clamp(5, 0, 1)", 1),
        ("clamp(-5, 0, 1)", 0),
        ("clamp(0.5, 0, 1)", 0.5),
        ("max(min(7, 10), 3) + abs(-1)", 8),
    ],
)
def test_functions(text: str, expected: float) -> None:
    assert value_of(text) == expected


@pytest.mark.parametrize(
    ("cpk", "otd", "fires"),
    [
        (1.20, 0.90, True),
        (1.33, 0.90, False),  # Cpk exactly at the limit is capable
        (1.20, 0.92, False),
        (1.67, 0.99, False),
        (float("nan"), 0.90, False),  # an undefined Cpk does not fire the trigger
    ],
)
def test_example_trigger(cpk: float, otd: float, fires: bool) -> None:
    trigger = compile_expression(TRIGGER, NAMES)
    assert trigger.evaluate({"supplier.cpk": cpk, "supplier.otd": otd}) is fires


def test_compiled_expression_describes_itself() -> None:
    trigger = compile_expression(TRIGGER, NAMES, where="rules[0].when")
    assert trigger.text == TRIGGER
    assert trigger.names == {"supplier.cpk", "supplier.otd"}
    assert trigger.kind is ValueKind.BOOLEAN
    assert trigger.where == "rules[0].when"
    assert isinstance(trigger, CompiledExpression)


def test_names_lists_every_name_read_even_in_branches_not_taken() -> None:
    compiled = compile_expression("false and line.oee > 0 or lot.size > 1", NAMES)
    assert compiled.names == {"line.oee", "lot.size"}


def test_a_declared_boolean_name_is_a_condition() -> None:
    compiled = compile_expression("supplier.blocked or not supplier.blocked", NAMES)
    assert compiled.evaluate({"supplier.blocked": True}) is True


def test_constant_parts_are_computed_once_at_compile_time() -> None:
    compiled = compile_expression("lot.size > 2 ** 10 * 1.5", NAMES)
    assert compiled.evaluate({"lot.size": 1537}) is True
    assert compiled.evaluate({"lot.size": 1536}) is False


def test_names_that_only_normalise_to_a_declared_name_are_refused() -> None:
    # Python folds identifiers to NFKC: a full-width letter would read the ASCII name it only
    # resembles. The message shows both spellings; text in quotes may use any letters.
    with pytest.raises(RuleError) as caught:
        compile_expression("ｓupplier.cpk < 1", NAMES)
    (problem,) = caught.value.problems
    assert "'ｓupplier.cpk'" in problem.message and "'supplier.cpk'" in problem.message
    assert "ASCII" in problem.message
    assert compile_expression("supplier.state == 'geprüft'", NAMES).names == {"supplier.state"}


def test_blank_space_around_the_text_and_comments_are_allowed() -> None:
    compiled = compile_expression("  lot.size > 1  # large lots\n", NAMES)
    assert compiled.evaluate({"lot.size": 2}) is True


def test_expect_number_and_any() -> None:
    number = compile_expression("supplier.cpk * 2", NAMES, expect=ValueKind.NUMBER)
    assert number.kind is ValueKind.NUMBER
    assert number.evaluate({"supplier.cpk": 1.5}) == 3.0
    assert compile_expression('"x"', NAMES, expect=ValueKind.ANY).kind is ValueKind.TEXT


# --- problems at compile time ----------------------------------------------------------------


def test_a_trigger_must_be_a_condition() -> None:
    (message,) = problems_of("supplier.cpk + 1")
    assert "must be a condition" in message and "it is a number" in message


def test_every_problem_is_reported_with_its_column() -> None:
    messages = problems_of("cpk < 1.33 and supplier.otdd < 0.92 or (lambda: 1)")
    assert messages == [
        "column 1: unknown name 'cpk'; did you mean 'supplier.cpk'?",
        "column 16: unknown name 'supplier.otdd'; did you mean 'supplier.otd'?",
        "column 41: lambda functions are not allowed",
    ]


def test_a_short_name_suggests_every_declared_name_it_ends() -> None:
    with pytest.raises(RuleError) as caught:
        compile_expression("cpk < 1", {"supplier.cpk", "line.cpk", "lot.size"})
    (problem,) = caught.value.problems
    assert problem.message.endswith("did you mean 'line.cpk' or 'supplier.cpk'?")


def test_columns_count_characters_and_lines_in_multi_line_text() -> None:
    (message,) = problems_of('supplier.state == "é" and (\n  x > 1)')
    assert message == "line 2, column 3: unknown name 'x'"


def test_problems_carry_file_path_and_line() -> None:
    with pytest.raises(RuleError) as caught:
        compile_expression("cpk < 1", NAMES, where="rules[2].when", file="plan.yaml", line=14)
    (problem,) = caught.value.problems
    assert problem == Problem("plan.yaml", "rules[2].when", problem.message, 14)
    assert caught.value.file == "plan.yaml"
    assert str(problem).startswith("plan.yaml:14: rules[2].when: column 1: unknown name 'cpk'")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("supplier.cpk < 1 and 2", "the operand of 'and' must be a condition, but '2' is a number"),
        ("not lot.size + 1", "the operand of 'not' must be a condition"),
        ('lot.size < "10"', "each side of '<' must be a number, but '\"10\"' is text"),
        ('lot.size == 1 == "1"', "'1' is a number and '\"1\"' is text: '==' between them"),
        ("(1 if lot.size > 1 else 'a') > 0", "both branches of 'if ... else' must be of one kind"),
        ("abs(true) > 0", "an argument of abs() must be a number"),
        ("min(1) > 0", "min() takes at least 2 arguments, not 1"),
        ("clamp(1, 2) > 0", "clamp() takes 3 arguments, not 2"),
        ("round(1, 2, 3) > 0", "round() takes 1 or 2 arguments, not 3"),
        ("round(lot.size, 1.5) > 0", "the digits of round() must be a whole number"),
        ("mn(1, 2) > 0", "did you mean 'min'?"),
        ("lot.size in lot.size", "the right side of 'in' must be a list of literals"),
        ("lot.size in (1, line.oee)", "the list after 'in' may only hold literals"),
        ("lot.size in (1, 2) == true", "the list after 'in' must end the comparison"),
        ("lot.size == None", "'None' is not allowed"),
        ("lot.size is 1", "'is' and 'is not' are not allowed"),
        ("lot.size > 1e999", "the number '1e999' is too large"),
        ("(lot.size, 1) == 1", "a list is only allowed on the right of 'in'"),
        ("supplier.cpk.real > 1", "unknown name 'supplier.cpk.real'"),
        ("", "the expression is empty"),
        (" \n ", "the expression is empty"),
    ],
)
def test_type_and_shape_problems(text: str, fragment: str) -> None:
    messages = problems_of(text)
    assert any(fragment in message for message in messages), messages


def test_check_expression_lists_problems_without_raising() -> None:
    assert check_expression(TRIGGER, NAMES) == []
    problems = check_expression("cpk < 1 or otd < 1", NAMES, where="rules[0].when")
    assert [p.message.split(";")[0] for p in problems] == [
        "column 1: unknown name 'cpk'",
        "column 12: unknown name 'otd'",
    ]
    assert {p.path for p in problems} == {"rules[0].when"}


@pytest.mark.parametrize(
    ("names", "error"),
    [
        ("supplier.cpk", TypeError),  # one str is not a collection of names
        ({"supplier.__class__"}, ValueError),
        ({"supplier cpk"}, ValueError),
        ({"lot.class"}, ValueError),  # a keyword cannot be written in an expression
        ({"true"}, ValueError),
        ({1}, ValueError),
    ],
)
def test_declared_names_are_checked(names: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        compile_expression("1 > 0", names)


def test_text_must_be_a_str() -> None:
    with pytest.raises(TypeError):
        compile_expression(b"1 > 0", NAMES)  # type: ignore[arg-type]


# --- problems at evaluation time -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "values", "fragment"),
    [
        (TRIGGER, {"supplier.cpk": 1.0}, "no value for 'supplier.otd'"),
        ("lot.size / line.oee > 1", {"lot.size": 1, "line.oee": 0}, "division by zero in"),
        ("lot.size % 0 > 1", {"lot.size": 1}, "division by zero in"),
        ("lot.size * 10 ** 9 > 1", {"lot.size": "a"}, "'lot.size' is text ('a'), not a number"),
        (
            "supplier.state % lot.size > 0",
            {"supplier.state": "%s", "lot.size": 1},
            "'supplier.state' is text ('%s'), not a number",
        ),
        ("supplier.cpk < 1", {"supplier.cpk": "low"}, "not a number"),
        ("supplier.blocked", {"supplier.blocked": 1}, "not a condition (true or false)"),
        ("lot.size + 1 > 0", {"lot.size": True}, "'lot.size' is a condition (true), not a number"),
        ("lot.size * lot.size > 1", {"lot.size": 1e200}, "'lot.size * lot.size' is too large"),
        ("lot.size ** 64 > 1", {"lot.size": 10**300}, "too large"),
        ("2 ** lot.size > 1", {"lot.size": 100_000}, "the exponent in '2 ** lot.size' is 100000"),
        ("lot.size ** 0.5 > 1", {"lot.size": -4}, "is not a real number"),
        ("round(lot.size, line.oee) > 1", {"lot.size": 1, "line.oee": -(10**9)}, "digits"),
        ("round(supplier.cpk) > 1", {"supplier.cpk": math.inf}, "cannot round inf"),
        ("clamp(lot.size, 2, 1) > 0", {"lot.size": 1}, "above its high bound"),
        ("supplier.cpk < supplier.state", {"supplier.cpk": 1, "supplier.state": "a"}, "text"),
    ],
)
def test_evaluation_errors_are_clear(text: str, values: dict[str, Any], fragment: str) -> None:
    compiled = compile_expression(text, NAMES)
    with pytest.raises(EvaluationError) as caught:
        compiled.evaluate(values)
    (problem,) = caught.value.problems
    assert fragment in problem.message
    assert problem.path == "when"


def test_an_evaluation_error_is_a_rule_error_naming_the_expression() -> None:
    compiled = compile_expression(TRIGGER, NAMES, where="rules[1].when", file="r.yaml")
    with pytest.raises(RuleError) as caught:
        compiled.evaluate({})
    assert str(caught.value) == (
        f"r.yaml: rules[1].when: cannot evaluate {TRIGGER!r}: no value for 'supplier.cpk'"
    )


def test_infinity_and_nan_in_the_values_propagate() -> None:
    # An undefined statistic must not stop a run; only overflow of finite inputs is an error.
    assert value_of("supplier.cpk * 2", {"supplier.cpk": math.inf}) == math.inf
    assert value_of("supplier.cpk * 2 < 1", {"supplier.cpk": math.nan}) is False


# --- hostile input ---------------------------------------------------------------------------

HOSTILE = [
    pytest.param("__import__('os').system('ls')", "'__import__' is not allowed", id="import"),
    pytest.param(
        "().__class__.__bases__[0].__subclasses__()",
        "names containing '__' are reserved",
        id="subclasses",
    ),
    pytest.param("supplier.__class__", "'__class__' in 'supplier.__class__'", id="dunder-attr"),
    pytest.param("supplier.cpk.__class__", "'__class__' in", id="dunder-on-name"),
    pytest.param("open('/etc/passwd')", "unknown function 'open'", id="open"),
    pytest.param("eval('1')", "unknown function 'eval'", id="eval"),
    pytest.param("exec('x=1')", "unknown function 'exec'", id="exec"),
    pytest.param("getattr(supplier, 'cpk')", "unknown function 'getattr'", id="getattr"),
    pytest.param("globals()", "unknown function 'globals'", id="globals"),
    pytest.param("breakpoint()", "unknown function 'breakpoint'", id="breakpoint"),
    pytest.param("lambda: 1", "lambda functions are not allowed", id="lambda"),
    pytest.param("[x for x in (1,2)]", "comprehensions are not allowed", id="listcomp"),
    pytest.param("any(x for x in (1,2))", "comprehensions are not allowed", id="genexp"),
    pytest.param('f"{supplier}"', "f-strings are not allowed", id="f-string"),
    pytest.param('"{0.__class__}".format(1)', "method calls are not allowed", id="format"),
    pytest.param('"%s" % supplier.cpk', "the operand of '%' must be a number", id="percent-format"),
    pytest.param("9**9**9", "the exponent 387420489", id="9**9**9"),
    pytest.param("2**100000", "the exponent 100000", id="2**100000"),
    pytest.param("10**10**10", "the exponent 10000000000", id="10**10**10"),
    pytest.param("2 ** -100 > 0", "the exponent -100", id="negative-exponent"),
    pytest.param("1 << 10**9", "'<<' is not allowed", id="shift"),
    pytest.param("(x:=1)", "assignment expressions (:=) are not allowed", id="walrus"),
    pytest.param("a[0]", "subscripts (x[...]) are not allowed", id="subscript"),
    pytest.param("*a", "not a valid expression", id="starred"),
    pytest.param("min(*(1, 2)) > 0", "starred expressions (*x) are not allowed", id="star-arg"),
    pytest.param("max(1, 2, key=abs) > 0", "keyword arguments are not allowed", id="keyword"),
    pytest.param("{'a': 1}", "dict literals are not allowed", id="dict"),
    pytest.param('"a"*10**9', "the operand of '*' must be a number", id="repeat"),
    pytest.param('"a" + supplier.state == "ab"', "the operand of '+' must be", id="concat"),
    pytest.param("(" * 100_000, "characters long; the limit is 2,000", id="parens-100k"),
    pytest.param("(" * 500 + ")" * 500, "brackets are nested more than 32", id="parens-500"),
    pytest.param("1 + " * 250_000 + "1", "1,000,001 characters long", id="one-megabyte"),
    pytest.param("-" * 1999 + "1", "nested more than 32 levels deep", id="unary-run"),
    pytest.param("1+" * 999 + "1", "nested more than 32 levels deep", id="long-sum"),
    pytest.param(
        " or ".join(f"lot.size == {i}" for i in range(60)), "more than 200 parts", id="wide"
    ),
    pytest.param("1 if True else __import__('os')", "'__import__'", id="dead-branch-import"),
    pytest.param("ｅval('1')", "unknown function 'eval' (written 'ｅval')", id="fullwidth-eval"),
    pytest.param("ｍin.__class__", "'__class__' in", id="fullwidth-dunder"),
    pytest.param("supplier.cpk; import os", "not a valid expression", id="statement"),
    pytest.param("import os", "not a valid expression", id="import-statement"),
    pytest.param("supplier.cpk < 1\x00", "U+0000 is not allowed", id="null-byte"),
    pytest.param('supplier.state == "ok\u202e"', "U+202E is not allowed", id="bidi-override"),
    pytest.param("lot.size\u200b > 1", "U+200B is not allowed", id="zero-width-space"),
    pytest.param("lot.size > 1\r", "U+000D is not allowed", id="carriage-return"),
    pytest.param("await lot.size", "'await' is not allowed", id="await"),
    pytest.param("(yield)", "'yield' is not allowed", id="yield"),
    pytest.param("b'x' == supplier.state", "bytes literals are not allowed", id="bytes"),
    pytest.param("1j == 1", "complex numbers are not allowed", id="complex"),
    pytest.param("... == 1", "'...' is not allowed", id="ellipsis"),
    pytest.param("~lot.size", "'~' is not allowed", id="invert"),
    pytest.param("__builtins__", "'__builtins__' is not allowed", id="builtins"),
    pytest.param("supplier.cpk if __debug__ else 0", "'__debug__' is not allowed", id="debug"),
    pytest.param("type(1)", "unknown function 'type'", id="type"),
    pytest.param("(lambda: 1)()", "this call is not allowed", id="call-lambda"),
    pytest.param("round(lot.size, -10**9) > 0", "the digits of round()", id="round-digits"),
    pytest.param("min(1, 2).real > 0", "attributes can only be read as part of", id="attr-call"),
    pytest.param('"a".upper() == supplier.state', "method calls are not allowed", id="method"),
]


@pytest.mark.parametrize(("text", "fragment"), HOSTILE)
def test_hostile_input_is_rejected_at_compile_time(text: str, fragment: str) -> None:
    with pytest.raises(RuleError) as caught:
        compile_expression(text, NAMES)
    messages = [problem.message for problem in caught.value.problems]
    assert any(fragment in message for message in messages), messages


def test_limits_are_those_documented() -> None:
    assert (MAX_TEXT_CHARS, MAX_NODES, MAX_DEPTH) == (2_000, 200, 32)
    deep = "(" * MAX_DEPTH + "true" + ")" * MAX_DEPTH
    assert compile_expression(deep, NAMES).evaluate({}) is True


def test_user_text_reaches_compile_only_as_a_syntax_tree(monkeypatch: pytest.MonkeyPatch) -> None:
    real_compile = builtins.compile
    calls: list[tuple[str, Any, Any]] = []

    def recording_compile(source: Any, filename: Any, mode: Any, flags: int = 0, **kw: Any) -> Any:
        calls.append(("compile", source, (mode, flags & ast.PyCF_ONLY_AST)))
        return real_compile(source, filename, mode, flags, **kw)

    def recorder(kind: str) -> Any:
        def record(source: Any, *args: Any, **kwargs: Any) -> None:
            calls.append((kind, source, None))

        return record

    hostile = "__import__('os').system('ls')"
    monkeypatch.setattr(builtins, "compile", recording_compile)
    monkeypatch.setattr(builtins, "eval", recorder("eval"))
    monkeypatch.setattr(builtins, "exec", recorder("exec"))
    compiled = compile_expression(TRIGGER, NAMES)
    result = compiled.evaluate({"supplier.cpk": 1.0, "supplier.otd": 0.5})
    refused = check_expression(hostile, NAMES)
    monkeypatch.undo()

    assert result is True and refused
    assert calls == [
        ("compile", TRIGGER, ("eval", ast.PyCF_ONLY_AST)),
        ("compile", hostile, ("eval", ast.PyCF_ONLY_AST)),
    ]


# --- properties ------------------------------------------------------------------------------

TOKENS = [
    *sorted(NAMES),
    *["supplier", "cpk", "x", "__class__", "__import__", "min", "max", "abs", "round", "clamp"],
    *["eval", "true", "false", "True", "None", "0", "1", "2", "64", "65", "1.5", "1e308", "9"],
    *['"a"', "'approved'", "(", ")", "[", "]", ",", ".", ":", ";", "*", "**", "/", "//", "%"],
    *["+", "-", "<", "<=", ">", ">=", "==", "!=", "in", "not", "and", "or", "if", "else"],
    *["lambda", ":=", "=", "\n", "#", "\\", "f'", "'"],
]
VALUES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.booleans(),
    st.text(max_size=5),
)


@settings(deadline=timedelta(milliseconds=500), max_examples=400)
@given(st.text(max_size=300))
def test_any_text_is_compiled_or_refused_with_a_rule_error(text: str) -> None:
    try:
        compile_expression(text, NAMES)
    except RuleError as e:
        assert e.problems


@settings(deadline=timedelta(milliseconds=500), max_examples=200)
@given(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=300))
def test_any_printable_ascii_is_compiled_or_refused(text: str) -> None:
    try:
        compile_expression(text, NAMES)
    except RuleError as e:
        assert e.problems


@settings(
    deadline=timedelta(milliseconds=500),
    max_examples=600,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(tokens=st.lists(st.sampled_from(TOKENS), max_size=40), data=st.data())
def test_token_soup_compiles_or_not_and_evaluates_or_not_with_rule_errors_only(
    tokens: list[str], data: st.DataObject
) -> None:
    text = " ".join(tokens)
    try:
        compiled = compile_expression(text, NAMES, expect=ValueKind.ANY)
    except RuleError:
        return
    values = {name: data.draw(VALUES, label=name) for name in sorted(compiled.names)}
    try:
        compiled.evaluate(values)
    except EvaluationError as e:
        assert e.problems


LEAVES = st.sampled_from(
    [*sorted(NAMES), "0", "1", "2", "64", "0.5", "1e308", "-3", "true", "false", '"a"', "()"]
)


def _combine(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    binary = ["+", "-", "*", "/", "//", "%", "**", "<", "<=", "==", "!=", "and", "or", "in"]
    return st.one_of(
        st.tuples(children, st.sampled_from(binary), children).map(lambda t: f"({' '.join(t)})"),
        st.tuples(st.sampled_from(["-", "not "]), children).map(lambda t: f"({''.join(t)})"),
        st.tuples(children, children, children).map(lambda t: f"({t[0]} if {t[1]} else {t[2]})"),
        st.tuples(st.sampled_from(["min", "max", "clamp", "round", "abs"]), children, children).map(
            lambda t: f"{t[0]}({t[1]}, {t[2]}{', 1' if t[0] == 'clamp' else ''})"
        ),
        children.map(lambda c: f"({c} in (1, 'a', true))"),
    )


@settings(deadline=timedelta(milliseconds=500), max_examples=600)
@given(text=st.recursive(LEAVES, _combine, max_leaves=12), data=st.data())
def test_well_formed_expressions_evaluate_or_fail_with_evaluation_errors_only(
    text: str, data: st.DataObject
) -> None:
    try:
        compiled = compile_expression(text, NAMES, expect=ValueKind.ANY)
    except RuleError:
        return
    values = {name: data.draw(VALUES, label=name) for name in sorted(compiled.names)}
    try:
        compiled.evaluate(values)
    except EvaluationError as e:
        assert e.problems
