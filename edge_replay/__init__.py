"""The only package that talks to DuckDB: ingest, store schema, replay feeds, results store."""
