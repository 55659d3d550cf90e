"""The README's promises that can go stale: file paths, the bundled scenarios, the layout."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
#: Paths the README names that a run creates, not the repository.
CREATED = ("out/",)


def _named_paths() -> list[str]:
    paths = []
    for token in re.findall(r"`([^`\s]+)`", README):
        if "/" not in token or token.startswith(("/", "-", "$", "http")) or "*" in token:
            continue
        if token.startswith(CREATED) or not re.fullmatch(r"[\w./-]+", token):
            continue
        paths.append(token)
    return sorted(set(paths))


def test_the_readme_names_paths() -> None:
    assert len(_named_paths()) > 20  # guards the pattern itself


def test_every_path_the_readme_names_exists() -> None:
    missing = [p for p in _named_paths() if not (ROOT / p).exists()]
    assert not missing, f"README.md names paths that do not exist: {missing}"


def test_the_readme_lists_every_bundled_scenario() -> None:
    section = README.split("`SCENARIO` is a file or the name of a bundled scenario", 1)[1]
    table = section.split("\n\n", 2)[1]
    listed = set(re.findall(r"^\| `(\w+)` \|", table, flags=re.M))
    bundled = {p.stem for p in (ROOT / "scenarios" / "reference").glob("*.yaml")}
    assert listed == bundled


def test_the_layout_picture_names_real_folders() -> None:
    block = README.split("## How it is built", 1)[1].split("```", 2)[1]
    folders = re.findall(r"^ ([\w/]+/)\s", block, flags=re.M)
    assert len(folders) >= 10
    assert [f for f in folders if not (ROOT / f).is_dir()] == []
    # every layer folder of the namespace is in the picture
    layers = {p.name + "/" for p in (ROOT / "shocktwin").iterdir() if p.is_symlink()}
    assert {f.split("/")[0] + "/" for f in folders} >= layers


def test_every_declared_marker_is_used() -> None:
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    declared = {m.split(":")[0] for m in config["tool"]["pytest"]["ini_options"]["markers"]}
    used = {m for p in (ROOT / "tests").rglob("*.py")
            for m in re.findall(r"pytest\.mark\.(\w+)", p.read_text(encoding="utf-8"))}
    assert declared <= used, f"declared and never used: {declared - used}"


def test_the_readme_defines_every_kpi_of_the_table() -> None:
    from shocktwin.kpis import KPI_TABLE

    section = README.split("### KPIs", 1)[1].split("\n\n", 2)[1]
    named = set()
    for cell in re.findall(r"^\| (`[^|]+`) \|", section, flags=re.M):
        first, *more = re.findall(r"`(\w+)`", cell)
        named.add(first)
        named.update(first.rsplit("_", 1)[0] + m for m in more)  # `_p95` after `..._mean`
    assert named == {k.value for k in KPI_TABLE}
