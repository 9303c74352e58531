"""``pipeline.engine: spark``: the pipeline's steps (``run_quarter``, as the DAG tasks call them) stage and
aggregate on Spark, on one session per process, and publish exactly what the DuckDB run publishes.

One product and the mirror's last complete quarter with its months (four aggregations), Spark in local mode
on the test session's JVM (``tests/fixtures/spark.py``); the DuckDB run is the reference.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from sqlalchemy import select

from tests.fixtures.core import make_settings
from tests.fixtures.mirror import FAST_INGEST
from weatherinsight import pipeline
from weatherinsight.engines import spark as sp
from weatherinsight.pipeline import steps
from weatherinsight.quarters import Quarter
from weatherinsight.settings import Settings
from weatherinsight.storage.staged import staged_dataset
from weatherinsight.warehouse import db, tables

pytestmark = [pytest.mark.spark, pytest.mark.slow]

PRODUCT = "wind"


def _settings(data_dir: Path, mirror_url: str, engine: str) -> Settings:
    data_dir.mkdir(parents=True)
    return make_settings(
        data_dir,
        dwd_base_url=mirror_url,
        ingest=FAST_INGEST,
        pipeline={"engine": engine},
        spark={"master": "local[1]"},
        features={"periods": ["month"]},
    )


def _staged(settings: Settings) -> pa.Table:
    t = staged_dataset(settings.staged_dir, PRODUCT).to_table()
    return t.sort_by([("station_id", "ascending"), ("ts", "ascending")])


def _curated(settings: Settings) -> list[dict[str, Any]]:
    """Every curated row of the product (quarter and months), without the publication time."""
    t = tables.curated_table(PRODUCT)
    with db.get_engine(settings.database_url).connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(select(t))]
    for r in rows:
        r.pop("computed_at", None)
    return sorted(rows, key=lambda r: (r["dataset_version"], r["station_id"]))


def test_a_spark_pipeline_run_publishes_what_duckdb_publishes_on_one_session(
    tmp_path: Path, mirror_url: str, mirror_today: date, spark: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    quarter = Quarter.last_complete(mirror_today)
    duck = _settings(tmp_path / "duckdb", mirror_url, "duckdb")
    assert pipeline.run_quarter(duck, quarter, products=[PRODUCT]).ok

    # Count the sessions the process builds (the shared one starts empty; every Spark path builds through
    # engines.spark.session, which the test session's JVM answers).
    built: list[str] = []
    real_session = sp.session

    def counting_session(settings: Settings, master: str | None = None, **kwargs: Any) -> Any:
        built.append(master or settings.spark.master)
        return real_session(settings, master, **kwargs)

    # The engine each step asks for, seen at the service calls (not through captured log events: a structlog
    # logger another test on the same worker cached bypasses structlog.testing.capture_logs).
    engines: dict[str, list[str]] = {"stage": [], "aggregate": []}

    def recording(kind: str, real: Any) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            engines[kind].append(kwargs["engine"])
            return real(*args, **kwargs)

        return call

    monkeypatch.setattr(steps, "stage_product", recording("stage", steps.stage_product))
    monkeypatch.setattr(steps, "aggregate_quarter", recording("aggregate", steps.aggregate_quarter))
    monkeypatch.setattr(sp, "_shared", None)
    monkeypatch.setattr(sp, "session", counting_session)
    remote = _settings(tmp_path / "spark", mirror_url, "spark")
    report = pipeline.run_quarter(remote, quarter, products=[PRODUCT])
    assert report.ok, report.to_dict()

    # Staging and all four aggregations (the quarter, its three months) ran on Spark, on one session.
    assert engines == {"stage": ["spark"], "aggregate": ["spark"] * 4}
    assert built == ["local[1]"]
    assert sp.shared_session(remote) is sp.shared_session(remote)
    assert built == ["local[1]"]

    # The staged Parquet is the same row for row, every column.
    a, b = _staged(duck), _staged(remote)
    assert a.num_rows > 1000
    assert b.column_names == a.column_names
    assert b.cast(a.schema).equals(a)

    # The same curated rows: versions, coverage columns and every feature value.
    want, got = _curated(duck), _curated(remote)
    stations = len(set(a.column("station_id").to_pylist()))
    assert stations >= 3
    assert len(want) == 4 * stations  # the quarter and its three months × the staged stations
    assert {r["dataset_version"] for r in want} == {r["dataset_version"] for r in got}
    assert len({r["dataset_version"] for r in want}) == 4
    for g, w in zip(got, want, strict=True):
        assert g.keys() == w.keys()
        for key, value in w.items():
            expected = pytest.approx(value, rel=1e-9) if isinstance(value, float) else value
            assert g[key] == expected, (w["dataset_version"], w["station_id"], key)
