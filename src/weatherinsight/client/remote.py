"""The client's HTTP back end: a running WeatherInsight API read with httpx (Parquet pages, ``Link: next``)."""

from __future__ import annotations

import io
from typing import Any

import httpx
import pyarrow as pa
import pyarrow.parquet as pq

from weatherinsight.client.query import (
    CATALOG_COLUMNS,
    DISTANCE,
    STATION_SCHEMA,
    FeatureQuery,
    QueryError,
    StationFeatureQuery,
    StationQuery,
    point_text,
)

_PAGE = 10_000
#: The API's limit of station_id values per request; more are asked for in batches.
_STATIONS_PER_REQUEST = 100


class HttpBackend:
    def __init__(self, url: str, *, api_key: str | None = None, timeout: float = 60.0) -> None:
        headers = {"X-API-Key": api_key} if api_key else {}
        self.base = url.rstrip("/")
        self.http = httpx.Client(base_url=self.base, headers=headers, timeout=timeout)

    def _get(self, path: str, params: list[tuple[str, Any]]) -> httpx.Response:
        try:
            r = self.http.get(path, params=params)
        except httpx.HTTPError as exc:
            raise QueryError(
                f"{self.base}{path}: cannot reach the API ({exc})", hint="is it running?"
            ) from None
        if r.status_code != 200:
            try:
                message = r.json().get("message", r.text)
            except ValueError:
                message = r.text[:200]
            raise QueryError(f"{self.base}{path}: HTTP {r.status_code}: {message}")
        return r

    def _parquet_pages(self, path: str, params: list[tuple[str, Any]]) -> list[pa.Table]:
        tables = []
        r = self._get(path, [*params, ("format", "parquet"), ("limit", _PAGE)])
        while True:
            tables.append(pq.read_table(io.BytesIO(r.content)))
            nxt = r.links.get("next", {}).get("url")
            if not nxt:
                return tables
            r = self._get(nxt, [])

    def stations(self, query: StationQuery) -> pa.Table:
        params: list[tuple[str, Any]] = []
        for key, value in (("name", query.name), ("state", query.state), ("product", query.product)):
            if value is not None:
                params.append((key, value))
        if query.near is not None:
            params.append(("near", point_text(query.near)))
        if query.radius_km is not None:
            params.append(("radius_km", query.radius_km))
        schema = STATION_SCHEMA.append(DISTANCE) if query.near is not None else STATION_SCHEMA
        tables = [t.cast(schema) for t in self._parquet_pages("/v1/stations", params)]
        return pa.concat_tables(tables).replace_schema_metadata(None)

    def catalog(self) -> pa.Table:
        data = self._get("/v1/catalog", []).json()["data"]
        return pa.Table.from_pylist([{c: r.get(c) for c in CATALOG_COLUMNS} for r in data])

    def features(self, query: FeatureQuery) -> pa.Table:
        if query.version is not None:
            raise QueryError(
                "version: the API serves published versions only; pin a version with the local client",
                hint="Client() reads the embedded store",
            )
        params: list[tuple[str, Any]] = []
        if query.start is not None:
            params.append(("from", query.start))
        if query.end is not None:
            params.append(("to", query.end))
        if query.features:
            params.append(("features", ",".join(query.features)))
        if query.min_coverage is not None:
            params.append(("min_coverage", query.min_coverage))
        if query.include_station:
            params.append(("include_station", "true"))
        params += _period_params(query.period, query.anomalies, query.normals_base)
        path = f"/v1/features/{query.product}"
        batches: list[list[tuple[str, Any]]] = [[]]
        if query.stations is not None:
            if not query.stations:
                batches = []
            ids = query.stations
            batches = [
                [("station_id", s) for s in ids[i : i + _STATIONS_PER_REQUEST]]
                for i in range(0, len(ids), _STATIONS_PER_REQUEST)
            ]
        if not batches:  # no station asked for: the right columns, no rows
            empty = self._parquet_pages(path, [*params, ("station_id", 1)])
            return pa.concat_tables(empty).slice(0, 0).replace_schema_metadata(None)
        tables = [t for b in batches for t in self._parquet_pages(path, [*params, *b])]
        table = pa.concat_tables(tables).replace_schema_metadata(None)
        if len(batches) > 1:  # each batch is ordered; the whole must be too
            table = table.sort_by(
                [("year", "ascending"), ("quarter", "ascending"), ("station_id", "ascending")]
            )
        return table

    def station_features(self, query: StationFeatureQuery) -> pa.Table:
        params: list[tuple[str, Any]] = [("products", ",".join(query.products))]
        if query.start is not None:
            params.append(("from", query.start))
        if query.end is not None:
            params.append(("to", query.end))
        if query.features:
            params.append(("features", ",".join(query.features)))
        if query.min_coverage is not None:
            params.append(("min_coverage", query.min_coverage))
        params += _period_params(query.period, query.anomalies, query.normals_base)
        # Not paged (one station's quarters): a single Parquet answer.
        r = self._get(f"/v1/stations/{query.station_id}/features", [*params, ("format", "parquet")])
        return pq.read_table(io.BytesIO(r.content)).replace_schema_metadata(None)


def _period_params(period: str, anomalies: bool, normals_base: str | None) -> list[tuple[str, Any]]:
    """``period=`` and ``anomalies=true[&normals_base=]`` as both feature routes take them."""
    params: list[tuple[str, Any]] = [] if period == "quarter" else [("period", period)]
    if anomalies:
        params.append(("anomalies", "true"))
        if normals_base is not None:
            params.append(("normals_base", normals_base))
    return params
