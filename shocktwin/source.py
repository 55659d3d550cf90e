"""Reading source files: YAML parsed safely with a line for every key, and validation
errors turned into problems that name the file, the path inside it and the line.

Shared by every loader (scenarios, rule sets, failure tables, mapping files), so each refuses
the same hostile input in the same words: pipes and devices, files over the size limit,
duplicate keys, recursive anchors, alias bombs, deep nesting and unreadable scalars.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import Field, ValidationError

from shocktwin.errors import Problem, ScenarioError
from shocktwin.files import read_text

__all__ = ["ID_PATTERN", "MAX_FILE_BYTES", "MAX_YAML_DEPTH", "MAX_YAML_NODES", "Ident", "Loc",
           "SemanticProblems", "check_spec_limits", "error_message", "line_for", "loc_text",
           "read_yaml", "validation_problems"]

MAX_FILE_BYTES = 4 * 1024 * 1024
#: Nodes a document may expand to once aliases are followed (defeats "billion laughs").
MAX_YAML_NODES = 200_000
#: Collections nested deeper than this are refused before anything is composed.
MAX_YAML_DEPTH = 200

ID_PATTERN = r"^[A-Za-z][A-Za-z0-9_.\-]{0,63}$"
Ident = Annotated[str, Field(pattern=ID_PATTERN, description="An identifier: a letter first, "
                             "then letters, digits, '_', '-', '.'; at most 64 characters.")]

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
Loc = tuple[str | int, ...]


class SemanticProblems(ValueError):
    """Cross-reference problems, each with its location (a tuple of keys and indices)."""

    def __init__(self, problems: list[tuple[Loc, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{loc_text(loc)}: {msg}" for loc, msg in problems))


def read_yaml(path: str | Path) -> tuple[Any, dict[Loc, int]]:
    """Parse a YAML file safely; returns the data and a map from location to line number."""
    file = str(path)
    text = read_text(path, limit=MAX_FILE_BYTES, error=ScenarioError)
    if not text.strip():
        raise ScenarioError("the file is empty", file=file)
    loader = _Loader(text)
    try:
        _check_depth(text, file)
        node = loader.get_single_node()
        if node is None:
            raise ScenarioError("the file holds no YAML document", file=file)
        problems = list(_check_nodes(node, file))
        if problems:
            raise ScenarioError(problems, file=file)
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as e:
        # libyaml may refuse deep flow nesting while scanning ahead, before our count reaches
        # its limit; the pure-Python parser (iterative, no such limit) tells which it was.
        with contextlib.suppress(yaml.YAMLError):  # then the first error is the one to report
            _check_depth(text, file, yaml.SafeLoader)
        raise ScenarioError([_syntax_problem(file, e)], file=file) from None
    except yaml.reader.ReaderError as e:
        raise ScenarioError([_reader_problem(file, text, e)], file=file) from None
    except yaml.YAMLError as e:
        raise ScenarioError(f"not valid YAML: {_without_stream_name(str(e))}",
                            file=file) from None
    except RecursionError:
        raise ScenarioError("YAML nested too deeply", file=file) from None
    except (ValueError, TypeError, IndexError, KeyError, AttributeError, OverflowError) as e:
        # yaml's safe constructors fail this way on some scalars (dates, numbers).
        raise ScenarioError(f"not valid YAML: a value cannot be read ({e})", file=file) from None
    finally:
        loader.dispose()
    return data, _line_map(node)


def _syntax_problem(file: str, e: yaml.MarkedYAMLError) -> Problem:
    """``file:line:column: not valid YAML: what (while what, from where)``: the marks as
    numbers, not the library's ``in "<unicode string>", line 3, column 1``."""
    mark = e.problem_mark or e.context_mark
    reason = e.problem or e.context or "invalid YAML"
    if e.problem and e.context:
        reason = f"{e.problem} ({e.context}"
        cm = e.context_mark
        if cm is not None and (mark is None or (cm.line, cm.column) != (mark.line, mark.column)):
            reason += f" that starts at line {cm.line + 1}, column {cm.column + 1}"
        reason += ")"
    if mark is None:
        return Problem(file, "", f"not valid YAML: {reason}")
    return Problem(file, "", f"not valid YAML: {reason}", mark.line + 1, mark.column + 1)


