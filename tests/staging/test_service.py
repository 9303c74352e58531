"""Staging real DWD files end to end (DuckDB path): precedence, one row per hour, partitions, versions, stations."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from sqlalchemy import func, select

from tests.staging.conftest import (
    TU_AKT_00044,
    TU_HIST_00044,
    TU_LIST,
    build_tu_store,
    build_wind_store,
    fresh_settings,
    release,
)
from weatherinsight.dwd.products import get_product
from weatherinsight.dwd.produkt_zip import read_produkt_zip
from weatherinsight.quarters import Quarter
from weatherinsight.settings import Settings
from weatherinsight.staging import StageResult, stage_product
from weatherinsight.storage.staged import list_partitions, staged_dataset
from weatherinsight.vocabulary import Status
from weatherinsight.warehouse import db
from weatherinsight.warehouse.tables import dataset_versions, station_locations, station_metadata


def parsed(path: Path, name: str) -> pa.Table:
    return read_produkt_zip(path.read_bytes(), file_name=name).table


@pytest.fixture(scope="module")
def tu_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, StageResult]]:
    settings = build_tu_store(fresh_settings(tmp_path_factory.mktemp("tu") / "data"))
    yield settings, stage_product(settings, get_product("air_temperature"))
    db.dispose_engines()


def staged(settings: Settings, product: str) -> pa.Table:
    t = staged_dataset(settings.staged_dir, product).to_table()
    return t.sort_by([("station_id", "ascending"), ("ts", "ascending")])


def test_00044_historical_and_recent_give_exactly_one_row_per_hour(
    tu_run: tuple[Settings, StageResult],
) -> None:
    settings, result = tu_run
    assert result.status == Status.SUCCEEDED and result.quarantined == []
    hist = parsed(TU_HIST_00044, TU_HIST_00044.name)
    akt = parsed(TU_AKT_00044, TU_AKT_00044.name)
    hist_last = pc.max(hist.column("ts"))
    overlap = akt.filter(pc.less_equal(akt.column("ts"), hist_last))
    assert overlap.num_rows == 3504  # FORMAT §3: 2021-08-08 .. 2021-12-31
    rows = staged(settings, "air_temperature").filter(pc.equal(pc.field("station_id"), 44))
    after = akt.num_rows - overlap.num_rows
    assert rows.num_rows == hist.num_rows + after == 128547 + 9696
    assert pc.count_distinct(rows.column("ts")).as_py() == rows.num_rows
    src = rows.column("source_period").to_pylist()
    assert src.count("historical") == hist.num_rows and src.count("recent") == after
    # Inside the historical range every value is the historical file's; after it, the recent file's.
    in_hist = rows.filter(pc.equal(pc.field("source_period"), "historical"))
    assert in_hist.select(["ts", "qn", "temperature", "relative_humidity"]).equals(
        hist.select(["ts", "qn", "temperature", "relative_humidity"])
    )
    assert set(rows.column("source_file").to_pylist()) == {TU_HIST_00044.name, TU_AKT_00044.name}


def test_partitions_follow_the_layout_and_cover_every_row(tu_run: tuple[Settings, StageResult]) -> None:
    settings, result = tu_run
    quarters = list_partitions(settings.staged_dir, "air_temperature")
    assert quarters[0] == Quarter(2007, 2) and quarters[-1] == Quarter(2023, 1)
    assert len(quarters) == len(result.quarters_written) == 64
    assert (
        settings.staged_dir / "air_temperature" / "year=2021" / "quarter=3" / "part-00000.parquet"
    ).is_file()
    t = staged_dataset(settings.staged_dir, "air_temperature").to_table()
    assert t.num_rows == result.rows_written
    # Every row sits in the partition of its UTC quarter.
    ts = t.column("ts").to_pylist()
    years, qs = t.column("year").to_pylist(), t.column("quarter").to_pylist()
    assert all(Quarter.of(v) == Quarter(y, q) for v, y, q in zip(ts, years, qs, strict=True))
    assert not (settings.staged_dir / ".tmp" / "air_temperature").exists()


def test_hamburg_later_tu_release_wins_in_its_range(tu_run: tuple[Settings, StageResult]) -> None:
    settings, _ = tu_run
    later = parsed(release("air_temperature", "TU", "2021-09-19"), "stundenwerte_TU_01975_akt.zip")
    earlier = parsed(release("air_temperature", "TU", "2021-08-27"), "stundenwerte_TU_01975_akt.zip")
    rows = staged(settings, "air_temperature").filter(pc.equal(pc.field("station_id"), 1975))
    first = pc.min(later.column("ts"))
    mine = rows.filter(pc.greater_equal(pc.field("ts"), first))
    assert mine.select(["ts", "qn", "temperature", "relative_humidity"]).equals(
        later.select(["ts", "qn", "temperature", "relative_humidity"])
    )
    before = rows.filter(pc.less(pc.field("ts"), first))
    expected_before = earlier.filter(pc.less(pc.field("ts"), first))
    assert (
        before.num_rows == expected_before.num_rows == 552
    )  # 2020-02-24 .. 2020-03-17 from the older release
    assert rows.num_rows == later.num_rows + 552


def test_versions_and_station_tables_are_recorded(tu_run: tuple[Settings, StageResult]) -> None:
    settings, result = tu_run
    engine = db.get_engine(settings.database_url)
    with engine.connect() as conn:
        versions = conn.execute(
            select(
                dataset_versions.c.version_name, dataset_versions.c.status, dataset_versions.c.row_count
            ).where(
                dataset_versions.c.kind == "staged",
                dataset_versions.c.year == 2021,
                dataset_versions.c.quarter == 4,
            )
        ).all()
        n_versions = conn.execute(select(func.count()).select_from(dataset_versions)).scalar_one()
        n_meta = conn.execute(select(func.count()).select_from(station_metadata)).scalar_one()
        locs = conn.execute(
            select(station_locations.c.valid_from, station_locations.c.valid_to, station_locations.c.latitude)
            .where(station_locations.c.station_id == 44)
            .order_by(station_locations.c.valid_from)
        ).all()
        hh = conn.execute(select(station_metadata).where(station_metadata.c.station_id == 1975)).one()
    assert versions == [("2021Q4_staged_v1", "AVAILABLE", result.rows_by_quarter["2021Q4"])]
    assert result.versions["2021Q4"] == "2021Q4_staged_v1"
    assert n_versions == 64
    assert n_meta == 660 == result.station_rows  # the TU list of 2023-02
    assert [(str(a), str(b) if b else None, lat) for a, b, lat in locs] == [
        ("1945-08-01", "1948-12-31", 52.89),
        ("1952-01-01", "1971-02-28", 52.89),
        ("1971-03-01", "1993-06-30", 52.8846),
        ("1993-07-01", "2007-03-31", 52.9164),
        ("2007-04-01", None, 52.9336),
    ]
    assert (hh.name, hh.state, hh.product) == ("Hamburg-Fuhlsbüttel", "Hamburg", "air_temperature")


def test_hamburg_wind_releases_later_qn_and_revised_value(settings: Settings) -> None:
    build_wind_store(settings)
    result = stage_product(settings, get_product("wind"))
    assert result.status == Status.SUCCEEDED and result.quarantined == []
    rows = staged(settings, "wind")
    at = rows.filter(
        pc.equal(pc.field("ts"), pa.scalar(datetime(2021, 8, 18, 9, tzinfo=UTC), pa.timestamp("us", "UTC")))
    )
    assert at.to_pylist()[0]["wind_speed"] == 5.9  # 6.0 in the 2021-08-27 release
    later = parsed(release("wind", "FF", "2021-09-19"), "stundenwerte_FF_01975_akt.zip")
    earlier = parsed(release("wind", "FF", "2021-08-27"), "stundenwerte_FF_01975_akt.zip")
    both = rows.join(earlier, ["station_id", "ts"], join_type="inner", right_suffix="_old")
    changed = both.filter(pc.not_equal(pc.field("qn"), pc.field("qn_old")))
    assert changed.num_rows == 1296  # QN 1→3 on 552 h and 3→10 on 744 h (FORMAT §3)
    assert pc.count_distinct(rows.column("ts")).as_py() == rows.num_rows == later.num_rows + 552


def test_station_loads_are_idempotent(tu_run: tuple[Settings, StageResult]) -> None:
    from weatherinsight.warehouse.stations import load_stations

    settings, _ = tu_run
    # The same inputs as the staging run, in its order (historical before recent: the newer zip wins ties).
    geos = [
        read_produkt_zip(p.read_bytes(), file_name=p.name).geography for p in (TU_HIST_00044, TU_AKT_00044)
    ]
    assert all(g is not None for g in geos)
    engine = db.get_engine(settings.database_url)

    def counts() -> tuple[int, int]:
        with engine.connect() as conn:
            return (
                conn.execute(select(func.count()).select_from(station_metadata)).scalar_one(),
                conn.execute(select(func.count()).select_from(station_locations)).scalar_one(),
            )

    before = counts()
    for _ in range(2):
        with engine.begin() as conn:
            again = load_stations(
                conn,
                "air_temperature",
                station_lists=[("TU_Stundenwerte_Beschreibung_Stationen.txt", TU_LIST.read_bytes())],
                geography=[g for g in geos if g is not None],
            )
        assert (again.metadata_inserted, again.metadata_updated) == (0, 0)
        assert (again.locations_inserted, again.locations_updated) == (0, 0)
    assert counts() == before == (660, 9)  # 00044: 5 location periods, 01975: 4
