"""The layers of the code, checked on the import graph built from the source.

Layers, lowest first (README, "How it is built"): the foundation (``shocktwin``'s own
modules), the kernel, the model, rules and shocks, scenarios, the experiment, journals,
resilience analysis, then the doors: reports and the CLI. ``edge_replay``, the door to the
DuckDB store, stands on the foundation alone so that every layer above the model can read and
write through it. An import may only point down; imports under ``if TYPE_CHECKING:`` are for
annotations, never run, and are left out.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: Each layer and the layers it may import (besides itself and the foundation).
LAYERS: dict[str, frozenset[str]] = {}


def _layer(name: str, *below: str) -> None:
    LAYERS[name] = frozenset(below).union(*(LAYERS[b] for b in below))


_layer("edge_replay")
_layer("twin.kernel")
_layer("twin.model", "twin.kernel")
_layer("rules_engine", "twin.model")
_layer("shock_library", "twin.model")
_layer("scenarios", "rules_engine", "shock_library")
_layer("twin.experiment", "scenarios", "edge_replay")
_layer("twin.journal", "twin.experiment")
_layer("twin.resilience", "twin.journal")
_layer("reports", "twin.resilience")
_layer("cli", "reports")

#: Third-party libraries that only one layer may import: it is the door to them.
DOORS = {"duckdb": "edge_replay", "plotly": "reports", "typer": "cli"}
#: Libraries the model never imports, however indirectly it might want them.
NOT_IN_MODEL = frozenset({"duckdb", "plotly", "typer", "rich", "onnxruntime", "dask"})


def _layer_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "shocktwin":
        return None
    rest = ".".join(parts[1:])
    if rest == "__main__":
        return "cli"
    for name in sorted(LAYERS, key=len, reverse=True):
        if rest == name or rest.startswith(name + "."):
            return name
    return "foundation"  # shocktwin's own modules (and the bare ``shocktwin.twin`` package)


def _sources() -> Iterator[tuple[str, Path]]:
    pkg = ROOT / "shocktwin"
    files = [Path(d) / f for d, _, names in os.walk(pkg, followlinks=True)  # the layers' links
             for f in names if f.endswith(".py")]
    for path in sorted(files):
        rel = path.relative_to(pkg).with_suffix("").parts
        if rel[-1] == "__init__":
            rel = rel[:-1]
        yield ".".join(("shocktwin", *rel)), path


def _type_checking_lines(tree: ast.Module) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test) in ("TYPE_CHECKING",
                                                                  "typing.TYPE_CHECKING"):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def _imports(module: str, path: Path) -> Iterator[tuple[str, int]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _type_checking_lines(tree)
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in skip:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            yield target, node.lineno
            for alias in node.names:  # ``from shocktwin.twin import model`` names a module
                yield f"{target}.{alias.name}", node.lineno


def _graph() -> dict[str, dict[str, list[str]]]:
    graph: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for module, path in _sources():
        here = _layer_of(module)
        assert here is not None
        for target, line in _imports(module, path):
            where = f"{os.path.relpath(os.path.realpath(path), ROOT)}:{line}"
            there = _layer_of(target)
            key = "lib:" + target.split(".")[0] if there is None else there
            if key != here and where not in graph[here][key]:
                graph[here][key].append(where)
    return graph


GRAPH = _graph()


def test_the_graph_sees_every_layer() -> None:
    """Guards the test itself: a parser that found nothing would pass everything."""
    assert set(LAYERS) | {"foundation"} <= set(GRAPH) | {"edge_replay"}
    assert "rules_engine" in GRAPH["scenarios"]
    assert "lib:duckdb" in GRAPH["edge_replay"]


@pytest.mark.parametrize("layer", sorted([*LAYERS, "foundation"]))
def test_imports_point_down_only(layer: str) -> None:
    allowed = LAYERS.get(layer, frozenset()) | {"foundation"}
    wrong = {there: places for there, places in GRAPH[layer].items()
             if not there.startswith("lib:") and there not in allowed}
    if layer == "foundation":
        wrong = {t: p for t, p in GRAPH[layer].items() if not t.startswith("lib:")}
    assert not wrong, f"{layer} imports layers above it or beside it: {wrong}"


def test_no_cycles_between_layers() -> None:
    edges = {a: {b for b in targets if not b.startswith("lib:")} for a, targets in GRAPH.items()}
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                cycle = [*path[path.index(nxt):], nxt]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)


@pytest.mark.parametrize(("library", "door"), sorted(DOORS.items()))
def test_a_heavy_library_has_one_door(library: str, door: str) -> None:
    users = {layer: targets["lib:" + library] for layer, targets in GRAPH.items()
             if "lib:" + library in targets and layer != door}
    assert not users, f"{library} is imported outside {door}: {users}"


def test_the_model_imports_no_door_library() -> None:
    for layer in ("twin.kernel", "twin.model"):
        found = {t: p for t, p in GRAPH[layer].items() if t.removeprefix("lib:") in NOT_IN_MODEL}
        assert not found, f"{layer} imports {found}"


PUBLIC = ["shocktwin", "shocktwin.errors", "shocktwin.units", "shocktwin.files",
          "shocktwin.source", "shocktwin.twin.kernel", "shocktwin.twin.model",
          "shocktwin.shock_library", "shocktwin.rules_engine", "shocktwin.scenarios",
          "shocktwin.twin.experiment", "shocktwin.twin.journal", "shocktwin.twin.resilience",
          "shocktwin.edge_replay", "shocktwin.reports", "shocktwin.cli"]


@pytest.mark.parametrize("package", PUBLIC)
def test_every_public_package_imports_first_in_a_fresh_interpreter(package: str) -> None:
    done = subprocess.run([sys.executable, "-c", f"import {package}"], capture_output=True,
                          text=True, cwd=ROOT, timeout=120, check=False)
    assert done.returncode == 0, done.stderr


def test_the_shock_plug_in_api_imports_first() -> None:
    code = "from shocktwin.shock_library import Shock, register; print(Shock.__name__)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, timeout=120, check=False)
    assert done.returncode == 0 and done.stdout.strip() == "Shock", done.stderr


BARE = ("twin", "scenarios", "rules_engine", "shock_library", "edge_replay", "reports", "cli")
#: A dotted text ending in one of these is a file name, not a module path.
FILE_SUFFIXES = {"duckdb", "py", "yaml", "yml", "csv", "json", "parquet", "html", "md", "txt"}


def _bare_references(path: Path) -> Iterator[str]:
    """Imports of a layer by its folder name, and such names handed to importlib or
    importlib.resources, or written into code run in a child interpreter."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            names = [node.module]
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = ast.unparse(node.func)
            if func.endswith(("resources.files", "import_module")) and isinstance(
                    node.args[0].value, str):
                names = [node.args[0].value]
        elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and \
                node.value.value in BARE:
            names = [str(node.value.value)]  # e.g. _PACKAGE = "rules_engine", used later
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if re.fullmatch(r"[a-z_]+(?:\.[a-z_]+)+", node.value) and \
                    node.value.rpartition(".")[2] not in FILE_SUFFIXES:
                names.append(node.value)  # a dotted module path written as text
            for line in node.value.splitlines():
                words = line.strip().split()
                if len(words) >= 2 and words[0] in ("from", "import"):
                    names.append(words[1])
        for name in names:
            if name.split(".")[0] in BARE:
                yield f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', '?')}: {name}"


