"""AI inspection inside the twin: an ONNX model's decisions on replayed feature vectors.

The model runs once, batched, over every recorded feature vector of the store when the
gate is built (once per process); the twin then decides a unit by drawing a recorded row
and looking its decision up, so no inference happens per unit. The row is drawn from the
rows the model's metadata calls defective (reject classes) when the unit is defective, and
from the acceptable rows otherwise, so the gate's detection and false-reject rates in the
twin are the model's own on the recorded data.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from shocktwin.errors import Problem, RuleError
from shocktwin.scenarios.model import AIGate as AIGateSpec
from shocktwin.scenarios.model import Scenario
from shocktwin.twin.model.rng import BLOCK

if TYPE_CHECKING:
    from shocktwin.edge_replay.replay import FeatureRows

__all__ = ["AIGate", "GateDecisions", "gate_decisions"]


@dataclass(frozen=True)
class GateDecisions:
    """The model's decision on every recorded row, split by the row's true class."""

    model: str
    onnx_sha256: str
    threshold: float
    defective_rejected: np.ndarray  # decision per defective row
    good_rejected: np.ndarray  # decision per acceptable row

    @property
    def sensitivity(self) -> float:
        return float(self.defective_rejected.mean())

    @property
    def false_reject_rate(self) -> float:
        return float(self.good_rejected.mean())


@functools.lru_cache(maxsize=8)
def _decisions(model_path: str | None, store: Path, source: str | None, threshold: float | None,
               held_out: bool, mtime_ns: int) -> GateDecisions:
    from shocktwin.edge_replay.replay import read_features
    from shocktwin.rules_engine.ai_inspection import load_inspection_model

    model = load_inspection_model(model_path)
    rows = read_features(store, source)
    if held_out:
        keep = np.isin(rows.rows, _held_out_rows(model_path, rows, str(store)))
        rows = replace(rows, matrix=rows.matrix[keep], labels=rows.labels[keep],
                       rows=rows.rows[keep])
    meta = model.metadata
    missing = [n for n in meta.feature_names if n not in rows.names]
    if missing:
        raise RuleError([Problem(str(store), "features", f"the model needs features the store "
                                 f"does not hold: {', '.join(missing)}")], file=str(store))
    order = [rows.names.index(n) for n in meta.feature_names]
    decided = model.decide(rows.matrix[:, order], threshold)
    reject = np.isin(rows.labels, meta.reject_classes)
    accept = np.isin(rows.labels, meta.accept_classes)
    if not reject.any() or not accept.any():
        raise RuleError([Problem(str(store), "features", "the recorded labels need rows of "
                                 "both a reject and an accept class of the model")],
                        file=str(store))
    return GateDecisions(model.source, meta.onnx_sha256,
                         model.threshold if threshold is None else threshold,
                         decided[reject], decided[accept])


def gate_decisions(scenario: Scenario, spec: AIGateSpec) -> GateDecisions:
    """The decisions of the gate ``spec`` of ``scenario`` (cached while the store is
    unchanged)."""
    store = scenario.resolve(spec.store).resolve()
    try:
        mtime = store.stat().st_mtime_ns
    except OSError as e:
        raise RuleError([Problem(str(store), "ai.store", "store file does not exist")],
                        file=str(store)) from e
    model = None if spec.model == "steel_plates" else str(scenario.resolve(spec.model))
    return _decisions(model, store, spec.source, spec.threshold, spec.rows == "held_out", mtime)


def _held_out_rows(model_path: str | None, rows: FeatureRows, store: str) -> np.ndarray:
    """The rows the model was tested on, rebuilt from the split its metadata documents
    (per class in column order, a permutation by one seeded generator, the first
    round-half-up(test % of n) to test) and checked against the documented hash."""
    if model_path is None:
        raw = resources.files("rules_engine").joinpath("models/steel_plates.json").read_bytes()
    else:
        raw = Path(model_path).with_suffix(".json").read_bytes()
    training = json.loads(raw).get("training") or {}
    seed, percent = training.get("seed"), training.get("test_percent")
    digest = training.get("test_rows_sha256")
    if seed is None or percent is None or digest is None or not rows.label_names:
        raise RuleError([Problem(store, "ai.rows", "the model documents no held-out split; "
                                 "use rows: all")], file=store)
    n = int(rows.rows.max()) + 1 if rows.rows.size else 0
    fault_class = np.full(n, -1, dtype=np.int64)
    index = {name: k for k, name in enumerate(rows.label_names)}
    fault_class[rows.rows] = [index.get(str(label), -1) for label in rows.labels]
    rng = np.random.default_rng(int(seed))
    test: list[np.ndarray] = []
    for k in range(len(rows.label_names)):
        members = np.flatnonzero(fault_class == k)
        n_test = (len(members) * int(percent) + 50) // 100
        test.append(rng.permutation(members)[:n_test])
    held = np.sort(np.concatenate(test)) if test else np.zeros(0, dtype=np.int64)
    if hashlib.sha256(",".join(str(int(r)) for r in held).encode()).hexdigest() != digest:
        raise RuleError([Problem(store, "ai.rows", "these recorded rows are not the ones the "
                                 "model was trained and tested on (the held-out split does "
                                 "not match its documented hash); use rows: all")],
                        file=store)
    return held


class AIGate:
    """Per-replication gate: draws recorded rows from its own stream."""

    __slots__ = ("_bad", "_good", "_rng", "_u", "decisions")

    def __init__(self, decisions: GateDecisions, rng: np.random.Generator) -> None:
        self.decisions = decisions
        self._bad = decisions.defective_rejected.tolist()
        self._good = decisions.good_rejected.tolist()
        self._rng = rng
        self._u: list[float] = []

    def rejects(self, defective: bool) -> bool:
        """Whether the model rejects a unit of this true state (one recorded row drawn)."""
        if not self._u:
            self._u = self._rng.random(BLOCK).tolist()
        pool = self._bad if defective else self._good
        return pool[int(self._u.pop() * len(pool))]  # type: ignore[no-any-return]
