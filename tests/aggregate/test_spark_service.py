"""``aggregate_quarter(engine="spark")`` publishes the same numbers as DuckDB would (Spark local mode)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.aggregate.test_service import stage, versions
from tests.features import cases
from tests.features.staged_rows import Q
from weatherinsight.aggregate import aggregate_quarter
from weatherinsight.engines import duckdb as duck
from weatherinsight.features.common import Rules
from weatherinsight.settings import Settings
from weatherinsight.warehouse import db, lineage

pytestmark = pytest.mark.spark


def test_spark_engine_publishes(settings: Settings, spark: Any) -> None:
    stage(settings, "pressure", cases.pressure())
    res = aggregate_quarter(settings, "pressure", Q, engine="spark", spark_session=spark)
    assert (res.engine, res.dataset_version, res.rows) == ("spark", "2024Q1_v1", 3)
    with db.get_engine(settings.database_url).connect() as conn:
        published = lineage.read_published(conn, "pressure", Q)
    expected = duck.compute(cases.pressure(), "pressure", Rules(Q)).to_pylist()
    for got, want in zip(published, expected, strict=True):
        for k, v in want.items():
            assert got[k] == (pytest.approx(v, rel=1e-9) if isinstance(v, float) else v), k
    # the engine is not an input: the same staged files on DuckDB are a no-op
    again = aggregate_quarter(settings, "pressure", Q, engine="duckdb")
    assert (again.unchanged, again.dataset_version) == (True, "2024Q1_v1")
    assert versions(settings, "pressure") == {"2024Q1_v1": "AVAILABLE"}
