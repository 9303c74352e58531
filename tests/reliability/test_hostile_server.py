"""A hostile or broken DWD server (issue #14, defect 3): bounded memory, terminal failures fetched once.

The tiny mirror's server injects the body faults of ``mirror.server``: ``huge`` (with and without a declared
``Content-Length``), ``corrupt`` (a deterministic verification failure) and ``wrong_length`` (transient).
"""

from __future__ import annotations

import resource
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.fixtures.core import make_settings
from tests.fixtures.mirror import FAST_INGEST
from tests.reliability.conftest import PRODUCT
from weatherinsight.ingest import ingest_product
from weatherinsight.mirror.server import MirrorHTTPServer
from weatherinsight.settings import Settings
from weatherinsight.storage.raw import RawStore
from weatherinsight.warehouse import db
from weatherinsight.warehouse.tables import ingestion_runs

CAP = 16 << 20


def _settings(server: MirrorHTTPServer, data_dir: Path, **ingest: object) -> Settings:
    # one bad file of the tiny mirror's few is above the default failure share: allow it, the counts are checked
    return make_settings(
        data_dir, dwd_base_url=server.base_url, ingest={**FAST_INGEST, "max_failure_share": 0.9, **ingest}
    )


def _victim(server: MirrorHTTPServer) -> str:
    return sorted(p.name for p in Path(server.root).rglob("*_akt.zip"))[0]


def _gets(server: MirrorHTTPServer, name: str) -> int:
    return sum(1 for method, path, _ in server.requests if method == "GET" and path.endswith("/" + name))


def _summary(settings: Settings) -> str:
    with db.get_engine(settings.database_url).connect() as conn:
        return str(conn.execute(select(ingestion_runs.c.error_summary)).scalar_one())


def _fresh(server: MirrorHTTPServer) -> None:
    server.wait_idle()
    server.faults.clear()
    server.clear_log()


@pytest.fixture(autouse=True)
def _no_faults_left(tiny_mirror: MirrorHTTPServer) -> Iterator[None]:
    """The tiny mirror is shared by the whole session (tests/reliability/test_kill9.py reads it too): a fault
    left behind by a test here would corrupt another test's downloads, so every test leaves the server clean."""
    yield
    _fresh(tiny_mirror)


def test_declared_huge_body_is_refused_before_download(tiny_mirror: MirrorHTTPServer, data_dir: Path) -> None:
    _fresh(tiny_mirror)
    victim = _victim(tiny_mirror)
    tiny_mirror.faults.add("huge", f"*/{victim}", size=2 << 30)
    s = _settings(tiny_mirror, data_dir)  # default cap: 512 MiB
    assert s.ingest.max_download_bytes == 512 << 20
    result = ingest_product(s, PRODUCT)
    assert (result.files_failed, [f.file_name for f in result.failures]) == (1, [victim])
    assert (
        "declared Content-Length 2147483648 bytes exceeds the cap of 536870912 bytes"
        in result.failures[0].reason
    )
    assert _gets(tiny_mirror, victim) == 1  # refused, not retried
    assert victim not in RawStore.from_settings(s).list_files(PRODUCT, "recent")
    assert f"recent/{victim}: " in _summary(s)


def test_undeclared_huge_body_stops_at_the_cap_with_bounded_memory(
    tiny_mirror: MirrorHTTPServer, data_dir: Path
) -> None:
    _fresh(tiny_mirror)
    victim = _victim(tiny_mirror)
    tiny_mirror.faults.add("huge", f"*/{victim}", size=1 << 30, declare_length=False)
    s = _settings(tiny_mirror, data_dir, max_download_bytes=CAP)
    peak_before_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = ingest_product(s, PRODUCT)
    peak_growth_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before_kib) / 1024
    assert [f.file_name for f in result.failures] == [victim]
    assert f"body passed the cap of {CAP} bytes" in result.failures[0].reason
    assert _gets(tiny_mirror, victim) == 1
    # reading the 1 GiB body whole would raise the peak by ≥ 1024 MiB; streaming stops at the 16 MiB cap
    assert peak_growth_mib < 256, peak_growth_mib


def test_corrupt_body_is_fetched_once_and_the_reason_recorded(
    tiny_mirror: MirrorHTTPServer, data_dir: Path
) -> None:
    _fresh(tiny_mirror)
    victim = _victim(tiny_mirror)
    tiny_mirror.faults.add("corrupt", f"*/{victim}")
    s = _settings(tiny_mirror, data_dir)
    assert s.ingest.max_attempts == 4
    result = ingest_product(s, PRODUCT)
    assert [f.file_name for f in result.failures] == [victim]
    assert "failed verification (not retried)" in result.failures[0].reason
    assert _gets(tiny_mirror, victim) == 1
    assert "failed verification (not retried)" in _summary(s)


def test_wrong_content_length_is_transient_and_retried(tiny_mirror: MirrorHTTPServer, data_dir: Path) -> None:
    _fresh(tiny_mirror)
    victim = _victim(tiny_mirror)
    tiny_mirror.faults.add("wrong_length", f"*/{victim}", times=1)
    s = _settings(tiny_mirror, data_dir)
    result = ingest_product(s, PRODUCT)
    assert (result.status, result.files_failed) == ("succeeded", 0)
    assert _gets(tiny_mirror, victim) == 2
    store = RawStore.from_settings(s)
    assert store.read(PRODUCT, "recent", victim) == next(Path(tiny_mirror.root).rglob(victim)).read_bytes()
