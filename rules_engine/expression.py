"""The safe expression language of rule triggers: checked once at validation, evaluated often.

A trigger such as ``supplier.cpk < 1.33 and supplier.otd < 0.92`` is parsed with
``ast.parse(text, mode="eval")`` and compiled, node type by node type from a whitelist, into a
tree of closures. User text never reaches ``eval``, ``exec`` or ``compile``; rule files are also
fed untrusted input by CI, so the language is kept small enough to reason about:

- literals: numbers, text in quotes, ``true``/``false`` (or ``True``/``False``);
- declared names only; a dotted name such as ``supplier.cpk`` is one variable, and no other
  attribute access exists; no identifier may contain ``__``;
- ``+ - * / // % **`` on numbers only (never on text, so neither string repetition nor
  ``%``-formatting is reachable), unary ``- + not``, comparisons (chained too), ``and``/``or``
  with short-circuit, ``a if condition else b``, ``in``/``not in`` a literal list or tuple;
- the functions ``abs``, ``clamp(x, low, high)``, ``max``, ``min`` and ``round`` only.

Cost is bounded before anything runs: the text length, the bracket depth (scanned before
parsing), the number of parts and the nesting depth of the tree, and a constant exponent. At
run time a result that overflows raises :class:`EvaluationError` instead of growing without
bound; NaN and infinities that arrive *in the values* propagate as IEEE arithmetic says, so a
statistic that is not yet defined makes a comparison false rather than stopping a run.
"""

from __future__ import annotations

import ast
import keyword
import numbers
import operator
import re
import sys
import unicodedata
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any, NoReturn

from shocktwin.errors import Problem, RuleError, close_names

__all__ = [
    "FUNCTIONS",
    "MAX_DEPTH",
    "MAX_EXPONENT",
    "MAX_NODES",
    "MAX_TEXT_CHARS",
    "CompiledExpression",
    "EvaluationError",
    "Value",
    "ValueKind",
    "check_expression",
    "compile_expression",
]

#: Longest expression text accepted, in characters.
MAX_TEXT_CHARS = 2_000
#: Most parts (names, literals, operations, calls) one expression may have.
MAX_NODES = 200
#: Deepest nesting of parts, and of brackets, one expression may have.
MAX_DEPTH = 32
#: Largest absolute exponent of ``**``, checked at compile time when constant, else at run time.
MAX_EXPONENT = 64
#: The only functions an expression may call.
FUNCTIONS: frozenset[str] = frozenset({"abs", "clamp", "max", "min", "round"})

#: A value an expression reads: a statistic, a flag or a state name.
Value = float | bool | str

# ``round(n, ndigits)`` on an int computes 10**-ndigits, so a huge ndigits would hang.
_MAX_ROUND_DIGITS = 32
# Results beyond the float range count as overflow, for ints too, so int arithmetic cannot
# grow numbers to millions of digits.
_MAX_MAGNITUDE = sys.float_info.max
_FUNCTION_LIST = ", ".join(sorted(FUNCTIONS)[:-1]) + " and " + sorted(FUNCTIONS)[-1]
# An int power is refused before it is computed when its size in bits would exceed this, so a
# huge int among the values cannot make ``x ** 64`` run for seconds.
_MAX_POWER_BITS = 1_100
_TRUE_NAMES = frozenset({"true", "True"})
_FALSE_NAMES = frozenset({"false", "False"})
# Characters that are invisible or reorder text could make a rule read differently from what
# runs (bidi overrides, zero-width joiners, NUL); tab and newline are the only controls kept.
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
_ALLOWED_CONTROLS = frozenset("\t\n")
_DECLARABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*\Z")
_NO_VALUES: Mapping[str, Any] = MappingProxyType({})

_Eval = Callable[[Mapping[str, Any]], Any]


class ValueKind(StrEnum):
    """What an expression yields, as far as is known before evaluation."""

    BOOLEAN = "boolean"
    NUMBER = "number"
    TEXT = "text"
    #: A declared name or a mix: the kind is checked when the values arrive.
    ANY = "any"


_KIND_WORDS = {
    ValueKind.BOOLEAN: "a condition",
    ValueKind.NUMBER: "a number",
    ValueKind.TEXT: "text",
    ValueKind.ANY: "a value",
}


class EvaluationError(RuleError):
    """A compiled expression could not be evaluated with the values it was given."""


class _Failure(Exception):
    """Raised inside the closure tree; ``evaluate`` turns it into an :class:`EvaluationError`."""


@dataclass(frozen=True)
class CompiledExpression:
    """An expression that passed every check, ready to be evaluated many times.

    ``names`` are the declared dotted names the expression reads, so the caller knows which
    statistics to keep up to date; ``kind`` is what it yields.
    """

    text: str
    names: frozenset[str]
    kind: ValueKind
    where: str
    file: str | None
    line: int | None
    _run: _Eval = field(repr=False, compare=False)

    def evaluate(self, values: Mapping[str, Value]) -> object:
        """Evaluate with ``values`` (declared name -> value); raise EvaluationError on failure."""
        try:
            return self._run(values)
        except _Failure as e:
            raise self._error(str(e)) from None
        except KeyError as e:
            missing = e.args[0] if e.args else None
            if isinstance(missing, str) and missing in self.names:
                raise self._error(f"no value for {missing!r}") from e
            raise
        except ZeroDivisionError as e:
            raise self._error("division by zero") from e
        except (ArithmeticError, TypeError, ValueError) as e:
            raise self._error(str(e)) from e

    def _error(self, reason: str) -> EvaluationError:
        message = f"cannot evaluate {_shorten(self.text)!r}: {reason}"
        return EvaluationError([Problem(self.file, self.where, message, self.line)], file=self.file)


