"""Browser-test setup: the API tests' seeded curated database (SQLite), served by a real uvicorn server on
127.0.0.1 (``seeded_server``, also for modules that plant more data), and headless Debian chromium
(/usr/bin/chromium) driven by Playwright. Every page a test opens (``watching``) records console errors and
every request whose host is not 127.0.0.1; screenshots go to ``artifacts/explorer``."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, Request, sync_playwright

from tests.api.conftest import _make_settings, seed_database, serving
from tests.conftest import require
from weatherinsight.settings import Settings
from weatherinsight.warehouse import db

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "explorer"

pytestmark = pytest.mark.browser


@dataclass
class Watched:
    """One browser page and what it did: console errors, page errors and requests off the loopback host."""

    page: Page
    base: str
    console_errors: list[str] = field(default_factory=list)
    foreign_requests: list[str] = field(default_factory=list)

    def clean(self) -> None:
        assert self.console_errors == [], self.console_errors
        assert self.foreign_requests == [], self.foreign_requests


@contextmanager
def seeded_server(
    data_dir: Path, plant: Callable[[Settings], None] | None = None, **settings: Any
) -> Iterator[str]:
    """The API fixture data (tests/api/conftest.py) in a SQLite store under ``data_dir``, plus what ``plant``
    adds, behind a uvicorn server; yields its base URL. ``settings`` override the test settings' sections."""
    url = f"sqlite:///{data_dir / 'weatherinsight.db'}"
    configured = _make_settings(data_dir, url, **settings)
    seed_database(url, configured)
    if plant is not None:
        plant(configured)
    try:
        with serving(configured) as base:
            yield base
    finally:
        db.get_engine(url).dispose()


@pytest.fixture(scope="module")
def explorer_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The API fixture data behind a uvicorn server; yields its base URL."""
    with seeded_server(tmp_path_factory.mktemp("explorer")) as base:
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    require(
        os.path.exists(CHROMIUM) or shutil.which("chromium") is not None,
        f"no {CHROMIUM}: run scripts/ensure-services.sh",
    )
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            yield b
        finally:
            b.close()


@contextmanager
def watching(browser: Browser, base: str, width: int = 1280, height: int = 900) -> Iterator[Watched]:
    """A fresh browser context and page on ``base`` whose console errors and off-loopback requests are
    recorded (``Watched.clean``); closed afterwards."""
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    watched = Watched(page=page, base=base)
    page.on("console", lambda m: watched.console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: watched.console_errors.append(str(e)))

    def check_host(request: Request) -> None:
        url = request.url
        if not url.startswith("data:") and urlsplit(url).hostname != "127.0.0.1":
            watched.foreign_requests.append(url)

    page.on("request", check_host)
    try:
        yield watched
    finally:
        context.close()


@pytest.fixture
def desktop(browser: Browser, explorer_server: str) -> Iterator[Watched]:
    with watching(browser, explorer_server) as watched:
        yield watched


@pytest.fixture
def phone(browser: Browser, explorer_server: str) -> Iterator[Watched]:
    with watching(browser, explorer_server, 390, 844) as watched:
        yield watched


def screenshot(watched: Watched, name: str) -> Path:
    """Save a full-page screenshot as a test artefact (``artifacts/explorer/<name>.png``, ignored by git)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    watched.page.screenshot(path=str(path), full_page=True)
    return path


def open_page(watched: Watched, fragment: str, page_name: str) -> Page:
    """Load ``/#<fragment>`` and wait until the explorer says that page has drawn."""
    page = watched.page
    page.goto(f"{watched.base}/#{fragment}")
    page.wait_for_selector(f"body[data-rendered='{page_name}']", timeout=15_000, state="attached")
    return page
