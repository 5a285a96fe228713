"""Data sets as declarations, their contracts, ingest, the DuckDB feature build and its look-ahead
audit."""
