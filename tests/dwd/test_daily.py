"""The daily KL registry entry and parser (climate/daily/kl, docs/dwd-format.md §5) on DWD's real Lahr file."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow.compute as pc
import pytest

from weatherinsight.dwd.daily import daily_schema, parse_daily_produkt
from weatherinsight.dwd.files import parse_zip_name, produkt_name_range
from weatherinsight.dwd.products import DAILY_KL, get_product
from weatherinsight.errors import DwdFormatError

LAHR = Path(__file__).resolve().parents[1] / "data" / "dwd" / "lahr_02812_daily_and_hourly"
KL = "produkt_klima_tag_19500101_20181231_02812.txt"
HEADER = b"STATIONS_ID;MESS_DATUM;QN_3;  FX;  FM;QN_4; RSK;RSKF; SDK;SHK_TAG;  NM; VPM;  PM; TMK; UPM; TXK; TNK; TGK;eor\r\n"
ROW = b"       2812;20180401;   10;  14.4;   4.2;    3;   1.1;   6;  0.383;   0;   6.5;   7.9;  993.05;    7.0;  78.67;   10.3;    2.2;   -0.8;eor\r\n"


def test_registry_names_the_daily_directory_and_files() -> None:
    assert (DAILY_KL.path, get_product("air_temperature").path) == ("daily/kl", "hourly/air_temperature")
    assert DAILY_KL.recent_zip_name(2812) == "tageswerte_KL_02812_akt.zip"
    assert DAILY_KL.historical_zip_name(2812, "19500101", "20181231") == (
        "tageswerte_KL_02812_19500101_20181231_hist.zip"
    )
    assert DAILY_KL.produkt_name(2812, "19500101", "20181231") == KL
    assert HEADER.decode().replace(" ", "").strip() == ";".join(DAILY_KL.header)


def test_daily_zip_names_parse_to_the_daily_product() -> None:
    recent = parse_zip_name("tageswerte_KL_02812_akt.zip")
    assert (recent.product, recent.station_id, recent.period) == (DAILY_KL, 2812, "recent")
    hist = parse_zip_name("tageswerte_KL_02812_19500101_20181231_hist.zip")
    assert (hist.product, hist.start, hist.end) == (DAILY_KL, date(1950, 1, 1), date(2018, 12, 31))
    assert produkt_name_range(KL) == (date(1950, 1, 1), date(2018, 12, 31))
    with pytest.raises(DwdFormatError, match="unknown product code 'TU' of tageswerte"):
        parse_zip_name("tageswerte_TU_02812_akt.zip")
    with pytest.raises(DwdFormatError, match="unknown product code 'KL' of stundenwerte"):
        parse_zip_name("stundenwerte_KL_02812_akt.zip")


def test_real_lahr_file() -> None:
    table = parse_daily_produkt((LAHR / KL).read_bytes(), file_name=KL)
    assert table.schema == daily_schema(DAILY_KL)
    assert table.num_rows == 24745
    days = table.column("date")
    assert (days[0].as_py(), days[-1].as_py()) == (date(1950, 1, 1), date(2018, 12, 31))
    assert table.column("station_id").unique().to_pylist() == [2812]
    nulls = {
        c: table.column(c).null_count for c in ("temperature_max", "temperature_min", "temperature_mean")
    }
    assert nulls == {"temperature_max": 792, "temperature_min": 792, "temperature_mean": 761}
    assert (table.column("precipitation_height").null_count, table.column("qn_wind").null_count) == (
        761,
        10627,
    )
    first_day = table.filter(pc.equal(days, date(2018, 4, 1))).to_pylist()
    assert first_day == [
        {
            "station_id": 2812,
            "date": date(2018, 4, 1),
            "qn_wind": 10,
            "wind_gust_max": 14.4,
            "wind_speed_mean": 4.2,
            "qn": 3,
            "precipitation_height": 1.1,
            "precipitation_form": 6,
            "sunshine_duration": 0.383,
            "snow_depth": 0.0,
            "cloud_cover": 6.5,
            "vapour_pressure": 7.9,
            "pressure_station": 993.05,
            "temperature_mean": 7.0,
            "relative_humidity": 78.67,
            "temperature_max": 10.3,
            "temperature_min": 2.2,
            "ground_temperature_min": -0.8,
        }
    ]


@pytest.mark.parametrize(
    ("body", "line", "problem"),
    [
        (
            b"STATIONS_ID;MESS_DATUM;QN_9;TT_TU;RF_TU;eor\r\n" + ROW,
            1,
            "is not the daily_climate (KL) produkt header",
        ),
        (HEADER + ROW.replace(b"20180401", b"20180431"), 2, "MESS_DATUM '20180431' is not a valid date"),
        (HEADER + ROW.replace(b"  14.4", b"  x4.4"), 2, "FX 'x4.4' is not a number"),
        (HEADER + ROW + ROW, 3, "day 2018-04-01 repeats or goes back"),
        (HEADER + ROW.replace(b";eor", b""), 2, "expected 18 fields and 'eor'"),
        (HEADER, 2, "no data rows"),
    ],
)
def test_bad_daily_files_name_file_line_and_column(body: bytes, line: int, problem: str) -> None:
    with pytest.raises(DwdFormatError) as info:
        parse_daily_produkt(body, file_name="produkt_klima_tag_x.txt")
    assert info.value.line == line and info.value.file == "produkt_klima_tag_x.txt"
    assert problem in str(info.value)


def test_missing_values_are_null() -> None:
    row = ROW.replace(b"   10.3;", b"   -999;")
    t = parse_daily_produkt(HEADER + row, file_name="x.txt")
    assert t.column("temperature_max").to_pylist() == [None]
    assert t.column("temperature_min").to_pylist() == [2.2]
