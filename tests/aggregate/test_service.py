"""The aggregation service end to end on SQLite and PostgreSQL: publish, no-op, force, changed input,
version-name checks, lineage parents and typed errors (docs/design.md §4 versioning)."""

from __future__ import annotations

from pathlib import Path

import pyarrow.compute as pc
import pytest
from sqlalchemy import func, select

from tests.features import cases
from tests.features.staged_rows import Q, write_parquet
from weatherinsight.aggregate import AggregationError, aggregate_quarter
from weatherinsight.engines import duckdb as duck
from weatherinsight.features.common import Rules
from weatherinsight.settings import Settings
from weatherinsight.storage.staged import partition_dir
from weatherinsight.warehouse import db, lineage
from weatherinsight.warehouse.tables import curated_table, dataset_versions


def stage(settings: Settings, product: str, table: object, name: str = "part-00000.parquet") -> Path:
    return write_parquet(table, partition_dir(Path(settings.staged_dir), product, Q) / name)  # type: ignore[arg-type]


def versions(settings: Settings, product: str) -> dict[str, str]:
    with db.get_engine(settings.database_url).connect() as conn:
        return {
            v.version_name: v.status
            for v in lineage.list_versions(conn, kind="curated", product=product, quarter=Q)
        }


def rows_per_version(settings: Settings, product: str) -> dict[str, int]:
    t = curated_table(product)
    with db.get_engine(settings.database_url).connect() as conn:
        res = conn.execute(select(t.c.dataset_version, func.count()).group_by(t.c.dataset_version))
        return {r[0]: r[1] for r in res}


def test_publish_noop_force_and_changed_input(db_settings: Settings) -> None:
    s = db_settings
    stage(s, "pressure", cases.pressure())
    first = aggregate_quarter(s, "pressure", Q)
    assert (first.unchanged, first.dataset_version, first.previous_version, first.rows) == (
        False,
        "2024Q1_v1",
        None,
        3,
    )
    assert versions(s, "pressure") == {"2024Q1_v1": "AVAILABLE"}
    with db.get_engine(s.database_url).connect() as conn:
        published = lineage.read_published(conn, "pressure", Q)
    expected = duck.compute(cases.pressure(), "pressure", Rules(Q)).to_pylist()
    assert [r["station_id"] for r in published] == [1, 2, 3]
    for got, want in zip(published, expected, strict=True):
        assert (got["year"], got["quarter"], got["dataset_version"]) == (2024, 1, "2024Q1_v1")
        assert got["computed_at"] is not None
        for k, v in want.items():
            assert got[k] == (pytest.approx(v, rel=1e-12) if isinstance(v, float) else v), k

    again = aggregate_quarter(s, "pressure", Q)
    assert (again.unchanged, again.dataset_version, again.rows) == (True, "2024Q1_v1", 3)
    assert versions(s, "pressure") == {"2024Q1_v1": "AVAILABLE"}

    forced = aggregate_quarter(s, "pressure", Q, force=True)
    assert (forced.unchanged, forced.dataset_version, forced.previous_version) == (
        False,
        "2024Q1_v2",
        "2024Q1_v1",
    )
    assert versions(s, "pressure") == {"2024Q1_v1": "SUPERSEDED", "2024Q1_v2": "AVAILABLE"}

    # changed input (station 3 loses its rows) → v3; older versions' rows are kept, readers see v3 only
    t = cases.pressure()
    stage(s, "pressure", t.filter(pc.not_equal(t["station_id"], 3)))
    changed = aggregate_quarter(s, "pressure", Q, output_version="2024Q1_v3")
    assert (changed.dataset_version, changed.rows) == ("2024Q1_v3", 2)
    assert versions(s, "pressure") == {
        "2024Q1_v1": "SUPERSEDED",
        "2024Q1_v2": "SUPERSEDED",
        "2024Q1_v3": "AVAILABLE",
    }
    assert rows_per_version(s, "pressure") == {"2024Q1_v1": 3, "2024Q1_v2": 3, "2024Q1_v3": 2}
    with db.get_engine(s.database_url).connect() as conn:
        assert [r["station_id"] for r in lineage.read_published(conn, "pressure", Q)] == [1, 2]


def test_version_name_checks_and_lineage_parents(db_settings: Settings) -> None:
    s = db_settings
    stage(s, "wind", cases.wind())
    engine = db.get_engine(s.database_url)
    db.ensure_schema(engine)
    with engine.begin() as conn:  # what the staging service records for a staged quarter
        v = lineage.begin_version(conn, s, "staged", "wind", Q, fingerprint="staged-fp")
        lineage.publish_version(conn, v, row_count=3 * 2184)
    with pytest.raises(AggregationError, match="staged version 2024Q1_staged_v7 is not the current one"):
        aggregate_quarter(s, "wind", Q, staged_version="2024Q1_staged_v7")
    with pytest.raises(
        AggregationError, match="requested output version 2024Q1_v2 but the next version is 2024Q1_v1"
    ):
        aggregate_quarter(s, "wind", Q, output_version="2024Q1_v2")
    res = aggregate_quarter(s, "wind", Q, staged_version="2024Q1_staged_v1", output_version="2024Q1_v1")
    assert (res.dataset_version, res.staged_versions, res.rows) == ("2024Q1_v1", ("2024Q1_staged_v1",), 3)
    with engine.connect() as conn:
        cur = lineage.find_available(conn, "curated", "wind", Q)
        assert cur is not None and cur.parent_versions == ("2024Q1_staged_v1",)
        assert [x.version_name for x in lineage.lineage(conn, cur)] == ["2024Q1_v1", "2024Q1_staged_v1"]
    # a new staged version changes the fingerprint → v2
    with engine.begin() as conn:
        v = lineage.begin_version(conn, s, "staged", "wind", Q, fingerprint="staged-fp-2")
        lineage.publish_version(conn, v, row_count=3 * 2184)
    assert aggregate_quarter(s, "wind", Q).dataset_version == "2024Q1_v2"


def test_missing_staged_data_and_bad_engine(settings: Settings) -> None:
    with pytest.raises(AggregationError, match=r"aggregate moisture 2024Q1: no staged Parquet"):
        aggregate_quarter(settings, "moisture", Q)
    stage(settings, "moisture", cases.moisture())
    with pytest.raises(AggregationError, match="unknown engine 'polars'"):
        aggregate_quarter(settings, "moisture", Q, engine="polars")


def test_failed_computation_is_recorded(settings: Settings) -> None:
    stage(settings, "precipitation", cases.precipitation())
    ok = aggregate_quarter(settings, "precipitation", Q)
    # a corrupt staged file: the computation fails, a FAILED version records it, v1 stays AVAILABLE
    bad = partition_dir(Path(settings.staged_dir), "precipitation", Q) / "part-00000.parquet"
    bad.write_bytes(b"not parquet at all")
    with pytest.raises(AggregationError, match="aggregate precipitation 2024Q1: duckdb computation failed"):
        aggregate_quarter(settings, "precipitation", Q)
    assert versions(settings, "precipitation") == {
        ok.dataset_version: "AVAILABLE",
        "2024Q1_v2-failed1": "FAILED",
    }
    with db.get_engine(settings.database_url).connect() as conn:
        failed = conn.execute(
            select(dataset_versions.c.error).where(dataset_versions.c.version_name == "2024Q1_v2-failed1")
        ).scalar_one()
    assert "parquet" in failed.lower() or "magic" in failed.lower()
