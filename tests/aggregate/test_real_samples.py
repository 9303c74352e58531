"""Real DWD files → staged rows (the parser) → aggregate_quarter → curated rows, checked against quarterly
values computed independently here in plain Python by the docs/design.md §5 rules."""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from tests.conftest import DATA
from weatherinsight.aggregate import aggregate_quarter
from weatherinsight.dwd.products import get_product
from weatherinsight.dwd.produkt_zip import read_produkt_zip
from weatherinsight.quarters import Quarter
from weatherinsight.settings import Settings
from weatherinsight.warehouse import db, lineage

SAMPLES = DATA / "dwd"


def staged_quarter(product: str, rel: str, quarter: Quarter) -> pa.Table:
    """Parse one real zip and keep the quarter's rows, in the staged schema (one recent file: no precedence)."""
    path = SAMPLES / rel
    t = read_produkt_zip(path.read_bytes(), file_name=path.name).table
    t = t.filter(pc.and_(pc.greater_equal(t["ts"], quarter.start), pc.less(t["ts"], quarter.end)))
    t = t.append_column("source_period", pa.array(["recent"] * t.num_rows))
    t = t.append_column("source_file", pa.array([path.name] * t.num_rows))
    return t.cast(get_product(product).staged_schema)


def publish(settings: Settings, product: str, table: pa.Table, quarter: Quarter) -> dict[str, Any]:
    from tests.features.staged_rows import write_parquet
    from weatherinsight.storage.staged import partition_dir

    write_parquet(table, partition_dir(Path(settings.staged_dir), product, quarter) / "part-00000.parquet")
    aggregate_quarter(settings, product, quarter)
    with db.get_engine(settings.database_url).connect() as conn:
        (row,) = lineage.read_published(conn, product, quarter)
    return row


def by_day(pairs: list[tuple[datetime, float]]) -> dict[Any, list[float]]:
    days: dict[Any, list[float]] = defaultdict(list)
    for ts, v in pairs:
        days[ts.date()].append(v)
    return {d: vs for d, vs in days.items() if len(vs) >= 20}


def test_pressure_00096_2022q2(settings: Settings) -> None:
    q = Quarter(2022, 2)
    t = staged_quarter("pressure", "pressure/zeppr_00096/stundenwerte_P0_00096_akt.zip", q)
    row = publish(settings, "pressure", t, q)
    recs = t.to_pylist()
    p = {r["ts"]: r["pressure_sea_level"] for r in recs if r["pressure_sea_level"] is not None}
    p0 = [r["pressure_station"] for r in recs if r["pressure_station"] is not None]
    assert len(p0) - len(p) == 16  # FORMAT §2.5: 16 hours with P = -999 but P0 valid, all in this quarter
    assert row["hours_expected"] == 2184 and row["hours_valid"] == len(p)
    assert row["coverage"] == pytest.approx(len(p) / 2184, rel=1e-12)
    vals = list(p.values())
    assert row["pmsl_mean"] == pytest.approx(sum(vals) / len(vals), rel=1e-12)
    assert row["p_station_mean"] == pytest.approx(sum(p0) / len(p0), rel=1e-12)
    mean = sum(vals) / len(vals)
    assert row["pmsl_std"] == pytest.approx(
        math.sqrt(sum((v - mean) ** 2 for v in vals) / (len(vals) - 1)), rel=1e-9
    )
    assert (row["pmsl_min"], row["pmsl_max"]) == (min(vals), max(vals))
    from datetime import timedelta

    drops = [p[ts - timedelta(hours=24)] - v for ts, v in p.items() if ts - timedelta(hours=24) in p]
    assert row["pmsl_max_drop_24h"] == pytest.approx(max(drops), rel=1e-12)
    assert row["low_pressure_hours"] == sum(v < 1000 for v in vals)
    assert row["high_pressure_hours"] == sum(v > 1025 for v in vals)
    days = by_day(list(p.items()))
    assert row["days_valid"] == len(days)
    ranges = [round(max(vs), 9) - round(min(vs), 9) for vs in days.values()]
    assert row["pmsl_daily_range_mean"] == pytest.approx(sum(ranges) / len(ranges), rel=1e-12)


