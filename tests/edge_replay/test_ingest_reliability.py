"""Ingest under hostile conditions: concurrent writers, glob characters in file names, a
read-only or full disk, a killed ingest, a huge header, and odd bytes that must still give
one-line refusals.

The disk cases run the command in a private mount namespace (``unshare -m``) on a small tmpfs
mounted read-only or nearly full: as root, ``chmod 555`` does not stop writes, a real
read-only or full filesystem does. They are skipped where mounting is not allowed.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from replay_testkit import REPO_DATA, new_store, rows

from shocktwin.edge_replay.ingest import ingest
from shocktwin.edge_replay.mapping import SourceMapping
from shocktwin.errors import ReplayError
from shocktwin.locks import lock_path

SCMS = REPO_DATA / "scms_delivery_history" / "SCMS_Delivery_History_Dataset.csv"
STEEL = REPO_DATA / "steel_plates_faults_uci" / "Faults.NNA"
SECOM = REPO_DATA / "secom_labels_uci" / "secom_labels.data"
#: Rows of each bundled file, as its SOURCE.md (data/README.md) states them.
SCMS_ROWS, STEEL_ROWS = 10_324, 1_941
INSPECTIONS = SourceMapping(table="inspections",
                            columns={"id": "entity_id", "ts": "ts", "res": "result"})


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return new_store(tmp_path)


def shocktwin(*args: str) -> list[str]:
    return [sys.executable, "-m", "shocktwin", *args]


def leftovers(store: Path) -> list[str]:
    """Everything in the store's folder but the store and its (reused) lock file."""
    kept = {store.name, lock_path(store).name}
    return sorted(p.name for p in store.parent.iterdir() if p.name not in kept)


def assert_one_line_each(error: ReplayError) -> None:
    for problem in error.problems:
        text = str(problem)
        assert len(text.splitlines()) == 1 and text.isprintable(), repr(text)
        assert "None" not in text, text


# --- glob characters in names -----------------------------------------------------------------


def _secom(path: Path, n: int) -> None:
    path.write_text("".join(f'-1 "19/07/2008 11:{m:02d}:00"\n' for m in range(n)))


def _csv(path: Path, n: int) -> None:
    tag = path.stem
    path.write_text("id,ts,res\n" + "".join(f"{tag}-{i},2024-01-01 08:00,pass\n"
                                             for i in range(n)))


def _parquet(path: Path, n: int) -> None:
    tag = path.stem
    pq.write_table(pa.table({"id": [f"{tag}-{i}" for i in range(n)],
                             "ts": ["2024-01-01 08:00"] * n, "res": ["pass"] * n}), path)


def _steel(path: Path, n: int) -> None:
    shutil.copy(STEEL.with_name("Faults27x7_var"), path.with_name("Faults27x7_var"))
    with STEEL.open(newline="") as f:
        path.write_text("".join(f.readline() for _ in range(n)), newline="")


#: Per format (so each DuckDB reader in the ingest is covered): the file maker, the mapping.
_WRITERS = {
    "secom": (_secom, None),  # read_text
    "csv": (_csv, INSPECTIONS),  # read_csv straight into the stage
    "steel-plates": (_steel, None),  # read_csv into a copy
    "parquet": (_parquet, INSPECTIONS),  # read_parquet
}


@pytest.mark.parametrize("fmt", sorted(_WRITERS))
@pytest.mark.parametrize(("name", "others"), [
    ("src[1].{ext}", ["src1.{ext}"]),
    ("p?.{ext}", ["p1.{ext}", "p2.{ext}"]),
    ("st*r.{ext}", ["star.{ext}", "stor.{ext}"]),
    ("run[1]/src.{ext}", ["run1/src.{ext}"]),
], ids=["brackets", "question-mark", "star", "folder"])
def test_a_file_name_is_never_a_pattern(
    tmp_path: Path, store: Path, fmt: str, name: str, others: list[str]
) -> None:
    """Only the named file is read, even when its name reads as a glob matching others."""
    make, mapping = _WRITERS[fmt]
    ext = "parquet" if fmt == "parquet" else "csv"
    target = tmp_path / "in" / name.format(ext=ext)
    for i, other in enumerate(others):
        decoy = tmp_path / "in" / other.format(ext=ext)
        decoy.parent.mkdir(parents=True, exist_ok=True)
        make(decoy, 3 + i)
    target.parent.mkdir(parents=True, exist_ok=True)
    make(target, 2)
    report = ingest(target, fmt, store, mapping)
    assert report.source_rows == 2 and report.rows_loaded == 2
    table = report.tables[0].table
    assert rows(store, f"SELECT DISTINCT source FROM {table}") == [(str(target.resolve()),)]
    assert rows(store, f"SELECT count(*) FROM {table}") == [(2,)]
    if mapping is not None:
        ids = {i for (i,) in rows(store, "SELECT entity_id FROM inspections")}
        assert ids == {f"{target.stem}-0", f"{target.stem}-1"}


def test_duplicates_of_a_file_with_glob_characters_are_quoted_from_it(
    tmp_path: Path, store: Path
) -> None:
    """The raw text of a duplicate is read again from the file: from that file only."""
    target, decoy = tmp_path / "d[1].csv", tmp_path / "d1.csv"
    target.write_text("id,ts,res\na,2024-01-01,pass\na,2024-01-02,fail\n")
    decoy.write_text("id,ts,res\nz,2024-01-01,pass\nz,2024-01-02,fail\n")
    ingest(target, "csv", store, INSPECTIONS)
    [(raw,)] = rows(store, "SELECT raw FROM quarantine")
    assert '"a"' in raw and '"z"' not in raw


def test_a_results_folder_named_like_a_glob_is_read_as_named(tmp_path: Path) -> None:
    """``verify`` and ``report`` read a run's Parquet tables from its folder, and only it."""
    from shocktwin.edge_replay.result_tables import read_parquet_tables

    for folder, value in (("run[1]", 1), ("run1", 2)):
        (tmp_path / folder).mkdir()
        pq.write_table(pa.table({"x": [value]}), tmp_path / folder / "kpis.parquet")
    tables = read_parquet_tables({"kpis": tmp_path / "run[1]" / "kpis.parquet"})
    assert list(tables["kpis"]["x"]) == [1]
