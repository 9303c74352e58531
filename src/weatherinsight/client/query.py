"""What both client back ends share: the station filters, the back-end protocol, the client's error and the
Arrow shapes of a station list (the same columns and types the API's Parquet answers have)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import pyarrow as pa

from weatherinsight.errors import WeatherInsightError

#: Station list columns and Arrow types (as ``/v1/stations?format=parquet``); ``distance_km`` follows with near.
STATION_SCHEMA = pa.schema(
    [
        ("station_id", pa.int64()),
        ("name", pa.string()),
        ("state", pa.string()),
        ("latitude", pa.float64()),
        ("longitude", pa.float64()),
        ("height_m", pa.float64()),
        ("valid_from", pa.date32()),
        ("valid_to", pa.date32()),
        ("products", pa.list_(pa.string())),
    ]
)
DISTANCE = pa.field("distance_km", pa.float64())
#: Catalog columns, in order.
CATALOG_COLUMNS = ("name", "product", "variable", "kind", "unit", "definition", "standard", "precision")


class QueryError(WeatherInsightError):
    """A client call's parameter is invalid, or the API refused the request; names the parameter or URL."""


@dataclass(frozen=True)
class StationQuery:
    """Station filters: part of the ``name`` (case and accents ignored), ``near`` (lat, lon) within
    ``radius_km`` (default 25), Bundesland ``state``, reporting ``product``."""

    name: str | None = None
    near: tuple[float, float] | None = None
    radius_km: float | None = None
    state: str | None = None
    product: str | None = None


@dataclass(frozen=True)
class FeatureQuery:
    """One product's feature request; ``version`` pins a curated version name instead of the published ones."""

    product: str
    stations: list[int] | None = None
    start: str | None = None
    end: str | None = None
    features: list[str] | None = None
    min_coverage: float | None = None
    version: str | None = None
    include_station: bool = False
    #: month | season | quarter | year (``periods.PERIOD_KINDS``): the period the rows are computed over.
    period: str = "quarter"
    #: add the anomaly columns against the normals over these base years (the API's ``anomalies=true``)
    anomalies: bool = False
    normals_base: str | None = None


@dataclass(frozen=True)
class StationFeatureQuery:
    """Several ``products`` of one station: quarters ``start``..``end``, ``features`` drawn from any of the
    products, rows with ``coverage >= min_coverage``; ``period`` and ``anomalies`` as in ``FeatureQuery``."""

    station_id: int
    products: list[str]
    start: str | None = None
    end: str | None = None
    features: list[str] | None = None
    min_coverage: float | None = None
    period: str = "quarter"
    anomalies: bool = False
    normals_base: str | None = None


class Backend(Protocol):
    """What a back end answers; every table is Arrow, rounded and ordered as the API serves it."""

    def stations(self, query: StationQuery) -> pa.Table: ...

    def catalog(self) -> pa.Table: ...

    def features(self, query: FeatureQuery) -> pa.Table: ...

    def station_features(self, query: StationFeatureQuery) -> pa.Table: ...


def point_text(near: tuple[float, float]) -> str:
    """``lat,lon`` as the API's ``near`` parameter takes it (at most 6 decimals: ≈ 0.1 m)."""
    return f"{round(near[0], 6)},{round(near[1], 6)}"
