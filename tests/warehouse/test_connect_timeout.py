"""A PostgreSQL server that accepts the TCP connection but never answers must not hold a caller forever."""

from __future__ import annotations

import socket
import time

import pytest
from sqlalchemy import text

from weatherinsight.errors import DatabaseUnavailableError
from weatherinsight.warehouse import db


def test_postgres_connect_gives_up_after_the_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(db, "_PG_CONNECT_TIMEOUT_S", 1)
    with socket.socket() as silent:  # the kernel completes the handshake; nobody ever speaks PostgreSQL
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"postgresql+psycopg://nobody@127.0.0.1:{silent.getsockname()[1]}/none"
        engine = db._create_engine(url)
        try:
            start = time.monotonic()
            # A failed connect is the typed error naming the server (issue #14 defect 5), the driver's reason kept.
            with pytest.raises(DatabaseUnavailableError, match="timeout"), engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            assert 0.9 <= time.monotonic() - start < 10
        finally:
            engine.dispose()