def compile_expression(
    text: str,
    names: Iterable[str],
    *,
    where: str = "when",
    expect: ValueKind = ValueKind.BOOLEAN,
    file: str | None = None,
    line: int | None = None,
) -> CompiledExpression:
    """Check ``text`` against the language and the declared ``names``, and compile it.

    ``where`` is the path of the expression inside its file (``rules[3].when``) and ``file``,
    ``line`` locate that file; they only label problems. ``expect`` is the kind the result must
    have: a condition by default, as a trigger's ``when`` is. Raises RuleError listing every
    problem found, each with its column in ``text`` where known.
    """
    declared = _declared_names(names)
    if not isinstance(text, str):
        raise TypeError(f"expression text must be a str, not {type(text).__name__}")
    if not isinstance(expect, ValueKind):
        raise TypeError(f"expect must be a ValueKind, not {expect!r}")

    def fail(messages: list[str]) -> NoReturn:
        raise RuleError([Problem(file, where, m, line) for m in messages], file=file)

    messages = _scan_text(text)
    if messages:
        fail(messages)
    source = _Source(text)
    tree = _parse(source)
    if isinstance(tree, list):
        fail(tree)
    compiler = _Compiler(source, declared)
    if not compiler.check_shape(tree.body):
        fail(compiler.messages())
    root = compiler.compile(tree.body)
    run = root.run if expect is ValueKind.ANY else compiler.want(root, tree.body, expect, None)
    if compiler.problems:
        fail(compiler.messages())
    kind = expect if expect is not ValueKind.ANY else root.kind
    return CompiledExpression(
        text=text,
        names=frozenset(compiler.used),
        kind=kind,
        where=where,
        file=file,
        line=line,
        _run=run,
    )


def check_expression(
    text: str,
    names: Iterable[str],
    *,
    where: str = "when",
    expect: ValueKind = ValueKind.BOOLEAN,
    file: str | None = None,
    line: int | None = None,
) -> list[Problem]:
    """Every problem :func:`compile_expression` would raise for ``text``; empty when it is fine."""
    try:
        compile_expression(text, names, where=where, expect=expect, file=file, line=line)
    except RuleError as e:
        return list(e.problems)
    return []


# --- checks before parsing -------------------------------------------------------------------


def _declared_names(names: Iterable[str]) -> frozenset[str]:
    if isinstance(names, str):
        raise TypeError("names must be a collection of dotted names, not one str")
    declared = frozenset(names)
    for name in declared:
        if (
            not isinstance(name, str)
            or not _DECLARABLE.match(name)
            or "__" in name
            or name in _TRUE_NAMES
            or name in _FALSE_NAMES
            or any(keyword.iskeyword(part) for part in name.split("."))
        ):
            raise ValueError(f"{name!r} cannot be declared as an expression name")
    return declared


def _scan_text(text: str) -> list[str]:
    """Problems found in the raw text; the parser is not run on text that has any."""
    if len(text) > MAX_TEXT_CHARS:
        return [f"the expression is {len(text):,} characters long; the limit is {MAX_TEXT_CHARS:,}"]
    if not text.strip():
        return ["the expression is empty"]
    messages: list[str] = []
    hidden: dict[str, list[int]] = {}
    for index, char in enumerate(text):
        if " " <= char <= "~" or char in _ALLOWED_CONTROLS:
            continue
        if unicodedata.category(char) in _HIDDEN_CATEGORIES:
            hidden.setdefault(char, []).append(index)
    for char, indexes in hidden.items():
        times = f" ({len(indexes)} times)" if len(indexes) > 1 else ""
        messages.append(
            f"{_position(text, indexes[0])}: character U+{ord(char):04X}{times} is not allowed: "
            "control and invisible formatting characters can hide what a rule does"
        )
    if messages:
        return messages
    deepest = _bracket_overflow(text)
    if deepest is not None:
        messages.append(
            f"{_position(text, deepest)}: brackets are nested more than {MAX_DEPTH} levels deep"
        )
    return messages


def _bracket_overflow(text: str) -> int | None:
    """Index of the first bracket nested deeper than MAX_DEPTH, skipping quoted text."""
    depth = 0
    index = 0
    length = len(text)
    while index < length:
        char = text[index]
        if char in "([{":
            depth += 1
            if depth > MAX_DEPTH:
                return index
        elif char in ")]}":
            depth -= 1
        elif char in "'\"":
            quote = char * 3 if text.startswith(char * 3, index) else char
            index += len(quote)
            while index < length and not text.startswith(quote, index):
                index += 2 if text[index] == "\\" else 1
            index += len(quote)
            continue
        elif char == "#":
            newline = text.find("\n", index)
            index = length if newline < 0 else newline
        index += 1
    return None


