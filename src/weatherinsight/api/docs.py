"""``/docs``: Swagger UI served by the API itself from the files of the pinned ``fastapi-offline`` package
(Swagger UI 5, which renders OpenAPI 3.1) — no CDN, so the docs render without internet.

No ``/redoc``: ReDoc's bundle loads its logo from a CDN, so it cannot render fully offline."""

from __future__ import annotations

from importlib import resources

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

#: Where the packaged Swagger UI / ReDoc files are mounted.
ASSETS = "/docs-assets"
_STATIC = resources.files("fastapi_offline") / "static"


def install_docs(app: FastAPI, openapi_url: str) -> None:
    """Mount the packaged assets and serve ``/docs`` on them (the app is built with docs_url=None)."""
    app.mount(ASSETS, StaticFiles(directory=str(_STATIC)), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} — docs",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon.png",
        )
