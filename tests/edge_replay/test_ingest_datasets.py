"""The four recorded datasets ingest with the row counts their SOURCE.md files state.

Rows read are the counts stated in each SOURCE.md (and data/README.md); loaded and quarantined
follow from the analysis in edge_replay/SCHEMA.md, which names every quarantined row.
"""

from __future__ import annotations

import csv
import hashlib
from datetime import date, datetime
from pathlib import Path

import pytest
from replay_testkit import REPO_DATA, SHARED_DATA, new_store, rows

from shocktwin.edge_replay.ingest import IngestReport, SourceFormat, ingest
from shocktwin.edge_replay.schema import Table


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return new_store(tmp_path)


BUNDLED_SHA256 = {
    "secom_labels_uci/secom_labels.data":
        "c9255e9c997a716d60c07cb1111ea6f0e97e5c441c4deeb2c95ea2525231edb1",
    "scms_delivery_history/SCMS_Delivery_History_Dataset.csv":
        "75fb976c9996fa902e349415dc6da95fb682c3da189432ce906b780bba3bdbf3",
    "steel_plates_faults_uci/Faults.NNA":
        "5c1e270d42b950a569407f74e87e7ef6f013aef592ed627617395c9abdecc344",
    "steel_plates_faults_uci/Faults27x7_var":
        "887dbfa140b48877b706865ef277550dc0203699243c600e24bfe8b090a9a953",
}


@pytest.mark.parametrize("name", sorted(BUNDLED_SHA256))
def test_bundled_files_are_unchanged_copies(name: str) -> None:
    digest = hashlib.sha256((REPO_DATA / name).read_bytes()).hexdigest()
    assert digest == BUNDLED_SHA256[name]


def _assert_conserved(report: IngestReport) -> None:
    for counts in report.tables:
        assert counts.rows_loaded + counts.rows_quarantined == counts.rows_read


def test_4tu_production_log(store: Path) -> None:
    source = SHARED_DATA / "production_4tu" / "Production_Data.csv"
    if not source.is_file():
        pytest.skip(f"4TU production log not at {source}; it is not bundled (licence unconfirmed)")
    report = ingest(source, SourceFormat.PRODUCTION_4TU, store)
    _assert_conserved(report)
    ops, orders = report.counts(Table.OPERATIONS), report.counts(Table.WORK_ORDERS)
    assert report.source_rows == 4543  # SOURCE.md: 4,543 events
    assert (ops.rows_read, ops.rows_loaded, ops.rows_quarantined) == (4543, 4521, 22)
    assert (orders.rows_read, orders.rows_loaded, orders.rows_quarantined) == (225, 225, 0)
    assert (ops.period_start, ops.period_end) == (
        datetime(2012, 1, 2, 0, 0), datetime(2012, 3, 31, 5, 45)
    )
    reasons = rows(store, "SELECT DISTINCT table_name, split_part(reason, ' at line', 1) "
                           "FROM quarantine")
    assert reasons == [("operations", "(row): same as the report")]
    # SOURCE.md sums and distinct counts; the double postings carry no quantities.
    [(done, rejected, mrb, rework, resources, activities, workers, parts)] = rows(
        store,
        "SELECT sum(qty_completed), sum(qty_rejected), sum(qty_review), count(*) FILTER (rework),"
        " count(DISTINCT resource), count(DISTINCT activity), count(DISTINCT operator),"
        " (SELECT count(DISTINCT part) FROM work_orders) FROM operations",
    )
    assert (done, rejected, mrb, rework) == (92519, 593, 105, 32)
    assert (resources, activities, workers, parts) == (31, 55, 49, 43)
    [(negative,)] = rows(store, "SELECT count(*) FROM processing_times WHERE duration_h < 0")
    assert negative == 0


def test_secom_labels(store: Path) -> None:
    report = ingest(REPO_DATA / "secom_labels_uci" / "secom_labels.data", "secom", store)
    _assert_conserved(report)
    counts = report.counts(Table.INSPECTIONS)
    assert (counts.rows_read, counts.rows_loaded, counts.rows_quarantined) == (1567, 1567, 0)
    assert (counts.period_start, counts.period_end) == (
        datetime(2008, 7, 19, 11, 55), datetime(2008, 10, 17, 6, 7)
    )
    assert rows(store, "SELECT result, count(*) FROM inspections GROUP BY 1 ORDER BY 1") == [
        ("fail", 104), ("pass", 1463)
    ]
    # Rows are in time order and the entity id is the line (= row of secom.data).
    [(out_of_order, id_mismatch)] = rows(
        store,
        "SELECT count(*) FILTER (interarrival_h < 0), "
        "(SELECT count(*) FROM inspections WHERE entity_id <> CAST(source_line AS VARCHAR)) "
        "FROM inspection_arrivals",
    )
    assert (out_of_order, id_mismatch) == (0, 0)
    [(median_h, max_h)] = rows(
        store, "SELECT median(interarrival_h), max(interarrival_h) FROM inspection_arrivals"
    )
    assert round(median_h, 2) == 0.62 and round(max_h, 1) == 48.6  # SOURCE.md


