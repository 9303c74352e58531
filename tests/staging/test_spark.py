"""Spark staging runs the same parser and precedence and writes identical Parquet contents (row for row)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from tests.staging.conftest import build_wind_store, fresh_settings, make_zip, put, settings_with_share
from weatherinsight.dwd.products import get_product
from weatherinsight.mirror.layout import hourly_root
from weatherinsight.settings import Settings
from weatherinsight.staging import StageResult, stage_product
from weatherinsight.storage.staged import list_partitions, staged_dataset

pytestmark = [pytest.mark.spark, pytest.mark.slow]
#: A zip whose name and produkt entry look right but whose second data row is broken: it fails on the executor.
BAD_WIND = make_zip(
    {
        "produkt_ff_stunde_20200101_20200102_00222.txt": (
            b"STATIONS_ID;MESS_DATUM;QN_3;   F;   D;eor\r\n"
            b"        222;2020010100;    3;   1.5; 250;eor\r\n"
            b"        222;2020010101;    3;  calm; 250;eor\r\n"
        )
    }
)
PRODUCTS = ("wind",)


def store(settings: Settings, mirror_dir: Path) -> None:
    for product in PRODUCTS:
        shutil.copytree(hourly_root(mirror_dir) / product, Path(settings.raw_store_url) / "dwd" / product)
    build_wind_store(settings)  # the real Hamburg releases (revised QN and value) on top of the mirror
    put(settings, "wind", "recent", BAD_WIND, "stundenwerte_FF_00222_akt.zip")


def rows(settings: Settings, product: str) -> pa.Table:
    t = staged_dataset(settings.staged_dir, product).to_table()
    return t.sort_by([("station_id", "ascending"), ("ts", "ascending")])


def run(tmp: Path, name: str, mirror_dir: Path, **kwargs: Any) -> tuple[Settings, dict[str, StageResult]]:
    base = fresh_settings(tmp / name / "data")
    settings = settings_with_share(base, 0.5)
    store(settings, mirror_dir)
    return settings, {p: stage_product(settings, get_product(p), **kwargs) for p in PRODUCTS}


def test_spark_and_duckdb_write_identical_staged_parquet(
    tmp_path: Path, mirror_dir: Path, spark: Any
) -> None:
    local, local_results = run(tmp_path, "duckdb", mirror_dir)
    remote, remote_results = run(tmp_path, "spark", mirror_dir, engine="spark", spark_session=spark)
    for product in PRODUCTS:
        a, b = rows(local, product), rows(remote, product)
        assert a.num_rows > 100_000
        assert [f.type for f in b.schema] == [f.type for f in a.schema]
        assert b.column_names == a.column_names
        assert b.cast(a.schema).equals(a), product  # row for row, every column
        assert list_partitions(remote.staged_dir, product) == list_partitions(local.staged_dir, product)
        ra, rb = local_results[product], remote_results[product]
        assert (rb.quarters_written, rb.rows_by_quarter, rb.versions) == (
            ra.quarters_written,
            ra.rows_by_quarter,
            ra.versions,
        )
        assert [(q.rel, q.reason) for q in rb.quarantined] == [(q.rel, q.reason) for q in ra.quarantined]
    assert [q.rel for q in remote_results["wind"].quarantined] == ["recent/stundenwerte_FF_00222_akt.zip"]
    # Only the Parquet data files are committed (no Spark _SUCCESS/.crc side files in the partitions), beside
    # the staging state and the raw files' hash cache.
    names = {p.name for p in (remote.staged_dir / "wind").rglob("*") if p.is_file()}
    assert {n for n in names if not n.endswith(".parquet")} == {"_state.json", "_hashes.json"}
    # A re-run on Spark with no new raw files does nothing.
    assert (
        stage_product(remote, get_product("wind"), engine="spark", spark_session=spark).status == "unchanged"
    )
