"""AI surface inspection: the bundled steel-plate ONNX classifier, run in batches by onnxruntime.

An inspection station hands over a matrix of plate features (one row per detected surface
anomaly, columns in the model's documented order) and gets back P(reject) or reject decisions.
With the true labels it gets the four counts that feed the twin's scrap (false rejects) and
escape (false accepts) figures.

The model file ships with a JSON file of the same stem that documents it: feature names, which
fault classes are rejects, the decision threshold, the test-set confusion counts and the
sha256 of the ONNX bytes. Loading refuses a model whose bytes do not match that sha256, so the
twin only ever runs the model described in ``rules_engine/models/MODEL_CARD.md``.

This module is the only door to onnxruntime.
"""

from __future__ import annotations

import hashlib
import json
import math
import numbers
import os
import threading
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, Final

import numpy as np
import onnxruntime as ort
from numpy.typing import ArrayLike, NDArray

from shocktwin.errors import Problem, RuleError
from shocktwin.files import read_bytes

__all__ = [
    "DEFAULT_BATCH_ROWS",
    "AIInspectionModel",
    "Disposition",
    "InspectionCounts",
    "ModelMetadata",
    "count_decisions",
    "load_inspection_model",
]

# Rows per onnxruntime call: enough that the fixed cost of a call is negligible per row, few
# enough that the float32 copy of one chunk stays small (4096 × 27 × 4 B ≈ 0.4 MB).
DEFAULT_BATCH_ROWS: Final = 4096

_PACKAGE = "shocktwin.rules_engine"
_BUNDLED_DIR = "models"
_BUNDLED_STEM = "steel_plates"
_SHA256_HEX_DIGITS = 64


class Disposition(StrEnum):
    """What the gate does with a plate."""

    ACCEPT = "accept"
    REJECT = "reject"


@dataclass(frozen=True)
class InspectionCounts:
    """Confusion counts of a gate's decisions against the true labels.

    ``false_rejects`` are good plates rejected (scrap); ``false_accepts`` are defective plates
    let through (escapes).
    """

    true_rejects: int
    false_rejects: int
    false_accepts: int
    true_accepts: int

    @property
    def rows(self) -> int:
        return self.true_rejects + self.false_rejects + self.false_accepts + self.true_accepts

    @property
    def defective(self) -> int:
        return self.true_rejects + self.false_accepts

    @property
    def good(self) -> int:
        return self.true_accepts + self.false_rejects

    @property
    def accuracy(self) -> float | None:
        """Share of correct decisions; ``None`` for no rows."""
        return _ratio(self.true_rejects + self.true_accepts, self.rows)

    @property
    def sensitivity(self) -> float | None:
        """True reject rate: share of defective plates rejected; ``None`` without any."""
        return _ratio(self.true_rejects, self.defective)

    @property
    def specificity(self) -> float | None:
        """True accept rate: share of good plates accepted; ``None`` without any."""
        return _ratio(self.true_accepts, self.good)

    def __add__(self, other: InspectionCounts) -> InspectionCounts:
        if not isinstance(other, InspectionCounts):
            return NotImplemented
        return InspectionCounts(
            true_rejects=self.true_rejects + other.true_rejects,
            false_rejects=self.false_rejects + other.false_rejects,
            false_accepts=self.false_accepts + other.false_accepts,
            true_accepts=self.true_accepts + other.true_accepts,
        )


@dataclass(frozen=True)
class ModelMetadata:
    """What the model's JSON file documents about it."""

    feature_names: tuple[str, ...]
    reject_classes: tuple[str, ...]
    accept_classes: tuple[str, ...]
    threshold: float
    onnx_sha256: str
    input_name: str
    probability_output: str
    reject_column: int
    # The confusion counts on the held-out split, as written by the training script.
    test_counts: InspectionCounts | None

    @property
    def n_features(self) -> int:
        return len(self.feature_names)

    def disposition(self, fault_class: str) -> Disposition:
        """The gate class of a source fault class (e.g. ``"Bumps"`` → reject)."""
        if fault_class in self.reject_classes:
            return Disposition.REJECT
        if fault_class in self.accept_classes:
            return Disposition.ACCEPT
        known = ", ".join((*self.reject_classes, *self.accept_classes))
        raise RuleError(
            [Problem(None, "fault_class", f"unknown fault class {fault_class!r}; known: {known}")]
        )


