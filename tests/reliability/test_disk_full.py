"""Disk full while staging (issue #14, defect 6): a typed error naming the path, the FAILED versions recorded.

The staged area is a 64 KiB tmpfs mounted by the test (root only; required under CI=true); the database and
the raw store stay on the normal disk. Before the fix the run ended in a raw ``OSError: [Errno 28]``.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import require
from tests.fixtures.core import make_settings
from tests.reliability.conftest import PRODUCT
from tests.reliability.helpers import stale_tmp_dirs, versions
from weatherinsight.dwd.products import get_product
from weatherinsight.errors import StorageError
from weatherinsight.ingest import ingest_product
from weatherinsight.mirror.server import MirrorHTTPServer
from weatherinsight.settings import Settings
from weatherinsight.staging import stage_product


def _mount_tmpfs(target: Path, size: str) -> bool:
    if os.geteuid() != 0:
        return False
    target.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(target)], capture_output=True
    )
    return done.returncode == 0


@pytest.fixture
def full_disk_settings(tiny_mirror: MirrorHTTPServer, data_dir: Path) -> Iterator[Settings]:
    s = make_settings(data_dir, dwd_base_url=tiny_mirror.base_url)
    ingest_product(s, PRODUCT)
    staged = Path(s.staged_dir)
    require(_mount_tmpfs(staged, "64k"), "mounting a tmpfs needs root and mount(8)")
    try:
        yield s
    finally:
        subprocess.run(["umount", "-l", str(staged)], check=False)


def test_disk_full_during_stage_is_a_typed_error_and_recorded(full_disk_settings: Settings) -> None:
    s = full_disk_settings
    with pytest.raises(StorageError) as err:
        stage_product(s, get_product(PRODUCT))
    message = str(err.value)
    assert message.startswith(f"cannot write {s.staged_dir}") and "No space left on device" in message
    failed = versions(s, "staged")
    assert failed and set(failed.values()) == {"FAILED"}
    assert stale_tmp_dirs(s) == []  # the run's temp area was removed on the way out

    subprocess.run(["umount", "-l", str(s.staged_dir)], check=True)  # space again: the next run succeeds
    result = stage_product(s, get_product(PRODUCT))
    assert result.status == "succeeded" and result.rows_written > 0
    after = versions(s, "staged")
    assert sorted(v for v, st in after.items() if st == "AVAILABLE") == sorted(result.versions.values())
