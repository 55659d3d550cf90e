"""The reader the twin replays downtime from: one machine's outages in hours from midnight of
its file's first day, and every way a binding can miss (an unknown machine with the nearest
one named, a machine in two files, nothing that takes time, a store without downtime)."""

from __future__ import annotations

from pathlib import Path

import pytest
from replay_testkit import BAD, as_version_1, new_store, write_downtime_csv

from shocktwin.edge_replay.downtime import machine_outages
from shocktwin.edge_replay.ingest import ingest
from shocktwin.errors import ReplayError


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return new_store(tmp_path)


@pytest.fixture
def downtime_csv(tmp_path: Path) -> Path:
    return write_downtime_csv(tmp_path)


def test_the_reader_gives_hours_from_midnight_of_the_files_first_day(
        downtime_csv: Path, store: Path) -> None:
    ingest(downtime_csv, "downtime", store)
    press = machine_outages(store, "press")
    # The file's first row (a lathe) starts on 3 March: hour 0 is 2024-03-03 00:00.
    assert press.origin.isoformat() == "2024-03-03T00:00:00"
    assert press.start_h.tolist() == pytest.approx([34.25, 44 + 40 / 60])
    assert press.end_h.tolist() == pytest.approx([36.25, 45 + 20 / 60])
    assert press.rows == 3
    up, down = press.cycles()
    assert up.tolist() == pytest.approx([8 + 25 / 60]) and down.tolist() == pytest.approx([2 / 3])


def test_the_reader_names_the_nearest_machine_and_the_problem(downtime_csv: Path,
                                                             store: Path) -> None:
    ingest(downtime_csv, "downtime", store)
    with pytest.raises(ReplayError) as caught:
        machine_outages(store, "Press")
    [problem] = caught.value.problems
    assert problem.path == "machine"
    assert "no machine 'Press' in the downtime table; did you mean 'press'?" in problem.message
    assert "(machines: lathe, press)" in problem.message
    with pytest.raises(ReplayError, match="no file ingested into the downtime table matches"):
        machine_outages(store, "press", source="other.csv")


def test_a_machine_in_two_files_needs_its_source(downtime_csv: Path, tmp_path: Path,
                                                 store: Path) -> None:
    ingest(downtime_csv, "downtime", store)
    march = tmp_path / "march.csv"
    march.write_text("machine,start,end\npress,2024-03-20 06:00,2024-03-20 07:00\n")
    ingest(march, "downtime", store)
    with pytest.raises(ReplayError, match="machine 'press' is in 2 ingested files; name one"):
        machine_outages(store, "press")
    chosen = machine_outages(store, "press", source="march.csv")
    assert chosen.origin.isoformat() == "2024-03-20T00:00:00"
    assert (chosen.start_h.tolist(), chosen.end_h.tolist()) == ([6.0], [7.0])


def test_a_machine_whose_rows_take_no_time_has_nothing_to_replay(downtime_csv: Path,
                                                                store: Path) -> None:
    path = downtime_csv.with_name("blips.csv")
    path.write_text("machine,start,end\nm,2024-01-01 01:00,2024-01-01 01:00\n")
    ingest(path, "downtime", store)
    with pytest.raises(ReplayError, match="machine 'm' has no outage that takes time"):
        machine_outages(store, "m")


def test_a_store_without_downtime_is_refused_with_how_to_fill_it(store: Path) -> None:
    ingest(BAD / "ops.csv", "csv", store, BAD / "mapping_ops.yaml")
    with pytest.raises(ReplayError) as caught:
        machine_outages(store, "press")
    [problem] = caught.value.problems
    assert problem.path == "store"
    assert "holds no downtime table" in problem.message and "--format downtime" in problem.message


def test_a_version_1_store_has_no_downtime_to_replay(store: Path) -> None:
    ingest(BAD / "ops.csv", "csv", store, BAD / "mapping_ops.yaml")
    as_version_1(store)
    with pytest.raises(ReplayError, match="holds no downtime table"):
        machine_outages(store, "press")
