"""The mapping file format for generic CSV / Parquet sources."""

from __future__ import annotations

from pathlib import Path

import pydantic
import pytest
from replay_testkit import BAD

from shocktwin.edge_replay.mapping import SourceMapping, load_mapping, mapping_problems
from shocktwin.edge_replay.schema import Table
from shocktwin.errors import ReplayError


def test_good_mapping_loads() -> None:
    mapping = load_mapping(BAD / "mapping_ops.yaml")
    assert mapping.table is Table.OPERATIONS
    assert mapping.delimiter == ";"
    assert mapping.schema_to_source()["start_ts"] == "began"
    with pytest.raises(pydantic.ValidationError):
        mapping.delimiter = ","  # type: ignore[misc]


def test_all_problems_are_reported_at_once(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(
        "table: inspections\n"
        "columns:\n"
        "  Part: entity_id\n"
        "  Serial: entity_id\n"
        "  Verdict: outcome\n"
        "timestamp_format: '%Q'\n"
        "feature_columns: [a]\n"
    )
    with pytest.raises(ReplayError) as caught:
        load_mapping(path)
    found = {(p.path, p.line) for p in caught.value.problems}
    assert ("columns.Serial", 4) in found  # entity_id mapped twice
    assert ("columns.Verdict", 5) in found  # no such schema column
    assert ("columns", 2) in found  # ts and result not mapped
    assert ("timestamp_format", 6) in found
    assert ("feature_columns", 7) in found
    assert len(caught.value.problems) == 6


def test_missing_mapping_file(tmp_path: Path) -> None:
    with pytest.raises(ReplayError, match=r"nope\.yaml: no such file"):
        load_mapping(tmp_path / "nope.yaml")


def test_mapping_that_is_not_a_yaml_mapping(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text("- table\n- columns\n")
    with pytest.raises(ReplayError, match="must be a YAML mapping"):
        load_mapping(path)


def test_mapping_built_in_code_is_checked_too() -> None:
    mapping = SourceMapping(table=Table.FEATURES, columns={"id": "entity_id"})
    [problem] = mapping_problems(mapping)
    assert problem.path == "feature_columns"