class AIInspectionModel:
    """A loaded, checked inspection model. Get one from :func:`load_inspection_model`."""

    __slots__ = ("_session", "metadata", "source")

    def __init__(self, session: Any, metadata: ModelMetadata, source: str) -> None:
        self._session = session
        self.metadata = metadata
        self.source = source

    def __repr__(self) -> str:
        return f"AIInspectionModel({self.source!r}, sha256={self.metadata.onnx_sha256[:12]}…)"

    @property
    def feature_names(self) -> tuple[str, ...]:
        return self.metadata.feature_names

    @property
    def threshold(self) -> float:
        """The documented decision threshold on P(reject)."""
        return self.metadata.threshold

    def predict_proba(
        self, features: ArrayLike, *, batch_rows: int = DEFAULT_BATCH_ROWS
    ) -> NDArray[np.float64]:
        """P(reject) per row, shape (rows,), for a (rows, n_features) matrix of raw features."""
        if isinstance(batch_rows, bool) or not isinstance(batch_rows, int) or batch_rows < 1:
            raise ValueError(f"batch_rows must be an int >= 1, got {batch_rows!r}")
        x = _feature_matrix(features, self.metadata.feature_names)
        out = np.empty(len(x), dtype=np.float64)
        wanted = [self.metadata.probability_output]
        for start in range(0, len(x), batch_rows):
            stop = min(start + batch_rows, len(x))
            (proba,) = self._session.run(wanted, {self.metadata.input_name: x[start:stop]})
            out[start:stop] = proba[:, self.metadata.reject_column]
        return out

    def decide(
        self,
        features: ArrayLike,
        threshold: float | None = None,
        *,
        batch_rows: int = DEFAULT_BATCH_ROWS,
    ) -> NDArray[np.bool_]:
        """Reject decisions per row: P(reject) ≥ threshold (the documented one by default)."""
        cut = self.threshold if threshold is None else _checked_threshold(threshold)
        return self.predict_proba(features, batch_rows=batch_rows) >= cut

    def inspect(
        self,
        features: ArrayLike,
        defective: ArrayLike,
        threshold: float | None = None,
        *,
        batch_rows: int = DEFAULT_BATCH_ROWS,
    ) -> InspectionCounts:
        """Decide a batch and count the outcomes against the true labels (True = defective)."""
        truth = _label_vector(defective, "defective")
        rejected = self.decide(features, threshold, batch_rows=batch_rows)
        return count_decisions(rejected, truth)


def count_decisions(rejected: ArrayLike, defective: ArrayLike) -> InspectionCounts:
    """Count reject decisions against true labels; both 1-D, boolean or 0/1, same length."""
    decided = _label_vector(rejected, "rejected")
    truth = _label_vector(defective, "defective")
    if decided.shape != truth.shape:
        raise RuleError(
            [
                Problem(
                    None,
                    "defective",
                    f"expected one label per decision ({len(decided)}), got {len(truth)}",
                )
            ]
        )
    return InspectionCounts(
        true_rejects=int(np.count_nonzero(decided & truth)),
        false_rejects=int(np.count_nonzero(decided & ~truth)),
        false_accepts=int(np.count_nonzero(~decided & truth)),
        true_accepts=int(np.count_nonzero(~decided & ~truth)),
    )


#: Bytes of a model or metadata file read at the most (the bundled model is about 0.3 MB).
_MAX_FILE_BYTES = 256 * 1024 * 1024

# One model (and so one InferenceSession) per file content per process: a session costs
# milliseconds and memory to build, and inference has no state or randomness, so sharing it
# cannot change a run's results. Keyed by content, so a retrained file is picked up.
_MODELS: dict[tuple[str, str, str], AIInspectionModel] = {}
_MODELS_LOCK = threading.Lock()


def load_inspection_model(path: str | os.PathLike[str] | None = None) -> AIInspectionModel:
    """Load and check an inspection model; the bundled steel-plate model by default.

    ``path`` names an ``.onnx`` file; its metadata is the ``.json`` file of the same stem
    beside it. A missing or corrupt file, metadata that is incomplete, a sha256 that does not
    match, or a graph whose inputs and outputs disagree with the metadata raise
    :class:`~shocktwin.errors.RuleError`. Loading the same bytes again returns the same object.
    """
    model_source: Traversable | Path
    metadata_source: Traversable | Path
    if path is None:
        folder = resources.files(_PACKAGE).joinpath(_BUNDLED_DIR)
        if isinstance(folder, Path):  # a real folder: resolved like a given path, below
            folder = folder.resolve()
        model_source = folder.joinpath(f"{_BUNDLED_STEM}.onnx")
        metadata_source = folder.joinpath(f"{_BUNDLED_STEM}.json")
    else:
        # Resolved, so one file named two ways is still one cache entry.
        model_source = Path(path).resolve()
        metadata_source = model_source.with_suffix(".json")
    model_label, metadata_label = str(model_source), str(metadata_source)

    model_bytes = _read(model_source, "model file")
    metadata_bytes = _read(metadata_source, "model metadata file")
    digest = hashlib.sha256(model_bytes).hexdigest()
    key = (model_label, digest, hashlib.sha256(metadata_bytes).hexdigest())

    with _MODELS_LOCK:
        cached = _MODELS.get(key)
        if cached is not None:
            return cached
        metadata = _parse_metadata(metadata_bytes, metadata_label)
        if digest != metadata.onnx_sha256:
            raise RuleError(
                [
                    Problem(
                        model_label,
                        "",
                        f"sha256 is {digest}, but {Path(metadata_label).name} documents "
                        f"{metadata.onnx_sha256}; this is not the documented model (retrain "
                        "with train_steel_plates.py, which writes both files together)",
                    )
                ],
                file=model_label,
            )
        session = _session(model_bytes, model_label)
        problems = _interface_problems(session, metadata, model_label)
        if problems:
            raise RuleError(problems, file=model_label)
        model = AIInspectionModel(session, metadata, model_label)
        _MODELS[key] = model
        return model


