"""Invalidated rules, as a property over random small plants: after a context change, no
unit is released under a rule bound to the old context.

The windows in which a context's rules are invalid are worked out here from the scenario
drawn and the journal, not taken from the twin's own fallback bookkeeping: a context is
invalid from a change away from a value the library binds rules to (or any change while it
is still invalid) until a response to its latest change is done. A release inside such a
window must be absent (hold_release) or flagged as released under the fallback (deviation,
approved); a release outside every window is never flagged."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shocktwin.scenarios import Scenario, parse_scenario
from shocktwin.twin.experiment.replication import build_model
from shocktwin.twin.kernel import make_kernel
from shocktwin.twin.model.base import PlantRecord

VALUES = {"toolchain": ["a", "b", "c"], "regulation": ["r1", "r2"]}
INITIAL = {"toolchain": "a", "regulation": "r1"}
HORIZON_H = 120.0

durations = st.sampled_from(["15min", "30min", "1h", "2h", "4h"])


@st.composite
def plants(draw: st.DrawFn) -> dict[str, Any]:
    """A small plant with a random library, random context changes, latencies, pool sizes,
    task times and fallback (hold_release or deviation)."""
    rules = []
    for key, values in VALUES.items():
        for value in values:
            for k in range(draw(st.integers(0, 3))):
                rules.append({"id": f"{key}-{value}-{k}", "kind": "constraint",
                              "context": {key: value}})
    mode = draw(st.sampled_from(["hold_release", "deviation"]))
    fallback: dict[str, Any] = {"mode": mode}
    if mode == "deviation":
        fallback.update(pool="mrb", approval_time=draw(st.sampled_from(["10min", "1h"])))
    changes = draw(st.lists(st.tuples(st.sampled_from(sorted(VALUES)),
                                      st.integers(0, 2), st.floats(2.0, 80.0)),
                            min_size=1, max_size=4, unique_by=lambda c: round(c[2], 3)))
    shocks = []
    for j, (key, v, start) in enumerate(changes):
        shocks.append({"id": f"change{j}", "type": "tariff_shock", "target": "sup",
                       "tariff": 0.01, "start": f"{start:.6f}h", "duration": "30min",
                       "context": {key: VALUES[key][v % len(VALUES[key])]}})
    playbooks = []
    for key in VALUES:
        latency = draw(st.sampled_from(["0h", "17min", "3h", {"dist": "exponential",
                                                                "mean": "2h"}]))
        count = draw(st.sampled_from(["rules", 1, 3]))
        mean = draw(durations)
        playbooks.append({"id": f"on-{key}", "trigger": {"context": key}, "latency": latency,
                          "items": [{"id": "redo", "kind": "rule_regeneration",
                                     "pool": "reviewers", "count": count,
                                     "duration": {"dist": "exponential", "mean": mean}}]})
    return {
        "library": {"version": 1, "name": "lib", "plans": [],
                    "library": {"fallback": fallback, "rules": rules}},
        "scenario": {
            "version": 1, "name": "property", "horizon": f"{HORIZON_H}h",
            "plant": {
                "suppliers": [{"id": "sup", "material": "part", "lead_time": "1d",
                               "lot_size": 500}],
                "buffers": [{"id": "stock", "material": "part", "initial": 1000,
                             "reorder_point": 500}],
                "stations": [{"id": "work", "process_time": {"dist": "exponential",
                                                             "mean": "10min"}},
                             {"id": "release", "kind": "release", "sla": "4h"}],
                "routing": ["work", "release"],
                "demand": {"rate": "3/h", "due_in": "1d"},
                "quality": {"contexts": dict(INITIAL),
                            "pools": [{"id": "reviewers",
                                       "capacity": draw(st.integers(1, 3))},
                                      {"id": "mrb", "capacity": draw(st.integers(1, 2))}],
                            "playbooks": playbooks},
            },
            "rules": "rules.yaml",
            "shocks": shocks,
            "experiment": {"replications": 1, "seed": draw(st.integers(0, 2**31))},
        },
    }


def invalid_windows(sc: Scenario, library: dict[str, Any],
                    rec: PlantRecord) -> list[tuple[float, float]]:
    """When some context's rules are invalid, from the scenario and the journal.

    A response's run is matched to its end by its only item: the item starts when the
    response does, so ``WorkFinished.started_h`` is ``ResponseStarted.at_h`` (changes are
    drawn at distinct times, so no two runs of one playbook start together).
    """
    bound: dict[tuple[str, str], int] = {}
    for rule in library["library"]["rules"]:
        for key, value in rule["context"].items():
            bound[key, value] = bound.get((key, value), 0) + 1
    changes = {sh.id: sh.context for sh in sc.shocks}
    responded = {(e.playbook, e.at_h): e for e in rec.log if e.kind == "ResponseStarted"}
    steps: list[tuple[float, int, Any]] = []  # (time, order at equal times, what)
    for e in rec.log:
        if e.kind == "ShockStarted":
            steps.append((e.at_h, 0, ("change", changes[e.shock])))
        elif e.kind == "WorkFinished":
            run = responded[e.playbook, e.started_h]
            steps.append((e.at_h, 1, ("done", run.on.removeprefix("context "), run.event_h)))
    current = dict(INITIAL)
    dirty: dict[str, float] = {}  # context → its latest change while invalid
    windows: list[tuple[float, float]] = []
    opened: float | None = None
    for at, _, what in sorted(steps, key=lambda s: (s[0], s[1])):
        if what[0] == "change":
            for key, new in what[1].items():
                old, current[key] = current[key], new
                if new != old and (key in dirty or bound.get((key, old), 0) > 0):
                    dirty[key] = at
        else:
            _, key, event_h = what
            if key in dirty and event_h >= dirty[key]:
                del dirty[key]
        if dirty and opened is None:
            opened = at
        elif not dirty and opened is not None:
            windows.append((opened, at))
            opened = None
    if opened is not None:
        windows.append((opened, HORIZON_H))
    return windows


@settings(max_examples=50, deadline=None, suppress_health_check=[
    HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(drawn=plants())
def test_no_unit_is_released_under_a_rule_bound_to_an_old_context(
        drawn: dict[str, Any], tmp_path: Path) -> None:
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(drawn["library"]))
    sc = parse_scenario(drawn["scenario"], base_dir=tmp_path)
    rec = build_model(sc, make_kernel("simpy"), seed=sc.experiment.seed,
                      replication=0).run()
    windows = invalid_windows(sc, drawn["library"], rec)
    mode = drawn["library"]["library"]["fallback"]["mode"]
    eps = 1e-9
    inside = [any(a + eps < t < b - eps for a, b in windows) for t in rec.release_h]
    on_edge = [any(abs(t - a) <= eps or abs(t - b) <= eps for a, b in windows)
               for t in rec.release_h]
    for t, flagged, within, edge in zip(rec.release_h, rec.release_fallback, inside, on_edge,
                                        strict=True):
        if within:
            assert mode == "deviation", f"released at h {t:.4f} while invalid: {windows}"
            assert flagged, f"released at h {t:.4f} under invalid rules, not flagged"
        elif not edge and mode == "hold_release":
            # Held units are released the moment the rules are valid again; any other
            # release happens under valid rules.
            assert not flagged, f"flagged at h {t:.4f} outside every window {windows}"
    # The twin's own windows agree with those derived here.
    episodes = [(e.at_h - e.hours, e.at_h) for e in rec.log
                if e.kind == "QualitySystemRevalidated"]
    closed = [w for w in windows if w[1] < HORIZON_H]
    assert [round(b, 9) for _, b in episodes] == [round(b, 9) for _, b in closed]
