"""The explorer's mount and assets over HTTP, without a browser: the page, the settings it carries, the
outline of Germany, conditional requests on the assets, and no address outside the server in any asset."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import httpx
import pytest

from tests.explorer.conftest import seeded_server
from weatherinsight.api.explorer import STATIC_DIR


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data_dir = tmp_path_factory.mktemp("explorer_assets")
    with seeded_server(data_dir, features={"min_hourly_coverage": 0.75}) as url:
        yield url


def test_index_carries_the_coverage_threshold_and_api_prefix(base: str) -> None:
    page = httpx.get(f"{base}/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<meta name="wi-min-coverage" content="0.75">' in page.text
    assert '<meta name="wi-api-prefix" content="/v1">' in page.text
    assert "Source: Deutscher Wetterdienst" in page.text and "CC BY 4.0" in page.text
    assert httpx.get(f"{base}/explorer").headers.get("location") == "/"


def test_outline_has_the_16_states(base: str) -> None:
    outline = httpx.get(f"{base}/explorer/germany.json").json()
    names = [s["name"] for s in outline["states"]]
    assert len(names) == 16 and "Bayern" in names and "Thüringen" in names and "Bremen" in names
    for state in outline["states"]:
        for ring in state["rings"]:
            assert all(5.8 <= lon <= 15.1 and 47.2 <= lat <= 55.1 for lon, lat in ring), state["name"]


def test_assets_answer_conditional_requests(base: str) -> None:
    first = httpx.get(f"{base}/explorer/js/map.js")
    assert first.status_code == 200 and "etag" in first.headers
    again = httpx.get(f"{base}/explorer/js/map.js", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304


def test_no_asset_names_an_outside_address() -> None:
    # The explorer must work offline: no CDN, no tile server, no web font. The SVG namespace is an identifier.
    found = []
    for path in STATIC_DIR.rglob("*"):
        if path.suffix in {".html", ".css", ".js"}:
            for url in re.findall(r"https?://[^\s\"')]+", path.read_text(encoding="utf-8")):
                if url != "http://www.w3.org/2000/svg":
                    found.append((path.name, url))
    assert found == []
    assert json.loads((STATIC_DIR / "germany.json").read_text(encoding="utf-8"))["source"].startswith(
        "Natural Earth"
    )
