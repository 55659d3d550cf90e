"""Start-up: how long the commands users repeat most take before they do anything.

Whole-process wall time of ``shocktwin --help`` and ``shocktwin validate <bundled>``, and the
import time of the CLI, each the best of several runs and set against ``python -c pass`` run
the same way (the interpreter's own start-up, the anchor). Goal: ``--help`` and ``validate``
within 0.5 s. And how soon a process worker can run a replication after its pool starts it
(goal 0.3 s), against a spawned worker, which imports the twin itself.
Run alone: ``python -m bench.startup``.

Measured with the interpreter users run: ``BENCH_PYTHON`` (``make bench`` sets it to the
product's venv, ``.venv``), else this one. The benchmark's own venv also holds the peers,
one of which (sphinx-jinja2-compat, through stockpyl) patches Jinja2 from a ``.pth`` file at
every interpreter start: 0.15 s that no user of shocktwin pays.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

RUNS = 7

#: The interpreter whose start-up is measured.
PYTHON = os.environ.get("BENCH_PYTHON") or sys.executable


def _best_wall(args: list[str], cwd: str) -> float:
    best = float("inf")
    for _ in range(RUNS):
        t0 = time.perf_counter()
        subprocess.run(args, cwd=cwd, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        best = min(best, time.perf_counter() - t0)
    return best


def _import_s(module: str, cwd: str) -> float:
    """Cumulative import time of ``module`` by ``-X importtime`` (best of the runs)."""
    best = float("inf")
    for _ in range(RUNS):
        done = subprocess.run([PYTHON, "-X", "importtime", "-c", f"import {module}"],
                              cwd=cwd, capture_output=True, text=True, check=True)
        line = next(x for x in reversed(done.stderr.splitlines())
                    if x.rstrip().endswith(f"| {module}"))
        best = min(best, int(line.split("|")[1]) / 1e6)
    return best


def _ready() -> bool:
    """What a worker does before its first replication: have the twin imported."""
    import shocktwin.twin.experiment.replication  # noqa: F401

    return True


def _first_result_s(context: Any) -> float:
    """Wall time from starting a one-worker pool to the first result of ``_ready``."""
    t0 = time.perf_counter()
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        pool.submit(_ready).result()
        return time.perf_counter() - t0


def worker_ready() -> dict[str, float]:
    """How soon a process worker can run a replication: the pools the product uses (a fork
    server with the twin preloaded; its first pool also starts the server) against spawn,
    which imports the twin in every new worker. Best of ``RUNS`` each."""
    from multiprocessing import get_context

    from shocktwin.twin.experiment.executor import worker_context

    context = worker_context()
    cold = _first_result_s(context)  # starts the fork server (once per process)
    warm = min(_first_result_s(context) for _ in range(RUNS))
    spawned = min(_first_result_s(get_context("spawn")) for _ in range(RUNS))
    return {"worker_ready_s": warm, "worker_ready_first_pool_s": cold,
            "worker_ready_spawn_s": spawned, "worker_ready_within_goal": warm <= 0.3}


def _workers() -> dict[str, float]:
    """``worker_ready`` in the measured interpreter (a pool's workers start from it)."""
    if sys.executable == PYTHON:
        return worker_ready()
    done = subprocess.run([PYTHON, "-m", "bench.startup", "workers"], check=True,
                          capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[1])
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def run() -> dict[str, Any]:
    shocktwin = [PYTHON, "-m", "shocktwin"]
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as cwd:
        anchor = _best_wall([PYTHON, "-c", "pass"], cwd)
        helped = _best_wall([*shocktwin, "--help"], cwd)
        validated = _best_wall([*shocktwin, "validate", "demo_plant"], cwd)
        cli_import = _import_s("shocktwin.cli", cwd)
    return {
        "python_c_pass_s": anchor,
        "help_s": helped,
        "validate_bundled_s": validated,
        "cli_import_s": cli_import,
        "help_vs_python_ratio": helped / anchor,
        "validate_vs_python_ratio": validated / anchor,
        "help_within_goal": helped <= 0.5,
        "validate_within_goal": validated <= 0.5,
        **_workers(),
    }


if __name__ == "__main__":
    if sys.argv[1:2] == ["workers"]:
        print(json.dumps(worker_ready()))
        sys.exit(0)
    for key, value in run().items():
        print(f"{key:28} {value:.3f}" if isinstance(value, float) else f"{key:28} {value}")
    print(f"(best of {RUNS} runs each; {PYTHON})")