def _position(text: str, index: int) -> str:
    """``column C`` (1-based) of ``index`` in ``text``, with the line when text has several."""
    line_start = text.rfind("\n", 0, index) + 1
    column = index - line_start + 1
    if "\n" not in text:
        return f"column {column}"
    return f"line {text.count(chr(10), 0, index) + 1}, column {column}"


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class _Source:
    """The text as parsed, and the way back from AST positions to the user's columns."""

    def __init__(self, text: str) -> None:
        self.text = text
        # Leading blanks would be an IndentationError; columns still refer to ``text``.
        self.lead = len(text) - len(text.lstrip())
        self.body = text.strip()
        self.lines = self.body.split("\n")
        self.line_starts = [0]
        for body_line in self.lines[:-1]:
            self.line_starts.append(self.line_starts[-1] + len(body_line) + 1)

    def index(self, lineno: int, col_utf8: int) -> int:
        """Index in ``text`` of a parser position (1-based line, UTF-8 byte column)."""
        row = min(max(lineno, 1), len(self.lines)) - 1
        prefix = self.lines[row].encode("utf-8")[:col_utf8].decode("utf-8", "ignore")
        return self.lead + self.line_starts[row] + len(prefix)

    def index_of(self, node: ast.AST) -> int:
        return self.index(getattr(node, "lineno", 1), getattr(node, "col_offset", 0))

    def position(self, index: int) -> str:
        return _position(self.text, index)

    def segment(self, node: ast.AST) -> str:
        return ast.get_source_segment(self.body, node) or ""


def _parse(source: _Source) -> ast.Expression | list[str]:
    """The parsed tree, or the problems that stopped parsing."""
    try:
        # Warnings (invalid escapes, ``is`` with a literal) would turn into SyntaxError under
        # ``-W error``; they change nothing about the tree. The filter is process-wide state,
        # which is acceptable because expressions are compiled while a rule set is loaded.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.parse(source.body, mode="eval")
    except SyntaxError as e:
        where = ""
        if e.lineno and e.offset:
            row = min(max(e.lineno, 1), len(source.lines)) - 1
            index = source.lead + source.line_starts[row] + max(e.offset - 1, 0)
            where = f"{source.position(min(index, len(source.text)))}: "
        return [f"{where}not a valid expression: {e.msg}"]
    except (RecursionError, MemoryError):
        return [f"the expression is nested more than {MAX_DEPTH} levels deep"]
    except (ValueError, OverflowError) as e:
        return [f"not a valid expression: {e}"]


# --- the compiler ----------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Node:
    """A compiled part: how to run it, what it yields, and its value when constant."""

    run: _Eval
    kind: ValueKind
    constant: bool = False
    value: object = None
    #: The declared name when the part only reads one, so loads can be specialised.
    name: str | None = None


_BROKEN = _Node(run=lambda _values: None, kind=ValueKind.ANY)

_FORBIDDEN: dict[type[ast.AST], str] = {
    ast.Lambda: "lambda functions are not allowed",
    ast.ListComp: "comprehensions are not allowed",
    ast.SetComp: "comprehensions are not allowed",
    ast.DictComp: "comprehensions are not allowed",
    ast.GeneratorExp: "comprehensions are not allowed",
    ast.JoinedStr: "f-strings are not allowed",
    ast.FormattedValue: "f-strings are not allowed",
    ast.NamedExpr: "assignment expressions (:=) are not allowed",
    ast.Subscript: "subscripts (x[...]) are not allowed",
    ast.Slice: "subscripts (x[...]) are not allowed",
    ast.Starred: "starred expressions (*x) are not allowed",
    ast.Dict: "dict literals are not allowed",
    ast.Await: "'await' is not allowed",
    ast.Yield: "'yield' is not allowed",
    ast.YieldFrom: "'yield' is not allowed",
}

_ARITHMETIC: dict[type[ast.operator], tuple[str, Callable[[Any, Any], Any]]] = {
    ast.Add: ("+", operator.add),
    ast.Sub: ("-", operator.sub),
    ast.Mult: ("*", operator.mul),
    ast.Div: ("/", operator.truediv),
    ast.FloorDiv: ("//", operator.floordiv),
    ast.Mod: ("%", operator.mod),
}

_BITWISE: dict[type[ast.operator], str] = {
    ast.BitAnd: "'&' is not allowed; use 'and'",
    ast.BitOr: "'|' is not allowed; use 'or'",
    ast.BitXor: "'^' is not allowed; use '**' for powers",
    ast.LShift: "'<<' is not allowed",
    ast.RShift: "'>>' is not allowed",
    ast.MatMult: "'@' is not allowed",
}

_ORDERING: dict[type[ast.cmpop], tuple[str, Callable[[Any, Any], Any]]] = {
    ast.Lt: ("<", operator.lt),
    ast.LtE: ("<=", operator.le),
    ast.Gt: (">", operator.gt),
    ast.GtE: (">=", operator.ge),
}

_EQUALITY: dict[type[ast.cmpop], tuple[str, Callable[[Any, Any], Any]]] = {
    ast.Eq: ("==", operator.eq),
    ast.NotEq: ("!=", operator.ne),
}


