"""The only package that talks to DuckDB: ingest, store schema, replay feeds, results store."""

from __future__ import annotations

from shocktwin.edge_replay.ingest import (
           GENERIC_FORMATS,
           IngestReport,
           SourceFormat,
           TableCounts,
           ingest,
)
from shocktwin.edge_replay.mapping import SourceMapping, load_mapping
from shocktwin.edge_replay.schema import SCHEMA_VERSION, InspectionResult, Table, View, open_store

__all__ = ["GENERIC_FORMATS", "SCHEMA_VERSION", "IngestReport", "InspectionResult",
           "SourceFormat", "SourceMapping", "Table", "TableCounts", "View", "ingest",
           "load_mapping", "open_store"]
