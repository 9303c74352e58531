"""The compiled-feature-SQL cache (``engines/sql_cache.py``) changes no number: every registered product over
periods of every length a backfill meets (quarters of 90/91/92 days, months of 28/29/30/31, DJF across the
year boundary, MAM, a common and a leap year), computed with the cache cold, then warm, equals the result
with the cache disabled, row for row and value for value (doubles to 1e-12 relative: ``_differences``).

The periods are run in an order where several share a shape (two 92-day quarters, two 30-day months, …), so
the warm runs execute SQL compiled for ANOTHER period: a period fact leaking into the cached SQL (a date, a
day of year, a latitude) would change numbers here. The framing SQL (``features/framing.py``) is cached too:
it reads the dates from the one-row PERIOD table, so one text serves every period. The same claim is also checked on the SQL text itself.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from tests.features.random_staged import random_staged
from tests.features.staged_rows import write_parquet
from weatherinsight.dwd.products import PRODUCTS, get_product
from weatherinsight.engines import duckdb as duck
from weatherinsight.engines.sql_cache import SqlCache
from weatherinsight.features.common import Rules
from weatherinsight.features.day_sources import DAILY_PRODUCT, daily_input
from weatherinsight.features.definitions import needs_latitude, shape_of
from weatherinsight.periods import Period
from weatherinsight.quarters import Quarter

STATIONS = [101, 102, 103, 104]
#: Station 104 has no known latitude: its possible sunshine stays NULL.
LATITUDES = ((101, 47.7), (102, 50.1), (103, 54.2))
QUARTERS = [Quarter(2023, q) for q in (1, 2, 3, 4)] + [Quarter(2024, q) for q in (1, 2, 3, 4)]
PERIODS: list[Period | Quarter] = [
    Quarter(2023, 3),  # 92 days
    Quarter(2023, 1),  # 90
    Quarter(2024, 1),  # 91 (leap February)
    Quarter(2024, 3),  # 92: same shape as 2023Q3
    Quarter(2023, 2),  # 91: same shape as 2024Q1
    Period.parse("2023-02"),  # 28
    Period.parse("2024-02"),  # 29
    Period.parse("2024-04"),  # 30
    Period.parse("2024-06"),  # 30: same shape as April
    Period.parse("2024-01"),  # 31
    Period.parse("2024-12"),  # 31: same shape as January
    Period.parse("2024DJF"),  # 91 across the year boundary: shape of 2024Q1 and 2023Q2
    Period.parse("2024MAM"),  # 92
    Period.parse("2023"),  # 365
    Period.parse("2024"),  # 366
]
HOURLY = [p for p in PRODUCTS if not get_product(p).daily]


def _daily_kl(stations: list[int], first: date, last: date, *, seed: int = 11) -> pa.Table:
    """A seeded staged daily KL table: TXK/TNK/RSK present on ~60 % of the days, so days come from KL, from
    the hourly fallback and from both within one period."""
    schema = get_product(DAILY_PRODUCT).staged_schema
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    rng = np.random.default_rng(seed)
    n = len(days) * len(stations)
    present = rng.random(n) < 0.6
    tx = np.round(rng.normal(14.0, 9.0, n), 1)
    cols: dict[str, pa.Array] = {
        "station_id": pa.array(np.repeat(np.asarray(stations, np.int32), len(days)), pa.int32()),
        "date": pa.array(days * len(stations), pa.date32()),
        "temperature_max": pa.array(tx, mask=~present),
        "temperature_min": pa.array(np.round(tx - rng.uniform(2.0, 14.0, n), 1), mask=~present),
        "precipitation_height": pa.array(np.round(rng.gamma(0.6, 3.0, n), 1), mask=~present),
        "source_period": pa.array(["historical"] * n),
        "source_file": pa.array(["produkt_klima_tag.txt"] * n),
    }
    for f in schema:
        if f.name not in cols:
            cols[f.name] = pa.nulls(n, f.type)
    return pa.table([cols[f.name].cast(f.type) for f in schema], schema=schema)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Path]]:
    """One staged Parquet file per product and quarter (as staging writes them) plus the daily KL files."""
    root = tmp_path_factory.mktemp("sqlcache")
    out: dict[str, list[Path]] = {}
    for i, product in enumerate(HOURLY):
        out[product] = [
            write_parquet(
                random_staged(product, q, STATIONS, seed=10 * i + q.quarter + q.year),
                root / product / f"{q}.parquet",
            )
            for q in QUARTERS
        ]
    kl = _daily_kl(STATIONS, date(2023, 1, 1), date(2024, 12, 31))
    out[DAILY_PRODUCT] = [write_parquet(kl, root / DAILY_PRODUCT / "all.parquet")]
    return out


def _files(inputs: dict[str, list[Path]], product: str, period: Period | Quarter) -> list[Path]:
    quarters = [period] if isinstance(period, Quarter) else period.quarters
    return [inputs[product][QUARTERS.index(q)] for q in quarters]


def _run(
    inputs: dict[str, list[Path]], product: str, period: Period | Quarter, cache: SqlCache | None
) -> pa.Table:
    daily = inputs[DAILY_PRODUCT] if daily_input(product) else None
    rules = Rules(period, latitudes=LATITUDES)
    return duck.compute(_files(inputs, product, period), product, rules, daily=daily, sql_cache=cache)


def _differences(got: pa.Table, want: pa.Table) -> list[tuple[object, str, object, object]]:
    """(station, column, got, want) wherever two results differ: station order, NULLs, integers and labels
    exactly; doubles to 1e-12 relative — DuckDB's multi-threaded SUM of doubles adds in no fixed order, so
    two runs of the SAME SQL differ in the last bits (e.g. 1251.2743075460003 vs 1251.2743075459998)."""
    out: list[tuple[object, str, object, object]] = []
    for a, b in zip(got.to_pylist(), want.to_pylist(), strict=True):
        for name, x in a.items():
            y = b[name]
            same = (
                math.isclose(x, y, rel_tol=1e-12) if isinstance(x, float) and isinstance(y, float) else x == y
            )
            if not same:
                out.append((a["station_id"], name, x, y))
    return out


@pytest.fixture
def cache() -> Iterator[SqlCache]:
    yield SqlCache()


@pytest.mark.parametrize("product", HOURLY)
def test_cached_sql_gives_exactly_the_uncached_rows(
    product: str, inputs: dict[str, list[Path]], cache: SqlCache
) -> None:
    assert len(HOURLY) == 7
    expected = {str(p): _run(inputs, product, p, None) for p in PERIODS}
    cold = {str(p): _run(inputs, product, p, cache) for p in PERIODS}
    shapes = {shape_of(product, Rules(p)) for p in PERIODS}
    # framed inputs: the hours, plus the KL days or the station × day table where the definition reads them
    framed = 1 + (daily_input(product) is not None) + needs_latitude(product)
    lookups = len(PERIODS) * (1 + framed)
    # one feature compile per shape, one framing compile per framed input for ALL periods; the rest were hits
    assert cache.info().misses == len(shapes) + framed
    assert len(shapes) < len(PERIODS)
    assert cache.info().hits == lookups - len(shapes) - framed
    warm = {str(p): _run(inputs, product, p, cache) for p in PERIODS}
    assert cache.info().misses == len(shapes) + framed
    assert cache.info().hits == 2 * lookups - len(shapes) - framed
    for label, table in expected.items():
        assert table.num_rows == len(STATIONS), label
        assert cold[label].schema == warm[label].schema == table.schema, label
        assert _differences(cold[label], table) == [], (label, "cold")
        assert _differences(warm[label], table) == [], (label, "warm")
    # the fixture makes the gates bite somewhere and pass somewhere, so equal results are not all NULLs
    first_feature = expected["2024Q1"].column_names[8]
    assert expected["2024Q1"][first_feature].null_count < len(STATIONS)


def test_same_shape_compiles_to_identical_sql(inputs: dict[str, list[Path]]) -> None:
    """The SQL text itself: for every product, periods of one shape (2023Q2, 2024Q1, 2024DJF: 91 days) compile
    to one text, and periods of another length to another — the cache key is neither too coarse nor holds
    a period fact."""
    for product in HOURLY:
        texts: dict[str, str] = {}
        framing: dict[str, list[str]] = {}
        for label in ("2023Q2", "2024Q1", "2024DJF", "2024MAM"):
            recorder = SqlCache()
            period = Quarter.parse(label) if "Q" in label else Period.parse(label)
            _run(inputs, product, period, recorder)
            entries = dict(recorder._entries)
            texts[label] = next(sql for key, sql in entries.items() if key[0] == "features")
            framing[label] = sorted(sql for key, sql in entries.items() if key[0] == "frame")
        assert texts["2023Q2"] == texts["2024Q1"] == texts["2024DJF"], product
        assert texts["2024MAM"] != texts["2024Q1"], product
        # the framing SQL holds no date at all (the dates are rows of the PERIOD table): one text for all
        assert framing["2023Q2"] == framing["2024Q1"] == framing["2024DJF"] == framing["2024MAM"], product
