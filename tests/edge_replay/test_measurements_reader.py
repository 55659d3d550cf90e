"""The reader a characteristic of the twin replays from: the values of one characteristic in
recorded order (time, then ingest order) in hours from the first, its filters, and every way a
binding can miss (an unknown name with the nearest one named, a filter nothing matches, the
same measurement in two files, a store without measurements)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from replay_testkit import BAD, new_store, write_measurements_csv

from shocktwin.edge_replay.ingest import ingest
from shocktwin.edge_replay.measurements import measured_characteristics, read_measurements
from shocktwin.errors import ReplayError

# The sample file: replay_testkit.MEASUREMENTS_CSV. Its film thicknesses that load, by time:
# W2 05:30 0.98 (line 4), W1 06:00 1.02 (line 2), W10 08:30 1.01 (line 13) and W11 08:30
# 1.04 (line 14).


@pytest.fixture
def store(tmp_path: Path) -> Path:
    path = new_store(tmp_path)
    ingest(write_measurements_csv(tmp_path), "measurements", path)
    return path


def test_values_come_in_time_order_in_hours_from_the_first(store: Path) -> None:
    film = read_measurements(store, "film_thickness")
    assert (film.characteristic, film.count, film.store) == ("film_thickness", 4, store)
    assert film.origin.isoformat() == "2024-03-04T05:30:00"
    # 13 and 14 share 08:30: the file's order decides.
    assert film.values.tolist() == [0.98, 1.02, 1.01, 1.04]
    assert film.times_h.tolist() == [0.0, 0.5, 3.0, 3.0]
    assert film.values.dtype == np.float64 and film.times_h.dtype == np.float64
    with pytest.raises(ValueError, match="read-only"):
        film.values[0] = 0.0


def test_filters_keep_one_entity_supplier_or_station(store: Path) -> None:
    acme = read_measurements(store, "film_thickness", supplier="acme")
    assert (acme.values.tolist(), acme.times_h.tolist()) == ([1.02, 1.04], [0.0, 2.5])
    assert acme.origin.isoformat() == "2024-03-04T06:00:00"  # hour 0 is the first one kept
    coater_2 = read_measurements(store, "film_thickness", station="coater 2")
    assert coater_2.values.tolist() == [0.98, 1.01]
    w1 = read_measurements(store, "film_thickness", entity="W1")
    assert (w1.values.tolist(), w1.count) == ([1.02], 1)
    both = read_measurements(store, "film_thickness", supplier="acme", station="coater 1")
    assert both.values.tolist() == [1.02, 1.04]


def test_an_unknown_characteristic_is_refused_with_the_nearest_name(store: Path) -> None:
    with pytest.raises(ReplayError) as caught:
        read_measurements(store, "film_thicknes")
    [problem] = caught.value.problems
    assert (problem.file, problem.path) == (str(store), "characteristic")
    assert problem.message == (
        "no characteristic 'film_thicknes' in the measurements table; did you mean "
        "'film_thickness'? (characteristics: film_thickness, sheet_resistance)")


def test_every_filter_nothing_matches_is_named_at_once(store: Path) -> None:
    with pytest.raises(ReplayError) as caught:
        read_measurements(store, "film_thickness", entity="w11", supplier="acm",
                          station="coater 1")
    problems = {p.path: p.message for p in caught.value.problems}
    assert problems == {
        "entity": "no entity 'w11' among the film_thickness measurements; did you mean "
                  "'W11'? (entities: W1, W10, W11, W2)",
        "supplier": "no supplier 'acm' among the film_thickness measurements; did you mean "
                    "'acme'? (suppliers: acme, bolt)",
    }


def test_filters_that_each_match_but_not_together_are_refused(store: Path) -> None:
    with pytest.raises(ReplayError) as caught:
        read_measurements(store, "film_thickness", entity="W2", supplier="acme")
    [problem] = caught.value.problems
    assert problem.path == "entity"
    assert problem.message == "no film_thickness measurement has entity 'W2' and supplier 'acme'"


def test_a_filter_on_a_column_the_source_leaves_empty_says_so(store: Path,
                                                              tmp_path: Path) -> None:
    bare = tmp_path / "roughness.csv"
    bare.write_text("time,entity,characteristic,value\n2024-03-04 06:00,W1,roughness,0.4\n")
    ingest(bare, "measurements", store)
    with pytest.raises(ReplayError) as caught:
        read_measurements(store, "roughness", supplier="acme")
    [problem] = caught.value.problems
    assert (problem.path, problem.message) == (
        "supplier", "no supplier 'acme' among the roughness measurements: none of them names "
        "a supplier")
    assert read_measurements(store, "roughness").values.tolist() == [0.4]


def test_files_are_read_together_in_the_order_they_were_ingested(store: Path,
                                                                 tmp_path: Path) -> None:
    # Named to sort before measurements.csv, so that ordering by name would put it first.
    later = tmp_path / "a_later.csv"
    later.write_text("time,entity,characteristic,value\n"
                     "2024-03-04 08:30,W12,film_thickness,1.05\n"
                     "2024-03-04 05:00,W13,film_thickness,0.97\n")
    ingest(later, "measurements", store)
    film = read_measurements(store, "film_thickness")
    assert film.values.tolist() == [0.97, 0.98, 1.02, 1.01, 1.04, 1.05]
    assert film.times_h.tolist() == [0.0, 0.5, 1.0, 3.5, 3.5, 3.5]
    # Ingested again, the sample file is now the later one: at 08:30 it comes last.
    ingest(tmp_path / "measurements.csv", "measurements", store)
    assert read_measurements(store, "film_thickness").values.tolist() == [
        0.97, 0.98, 1.02, 1.05, 1.01, 1.04]


def test_the_same_measurement_in_two_files_is_refused(store: Path, tmp_path: Path) -> None:
    again = tmp_path / "overlap.csv"
    again.write_text("time,entity,characteristic,value\n"
                     "2024-03-04 09:00,W20,film_thickness,1.00\n"
                     "2024-03-04 06:00,W1,film_thickness,1.02\n")
    ingest(again, "measurements", store)
    with pytest.raises(ReplayError) as caught:
        read_measurements(store, "film_thickness")
    first, last = caught.value.problems
    assert first.message == (
        f"film_thickness of entity 'W1' at 2024-03-04 06:00:00 is held more than once: "
        f"{tmp_path / 'measurements.csv'} line 2, {again} line 3")
    assert "build the store from files that do not overlap" in last.message
    # Another characteristic of the same entity is not affected.
    assert read_measurements(store, "sheet_resistance").values.tolist() == [45.1]


def test_measured_characteristics_count_each_name(store: Path) -> None:
    assert measured_characteristics(store) == {"film_thickness": 4, "sheet_resistance": 1}


def test_a_store_without_measurements_is_refused_with_how_to_fill_it(tmp_path: Path) -> None:
    path = new_store(tmp_path)
    ingest(BAD / "ops.csv", "csv", path, BAD / "mapping_ops.yaml")
    with pytest.raises(ReplayError) as caught:
        read_measurements(path, "film_thickness")
    [problem] = caught.value.problems
    assert problem.path == "store"
    assert "holds no measurements table" in problem.message
    assert "--format measurements" in problem.message
    assert measured_characteristics(path) == {}


def test_a_missing_store_is_refused(tmp_path: Path) -> None:
    for read in (lambda p: read_measurements(p, "film_thickness"), measured_characteristics):
        with pytest.raises(ReplayError, match="store file does not exist"):
            read(tmp_path / "nothing.duckdb")
