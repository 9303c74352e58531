"""Client test setup: the API tests' seeded database (SQLite and PostgreSQL) and its uvicorn server on loopback,
so the local and the HTTP client read the same data."""

from tests.api.conftest import backend

__all__ = ["backend"]
