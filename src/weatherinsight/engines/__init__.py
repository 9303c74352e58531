"""Execution engines for the one feature definition (``features/definitions.py``): DuckDB (default) and Spark."""

from __future__ import annotations

ENGINES = ("duckdb", "spark")
