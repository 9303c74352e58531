"""The docs site (issue #15): `mkdocs build --strict` succeeds and the pages carry what the code defines.

Builds the real site once (MkDocs + Material + mkdocstrings, the hooks in scripts/docs_hooks.py) and reads the
HTML: the generated catalog and API pages list exactly what the code has, the Python reference documents the
client's methods, the operator pages are there, and nothing is loaded from the internet.
"""

from __future__ import annotations

import html
import importlib.util
import inspect
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, require
from tests.fixtures.core import make_settings
from weatherinsight.api.app import create_app
from weatherinsight.client import Client
from weatherinsight.features.catalog import CATALOG, COVERAGE_COLUMNS

# One build per run: with --dist loadgroup every test of this module runs on the worker that built the site.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("docs_site")]

OPERATOR_PAGES = {
    "architecture.html": "Architecture",
    "design.html": "Design",
    "contracts.html": "Contracts",
    "orchestrator.html": "Orchestrator reference",
    "runbook.html": "Runbook",
    "reliability.html": "Reliability",
    "dwd-format.html": "DWD file format",
}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require(importlib.util.find_spec("mkdocs") is not None, "the docs extra (mkdocs) is not installed")
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(out)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return out


def _text(site: Path, page: str) -> str:
    path = site / page
    assert path.is_file(), f"{page} was not built"
    return html.unescape(path.read_text(encoding="utf-8"))


def test_every_page_is_built_and_in_the_navigation(site: Path) -> None:
    index = _text(site, "index.html")
    pages = ["analysts.html", "catalog.html", "api.html", "python-reference.html", *OPERATOR_PAGES]
    for page in pages:
        assert (site / page).is_file(), page
        assert f'href="{page}"' in index, f"{page} missing from the navigation"
    for title in OPERATOR_PAGES.values():
        assert f">{title}<" in index, title


def _plain(site: Path, page: str) -> str:
    # Code blocks are highlighted token by token: compare prose and code without the markup.
    return re.sub(r"<[^>]+>", "", _text(site, page))


def test_quickstart_covers_python_cli_and_http(site: Path) -> None:
    page = _plain(site, "analysts.html")
    assert "from weatherinsight import Client" in page
    assert "weatherinsight stations --near 52.52,13.40 --radius-km 30" in page
    assert "/v1/" in page


def test_catalog_page_lists_exactly_the_code_catalog(site: Path) -> None:
    page = _text(site, "catalog.html")
    rows = re.findall(r"<tr>\s*<td><code>([a-z0-9_]+)</code></td>", page)
    assert rows == [f.name for f in CATALOG] + [name for name, _, _ in COVERAGE_COLUMNS]
    for f in CATALOG:
        row = re.search(rf"<td><code>{f.name}</code></td>(.*?)</tr>", page, re.S)
        assert row is not None
        cells = re.findall(r"<td>(.*?)</td>", row.group(1), re.S)
        assert cells[:4] == [f.unit, str(f.precision), f.kind, f.definition], f.name


def test_api_page_documents_every_v1_path(site: Path, tmp_path: Path) -> None:
    doc = create_app(make_settings(tmp_path)).openapi()
    page = _text(site, "api.html")
    paths = list(doc["paths"])
    assert len(paths) >= 8 and all(p.startswith("/v1/") for p in paths)
    for path, methods in doc["paths"].items():
        for method in methods:
            assert f"<code>{method.upper()} {path}</code>" in page, f"{method} {path}"
        for op in methods.values():
            for param in op.get("parameters", []):
                assert f"<code>{param['name']}</code>" in page, f"{path}: {param['name']}"


def test_python_reference_documents_every_public_client_method(site: Path) -> None:
    page = _text(site, "python-reference.html")
    methods = [n for n, _ in inspect.getmembers(Client, inspect.isfunction) if not n.startswith("_")]
    assert {"stations", "catalog", "features", "features_arrow", "features_polars"} <= set(methods)
    for name in methods:
        assert f'id="weatherinsight.client.Client.{name}"' in page, name
    # The docstring text itself is rendered, not only the signature.
    first_line = (inspect.getdoc(Client.features) or "").splitlines()[0]
    assert first_line and first_line.split("``")[0].strip() in page


def test_site_loads_nothing_from_the_internet(site: Path) -> None:
    assets = re.compile(
        r"<(?:script|img|iframe|source)\b[^>]*\bsrc=\"https?://|<link\b[^>]*\bhref=\"https?://"
    )
    built = sorted(site.rglob("*.html"))
    assert len(built) >= 12
    for page in built:
        text = page.read_text(encoding="utf-8")
        assert not assets.search(text), f"{page.name} loads an external asset"
        assert "fonts.googleapis" not in text and "unpkg.com" not in text, page.name
    for css in site.rglob("*.css"):
        assert '@import url("http' not in css.read_text(encoding="utf-8"), css.name
