"""``/docs`` renders offline: real headless Chromium (Debian ``chromium``) driven by Playwright loads the page
from the loopback server, every request it makes stays on 127.0.0.1, and Swagger UI draws the operations."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Route, sync_playwright

from tests.api.conftest import Backend
from tests.conftest import require

CHROMIUM = Path("/usr/bin/chromium")


@pytest.mark.slow
def test_docs_render_offline_in_chromium(backend: Backend) -> None:
    require(CHROMIUM.exists(), f"Debian chromium not installed at {CHROMIUM} (scripts/ensure-services.sh)")
    requested: list[str] = []
    refused: list[str] = []

    def only_loopback(route: Route) -> None:
        url = route.request.url
        requested.append(url)
        if urlsplit(url).hostname == "127.0.0.1":
            route.continue_()
        else:
            refused.append(url)
            route.abort()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.route("**/*", only_loopback)
            page.goto(f"{backend.base.rstrip('/')}/docs")
            page.wait_for_selector(".opblock-summary-path", timeout=30_000)
            paths = [p.strip() for p in page.locator(".opblock-summary-path").all_inner_texts()]
        finally:
            browser.close()
    assert "/v1/stations" in paths
    assert "/v1/features/{product}" in paths
    assert "/v1/catalog" in paths
    assert refused == []
    assert any(u.endswith("/docs-assets/swagger-ui-bundle.js") for u in requested)
    assert any(u.endswith("/v1/openapi.json") for u in requested)
