"""AI inspection inside the twin: an ONNX model's decisions on replayed feature vectors.

The model runs once, batched, over every recorded feature vector of the store when the
gate's feeds are built (``twin.experiment.feed``, once per process); the twin then decides
a unit by drawing a recorded row and looking its decision up, so no inference happens per
unit. The row is drawn from the rows the model's metadata calls defective (reject classes)
when the unit is defective, and from the acceptable rows otherwise, so the gate's detection
and false-reject rates in the twin are the model's own on the recorded data.
"""

from __future__ import annotations

import numpy as np

from shocktwin.twin.model.feed import GateDecisions
from shocktwin.twin.model.rng import BLOCK

__all__ = ["AIGate", "GateDecisions"]


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
