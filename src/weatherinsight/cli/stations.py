"""CLI verb ``stations``: look up stations by name, distance, Bundesland or product (via ``weatherinsight.Client``).

``weatherinsight stations --near 52.52,13.40 --radius-km 30`` prints a table ordered by distance;
``--url http://127.0.0.1:8000`` asks a running API instead of the local store.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from weatherinsight.cli._common import console, settings_from_env

if TYPE_CHECKING:
    import pandas as pd

    from weatherinsight.client import Client

UrlOption = Annotated[
    str | None, typer.Option("--url", help="a running API (http://host:port); default: the local store")
]


def make_client(url: str | None) -> Client:
    """The local client (settings from the environment, logging configured) or an HTTP client on ``url``."""
    from weatherinsight.client import Client  # pandas, pyarrow and httpx: only when a command runs

    return Client(url) if url else Client(settings=settings_from_env())


def frame_table(frame: pd.DataFrame, title: str) -> Table:
    """A DataFrame as a Rich table (lists joined with ';', missing values empty)."""
    table = Table(title=title)
    for column in frame.columns:
        # the product list grows with the registry: it wraps, so ids, names and distances are never cut
        table.add_column(str(column), no_wrap=column != "products", overflow="fold")
    for row in frame.itertuples(index=False):
        table.add_row(
            *("" if _missing(v) else ";".join(v) if isinstance(v, list | tuple) else str(v) for v in row)
        )
    return table


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def stations(
    name: Annotated[
        str | None, typer.Option("--name", help="part of the name; case and accents ignored")
    ] = None,
    near: Annotated[str | None, typer.Option("--near", help="LAT,LON: ordered by distance")] = None,
    radius_km: Annotated[float | None, typer.Option("--radius-km", help="with --near (default 25)")] = None,
    state: Annotated[str | None, typer.Option("--state", help="Bundesland, e.g. Sachsen")] = None,
    product: Annotated[str | None, typer.Option("--product", help="stations reporting this product")] = None,
    url: UrlOption = None,
) -> None:
    """Stations matching every filter given, as a table."""
    frame = make_client(url).stations(name=name, near=near, radius_km=radius_km, state=state, product=product)
    frame = frame.assign(products=frame.products.map(lambda p: ";".join(p)))
    console.print(frame_table(frame, f"{len(frame)} station(s)"))
