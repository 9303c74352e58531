"""``stage_daily`` streams station by station and skips a run whose inputs did not change (issue #19).

With the real Lahr KL file (and a second station made from its last quarter): the staged rows equal the
all-stations merge; a re-run opens no zip and returns the same versions; a new file, a deleted partition, a
quarter never staged or a garbled state file each lead to a parse, publishing exactly what changed; a
quarantined file is reported again on a skipped run.
"""

from __future__ import annotations

import shutil
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from tests.staging.conftest import put
from weatherinsight.dwd.daily import parse_daily_produkt
from weatherinsight.dwd.products import DAILY_KL, Product
from weatherinsight.quarters import Quarter
from weatherinsight.settings import Settings
from weatherinsight.staging import daily, stage_daily
from weatherinsight.staging.daily_state import daily_state_path
from weatherinsight.storage.staged import partition_dir, read_partition

KL = Path(__file__).resolve().parents[1] / "data" / "dwd" / "lahr_02812_daily_and_hourly"
MEMBER = "produkt_klima_tag_19500101_20181231_02812.txt"
HIST = "tageswerte_KL_02812_19500101_20181231_hist.zip"
Q3, Q4 = Quarter(2018, 3), Quarter(2018, 4)


def _zip(settings: Settings, member: str, text: bytes, name: str, period: str) -> None:
    blob = Path(settings.data_dir) / f"{name}.tmp"
    with zipfile.ZipFile(blob, "w") as zf:
        zf.writestr(member, text)
    put(settings, "daily_climate", period, blob, name)


def _lahr(settings: Settings) -> None:
    _zip(settings, MEMBER, (KL / MEMBER).read_bytes(), HIST, "historical")