def _is_in(item: Any, choices: frozenset[Any]) -> bool:
    return item in choices


def _is_not_in(item: Any, choices: frozenset[Any]) -> bool:
    return item not in choices


_MEMBERSHIP: dict[type[ast.cmpop], tuple[str, Callable[[Any, Any], Any]]] = {
    ast.In: ("in", _is_in),
    ast.NotIn: ("not in", _is_not_in),
}

# (fewest, most) arguments; None means no upper bound.
_ARITY: dict[str, tuple[int, int | None]] = {
    "abs": (1, 1),
    "clamp": (3, 3),
    "max": (2, None),
    "min": (2, None),
    "round": (1, 2),
}


class _Compiler:
    """Turns a parsed expression into closures, collecting every problem on the way."""

    def __init__(self, source: _Source, declared: frozenset[str]) -> None:
        self.source = source
        self.declared = declared
        self.used: set[str] = set()
        self.problems: list[tuple[int, str]] = []

    def report(self, node: ast.AST | None, message: str) -> _Node:
        index = self.source.index_of(node) if node is not None else -1
        self.problems.append((index, message))
        return _BROKEN

    def messages(self) -> list[str]:
        ordered = sorted(self.problems, key=lambda problem: problem[0])
        return [
            f"{self.source.position(index)}: {message}" if index >= 0 else message
            for index, message in ordered
        ]

    def label(self, node: ast.AST) -> str:
        return repr(_shorten(self.source.segment(node)))

    def written(self, node: ast.AST, normalised: str) -> str:
        """``'name'``, plus how it was written when NFKC normalisation changed it."""
        segment = self.source.segment(node)
        if segment and segment != normalised and "." not in normalised:
            return f"{normalised!r} (written {segment!r})"
        return repr(normalised)

    # Size and depth are checked on the whole tree, iteratively, before the recursive compile.
    def check_shape(self, root: ast.expr) -> bool:
        count = 0
        stack: list[tuple[ast.AST, int]] = [(root, 1)]
        while stack:
            node, depth = stack.pop()
            if isinstance(node, ast.expr):
                count += 1
                if count > MAX_NODES:
                    self.report(
                        None,
                        f"the expression is too large: more than {MAX_NODES} parts "
                        "(names, literals, operations)",
                    )
                    return False
                if depth > MAX_DEPTH:
                    self.report(node, f"the expression is nested more than {MAX_DEPTH} levels deep")
                    return False
            for identifier in _identifiers(node):
                if "__" in identifier:
                    shown = (
                        self.written(node, identifier)
                        if isinstance(node, ast.Name)
                        else f"{identifier!r} in {self.label(node)}"
                    )
                    self.report(node, f"{shown} is not allowed: names containing '__' are reserved")
            for child in ast.iter_child_nodes(node):
                stack.append((child, depth + isinstance(child, ast.expr)))
        return True

    def compile(self, node: ast.expr) -> _Node:
        if isinstance(node, ast.Constant):
            return self.constant(node)
        if isinstance(node, ast.Name):
            return self.name(node, node.id)
        if isinstance(node, ast.Attribute):
            return self.attribute(node)
        if isinstance(node, ast.UnaryOp):
            return self.unary(node)
        if isinstance(node, ast.BinOp):
            return self.binary(node)
        if isinstance(node, ast.BoolOp):
            return self.boolean(node)
        if isinstance(node, ast.Compare):
            return self.compare(node)
        if isinstance(node, ast.IfExp):
            return self.choice(node)
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, ast.Tuple | ast.List | ast.Set):
            return self.report(node, "a list is only allowed on the right of 'in' or 'not in'")
        message = _FORBIDDEN.get(type(node), f"{type(node).__name__} is not allowed")
        return self.report(node, message)

    def want(self, part: _Node, node: ast.AST, kind: ValueKind, context: str | None) -> _Eval:
        """``part`` as something that yields ``kind``: checked now if known, else when run."""
        if part is _BROKEN or part.kind is kind or kind is ValueKind.ANY:
            return part.run
        if part.kind is ValueKind.ANY:
            label = self.label(node)
            if part.name is not None:
                return _LOAD_CHECKS[kind](part.name, label)
            return _RUN_CHECKS[kind](part.run, label)
        if context is None:
            if kind is ValueKind.BOOLEAN:
                need = "a condition (a comparison, 'and', 'or', 'not', true or false)"
            else:
                need = _KIND_WORDS[kind]
            self.report(
                node,
                f"the expression must be {need}, but it is {_KIND_WORDS[part.kind]}",
            )
        else:
            self.report(
                node,
                f"{context} must be {_KIND_WORDS[kind]}, "
                f"but {self.label(node)} is {_KIND_WORDS[part.kind]}",
            )
        # Never computed: folding 'a' * 10**9 would build the text while checking.
        return _refused

    def fold(self, run: _Eval, kind: ValueKind, parts: Iterable[_Node]) -> _Node:
        """A part whose inputs are all constant, computed now when that succeeds.

        A failure is left for run time, as ``false and 1/0 > 0`` must still be false.
        """
        if not all(part.constant for part in parts):
            return _Node(run=run, kind=kind)
        try:
            value = run(_NO_VALUES)
        except (_Failure, ArithmeticError, TypeError, ValueError):
            return _Node(run=run, kind=kind)
        return _Node(run=_constant(value), kind=kind, constant=True, value=value)

    # --- leaves ---

    def constant(self, node: ast.Constant) -> _Node:
        value = node.value
        if isinstance(value, bool):
            return _Node(run=_constant(value), kind=ValueKind.BOOLEAN, constant=True, value=value)
        if isinstance(value, int | float):
            if not -_MAX_MAGNITUDE <= value <= _MAX_MAGNITUDE:
                return self.report(node, f"the number {self.label(node)} is too large")
            return _Node(run=_constant(value), kind=ValueKind.NUMBER, constant=True, value=value)
        if isinstance(value, str):
            return _Node(run=_constant(value), kind=ValueKind.TEXT, constant=True, value=value)
        if isinstance(value, complex):
            return self.report(node, "complex numbers are not allowed")
        if isinstance(value, bytes):
            return self.report(node, "bytes literals are not allowed")
        return self.report(node, f"{self.label(node)} is not allowed")

    def name(self, node: ast.expr, name: str) -> _Node:
        segment = self.source.segment(node)
        if not segment.isascii():
            # The parser folds names to NFKC: a fullwidth or mathematical spelling would run
            # as the ASCII name it only resembles, unseen by grep or a diff.
            return self.report(
                node,
                f"{segment!r} only resembles {name!r}: names must be written in ASCII "
                "letters, digits and '_'",
            )
        if name in _TRUE_NAMES:
            return _Node(run=_constant(True), kind=ValueKind.BOOLEAN, constant=True, value=True)
        if name in _FALSE_NAMES:
            return _Node(run=_constant(False), kind=ValueKind.BOOLEAN, constant=True, value=False)
        if "__" in name:
            return _BROKEN  # already reported by check_shape
        if name not in self.declared:
            return self.report(node, self.unknown(node, name, self.declared, "name"))
        self.used.add(name)
        return _Node(run=operator.itemgetter(name), kind=ValueKind.ANY, name=name)

    def unknown(self, node: ast.AST, name: str, known: Iterable[str], what: str) -> str:
        message = f"unknown {what} {self.written(node, name)}"
        if what == "function":
            message = f"{message}: only {_FUNCTION_LIST} can be called"
        close = close_names(name, known)
        return f"{message}; did you mean {' or '.join(map(repr, close))}?" if close else message

    def attribute(self, node: ast.Attribute) -> _Node:
        parts: list[str] = []
        base: ast.expr = node
        while isinstance(base, ast.Attribute):
            parts.append(base.attr)
            base = base.value
        if not isinstance(base, ast.Name):
            return self.report(
                node,
                f"{self.label(node)}: attributes can only be read as part of a declared name "
                "such as 'supplier.cpk'",
            )
        parts.append(base.id)
        return self.name(node, ".".join(reversed(parts)))

    # --- operators ---

    def unary(self, node: ast.UnaryOp) -> _Node:
        operand = self.compile(node.operand)
        if isinstance(node.op, ast.Not):
            run = _negation(
                self.want(operand, node.operand, ValueKind.BOOLEAN, "the operand of 'not'")
            )
            return self.fold(run, ValueKind.BOOLEAN, [operand])
        if isinstance(node.op, ast.USub | ast.UAdd):
            symbol = "-" if isinstance(node.op, ast.USub) else "+"
            inner = self.want(operand, node.operand, ValueKind.NUMBER, f"the operand of '{symbol}'")
            run = _apply1(operator.neg if symbol == "-" else operator.pos, inner)
            return self.fold(run, ValueKind.NUMBER, [operand])
        return self.report(node, "'~' is not allowed")

    def binary(self, node: ast.BinOp) -> _Node:
        if type(node.op) in _BITWISE:
            self.compile(node.left)
            self.compile(node.right)
            return self.report(node, _BITWISE[type(node.op)])
        left = self.compile(node.left)
        right = self.compile(node.right)
        label = self.label(node)
        if isinstance(node.op, ast.Pow):
            exponent = right.value if right.constant else None
            if isinstance(exponent, int | float) and not -MAX_EXPONENT <= exponent <= MAX_EXPONENT:
                return self.report(
                    node.right,
                    f"the exponent {_shorten(repr(exponent))} in {label} is larger "
                    f"than {MAX_EXPONENT}",
                )
            symbol = "**"
            run = _power(
                self.want(left, node.left, ValueKind.NUMBER, "the operand of '**'"),
                self.want(right, node.right, ValueKind.NUMBER, "the operand of '**'"),
                label,
            )
        else:
            symbol, function = _ARITHMETIC[type(node.op)]
            context = f"the operand of '{symbol}'"
            run = _arithmetic(
                function,
                self.want(left, node.left, ValueKind.NUMBER, context),
                self.want(right, node.right, ValueKind.NUMBER, context),
                label,
            )
        return self.fold(run, ValueKind.NUMBER, [left, right])

    def boolean(self, node: ast.BoolOp) -> _Node:
        word = "and" if isinstance(node.op, ast.And) else "or"
        parts = [self.compile(value) for value in node.values]
        runs = [
            self.want(part, value, ValueKind.BOOLEAN, f"the operand of '{word}'")
            for part, value in zip(parts, node.values, strict=True)
        ]
        run = _all(runs) if word == "and" else _any(runs)
        return self.fold(run, ValueKind.BOOLEAN, parts)

    def compare(self, node: ast.Compare) -> _Node:
        operands = [node.left, *node.comparators]
        # An operand between two operators is evaluated once, so it is compiled once, with the
        # strictest kind either neighbouring operator needs.
        ordering: list[str | None] = [None] * len(operands)
        for index, op in enumerate(node.ops):
            if type(op) in _ORDERING:
                symbol = _ORDERING[type(op)][0]
                ordering[index] = ordering[index] or symbol
                ordering[index + 1] = ordering[index + 1] or symbol
            elif type(op) in _MEMBERSHIP and index + 1 < len(node.ops):
                return self.report(
                    node, f"the list after '{_MEMBERSHIP[type(op)][0]}' must end the comparison"
                )
            elif type(op) not in _EQUALITY and type(op) not in _MEMBERSHIP:
                for operand in operands:
                    self.compile(operand)
                return self.report(node, "'is' and 'is not' are not allowed; use '==' or '!='")
        parts: list[_Node] = []
        runs: list[_Eval] = []
        for index, operand in enumerate(operands):
            before = node.ops[index - 1] if index else None
            if before is not None and type(before) in _MEMBERSHIP:
                part = self.choices(operand, _MEMBERSHIP[type(before)][0])
            else:
                part = self.compile(operand)
            needed_by = ordering[index]
            if needed_by is None:
                runs.append(part.run)
            else:
                context = f"each side of '{needed_by}'"
                runs.append(self.want(part, operand, ValueKind.NUMBER, context))
            parts.append(part)
        steps: list[tuple[Callable[[Any, Any], Any], _Eval]] = []
        for index, op in enumerate(node.ops):
            table = _ORDERING if type(op) in _ORDERING else _EQUALITY
            table = _MEMBERSHIP if type(op) in _MEMBERSHIP else table
            symbol, function = table[type(op)]
            if table is _EQUALITY:
                self.check_equality(
                    node, symbol, operands[index : index + 2], parts[index : index + 2]
                )
            steps.append((function, runs[index + 1]))
        return self.fold(_comparison(runs[0], steps), ValueKind.BOOLEAN, parts)

    def check_equality(
        self, node: ast.Compare, symbol: str, operands: list[ast.expr], parts: list[_Node]
    ) -> None:
        """Report ``==``/``!=`` between two kinds known to differ: it can only ever be constant."""
        left, right = parts
        if left is _BROKEN or right is _BROKEN or ValueKind.ANY in (left.kind, right.kind):
            return
        if left.kind is not right.kind:
            self.report(
                node,
                f"{self.label(operands[0])} is {_KIND_WORDS[left.kind]} and "
                f"{self.label(operands[1])} is {_KIND_WORDS[right.kind]}: '{symbol}' between "
                f"them is always {'false' if symbol == '==' else 'true'}",
            )

    def choices(self, node: ast.expr, symbol: str) -> _Node:
        """The literal list on the right of ``in``, as a frozenset for constant-time lookup."""
        if not isinstance(node, ast.Tuple | ast.List | ast.Set):
            self.compile(node)
            return self.report(
                node, f"the right side of '{symbol}' must be a list of literals, like (1, 2)"
            )
        values: list[object] = []
        for element in node.elts:
            part = self.compile(element)
            if part is _BROKEN:
                continue
            if not part.constant:
                self.report(element, f"the list after '{symbol}' may only hold literals")
                continue
            values.append(part.value)
        choices = frozenset(values)
        return _Node(run=_constant(choices), kind=ValueKind.ANY, constant=True, value=choices)

    def choice(self, node: ast.IfExp) -> _Node:
        test = self.compile(node.test)
        test_run = self.want(test, node.test, ValueKind.BOOLEAN, "the condition of 'if'")
        body = self.compile(node.body)
        orelse = self.compile(node.orelse)
        if body.kind is orelse.kind or ValueKind.ANY in (body.kind, orelse.kind):
            kind = body.kind if body.kind is orelse.kind else ValueKind.ANY
        else:
            kind = ValueKind.ANY
            self.report(
                node,
                f"both branches of 'if ... else' must be of one kind, but "
                f"{self.label(node.body)} is {_KIND_WORDS[body.kind]} and "
                f"{self.label(node.orelse)} is {_KIND_WORDS[orelse.kind]}",
            )
        return self.fold(_if_else(test_run, body.run, orelse.run), kind, [test, body, orelse])

    def call(self, node: ast.Call) -> _Node:
        args = [self.compile(arg) for arg in node.args]
        for extra in node.keywords:
            self.compile(extra.value)
            self.report(extra, "keyword arguments are not allowed")
        if not isinstance(node.func, ast.Name):
            what = "method calls are" if isinstance(node.func, ast.Attribute) else "this call is"
            return self.report(
                node, f"{self.label(node)}: {what} not allowed; only {_FUNCTION_LIST} can be called"
            )
        function = node.func.id
        if "__" in function:
            return _BROKEN  # already reported by check_shape
        if function not in FUNCTIONS:
            return self.report(node, self.unknown(node.func, function, FUNCTIONS, "function"))
        if node.keywords or any(arg is _BROKEN for arg in args):
            return _BROKEN
        fewest, most = _ARITY[function]
        if len(args) < fewest or (most is not None and len(args) > most):
            if most is None:
                count = f"at least {fewest}"
            elif fewest == most:
                count = str(fewest)
            else:
                count = f"{fewest} or {most}"
            return self.report(node, f"{function}() takes {count} arguments, not {len(args)}")
        context = f"an argument of {function}()"
        runs = [
            self.want(arg, arg_node, ValueKind.NUMBER, context)
            for arg, arg_node in zip(args, node.args, strict=True)
        ]
        if function == "round" and len(args) == 2 and args[1].constant:
            digits = args[1].value
            if not isinstance(digits, int) or not -_MAX_ROUND_DIGITS <= digits <= _MAX_ROUND_DIGITS:
                return self.report(
                    node.args[1],
                    f"the digits of round() must be a whole number from {-_MAX_ROUND_DIGITS} "
                    f"to {_MAX_ROUND_DIGITS}",
                )
        run = _FUNCTION_BUILDERS[function](runs, self.label(node))
        return self.fold(run, ValueKind.NUMBER, args)


