"""CLI verb ``features``: one product's published features for stations and quarters — per quarter, or per month,
season or year with ``--period`` — with ``--anomalies`` against the published climate normals, as a table or
written as CSV, Parquet or JSON (via ``weatherinsight.Client``; units travel with the file: Parquet field metadata,
a ``.fields.json`` sidecar next to CSV, a ``fields`` object in JSON)."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from weatherinsight.cli._common import console, err_console, exit_on_error
from weatherinsight.cli.stations import UrlOption, frame_table, make_client
from weatherinsight.errors import InvalidPeriodError
from weatherinsight.normals_base import NormalsError, parse_base
from weatherinsight.periods import parse_kind

if TYPE_CHECKING:
    import pyarrow as pa


class Format(StrEnum):
    table = "table"
    csv = "csv"
    parquet = "parquet"
    json = "json"


def features(
    product: Annotated[str, typer.Argument(help="product, e.g. air_temperature")],
    station: Annotated[
        list[int] | None, typer.Option("--station", help="station id; repeat for several")
    ] = None,
    start: Annotated[str | None, typer.Option("--from", help="first quarter, e.g. 2020Q1")] = None,
    end: Annotated[str | None, typer.Option("--to", help="last quarter (inclusive), e.g. 2024Q4")] = None,
    names: Annotated[
        str | None, typer.Option("--features", help="comma-separated subset, e.g. tg_mean,frost_days")
    ] = None,
    min_coverage: Annotated[
        float | None, typer.Option("--min-coverage", help="only rows with coverage ≥ this")
    ] = None,
    include_station: Annotated[
        bool, typer.Option("--include-station", help="add name and coordinates")
    ] = False,
    period: Annotated[
        str, typer.Option("--period", help="month|season|quarter|year (--from/--to stay quarters)")
    ] = "quarter",
    anomalies: Annotated[
        bool,
        typer.Option(
            "--anomalies", help="add each numeric feature's anomaly against its published climate normal"
        ),
    ] = False,
    normals_base: Annotated[
        str | None,
        typer.Option("--normals-base", help="base years of the normals, FIRST..LAST (default 1991..2020)"),
    ] = None,
    fmt: Annotated[Format, typer.Option("--format", help="table, csv, parquet or json")] = Format.table,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="file to write (default: stdout)")
    ] = None,
    url: UrlOption = None,
) -> None:
    """Published features of PRODUCT: one row per station × quarter or --period, with coverage and anomalies.

    Every row has coverage and dataset_version; --anomalies adds <feature>_anomaly, <feature>_anomaly_pct
    (precipitation amounts) and <feature>_normal_years against the normals `weatherinsight normals` publishes."""
    from weatherinsight.client.core import field_metadata  # pyarrow: only when the command runs
    from weatherinsight.client.query import QueryError

    try:
        kind = parse_kind(period)
    except InvalidPeriodError as exc:
        raise typer.BadParameter(exc.message, param_hint="--period") from None
    if normals_base is not None:
        if not anomalies:
            raise typer.BadParameter("only with --anomalies", param_hint="--normals-base")
        try:
            parse_base(normals_base)
        except NormalsError:
            raise typer.BadParameter(
                f"{normals_base!r}: expected FIRST..LAST years with FIRST ≤ LAST, e.g. 1991..2020",
                param_hint="--normals-base",
            ) from None
    try:
        table = make_client(url).features_arrow(
            product,
            stations=station or None,
            start=start,
            end=end,
            features=names.split(",") if names else None,
            min_coverage=min_coverage,
            include_station=include_station,
            period=kind,
            anomalies=anomalies,
            normals_base=normals_base,
        )
    except QueryError as exc:
        # one `error:` line (missing normals name the `weatherinsight normals` run), as `main` prints it
        exit_on_error(exc)
    if fmt is Format.table:
        console.print(frame_table(table.to_pandas(), f"{product}: {table.num_rows} row(s)"))
        return
    if fmt is Format.parquet and output is None:
        raise typer.BadParameter("--format parquet needs -o FILE", param_hint="-o")
    data = _encode(table, fmt)
    if output is None:
        sys.stdout.buffer.write(data)
        return
    output.write_bytes(data)
    if fmt is Format.csv:
        sidecar = output.with_suffix(".fields.json")
        sidecar.write_text(json.dumps(field_metadata(table), ensure_ascii=False, indent=1), encoding="utf-8")
        err_console.print(f"wrote {output} ({table.num_rows} rows) and units/definitions to {sidecar}")
    else:
        err_console.print(f"wrote {output} ({table.num_rows} rows)")


def _encode(table: pa.Table, fmt: Format) -> bytes:
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    from weatherinsight.client.core import field_metadata

    sink = pa.BufferOutputStream()
    if fmt is Format.parquet:
        pq.write_table(table, sink)
        return sink.getvalue().to_pybytes()
    if fmt is Format.csv:
        pacsv.write_csv(table, sink)
        return sink.getvalue().to_pybytes()
    rows = table.to_pylist()
    body = {"fields": field_metadata(table), "count": len(rows), "data": rows}
    return json.dumps(body, ensure_ascii=False, default=str).encode("utf-8") + b"\n"
