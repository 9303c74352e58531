"""The committed map outline is exactly what the pinned npm package builds (web/package-lock.json, web/build.mjs).

The explorer ships ``static/germany.json`` so that ``make demo`` and the API need no node; this test rebuilds it
from the lock file in a temporary directory (npm registry only) and requires the same bytes, so the committed
file can never drift from its declared source.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO, require

pytestmark = pytest.mark.slow

COMMITTED = REPO / "src" / "weatherinsight" / "api" / "explorer" / "static" / "germany.json"


def test_committed_outline_equals_a_fresh_build_from_the_lock_file(tmp_path: Path) -> None:
    npm, node = shutil.which("npm"), shutil.which("node")
    require(npm is not None and node is not None, "node and npm (Debian packages nodejs, npm)")
    assert npm is not None and node is not None
    for name in ("package.json", "package-lock.json", "build.mjs"):
        shutil.copy(REPO / "web" / name, tmp_path / name)
    subprocess.run(
        [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        timeout=300,
    )
    out = tmp_path / "germany.json"
    subprocess.run([node, "build.mjs", str(out)], cwd=tmp_path, check=True, capture_output=True, timeout=60)
    assert out.read_bytes() == COMMITTED.read_bytes()
    assert out.stat().st_size > 10_000
