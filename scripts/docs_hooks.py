"""MkDocs hooks that generate the docs site's reference pages from the code at build time.

Owns two generated pages: ``catalog.md`` (``weatherinsight.features.catalog.catalog()`` as Markdown tables) and
``api.md`` (the API's OpenAPI document, one section per path). Nothing is hand-copied: a feature or route
added in the code appears on the site at the next ``make docs``. Pages are rendered as plain Markdown so the
site stays offline (no Swagger/ReDoc JavaScript from a CDN).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files

from weatherinsight.api.app import create_app
from weatherinsight.dwd.products import PRODUCTS
from weatherinsight.features.catalog import COVERAGE_COLUMNS, catalog
from weatherinsight.settings import Settings

CATALOG_PAGE = "catalog.md"
API_PAGE = "api.md"


def _cell(text: object) -> str:
    # A pipe would end the table cell; newlines would end the row.
    return str(text).replace("|", "\\|").replace("\n", " ")


def catalog_markdown() -> str:
    """The feature catalog as Markdown: one table per product, in catalog order."""
    lines = [
        "# Feature catalog",
        "",
        "Generated at build time from `weatherinsight.features.catalog.CATALOG` (the same catalog behind",
        "`GET /v1/catalog` and the `feature_catalog` table). Values are served rounded half-to-even to the",
        "precision shown; the rules behind every number are in [design.md](design.md) §5.",
        "",
    ]
    for product in PRODUCTS:
        specs = [f for f in catalog() if f.product == product]
        if not specs:
            continue
        lines += [
            f"## {product}",
            "",
            "| Feature | Unit | Precision | Basis | Definition | Standard |",
            "|---|---|---|---|---|---|",
        ]
        lines += [
            f"| `{f.name}` | {_cell(f.unit)} | {f.precision} | {f.kind} | {_cell(f.definition)} | {_cell(f.standard)} |"
            for f in specs
        ]
        lines.append("")
    lines += [
        "## Coverage and provenance columns (every product)",
        "",
        "| Column | Type | Meaning |",
        "|---|---|---|",
    ]
    lines += [f"| `{name}` | {kind} | {_cell(meaning)} |" for name, kind, meaning in COVERAGE_COLUMNS]
    return "\n".join(lines) + "\n"


def openapi_document() -> dict[str, Any]:
    """The API's OpenAPI document, built from the app on a throw-away embedded store (nothing is served)."""
    with tempfile.TemporaryDirectory(prefix="weatherinsight-docs-") as tmp:
        settings = Settings(data_dir=Path(tmp), database_url=f"sqlite:///{Path(tmp) / 'docs.db'}")
        app = create_app(settings)
        return app.openapi()


def _schema_name(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        return "`" + schema["$ref"].rsplit("/", 1)[-1] + "`"
    if "anyOf" in schema:
        return " or ".join(_schema_name(s) for s in schema["anyOf"])
    if schema.get("type") == "array":
        return f"array of {_schema_name(schema.get('items', {}))}"
    kind = str(schema.get("type", "any"))
    if "enum" in schema:
        kind += " (" + ", ".join(f"`{v}`" for v in schema["enum"]) + ")"
    return kind


def api_markdown(doc: dict[str, Any]) -> str:
    """The OpenAPI document as Markdown: every path and method with its parameters and responses."""
    info = doc.get("info", {})
    lines = [
        "# HTTP API reference",
        "",
        f"{info.get('title', 'API')} {info.get('version', '')} — generated at build time from the app's",
        "OpenAPI document. A running server also serves it at `/v1/openapi.json`, with Swagger UI at `/docs`",
        "(assets served by the API itself, no CDN).",
        "",
        info.get("description", ""),
        "",
    ]
    for path, methods in doc.get("paths", {}).items():
        for method, op in methods.items():
            lines += [f"## `{method.upper()} {path}`", ""]
            if op.get("summary"):
                lines += [f"**{op['summary']}**", ""]
            if op.get("description"):
                lines += [op["description"], ""]
            params = op.get("parameters", [])
            if params:
                lines += ["| Parameter | In | Type | Required | Description |", "|---|---|---|---|---|"]
                for p in params:
                    default = p.get("schema", {}).get("default")
                    desc = p.get("description", "") + (
                        f" Default: `{default}`." if default is not None else ""
                    )
                    lines.append(
                        f"| `{p['name']}` | {p.get('in', '')} | {_cell(_schema_name(p.get('schema', {})))} "
                        f"| {'yes' if p.get('required') else 'no'} | {_cell(desc.strip())} |"
                    )
                lines.append("")
            responses = op.get("responses", {})
            if responses:
                lines += ["| Status | Meaning |", "|---|---|"]
                lines += [f"| {code} | {_cell(r.get('description', ''))} |" for code, r in responses.items()]
                lines.append("")
    lines += [
        "## Raw OpenAPI document",
        "",
        "```json",
        json.dumps(doc, indent=1, ensure_ascii=False),
        "```",
        "",
    ]
    return "\n".join(lines)


def on_files(files: Files, config: MkDocsConfig) -> Files:
    """Add the generated pages to the site (MkDocs hook)."""
    for name, content in ((CATALOG_PAGE, catalog_markdown()), (API_PAGE, api_markdown(openapi_document()))):
        files.append(File.generated(config, name, content=content))
    return files
