"""Precedence on hand-built Arrow tables (docs/design.md §5): historical owns its range, newest recent release wins."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pytest

from weatherinsight.dwd.products import get_product
from weatherinsight.errors import DwdFormatError
from weatherinsight.staging.precedence import SourceTable, apply_precedence, rank, split_by_quarter

TU = get_product("air_temperature")
T0 = datetime(2021, 12, 31, 18, tzinfo=UTC)


def table(hours: list[int], temp: float, *, qn: int = 3, station: int = 44) -> pa.Table:
    ts = [T0 + timedelta(hours=h) for h in hours]
    return pa.table(
        {
            "station_id": pa.array([station] * len(ts), pa.int32()),
            "ts": pa.array(ts, pa.timestamp("us", tz="UTC")),
            "qn": pa.array([qn] * len(ts), pa.int8()),
            "temperature": pa.array([temp + h for h in hours], pa.float64()),
            "relative_humidity": pa.array([None] * len(ts), pa.float64()),
        }
    )


def hours_of(t: pa.Table) -> list[int]:
    return [int((v - T0) / timedelta(hours=1)) for v in t.column("ts").to_pylist()]


def test_historical_owns_its_range_and_a_missing_hour_stays_missing() -> None:
    hist = SourceTable(
        table([0, 1, 2, 3, 4, 6, 7, 8, 9], 100.0), "historical", "h.zip", datetime(2022, 3, 30)
    )
    recent = SourceTable(table(list(range(3, 15)), 200.0, qn=1), "recent", "r.zip", datetime(2023, 2, 9))
    merged, claims = apply_precedence([recent, hist], TU)
    assert hours_of(merged) == [0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 11, 12, 13, 14]  # hour 5 is not refilled
    assert merged.column("source_period").to_pylist() == ["historical"] * 9 + ["recent"] * 5
    assert merged.column("temperature").to_pylist()[:9] == [100.0, 101, 102, 103, 104, 106, 107, 108, 109]
    assert merged.column("temperature").to_pylist()[9:] == [210.0, 211, 212, 213, 214]
    assert merged.column("source_file").to_pylist() == ["h.zip"] * 9 + ["r.zip"] * 5
    assert [(c.source_file, c.rows_kept, c.rows_dropped) for c in claims] == [
        ("h.zip", 9, 0),
        ("r.zip", 5, 7),
    ]
    assert merged.schema == TU.staged_memory_schema


def test_newest_recent_release_wins_and_older_only_fills_before_it() -> None:
    old = SourceTable(table(list(range(0, 11)), 10.0, qn=1), "recent", "a.zip", datetime(2021, 8, 27, 8))
    new = SourceTable(
        table([5, 6, 7, 9, 10, 11, 12], 50.0, qn=3), "recent", "a.zip", datetime(2021, 9, 19, 8)
    )
    merged, _ = apply_precedence([old, new], TU)
    assert hours_of(merged) == [0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12]  # hour 8 lacks in the newest: missing
    assert merged.column("qn").to_pylist() == [1] * 5 + [3] * 7
    assert merged.column("temperature").to_pylist() == [10.0, 11, 12, 13, 14, 55, 56, 57, 59, 60, 61, 62]


def test_rank_orders_historical_first_then_newest_release() -> None:
    a = SourceTable(table([0], 0), "recent", "a", datetime(2021, 1, 1))
    b = SourceTable(table([0], 0), "recent", "b", datetime(2022, 1, 1))
    h1 = SourceTable(table([0], 0), "historical", "h1", datetime(2020, 3, 1))
    h2 = SourceTable(table([0], 0), "historical", "h2", datetime(2021, 3, 1))
    assert [s.source_file for s in rank([a, b, h1, h2])] == ["h2", "h1", "b", "a"]


def test_a_repeated_hour_inside_one_file_is_an_error() -> None:
    dup = SourceTable(table([0, 1, 1, 2], 0), "recent", "dup.zip", datetime(2021, 1, 1))
    with pytest.raises(DwdFormatError, match=r"dup\.zip.*2021-12-31 19:00 UTC appears twice"):
        apply_precedence([dup], TU)


def test_empty_input_gives_an_empty_staged_table() -> None:
    merged, claims = apply_precedence([SourceTable(table([], 0), "recent", "e.zip", None)], TU)
    assert merged.num_rows == 0 and claims == [] and merged.schema == TU.staged_memory_schema


def test_split_by_quarter_cuts_at_utc_quarter_starts() -> None:
    merged, _ = apply_precedence([SourceTable(table(list(range(0, 10)), 0), "recent", "r", None)], TU)
    pieces = split_by_quarter(merged)  # 2021-12-31 18:00 .. 2022-01-01 03:00
    assert [(y, q, p.num_rows) for y, q, p in pieces] == [(2021, 4, 6), (2022, 1, 4)]
    assert pieces[1][2].column("ts")[0].as_py() == datetime(2022, 1, 1, tzinfo=UTC)
