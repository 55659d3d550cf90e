"""JSON the product writes: values made JSON-ready, and the one canonical text hashes are
taken over."""

from __future__ import annotations

import json
import math
from typing import Any

__all__ = ["canonical_json", "json_ready"]


def json_ready(value: Any) -> Any:
    """JSON-safe: NaN and infinities become null, numpy scalars plain numbers, tuples
    lists, keys text."""
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    if type(value).__module__ == "numpy" and hasattr(value, "item"):  # a numpy scalar
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def canonical_json(value: Any) -> str:
    """The one JSON text of ``value`` that hashes are taken over: sorted keys, no spaces,
    ASCII only; NaN and infinities are refused (ValueError)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                      allow_nan=False)
