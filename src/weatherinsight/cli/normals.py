"""CLI verb ``normals``: compute and publish the climate normals of one product (issue #18, ``weatherinsight.normals``).

``weatherinsight normals --product precipitation [--base 1991..2020] [--period month|season|quarter|year]
[--force]`` reads the published curated values of that period kind in the base years and prints what it
stored: the version, the rows (station × period of the year × feature) and how many have a normal.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from weatherinsight.cli._common import console, settings_from_env
from weatherinsight.errors import InvalidPeriodError
from weatherinsight.normals_base import DEFAULT_BASE, NormalsError, parse_base, required_years
from weatherinsight.periods import parse_kind


def normals(
    product: Annotated[str, typer.Option("--product", "-p", help="product, e.g. precipitation")],
    base: Annotated[
        str, typer.Option(help="base years FIRST..LAST (a normal needs valid values in ≥ 80 % of them)")
    ] = f"{DEFAULT_BASE[0]}..{DEFAULT_BASE[1]}",
    period: Annotated[str, typer.Option("--period", help="month|season|quarter|year")] = "month",
    force: Annotated[
        bool, typer.Option(help="publish a new version even if the inputs are unchanged")
    ] = False,
) -> None:
    """Compute each numeric feature's climate normal per station and period of the year and publish them."""
    # The service and the registry load SQLAlchemy and pyarrow: imported here, so `normals --help` stays cheap.
    from weatherinsight.dwd.products import get_product
    from weatherinsight.normals import compute_normals

    settings = settings_from_env()
    name = get_product(product).name
    try:
        kind = parse_kind(period)
    except InvalidPeriodError as exc:
        raise typer.BadParameter(str(exc), param_hint="--period") from exc
    try:
        years = parse_base(base)
    except NormalsError as exc:
        raise typer.BadParameter(exc.message, param_hint="--base") from exc
    result = compute_normals(settings, name, period_kind=kind, base=years, force=force)
    table = Table(title="climate normals")
    for col in ("product", "period", "base", "status", "version", "rows", "with a normal", "years needed"):
        table.add_column(col)
    table.add_row(
        result.product,
        result.period_kind,
        f"{years[0]}..{years[1]}",
        "unchanged" if result.unchanged else "published",
        result.dataset_version,
        str(result.rows),
        str(result.normals),
        f"{required_years(years)} of {years[1] - years[0] + 1}",
    )
    console.print(table)
