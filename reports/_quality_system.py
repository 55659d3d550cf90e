"""The quality system's recovery as a run's journal records it: when rules were invalidated,
when the response started, when each work item and life test finished, when the quality
system was valid again, and from those the backlog of quality work and the fallback window
per time bucket.

Everything here is recomputed from the journal's records (and the scenario copy the
journal holds, for the playbooks' precedence); nothing is read back from the KPIs. The
backlog is known per work item, not per task: an item's tasks count from the moment it
could start until its last task is done, so the curve is an upper bound of the twin's
per-task backlog; deviation approvals (one task per unit under a ``deviation`` fallback)
are not journalled one by one and are not in it.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["QUALITY_EVENTS", "Span", "bucket_means", "fallback_spans", "has_quality_events",
           "replication_ids", "shock_onsets", "time_to_valid", "work_spans"]

#: The journal records the quality system writes.
QUALITY_EVENTS = frozenset({"RulesInvalidated", "ResponseStarted", "WorkFinished",
                            "LifeTestCompleted", "PlaybookFinished", "QualitySystemRevalidated"})


@dataclass(frozen=True)
class Span:
    """``weight`` in force from ``start_h`` to ``end_h`` (NaN: still at the horizon)."""

    start_h: float
    end_h: float
    weight: float = 1.0


def _num(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def has_quality_events(records: Iterable[Mapping[str, Any]]) -> bool:
    return any(r.get("kind") in QUALITY_EVENTS for r in records)


def replication_ids(records: Iterable[Mapping[str, Any]]) -> list[Any]:
    """The replications the run finished, in order."""
    return list(dict.fromkeys(r.get("replication") for r in records
                              if r.get("kind") == "ReplicationFinished"))


def _by_replication(records: Iterable[Mapping[str, Any]]
                    ) -> dict[Any, list[Mapping[str, Any]]]:
    out: dict[Any, list[Mapping[str, Any]]] = defaultdict(list)
    for r in records:
        out[r.get("replication")].append(r)
    return out


def shock_onsets(records: Iterable[Mapping[str, Any]]) -> dict[Any, float]:
    """Per replication, the first shock's onset (hours from the start)."""
    out: dict[Any, float] = {}
    for r in records:
        at = _num(r.get("at_h"))
        if r.get("kind") == "ShockStarted" and at is not None:
            rep = r.get("replication")
            out[rep] = min(out.get(rep, math.inf), at)
    return out


def time_to_valid(records: Iterable[Mapping[str, Any]], replications: Sequence[Any],
                  warmup_h: float) -> dict[Any, float]:
    """Per replication, the hours from a shock's onset to a valid quality system: the
    longest episode ending after the warm-up, 0 when no rule was invalidated, NaN when
    rules were still invalid at the horizon (the definition of the KPI
    ``time_to_valid_quality_system``)."""
    by_rep = _by_replication(records)
    out: dict[Any, float] = {}
    for rep in replications:
        open_ = False
        lengths: list[float] = []
        for r in by_rep.get(rep, []):
            kind = r.get("kind")
            if kind == "RulesInvalidated":
                open_ = True
            elif kind == "QualitySystemRevalidated":
                open_ = False
                end, hours = _num(r.get("at_h")), _num(r.get("hours"))
                if end is not None and hours is not None and not end < warmup_h:
                    lengths.append(hours)
        out[rep] = math.nan if open_ else max(lengths, default=0.0)
    return out


def fallback_spans(records: Iterable[Mapping[str, Any]]) -> dict[Any, list[Span]]:
    """Per replication, the windows the plant ran under the rule set's fallback: from the
    first invalidation to the quality system valid again (NaN end: still at the horizon)."""
    out: dict[Any, list[Span]] = defaultdict(list)
    start: dict[Any, float] = {}
    for r in records:
        rep, at = r.get("replication"), _num(r.get("at_h"))
        if at is None:
            continue
        if r.get("kind") == "RulesInvalidated" and rep not in start:
            start[rep] = at
        elif r.get("kind") == "QualitySystemRevalidated" and rep in start:
            out[rep].append(Span(start.pop(rep), at))
    for rep, at in start.items():
        out[rep].append(Span(at, math.nan))
    return dict(out)


@dataclass
class _Run:
    """One playbook's response in one replication, as the journal tells it."""

    started_h: float
    items: list[Mapping[str, Any]]
    per_rule: float
    done: dict[str, float] = field(default_factory=dict)
    failed: set[str] = field(default_factory=set)


