"""CLI verb group ``api``: ``serve`` (uvicorn) and ``keys create|revoke|list`` (hashed API keys).

Each command imports the API, uvicorn and the warehouse when it runs, so ``weatherinsight api --help`` loads
neither FastAPI nor SQLAlchemy.
"""

from __future__ import annotations

from datetime import datetime

import typer
from rich.table import Table

from weatherinsight.cli._common import console, settings_from_env

app = typer.Typer(help="The delivery API: serve it, manage API keys.", no_args_is_help=True)
keys_app = typer.Typer(
    help="API keys (stored hashed; the secret is shown once at creation).", no_args_is_help=True
)
app.add_typer(keys_app, name="keys")


def _ts(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else "—"


@app.command("serve")
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="interface to bind"),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="TCP port"),
    workers: int = typer.Option(1, "--workers", min=1, help="uvicorn worker processes"),
) -> None:
    """Serve the API with uvicorn on the curated database of WEATHERINSIGHT_DATABASE_URL."""
    import uvicorn

    from weatherinsight.warehouse.db import ensure_schema

    settings = settings_from_env()
    ensure_schema(settings.database_url)  # an empty database answers with empty lists rather than errors
    console.print(f"WeatherInsight explorer on http://{host}:{port}/ · API under /v1 (docs at /docs)")
    uvicorn.run(
        "weatherinsight.api.app:app_factory",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=settings.log_level.lower(),
        access_log=False,
        # Not uvloop: it writes finished responses only after reading new requests (MagicStack/uvloop#123, #631),
        # which at 50 keep-alive connections gave 1 % of requests 0.4-0.6 s of wait; asyncio serves in order
        # (benchmarks/README.md, api section).
        loop="asyncio",
    )


@keys_app.command("create")
def create(
    name: str = typer.Argument(..., help="who or what the key is for"),
    rate_limit: int | None = typer.Option(
        None,
        "--rate-limit",
        min=1,
        help="requests per minute (default: WEATHERINSIGHT_API_RATE_LIMIT_PER_MINUTE)",
    ),
) -> None:
    """Create a key and print its secret once."""
    from weatherinsight.api import keys
    from weatherinsight.warehouse.db import ensure_schema, get_engine

    settings = settings_from_env()
    ensure_schema(settings.database_url)
    with get_engine(settings.database_url).begin() as conn:
        key, secret = keys.create_key(conn, name, rate_limit_per_minute=rate_limit)
    console.print(f"created API key {key.id} ({key.name}); send it as the X-API-Key header.")
    console.print("The secret is shown only now; store it safely:")
    typer.echo(secret)


@keys_app.command("revoke")
def revoke(key_id: int = typer.Argument(..., help="id from `weatherinsight api keys list`")) -> None:
    """Revoke a key (takes effect within a few seconds on running servers)."""
    from weatherinsight.api import keys
    from weatherinsight.warehouse.db import ensure_schema, get_engine

    settings = settings_from_env()
    ensure_schema(settings.database_url)
    with get_engine(settings.database_url).begin() as conn:
        key = keys.revoke_key(conn, key_id)
    console.print(f"revoked API key {key.id} ({key.name}) at {_ts(key.revoked_at)}")


@keys_app.command("list")
def list_keys() -> None:
    """List keys (never their secrets)."""
    from weatherinsight.api import keys
    from weatherinsight.api.deps import DEFAULT_KEY_RATE_LIMIT
    from weatherinsight.warehouse.db import ensure_schema, get_engine

    settings = settings_from_env()
    ensure_schema(settings.database_url)
    with get_engine(settings.database_url).connect() as conn:
        rows = keys.list_keys(conn)
    table = Table(title=f"API keys ({len(rows)})")
    for col in ("id", "name", "prefix", "created", "revoked", "last used", "limit/min"):
        table.add_column(col)
    for k in rows:
        table.add_row(
            str(k.id),
            k.name,
            k.key_prefix + "…",
            _ts(k.created_at),
            _ts(k.revoked_at),
            _ts(k.last_used_at),
            str(k.rate_limit_per_minute or settings.api_rate_limit_per_minute or DEFAULT_KEY_RATE_LIMIT),
        )
    console.print(table)