def _identifiers(node: ast.AST) -> list[str]:
    """Every identifier a node holds, so none can carry ``__`` past the checks."""
    if isinstance(node, ast.Name):
        return [node.id]
    if isinstance(node, ast.Attribute):
        return [node.attr]
    if isinstance(node, ast.keyword):
        return [node.arg] if node.arg else []
    if isinstance(node, ast.arg):
        return [node.arg]
    return []


# --- closure builders: module level, so each closure binds its own cells ----------------------


def _constant(value: object) -> _Eval:
    return lambda _values: value


def _describe(value: object) -> str:
    if isinstance(value, bool):
        return f"a condition ({str(value).lower()})"
    if isinstance(value, str):
        return f"text ({_shorten(value, 30)!r})"
    if isinstance(value, numbers.Real):
        return f"a number ({value!r})"
    return f"a {type(value).__name__}"


def _as_number(value: Any, label: str) -> Any:
    if value.__class__ is not bool and isinstance(value, numbers.Real):
        return value
    raise _Failure(f"{label} is {_describe(value)}, not a number")


def _as_condition(value: Any, label: str) -> Any:
    raise _Failure(f"{label} is {_describe(value)}, not a condition (true or false)")


def _as_text(value: Any, label: str) -> Any:
    if isinstance(value, str):
        return value
    raise _Failure(f"{label} is {_describe(value)}, not text")


