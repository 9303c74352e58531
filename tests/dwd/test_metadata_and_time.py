"""Metadaten_Parameter (UTC/MEZ/MOZ periods), Metadaten_Geographie, and the MEZ→UTC shift with its collision rule."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from tests.dwd.helpers import make_zip, sample, zip_members
from weatherinsight.dwd.metadata import TimePeriod, parse_geography, parse_parameter_metadata
from weatherinsight.dwd.products import get_product
from weatherinsight.dwd.produkt import parse_produkt
from weatherinsight.dwd.produkt_zip import read_produkt_zip

FF_2019 = "wind/hamburg_01975_release_2019-09-05/stundenwerte_FF_01975_akt.zip"
FF_2021 = "wind/hamburg_01975_release_2021-09-19/stundenwerte_FF_01975_akt.zip"
WIND = get_product("wind")


def utc(y: int, m: int, d: int, hour: int) -> datetime:
    return datetime(y, m, d, hour, tzinfo=UTC)


def ff_parameter_bytes(rel: str = FF_2021) -> bytes:
    return zip_members(rel)["Metadaten_Parameter_ff_stunde_01975.txt"]


def hamburg_f_periods(end: date) -> list[tuple[date, date, str]]:
    return [
        (date(1950, 1, 1), date(1974, 12, 31), "MEZ"),
        (date(1975, 1, 1), date(1995, 8, 31), "MEZ"),
        (date(1995, 9, 1), date(2002, 4, 30), "MEZ"),
        (date(2002, 5, 1), date(2002, 5, 31), "UTC"),
        (date(2002, 6, 1), date(2003, 8, 31), "MEZ"),
        (date(2003, 9, 1), end, "UTC"),
    ]


@pytest.mark.parametrize(("rel", "end"), [(FF_2019, date(2019, 9, 4)), (FF_2021, date(2021, 9, 18))])
def test_hamburg_wind_periods(rel: str, end: date) -> None:
    """01975 FF: MEZ 1950..2002-04-30, UTC 2002-05, MEZ 2002-06..2003-08, UTC from 2003-09 (LF 2019, CRLF 2021)."""
    periods = parse_parameter_metadata(
        ff_parameter_bytes(rel), file_name="Metadaten_Parameter_ff_stunde_01975.txt"
    )
    f = [(p.start, p.end, p.reference) for p in periods if p.parameter == "F"]
    assert f == hamburg_f_periods(end)
    d = [(p.start, p.end, p.reference) for p in periods if p.parameter == "D"]
    assert d == hamburg_f_periods(end)[1:]
    assert len(periods) == 11


def test_parameter_file_encoding_and_line_ends_do_not_matter() -> None:
    raw = ff_parameter_bytes()
    assert b"\r\n" in raw
    as_utf8_lf = raw.decode("latin-1").replace("\r\n", "\n").encode("utf-8")
    name = "Metadaten_Parameter_ff_stunde_01975.txt"
    assert parse_parameter_metadata(as_utf8_lf, file_name=name) == parse_parameter_metadata(
        raw, file_name=name
    )


def test_wrtr_zusatz_info_counts_as_utc_and_tu_mez_history() -> None:
    rr = zip_members("precipitation/hamburg_01975_release_2021-09-19/stundenwerte_RR_01975_akt.zip")
    periods = parse_parameter_metadata(rr["Metadaten_Parameter_rr_stunde_01975.txt"], file_name="rr")
    assert [(p.parameter, p.start, p.end, p.reference) for p in periods] == [
        ("R1", date(1995, 9, 5), date(2001, 3, 31), "UTC"),
        ("R1", date(2001, 4, 1), date(2021, 9, 19), "UTC"),
        ("RS_IND", date(1995, 9, 5), date(2001, 3, 31), "UTC"),
        ("RS_IND", date(2001, 4, 1), date(2021, 9, 19), "UTC"),
        ("WRTR", date(2001, 4, 3), date(2021, 9, 19), "UTC"),  # "01,02,…,23 UTC=1h Bezugszeitraum"
    ]
    tu = zip_members("air_temperature/hamburg_01975_release_2021-09-19/stundenwerte_TU_01975_akt.zip")
    tt = [
        p
        for p in parse_parameter_metadata(tu["Metadaten_Parameter_tu_stunde_01975.txt"], file_name="tu")
        if p.parameter == "TT_TU"
    ]
    assert tt[0] == TimePeriod("TT_TU", date(1949, 1, 1), date(1995, 8, 31), "MEZ")
    assert {p.reference for p in tt[1:]} == {"UTC"}
    tf = zip_members("moisture/zeppr_00044/stundenwerte_TF_00044_akt.zip")
    tf_periods = parse_parameter_metadata(tf["Metadaten_Parameter_tf_stunde_00044.txt"], file_name="tf")
    assert len(tf_periods) == 21 and {p.reference for p in tf_periods} == {"UTC"}  # "in UTC"


def test_parameter_moz_and_unknown_time_references_are_kept_as_such() -> None:
    """MOZ (FORMAT §2.2/§2.8) and a Zusatz-Info naming no reference are periods, not errors: the produkt
    parser leaves their rows out (tests/dwd/test_unconvertible_time.py)."""
    text = (
        "Stations_ID;Von_Datum;Bis_Datum;Parameter;Zusatz-Info;eor;\n"
        "1975;19500101;19741231;F;Stundenwerte in MOZ;eor;\n"
        "1975;19750101;19751231;F;;eor;\n"
        "1975;19760101;19761231;F;Stundenwerte in MEZ;eor;\n"
    ).encode("latin-1")
    periods = parse_parameter_metadata(text, file_name="Metadaten_Parameter_x.txt")
    assert [(p.start, p.end, p.reference, p.info) for p in periods] == [
        (date(1950, 1, 1), date(1974, 12, 31), "MOZ", "Stundenwerte in MOZ"),
        (date(1975, 1, 1), date(1975, 12, 31), "unknown", ""),
        (date(1976, 1, 1), date(1976, 12, 31), "MEZ", "Stundenwerte in MEZ"),
    ]


def test_geography_history() -> None:
    geo = parse_geography(zip_members(FF_2021)["Metadaten_Geographie_01975.txt"], file_name="geo")
    rows = geo.to_pylist()
    assert len(rows) == 4
    assert rows[-1] == {
        "station_id": 1975,
        "height_m": 14.05,
        "latitude": 53.6332,
        "longitude": 9.9881,
        "valid_from": date(1995, 9, 5),
        "valid_to": None,
        "station_name": "Hamburg-Fuhlsbüttel",
    }
    assert rows[0]["valid_from"] == date(1936, 1, 1) and rows[0]["valid_to"] == date(1946, 10, 31)
    ulm = parse_geography(
        sample("air_temperature/ulm_15444_unzipped/stundenwerte_TU_15444_akt/Metadaten_Geographie_15444.txt"),
        file_name="ulm",
    )
    assert ulm.to_pylist() == [
        {
            "station_id": 15444,
            "height_m": 592.6,
            "latitude": 48.4418,
            "longitude": 9.9216,
            "valid_from": date(2014, 5, 15),
            "valid_to": None,
            "station_name": "Ulm-Mähringen",
        }
    ]


# ---------------------------------------------------------------------------------------------------------
# MEZ → UTC


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