def _second_station(settings: Settings) -> None:
    """Station 4711: Lahr's rows of 2018Q4 only, as a recent file."""
    lines = (KL / MEMBER).read_bytes().splitlines(keepends=True)
    rows = [ln.replace(b"2812;", b"4711;", 1) for ln in lines[1:] if b";201810" in ln or b";201811" in ln]
    name = DAILY_KL.recent_zip_name(4711)
    _zip(
        settings, "produkt_klima_tag_20181001_20181130_04711.txt", b"".join([lines[0], *rows]), name, "recent"
    )


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The zips ``stage_daily`` opens (the real reader, counted)."""
    names: list[str] = []
    real = daily.SafeZip

    def counting(data: bytes, *, file_name: str, max_uncompressed_bytes: int) -> daily.SafeZip:
        names.append(file_name)
        return real(data, file_name=file_name, max_uncompressed_bytes=max_uncompressed_bytes)

    monkeypatch.setattr(daily, "SafeZip", counting)
    return names


def _parts(settings: Settings, quarters: list[Quarter]) -> dict[Quarter, pa.Table]:
    return {q: read_partition(settings.staged_dir, "daily_climate", q) for q in quarters}


def test_streamed_rows_equal_the_merge_of_all_stations(settings: Settings) -> None:
    _lahr(settings)
    _second_station(settings)
    result = stage_daily(settings, quarters=[Q3, Q4])
    assert result.rows_by_quarter == {"2018Q3": 92, "2018Q4": 92 + 61}
    tables = []
    for sid, path in ((2812, KL / MEMBER), (4711, None)):
        if path is None:
            with zipfile.ZipFile(
                Path(settings.raw_store_url) / "dwd/daily_climate/recent" / DAILY_KL.recent_zip_name(4711)
            ) as zf:
                t = parse_daily_produkt(zf.read(zf.namelist()[0]), file_name="x")
            period, name = "recent", DAILY_KL.recent_zip_name(4711)
        else:
            t = parse_daily_produkt(path.read_bytes(), file_name=MEMBER)
            period, name = "historical", HIST
        n = t.num_rows
        t = t.append_column("source_period", pa.array([period] * n)).append_column(
            "source_file", pa.array([name] * n)
        )
        tables.append(daily.merge_station([t]))
        assert t.column("station_id")[0].as_py() == sid
    merged = pa.concat_tables(tables)
    for q, part in _parts(settings, [Q3, Q4]).items():
        in_q = pc.and_(
            pc.greater_equal(merged["date"], q.start.date()), pc.less(merged["date"], q.end.date())
        )
        want = merged.filter(in_q).sort_by([("station_id", "ascending"), ("date", "ascending")])
        assert part.equals(want.cast(DAILY_KL.staged_schema)), q


def test_a_rerun_opens_no_zip_and_a_change_publishes_only_what_changed(
    settings: Settings, opened: list[str]
) -> None:
    _lahr(settings)
    put(settings, "daily_climate", "recent", b"not a zip", DAILY_KL.recent_zip_name(1))
    first = stage_daily(settings, quarters=[Q3, Q4])
    assert first.versions == {"2018Q3": "2018Q3_staged_v1", "2018Q4": "2018Q4_staged_v1"}
    assert len(opened) == 2 and len(first.quarantined) == 1
    before = _parts(settings, [Q3, Q4])

    opened.clear()
    again = stage_daily(settings, quarters=[Q3, Q4])
    assert (opened, again.files_parsed, again.rows_by_quarter) == ([], 0, {})
    assert (again.versions, sorted(again.unchanged)) == (first.versions, ["2018Q3", "2018Q4"])
    assert again.quarantined == first.quarantined  # still quarantined, reported as a full run would

    _second_station(settings)  # a new station with rows in 2018Q4 only
    third = stage_daily(settings, quarters=[Q3, Q4])
    assert len(opened) == 3 and third.files_parsed == 2
    assert third.versions == {"2018Q3": "2018Q3_staged_v1", "2018Q4": "2018Q4_staged_v2"}
    assert (third.unchanged, third.rows_by_quarter) == (["2018Q3"], {"2018Q4": 92 + 61})

    opened.clear()
    assert stage_daily(settings, quarters=[Q3, Q4]).files_parsed == 0 and opened == []

    shutil.rmtree(partition_dir(settings.staged_dir, "daily_climate", Q3))  # removed by hand: rebuilt
    rebuilt = stage_daily(settings, quarters=[Q3, Q4])
    assert rebuilt.files_parsed == 2 and rebuilt.rows_by_quarter == {"2018Q3": 92}
    assert rebuilt.versions == {"2018Q3": "2018Q3_staged_v2", "2018Q4": "2018Q4_staged_v2"}
    assert _parts(settings, [Q3])[Q3].equals(before[Q3])

    opened.clear()
    never = stage_daily(settings, quarters=[Quarter(2018, 2)])  # never staged: parsed, then published
    assert never.files_parsed == 2 and never.versions == {"2018Q2": "2018Q2_staged_v1"}


@pytest.mark.parametrize("garbage", ["{not json", '{"format": 1, "inputs": 3}', '{"format": 99}', "", None])
def test_a_garbled_state_file_means_a_full_parse_with_the_same_output(
    settings: Settings, opened: list[str], garbage: str | None
) -> None:
    """None: the file deleted, as docs/runbook.md says is safe (one full parse, nothing republished)."""
    _lahr(settings)
    _second_station(settings)
    first = stage_daily(settings, quarters=[Q3, Q4])
    before = _parts(settings, [Q3, Q4])
    state = daily_state_path(settings.staged_dir, "daily_climate")
    assert state.is_file()
    if garbage is None:
        state.unlink()
    else:
        state.write_text(garbage, encoding="utf-8")
    opened.clear()
    again = stage_daily(settings, quarters=[Q3, Q4])
    assert len(opened) == 2 and again.files_parsed == 2
    assert (again.versions, sorted(again.unchanged)) == (first.versions, ["2018Q3", "2018Q4"])
    assert all(_parts(settings, [Q3, Q4])[q].equals(before[q]) for q in (Q3, Q4))
    opened.clear()
    assert stage_daily(settings, quarters=[Q3, Q4]).files_parsed == 0 and opened == []  # state rewritten


def test_one_station_at_a_time(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each station's files are read and merged before the next station's are read (bounded memory)."""
    events: list[tuple[str, int]] = []
    real_read, real_merge = daily._read, daily.merge_station

    def read(s: Settings, p: Product, item: daily.RawInput) -> pa.Table:
        events.append(("read", item.station_id or -1))
        return real_read(s, p, item)

    def merge(tables: list[pa.Table]) -> pa.Table:
        stations = {t.column("station_id")[0].as_py() for t in tables}
        assert len(stations) == 1
        events.append(("merge", stations.pop()))
        return real_merge(tables)

    monkeypatch.setattr(daily, "_read", read)
    monkeypatch.setattr(daily, "merge_station", merge)
    _lahr(settings)
    _second_station(settings)
    _zip(settings, MEMBER, (KL / MEMBER).read_bytes(), DAILY_KL.recent_zip_name(2812), "recent")
    stage_daily(settings, quarters=[Q4])
    assert events == [("read", 2812), ("read", 2812), ("merge", 2812), ("read", 4711), ("merge", 4711)]


def test_concurrent_runs_hold_the_stage_lock_one_after_the_other(settings: Settings) -> None:
    _lahr(settings)
    _second_station(settings)
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: stage_daily(settings, quarters=[Q3, Q4]), range(2)))
    assert sorted(r.files_parsed for r in results) == [0, 2]  # the second sees the first's state
    assert all(r.versions == {"2018Q3": "2018Q3_staged_v1", "2018Q4": "2018Q4_staged_v1"} for r in results)
