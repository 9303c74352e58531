"""Raw versions are dated by the data a file holds (its produkt member's range), not counted back from today."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from weatherinsight.dwd.products import get_product
from weatherinsight.ingest import ingest_product
from weatherinsight.ingest.dating import file_data_range
from weatherinsight.mirror.layout import product_dir
from weatherinsight.mirror.server import MirrorHTTPServer
from weatherinsight.quarters import Quarter, quarters_between
from weatherinsight.settings import Settings
from weatherinsight.storage.raw import RawStore
from weatherinsight.warehouse import db
from weatherinsight.warehouse.tables import raw_files

DATA = Path(__file__).resolve().parents[1] / "data" / "dwd" / "air_temperature"
TU = get_product("air_temperature")


@pytest.fixture
def archive_server(tmp_path: Path) -> Iterator[MirrorHTTPServer]:
    """A mirror holding two real recent zips of 2019 and 2023 (served today, so Last-Modified is today)."""
    recent = product_dir(tmp_path / "archive", TU, "recent")
    recent.mkdir(parents=True)
    hamburg = DATA / "hamburg_01975_release_2019-09-05" / "stundenwerte_TU_01975_akt.zip"
    shutil.copy(hamburg, recent / hamburg.name)
    shutil.copy(
        DATA / "zeppr_00044" / "stundenwerte_TU_00044_akt.zip", recent / "stundenwerte_TU_00044_akt.zip"
    )
    product_dir(tmp_path / "archive", TU, "historical").mkdir(parents=True)
    server = MirrorHTTPServer(tmp_path / "archive").start()
    try:
        yield server
    finally:
        server.stop()


def test_recent_files_are_dated_by_their_produkt_member(
    archive_server: MirrorHTTPServer, mirror_settings_for: Callable[..., Settings]
) -> None:
    settings = mirror_settings_for(archive_server.base_url)
    result = ingest_product(settings, "air_temperature")
    assert (result.status, result.files_new, result.files_failed) == ("succeeded", 2, 0)
    # 01975: produkt_tu_stunde_20180304_20190904 → 2018Q1..2019Q3; 00044: 20210808_20230208 → 2021Q3..2023Q1
    expected = [
        f"{q}_raw_v1"
        for q in [
            *quarters_between(*_days("20180304", "20190904")),
            *quarters_between(*_days("20210808", "20230208")),
        ]
    ]
    assert result.raw_versions == expected
    assert len(expected) == 14 and expected[0] == "2018Q1_raw_v1" and expected[-1] == "2023Q1_raw_v1"
    store = RawStore.from_settings(settings)
    with db.get_engine(settings.database_url).connect() as conn:
        rows = [dict(r) for r in conn.execute(select(raw_files).order_by(raw_files.c.station_id)).mappings()]
    assert [file_data_range(store, TU.name, r) for r in rows] == [
        _days("20210808", "20230208"),
        _days("20180304", "20190904"),
    ]


def test_an_unreadable_stored_zip_is_dated_by_its_release_not_today(settings: Settings) -> None:
    store = RawStore.from_settings(settings)
    store.fs.makedirs(store.path(TU.name, "recent", "x").rsplit("/", 1)[0], exist_ok=True)
    store.fs.pipe_file(store.path(TU.name, "recent", "stundenwerte_TU_01975_akt.zip"), b"not a zip")
    row = {
        "file_name": "stundenwerte_TU_01975_akt.zip",
        "period": "recent",
        "last_modified": datetime(2019, 9, 5, 10, 0, tzinfo=UTC),
        "fetched_at": datetime(2026, 1, 1, tzinfo=UTC),
    }
    assert file_data_range(store, TU.name, row) == _days("20180303", "20190905")
    historical = {
        **row,
        "file_name": "stundenwerte_TU_00044_20070401_20211231_hist.zip",
        "period": "historical",
    }
    assert file_data_range(store, TU.name, historical) == _days("20070401", "20211231")
    assert Quarter(2019, 3) in quarters_between(*_days("20180303", "20190905"))


def _days(a: str, b: str) -> tuple[date, date]:
    return datetime.strptime(a, "%Y%m%d").date(), datetime.strptime(b, "%Y%m%d").date()
