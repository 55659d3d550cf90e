"""Ingest under hostile conditions: concurrent writers, glob characters in file names, a
read-only or full disk, a killed ingest, a huge header, and odd bytes that must still give
one-line refusals.

The disk cases run the command in a private mount namespace (``unshare -m``) on a small tmpfs
mounted read-only or nearly full: as root, ``chmod 555`` does not stop writes, a real
read-only or full filesystem does. They are skipped where mounting is not allowed.
"""

from __future__ import annotations

import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from replay_testkit import BAD, REPO_DATA, new_store, rows

from shocktwin.edge_replay import _formats
from shocktwin.edge_replay.ingest import ingest
from shocktwin.edge_replay.mapping import SourceMapping
from shocktwin.errors import ReplayError
from shocktwin.files import TEMP_SUFFIX
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


# --- two writers ------------------------------------------------------------------------------


def test_concurrent_ingests_into_one_store_both_land(tmp_path: Path) -> None:
    """Two commands started together into one store: both datasets are there afterwards.

    Without the store lock each copied the store before the other had replaced it, and the
    later replace dropped the other's rows while both reported success.
    """
    for i in range(5):
        db = tmp_path / f"pair{i}" / "plant.duckdb"
        db.parent.mkdir()
        procs = [
            subprocess.Popen(shocktwin("ingest", str(SCMS), "--format", "scms", "--db", str(db)),
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True),
            subprocess.Popen(shocktwin("ingest", str(STEEL), "--format", "steel-plates", "--db",
                                       str(db)),
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True),
        ]
        for p in procs:
            _, err = p.communicate(timeout=600)
            assert p.returncode == 0, err
        [(deliveries, features)] = rows(
            db, "SELECT (SELECT count(*) FROM supplier_deliveries) + (SELECT count(*) FROM "
                "quarantine WHERE table_name = 'supplier_deliveries'), "
                "(SELECT count(*) FROM features)")
        assert (deliveries, features) == (SCMS_ROWS, STEEL_ROWS), f"pair {i}"
        assert leftovers(db) == []


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


# --- read-only and full disks -----------------------------------------------------------------


def on_small_disk(folder: Path, options: str, command: list[str]) -> tuple[int, str, list[str]]:
    """Run ``command`` with a tmpfs (mount ``options``) on ``folder``; returns its exit code,
    its stderr, and what it left in the folder. The mount ends with the namespace."""
    script = (f"mount -t tmpfs -o {options} tmpfs {shlex.quote(str(folder))} || exit 99; "
              f"{shlex.join(command)} >/dev/null; echo \"rc=$?\"; ls -A {shlex.quote(str(folder))}")
    done = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True,
                          timeout=600)
    report = done.stdout.splitlines()
    assert done.returncode == 0 and report, (done.returncode, done.stderr)
    return int(report[0].removeprefix("rc=")), done.stderr, report[1:]


def _assert_one_clean_error(stderr: str, path: Path) -> None:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith(f"error: {path}: ") and "cannot" in lines[0], stderr


def test_ingest_into_a_read_only_folder_is_one_clean_error(small_disk: Path) -> None:
    db = small_disk / "plant.duckdb"
    rc, stderr, left = on_small_disk(small_disk, "ro,size=1m", shocktwin(
        "ingest", str(SECOM), "--format", "secom", "--db", str(db)))
    assert rc == 2
    _assert_one_clean_error(stderr, db)
    assert left == []


def test_ingest_onto_a_full_disk_is_one_clean_error(small_disk: Path) -> None:
    db = small_disk / "plant.duckdb"
    rc, stderr, left = on_small_disk(small_disk, "size=256k", shocktwin(
        "ingest", str(SCMS), "--format", "scms", "--db", str(db)))
    assert rc == 2
    _assert_one_clean_error(stderr, db)
    assert left == [lock_path(db).name]  # no store, no temporary store


def test_derive_into_a_read_only_folder_is_one_clean_error(
    small_disk: Path, store: Path
) -> None:
    ingest(BAD / "4tu_bad_timestamp.csv", "4tu-production", store)
    out = small_disk / "shop.yaml"
    rc, stderr, _ = on_small_disk(small_disk, "ro,size=1m", shocktwin(
        "derive", "--db", str(store), "--out", str(out)))
    assert rc == 2
    _assert_one_clean_error(stderr, out)