def test_no_code_names_a_layer_outside_the_namespace() -> None:
    """From the repo root the folders import under their bare names too, so a slip such as
    ``resources.files("rules_engine")`` works in a checkout and fails in every install."""
    files = [path for _, path in _sources()]
    files += sorted((ROOT / "tests").rglob("*.py")) + sorted((ROOT / "bench").rglob("*.py"))
    files.remove(Path(__file__).resolve())  # its layer labels are names, not imports
    found = [ref for path in files for ref in _bare_references(Path(os.path.realpath(path)))]
    assert not found, found


def test_the_command_line_starts_without_the_heavy_libraries() -> None:
    """``shocktwin --help`` imports the CLI only: the engines, statistics, plots, the store,
    the ONNX runtime and the scenario format are imported by the commands that use them
    (bench/startup.py measures what that is worth)."""
    code = ("import sys, shocktwin.cli; print(' '.join(sorted(m for m in sys.modules "
            "if m.split('.')[0] in HEAVY or m in FORMAT)))")
    heavy = "{'scipy', 'plotly', 'onnxruntime', 'duckdb', 'dask', 'simpy', 'salabim', 'pyarrow'}"
    fmt = "{'shocktwin.scenarios.model', 'shocktwin.rules_engine.ruleset'}"
    done = subprocess.run([sys.executable, "-c", f"HEAVY = {heavy}; FORMAT = {fmt}; {code}"],
                          capture_output=True, text=True, cwd=ROOT, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == []


@pytest.mark.parametrize("package", ["shocktwin.twin", "shocktwin.twin.model",
                                     "shocktwin.twin.experiment", "shocktwin.twin.journal",
                                     "shocktwin.twin.resilience", "shocktwin.rules_engine"])
def test_every_lazily_exported_name_resolves(package: str) -> None:
    code = (f"import {package} as p; missing = [n for n in p.__all__ if getattr(p, n, None) "
            "is None]; print(len(p.__all__), missing)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    count, missing = done.stdout.split(" ", 1)
    assert int(count) > 0 and missing.strip() == "[]", done.stdout


#: What only the library does: write files, open the store, journal and save a run.
_LIFE_CYCLE = frozenset({"write_atomic", "write_folder_atomic", "write_document",
                         "write_results", "save_results", "make_journal", "run_experiment",
                         "search_mtds", "compare_rules", "optimize", "open", "write_text",
                         "write_bytes", "mkdir", "unlink"})


def test_the_command_line_is_a_thin_layer_over_the_library() -> None:
    """Each command parses, calls one library function, renders and sets the exit code: no
    command writes a file, journals, saves or strings the steps of a run together itself."""
    offences = []
    for path in sorted((ROOT / "cli").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                name = (node.func.attr if isinstance(node.func, ast.Attribute)
                        else node.func.id if isinstance(node.func, ast.Name) else "")
                if name == "open" and isinstance(node.func, ast.Attribute):
                    continue  # os.open of /dev/null for a closed pipe is the terminal's business
                if name in _LIFE_CYCLE:
                    offences.append(f"{path.name}:{node.lineno}: {name}()")
    assert not offences, offences
