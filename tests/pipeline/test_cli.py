"""``weatherinsight run`` / ``backfill`` / ``check`` on the DWD mirror, against SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from tests.fixtures.mirror import FreshMirror
from tests.pipeline.conftest import (
    SMALL_MIRROR_THRESHOLDS,
    cli_env,
    corrupt_product,
    published_rows,
    staged_stations,
    versions,
)
from weatherinsight.cli import app
from weatherinsight.cli.orchestrate import with_engine
from weatherinsight.dwd.products import PRODUCTS as REGISTRY
from weatherinsight.errors import InvalidQuarterError
from weatherinsight.quarters import Quarter
from weatherinsight.settings import Settings
from weatherinsight.warehouse import db, tables

pytestmark = pytest.mark.slow

PRODUCTS = tuple(REGISTRY)  # every registered product: the default product_types
runner = CliRunner()


def _invoke(settings: Settings, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, [*args], env={**cli_env(settings), "COLUMNS": "200"})
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def test_run_check_backfill_and_force(
    db_url: str, mirror_url: str, mirror_settings_for: Callable[..., Settings]
) -> None:
    s = mirror_settings_for(mirror_url, db_url, quality_thresholds=SMALL_MIRROR_THRESHOLDS)
    q = Quarter.last_complete()
    prev = q.previous()

    code, out = _invoke(s, "run", str(q), "--no-progress")
    assert code == 0, out
    assert f"WeatherInsight run {q}" in out
    for p in PRODUCTS:
        expected = staged_stations(s, p, q)
        assert expected >= 3
        assert published_rows(s, p, q) == (f"{q}_v1", expected)
        assert f"{q}_v1" in out

    code, out = _invoke(s, "check", str(q))
    assert code == 0, out
    assert "0 fatal, 0 warning(s)" in out
    with db.get_engine(s.database_url).connect() as conn:
        t = tables.quality_check_results
        stored = conn.execute(select(t.c.check_name, t.c.passed).where(t.c.year == q.year)).all()
    assert len(stored) == 45 and all(passed for _, passed in stored)  # tests/quality: 4 × 7 + 17 null checks

    # The previous quarter is new, the last one unchanged: no second version appears.
    code, out = _invoke(s, "backfill", f"{prev}..{q}", "--no-progress")
    assert code == 0, out
    assert out.count("unchanged") == len(PRODUCTS) and out.count("succeeded") == len(PRODUCTS)
    for p in PRODUCTS:
        assert published_rows(s, p, prev) == (f"{prev}_v1", staged_stations(s, p, prev))
        assert versions(s, p, q) == {f"{q}_v1": "AVAILABLE"}

    code, out = _invoke(s, "run", str(q), "--products", "wind", "--force", "--no-progress")
    assert code == 0, out
    assert versions(s, "wind", q) == {f"{q}_v1": "SUPERSEDED", f"{q}_v2": "AVAILABLE"}
    assert versions(s, "pressure", q) == {f"{q}_v1": "AVAILABLE"}


def test_backfill_with_one_corrupted_product_fails_only_that_product(
    fresh_mirror: FreshMirror, mirror_settings_for: Callable[..., Settings]
) -> None:
    assert corrupt_product(fresh_mirror.root, "wind") > 0
    s = mirror_settings_for(fresh_mirror.url)
    q = Quarter.last_complete()
    code, out = _invoke(s, "backfill", f"{q.previous()}..{q}", "--no-progress")
    assert code == 1
    assert f"2 of {2 * len(PRODUCTS)} quarter × product failed" in out
    for quarter in (q.previous(), q):
        assert published_rows(s, "wind", quarter) == (None, 0)
        for p in (p for p in PRODUCTS if p != "wind"):
            assert published_rows(s, p, quarter)[0] == f"{quarter}_v1"


def test_bad_arguments_are_rejected(settings: Settings) -> None:
    # ``main()`` turns typed errors into exit code 2; the Typer app itself lets them through.
    with pytest.raises(InvalidQuarterError, match="the range ends before it starts"):
        _invoke(settings, "backfill", "2024Q4..2020Q1")
    with pytest.raises(InvalidQuarterError):
        _invoke(settings, "run", "2024Q5")
    future = Quarter.last_complete().next()
    code, out = _invoke(settings, "backfill", f"{future}")
    assert code == 2 and "has not ended yet" in out
    for verb, quarters in (("run", "2024Q1"), ("backfill", "2024Q1..2024Q2")):
        code, out = _invoke(settings, verb, quarters, "--engine", "polars", "--no-progress")
        assert code == 2 and "Invalid value for --engine: use one of duckdb, spark" in out, out
        code, out = _invoke(settings, verb, quarters, "--master", "spark//oops", "--no-progress")
        assert code == 2 and "'spark//oops' is not a Spark master" in out, out


def test_engine_and_master_options_choose_the_pipeline_engine(settings: Settings) -> None:
    assert settings.pipeline.engine == "duckdb" and settings.spark.master == "local[2]"
    assert with_engine(settings, None, None) is settings  # the configured engine
    chosen = with_engine(settings, "spark", None)
    assert (chosen.pipeline.engine, chosen.spark.master) == ("spark", "local[2]")
    # --master implies Spark (as for `stage` and `aggregate`) and replaces spark.master
    chosen = with_engine(settings, None, "spark://127.0.0.1:7077")
    assert (chosen.pipeline.engine, chosen.spark.master) == ("spark", "spark://127.0.0.1:7077")
    back = with_engine(chosen, "duckdb", None)
    assert (back.pipeline.engine, back.spark.master) == ("duckdb", "spark://127.0.0.1:7077")