def test_store_under_a_file_is_one_clean_error(tmp_path: Path) -> None:
    """Works without a mount: a path whose folder is a file fails for root as well."""
    not_a_folder = tmp_path / "somefile"
    not_a_folder.write_text("x")
    db = not_a_folder / "plant.duckdb"
    done = subprocess.run(shocktwin("ingest", str(SECOM), "--format", "secom", "--db", str(db)),
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {db}: "), done.stderr


# --- a killed ingest ---------------------------------------------------------------------------


def _temporaries(store: Path) -> list[str]:
    prefix = f".{store.name}."
    return [p.name for p in store.parent.iterdir()
            if p.name.startswith(prefix) and TEMP_SUFFIX in p.name]


def test_the_next_ingest_removes_what_a_killed_one_left(store: Path) -> None:
    ingest(SECOM, "secom", store)
    for _ in range(20):  # until the kill lands while the temporary store exists
        proc = subprocess.Popen(shocktwin("ingest", str(SCMS), "--format", "scms", "--db",
                                          str(store)),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while proc.poll() is None and not _temporaries(store):
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=600)
        if _temporaries(store):
            break
    else:
        pytest.fail("no ingest was caught with its temporary store")
    assert proc.returncode == -signal.SIGKILL
    ingest(STEEL, "steel-plates", store)
    assert leftovers(store) == []
    assert rows(store, "SELECT count(*) FROM inspections") == [(1567,)]
    assert rows(store, "SELECT count(*) FROM supplier_deliveries") == [(0,)]


def test_temporaries_of_the_earlier_naming_are_removed(store: Path) -> None:
    """Ingests before the shared writer named their temporary ``.<store>.<hex>.duckdb.tmp``."""
    ingest(SECOM, "secom", store)
    old = store.with_name(f".{store.name}.0123456789ab.duckdb.tmp")
    for path in (old, Path(f"{old}.wal")):
        path.write_bytes(b"left by a killed ingest")
    Path(f"{old}.tmp").mkdir()
    unrelated = store.with_name(f".{store.name}.backup.duckdb.tmp")
    unrelated.write_bytes(b"not ours")
    ingest(STEEL, "steel-plates", store)
    assert leftovers(store) == [unrelated.name]


# --- huge headers and odd bytes ------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "scms"])
def test_a_header_of_ten_thousand_columns_is_refused_before_reading(
    tmp_path: Path, store: Path, fmt: str
) -> None:
    wide = tmp_path / "wide.csv"
    names = ["id", "ts", "res", *(f"c{i}" for i in range(10_000 - 3))]
    wide.write_text(",".join(names) + "\n" + ",".join(["1"] * len(names)) + "\n")
    mapping = INSPECTIONS if fmt == "csv" else None
    with pytest.raises(ReplayError) as caught:
        ingest(wide, fmt, store, mapping)
    [problem] = caught.value.problems
    assert (problem.file, problem.line) == (str(wide), 1)
    assert f"10,000 columns; at most {_formats.MAX_COLUMNS:,}" in problem.message


def test_a_parquet_file_of_ten_thousand_columns_is_refused(tmp_path: Path, store: Path) -> None:
    wide = tmp_path / "wide.parquet"
    pq.write_table(pa.table({f"c{i}": [1] for i in range(10_000)}), wide)
    mapping = SourceMapping(table="inspections",
                            columns={"c0": "entity_id", "c1": "ts", "c2": "result"})
    with pytest.raises(ReplayError, match="10,000 columns"):
        ingest(wide, "parquet", store, mapping)


#: Odd files, each refused: control characters and line breaks in a header or in values,
#: empty headers, binary data without NUL bytes.
ODD = {
    "newline_in_header.csv": b'"a\nb",c\n1,2\n',
    "form_feed_in_header.csv": b"a\x0cb,c\n1,2\n",
    "escape_in_header.csv": b"ID,\x1b[31mVendor\nx,y\n",
    "line_separator_in_header.csv": "ID\u2028x,b\n1,2\n".encode(),
    "empty_header.csv": b"\n1,2\n",
    "only_commas_header.csv": b",,\n1,2,3\n",
    "newline_in_values.csv": b'id,ts,res\n"a\nb","x\ny",pass\n',
    "control_values.csv": b"id,ts,res\n\x01\x02,\x1b[31m,\x0b\n",
    "binary_without_nul.csv": bytes((i * 37 + 11) % 127 + 1 for i in range(4000)),
}


@pytest.mark.parametrize("fmt", ["csv", "scms", "4tu-production", "secom"])
@pytest.mark.parametrize("name", sorted(ODD))
def test_odd_files_are_refused_one_line_each(
    tmp_path: Path, store: Path, name: str, fmt: str
) -> None:
    source = tmp_path / name
    source.write_bytes(ODD[name])
    with pytest.raises(ReplayError) as caught:
        ingest(source, fmt, store, INSPECTIONS if fmt == "csv" else None)
    assert_one_line_each(caught.value)


def test_a_null_table_in_a_mapping_file_does_not_say_none(tmp_path: Path, store: Path) -> None:
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("table:\ncolumns: {null: entity_id}\n")
    with pytest.raises(ReplayError) as caught:
        ingest(BAD / "ops.csv", "csv", store, mapping)
    assert_one_line_each(caught.value)
    assert [p.path for p in caught.value.problems] == ["table", "columns.null.[key]"]


_ODD_BYTES = st.binary(max_size=300).map(
    lambda b: bytes(c for c in b if c != 0)  # NUL bytes are refused as binary up front
) | st.text(alphabet="\x01\x0b\x0c\x1b\x1c\x85\u2028\n\r,\";\t ab1:-/", max_size=200).map(
    str.encode)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=_ODD_BYTES, header=st.sampled_from([b"id,ts,res\n", b"", b'"id\x1b",ts\n']))
def test_every_refusal_of_random_bytes_is_one_line(
    tmp_path: Path, body: bytes, header: bytes
) -> None:
    source = tmp_path / "odd.csv"
    source.write_bytes(header + body)
    db = tmp_path / "fuzz.duckdb"
    try:
        ingest(source, "csv", db, INSPECTIONS)
    except ReplayError as e:
        assert_one_line_each(e)


def test_a_results_folder_named_like_a_glob_is_read_as_named(tmp_path: Path) -> None:
    """``verify`` and ``report`` read a run's Parquet tables from its folder, and only it."""
    from shocktwin.edge_replay.result_tables import read_parquet_tables

    for folder, value in (("run[1]", 1), ("run1", 2)):
        (tmp_path / folder).mkdir()
        pq.write_table(pa.table({"x": [value]}), tmp_path / folder / "kpis.parquet")
    tables = read_parquet_tables({"kpis": tmp_path / "run[1]" / "kpis.parquet"})
    assert list(tables["kpis"]["x"]) == [1]
