"""The MEZ→UTC shift of produkt rows and its collision rule (``dwd.produkt``, DESIGN §5)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from tests.dwd.helpers import FF_2021, ff_parameter_bytes, make_zip, zip_members
from weatherinsight.dwd.metadata import TimePeriod, parse_parameter_metadata
from weatherinsight.dwd.products import get_product
from weatherinsight.dwd.produkt import parse_produkt
from weatherinsight.dwd.produkt_zip import read_produkt_zip

WIND = get_product("wind")


def utc(y: int, m: int, d: int, hour: int) -> datetime:
    return datetime(y, m, d, hour, tzinfo=UTC)


def produkt_text(rows: list[tuple[str, str]], *, crlf: bool = True) -> bytes:
    """A small FF produkt file in DWD layout (padded header and values). rows = (MESS_DATUM, F)."""
    eol = "\r\n" if crlf else "\n"
    lines = ["STATIONS_ID;MESS_DATUM;QN_3;   F;   D;eor"]
    lines += [f"       1975;{md};   10;{f:>6};  90;eor" for md, f in rows]
    return (eol.join(lines) + eol).encode("ascii")


#: Local timestamps straddling MEZ→UTC (2002-05-01), UTC→MEZ (2002-06-01) and MEZ→UTC (2003-09-01).
STRADDLE = [
    ("2002043022", "1.0"),  # MEZ → 21 UTC
    ("2002043023", "2.0"),  # MEZ → 22 UTC
    ("2002050100", "3.0"),  # UTC
    ("2002050101", "4.0"),  # UTC
    ("2002053122", "5.0"),  # UTC
    ("2002053123", "6.0"),  # UTC 23:00 — kept when the next row collides with it
    ("2002060100", "7.0"),  # MEZ → 2002-05-31 23 UTC: collides with the UTC row above, dropped
    ("2002060101", "8.0"),  # MEZ → 2002-06-01 00 UTC
    ("2003083123", "9.0"),  # MEZ → 22 UTC
    ("2003090100", "10.0"),  # UTC
]

EXPECTED_SHIFTED = [
    (utc(2002, 4, 30, 21), 1.0),
    (utc(2002, 4, 30, 22), 2.0),
    (utc(2002, 5, 1, 0), 3.0),
    (utc(2002, 5, 1, 1), 4.0),
    (utc(2002, 5, 31, 22), 5.0),
    (utc(2002, 5, 31, 23), 6.0),
    (utc(2002, 6, 1, 0), 8.0),
    (utc(2003, 8, 31, 22), 9.0),
    (utc(2003, 9, 1, 0), 10.0),
]


def pairs(table) -> list[tuple[datetime, float]]:  # type: ignore[no-untyped-def]
    return list(zip(table.column("ts").to_pylist(), table.column("wind_speed").to_pylist(), strict=True))


def test_mez_periods_shift_exactly_one_hour_and_utc_wins_collisions() -> None:
    periods = parse_parameter_metadata(ff_parameter_bytes(), file_name="p")
    table = parse_produkt(produkt_text(STRADDLE), WIND, file_name="synthetic.txt", periods=periods)
    assert pairs(table) == EXPECTED_SHIFTED


def test_mez_shift_applies_inside_a_zip_and_input_order_does_not_matter() -> None:
    members = {
        "produkt_ff_stunde_20020430_20030901_01975.txt": produkt_text(list(reversed(STRADDLE)), crlf=False),
        "Metadaten_Parameter_ff_stunde_01975.txt": ff_parameter_bytes(),
        "Metadaten_Geographie_01975.txt": zip_members(FF_2021)["Metadaten_Geographie_01975.txt"],
    }
    result = read_produkt_zip(make_zip(members), file_name="stundenwerte_FF_01975_akt.zip")
    assert pairs(result.table) == EXPECTED_SHIFTED
    assert len(result.periods) == 11


def test_without_periods_everything_is_utc() -> None:
    table = parse_produkt(produkt_text(STRADDLE), WIND, file_name="synthetic.txt")
    assert pairs(table) == [
        (datetime.strptime(md, "%Y%m%d%H").replace(tzinfo=UTC), float(f)) for md, f in STRADDLE
    ]


def test_primary_variable_decides_the_row() -> None:
    """D in MEZ but F (wind's primary) in UTC → no shift; and the other way round → shift."""
    d_mez = [
        TimePeriod("D", date(2000, 1, 1), date(2010, 1, 1), "MEZ"),
        TimePeriod("F", date(2000, 1, 1), date(2010, 1, 1), "UTC"),
    ]
    table = parse_produkt(produkt_text(STRADDLE[:2]), WIND, file_name="s", periods=d_mez)
    assert table.column("ts").to_pylist() == [utc(2002, 4, 30, 22), utc(2002, 4, 30, 23)]
    f_mez = [
        TimePeriod("D", date(2000, 1, 1), date(2010, 1, 1), "UTC"),
        TimePeriod("F", date(2000, 1, 1), date(2010, 1, 1), "MEZ"),
    ]
    table = parse_produkt(produkt_text(STRADDLE[:2]), WIND, file_name="s", periods=f_mez)
    assert table.column("ts").to_pylist() == [utc(2002, 4, 30, 21), utc(2002, 4, 30, 22)]


def test_mez_is_a_fixed_offset_never_summer_time() -> None:
    """A July MEZ hour moves by 1 h, not 2 h (Europe/Berlin would say CEST)."""
    periods = [TimePeriod("F", date(1990, 1, 1), date(1999, 12, 31), "MEZ")]
    table = parse_produkt(produkt_text([("1995071512", "3.3")]), WIND, file_name="s", periods=periods)
    assert pairs(table) == [(utc(1995, 7, 15, 11), 3.3)]
