"""DwdClient against the real mirror server: listings, conditional GET, retries and what is (not) retried."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from weatherinsight.dwd.client import DwdClient, RetryPolicy, parse_listing, retry_after_seconds
from weatherinsight.dwd.files import read_zip_members
from weatherinsight.dwd.products import get_product
from weatherinsight.errors import DownloadError
from weatherinsight.mirror.layout import product_dir
from weatherinsight.mirror.server import MirrorHTTPServer

TU = get_product("air_temperature")
DWD_PAGE = """<html>
<head><title>Index of /climate_environment/CDC/observations_germany/climate/hourly/air_temperature/recent/</title></head>
<body>
<h1>Index of /climate_environment/CDC/observations_germany/climate/hourly/air_temperature/recent/</h1><hr><pre><a href="../">../</a>
<a href="TU_Stundenwerte_Beschreibung_Stationen.txt">TU_Stundenwerte_Beschreibung_Stationen.txt</a>          09-Feb-2023 08:49              173766
<a href="stundenwerte_TU_00044_akt.zip">stundenwerte_TU_00044_akt.zip</a>                      09-Feb-2023 08:53               69713
</pre><hr></body>
</html>
"""


def test_parse_dwd_listing() -> None:
    base = "https://opendata.dwd.de/x/recent/"
    entries = parse_listing(DWD_PAGE, base)
    assert [(e.name, e.size, e.modified) for e in entries] == [
        ("TU_Stundenwerte_Beschreibung_Stationen.txt", 173766, datetime(2023, 2, 9, 8, 49, tzinfo=UTC)),
        ("stundenwerte_TU_00044_akt.zip", 69713, datetime(2023, 2, 9, 8, 53, tzinfo=UTC)),
    ]
    assert entries[1].url == base + "stundenwerte_TU_00044_akt.zip"
    apache = '<tr><td><a href="?C=N;O=D">Name</a></td></tr><tr><td><a href="sub/">sub/</a></td></tr>'
    assert [(e.name, e.is_dir) for e in parse_listing(apache, base)] == [("sub", True)]


def test_retry_after_forms() -> None:
    now = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
    assert retry_after_seconds("3", now=now) == 3.0
    assert retry_after_seconds("Mon, 01 Jan 2024 12:00:05 GMT", now=now) == 5.0
    assert retry_after_seconds("garbage", now=now) is None
    assert retry_after_seconds(None) is None


def _client(sleeps: list[float], attempts: int = 4) -> DwdClient:
    return DwdClient(policy=RetryPolicy(attempts, 0.01, 0.05, 2.0), concurrency=2, sleep=sleeps.append)


def _url(server: MirrorHTTPServer, mirror_dir: Path) -> tuple[str, bytes]:
    path = sorted(product_dir(mirror_dir, TU, "recent").glob("*.zip"))[0]
    return server.base_url + f"air_temperature/recent/{path.name}", path.read_bytes()


def _statuses(server: MirrorHTTPServer, url: str) -> list[int]:
    # Only this test's URL: a slow response from an earlier test may still be logged by its server thread.
    return [status for _, path, status in list(server.requests) if url.endswith(path)]


def test_conditional_get(mirror_server: MirrorHTTPServer, mirror_url: str, mirror_dir: Path) -> None:
    url, data = _url(mirror_server, mirror_dir)
    with _client([]) as client:
        first = client.fetch(url)
        assert (first.status, first.content, first.attempts) == (200, data, 1)
        again = client.fetch(url, etag=first.etag, last_modified=first.last_modified)
        assert again.not_modified and again.content is None
    assert _statuses(mirror_server, url) == [200, 304]


@pytest.mark.parametrize("kind", ["429", "503", "reset", "truncate", "slow"])
def test_transient_faults_are_retried(
    mirror_server: MirrorHTTPServer, mirror_url: str, mirror_dir: Path, kind: str
) -> None:
    url, data = _url(mirror_server, mirror_dir)
    mirror_server.faults.add(kind, "*_akt.zip", times=2, retry_after=0.02, delay=2.5)
    sleeps: list[float] = []
    with _client(sleeps) as client:
        fetched = client.fetch(url, verify=lambda b: read_zip_members(b, file_name="x.zip") and None)
    assert fetched.content == data and fetched.attempts == 3
    assert len(sleeps) == 2
    if kind == "429":
        assert sleeps == [0.02, 0.02]  # Retry-After honoured (below the backoff cap)
    else:
        assert all(0.009 <= s <= 0.045 for s in sleeps)  # exponential backoff 0.01, 0.02 (±10 %)


def test_gives_up_naming_the_url(mirror_server: MirrorHTTPServer, mirror_url: str, mirror_dir: Path) -> None:
    url, _ = _url(mirror_server, mirror_dir)
    mirror_server.faults.add("503", "*_akt.zip")
    sleeps: list[float] = []
    with _client(sleeps, attempts=3) as client, pytest.raises(DownloadError) as err:
        client.fetch(url)
    assert err.value.url == url and err.value.transient
    assert "gave up after 3 attempts; last problem: HTTP 503" in str(err.value)
    assert len(sleeps) == 2 and len(_statuses(mirror_server, url)) == 3


def test_404_is_not_retried(mirror_server: MirrorHTTPServer, mirror_url: str) -> None:
    sleeps: list[float] = []
    url = mirror_url + "air_temperature/recent/stundenwerte_TU_99999_akt.zip"
    with _client(sleeps) as client, pytest.raises(DownloadError) as err:
        client.fetch(url)
    assert "HTTP 404 (permanent, not retried)" in str(err.value) and not err.value.transient
    assert sleeps == [] and _statuses(mirror_server, url) == [404]


def test_corrupt_body_fails_verification_then_gives_up(
    mirror_server: MirrorHTTPServer, mirror_url: str, mirror_dir: Path
) -> None:
    url, _ = _url(mirror_server, mirror_dir)
    with _client([], attempts=2) as client, pytest.raises(DownloadError) as err:
        client.fetch(
            url, verify=lambda b: read_zip_members(b[:-200] + b"\0" * 200, file_name="bad.zip") and None
        )
    assert "downloaded body failed verification" in str(err.value)


def test_unsupported_scheme_is_a_permanent_download_error() -> None:
    sleeps: list[float] = []
    with _client(sleeps) as client, pytest.raises(DownloadError) as err:
        client.list_directory("ftp://127.0.0.1/hourly/")
    assert "UnsupportedProtocol" in str(err.value) and sleeps == []
