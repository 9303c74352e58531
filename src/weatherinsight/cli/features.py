"""CLI verb ``features``: one product's published quarterly features for stations and quarters, as a table or
written as CSV, Parquet or JSON (via ``weatherinsight.Client``; units travel with the file: Parquet field metadata,
a ``.fields.json`` sidecar next to CSV, a ``fields`` object in JSON)."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from weatherinsight.cli._common import console, err_console
from weatherinsight.cli.stations import UrlOption, frame_table, make_client

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
    fmt: Annotated[Format, typer.Option("--format", help="table, csv, parquet or json")] = Format.table,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="file to write (default: stdout)")
    ] = None,
    url: UrlOption = None,
) -> None:
    """Published features of PRODUCT: one row per station × quarter with coverage and dataset_version."""
    from weatherinsight.client.core import field_metadata  # pyarrow: only when the command runs

    table = make_client(url).features_arrow(
        product,
        stations=station or None,
        start=start,
        end=end,
        features=names.split(",") if names else None,
        min_coverage=min_coverage,
        include_station=include_station,
    )
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