def _reader_problem(file: str, text: str, e: yaml.reader.ReaderError) -> Problem:
    """A character YAML does not allow, with its line and column. The readers count
    ``position`` differently (libyaml in UTF-8 bytes), so the character is looked up: the
    first one of its kind is the one refused, as the text is read in order."""
    if isinstance(e.character, int):
        reason = f"unacceptable character #x{e.character:04x}: {e.reason}"
        at = text.find(chr(e.character))
    else:
        reason = str(e.reason)
        at = -1
    if at < 0:
        return Problem(file, "", f"not valid YAML: {reason}")
    line = text.count("\n", 0, at) + 1
    column = at - (text.rfind("\n", 0, at) + 1) + 1
    return Problem(file, "", f"not valid YAML: {reason}", line, column)


def _without_stream_name(message: str) -> str:
    """A YAML library message without its ``in "<unicode string>", ...`` lines."""
    kept = [part.strip() for part in message.splitlines() if "<unicode string>" not in part]
    return " ".join(part for part in kept if part) or "invalid YAML"


# --------------------------------------------------------------------------- YAML nodes


def _check_nodes(root: yaml.Node, file: str) -> Iterator[Problem]:
    """Duplicate keys, recursive anchors and documents that expand too far."""
    sizes: dict[int, int] = {}
    on_stack: set[int] = set()
    dup: list[Problem] = []

    def size(node: yaml.Node, depth: int) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in on_stack:
            raise _Recursive(node)
        if depth > MAX_YAML_DEPTH:
            raise _TooDeep(node)
        on_stack.add(key)
        total = 1
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for k, v in node.value:
                if isinstance(k, yaml.ScalarNode):
                    if k.value in seen and k.value != "<<":
                        dup.append(Problem(file, str(k.value), "duplicate key (first at line "
                                           f"{seen[k.value]})", k.start_mark.line + 1))
                    seen.setdefault(k.value, k.start_mark.line + 1)
                total += size(k, depth + 1) + size(v, depth + 1)
                if total > MAX_YAML_NODES:
                    break
        elif isinstance(node, yaml.SequenceNode):
            for v in node.value:
                total += size(v, depth + 1)
                if total > MAX_YAML_NODES:
                    break
        on_stack.discard(key)
        sizes[key] = total
        return total

    try:
        total = size(root, 0)
    except _TooDeep as e:  # before its base class _Recursive
        yield Problem(file, "", f"YAML nested more than {MAX_YAML_DEPTH} levels deep",
                      e.node.start_mark.line + 1)
        return
    except _Recursive as e:
        yield Problem(file, "", "a YAML anchor refers to itself", e.node.start_mark.line + 1)
        return
    if total > MAX_YAML_NODES:
        yield Problem(file, "", f"the YAML expands to more than {MAX_YAML_NODES:,} values once "
                      "aliases are followed (an alias bomb?)", None)
        return
    yield from dup


