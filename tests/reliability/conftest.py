"""Fixtures of the reliability probes (issue #14): a tiny one-product mirror served over loopback HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from weatherinsight.mirror.server import MirrorHTTPServer
from weatherinsight.mirror.simulate import build_mirror

#: The product the probes run (the smallest mirror that still exercises every step).
PRODUCT = "air_temperature"


@pytest.fixture(scope="session")
def tiny_mirror_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two stations, one historical year + this year, one product: each pipeline run takes about a second."""
    root = tmp_path_factory.mktemp("tiny-mirror")
    build_mirror(root, stations=2, years=1, seed=14, products=(PRODUCT,), workers=1)
    return root


@pytest.fixture(scope="session")
def tiny_mirror(tiny_mirror_dir: Path) -> Iterator[MirrorHTTPServer]:
    server = MirrorHTTPServer(tiny_mirror_dir).start()
    try:
        yield server
    finally:
        server.stop()