def _number_at(name: str, label: str) -> _Eval:
    def run(values: Mapping[str, Any]) -> Any:
        value = values[name]
        if value.__class__ is float or value.__class__ is int:
            return value
        return _as_number(value, label)

    return run


def _number_of(inner: _Eval, label: str) -> _Eval:
    def run(values: Mapping[str, Any]) -> Any:
        value = inner(values)
        if value.__class__ is float or value.__class__ is int:
            return value
        return _as_number(value, label)

    return run


def _condition_at(name: str, label: str) -> _Eval:
    def run(values: Mapping[str, Any]) -> Any:
        value = values[name]
        if value is True or value is False:
            return value
        return _as_condition(value, label)

    return run


def _condition_of(inner: _Eval, label: str) -> _Eval:
    def run(values: Mapping[str, Any]) -> Any:
        value = inner(values)
        if value is True or value is False:
            return value
        return _as_condition(value, label)

    return run


def _text_at(name: str, label: str) -> _Eval:
    def run(values: Mapping[str, Any]) -> Any:
        return _as_text(values[name], label)

    return run


def _text_of(inner: _Eval, label: str) -> _Eval:
    def run(values: Mapping[str, Any]) -> Any:
        return _as_text(inner(values), label)

    return run


_LOAD_CHECKS: dict[ValueKind, Callable[[str, str], _Eval]] = {
    ValueKind.NUMBER: _number_at,
    ValueKind.BOOLEAN: _condition_at,
    ValueKind.TEXT: _text_at,
}
_RUN_CHECKS: dict[ValueKind, Callable[[_Eval, str], _Eval]] = {
    ValueKind.NUMBER: _number_of,
    ValueKind.BOOLEAN: _condition_of,
    ValueKind.TEXT: _text_of,
}