def test_scms_delivery_history(store: Path) -> None:
    source = REPO_DATA / "scms_delivery_history" / "SCMS_Delivery_History_Dataset.csv"
    report = ingest(source, "scms", store)
    _assert_conserved(report)
    counts = report.counts(Table.SUPPLIER_DELIVERIES)
    assert (counts.rows_read, counts.rows_loaded, counts.rows_quarantined) == (10324, 10319, 5)
    # The five lines delivered before their PO was sent (SOURCE.md: "5 ... are negative").
    quarantined = rows(
        store, "SELECT json_extract_string(raw, '$.ID'), reason FROM quarantine ORDER BY 1"
    )
    assert [q[0] for q in quarantined] == ["13148", "25539", "4190", "4432", "52710"]
    assert all("before the order was sent" in q[1] for q in quarantined)
    [(with_po, median_days, first_po, last_po, last_promised, last_actual)] = rows(
        store,
        "SELECT count(order_date), median(lead_time_days), min(order_date), max(order_date), "
        "max(promised_date), max(actual_date) FROM supplier_lead_times",
    )
    assert with_po == 4592 - 5  # SOURCE.md: 4,592 PO dates parse
    assert median_days == 92
    assert (first_po.year, first_po.month) == (2006, 4)
    assert (last_po.year, last_po.month) == (2015, 8)
    assert last_promised == date(2015, 12, 31) and last_actual == date(2015, 9, 14)
    assert rows(store, "SELECT count(*) FROM supplier_deliveries WHERE mode IS NULL") == [(359,)]


def test_scms_po_dates_are_decoded(
    tmp_path: Path, store: Path
) -> None:
    """The mangled 20MM-DD-YY PO dates, the two M/D/Y forms, and the no-PO markers."""
    source = REPO_DATA / "scms_delivery_history" / "SCMS_Delivery_History_Dataset.csv"
    with source.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f)
        header, first = next(reader), next(reader)
    po, ident = header.index("PO Sent to Vendor Date"), header.index("ID")
    sched, deliv = header.index("Scheduled Delivery Date"), header.index("Delivered to Client Date")
    cases = {
        "2002-01-13": date(2013, 2, 1),  # SOURCE.md's own examples
        "2011-03-09": date(2009, 11, 3),
        "11/13/06": date(2006, 11, 13),
        "12/01/2006": date(2006, 12, 1),
        "N/A - From RDC": None,
        "Date Not Captured": None,
    }
    lines = []
    for i, value in enumerate(cases):
        row = list(first)
        row[ident], row[po], row[sched], row[deliv] = str(i), value, "31-Dec-15", "31-Dec-15"
        lines.append(row)
    small = tmp_path / "scms_small.csv"
    with small.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([header, *lines])
    ingest(small, "scms", store)
    got = dict(rows(store, "SELECT delivery_id, order_date FROM supplier_deliveries"))
    assert {list(cases)[int(k)]: v for k, v in got.items()} == cases


def test_steel_plates_faults(store: Path) -> None:
    report = ingest(REPO_DATA / "steel_plates_faults_uci" / "Faults.NNA", "steel-plates", store)
    _assert_conserved(report)
    counts = report.counts(Table.FEATURES)
    assert (counts.rows_read, counts.rows_loaded, counts.rows_quarantined) == (1941, 1941, 0)
    assert dict(rows(store, "SELECT label, count(*) FROM features GROUP BY 1")) == {
        "Pastry": 158, "Z_Scratch": 190, "K_Scatch": 391, "Stains": 72,
        "Dirtiness": 55, "Bumps": 402, "Other_Faults": 673,
    }
    [(names, labels)] = rows(store, "SELECT feature_names, label_names FROM feature_sets")
    assert len(names) == 27 and names[0] == "X_Minimum" and names[-1] == "SigmoidOfAreas"
    assert labels == ["Pastry", "Z_Scratch", "K_Scatch", "Stains", "Dirtiness", "Bumps",
                      "Other_Faults"]
    [(first,)] = rows(store, "SELECT feature_vector FROM features WHERE source_line = 1")
    assert first[:4] == [42.0, 50.0, 270900.0, 270944.0] and first[-1] == 0.5822
    assert rows(store, "SELECT DISTINCT len(feature_vector) FROM features") == [(27,)]
