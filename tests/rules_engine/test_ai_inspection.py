"""The bundled ONNX inspection model: integrity, input checks, batching, and its documented
test-set confusion counts recomputed from the raw UCI Steel Plates Faults data."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from shocktwin.errors import RuleError
from shocktwin.rules_engine.ai_inspection import (
    AIInspectionModel,
    Disposition,
    InspectionCounts,
    count_decisions,
    load_inspection_model,
)

ROOT = Path(__file__).resolve().parents[2]
DATA_DIRS = (
    ROOT / "data" / "steel_plates_faults_uci",
    ROOT.parent / "shared" / "data" / "steel_plates_faults_uci",
)
MODELS = resources.files("shocktwin.rules_engine").joinpath("models")
N_FEATURES = 27


@dataclass(frozen=True)
class RawPlates:
    features: NDArray[np.float64]
    fault_names: tuple[str, ...]
    fault_class: NDArray[np.int64]
    sha256: dict[str, str]


def parse_raw(folder: Path) -> RawPlates:
    """Faults.NNA: one quoted, TAB-separated line per anomaly; 27 features then 7 one-hot."""
    data = (folder / "Faults.NNA").read_bytes()
    names_file = (folder / "Faults27x7_var").read_bytes()
    names = [x.strip() for x in names_file.decode("ascii").splitlines() if x.strip()]
    table = np.array(
        [line.strip().strip('"').split("\t") for line in data.decode("ascii").splitlines()],
        dtype=np.float64,
    )
    assert table.shape == (1941, 34)
    one_hot = table[:, N_FEATURES:]
    assert (one_hot.sum(axis=1) == 1).all()
    return RawPlates(
        features=table[:, :N_FEATURES],
        fault_names=tuple(names[N_FEATURES:]),
        fault_class=one_hot.argmax(axis=1),
        sha256={
            "Faults.NNA": hashlib.sha256(data).hexdigest(),
            "Faults27x7_var": hashlib.sha256(names_file).hexdigest(),
        },
    )


def documented_split(
    fault_class: NDArray[np.int64], seed: int, test_percent: int
) -> NDArray[np.int64]:
    """The documented split, written out again: per class in column order, a seeded
    permutation of the class's rows, the first round-half-up(test_percent %) to test."""
    rng = np.random.default_rng(seed)
    chosen = []
    for k in range(int(fault_class.max()) + 1):
        rows = np.flatnonzero(fault_class == k)
        chosen.append(rng.permutation(rows)[: (len(rows) * test_percent + 50) // 100])
    return np.sort(np.concatenate(chosen))


@pytest.fixture(scope="module")
def model() -> AIInspectionModel:
    return load_inspection_model()


@pytest.fixture(scope="module")
def card() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(MODELS.joinpath("steel_plates.json").read_text("utf-8"))
    return loaded


@pytest.fixture(scope="module")
def raw() -> RawPlates:
    for folder in DATA_DIRS:
        if (folder / "Faults.NNA").is_file() and (folder / "Faults27x7_var").is_file():
            return parse_raw(folder)
    pytest.skip(f"raw UCI Steel Plates Faults data not found in {' or '.join(map(str, DATA_DIRS))}")


@pytest.fixture
def model_copy(tmp_path: Path) -> Path:
    """A writable copy of the bundled model and its JSON."""
    for name in ("steel_plates.onnx", "steel_plates.json"):
        (tmp_path / name).write_bytes(MODELS.joinpath(name).read_bytes())
    return tmp_path / "steel_plates.onnx"


def synthetic_features(rows: int, seed: int = 3) -> NDArray[np.float64]:
    return np.random.default_rng(seed).normal(0.0, 1.0, size=(rows, N_FEATURES)) * 100.0


# --- the shipped model ----------------------------------------------------------------------


def test_bundled_model_is_the_documented_one(
    model: AIInspectionModel, card: dict[str, Any]
) -> None:
    onnx_bytes = MODELS.joinpath("steel_plates.onnx").read_bytes()
    assert hashlib.sha256(onnx_bytes).hexdigest() == card["onnx_sha256"]
    assert model.metadata.onnx_sha256 == card["onnx_sha256"]
    assert model.feature_names == tuple(card["feature_names"])
    assert len(model.feature_names) == N_FEATURES
    assert model.threshold == card["threshold"]
    assert len(onnx_bytes) < 1_000_000


def test_loading_again_reuses_the_model_and_its_session(model: AIInspectionModel) -> None:
    assert load_inspection_model() is model
    again = load_inspection_model(Path(str(MODELS.joinpath("steel_plates.onnx"))))
    assert again is model


def test_model_card_quotes_the_recorded_figures(card: dict[str, Any]) -> None:
    text = MODELS.joinpath("MODEL_CARD.md").read_text("utf-8")
    counts = card["test_set"]
    assert card["onnx_sha256"] in text
    assert f"true rejects: {counts['true_rejects']}" in text
    assert f"false accepts (escapes): {counts['false_accepts']}" in text
    assert f"false rejects (scrap): {counts['false_rejects']}" in text
    assert f"true accepts: {counts['true_accepts']}" in text


def test_fault_classes_map_to_dispositions(model: AIInspectionModel) -> None:
    assert model.metadata.disposition("K_Scatch") is Disposition.REJECT
    assert model.metadata.disposition("Other_Faults") is Disposition.ACCEPT
    with pytest.raises(RuleError, match="unknown fault class 'Rust'"):
        model.metadata.disposition("Rust")


# --- the documented test split, recomputed from the raw data -------------------------------


def test_confusion_matrix_on_the_documented_test_split(
    model: AIInspectionModel, card: dict[str, Any], raw: RawPlates
) -> None:
    training = card["training"]
    assert raw.sha256 == training["data_sha256"], "raw data differs from the data trained on"
    test_rows = documented_split(raw.fault_class, training["seed"], training["test_percent"])
    digest = hashlib.sha256(",".join(str(r) for r in test_rows).encode()).hexdigest()
    assert digest == training["test_rows_sha256"], "the split is not the documented one"
    assert len(test_rows) == training["test_rows"]

    dispositions = [model.metadata.disposition(name) for name in raw.fault_names]
    defective = np.array([d is Disposition.REJECT for d in dispositions])[raw.fault_class]
    x, truth = raw.features[test_rows], defective[test_rows]
    counts = model.inspect(x, truth)

    recorded = card["test_set"]
    assert counts == model.metadata.test_counts
    assert counts == InspectionCounts(
        true_rejects=recorded["true_rejects"],
        false_rejects=recorded["false_rejects"],
        false_accepts=recorded["false_accepts"],
        true_accepts=recorded["true_accepts"],
    )
    assert counts.accuracy == pytest.approx(recorded["accuracy"], abs=5e-5)
    assert counts.sensitivity == pytest.approx(recorded["sensitivity"], abs=5e-5)
    assert counts.specificity == pytest.approx(recorded["specificity"], abs=5e-5)

    rejected = model.decide(x)
    for k, name in enumerate(raw.fault_names):
        in_class = raw.fault_class[test_rows] == k
        assert int(np.sum(rejected & in_class)) == recorded["per_fault_class"][name]["rejected"]


# --- batching and decisions ---------------------------------------------------------------


def test_batched_predictions_equal_row_by_row(model: AIInspectionModel) -> None:
    x = synthetic_features(300)
    batched = model.predict_proba(x)
    one_by_one = np.array([model.predict_proba(x[i : i + 1])[0] for i in range(len(x))])
    assert np.array_equal(batched, one_by_one)
    assert batched.shape == (300,)
    assert ((batched >= 0.0) & (batched <= 1.0)).all()


def test_batched_predictions_equal_row_by_row_on_the_real_plates(
    model: AIInspectionModel, raw: RawPlates
) -> None:
    x = raw.features[::7]
    one_by_one = np.array([model.predict_proba(row[None, :])[0] for row in x])
    assert np.array_equal(model.predict_proba(raw.features)[::7], one_by_one)


@settings(max_examples=25, deadline=None)
@given(rows=st.integers(0, 600), batch_rows=st.integers(1, 700))
def test_chunk_size_does_not_change_predictions(rows: int, batch_rows: int) -> None:
    model = load_inspection_model()
    x = synthetic_features(600)[:rows]
    assert np.array_equal(
        model.predict_proba(x, batch_rows=batch_rows), model.predict_proba(x, batch_rows=4096)
    )


@pytest.mark.parametrize("threshold", [None, 0.0, 0.2, 0.5, 0.8, 1.0])
def test_decide_is_probability_at_or_above_threshold(
    model: AIInspectionModel, threshold: float | None
) -> None:
    x = synthetic_features(500)
    cut = model.threshold if threshold is None else threshold
    assert np.array_equal(model.decide(x, threshold), model.predict_proba(x) >= cut)
    assert model.decide(x, threshold).dtype == np.bool_


@pytest.mark.parametrize("threshold", [-0.1, 1.5, float("nan"), True])
def test_a_threshold_outside_zero_to_one_is_a_rule_error(
    model: AIInspectionModel, threshold: float
) -> None:
    with pytest.raises(RuleError, match="threshold"):
        model.decide(synthetic_features(3), threshold)


# --- input checks -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shape", "got"),
    [
        ((5, 26), "got 26 columns"),
        ((5, 28), "got 28 columns"),
        ((27,), "got shape (27,)"),
        ((2, 3, 27), "got shape (2, 3, 27)"),
    ],
)
def test_wrong_feature_shape_names_expected_and_got(
    model: AIInspectionModel, shape: tuple[int, ...], got: str
) -> None:
    with pytest.raises(RuleError) as caught:
        model.predict_proba(np.zeros(shape))
    message = str(caught.value)
    assert "expected 27 columns (X_Minimum … SigmoidOfAreas)" in message
    assert got in message


@pytest.mark.parametrize(
    ("bad", "fragment"),
    [(np.nan, "1 row(s) hold NaN"), (np.inf, "1 row(s) hold NaN"), (1e300, "out-of-float32")],
)
def test_non_finite_features_are_rejected(
    model: AIInspectionModel, bad: float, fragment: str
) -> None:
    x = synthetic_features(4)
    x[2, 5] = bad
    with pytest.raises(RuleError, match="first: row 2") as caught:
        model.predict_proba(x)
    assert fragment in str(caught.value)


def test_non_numeric_features_are_rejected(model: AIInspectionModel) -> None:
    with pytest.raises(RuleError, match="expected numbers"):
        model.predict_proba(np.full((2, N_FEATURES), "x"))


def test_an_empty_batch_gives_empty_results(model: AIInspectionModel) -> None:
    empty = np.zeros((0, N_FEATURES))
    assert model.predict_proba(empty).shape == (0,)
    assert model.inspect(empty, np.zeros(0, dtype=bool)) == InspectionCounts(0, 0, 0, 0)


def test_labels_must_match_the_decisions(model: AIInspectionModel) -> None:
    with pytest.raises(RuleError, match=r"one label per decision \(4\), got 3"):
        model.inspect(synthetic_features(4), [True, False, True])
    with pytest.raises(RuleError, match="0/1"):
        model.inspect(synthetic_features(2), [2, 0])


# --- broken model files -------------------------------------------------------------------


def test_a_corrupt_model_file_is_a_rule_error(model_copy: Path) -> None:
    garbage = np.random.default_rng(0).bytes(4096)
    model_copy.write_bytes(garbage)
    metadata = model_copy.with_suffix(".json")
    # Document the garbage's own sha256 so the check that fails is the ONNX parse itself.
    card = json.loads(metadata.read_text("utf-8"))
    card["onnx_sha256"] = hashlib.sha256(garbage).hexdigest()
    metadata.write_text(json.dumps(card), encoding="utf-8")
    with pytest.raises(RuleError, match="not a loadable ONNX model") as caught:
        load_inspection_model(model_copy)
    assert caught.value.problems[0].file == str(model_copy)


def test_a_model_that_is_not_the_documented_one_is_refused(model_copy: Path) -> None:
    model_copy.write_bytes(model_copy.read_bytes() + b"\0")
    with pytest.raises(RuleError, match="this is not the documented model"):
        load_inspection_model(model_copy)


def test_missing_files_are_rule_errors(model_copy: Path) -> None:
    with pytest.raises(RuleError, match="model file not found"):
        load_inspection_model(model_copy.with_name("absent.onnx"))
    model_copy.with_suffix(".json").unlink()
    with pytest.raises(RuleError, match="model metadata file not found"):
        load_inspection_model(model_copy)


def test_invalid_metadata_json_reports_the_line(model_copy: Path) -> None:
    model_copy.with_suffix(".json").write_text('{\n  "threshold": 0.5,\n  oops\n}')
    with pytest.raises(RuleError, match="not valid JSON") as caught:
        load_inspection_model(model_copy)
    assert caught.value.problems[0].line == 3


def test_every_metadata_problem_is_reported_at_once(model_copy: Path) -> None:
    metadata = model_copy.with_suffix(".json")
    card = json.loads(metadata.read_text("utf-8"))
    card["threshold"] = 2
    card["reject_column"] = 5
    card["feature_names"] = []
    card["classes"]["accept"] = ["Bumps"]
    metadata.write_text(json.dumps(card), encoding="utf-8")
    with pytest.raises(RuleError) as caught:
        load_inspection_model(model_copy)
    paths = {p.path for p in caught.value.problems}
    assert {"threshold", "reject_column", "feature_names", "classes"} <= paths


def test_metadata_that_disagrees_with_the_graph_is_refused(model_copy: Path) -> None:
    metadata = model_copy.with_suffix(".json")
    card = json.loads(metadata.read_text("utf-8"))
    card["input_name"] = "plates"
    card["feature_names"] = card["feature_names"][:-1]
    card["probability_output"] = "scores"
    metadata.write_text(json.dumps(card), encoding="utf-8")
    with pytest.raises(RuleError) as caught:
        load_inspection_model(model_copy)
    message = str(caught.value)
    assert "expected 'plates', got 'features'" in message
    assert "expected shape [rows, 26]" in message
    assert "no output 'scores'" in message


# --- counting outcomes --------------------------------------------------------------------


@given(
    pairs=st.lists(st.tuples(st.booleans(), st.booleans()), max_size=200),
    cut=st.integers(0, 200),
)
def test_counts_conserve_plates_and_add_up_over_batches(
    pairs: list[tuple[bool, bool]], cut: int
) -> None:
    rejected = np.array([r for r, _ in pairs], dtype=bool)
    defective = np.array([d for _, d in pairs], dtype=bool)
    counts = count_decisions(rejected, defective)
    assert counts.rows == len(pairs)
    assert counts.defective == int(defective.sum())
    assert counts.true_rejects + counts.false_rejects == int(rejected.sum())
    split = count_decisions(rejected[:cut], defective[:cut]) + count_decisions(
        rejected[cut:], defective[cut:]
    )
    assert split == counts


def test_rates_of_a_hand_counted_batch() -> None:
    counts = count_decisions([1, 1, 0, 0, 1, 0], [1, 0, 1, 0, 1, 0])
    assert counts == InspectionCounts(
        true_rejects=2, false_rejects=1, false_accepts=1, true_accepts=2
    )
    assert counts.sensitivity == pytest.approx(2 / 3)
    assert counts.specificity == pytest.approx(2 / 3)
    assert counts.accuracy == pytest.approx(4 / 6)
    assert InspectionCounts(0, 0, 0, 0).sensitivity is None


@pytest.mark.parametrize("text", ['{"threshold": ' + "9" * 5000 + "}", "[" * 100_000])
def test_model_metadata_that_cannot_be_read_is_refused_not_a_crash(text: str) -> None:
    from shocktwin.rules_engine.ai_inspection import _parse_metadata

    with pytest.raises(RuleError, match="not valid JSON"):
        _parse_metadata(text.encode(), "model.json")