def _check_depth(text: str, file: str, loader: type[yaml.SafeLoader] = _Loader) -> None:
    """Refuse deep nesting from the event stream, before anything is composed: the limit is
    ours, whatever depth the YAML library would itself accept or refuse."""
    depth = 0
    for event in yaml.parse(text, Loader=loader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_YAML_DEPTH:
                mark = event.start_mark
                raise ScenarioError([Problem(file, "", f"YAML nested more than {MAX_YAML_DEPTH} "
                                             "levels deep", mark.line + 1 if mark else None)],
                                    file=file)
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


class _Recursive(Exception):
    def __init__(self, node: yaml.Node) -> None:
        self.node = node


class _TooDeep(_Recursive):
    pass


def _line_map(root: yaml.Node) -> dict[Loc, int]:
    lines: dict[Loc, int] = {}

    # A key's line is where the key is written, not where its value starts (a block
    # mapping's value starts on the next line).
    def walk(node: yaml.Node, loc: Loc, line: int, depth: int) -> None:
        if loc in lines or depth > 60:
            return
        lines[loc] = line
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if isinstance(k, yaml.ScalarNode):
                    walk(v, (*loc, str(k.value)), k.start_mark.line + 1, depth + 1)
        elif isinstance(node, yaml.SequenceNode):
            for i, v in enumerate(node.value):
                walk(v, (*loc, i), v.start_mark.line + 1, depth + 1)

    walk(root, (), root.start_mark.line + 1, 0)
    return lines


# --------------------------------------------------------------------------- problems


def validation_problems(e: ValidationError, data: Any, file: str | None,
              lines: dict[Loc, int]) -> Iterator[Problem]:
    for err in e.errors(include_url=False):
        ctx = err.get("ctx") or {}
        inner = ctx.get("error")
        base = _data_loc(data, err["loc"])
        if isinstance(inner, SemanticProblems):
            for loc, message in inner.problems:
                full = (*base, *loc)
                yield Problem(file, loc_text(full), message, line_for(lines, full))
            continue
        message = error_message(err)
        yield Problem(file, loc_text(base), message, line_for(lines, base))


def error_message(err: Any) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "required key is missing"
    msg = str(err["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            msg = msg[len(prefix):]
    if kind == "union_tag_invalid" or kind == "literal_error":
        return f"{msg} (got {err.get('input')!r})"
    return msg


def _data_loc(data: Any, loc: tuple[Any, ...]) -> Loc:
    """pydantic's error location without its union tags, so it names keys in the file."""
    out: list[str | int] = []
    node = data
    for part in loc:
        if isinstance(node, dict):
            if part in node:
                out.append(part)
                node = node[part]
            elif isinstance(part, str) and _is_tag(part):
                continue
            else:
                out.append(part)
                node = None
        elif isinstance(node, list) and isinstance(part, int):
            out.append(part)
            node = node[part] if 0 <= part < len(node) else None
        elif isinstance(part, str) and _is_tag(part):
            continue
        else:
            out.append(part)
            node = None
    return tuple(out)


_TAGS = {"process", "inspection", "release", "constant", "exponential", "lognormal", "gamma",
         "normal", "uniform", "triangular", "weibull", "int", "float", "str", "none", "bool",
         "list", "dict"}


def _is_tag(part: str) -> bool:
    return part in _TAGS or "[" in part or part.startswith(("function-", "constrained-"))


def line_for(lines: Mapping[Loc, int], loc: Loc) -> int | None:
    """The line of ``loc``, or of the nearest enclosing key written in the file. A key the
    file leaves out because it used a short form (``hypothesis: [...]`` for
    ``hypothesis: {tolerances: [...]}``) is stepped over when what follows it is there."""
    found: Loc = ()
    i = 0
    while i < len(loc):
        if (*found, loc[i]) in lines:
            found = (*found, loc[i])
        elif isinstance(loc[i], str) and i + 1 < len(loc) and (*found, loc[i + 1]) in lines:
            found = (*found, loc[i + 1])
            i += 1
        else:
            break
        i += 1
    return lines.get(found)


def loc_text(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def check_spec_limits(lsl: float | None, usl: float | None, target: float | None) -> None:
    """Specification limits as both file formats take them: at least one, lsl below usl,
    the target between them.

    Raises:
        ValueError: the first of these that does not hold, worded for the file's reader.
    """
    if lsl is None and usl is None:
        raise ValueError("give lsl, usl or both")
    if lsl is not None and usl is not None and lsl >= usl:
        raise ValueError(f"lsl {lsl:g} must be below usl {usl:g}")
    if target is not None and ((lsl is not None and target < lsl)
                               or (usl is not None and target > usl)):
        raise ValueError(f"target {target:g} is outside the limits")
