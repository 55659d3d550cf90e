"""The peers benchmark's models are the models they claim to be (bench/peers.py).

The heap-queue M/M/3 and shocktwin's M/M/3 against Erlang C, computed here from the formula;
the tandem line and the inventory in shocktwin against the heap-queue loop; the equivalence
helpers on small runs of every peer that is installed (the ``bench`` extra). No timings.
"""

from __future__ import annotations

import importlib.util
import math
import subprocess
import sys
from pathlib import Path

import pytest

from bench import peers

#: Replications and run length for the M/M/3 checks: the reference scenario's length
#: (scenarios/reference/mmc.yaml) with fewer replications, an interval a model off by 20 %
#: would miss.
N_REPS = 8
MM3_SETUP = peers.Setup(20000.0, 1000.0)


def _erlang_c_wq(lam: float, mu: float, c: int) -> float:
    """M/M/c mean wait in queue, written out once more from the textbook formula."""
    a = lam / mu
    p0 = 1.0 / (sum(a**k / math.factorial(k) for k in range(c))
                + a**c / (math.factorial(c) * (1 - a / c)))
    lq = p0 * a**c * (a / c) / (math.factorial(c) * (1 - a / c) ** 2)
    return lq / lam


def test_erlang_c_published_value() -> None:
    # The tabled M/M/3 value at rho = 0.9 (scenarios/reference/mmc.yaml, the README).
    assert _erlang_c_wq(2.7, 1.0, 3) == pytest.approx(2.7235, abs=5e-5)
    assert peers.erlang_c_wq(2.7, 1.0, 3) == pytest.approx(_erlang_c_wq(2.7, 1.0, 3))
    # M/M/1 at rho = 0.8: Wq = rho / (mu - lambda) = 4 h.
    assert peers.erlang_c_wq(0.8, 1.0, 1) == pytest.approx(4.0)


def test_jackson_tandem_value() -> None:
    # Five M/M/1 stations, utilisations 0.6 ... 0.8: sum of m / (1 - m).
    assert peers.jackson_tandem_sojourn_h() == pytest.approx(
        0.6 / 0.4 + 0.75 / 0.25 + 0.7 / 0.3 + 0.8 / 0.2 + 0.65 / 0.35)


@pytest.mark.parametrize("runner", [peers.mm3_heapq, peers.mm3_shocktwin],
                         ids=["heapq", "shocktwin"])
def test_mm3_agrees_with_erlang_c(runner: peers.Runner) -> None:
    waits = [runner(MM3_SETUP, seed).measures["wq_h"] for seed in range(1, N_REPS + 1)]
    expected = _erlang_c_wq(2.7, 1.0, 3)
    low, high = peers.ci95(waits)
    assert low <= expected <= high
    assert high - low < 0.4 * expected


def test_ci_helpers() -> None:
    values = [1.0, 2.0, 3.0, 4.0]
    low, high = peers.ci95(values)
    # mean 2.5, s = 1.291, t(0.975, 3) = 3.182: half-width 2.054.
    assert (low + high) / 2 == pytest.approx(2.5)
    assert (high - low) / 2 == pytest.approx(3.182446 * 1.290994 / 2, rel=1e-5)
    assert peers.contains(values, 2.5) and not peers.contains(values, 5.0)
    # A wider level widens the interval: t(0.9995, 3) = 12.92, half-width 8.34.
    assert peers.contains(values, 5.0, level=0.999)
    assert peers.agree(values, [v + 0.1 for v in values])
    assert not peers.agree(values, [v + 10.0 for v in values])


def test_tandem_and_inventory_in_shocktwin_agree_with_the_heap_queue() -> None:
    """Independent replications of the same models, 12 each, agree within the 95 %
    interval of their difference on every compared measure."""
    for model, setup in (("tandem", peers.Setup(1500.0, 150.0)),
                         ("inventory", peers.Setup(600.0))):
        runs = {tool: [peers.RUNNERS[model][tool](setup, seed) for seed in range(1, 13)]
                for tool in ("shocktwin", "heapq")}
        for name in peers.MEASURES[model]:
            a = [s.measures[name] for s in runs["shocktwin"]]
            b = [s.measures[name] for s in runs["heapq"]]
            assert peers.agree(a, b), (model, name)


def _installed(tool: str) -> None:
    reason = peers.missing(tool)
    if reason is not None:
        pytest.skip(f"{tool} left out: {reason}")


@pytest.mark.parametrize("model,tool", [(m, t) for m, tools in peers.RUNNERS.items()
                                        for t in tools if t not in ("shocktwin", "heapq")])
def test_every_peer_runs_its_model(model: str, tool: str) -> None:
    """A tiny run of each peer gives every measure its model compares, finite and in range,
    and the figures step turns two tools' runs into a rate ratio and checks."""
    _installed(tool)
    setup = peers.Setup(600.0) if model == "inventory" else peers.Setup(120.0, 12.0)
    runs = {t: [peers.RUNNERS[model][t](setup, seed) for seed in (1, 2)]
            for t in ("shocktwin", tool)}
    for sample in runs[tool]:
        assert sample.units > 0 and sample.wall_s > 0
        assert set(sample.measures) == set(peers.MEASURES[model])
        assert all(math.isfinite(v) and v >= 0 for v in sample.measures.values())
    if model == "inventory":
        # The outage makes some units wait, whatever the tool.
        assert all(0 < s.measures["fill_rate"] < 1 for s in runs[tool])
    figures = peers._figures(model, runs, {t: (setup, 2) for t in runs})
    assert figures[f"{model}_{tool}_vs_shocktwin_rate_ratio"] > 0
    assert figures[f"{model}_equivalence_checks"] >= 1


def test_peers_module_imports_no_bench_extra() -> None:
    """Importing the suite (as `python -m bench` does) loads no bench-only package."""
    code = ("import sys, bench.peers; "
            "print(sorted(m for m in ('ciw', 'stockpyl', 'SupplyNetPy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).parents[1]).stdout.strip()
    assert out == "[]"


def test_missing_names_the_extra() -> None:
    assert peers.missing("heapq") is None and peers.missing("shocktwin") is None
    for tool in ("ciw", "stockpyl", "supplynetpy"):
        module = peers._MODULE[tool]
        assert module is not None
        reason = peers.missing(tool)
        assert (reason is None) == (importlib.util.find_spec(module) is not None)
        if reason is not None:
            assert "bench" in reason
