"""Station location histories: all files' periods merged into one non-overlapping timeline per station
(``merge_locations``), in memory, on every real sample zip and in the table on SQLite and PostgreSQL."""

from __future__ import annotations

import zipfile
from datetime import date, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pyarrow as pa
from sqlalchemy import select

from weatherinsight.dwd.metadata import GEOGRAPHY_SCHEMA, parse_geography
from weatherinsight.warehouse import db
from weatherinsight.warehouse.stations import merge_locations, upsert_station_locations
from weatherinsight.warehouse.tables import station_locations as sl

DATA = Path(__file__).resolve().parents[1] / "data" / "dwd"


def _geo(*periods: tuple[date, date | None, float]) -> pa.Table:
    return pa.Table.from_pylist(
        [
            {
                "station_id": 1503,
                "height_m": h,
                "latitude": 53.5,
                "longitude": 8.1,
                "valid_from": vf,
                "valid_to": vt,
                "station_name": "Station 1503",
            }
            for vf, vt, h in periods
        ],
        schema=GEOGRAPHY_SCHEMA,
    )


# The shape of station 01503's history as the issue found it: one product's zip splits 1927–1960 at 1930,
# another lists 1927–1960 as one period.
DETAILED = _geo(
    (date(1927, 1, 1), date(1930, 6, 30), 9.0),
    (date(1930, 7, 1), date(1960, 12, 31), 12.0),
    (date(1961, 1, 1), None, 14.0),
)
COARSE = _geo((date(1927, 1, 1), date(1960, 12, 31), 12.0), (date(1961, 1, 1), None, 14.0))


def _periods(merged: dict[tuple[int, date], dict[str, Any]]) -> list[tuple[date, date | None, float]]:
    return [(r["valid_from"], r["valid_to"], r["height_m"]) for _, r in sorted(merged.items())]


def _assert_timeline(periods: list[tuple[date, date | None, Any]]) -> None:
    for (_, end, _), (start, _, _) in pairwise(periods):
        assert end is not None and end < start, f"overlap: period ending {end} and one starting {start}"


def test_finer_periods_survive_a_coarser_file_in_either_order() -> None:
    expected = [
        (date(1927, 1, 1), date(1930, 6, 30), 9.0),
        (date(1930, 7, 1), date(1960, 12, 31), 12.0),
        (date(1961, 1, 1), None, 14.0),
    ]
    assert _periods(merge_locations([DETAILED, COARSE])) == expected
    assert _periods(merge_locations([COARSE, DETAILED])) == expected


def test_a_nested_period_splits_the_enclosing_one_without_losing_days() -> None:
    merged = _periods(merge_locations([COARSE, _geo((date(1940, 1, 1), date(1940, 12, 31), 20.0))]))
    assert merged == [
        (date(1927, 1, 1), date(1939, 12, 31), 12.0),
        (date(1940, 1, 1), date(1940, 12, 31), 20.0),
        (date(1941, 1, 1), date(1960, 12, 31), 12.0),
        (date(1961, 1, 1), None, 14.0),
    ]


def _real_geographies() -> list[pa.Table]:
    tables = []
    for path in sorted(DATA.rglob("*.zip")):
        with zipfile.ZipFile(path) as z:
            for member in z.namelist():
                if member.startswith("Metadaten_Geographie"):
                    tables.append(parse_geography(z.read(member), file_name=f"{path.name}/{member}"))
    for path in sorted(DATA.rglob("Metadaten_Geographie_*.txt")):
        tables.append(parse_geography(path.read_bytes(), file_name=path.name))
    return tables


def test_every_real_sample_history_is_one_timeline_covering_every_listed_day() -> None:
    tables = _real_geographies()
    assert len(tables) >= 15
    merged = merge_locations(tables)
    by_station: dict[int, list[tuple[date, date | None, float]]] = {}
    for (sid, _), r in sorted(merged.items()):
        by_station.setdefault(sid, []).append((r["valid_from"], r["valid_to"], r["height_m"]))
    assert sorted(by_station) == [44, 96, 1975, 15444]
    for periods in by_station.values():
        _assert_timeline(periods)
    # every day some file lists is covered by exactly one merged period (probed at each input boundary)
    for t in tables:
        for row in t.to_pylist():
            for day in (row["valid_from"], row["valid_to"] or date(2030, 1, 1)):
                hits = [
                    p for p in by_station[row["station_id"]] if p[0] <= day and (p[1] is None or day <= p[1])
                ]
                assert len(hits) == 1, (row, day, hits)
    # Hamburg: the 2021 releases add 1936–1946 and revise 1946–1968 to 11.70 m (same span: the later file wins)
    assert by_station[1975] == [
        (date(1936, 1, 1), date(1946, 10, 31), 12.0),
        (date(1946, 11, 1), date(1968, 7, 11), 11.7),
        (date(1968, 7, 12), date(1995, 9, 4), 13.0),
        (date(1995, 9, 5), None, 14.05),
    ]
    # Großenkneten keeps DWD's 1949–1951 gap: no file places the station there, so neither do we
    assert [(p[0], p[1]) for p in by_station[44][:2]] == [
        (date(1945, 8, 1), date(1948, 12, 31)),
        (date(1952, 1, 1), date(1971, 2, 28)),
    ]


def test_table_holds_one_timeline_after_loads_from_coarse_then_detailed_files(db_url: str) -> None:
    engine = db.get_engine(db_url)
    db.ensure_schema(engine)
    with engine.begin() as conn:
        assert upsert_station_locations(conn, merge_locations([COARSE], source="coarse.zip")) == (2, 0)
    with engine.begin() as conn:
        # 1927 row shortened to 1930-06-30 (updated), 1930-07-01 row inserted, 1961 row unchanged
        assert upsert_station_locations(conn, merge_locations([DETAILED], source="detailed.zip")) == (1, 1)
    with engine.begin() as conn:  # the coarse file again changes nothing: the finer periods stay
        assert upsert_station_locations(conn, merge_locations([COARSE], source="coarse.zip")) == (0, 0)
    with engine.connect() as c:
        rows = c.execute(
            select(sl.c.valid_from, sl.c.valid_to, sl.c.height_m).order_by(sl.c.valid_from)
        ).all()
    assert [tuple(r) for r in rows] == [
        (date(1927, 1, 1), date(1930, 6, 30), 9.0),
        (date(1930, 7, 1), date(1960, 12, 31), 12.0),
        (date(1961, 1, 1), None, 14.0),
    ]
    _assert_timeline([tuple(r) for r in rows])
    assert timedelta(days=1) == rows[1][0] - rows[0][1]
