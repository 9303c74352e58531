"""Re-runs: no new raw file → nothing happens (and it says so); a new release rewrites only its quarters."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from tests.staging.conftest import TU_AKT_00044, TU_HIST_00044, put, release
from weatherinsight.dwd.products import get_product
from weatherinsight.quarters import Quarter, quarter_range
from weatherinsight.settings import Settings
from weatherinsight.staging import stage_product
from weatherinsight.storage.staged import partition_dir, read_partition
from weatherinsight.vocabulary import Status
from weatherinsight.warehouse import db, lineage
from weatherinsight.warehouse.tables import dataset_versions, staged_partitions

TU = "air_temperature"
HAMBURG_QUARTERS = [str(q) for q in quarter_range(Quarter(2020, 1), Quarter(2021, 3))]


def stamp(settings: Settings, q: Quarter) -> tuple[int, int]:
    st = (partition_dir(settings.staged_dir, TU, q) / "part-00000.parquet").stat()
    return st.st_ino, st.st_mtime_ns


@pytest.mark.postgres
def test_rerun_is_a_noop_then_a_new_release_rewrites_only_its_quarters(db_settings: Settings) -> None:
    settings = db_settings
    put(settings, TU, "historical", TU_HIST_00044, TU_HIST_00044.name)
    put(settings, TU, "recent", TU_AKT_00044, TU_AKT_00044.name)
    with db.get_engine(settings.database_url).begin() as conn:
        db.ensure_schema(conn.engine)
        raw = lineage.begin_version(conn, settings, "raw", TU, Quarter(2021, 4), fingerprint="raw-fp")
        lineage.publish_version(conn, raw, row_count=2)
    first = stage_product(settings, get_product(TU))
    assert first.status == Status.SUCCEEDED and len(first.quarters_written) == 64

    again = stage_product(settings, get_product(TU))
    assert again.status == "unchanged"
    assert again.message.startswith("nothing to do: no new or changed raw files for air_temperature")
    assert again.quarters_written == [] and again.files_parsed == 0
    assert len(again.versions) == 64 and again.versions["2021Q4"] == "2021Q4_staged_v1"

    untouched = [Quarter(2015, 1), Quarter(2021, 4), Quarter(2022, 3)]
    before = {q: stamp(settings, q) for q in untouched}
    # Hamburg's 2021-08-27 release arrives: its produkt covers 2020-02-24 .. 2021-08-26.
    put(settings, TU, "recent", release(TU, "TU", "2021-08-27"), "stundenwerte_TU_01975_akt.zip")
    second = stage_product(settings, get_product(TU))
    assert second.quarters_written == HAMBURG_QUARTERS
    assert {q: stamp(settings, q) for q in untouched} == before
    # 2021-09-19 replaces it; ingestion keeps the old bytes in _history (same sha256: not re-read as new).
    old = Path(settings.raw_store_url) / "dwd" / TU / "recent" / "stundenwerte_TU_01975_akt.zip"
    put(
        settings,
        TU,
        "recent",
        old.read_bytes(),
        "0011223344556677_stundenwerte_TU_01975_akt.zip",
        history=True,
    )
    put(settings, TU, "recent", release(TU, "TU", "2021-09-19"), "stundenwerte_TU_01975_akt.zip")
    third = stage_product(settings, get_product(TU))
    assert third.files_new == 1
    assert third.quarters_written == HAMBURG_QUARTERS
    assert {q: stamp(settings, q) for q in untouched} == before
    assert stage_product(settings, get_product(TU)).status == "unchanged"

    with db.get_engine(settings.database_url).connect() as conn:
        q3 = conn.execute(
            select(dataset_versions.c.version_name, dataset_versions.c.status, dataset_versions.c.row_count)
            .where(
                dataset_versions.c.kind == "staged",
                dataset_versions.c.year == 2021,
                dataset_versions.c.quarter == 3,
            )
            .order_by(dataset_versions.c.version_number)
        ).all()
        q4 = conn.execute(
            select(
                dataset_versions.c.version_name, dataset_versions.c.status, dataset_versions.c.parent_versions
            ).where(
                dataset_versions.c.kind == "staged",
                dataset_versions.c.year == 2021,
                dataset_versions.c.quarter == 4,
            )
        ).all()
        parts = conn.execute(
            select(staged_partitions.c.version, staged_partitions.c.row_count)
            .where(staged_partitions.c.year == 2021, staged_partitions.c.quarter == 3)
            .order_by(staged_partitions.c.version)
        ).all()
    rows_q3 = read_partition(settings.staged_dir, TU, Quarter(2021, 3)).num_rows
    assert q3 == [
        ("2021Q3_staged_v1", "SUPERSEDED", first.rows_by_quarter["2021Q3"]),
        ("2021Q3_staged_v2", "SUPERSEDED", second.rows_by_quarter["2021Q3"]),
        ("2021Q3_staged_v3", "AVAILABLE", rows_q3),
    ]
    # 00044: all 2208 hours of the quarter; 01975: 2021-07-01 .. 2021-09-18 23:00 from the newest release
    assert third.rows_by_quarter["2021Q3"] == rows_q3 == 2208 + 80 * 24
    assert q4 == [("2021Q4_staged_v1", "AVAILABLE", ["2021Q4_raw_v1"])]
    assert [p.version for p in parts] == ["2021Q3_staged_v1", "2021Q3_staged_v2", "2021Q3_staged_v3"]


def test_quarter_filter_writes_only_the_requested_quarter(settings: Settings) -> None:
    put(settings, TU, "recent", TU_AKT_00044, TU_AKT_00044.name)
    result = stage_product(settings, get_product(TU), quarters=[Quarter.parse("2022Q2")])
    assert result.quarters_written == ["2022Q2"]
    assert result.rows_by_quarter == {"2022Q2": 2184}
    assert read_partition(settings.staged_dir, TU, Quarter(2022, 2)).num_rows == 2184
    assert not partition_dir(settings.staged_dir, TU, Quarter(2022, 3)).exists()
    noop = stage_product(settings, get_product(TU), quarters=[Quarter.parse("2022Q2")])
    assert noop.status == "unchanged" and noop.versions == {"2022Q2": "2022Q2_staged_v1"}
    rest = stage_product(settings, get_product(TU))
    assert "2022Q2" not in rest.quarters_written and "2022Q3" in rest.quarters_written
