"""Alembic migrations of the curated database, run in code by ``warehouse.db.ensure_schema``."""
