"""The mirror server keeps connections alive (HTTP/1.1): one client, one connection, many requests; a fault
that breaks a body closes its connection, and the client's next request opens a fresh one."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from weatherinsight.dwd.products import get_product
from weatherinsight.mirror.layout import product_dir
from weatherinsight.mirror.server import CONTROL_PATH, MirrorHTTPServer

TU = get_product("air_temperature")


def _recent(mirror_dir: Path) -> list[Path]:
    return sorted(p for p in product_dir(mirror_dir, TU, "recent").iterdir() if not p.name.startswith("."))


def test_one_client_reuses_one_connection(
    mirror_server: MirrorHTTPServer, mirror_url: str, mirror_dir: Path
) -> None:
    files = _recent(mirror_dir)
    listing = mirror_url + "air_temperature/recent/"
    control = mirror_server.url.rstrip("/") + CONTROL_PATH
    name = files[1].name
    mirror_server.faults.add("429", f"*/{name}", times=1, retry_after=1)
    mirror_server.faults.add("503", f"*/{name}", times=1)
    mirror_server.faults.add("corrupt", f"*/{files[2].name}", times=1)  # full length: the connection survives
    statuses: list[int] = []
    with httpx.Client() as client:
        statuses.append(client.get(listing).status_code)
        statuses.append(client.head(listing).status_code)
        statuses += [client.get(listing + name).status_code for _ in range(3)]  # 429, 503, 200
        corrupt = client.get(listing + files[2].name)
        assert (corrupt.status_code, len(corrupt.content)) == (200, files[2].stat().st_size)
        assert corrupt.content != files[2].read_bytes()
        for path in files:
            full = client.get(listing + path.name)
            assert full.content == path.read_bytes()
            head = client.head(listing + path.name)
            assert (head.content, int(head.headers["content-length"])) == (b"", path.stat().st_size)
            cond = client.get(listing + path.name, headers={"If-None-Match": full.headers["etag"]})
            assert (cond.status_code, cond.content, "content-length" in cond.headers) == (304, b"", False)
        statuses.append(client.get(mirror_url + "air_temperature").status_code)  # 301, no redirect followed
        statuses.append(client.get(listing + "nope.zip").status_code)
        statuses.append(client.post(control, content=json.dumps({"kind": "503", "pattern": "x"})).status_code)
        deleted = client.delete(control)
        statuses.append(deleted.status_code)
        assert "content-length" not in deleted.headers
        statuses.append(client.get(listing).status_code)
    assert statuses == [200, 200, 429, 503, 200, 301, 404, 200, 204, 200]
    assert len(mirror_server.requests) == 11 + 3 * len(files)
    assert mirror_server.connections == 1


@pytest.mark.parametrize(
    ("kind", "options", "body_error"),
    [
        ("reset", {}, True),
        ("truncate", {}, True),
        ("wrong_length", {}, True),
        ("huge", {"size": 10_000, "declare_length": False}, False),  # the body ends at close
        ("huge", {"size": 10_000}, False),
    ],
)
def test_a_broken_body_closes_its_connection(
    mirror_server: MirrorHTTPServer,
    mirror_url: str,
    mirror_dir: Path,
    kind: str,
    options: dict[str, object],
    body_error: bool,
) -> None:
    path = _recent(mirror_dir)[1]
    url = mirror_url + "air_temperature/recent/" + path.name
    mirror_server.faults.add(kind, f"*/{path.name}", times=1, **options)
    with httpx.Client() as client:
        assert client.head(url).status_code == 200  # opens the connection (HEAD takes no body fault)
        with client.stream("GET", url) as response:
            assert response.headers["connection"] == "close"
            if body_error:
                with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
                    response.read()
            else:
                assert response.read() == bytes(10_000)
        assert client.get(url).content == path.read_bytes()
        assert client.get(url).content == path.read_bytes()
    assert mirror_server.faults.fired == [(kind, httpx.URL(url).path)]
    assert mirror_server.connections == 2  # the first, closed by the fault; then one for both later GETs
