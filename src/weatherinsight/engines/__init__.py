"""Execution engines for the one feature definition (``features/definitions.py``): DuckDB (default) and Spark."""

from __future__ import annotations

from weatherinsight.errors import WeatherInsightError


class DuplicateHoursError(WeatherInsightError):
    """The staged rows hold a station hour twice; every count and mean would be wrong, so nothing is computed."""

    def __init__(self, product: str, station_id: int, hour: str, count: int) -> None:
        self.product = product
        self.station_id = station_id
        self.hour = hour
        super().__init__(
            f"staged {product} has {count} rows for station {station_id} at {hour} UTC (one expected)",
            hint="re-stage the quarter; staging applies precedence so that one row per station hour remains",
        )


def duplicate_check_sql(table: str) -> str:
    """SQL (DuckDB and Spark alike) returning one duplicated (station_id, h) of a framed table, if any."""
    return (
        f"SELECT station_id, h, count(*) AS n FROM {table} GROUP BY station_id, h HAVING count(*) > 1 "
        "ORDER BY station_id, h LIMIT 1"
    )