def _items(scenario: Mapping[str, Any]) -> dict[str, list[Mapping[str, Any]]]:
    plant = scenario.get("plant")
    quality = plant.get("quality") if isinstance(plant, Mapping) else None
    books = quality.get("playbooks") if isinstance(quality, Mapping) else None
    out: dict[str, list[Mapping[str, Any]]] = {}
    for b in books if isinstance(books, list) else []:
        if isinstance(b, Mapping) and isinstance(b.get("items"), list):
            out[str(b.get("id"))] = [i for i in b["items"] if isinstance(i, Mapping)]
    return out


def _per_rule(items: Sequence[Mapping[str, Any]], tasks: float) -> float:
    """Tasks per ``count: rules`` item, from the tasks the response put on the pools."""
    fixed = sum(float(i.get("count", 1)) for i in items if i.get("count", 1) != "rules")
    by_rule = sum(1 for i in items if i.get("count") == "rules")
    return max(tasks - fixed, 0.0) / by_rule if by_rule else 0.0


def work_spans(records: Iterable[Mapping[str, Any]],
               scenario: Mapping[str, Any]) -> dict[Any, list[Span]]:
    """Per replication, each work item's tasks from when it could start to when it was done
    (NaN end: open at the horizon). Finished items come from ``WorkFinished``; an item
    that never finished started when its playbook responded (no predecessors) or when its
    last predecessor finished, and is open unless a failed life test stopped it."""
    books = _items(scenario)
    out: dict[Any, list[Span]] = defaultdict(list)
    runs: dict[tuple[Any, str], list[_Run]] = defaultdict(list)
    for r in records:
        kind, rep, at = r.get("kind"), r.get("replication"), _num(r.get("at_h"))
        book = str(r.get("playbook"))
        if at is None:
            continue
        if kind == "ResponseStarted":
            items = books.get(book, [])
            runs[(rep, book)].append(_Run(at, items, _per_rule(items, _num(r.get("tasks"))
                                                                or 0.0)))
        elif kind == "WorkFinished":
            started, tasks = _num(r.get("started_h")), _num(r.get("tasks"))
            out[rep].append(Span(started if started is not None else at, at,
                                 tasks if tasks is not None else 1.0))
            if runs.get((rep, book)):
                runs[(rep, book)][-1].done[str(r.get("item"))] = at
        elif kind == "LifeTestCompleted" and r.get("passed") is False and runs.get((rep, book)):
            run = runs[(rep, book)][-1]
            run.failed.add(str(r.get("item")))
            start = _item_start(run, _item(run, str(r.get("item"))))
            out[rep].append(Span(start if start is not None else at, at, 1.0))
    for (rep, _), book_runs in runs.items():
        for run in book_runs:
            for item in run.items:
                name = str(item.get("id"))
                if name in run.done or name in run.failed:
                    continue
                start = _item_start(run, item)
                if start is None:
                    continue
                count = item.get("count", 1)
                tasks = run.per_rule if count == "rules" else float(count)
                if tasks > 0:
                    out[rep].append(Span(start, math.nan, tasks))
    return dict(out)


def _item(run: _Run, name: str) -> Mapping[str, Any]:
    return next((i for i in run.items if str(i.get("id")) == name), {})


def _item_start(run: _Run, item: Mapping[str, Any]) -> float | None:
    after = [str(a) for a in item.get("after") or []]
    if any(a in run.failed for a in after) or not all(a in run.done for a in after):
        return None
    return max([run.started_h, *(run.done[a] for a in after)])


def bucket_means(spans: Mapping[Any, Sequence[Span]], replications: Sequence[Any],
                 edges: np.ndarray) -> np.ndarray:
    """Replications × buckets: the time-average of the summed weights in force in each
    bucket (``edges`` are the buckets' bounds in hours; an open span runs to the last)."""
    edges = np.asarray(edges, dtype=float)
    lo, hi = edges[:-1], edges[1:]
    width = np.maximum(hi - lo, 1e-12)
    out = np.zeros((len(replications), lo.size))
    for row, rep in enumerate(replications):
        for s in spans.get(rep, ()):
            end = edges[-1] if math.isnan(s.end_h) else s.end_h
            overlap = np.clip(np.minimum(hi, end) - np.maximum(lo, s.start_h), 0.0, None)
            out[row] += s.weight * overlap / width
    return out
