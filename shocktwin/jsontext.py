"""JSON the product writes: values made JSON-ready, and the one canonical text hashes are
taken over."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from shocktwin.errors import ShocktwinError
from shocktwin.files import read_bytes

__all__ = ["canonical_json", "json_ready", "read_json"]


def json_ready(value: Any) -> Any:
    """JSON-safe: NaN and infinities become null, numpy scalars plain numbers, tuples
    lists, keys text."""
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    if type(value).__module__ == "numpy" and getattr(value, "ndim", None) == 0:  # a scalar
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def canonical_json(value: Any) -> str:
    """The one JSON text of ``value`` that hashes are taken over: sorted keys, no spaces,
    ASCII only; NaN and infinities are refused (ValueError)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                      allow_nan=False)


def read_json(path: str | Path, *, limit: int,
              error: type[ShocktwinError] = ShocktwinError) -> Any:
    """The JSON value in a file, read with the bounded reader's checks (a regular file of at
    most ``limit`` bytes: never a pipe or a device); ``error`` names the file and says why it
    cannot be read, with the line and column of a syntax error."""
    name = str(path)
    raw = read_bytes(path, limit=limit, error=error)
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise error(f"not UTF-8 text (byte {e.start})", file=name) from None
    except json.JSONDecodeError as e:
        raise error(f"not valid JSON, cut short or damaged: {e.msg} at line {e.lineno}, "
                    f"column {e.colno}", file=name) from None
    except ValueError:  # an integer of more digits than Python converts (4,300)
        raise error("a number in it is too long to read", file=name) from None
    except RecursionError:
        raise error("not valid JSON: nested too deeply", file=name) from None
