"""Start-up: how long the commands users repeat most take before they do anything.

Whole-process wall time of ``shocktwin --help`` and ``shocktwin validate <bundled>``, and the
import time of the CLI, each the best of several runs and set against ``python -c pass`` run
the same way (the interpreter's own start-up, the anchor). Goal: ``--help`` and ``validate``
within 0.5 s.
Run alone: ``python -m bench.startup``.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

RUNS = 7


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
        done = subprocess.run([sys.executable, "-X", "importtime", "-c", f"import {module}"],
                              cwd=cwd, capture_output=True, text=True, check=True)
        line = next(x for x in reversed(done.stderr.splitlines())
                    if x.rstrip().endswith(f"| {module}"))
        best = min(best, int(line.split("|")[1]) / 1e6)
    return best


def run() -> dict[str, Any]:
    shocktwin = [sys.executable, "-m", "shocktwin"]
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as cwd:
        anchor = _best_wall([sys.executable, "-c", "pass"], cwd)
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
    }


if __name__ == "__main__":
    for key, value in run().items():
        print(f"{key:28} {value:.3f}" if isinstance(value, float) else f"{key:28} {value}")
    print(f"(best of {RUNS} runs each; {Path(sys.executable).name})")
