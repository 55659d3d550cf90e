"""Every file in bad/ is refused or quarantined with its expected message; never a traceback.

A refused file raises ReplayError and leaves the store byte-identical; a quarantined row is
in ``quarantine`` with its line and reason, and the rest of the file is loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pytest
from replay_testkit import BAD, new_store, rows

from shocktwin.edge_replay.ingest import ingest
from shocktwin.errors import ReplayError
from shocktwin.locks import lock_path


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return new_store(tmp_path)



@dataclass(frozen=True)
class Case:
    file: str
    fmt: str
    outcome: Literal["refused", "quarantined"]
    fragment: str
    mapping: str | None = None
    #: Where the problem must be reported: the source line and the column (path).
    line: int | None = None
    column: str | None = None


CASES = [
    Case("4tu_missing_column.csv", "4tu-production", "refused", "missing column", line=1,
         column="Qty Rejected"),
    Case("4tu_renamed_column.csv", "4tu-production", "refused",
         "missing column; the header has instead: Start Time", line=1, column="Start Timestamp"),
    Case("4tu_bad_timestamp.csv", "4tu-production", "quarantined",
         "cannot read '2012-01-30 05:44' as a timestamp YYYY/MM/DD", line=3,
         column="Start Timestamp"),
    Case("4tu_end_before_start.csv", "4tu-production", "quarantined",
         "end 2012-01-30 04:42:00 is before start 2012-01-30 05:44:00", line=3,
         column="Complete Timestamp"),
    Case("4tu_negative_quantity.csv", "4tu-production", "quarantined", "negative: -3", line=3,
         column="Qty Completed"),
    Case("4tu_duplicate_report.csv", "4tu-production", "quarantined",
         "same as the report at line 2", line=3, column="(row)"),
    Case("4tu_conflicting_order.csv", "4tu-production", "quarantined",
         "the reports of this order disagree: Cable Head / Spur Gear", line=2,
         column="Part Desc."),
    Case("4tu_missing_case.csv", "4tu-production", "quarantined", "missing value", line=3,
         column="Case ID"),
    Case("4tu_ragged.csv", "4tu-production", "refused", "Expected Number of Columns: 14 Found: 3",
         line=3),
    Case("4tu_header_only.csv", "4tu-production", "refused", "no data rows"),
    Case("empty.csv", "4tu-production", "refused", "source file is empty"),
    Case("binary.csv", "csv", "refused", "binary file", mapping="mapping_ops.yaml"),
    Case("latin1.csv", "4tu-production", "refused", "not UTF-8 text"),
    Case("does_not_exist.csv", "4tu-production", "refused", "source file does not exist"),
    Case("secom_bad_values.data", "secom", "quarantined", "cannot read '2' as -1 (pass) or 1",
         line=2, column="label"),
    Case("secom_bad_values.data", "secom", "quarantined",
         "cannot read '31/02/2008 13:17:00' as a timestamp", line=3, column="timestamp"),
    Case("secom_bad_values.data", "secom", "quarantined", "13:17:00\" extra'", line=4,
         column="timestamp"),
    Case("secom_wrong_file.data", "secom", "refused", "no row could be used"),
    Case("scms_unparsable_po_date.csv", "scms", "quarantined",
         "cannot read '2/30/07' as a date M/D/YY", line=3, column="PO Sent to Vendor Date"),
    Case("scms_unparsable_po_date.csv", "scms", "quarantined", "cannot read 'soon'", line=4),
    Case("scms_duplicate_id.csv", "scms", "quarantined",
         "duplicate delivery_id (first at line 2)", line=3, column="ID"),
    Case("scms_negative_quantity_no_vendor.csv", "scms", "quarantined", "negative: -5", line=3,
         column="Line Item Quantity"),
    Case("scms_negative_quantity_no_vendor.csv", "scms", "quarantined", "missing value", line=3,
         column="Vendor"),
    Case("scms_renamed_vendor.csv", "scms", "refused", "the header has instead: Supplier",
         line=1, column="Vendor"),
    Case("steel_bad_rows.NNA", "steel-plates", "quarantined",
         "expected exactly one of the 7 fault flags set, found 2", line=2, column="fault class"),
    Case("steel_bad_rows.NNA", "steel-plates", "quarantined", "cannot read 'abc' as a number",
         line=3, column="Pixels_Areas"),
    Case("steel_wrong_width.NNA", "steel-plates", "refused",
         "expected 34 TAB-separated values, found 5", line=1),
    Case("ops.csv", "csv", "refused", "no column 'Machine' in ops.csv (did you mean 'machine'?)",
         mapping="mapping_unknown_source_column.yaml", line=8, column="columns.Machine"),
    Case("ops.csv", "csv", "refused", "'machine_id' is not a column of operations",
         mapping="mapping_unknown_schema_column.yaml", line=7, column="columns.machine"),
    Case("ops.csv", "csv", "refused", "required column 'start_ts' of operations is not mapped",
         mapping="mapping_missing_required.yaml", line=3, column="columns"),
    Case("ops.csv", "csv", "refused", "not valid YAML", mapping="mapping_bad_yaml.yaml", line=4),
    Case("ops.csv", "csv", "refused", "Extra inputs are not permitted",
         mapping="mapping_wrong_types.yaml", line=3, column="colums"),
    Case("ops.csv", "csv", "refused", "'shipments' cannot be filled from a source",
         mapping="mapping_wrong_types.yaml", line=1, column="table"),
    Case("ops.csv", "csv", "refused", "the csv format needs a mapping file"),
    Case("ops.csv", "4tu-production", "refused", "a mapping file is only used with csv",
         mapping="mapping_ops.yaml"),
    Case("ops.csv", "xlsx", "refused", "unknown format 'xlsx'"),
    Case("ops_missing_values.csv", "csv", "quarantined", "cannot read '9.5' as a whole number",
         mapping="mapping_ops.yaml", line=3, column="good"),
    Case("not_parquet.parquet", "parquet", "refused", "not a Parquet file",
         mapping="mapping_ops.yaml"),
    Case("measurements_only_bad_rows.csv", "measurements", "refused", "no row could be used"),
    Case("measurements_only_bad_rows.csv", "measurements", "refused",
         "cannot read 'thick' as a number", line=2, column="value"),
    Case("measurements_only_bad_rows.csv", "measurements", "refused",
         "not a finite number: inf", line=3, column="value"),
    Case("measurements_renamed_value.csv", "measurements", "refused",
         "missing column; the header has instead: reading", line=1, column="value"),
    Case("measurements_ragged.csv", "measurements", "refused",
         "Expected Number of Columns: 4 Found: 2", line=3),
]


@pytest.fixture
def baseline(store: Path) -> Path:
    """A store that already holds one good ingest, so a refusal must leave it as it was."""
    ingest(BAD / "ops.csv", "csv", store, BAD / "mapping_ops.yaml")
    return store


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.file}-{c.fragment[:30]}")
def test_bad_input(case: Case, baseline: Path) -> None:
    source = BAD / case.file
    mapping = BAD / case.mapping if case.mapping else None
    if case.outcome == "refused":
        before = baseline.read_bytes()
        with pytest.raises(ReplayError) as caught:
            ingest(source, case.fmt, baseline, mapping)
        assert case.fragment in str(caught.value)
        matching = [p for p in caught.value.problems if case.fragment in p.message]
        assert matching, caught.value.problems
        if case.line is not None:
            assert case.line in [p.line for p in matching]
        if case.column is not None:
            assert case.column in [p.path for p in matching]
        for problem in caught.value.problems:  # one plain line each, never a bare None
            assert len(str(problem).splitlines()) == 1 and str(problem).isprintable()
            assert "None" not in str(problem)
        assert baseline.read_bytes() == before
        kept = sorted(p.name for p in baseline.parent.iterdir() if p != lock_path(baseline))
        assert kept == [baseline.name]
        return
    report = ingest(source, case.fmt, baseline, mapping)
    for counts in report.tables:
        assert counts.rows_read == counts.rows_loaded + counts.rows_quarantined
    assert report.rows_loaded > 0 and report.rows_quarantined > 0
    reasons = rows(
        baseline, "SELECT source_line, reason FROM quarantine WHERE source = ?",
        str(source.resolve()),
    )
    expected = f"{case.column}: " if case.column else ""
    assert any(
        case.fragment in reason
        and (case.line is None or line == case.line)
        and expected in reason
        for line, reason in reasons
    ), reasons


def test_every_bad_file_has_a_case() -> None:
    used = {c.file for c in CASES} | {c.mapping for c in CASES if c.mapping}
    # The names file is read beside the Steel Plates files, not ingested itself.
    present = {p.name for p in BAD.iterdir()} - {"Faults27x7_var", ".gitattributes"}
    assert present <= used, present - used
