"""Issue #18 "Done when": a backfill over two years publishes months, seasons, years and quarters for ALL
products (sun and cloudiness included), and DuckDB and Spark give equal values for every published period.

The session mirror (``tests.fixtures.mirror``: 5 stations, two whole calendar years before this one, then this
year up to yesterday) is backfilled for the two whole years — 8 quarters — on DuckDB through the CLI. Then,
for every product and every published period, the product's definition runs on DuckDB over the same staged
files (and daily KL files) with the period's rules and equals the published rows; for the last period of each
kind (month, season, quarter, year) of every product Spark runs too and equals them (every period on Spark
would take minutes: each Spark run costs about a second and a half). 2024DJF-like winters need the December before the range, which is not staged: that season is not
published, the one ending in the range's last winter is.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.pipeline.conftest import SMALL_MIRROR_THRESHOLDS, cli_env
from weatherinsight.aggregate import _latitudes, compute_features, daily_files, staged_files
from weatherinsight.cli import app
from weatherinsight.dwd.products import PRODUCTS
from weatherinsight.features.common import Rules
from weatherinsight.periods import Period, periods_in_quarters
from weatherinsight.quarters import Quarter, quarter_range
from weatherinsight.settings import Settings
from weatherinsight.warehouse import db, lineage

pytestmark = [pytest.mark.spark, pytest.mark.slow]

KINDS = ("month", "season", "quarter", "year")


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return bool(a == b)


def test_two_year_backfill_publishes_every_period_of_every_product_equal_on_both_engines(
    mirror_url: str, mirror_settings_for: Callable[..., Settings], spark: Any
) -> None:
    s = mirror_settings_for(mirror_url, quality_thresholds=SMALL_MIRROR_THRESHOLDS)
    year = Quarter.last_complete().next().start.year - 2  # the mirror's first whole year
    quarters = quarter_range(Quarter(year, 1), Quarter(year + 1, 4))
    assert len(quarters) == 8
    assert {"sun", "cloudiness"} <= set(s.product_types) and len(s.product_types) == len(PRODUCTS) == 7
    result = CliRunner().invoke(
        app,
        ["backfill", f"{quarters[0]}..{quarters[-1]}", "--period", "month,season,year", "--no-progress"],
        env={**cli_env(s), "COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output

    expected = {
        kind: [p for p in periods_in_quarters(quarters, kind) if all(q in quarters for q in p.quarters)]
        for kind in KINDS
    }
    assert {k: len(v) for k, v in expected.items()} == {"month": 24, "season": 7, "quarter": 8, "year": 2}
    assert str(expected["season"][0]) == f"{year}MAM" and str(expected["season"][-1]) == f"{year + 1}SON"
    mismatches: list[tuple[Any, ...]] = []
    for product in PRODUCTS:
        with db.get_engine(s.database_url).connect() as conn:
            published = {
                (v.period_kind, str(v.period)): v.version_name
                for v in lineage.list_versions(conn, kind="curated", product=product, statuses=["AVAILABLE"])
            }
            assert published == {
                (k, str(p)): f"{p}_v1" for k, periods in expected.items() for p in periods
            }, product
            rows = {
                str(p): lineage.read_published(conn, product, p)
                for periods in expected.values()
                for p in periods
            }
        for periods in expected.values():
            for period in periods:
                p = Period.parse(str(period))
                files, daily = staged_files(s, product, p), daily_files(s, product, p)
                # the rules aggregate ran with: sun's possible sunshine needs the stations' latitudes
                latitudes = _latitudes(db.get_engine(s.database_url), product, p, files)
                rules = Rules.from_config(p, s.features, latitudes)
                duck = compute_features(s, product, p, files, rules=rules, daily=daily)
                got = rows[str(p)]
                assert duck.num_rows == len(got) > 0, (product, str(p))
                engines = [("duckdb", duck)]
                if period == periods[-1]:  # Spark costs ~1.5 s a run: the last period of each kind
                    engines.append(
                        (
                            "spark",
                            compute_features(
                                s,
                                product,
                                p,
                                files,
                                engine="spark",
                                spark_session=spark,
                                rules=rules,
                                daily=daily,
                            ),
                        )
                    )
                for engine, out in engines:
                    assert out.schema == duck.schema and out.num_rows == len(got), (engine, product, str(p))
                    for mine, pub in zip(out.to_pylist(), got, strict=True):
                        bad = [(n, mine[n], pub[n]) for n in out.column_names if not _equal(mine[n], pub[n])]
                        mismatches += [(engine, product, str(p), mine["station_id"], *b) for b in bad]
    assert mismatches == [], mismatches[:10]
