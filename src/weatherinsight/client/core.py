"""``Client``: one set of methods over two back ends (local store, HTTP API), and the frame conversions.

Example::

    from weatherinsight import Client

    c = Client()  # or Client("http://127.0.0.1:8000")
    near = c.stations(near=(52.52, 13.40), radius_km=30)
    df = c.features("air_temperature", stations=near.station_id, start="2023Q1", end="2023Q4")
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa

from weatherinsight.client.local import LocalBackend
from weatherinsight.client.query import Backend, FeatureQuery, QueryError, StationFeatureQuery, StationQuery
from weatherinsight.client.remote import HttpBackend
from weatherinsight.errors import InvalidPeriodError
from weatherinsight.periods import PeriodKind, parse_kind
from weatherinsight.settings import Settings

if TYPE_CHECKING:  # polars is optional: only typed here, imported where asked for
    import polars


class Client:
    """Published WeatherInsight data for analysis.

    Args:
        url: ``None`` for the local embedded store (``Settings.database_url``), or the base URL of a running
            API such as ``"http://127.0.0.1:8000"``.
        api_key: the ``X-API-Key`` for an API that requires keys.
        settings: local back end only: settings to use instead of loading them from the environment.

    Example::

        >>> from weatherinsight import Client
        >>> c = Client()
        >>> c.features("wind", stations=[44], start="2024Q1", end="2024Q4")  # doctest: +SKIP
    """

    def __init__(
        self, url: str | None = None, *, api_key: str | None = None, settings: Settings | None = None
    ) -> None:
        self._backend: Backend = LocalBackend(settings) if url is None else HttpBackend(url, api_key=api_key)
        self.url = url

    # ------------------------------------------------------------------------------------------ stations

    def stations_arrow(
        self,
        name: str | None = None,
        near: tuple[float, float] | str | None = None,
        radius_km: float | None = None,
        state: str | None = None,
        product: str | None = None,
    ) -> pa.Table:
        """Like :meth:`stations`, as an Arrow table (no pandas needed)."""
        return self._backend.stations(StationQuery(name, _point(near), radius_km, state, product))

    def stations(
        self,
        name: str | None = None,
        near: tuple[float, float] | str | None = None,
        radius_km: float | None = None,
        state: str | None = None,
        product: str | None = None,
    ) -> pd.DataFrame:
        """Stations matching every filter given: one row per station.

        Without ``near`` ordered by station_id; with ``near=(lat, lon)`` (or ``"lat,lon"``) ordered by distance,
        with a ``distance_km`` column, within ``radius_km`` (default 25 km).

        Example::

            >>> Client().stations(name="kubschutz")  # doctest: +SKIP
               station_id       name   state  latitude  longitude  ...
        """
        return self.stations_arrow(name, near, radius_km, state, product).to_pandas()

    # ------------------------------------------------------------------------------------------ catalog

    def catalog(self) -> pd.DataFrame:
        """The feature catalog: name, product, variable, kind, unit, definition, standard, precision."""
        return self._backend.catalog().to_pandas()

    # ------------------------------------------------------------------------------------------ features

    def features_arrow(
        self,
        product: str,
        stations: Iterable[int] | None = None,
        start: str | None = None,
        end: str | None = None,
        features: Iterable[str] | None = None,
        min_coverage: float | None = None,
        include_station: bool = False,
        version: str | None = None,
        period: str = "quarter",
        anomalies: bool = False,
        normals_base: str | None = None,
    ) -> pa.Table:
        """Like :meth:`features`, as an Arrow table whose fields carry unit and definition metadata."""
        ids = None if stations is None else sorted({int(s) for s in stations})
        names = None if features is None else list(dict.fromkeys(features))
        kind = _kind(period)
        query = FeatureQuery(
            product,
            ids,
            start,
            end,
            names,
            min_coverage,
            version,
            include_station,
            kind,
            anomalies,
            normals_base,
        )
        return self._backend.features(query)

    def features(
        self,
        product: str,
        stations: Iterable[int] | None = None,
        start: str | None = None,
        end: str | None = None,
        features: Iterable[str] | None = None,
        min_coverage: float | None = None,
        include_station: bool = False,
        version: str | None = None,
        period: str = "quarter",
        anomalies: bool = False,
        normals_base: str | None = None,
    ) -> pd.DataFrame:
        """Features of one product: one row per station × quarter (or month, season, year with ``period``).

        Columns: station_id, year, quarter, dataset_version, the coverage/QN provenance columns
        (hours_expected … share_recent), computed_at, then the features (all, or ``features``), rounded to the
        catalog precision. Only published versions are read, unless ``version`` pins one curated version name
        (e.g. ``"2024Q1_v2"``, local store only) for a reproducible analysis. ``start``/``end`` are quarters
        like ``"2020Q1"`` (inclusive); ``include_station`` adds station_name, latitude, longitude, height_m valid at
        each quarter's end (the API's ``include_station=true``). ``period="month"|"season"|"year"`` reads the
        features computed per that period instead (the API's ``period=``): ``start``/``end`` stay quarters and
        select the periods whose last day lies in them, ``quarter`` holds the period's number within its year
        and an extra ``period`` column its label (``2024-01``, ``2024DJF`` — December 2023 to February 2024 —,
        ``2024``). ``anomalies=True`` adds each numeric feature's anomaly against its climate normal over
        ``normals_base`` (``"1991..2020"`` unless given; published by ``weatherinsight normals``):
        ``<feature>_anomaly``, ``<feature>_anomaly_pct`` for precipitation amounts and ``<feature>_normal_years``
        (the API's ``anomalies=true``). Units and definitions are in ``df.attrs["fields"]``.

        Example::

            >>> df = Client().features("air_temperature", stations=[44], start="2023Q1", end="2023Q4")  # doctest: +SKIP
            >>> df[["station_id", "year", "quarter", "tg_mean", "coverage"]]  # doctest: +SKIP
        """
        table = self.features_arrow(
            product,
            stations,
            start,
            end,
            features,
            min_coverage,
            include_station,
            version,
            period,
            anomalies,
            normals_base,
        )
        frame = table.to_pandas()
        frame.attrs["fields"] = field_metadata(table)
        frame.attrs["product"] = product
        return frame

    def station_features_arrow(
        self,
        station_id: int,
        products: Iterable[str],
        start: str | None = None,
        end: str | None = None,
        features: Iterable[str] | None = None,
        min_coverage: float | None = None,
        period: str = "quarter",
        anomalies: bool = False,
        normals_base: str | None = None,
    ) -> pa.Table:
        """Like :meth:`station_features`, as an Arrow table whose fields carry unit and definition metadata."""
        names = None if features is None else list(dict.fromkeys(features))
        query = StationFeatureQuery(
            int(station_id),
            list(products),
            start,
            end,
            names,
            min_coverage,
            _kind(period),
            anomalies,
            normals_base,
        )
        return self._backend.station_features(query)

    def station_features(
        self,
        station_id: int,
        products: Iterable[str],
        start: str | None = None,
        end: str | None = None,
        features: Iterable[str] | None = None,
        min_coverage: float | None = None,
        period: str = "quarter",
        anomalies: bool = False,
        normals_base: str | None = None,
    ) -> pd.DataFrame:
        """Several products of one station in one frame: one row per product × quarter (long format).

        Columns: product, station_id, year, quarter, dataset_version, the coverage/QN provenance columns,
        computed_at, then the features of every product asked (or ``features``, each of one of the products);
        a feature of another product is NaN/None in a row. Ordered by (product as asked, year, quarter).
        ``period``, ``anomalies`` and ``normals_base`` as in :meth:`features`: a ``period`` label column follows
        the features, then the anomaly columns of every numeric feature asked (NaN/None in the other products'
        rows); every product asked needs its normals published.

        Example::

            >>> df = Client().station_features(44, ["air_temperature", "wind"], start="2024Q1")  # doctest: +SKIP
            >>> df.pivot(index=["year", "quarter"], columns="product", values="coverage")  # doctest: +SKIP
        """
        table = self.station_features_arrow(
            station_id, products, start, end, features, min_coverage, period, anomalies, normals_base
        )
        frame = table.to_pandas()
        frame.attrs["fields"] = field_metadata(table)
        return frame

    def features_polars(self, product: str, **kwargs: Any) -> polars.DataFrame:
        """Like :meth:`features`, as a polars DataFrame (needs ``polars`` installed; pandas is not used)."""
        try:
            import polars  # lazy: polars is optional for analysts
        except ImportError as exc:
            raise QueryError("features_polars needs polars", hint="pip install polars") from exc
        result = polars.from_arrow(self.features_arrow(product, **kwargs))
        assert isinstance(result, polars.DataFrame)
        return result


def field_metadata(table: pa.Table) -> dict[str, dict[str, str]]:
    """Column → {unit, definition, precision} from an Arrow table's field metadata."""
    out: dict[str, dict[str, str]] = {}
    for f in table.schema:
        if f.metadata:
            out[f.name] = {k.decode(): v.decode() for k, v in f.metadata.items()}
    return out


def _kind(period: str) -> PeriodKind:
    """``period`` checked before any read; the error names the parameter."""
    try:
        return parse_kind(period)
    except InvalidPeriodError as exc:
        raise QueryError(f"period: {exc.message}", hint=exc.hint) from None


def _point(near: tuple[float, float] | str | None) -> tuple[float, float] | None:
    if near is None or isinstance(near, tuple):
        return near
    parts = near.split(",")
    try:
        lat, lon = (float(p) for p in parts)
    except ValueError:
        raise QueryError(f"near: expected LAT,LON like 52.52,13.40, got {near!r}") from None
    return lat, lon
