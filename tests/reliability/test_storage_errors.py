"""Storage errors in ingest's raw store and a read-only staged area (issue #14, storage errors).

ENOSPC: the raw store is a 32 KiB tmpfs (the tiny mirror's zips do not fit). EACCES cannot be provoked by
chmod here (the tests run as root), so the read-only case remounts a small tmpfs ``ro``: the kernel answers
``EROFS``, which reaches the same code path (an ``OSError`` of the storage itself). Each case: one typed
``StorageError`` naming the path, the FAILED record written, no partial file left. Root and mount(8) are
needed (required under CI=true).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from tests.conftest import require
from tests.fixtures.core import make_settings
from tests.reliability.conftest import PRODUCT
from tests.reliability.helpers import run_statuses, versions
from weatherinsight.dwd.products import get_product
from weatherinsight.errors import StorageError
from weatherinsight.ingest import ingest_product
from weatherinsight.mirror.server import MirrorHTTPServer
from weatherinsight.staging import stage_product
from weatherinsight.warehouse.tables import ingestion_runs


def _mount(target: Path, options: str) -> None:
    target.mkdir(parents=True, exist_ok=True)
    ok = (
        os.geteuid() == 0
        and (
            subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(target)], capture_output=True)
        ).returncode
        == 0
    )
    require(ok, "mounting a tmpfs needs root and mount(8)")


@pytest.fixture
def mounts() -> Iterator[list[Path]]:
    mounted: list[Path] = []
    yield mounted
    for m in mounted:
        subprocess.run(["umount", "-l", str(m)], check=False)


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def _error_summary(settings_url: str) -> str:
    with create_engine(settings_url).connect() as conn:
        rows = conn.execute(select(ingestion_runs.c.error_summary).order_by(ingestion_runs.c.id)).all()
    return str(rows[-1][0])


@pytest.mark.parametrize(("options", "errno_name"), [("size=32k", "ENOSPC"), ("size=1m,ro", "EROFS")])
def test_raw_store_storage_error_is_typed_and_the_run_failed(
    tiny_mirror: MirrorHTTPServer, data_dir: Path, mounts: list[Path], options: str, errno_name: str
) -> None:
    s = make_settings(data_dir, dwd_base_url=tiny_mirror.base_url)
    raw = Path(s.raw_store_url)
    _mount(raw, options)
    mounts.append(raw)
    with pytest.raises(StorageError) as err:
        ingest_product(s, PRODUCT)
    message = str(err.value)
    assert message.startswith(f"cannot write {raw}/dwd") and f"({errno_name})" in message
    assert run_statuses(s) == ["failed"]
    summary = _error_summary(s.database_url)  # the run's row says why, naming the file
    assert f"({errno_name})" in summary and f"{raw}/" in summary
    assert [p for p in _files(raw) if p.name.endswith(".part")] == []  # no partial file left


def test_read_only_staged_area_is_typed_and_recorded(
    tiny_mirror: MirrorHTTPServer, data_dir: Path, mounts: list[Path]
) -> None:
    s = make_settings(data_dir, dwd_base_url=tiny_mirror.base_url)
    ingest_product(s, PRODUCT)
    staged = Path(s.staged_dir)
    _mount(staged, "size=1m,ro")
    mounts.append(staged)
    with pytest.raises(StorageError) as err:
        stage_product(s, get_product(PRODUCT))
    message = str(err.value)
    assert message.startswith(f"cannot write {staged}") and "(EROFS)" in message
    failed = versions(s, "staged")
    assert failed and set(failed.values()) == {"FAILED"}
    assert _files(staged) == []
