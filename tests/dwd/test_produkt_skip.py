"""Parsing only a window of hours (``dwd.produkt_skip``) gives exactly the whole parse's rows in the window.

On the real DWD files in tests/data: windows at the start, middle and end of a file, one spanning the 1 MiB
read boundary of the skim, a MEZ/UTC/MOZ history (real produkt text, periods as DWD lists them), and files
that do not fit the skim (unsorted, a second station, a bad line): those fall back to the whole parse.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from tests.conftest import DATA
from weatherinsight.dwd.metadata import TimePeriod
from weatherinsight.dwd.products import get_product
from weatherinsight.dwd.produkt import Parsed, parse_stream
from weatherinsight.dwd.produkt_skip import MARGIN, READ_SIZE, Window
from weatherinsight.dwd.produkt_zip import read_produkt_zip
from weatherinsight.errors import DwdFormatError

TU = get_product("air_temperature")
DWD = DATA / "dwd"
HIST_00044 = DWD / "air_temperature/zeppr_00044/stundenwerte_TU_00044_20070401_20211231_hist.zip"
AKT_00044 = DWD / "air_temperature/zeppr_00044/stundenwerte_TU_00044_akt.zip"
ULM = DWD / "air_temperature/ulm_15444_unzipped"
ULM_HIST = ULM / "stundenwerte_TU_15444_20140901_20181231_hist/produkt_tu_stunde_20140901_20181231_15444.txt"
ULM_AKT = ULM / "stundenwerte_TU_15444_akt/produkt_tu_stunde_20180924_20200326_15444.txt"
BARE = DWD / "air_temperature/bare_produkt/produkt_tu_stunde_20190912_20210314_00044.txt"
ZIPS = [
    HIST_00044,
    AKT_00044,
    *(
        DWD / p / f"hamburg_01975_release_2021-09-19/stundenwerte_{c}_01975_akt.zip"
        for p, c in [
            ("air_temperature", "TU"),
            ("precipitation", "RR"),
            ("wind", "FF"),
        ]
    ),
    DWD / "pressure/zeppr_00096/stundenwerte_P0_00096_akt.zip",
    DWD / "moisture/zeppr_00044/stundenwerte_TF_00044_akt.zip",
]


def us(y: int, m: int, d: int, h: int = 0) -> int:
    return int(datetime(y, m, d, h, tzinfo=UTC).timestamp()) * 1_000_000


def quarter_window(y: int, q: int, *, quarters: int = 1) -> Window:
    """``quarters`` quarters from yQq as one span."""
    end_y, end_q = y + (q - 1 + quarters) // 4, (q - 1 + quarters) % 4 + 1
    return Window(((us(y, 3 * q - 2, 1), us(end_y, 3 * end_q - 2, 1)),))


def in_window(table: pa.Table, window: Window) -> pa.Table:
    ts = table.column("ts").cast(pa.int64())
    keep = None
    for start, end in window.spans:
        m = pc.and_(pc.greater_equal(ts, start), pc.less(ts, end))
        keep = m if keep is None else pc.or_(keep, m)
    assert keep is not None
    return table.filter(keep).combine_chunks()


def opener(data: bytes) -> Callable[[], IO[bytes]]:
    return lambda: io.BytesIO(data)


def both(data: bytes, window: Window, periods: list[TimePeriod] | None = None) -> tuple[Parsed, Parsed]:
    whole = parse_stream(opener(data), TU, file_name="f.txt", periods=periods)
    part = parse_stream(opener(data), TU, file_name="f.txt", periods=periods, window=window)
    return whole, part


def assert_same_in_window(whole: Parsed, part: Parsed, window: Window) -> None:
    assert part.partial
    assert in_window(part.table, window).equals(in_window(whole.table, window))
    assert (part.rows, part.first, part.last, part.dropped, part.station) == (
        whole.rows,
        whole.first,
        whole.last,
        whole.dropped,
        whole.station,
    )
    # Only the window and its margin were parsed: at most a day more on each side of every span.
    ts = part.table.column("ts").cast(pa.int64()).to_numpy()
    assert all(any(s - MARGIN - 3_600_000_000 <= t < e + MARGIN for s, e in window.spans) for t in ts)


@pytest.mark.parametrize(
    ("y", "q", "n", "rows_in_window"),
    [
        (2007, 2, 1, 2184),  # the first quarter of the file (it starts 2007-04-01 00)
        (2014, 3, 1, 2169),  # the middle (two gaps of the station: 2208 h in the quarter)
        (2021, 4, 1, 2208),  # the last quarter (it ends 2021-12-31 23)
        (2012, 4, 2, 4062),  # 2012Q4..2013Q1: across a year's edge
        (2003, 1, 4, 0),  # before the file: nothing parsed, the whole file's counts still right
        (2030, 1, 1, 0),  # after the file
    ],
)
def test_real_historical_zip_window_equals_whole_parse(y: int, q: int, n: int, rows_in_window: int) -> None:
    window = quarter_window(y, q, quarters=n)
    whole = read_produkt_zip(HIST_00044.read_bytes(), file_name=HIST_00044.name)
    part = read_produkt_zip(HIST_00044.read_bytes(), file_name=HIST_00044.name, window=window)
    assert part.partial and not whole.partial
    assert in_window(part.table, window).num_rows == rows_in_window
    assert in_window(part.table, window).equals(in_window(whole.table, window))
    assert (part.rows, part.first_us, part.last_us) == (128_547, us(2007, 4, 1), us(2021, 12, 31, 23))
    assert (whole.rows, whole.first_us, whole.last_us) == (part.rows, part.first_us, part.last_us)
    assert part.table.num_rows < 5_000  # the other 124 k rows were never parsed


def test_window_spanning_the_skims_read_boundary() -> None:
    """The quarter holding the line at the first 1 MiB read boundary of the inflated text."""
    import zipfile

    with zipfile.ZipFile(HIST_00044) as zf:
        text = zf.read(next(n for n in zf.namelist() if n.startswith("produkt_")))
    header = text.index(b"\n") + 1
    line_start = text.rindex(b"\n", 0, header + READ_SIZE) + 1
    md = text[line_start:].split(b";")[1].decode()
    assert text[header + READ_SIZE - 1 : header + READ_SIZE] != b"\n"  # the boundary cuts a line
    y, m = int(md[:4]), int(md[4:6])
    window = Window(((us(y, m, 1), us(y + (m == 12), m % 12 + 1, 1)),))
    whole, part = both(text, window)
    assert_same_in_window(whole, part, window)
    assert in_window(part.table, window).num_rows > 600


@pytest.mark.parametrize("path", [ULM_HIST, ULM_AKT, BARE], ids=lambda p: Path(p).parent.name)
def test_real_produkt_texts(path: Path) -> None:
    data = path.read_bytes()
    whole = parse_stream(opener(data), TU, file_name=path.name, periods=None)
    ts = whole.table.column("ts").cast(pa.int64()).to_numpy()
    mid = int(ts[len(ts) // 2])
    for window in (
        Window(((int(ts[0]), int(ts[0]) + 90 * 86_400_000_000),)),
        Window(((mid, mid + 90 * 86_400_000_000),)),
        Window(((int(ts[-1]) - 90 * 86_400_000_000, int(ts[-1]) + 1),)),
    ):
        assert_same_in_window(
            whole, parse_stream(opener(data), TU, file_name="f", periods=None, window=window), window
        )


@pytest.mark.parametrize("path", ZIPS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_real_zip_last_quarter(path: Path) -> None:
    data = path.read_bytes()
    whole = read_produkt_zip(data, file_name=path.name)
    last = whole.last_us
    assert last is not None
    window = Window(((last - 92 * 86_400_000_000, last + 1),))
    part = read_produkt_zip(data, file_name=path.name, window=window)
    assert part.partial
    assert in_window(part.table, window).equals(in_window(whole.table, window))
    assert (part.rows, part.first_us, part.last_us, part.dropped) == (
        whole.rows,
        whole.first_us,
        whole.last_us,
        whole.dropped,
    )


#: The real 00044 text under a MEZ history (as DWD lists it for old data): MEZ to mid-2012, a MOZ month in
#: 2008 (left out and counted), UTC after (the switch on 2012-07-01 leaves one UTC hour without a row).
MEZ_PERIODS = [
    TimePeriod("TT_TU", date(2007, 4, 1), date(2012, 6, 30), "MEZ"),
    TimePeriod("TT_TU", date(2008, 1, 1), date(2008, 1, 31), "MOZ", "MOZ"),
    TimePeriod("TT_TU", date(2008, 2, 1), date(2012, 6, 30), "MEZ"),
    TimePeriod("TT_TU", date(2012, 7, 1), date(2021, 12, 31), "UTC"),
]


@pytest.mark.parametrize(
    "window",
    [
        quarter_window(2012, 3),  # the switch to UTC at its start (and the collision at its edge)
        quarter_window(2007, 2),  # MEZ from the first row (the first UTC hour is 2007-03-31 23)
        quarter_window(2008, 1),  # holds the MOZ month
        quarter_window(2016, 2),  # UTC only
    ],
)
def test_mez_history_window_equals_whole_parse(window: Window) -> None:
    import zipfile

    with zipfile.ZipFile(HIST_00044) as zf:
        text = zf.read(next(n for n in zf.namelist() if n.startswith("produkt_")))
    whole, part = both(text, window, MEZ_PERIODS)
    assert [d.rows for d in whole.dropped] == [579]  # January 2008 (the station has gaps there)
    assert whole.rows == 128_547 - 579
    assert whole.first == us(2007, 3, 31, 23)
    assert_same_in_window(whole, part, window)


def _lines(path: Path) -> list[bytes]:
    import zipfile

    with zipfile.ZipFile(path) as zf:
        return zf.read(next(n for n in zf.namelist() if n.startswith("produkt_"))).splitlines(keepends=True)


def test_unsorted_file_falls_back_to_the_whole_parse() -> None:
    lines = _lines(HIST_00044)
    lines[100], lines[50_000] = lines[50_000], lines[100]  # two rows far apart swap places (both skipped)
    data = b"".join(lines)
    window = quarter_window(2021, 4)
    whole, part = both(data, window)
    assert not part.partial
    assert part.table.equals(whole.table)
    assert whole.rows == 128_547


def test_second_station_in_a_skipped_line_falls_back_and_is_rejected() -> None:
    lines = _lines(HIST_00044)
    lines[500] = lines[500].replace(b"        44;", b"        45;", 1)
    with pytest.raises(DwdFormatError) as whole:
        parse_stream(opener(b"".join(lines)), TU, file_name="f.txt", periods=None)
    with pytest.raises(DwdFormatError) as part:
        parse_stream(
            opener(b"".join(lines)), TU, file_name="f.txt", periods=None, window=quarter_window(2021, 4)
        )
    assert str(part.value) == str(whole.value)
    assert "line 501" in str(part.value)


def test_bad_date_in_a_skipped_line_falls_back_and_is_rejected() -> None:
    lines = _lines(HIST_00044)
    lines[500] = lines[500][:12] + b"2007021300" + lines[500][22:]
    lines[501] = lines[501][:12] + b"2007023000" + lines[501][22:]  # 30 February
    with pytest.raises(DwdFormatError) as part:
        parse_stream(
            opener(b"".join(lines)), TU, file_name="f.txt", periods=None, window=quarter_window(2021, 4)
        )
    with pytest.raises(DwdFormatError) as whole:
        parse_stream(opener(b"".join(lines)), TU, file_name="f.txt", periods=None)
    assert str(part.value) == str(whole.value)


def test_bad_value_in_a_skipped_line_is_not_checked() -> None:
    """Documented (docs/dwd-format.md): the value columns of skipped lines are not validated."""
    lines = _lines(HIST_00044)
    lines[500] = lines[500].replace(b";eor", b";xyz", 1)
    data = b"".join(lines)
    with pytest.raises(DwdFormatError, match="line 501"):
        parse_stream(opener(data), TU, file_name="f.txt", periods=None)
    part = parse_stream(opener(data), TU, file_name="f.txt", periods=None, window=quarter_window(2021, 4))
    assert part.partial and part.rows == 128_547


def test_a_bad_line_inside_the_window_is_named_as_by_the_whole_parse() -> None:
    lines = _lines(HIST_00044)
    lines[-10] = lines[-10].replace(b";eor", b";xyz", 1)
    data = b"".join(lines)
    with pytest.raises(DwdFormatError) as part:
        parse_stream(opener(data), TU, file_name="f.txt", periods=None, window=quarter_window(2021, 4))
    with pytest.raises(DwdFormatError) as whole:
        parse_stream(opener(data), TU, file_name="f.txt", periods=None)
    assert str(part.value) == str(whole.value)
    assert f"line {len(lines) - 9}" in str(part.value)
