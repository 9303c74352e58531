"""The DuckDB engine's memory bound (``duckdb.memory_limit``): the size DuckDB is given, that a bounded
aggregation computes exactly what an unbounded one does, and that a bound too small for DuckDB's operators that
cannot spill is lifted (logged) instead of failing the aggregation."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from structlog.testing import capture_logs

from weatherinsight.dwd.products import get_product
from weatherinsight.engines import duckdb as duck
from weatherinsight.engines.duckdb import compute, duckdb_memory
from weatherinsight.features.common import Rules
from weatherinsight.periods import Period
from weatherinsight.settings import load_settings


@pytest.mark.parametrize(
    ("size", "duck"),
    [
        ("256m", "256MiB"),
        ("1g", "1GiB"),
        ("512mb", "512MiB"),
        ("2GB", "2GiB"),
        ("64K", "64KiB"),
        ("4096", "4096B"),
    ],
)
def test_settings_sizes_become_duckdb_sizes(size: str, duck: str) -> None:
    assert duckdb_memory(size) == duck
    con = duckdb.connect()
    con.execute(f"SET memory_limit = '{duck}'")  # DuckDB accepts what we hand it
    con.close()


def _year_of_moisture(tmp_path: Path, stations: int = 20) -> tuple[pa.Table, Rules, int]:
    """A year of staged moisture hours for ``stations`` stations (deterministic values, quality 3)."""
    schema = get_product("moisture").staged_schema
    period = Period.parse("2024")
    cols: dict[str, list[object]] = {f.name: [] for f in schema}
    for s in range(stations):
        for h in range(period.hours):
            for f in schema:
                if f.name == "station_id":
                    cols[f.name].append(1000 + s)
                elif f.name == "ts":
                    cols[f.name].append(period.start + timedelta(hours=h))
                elif pa.types.is_floating(f.type):
                    cols[f.name].append(float((h * 7 + s * 3) % 97) / 3)
                elif pa.types.is_integer(f.type):
                    cols[f.name].append(3)
                else:
                    cols[f.name].append("historical" if "period" in f.name else "x.zip")
    table = pa.table({k: pa.array(v, type=schema.field(k).type) for k, v in cols.items()}, schema=schema)
    rules = Rules.from_config(period, load_settings(data_dir=tmp_path / "d").features)
    return table, rules, stations


def _assert_same(free: pa.Table, bounded: pa.Table) -> None:
    """Equal row for row; doubles to 1e-12 (DuckDB's parallel SUM adds in no fixed order)."""
    assert bounded.schema == free.schema
    assert bounded.num_rows == free.num_rows
    for name in free.column_names:
        for x, y in zip(free.column(name).to_pylist(), bounded.column(name).to_pylist(), strict=True):
            if isinstance(x, float) and isinstance(y, float):
                assert y == pytest.approx(x, rel=1e-12), name
            else:
                assert x == y, name


def test_a_bounded_aggregation_equals_the_unbounded_one(tmp_path: Path) -> None:
    table, rules, n = _year_of_moisture(tmp_path)
    free = compute(table, "moisture", rules)
    spill = tmp_path / "spill"
    bounded = compute(table, "moisture", rules, memory_limit="64m", spill_dir=spill)
    assert spill.is_dir()
    assert free.num_rows == n
    _assert_same(free, bounded)


def test_an_aggregation_out_of_its_bound_runs_again_unbounded(tmp_path: Path) -> None:
    table, rules, n = _year_of_moisture(tmp_path)
    free = compute(table, "moisture", rules)
    with capture_logs() as logs:
        bounded = compute(table, "moisture", rules, memory_limit="1k", spill_dir=tmp_path / "spill")
    events = [e for e in logs if e["event"] == "duckdb_memory_limit_exceeded"]
    assert len(events) == 1
    assert (events[0]["memory_limit"], events[0]["period"], events[0]["product"]) == (
        "1k",
        "2024",
        "moisture",
    )
    assert bounded.num_rows == n
    _assert_same(free, bounded)


def test_threads_setting_is_what_the_connection_runs_with_and_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ibis

    seen: list[int] = []
    connect = ibis.duckdb.connect

    def spy(*args: object, **kwargs: object) -> object:
        con = connect(*args, **kwargs)
        disconnect = con.disconnect

        def record_then_disconnect() -> None:
            seen.append(int(con.con.execute("SELECT current_setting('threads')").fetchone()[0]))
            disconnect()

        con.disconnect = record_then_disconnect  # type: ignore[method-assign]
        return con

    monkeypatch.setattr(ibis.duckdb, "connect", spy)
    monkeypatch.setattr("os.cpu_count", lambda: 4)
    table, rules, n = _year_of_moisture(tmp_path)
    free = compute(table, "moisture", rules, threads=2)
    one = compute(table, "moisture", rules, threads=1)
    alone = compute(table, "moisture", rules)  # nothing else running: every core
    with duck._counted(), duck._counted(), duck._counted():  # three others running: 4 cores // 4
        beside = compute(table, "moisture", rules)
    assert seen == [2, 1, 4, 1]
    assert duck._running == 0
    for other in (one, alone, beside):
        assert other.num_rows == n
        _assert_same(free, other)


@pytest.mark.parametrize(
    ("cores", "running", "expected"), [(2, 1, 2), (2, 2, 1), (2, 3, 1), (8, 3, 2), (1, 1, 1)]
)
def test_auto_threads_share_the_cores_among_running_aggregations(
    monkeypatch: pytest.MonkeyPatch, cores: int, running: int, expected: int
) -> None:
    monkeypatch.setattr("os.cpu_count", lambda: cores)
    assert duck.auto_threads(running) == expected