def test_wind_01975_2018q2(settings: Settings) -> None:
    q = Quarter(2018, 2)
    rel = "wind/hamburg_01975_release_2019-09-05/stundenwerte_FF_01975_akt.zip"
    t = staged_quarter("wind", rel, q)
    row = publish(settings, "wind", t, q)
    recs = t.to_pylist()
    f = [r["wind_speed"] for r in recs if r["wind_speed"] is not None]
    assert len(recs) - len(f) > 0  # F = -999 while D is valid happens in this quarter (FORMAT §2.4)
    assert row["hours_valid"] == len(f)
    assert row["wind_speed_mean"] == pytest.approx(sum(f) / len(f), rel=1e-12)
    fs = sorted(f)
    pos = 0.9 * (len(fs) - 1)
    lo = math.floor(pos)
    assert row["wind_speed_p90"] == pytest.approx(fs[lo] + (pos - lo) * (fs[lo + 1] - fs[lo]), abs=1e-9)
    assert row["calm_hours"] == sum(v < 0.5 for v in f)
    moving = [r["wind_direction"] for r in recs if r["wind_speed"] is not None and r["wind_speed"] >= 0.5]
    u = sum(math.sin(math.radians(d)) for d in moving) / len(moving)
    v = sum(math.cos(math.radians(d)) for d in moving) / len(moving)
    assert row["wind_dir_mean"] == pytest.approx(math.degrees(math.atan2(u, v)) % 360.0, abs=1e-9)
    assert row["wind_dir_steadiness"] == pytest.approx(math.hypot(u, v), rel=1e-9)
    counts = [0] * 8
    for d in moving:
        counts[int(((d + 22.5) % 360) // 45)] += 1
    assert row["dominant_sector"] == ["N", "NE", "E", "SE", "S", "SW", "W", "NW"][counts.index(max(counts))]
    days = by_day([(r["ts"], r["wind_speed"]) for r in recs if r["wind_speed"] is not None])
    assert row["days_valid"] == len(days)
    assert row["windy_days"] == sum(round(sum(vs) / len(vs), 9) >= 10.8 for vs in days.values())


def test_temperature_01975_2018q4(settings: Settings) -> None:
    q = Quarter(2018, 4)
    rel = "air_temperature/hamburg_01975_release_2019-09-05/stundenwerte_TU_01975_akt.zip"
    t = staged_quarter("air_temperature", rel, q)
    row = publish(settings, "air_temperature", t, q)
    recs = t.to_pylist()
    days = by_day([(r["ts"], r["temperature"]) for r in recs if r["temperature"] is not None])
    assert (row["hours_expected"], row["days_valid"]) == (2208, len(days))
    tg = [round(sum(vs) / len(vs), 9) for vs in days.values()]
    tx = [round(max(vs), 9) for vs in days.values()]
    tn = [round(min(vs), 9) for vs in days.values()]
    assert row["tg_mean"] == pytest.approx(sum(tg) / len(tg), rel=1e-12)
    assert (row["txx"], row["tnn"]) == (max(tx), min(tn))
    assert row["frost_days"] == sum(v < 0 for v in tn)
    assert row["ice_days"] == sum(v < 0 for v in tx)
    assert row["heating_degree_days"] == pytest.approx(sum(20 - v for v in tg if v < 15), rel=1e-12)
    assert row["growing_degree_days"] == pytest.approx(sum(max(v - 5, 0) for v in tg), rel=1e-12)
    assert (row["qn_min"], row["qn_max"]) == (
        min(r["qn"] for r in recs),
        max(r["qn"] for r in recs),
    )
    assert row["share_recent"] == 1.0