def _session(model_bytes: bytes, label: str) -> Any:
    options = ort.SessionOptions()
    # Replications run in parallel processes; more threads per session would oversubscribe.
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    # Errors still raise; this only keeps onnxruntime's own warnings off stderr.
    options.log_severity_level = 3
    try:
        return ort.InferenceSession(
            model_bytes, sess_options=options, providers=["CPUExecutionProvider"]
        )
    # onnxruntime raises its own, unexported exception types for unparsable or invalid graphs.
    except Exception as error:
        first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise RuleError(
            [Problem(label, "", f"not a loadable ONNX model: {first_line[:300]}")], file=label
        ) from error


def _interface_problems(session: Any, metadata: ModelMetadata, label: str) -> list[Problem]:
    problems: list[Problem] = []
    inputs = session.get_inputs()
    if len(inputs) != 1:
        names = [i.name for i in inputs]
        problems.append(Problem(label, "inputs", f"expected one input, got {names}"))
    else:
        (only,) = inputs
        if only.name != metadata.input_name:
            problems.append(
                Problem(label, "inputs", f"expected {metadata.input_name!r}, got {only.name!r}")
            )
        if only.type != "tensor(float)":
            problems.append(Problem(label, "inputs", f"expected tensor(float), got {only.type}"))
        if len(only.shape) != 2 or only.shape[1] != metadata.n_features:
            problems.append(
                Problem(
                    label,
                    "inputs",
                    f"expected shape [rows, {metadata.n_features}], got {list(only.shape)}",
                )
            )
    outputs = {o.name: o for o in session.get_outputs()}
    wanted = outputs.get(metadata.probability_output)
    if wanted is None:
        problems.append(
            Problem(
                label,
                "outputs",
                f"no output {metadata.probability_output!r}; outputs are {sorted(outputs)}",
            )
        )
    # A dimension may be symbolic (a str) or unknown (None); only a wrong fixed size is wrong.
    elif len(wanted.shape) != 2 or (isinstance(wanted.shape[1], int) and wanted.shape[1] != 2):
        problems.append(
            Problem(label, "outputs", f"expected shape [rows, 2], got {list(wanted.shape)}")
        )
    return problems


def _read(source: Traversable | Path, what: str) -> bytes:
    label = str(source)
    if isinstance(source, Path) and source.exists():
        # A user's file goes through the one safe reader: a pipe or a device would block the
        # load or fill the memory. A missing one is reported in this module's words below.
        return read_bytes(source, limit=_MAX_FILE_BYTES, error=RuleError)
    try:
        return source.read_bytes()
    except FileNotFoundError as error:
        raise RuleError([Problem(label, "", f"{what} not found")], file=label) from error
    except OSError as error:
        reason = error.strerror or str(error)
        problem = Problem(label, "", f"cannot read {what}: {reason}")
        raise RuleError([problem], file=label) from error