def _is_nan_or_infinite(value: Any) -> bool:
    """NaN or an infinity, as IEEE floats have them; a huge int is neither."""
    return (
        not isinstance(value, numbers.Integral) and not -_MAX_MAGNITUDE <= value <= _MAX_MAGNITUDE
    )


def _out_of_range(result: Any, left: Any, right: Any, label: str) -> Any:
    """NaN or infinity from the inputs propagates; overflow of finite inputs is an error."""
    if _is_nan_or_infinite(left) or _is_nan_or_infinite(right):
        return result
    raise _Failure(f"{label} is too large")


def _refused(values: Mapping[str, Any]) -> Any:
    """Stands for an operand of the wrong kind (already reported): never computed."""
    raise _Failure("an operand of the wrong kind")


def _arithmetic(
    function: Callable[[Any, Any], Any], left: _Eval, right: _Eval, label: str
) -> _Eval:
    def run(values: Mapping[str, Any]) -> Any:
        a = left(values)
        b = right(values)
        try:
            result = function(a, b)
        except ZeroDivisionError:
            raise _Failure(f"division by zero in {label}") from None
        except OverflowError:
            raise _Failure(f"{label} is too large") from None
        if -_MAX_MAGNITUDE <= result <= _MAX_MAGNITUDE:
            return result
        return _out_of_range(result, a, b, label)

    return run


