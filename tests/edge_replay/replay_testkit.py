"""Shared helpers for the edge_replay tests: where the data lives, and a reader for stores.

Plain functions and constants rather than conftest fixtures: other test folders import their
own ``conftest`` by name, which a second ``conftest`` module would shadow.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shocktwin.edge_replay.schema import open_store

__all__ = ["BAD", "REPO_DATA", "SHARED_DATA", "new_store", "rows"]

_HERE = Path(__file__).resolve().parent
_REPO = Path(__file__).resolve().parents[2]

#: The repository's bundled demo data.
REPO_DATA = _REPO / "data"
#: The shared data folder beside the repository, which holds data that is not bundled.
SHARED_DATA = _REPO.parent / "shared" / "data"
#: Small bad input files, one per failure the ingest must handle.
BAD = _HERE / "bad"


def rows(db: Path, sql: str, *params: object) -> list[tuple[Any, ...]]:
    """Rows of a read-only query on the store ``db``."""
    con = open_store(db)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def new_store(tmp_path: Path) -> Path:
    """Path of a store that does not exist yet, alone in its own folder."""
    folder = tmp_path / "store"
    folder.mkdir()
    return folder / "plant.duckdb"
