"""The web explorer: static pages served by the API process at ``/`` (map, station, quarter, datasets).

The pages are plain HTML, CSS and ES modules under ``static/`` (no build step; the outline of Germany,
``static/germany.json``, is built from a pinned npm package by ``web/build.mjs`` and committed). Every number
they show is read from the ``/v1`` API in the browser, so the explorer has no data path of its own; the only
server-side input is the coverage threshold from the settings, written into ``index.html``.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from weatherinsight.settings import Settings

STATIC_DIR = Path(__file__).parent / "static"
ASSETS_PREFIX = "/explorer"


def render_index(settings: Settings, api_prefix: str) -> str:
    """``index.html`` with the settings the pages need (the coverage threshold, the API prefix)."""
    page = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    return page.replace("{{MIN_COVERAGE}}", escape(repr(settings.features.min_hourly_coverage))).replace(
        "{{API_PREFIX}}", escape(api_prefix)
    )


def mount_explorer(app: FastAPI, settings: Settings, api_prefix: str) -> None:
    """Serve the explorer at ``/`` and its assets under ``/explorer/`` (ETag and Last-Modified from Starlette)."""
    index = render_index(settings, api_prefix)

    @app.get("/", include_in_schema=False)
    def explorer_index() -> HTMLResponse:
        return HTMLResponse(index, headers={"Cache-Control": "no-cache"})

    @app.get("/explorer", include_in_schema=False)
    def explorer_redirect() -> RedirectResponse:
        return RedirectResponse("/")

    app.mount(ASSETS_PREFIX, StaticFiles(directory=STATIC_DIR), name="explorer")
