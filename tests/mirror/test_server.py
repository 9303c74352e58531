"""The mirror server: DWD-style listings, conditional requests and every injected fault, over real HTTP."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from weatherinsight.dwd.client import parse_listing
from weatherinsight.dwd.products import PRODUCTS, get_product
from weatherinsight.mirror.layout import product_dir
from weatherinsight.mirror.server import CONTROL_PATH, MirrorHTTPServer

TU = get_product("air_temperature")


def _recent_files(mirror_dir: Path) -> list[Path]:
    return sorted(p for p in product_dir(mirror_dir, TU, "recent").iterdir() if not p.name.startswith("."))


def test_listing_names_every_file_with_size(mirror_url: str, mirror_dir: Path) -> None:
    page = httpx.get(mirror_url + "air_temperature/recent/")
    assert page.status_code == 200 and page.headers["content-type"] == "text/html"
    assert page.text.startswith("<html>") and '<a href="../">../</a>' in page.text
    entries = parse_listing(page.text, mirror_url + "air_temperature/recent/")
    files = _recent_files(mirror_dir)
    assert [e.name for e in entries] == [p.name for p in files]
    assert [e.size for e in entries] == [p.stat().st_size for p in files]
    top = parse_listing(httpx.get(mirror_url).text, mirror_url)
    assert [(e.name, e.is_dir) for e in top] == sorted((p.directory, True) for p in PRODUCTS.values())
    assert httpx.get(mirror_url + "air_temperature").status_code == 301
    assert httpx.get(mirror_url.split("/climate")[0] + "/.weatherinsight-mirror.json").status_code == 404
    assert httpx.get(mirror_url + "../../../../../../etc/passwd").status_code == 404


def test_head_etag_and_conditional_get(mirror_url: str, mirror_dir: Path) -> None:
    path = _recent_files(mirror_dir)[1]
    url = mirror_url + "air_temperature/recent/" + path.name
    head = httpx.head(url)
    assert head.status_code == 200 and int(head.headers["content-length"]) == path.stat().st_size
    assert head.content == b""
    full = httpx.get(url)
    assert full.content == path.read_bytes()
    etag, lm = full.headers["etag"], full.headers["last-modified"]
    assert httpx.get(url, headers={"If-None-Match": etag}).status_code == 304
    assert httpx.get(url, headers={"If-Modified-Since": lm}).status_code == 304
    assert httpx.get(url, headers={"If-None-Match": '"other"', "If-Modified-Since": lm}).status_code == 200
    assert httpx.get(url, headers={"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"}).status_code == 200


def test_transient_faults(mirror_server: MirrorHTTPServer, mirror_url: str, mirror_dir: Path) -> None:
    name = _recent_files(mirror_dir)[1].name
    url = mirror_url + "air_temperature/recent/" + name
    mirror_server.faults.add("429", f"*/{name}", times=1, retry_after=7)
    mirror_server.faults.add("503", f"*/{name}", times=1)
    first, second, third = httpx.get(url), httpx.get(url), httpx.get(url)
    assert (first.status_code, first.headers["retry-after"]) == (429, "7")
    assert second.status_code == 503
    assert third.status_code == 200
    mirror_server.faults.add("slow", f"*/{name}", times=1, delay=0.3)
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(url, timeout=0.1)
    assert mirror_server.wait_idle()  # the slow handler finishes before the next test adds faults


@pytest.mark.parametrize("kind", ["reset", "truncate"])
def test_broken_bodies(mirror_server: MirrorHTTPServer, mirror_url: str, mirror_dir: Path, kind: str) -> None:
    path = _recent_files(mirror_dir)[1]
    url = mirror_url + "air_temperature/recent/" + path.name
    mirror_server.faults.add(kind, f"*/{path.name}", times=1)
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        httpx.get(url)
    assert httpx.get(url).content == path.read_bytes()
    assert mirror_server.faults.fired[-1] == (kind, httpx.URL(url).path)


def test_listing_faults(mirror_server: MirrorHTTPServer, mirror_url: str) -> None:
    listing = mirror_url + "air_temperature/recent/"
    mirror_server.faults.add("empty_listing", "*/air_temperature/recent/", times=1)
    assert parse_listing(httpx.get(listing).text, listing) == []
    mirror_server.faults.add("phantom", "*/air_temperature/recent/", times=1)
    entries = parse_listing(httpx.get(listing).text, listing)
    phantom = [e for e in entries if "_99999_" in e.name]
    assert [e.name for e in phantom] == ["stundenwerte_TU_99999_akt.zip"]
    assert httpx.get(phantom[0].url).status_code == 404
    assert all("_99999_" not in e.name for e in parse_listing(httpx.get(listing).text, listing))


def test_control_endpoint(mirror_server: MirrorHTTPServer, mirror_url: str) -> None:
    control = mirror_server.url.rstrip("/") + CONTROL_PATH
    rules = httpx.post(control, content=json.dumps({"kind": "503", "pattern": "*_akt.zip", "times": 2}))
    assert rules.status_code == 200 and rules.json()[0]["kind"] == "503"
    assert httpx.post(control, content=json.dumps({"kind": "nope"})).status_code == 400
    assert [r.kind for r in mirror_server.faults.rules()] == ["503"]
    assert httpx.delete(control).status_code == 204
    assert mirror_server.faults.rules() == []