def _power(base: _Eval, exponent: _Eval, label: str) -> _Eval:
    def run(values: Mapping[str, Any]) -> Any:
        a = base(values)
        b = exponent(values)
        # Checked before computing: the exponent is what makes ** expensive.
        if not -MAX_EXPONENT <= b <= MAX_EXPONENT:
            raise _Failure(f"the exponent in {label} is {b!r}, outside ±{MAX_EXPONENT}")
        if a.__class__ is int and b.__class__ is int and a.bit_length() * b > _MAX_POWER_BITS:
            raise _Failure(f"{label} is too large")
        try:
            result = a**b
        except ZeroDivisionError:
            raise _Failure(f"division by zero in {label}") from None
        except OverflowError:
            raise _Failure(f"{label} is too large") from None
        if isinstance(result, complex):
            raise _Failure(f"{label} is not a real number")
        if -_MAX_MAGNITUDE <= result <= _MAX_MAGNITUDE:
            return result
        return _out_of_range(result, a, b, label)

    return run


def _apply1(function: Callable[[Any], Any], inner: _Eval) -> _Eval:
    return lambda values: function(inner(values))


def _negation(inner: _Eval) -> _Eval:
    return lambda values: not inner(values)


def _all(runs: list[_Eval]) -> _Eval:
    if len(runs) == 2:
        first, second = runs
        return lambda values: first(values) and second(values)

    def run(values: Mapping[str, Any]) -> Any:
        return all(part(values) for part in runs)

    return run


def _any(runs: list[_Eval]) -> _Eval:
    if len(runs) == 2:
        first, second = runs
        return lambda values: first(values) or second(values)

    def run(values: Mapping[str, Any]) -> Any:
        return any(part(values) for part in runs)

    return run


def _comparison(first: _Eval, steps: list[tuple[Callable[[Any, Any], Any], _Eval]]) -> _Eval:
    if len(steps) == 1:
        ((function, second),) = steps
        return lambda values: function(first(values), second(values))

    def run(values: Mapping[str, Any]) -> Any:
        # Each middle operand is evaluated once, and the chain stops at the first false link.
        left = first(values)
        for function, right_run in steps:
            right = right_run(values)
            if not function(left, right):
                return False
            left = right
        return True

    return run


def _if_else(test: _Eval, body: _Eval, orelse: _Eval) -> _Eval:
    return lambda values: body(values) if test(values) else orelse(values)


def _abs(runs: list[_Eval], label: str) -> _Eval:
    (inner,) = runs
    return lambda values: abs(inner(values))


def _extreme(pick: Callable[..., Any]) -> Callable[[list[_Eval], str], _Eval]:
    def build(runs: list[_Eval], label: str) -> _Eval:
        if len(runs) == 2:
            first, second = runs
            return lambda values: pick(first(values), second(values))
        return lambda values: pick([part(values) for part in runs])

    return build


def _round(runs: list[_Eval], label: str) -> _Eval:
    if len(runs) == 1:
        (inner,) = runs

        def run_whole(values: Mapping[str, Any]) -> Any:
            number = inner(values)
            try:
                return round(number)
            except (OverflowError, ValueError):
                raise _Failure(f"cannot round {number!r} in {label}") from None

        return run_whole
    inner, digits_run = runs

    def run(values: Mapping[str, Any]) -> Any:
        number = inner(values)
        digits = digits_run(values)
        if digits.__class__ is not int or not -_MAX_ROUND_DIGITS <= digits <= _MAX_ROUND_DIGITS:
            raise _Failure(
                f"the digits of {label} are {digits!r}, not a whole number from "
                f"{-_MAX_ROUND_DIGITS} to {_MAX_ROUND_DIGITS}"
            )
        return round(number, digits)

    return run


def _clamp(runs: list[_Eval], label: str) -> _Eval:
    inner, low_run, high_run = runs

    def run(values: Mapping[str, Any]) -> Any:
        value = inner(values)
        low = low_run(values)
        high = high_run(values)
        if low > high:
            raise _Failure(f"the low bound {low!r} of {label} is above its high bound {high!r}")
        return low if value < low else high if value > high else value

    return run


_FUNCTION_BUILDERS: dict[str, Callable[[list[_Eval], str], _Eval]] = {
    "abs": _abs,
    "clamp": _clamp,
    "max": _extreme(max),
    "min": _extreme(min),
    "round": _round,
}