def _parse_metadata(raw: bytes, label: str) -> ModelMetadata:
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise RuleError([Problem(label, "", f"not UTF-8 text: {error}")], file=label) from error
    except json.JSONDecodeError as error:
        raise RuleError(
            [Problem(label, "", f"not valid JSON: {error.msg}", line=error.lineno)], file=label
        ) from error
    except (ValueError, RecursionError):  # a number of over 4,300 digits, or deep nesting
        raise RuleError([Problem(label, "", "not valid JSON: a number too long to read or "
                                 "nesting too deep")], file=label) from None
    if not isinstance(data, dict):
        raise RuleError([Problem(label, "", "expected a JSON object")], file=label)

    problems: list[Problem] = []

    def text(key: str) -> str:
        value = data.get(key)
        if not isinstance(value, str) or not value:
            problems.append(Problem(label, key, f"expected a non-empty string, got {value!r}"))
            return ""
        return value

    def names(value: object, where: str) -> tuple[str, ...]:
        if (
            not isinstance(value, list)
            or not value
            or not all(isinstance(v, str) and v for v in value)
        ):
            problems.append(Problem(label, where, "expected a non-empty list of names"))
            return ()
        if len(set(value)) != len(value):
            problems.append(Problem(label, where, "names must be unique"))
        return tuple(value)

    input_name = text("input_name")
    probability_output = text("probability_output")
    sha = text("onnx_sha256").lower()
    if sha and (len(sha) != _SHA256_HEX_DIGITS or not set(sha) <= set("0123456789abcdef")):
        problems.append(Problem(label, "onnx_sha256", "expected 64 hexadecimal digits"))

    feature_names = names(data.get("feature_names"), "feature_names")

    classes = data.get("classes")
    if not isinstance(classes, dict):
        problems.append(Problem(label, "classes", "expected an object with reject and accept"))
        classes = {}
    reject_classes = names(classes.get(Disposition.REJECT.value), "classes.reject")
    accept_classes = names(classes.get(Disposition.ACCEPT.value), "classes.accept")
    if both := set(reject_classes) & set(accept_classes):
        problems.append(Problem(label, "classes", f"in both reject and accept: {sorted(both)}"))

    threshold = _as_probability(data.get("threshold"))
    if threshold is None:
        got = data.get("threshold")
        problems.append(Problem(label, "threshold", f"expected 0 ≤ t ≤ 1, got {got!r}"))

    column = data.get("reject_column")
    reject_column = column if type(column) is int and column in (0, 1) else None
    if reject_column is None:
        problems.append(Problem(label, "reject_column", f"expected 0 or 1, got {column!r}"))

    test_counts = _test_counts(data.get("test_set"), label, problems)

    if problems or threshold is None or reject_column is None:
        raise RuleError(problems, file=label)
    return ModelMetadata(
        feature_names=feature_names,
        reject_classes=reject_classes,
        accept_classes=accept_classes,
        threshold=threshold,
        onnx_sha256=sha,
        input_name=input_name,
        probability_output=probability_output,
        reject_column=reject_column,
        test_counts=test_counts,
    )


def _test_counts(value: object, label: str, problems: list[Problem]) -> InspectionCounts | None:
    if value is None:
        return None
    fields = ("true_rejects", "false_rejects", "false_accepts", "true_accepts")
    if not isinstance(value, dict) or not all(
        isinstance(value.get(f), int) and not isinstance(value.get(f), bool) and value[f] >= 0
        for f in fields
    ):
        problems.append(
            Problem(label, "test_set", f"expected counts {', '.join(fields)} as integers ≥ 0")
        )
        return None
    return InspectionCounts(**{f: value[f] for f in fields})


def _feature_matrix(features: ArrayLike, feature_names: tuple[str, ...]) -> NDArray[np.float32]:
    n = len(feature_names)
    columns = f"{n} columns ({feature_names[0]} … {feature_names[-1]})"
    try:
        array = np.asarray(features)
    except (TypeError, ValueError) as error:
        raise RuleError(
            [Problem(None, "features", f"expected a numeric matrix of {columns}: {error}")]
        ) from error
    if array.dtype.kind not in "biuf":
        raise RuleError(
            [Problem(None, "features", f"expected numbers, got an array of dtype {array.dtype}")]
        )
    if array.ndim != 2 or array.shape[1] != n:
        got = f"{array.shape[1]} columns" if array.ndim == 2 else f"shape {array.shape}"
        raise RuleError([Problem(None, "features", f"expected {columns}, got {got}")])
    # Values beyond float32's range become inf here and are reported as non-finite below.
    with np.errstate(over="ignore"):
        x = np.ascontiguousarray(array, dtype=np.float32)
    finite = np.isfinite(x).all(axis=1)
    if not finite.all():
        bad = np.flatnonzero(~finite)
        first = ", ".join(str(r) for r in bad[:5])
        raise RuleError(
            [
                Problem(
                    None,
                    "features",
                    f"{len(bad)} row(s) hold NaN, infinite or out-of-float32-range values "
                    f"(first: row {first})",
                )
            ]
        )
    return x


def _label_vector(values: ArrayLike, name: str) -> NDArray[np.bool_]:
    array = np.asarray(values)
    if array.ndim != 1:
        raise RuleError([Problem(None, name, f"expected a 1-D array, got shape {array.shape}")])
    if array.dtype == np.bool_:
        return array
    if array.dtype.kind not in "iuf" or not np.isin(array, (0, 1)).all():
        raise RuleError([Problem(None, name, "expected booleans or 0/1 values")])
    return array.astype(np.bool_)


def _checked_threshold(threshold: object) -> float:
    value = _as_probability(threshold)
    if value is None:
        raise RuleError([Problem(None, "threshold", f"expected 0 ≤ t ≤ 1, got {threshold!r}")])
    return value


def _as_probability(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    number = float(value)
    return number if math.isfinite(number) and 0.0 <= number <= 1.0 else None


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None
