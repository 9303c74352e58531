"""The catch-up window: the years the DAGs catch up and backfill by default, and the quarterly DAG's start.

Its own small module because the DAG files call it at parse time: it imports only settings and quarters,
so parsing a DAG file never loads the pipeline's engines (pyarrow, DuckDB, ibis).
"""

from __future__ import annotations

from datetime import date

from weatherinsight.errors import ConfigError
from weatherinsight.quarters import Quarter
from weatherinsight.settings import Settings


def catchup_window(settings: Settings, today: date | None = None) -> tuple[int, int]:
    """The years the DAGs catch up / backfill by default: ``(default_start_year, end)``.

    ``end`` is ``backfill.default_end_year`` when set, else the year of the last complete quarter (so the
    window follows the calendar and raising ``default_start_year`` alone never breaks the DAG files).
    Raises ``ConfigError`` naming ``backfill.default_start_year`` when the start is after the end.
    """
    b = settings.backfill
    end = b.default_end_year if b.default_end_year is not None else Quarter.last_complete(today).year
    if b.default_start_year > end:
        raise ConfigError(
            "backfill.default_start_year",
            f"{b.default_start_year} is after the end of the catch-up window {end} "
            + (
                "(backfill.default_end_year)"
                if b.default_end_year is not None
                else "(the year of the last complete quarter)"
            ),
            source="weatherinsight settings",
        )
    return b.default_start_year, end


def catchup_start(settings: Settings) -> date:
    """The quarterly DAG's ``start_date``: the first day of ``backfill.catchup_from`` when set, else 1 January
    of ``backfill.default_start_year`` (checked against the window's end by ``catchup_window``)."""
    start_year, _ = catchup_window(settings)
    if settings.backfill.catchup_from:
        return Quarter.parse(settings.backfill.catchup_from).start.date()
    return date(start_year, 1, 1)
