"""Which products' day-based indices also read a daily product's staged values (issue #17).

A plain fact without Ibis: the DAG files read it at parse time (``pipeline.airflow_tasks``), where no engine may
be imported. ``features.definitions.USES_DAILY_KL`` holds the matching definitions and checks its keys against
``READS_DAILY``.
"""

from __future__ import annotations

from collections.abc import Iterable

#: The daily product whose values the day-based indices prefer (registry name, ``dwd.products.DAILY_KL``).
DAILY_PRODUCT = "daily_climate"
#: Product → the daily product its definition also reads.
READS_DAILY: dict[str, str] = {"air_temperature": DAILY_PRODUCT, "precipitation": DAILY_PRODUCT}


def daily_input(product: str) -> str | None:
    """The daily product whose staged table ``product``'s definition also reads, or None."""
    return READS_DAILY.get(product)


def daily_inputs(products: Iterable[str]) -> list[str]:
    """The daily products the given products' features read, each once, in the products' order: they are
    ingested and staged before those products aggregate."""
    out: list[str] = []
    for p in products:
        name = daily_input(p)
        if name is not None and name not in out:
            out.append(name)
    return out
