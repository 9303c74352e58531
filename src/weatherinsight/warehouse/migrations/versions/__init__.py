"""Alembic revision files (static: every column written out; drift against ``tables.metadata`` fails a test)."""
