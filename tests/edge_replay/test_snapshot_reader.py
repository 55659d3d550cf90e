"""The reader a warm start takes the plant's state from: the rows of one snapshot with due
times in hours from it, a snapshot split over several files, and every way a binding can
miss (no snapshot at that time with the nearest named, an unknown source, two files that
disagree, a store without snapshots)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from replay_testkit import BAD, as_version_1, new_store, write_snapshot_csv

from shocktwin.edge_replay.ingest import ingest
from shocktwin.edge_replay.snapshot import plant_snapshot
from shocktwin.errors import ReplayError

AT = datetime(2012, 3, 1, 6)


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return new_store(tmp_path)


@pytest.fixture
def snapshot_csv(tmp_path: Path) -> Path:
    return write_snapshot_csv(tmp_path)


def test_the_reader_gives_the_rows_taken_at_that_time_in_hours_from_it(
        snapshot_csv: Path, store: Path) -> None:
    ingest(snapshot_csv, "snapshot", store)
    snapshot = plant_snapshot(store, AT)
    assert snapshot.sources == (str(snapshot_csv),)
    got = [(i.kind.value, i.item, i.quantity, i.due_h, i.state, i.line) for i in snapshot.items]
    # The open orders arrive at 20:00, 14 h after 06:00; the wip order was due at 05:00,
    # an hour before the snapshot. The week-later row (line 18) is another snapshot.
    assert got == [
        ("stock", "valves", 10, None, None, 2),
        ("stock", "maker/casting", 40, None, None, 3),
        ("open_order", "maker", 50, 14.0, None, 4),
        ("open_order", "maker", 50, 14.0, None, 5),
        ("wip", "m", 4, -1.0, None, 6),
        ("inspection", "valve", None, None, "tightened", 7),
    ]
    [later] = plant_snapshot(store, datetime(2012, 3, 8, 6)).items
    assert (later.item, later.quantity, later.line) == ("valves", 30, 18)


def test_no_snapshot_at_that_time_names_the_nearest(snapshot_csv: Path, tmp_path: Path,
                                                    store: Path) -> None:
    ingest(snapshot_csv, "snapshot", store)
    more = tmp_path / "more.csv"
    more.write_text("taken_at,kind,item,quantity\n2012-03-15 06:00,stock,valves,5\n"
                    "2012-04-01 06:00,stock,valves,7\n")
    ingest(more, "snapshot", store)
    with pytest.raises(ReplayError) as caught:
        plant_snapshot(store, datetime(2012, 3, 9, 6, 30))
    [problem] = caught.value.problems
    assert (problem.file, problem.path) == (str(store.resolve()), "at")
    assert problem.message == (
        "no snapshot taken at 2012-03-09 06:30 in the snapshots table; 4 snapshots are held "
        "from 2012-03-01 06:00 to 2012-04-01 06:00; the nearest: 2012-03-01 06:00, "
        "2012-03-08 06:00, 2012-03-15 06:00")
    with pytest.raises(ReplayError, match=r"in .*more\.csv; 2 snapshots are held from "
                       r"2012-03-15 06:00 to 2012-04-01 06:00"):
        plant_snapshot(store, AT, source="more.csv")
    with pytest.raises(ReplayError, match=r"no file ingested into the snapshots table matches "
                       r"'other\.csv'"):
        plant_snapshot(store, AT, source="other.csv")


def test_a_snapshot_split_over_files_is_read_together_unless_they_disagree(
        tmp_path: Path, store: Path) -> None:
    stock = tmp_path / "warehouse.csv"
    stock.write_text("taken_at,kind,item,quantity\n2012-03-01 06:00,stock,valves,10\n")
    orders = tmp_path / "erp.csv"
    orders.write_text("taken_at,kind,item,quantity,due_at\n"
                      "2012-03-01 06:00,open_order,maker,50,2012-03-02 06:00\n")
    ingest(stock, "snapshot", store)
    ingest(orders, "snapshot", store)
    snapshot = plant_snapshot(store, AT)
    assert [(i.kind.value, i.due_h) for i in snapshot.items] == [("open_order", 24.0),
                                                                 ("stock", None)]
    assert snapshot.sources == (str(orders), str(stock))
    # The ERP also counts the valves, differently: the line of the second file is named.
    orders.write_text("taken_at,kind,item,quantity,due_at\n"
                      "2012-03-01 06:00,open_order,maker,50,2012-03-02 06:00\n"
                      "2012-03-01 06:00,stock,valves,12,\n")
    ingest(orders, "snapshot", store)
    with pytest.raises(ReplayError) as caught:
        plant_snapshot(store, AT)
    [problem] = caught.value.problems
    assert (problem.file, problem.line, problem.path) == (str(stock), 2, "item")
    assert problem.message == (f"stock of 'valves' at 2012-03-01 06:00 is also given by "
                               f"{orders} line 3; name one file as the source")
    assert len(plant_snapshot(store, AT, source="warehouse.csv").items) == 1


def test_a_store_without_snapshots_is_refused_with_how_to_fill_it(store: Path) -> None:
    ingest(BAD / "ops.csv", "csv", store, BAD / "mapping_ops.yaml")
    with pytest.raises(ReplayError) as caught:
        plant_snapshot(store, AT)
    [problem] = caught.value.problems
    assert problem.path == "store"
    assert "holds no snapshots table" in problem.message
    assert "--format snapshot" in problem.message
    as_version_1(store)
    with pytest.raises(ReplayError, match="holds no snapshots table"):
        plant_snapshot(store, AT)
