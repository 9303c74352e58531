"""A staging run for some quarters parses only those (``worker.parse_window``) and stages exactly what the whole
parse stages: byte-identical partitions, the same state entries and the same counters, on the real DWD files
(historical + recent with overlapping releases), an unsorted file, and mirror files.
"""

from __future__ import annotations

import json
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from tests.fixtures.core import make_settings
from tests.staging.conftest import TU_AKT_00044, TU_HIST_00044, build_tu_store, make_zip, put
from weatherinsight.dwd.products import get_product
from weatherinsight.dwd.produkt_skip import Window
from weatherinsight.quarters import Quarter
from weatherinsight.settings import Settings
from weatherinsight.staging import StageResult, service, stage_product
from weatherinsight.staging.precedence import SourceTable, apply_precedence
from weatherinsight.staging.worker import parse_window
from weatherinsight.storage.staged import product_dir

TU = get_product("air_temperature")
NOW = datetime(2026, 12, 6, 9, tzinfo=UTC)


def us(y: int, m: int, d: int) -> int:
    return int(datetime(y, m, d, tzinfo=UTC).timestamp()) * 1_000_000


def test_parse_window_spans() -> None:
    assert parse_window(None, NOW) is None
    forever = 1 << 62
    assert parse_window([Quarter(2014, 3)], NOW) == Window(
        ((us(2014, 7, 1), us(2014, 10, 1)), (us(2027, 1, 1), forever))
    )
    # Adjacent quarters are one span; the quarter after today's joins the future span.
    assert parse_window(
        [Quarter(2021, 4), Quarter(2021, 3), Quarter(2026, 4), Quarter(2027, 1)], NOW
    ) == Window(((us(2021, 7, 1), us(2022, 1, 1)), (us(2026, 10, 1), forever)))


def _staged_bytes(settings: Settings, product: str) -> dict[str, bytes]:
    root = product_dir(Path(settings.staged_dir), product)
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.glob("year=*/quarter=*/*"))}


def _files_state(settings: Settings, product: str) -> dict[str, Any]:
    state = json.loads((product_dir(Path(settings.staged_dir), product) / "_state.json").read_text())
    return {rel: {k: v for k, v in e.items() if k != "rel"} for rel, e in state["files"].items()}


def _counters(r: StageResult) -> tuple[Any, ...]:
    return (
        r.status,
        r.rows_by_quarter,
        r.rows_left_out,
        r.time_reference_drops,
        r.files_all_rows_dropped,
        r.files_parsed,
        r.stations,
        len(r.quarantined),
    )


def _run_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, build: Any, product: str, quarters: list[Quarter]
) -> tuple[StageResult, StageResult, Settings, Settings]:
    """Stage ``quarters`` in two fresh stores: with the parse window, and with every file parsed whole."""
    window_s = build(make_settings(tmp_path / "window"))
    whole_s = build(make_settings(tmp_path / "whole"))
    with_window = stage_product(window_s, get_product(product), quarters=quarters)
    with monkeypatch.context() as m:
        m.setattr(service, "parse_window", lambda quarters, now: None)
        whole = stage_product(whole_s, get_product(product), quarters=quarters)
    return with_window, whole, window_s, whole_s


def _assert_identical(
    with_window: StageResult, whole: StageResult, window_s: Settings, whole_s: Settings, product: str
) -> None:
    assert _counters(with_window) == _counters(whole)
    assert with_window.rows_written > 0
    staged = _staged_bytes(window_s, product)
    assert staged and staged == _staged_bytes(whole_s, product)
    assert _files_state(window_s, product) == _files_state(whole_s, product)


@pytest.mark.parametrize(
    "quarters",
    [
        [Quarter(2007, 2)],  # the historical file's first quarter
        [Quarter(2014, 3)],  # its middle
        [
            Quarter(2021, 3),
            Quarter(2021, 4),
        ],  # its end, where the recent 00044 file and both 01975 releases overlap
        [Quarter(2023, 1)],  # the recent file's last quarter
    ],
    ids=str,
)
def test_real_files_stage_identically(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, quarters: list[Quarter]
) -> None:
    with_window, whole, window_s, whole_s = _run_both(
        tmp_path, monkeypatch, build_tu_store, "air_temperature", quarters
    )
    _assert_identical(with_window, whole, window_s, whole_s, "air_temperature")
    assert sorted(with_window.rows_by_quarter) == sorted(str(q) for q in quarters)


def _unsorted_hist() -> bytes:
    """The real 00044 historical zip with two produkt lines years apart swapped (every other member as is)."""
    with zipfile.ZipFile(TU_HIST_00044) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    name = next(n for n in members if n.startswith("produkt_"))
    lines = members[name].splitlines(keepends=True)
    lines[100], lines[60_000] = lines[60_000], lines[100]
    members[name] = b"".join(lines)
    return make_zip(members)


def test_unsorted_file_falls_back_and_stages_identically(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def build(s: Settings) -> Settings:
        put(s, "air_temperature", "historical", _unsorted_hist(), TU_HIST_00044.name)
        put(s, "air_temperature", "recent", TU_AKT_00044, TU_AKT_00044.name)
        return s

    with_window, whole, window_s, whole_s = _run_both(
        tmp_path, monkeypatch, build, "air_temperature", [Quarter(2014, 1)]
    )
    _assert_identical(with_window, whole, window_s, whole_s, "air_temperature")
    assert with_window.rows_by_quarter == {"2014Q1": 2160}


def test_mirror_files_stage_identically(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from weatherinsight.mirror.layout import hourly_root
    from weatherinsight.mirror.simulate import build_mirror

    mirror = tmp_path / "mirror"
    build_mirror(mirror, stations=3, years=3, seed=7, products=["air_temperature"], workers=1)

    def build(s: Settings) -> Settings:
        raw = Path(s.raw_store_url) / "dwd"
        raw.mkdir(parents=True)
        (raw / TU.directory).symlink_to(hourly_root(mirror) / TU.directory, target_is_directory=True)
        return s

    today = Quarter.of(datetime.now(UTC))
    quarters = [today.previous().previous(), today.previous()]  # where historical and recent files meet
    with_window, whole, window_s, whole_s = _run_both(
        tmp_path, monkeypatch, build, "air_temperature", quarters
    )
    _assert_identical(with_window, whole, window_s, whole_s, "air_temperature")


def test_a_partial_file_claims_its_whole_range() -> None:
    """A historical file whose parsed part is empty (a gap over the window) still keeps recent rows out."""
    ts_type = pa.timestamp("us", tz="UTC")
    schema = pa.schema([("station_id", pa.int32()), ("ts", ts_type), ("qn", pa.int8())])
    recent = pa.table(
        {
            "station_id": pa.array([44, 44], pa.int32()),
            "ts": pa.array([us(2014, 7, 1), us(2022, 1, 1)], ts_type),
            "qn": pa.array([1, 1], pa.int8()),
        },
        schema=schema,
    )
    hist = SourceTable(
        schema.empty_table(),
        "historical",
        "h.zip",
        None,
        "h",
        (datetime(2007, 4, 1, tzinfo=UTC), datetime(2021, 12, 31, 23, tzinfo=UTC)),
    )
    merged, claims = apply_precedence([SourceTable(recent, "recent", "r.zip", None, "r"), hist], TU)
    assert merged.column("ts").to_pylist() == [datetime(2022, 1, 1, tzinfo=UTC)]
    assert [(c.source_file, c.rows_kept, c.rows_dropped) for c in claims] == [
        ("h.zip", 0, 0),
        ("r.zip", 1, 1),
    ]
