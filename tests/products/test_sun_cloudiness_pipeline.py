"""The two new products through the real pipeline on the simulated archive: mirror → ingest → stage →
aggregate, with the mirror's physics checked on the staged rows (sunshine 0 at night and ≤ 60 min, cloud
cover okta 0..8 with its P/I letter) and the published features checked against the staged rows."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from weatherinsight import pipeline
from weatherinsight.aggregate import staged_files
from weatherinsight.features.sun import possible_sunshine_hours
from weatherinsight.mirror.server import MirrorHTTPServer
from weatherinsight.mirror.simulate import build_mirror
from weatherinsight.quarters import Quarter
from weatherinsight.settings import Settings
from weatherinsight.warehouse import db, lineage
from weatherinsight.warehouse.stations import latitudes_on

QUARTER = Quarter(2024, 2)
NEW = ["sun", "cloudiness"]


@pytest.mark.slow
def test_sun_and_cloudiness_flow_through_the_pipeline(
    tmp_path: Path, mirror_settings_for: Callable[..., Settings]
) -> None:
    root = tmp_path / "mirror"
    build_mirror(root, stations=3, years=1, seed=11, today=date(2025, 2, 10), products=tuple(NEW), workers=1)
    server = MirrorHTTPServer(root).start()
    try:
        settings = mirror_settings_for(server.base_url, product_types=NEW)
        report = pipeline.run_quarter(settings, QUARTER, products=NEW)
    finally:
        server.stop()
    assert report.ok, report

    sun = pq.read_table(staged_files(settings, "sun", QUARTER)).to_pylist()
    minutes = [r["sunshine_duration"] for r in sun if r["sunshine_duration"] is not None]
    assert min(minutes) == 0.0 and max(minutes) <= 60.0
    # at 02 UTC (01–02 UTC) the sun is below the horizon everywhere in Germany, in every season
    assert {r["sunshine_duration"] for r in sun if r["ts"].hour == 2} <= {0.0, None}
    cloud = pq.read_table(staged_files(settings, "cloudiness", QUARTER)).to_pylist()
    assert {r["cloud_cover"] for r in cloud} - {None} <= set(range(9))
    assert {r["cloud_cover_method"] for r in cloud} - {None} == {"I"}  # instruments since 2010

    engine = db.get_engine(settings.database_url)
    with engine.connect() as conn:
        published_sun = lineage.read_published(conn, "sun", QUARTER)
        published_cloud = lineage.read_published(conn, "cloudiness", QUARTER)
        lat = latitudes_on(conn, date(2024, 6, 30))
    assert len(published_sun) == len(published_cloud) == 3
    for row in published_sun:
        sid = row["station_id"]
        days: dict[date, list[float]] = {}
        for r in sun:
            if r["station_id"] == sid and r["sunshine_duration"] is not None:
                days.setdefault(r["ts"].date(), []).append(r["sunshine_duration"])
        valid = {d: sum(m) / 60 for d, m in days.items() if len(m) >= 15}
        assert row["days_valid"] == len(valid)
        if len(valid) < math.ceil(0.8 * 91):
            assert row["sunshine_hours"] is None
            continue
        assert row["sunshine_hours"] == pytest.approx(sum(valid.values()), abs=1e-6)
        assert row["sunny_days"] == sum(v >= 8 for v in valid.values())
        assert row["dull_days"] == sum(v < 1 for v in valid.values())
        possible = sum(possible_sunshine_hours(lat[sid], d) for d in valid)
        assert row["possible_sunshine_hours"] == pytest.approx(possible, abs=1e-6)
        assert 0.2 < row["sunshine_share"] < 0.8
    for row in published_cloud:
        covers = [
            r["cloud_cover"]
            for r in cloud
            if r["station_id"] == row["station_id"] and r["cloud_cover"] is not None and r["cloud_cover"] >= 0
        ]
        if len(covers) >= math.ceil(0.8 * QUARTER.hours):
            assert row["cloud_cover_mean"] == pytest.approx(sum(covers) / len(covers), rel=1e-12)
        assert row["sky_obscured_hours"] in (0, None)
