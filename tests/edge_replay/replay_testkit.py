"""Shared helpers for the edge_replay tests: where the data lives, a reader for stores, the
sample downtime, snapshot and measurement files, and a store made as an older schema version
left it.

Plain functions and constants rather than conftest fixtures: other test folders import their
own ``conftest`` by name, which a second ``conftest`` module would shadow.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from shocktwin.edge_replay.schema import open_store

__all__ = ["BAD", "DOWNTIME_CSV", "MEASUREMENTS_CSV", "REPO_DATA", "SHARED_DATA", "SNAPSHOT_CSV",
           "as_version", "as_version_1", "new_store", "rows", "write_downtime_csv",
           "write_measurements_csv", "write_snapshot_csv"]

_HERE = Path(__file__).resolve().parent
_REPO = Path(__file__).resolve().parents[2]

#: The repository's bundled demo data.
REPO_DATA = _REPO / "data"
#: The shared data folder beside the repository, which holds data that is not bundled.
SHARED_DATA = _REPO.parent / "shared" / "data"
#: Small bad input files, one per failure the ingest must handle.
BAD = _HERE / "bad"


def rows(db: Path, sql: str, *params: object) -> list[tuple[Any, ...]]:
    """Rows of a read-only query on the store ``db``."""
    con = open_store(db)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def new_store(tmp_path: Path) -> Path:
    """Path of a store that does not exist yet, alone in its own folder."""
    folder = tmp_path / "store"
    folder.mkdir()
    return folder / "plant.duckdb"


#: What a store of each older schema version lacks: its views, then its tables. Written out
#: here rather than taken from the schema module, so that a wrong ``ADDED_SINCE`` fails.
_LACKED: dict[int, tuple[tuple[str, ...], tuple[str, ...]]] = {
    1: (("machine_downtime_stats", "machine_outages", "snapshot_times", "measurement_stats"),
        ("downtime", "snapshots", "measurements")),
    2: (("measurement_stats",), ("measurements",)),
}


def as_version(store: Path, version: int) -> None:
    """Make ``store`` what a shocktwin of schema ``version`` left: 1, no downtime, snapshots
    or measurements table; 2, no measurements table."""
    views, tables = _LACKED[version]
    con = duckdb.connect(str(store))
    try:
        for view in views:
            con.execute(f"DROP VIEW {view}").fetchall()
        for table in tables:
            con.execute(f"DROP TABLE {table}").fetchall()
        con.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'",
                    [str(version)]).fetchall()
    finally:
        con.close()


def as_version_1(store: Path) -> None:
    """``as_version(store, 1)``."""
    as_version(store, 1)


# Line 1 is the header; the comment after each row says what the ingest must do with it.
DOWNTIME_CSV = """\
machine,start,end,cause
press,2024-03-04 10:15,2024-03-04 12:15,hydraulic leak
press,2024-03-04 20:40,2024-03-04 21:10,guard open
press,2024-03-04 21:00,2024-03-04 21:20,light curtain
press,2024-03-05 07:00,2024-03-05 06:00,clock set back
,2024-03-05 08:00,2024-03-05 09:00,no machine
press,,2024-03-05 09:00,
press,2024-03-05 08:00,,
press,yesterday,2024-03-05 09:00,
press,2024-03-04 10:15,2024-03-04 12:15,hydraulic leak
lathe,2024-03-03 22:00,2024-03-03 23:00,
lathe,2024-03-06 01:00,2024-03-06 01:00,momentary alarm
"""
# 2: loaded; 3 and 4 overlap: both loaded, one outage 20:40-21:20; 5: end before start;
# 6-8: a required value missing; 9: unreadable start; 10: a double posting of line 2;
# 11: loaded (lathe); 12: loaded, takes no time, so no outage.


# Line 1 is the header; the comment after the table says what the ingest must do with each.
SNAPSHOT_CSV = """\
taken_at,kind,item,quantity,due_at,product,state
2012-03-01 06:00,stock,valves,10,,,
2012-03-01 06:00,stock,maker/casting,40,,,
2012-03-01 06:00,open_order,maker,50,2012-03-01 20:00,,
2012-03-01 06:00,open_order,maker,50,2012-03-01 20:00,,
2012-03-01 06:00,wip,m,4,2012-03-01 05:00,,
2012-03-01 06:00,inspection,valve,,,,tightened
2012-03-01 06:00,stok,valves,10,,,
2012-03-01 06:00,stock,valves,12,,,
2012-03-01 06:00,open_order,maker,50,2012-02-28 09:00,,
2012-03-01 06:00,wip,m,0,,,
2012-03-01 06:00,inspection,bolt,,,,strict
2012-03-01 06:00,inspection,nut,,,,
2012-03-01 06:00,stock,bolts,-3,,,
2012-03-01 06:00,stock,bolts,,,,
2012-03-01 06:00,open_order,maker,five,2012-03-02,,
yesterday,stock,nuts,1,,,
2012-03-08 06:00,stock,valves,30,,,
"""
# 2-7 loaded: two stocks, two alike open orders (two orders), units in work whose order is
# already an hour late, an inspection state. 8: unknown kind; 9: a second stock of valves at
# 06:00; 10: an open order due before the snapshot; 11: wip of 0 units and no due time;
# 12: unknown state; 13: inspection without a state; 14: negative stock; 15: stock without
# a quantity; 16: an unreadable quantity; 17: an unreadable time; 18: loaded, a week later.


# Line 1 is the header; the comment after the table says what the ingest must do with each.
MEASUREMENTS_CSV = """\
time,entity,characteristic,value,station,supplier,lot
2024-03-04 06:00,W1,film_thickness,1.02,coater 1,acme,L1
2024-03-04 06:00,W1,sheet_resistance,45.1,probe,acme,L1
2024-03-04 05:30,W2,film_thickness,0.98,coater 2,bolt,L2
2024-03-04 07:00,W3,film_thickness,abc,coater 1,acme,L1
2024-03-04 07:10,W4,film_thickness,NaN,coater 1,acme,L1
2024-03-04 07:20,W5,film_thickness,-inf,coater 1,acme,L1
,W6,film_thickness,1.00,coater 1,acme,L1
2024-03-04 07:40,,film_thickness,1.00,coater 1,acme,L1
2024-03-04 07:50,W8,,1.00,coater 1,acme,L1
04.03.2024 08:00,W9,film_thickness,1.00,coater 1,acme,L1
2024-03-04 06:00,W1,film_thickness,1.03,coater 1,acme,L1
2024-03-04 08:30,W10,film_thickness,1.01,coater 2,,
2024-03-04 08:30,W11,film_thickness,1.04,coater 1,acme,L1
2024-03-04 09:00,W1,film_thickness,,coater 1,acme,L1
"""
# 2-4 loaded: W1's film thickness and sheet resistance at one time (two characteristics),
# and W2 half an hour before the file's first line. 5: not a number; 6: NaN; 7: infinite;
# 8-10: no time, entity or characteristic; 11: a time that is not ISO 8601; 12: a second
# film thickness of W1 at 06:00 (line 2 is kept); 13: loaded, without supplier and lot;
# 14: loaded, at the same time as 13 (so the line decides their order); 15: no value.


def write_measurements_csv(folder: Path) -> Path:
    """``MEASUREMENTS_CSV`` written to ``folder/measurements.csv``."""
    path = folder / "measurements.csv"
    path.write_text(MEASUREMENTS_CSV, encoding="utf-8")
    return path


def write_downtime_csv(folder: Path) -> Path:
    """``DOWNTIME_CSV`` written to ``folder/downtime.csv``."""
    path = folder / "downtime.csv"
    path.write_text(DOWNTIME_CSV, encoding="utf-8")
    return path


def write_snapshot_csv(folder: Path) -> Path:
    """``SNAPSHOT_CSV`` written to ``folder/snapshot.csv``."""
    path = folder / "snapshot.csv"
    path.write_text(SNAPSHOT_CSV, encoding="utf-8")
    return path
