"""Metadaten_Parameter (UTC/MEZ/MOZ periods) and Metadaten_Geographie (``dwd.metadata``)."""

from __future__ import annotations

from datetime import date

import pytest

from tests.dwd.helpers import FF_2021, ff_parameter_bytes, sample, zip_members
from weatherinsight.dwd.metadata import TimePeriod, parse_geography, parse_parameter_metadata

FF_2019 = "wind/hamburg_01975_release_2019-09-05/stundenwerte_FF_01975_akt.zip"


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
