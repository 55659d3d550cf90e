"""The wheel round trip: what a user gets from ``pip install``, not what a checkout has.

A wheel is built from a clean clone (only what is committed), installed into an empty venv
beside the locked dependencies, and run from a folder that is not the repo: every bundled
scenario by name, ``python -m shocktwin``, and nothing generic in site-packages.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = sorted(p.stem for p in (ROOT / "scenarios" / "reference").glob("*.yaml"))
GENERIC = ("cli", "twin", "scenarios", "reports", "rules_engine", "edge_replay",
           "shock_library")


def _run(*command: str | Path, cwd: Path, timeout: int = 900) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run([str(c) for c in command], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, check=False, env=env)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The venv's bin folder, with the wheel of a clean clone and the locked dependencies."""
    top = tmp_path_factory.mktemp("wheel")
    clone = top / "clone"
    done = _run("git", "clone", "-q", ROOT, clone, cwd=top)
    if done.returncode != 0:
        pytest.skip(f"not a git checkout: {done.stderr.strip()}")
    built = _run(sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "--no-build-isolation",
                 "-w", top / "dist", clone, cwd=top)
    assert built.returncode == 0, built.stderr[-3000:]
    log = built.stdout + built.stderr
    assert "would be ignored" not in log and "BuildBackendWarning" not in log, log[-3000:]
    (wheel,) = (top / "dist").glob("shocktwin-*.whl")
    _run(sys.executable, "-m", "venv", top / "venv", cwd=top).check_returncode()
    pip = top / "venv" / "bin" / "pip"
    deps = _run(pip, "install", "-q", "--disable-pip-version-check", "--require-hashes",
                "-r", clone / "requirements.lock", cwd=top)
    assert deps.returncode == 0, deps.stderr[-3000:]
    own = _run(pip, "install", "-q", "--disable-pip-version-check", "--no-deps", wheel, cwd=top)
    assert own.returncode == 0, own.stderr[-3000:]
    return top / "venv" / "bin"


@pytest.mark.slow
def test_the_wheel_installs_one_namespace(installed: Path) -> None:
    site = next((installed.parent / "lib").glob("python3*/site-packages"))
    assert (site / "shocktwin" / "__init__.py").is_file()
    assert [name for name in GENERIC if (site / name).exists() or (site / f"{name}.py").exists()
            ] == []


@pytest.mark.slow
@pytest.mark.parametrize("name", BUNDLED)
def test_the_wheel_runs_every_bundled_scenario_by_name(installed: Path, name: str,
                                                       tmp_path: Path) -> None:
    checked = _run(installed / "shocktwin", "validate", name, cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    ran = _run(installed / "shocktwin", "run", name, "-n", "2", "--out", tmp_path / "out",
               cwd=tmp_path)
    assert ran.returncode in (0, 1, 4), ran.stdout + ran.stderr  # 1 violated, 4 undecided
    assert "Traceback" not in ran.stderr
    assert (tmp_path / "out" / "journal.json").is_file()


@pytest.mark.slow
def test_python_m_shocktwin_is_the_command(installed: Path, tmp_path: Path) -> None:
    done = _run(installed / "python", "-m", "shocktwin", "--help", cwd=tmp_path)
    assert done.returncode == 0 and "Usage" in done.stdout, done.stderr
