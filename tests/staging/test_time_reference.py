"""Time reference end to end (docs/design.md §5): MEZ periods shift −1 h, a MEZ→UTC and a UTC→MEZ switch never
duplicate an hour, and a collision keeps the UTC row. Rows of a MOZ (or unknown) period cannot be made UTC:
they are left out and counted in the result, its message and the log, and their file is not quarantined.
Built as hand-made zips with Metadaten_Parameter periods."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pyarrow.compute as pc
import pytest
from structlog.testing import capture_logs

from tests.staging.conftest import make_zip, put
from weatherinsight.dwd.products import get_product
from weatherinsight.settings import Settings
from weatherinsight.staging import TimeReferenceDrop, stage_product
from weatherinsight.storage.staged import staged_dataset

HEADER = (
    "Stations_ID;Von_Datum;Bis_Datum;Stationsname;Parameter;Parameterbeschreibung;Einheit;"
    "Datenquelle (Strukturversion=SV);Zusatz-Info;Besonderheiten;Literaturhinweis;eor;"
)


def parameter_lines(first: str = "MEZ", *, station: int = 4711) -> bytes:
    lines = [HEADER]
    for param in ("TT_TU", "RF_TU"):
        for start, end, ref in (
            ("19900101", "20001231", first),
            ("20010101", "20010630", "UTC"),
            ("20010701", "20011231", "MEZ"),
        ):
            lines.append(f"{station};{start};{end};Testdorf;{param};x;x;x;Stundenwerte in {ref};;;eor;")
    lines.append("Legende: FT  = Folgetag; GZ = Gesetzliche Zeit")
    return ("\r\n".join(lines) + "\r\n").encode("latin-1")


#: MESS_DATUM as written in the file (local time of each period) → temperature, to trace each row.
ROWS = {
    2000123121: 1.0,  # MEZ → 20 UTC
    2000123122: 2.0,  # MEZ → 21 UTC
    2000123123: 3.0,  # MEZ → 22 UTC (23 UTC stays missing: the switch skips an hour)
    2001010100: 4.0,  # UTC
    2001010101: 5.0,
    2001063022: 6.0,  # UTC
    2001063023: 7.0,  # UTC, kept
    2001070100: 8.0,  # MEZ → 2001-06-30 23 UTC: collides with the UTC row, dropped
    2001070101: 9.0,  # MEZ → 00 UTC
    2001070102: 10.0,  # MEZ → 01 UTC
}


def produkt(rows: dict[int, float] = ROWS, *, station: int = 4711) -> bytes:
    out = ["STATIONS_ID;MESS_DATUM;QN_9;TT_TU;RF_TU;eor"]
    out += [f"{station:>11};{md};    3;{t:6.1f};  80.0;eor" for md, t in rows.items()]
    return ("\r\n".join(out) + "\r\n").encode("ascii")


def station_zip(first: str = "MEZ", *, rows: dict[int, float] = ROWS, station: int = 4711) -> bytes:
    first_md, last_md = str(min(rows))[:8], str(max(rows))[:8]
    return make_zip(
        {
            f"produkt_tu_stunde_{first_md}_{last_md}_{station:05d}.txt": produkt(rows, station=station),
            f"Metadaten_Parameter_tu_stunde_{station:05d}.txt": parameter_lines(first, station=station),
            f"Metadaten_Geographie_{station:05d}.txt": (
                "Stations_id;Stationshoehe;Geogr.Breite;Geogr.Laenge;von_datum;bis_datum;Stationsname\n"
                f"  {station};   10.00; 50.0000;  8.0000;19900101;        ;Testdorf\n"
            ).encode("latin-1"),
        }
    )


def test_mez_utc_switches_shift_and_never_duplicate_an_hour(settings: Settings) -> None:
    put(settings, "air_temperature", "recent", station_zip(), "stundenwerte_TU_04711_akt.zip")
    result = stage_product(settings, get_product("air_temperature"))
    assert result.quarantined == [] and result.quarters_written == ["2000Q4", "2001Q1", "2001Q2", "2001Q3"]
    t = staged_dataset(settings.staged_dir, "air_temperature").to_table().sort_by("ts")
    got = list(zip(t.column("ts").to_pylist(), t.column("temperature").to_pylist(), strict=True))
    assert got == [
        (datetime(2000, 12, 31, 20, tzinfo=UTC), 1.0),
        (datetime(2000, 12, 31, 21, tzinfo=UTC), 2.0),
        (datetime(2000, 12, 31, 22, tzinfo=UTC), 3.0),
        (datetime(2001, 1, 1, 0, tzinfo=UTC), 4.0),
        (datetime(2001, 1, 1, 1, tzinfo=UTC), 5.0),
        (datetime(2001, 6, 30, 22, tzinfo=UTC), 6.0),
        (datetime(2001, 6, 30, 23, tzinfo=UTC), 7.0),
        (datetime(2001, 7, 1, 0, tzinfo=UTC), 9.0),
        (datetime(2001, 7, 1, 1, tzinfo=UTC), 10.0),
    ]
    assert pc.count_distinct(t.column("ts")).as_py() == t.num_rows
    # The 2000Q4 partition holds the shifted MEZ rows; the 2001Q3 partition starts with the shifted 01 MEZ row.
    assert result.rows_by_quarter == {"2000Q4": 3, "2001Q1": 2, "2001Q2": 2, "2001Q3": 2}


def test_moz_rows_are_left_out_counted_and_nothing_is_quarantined(settings: Settings) -> None:
    """4711: its first period (the three 2000-12-31 rows) is MOZ; 4712: every row is MOZ."""
    put(settings, "air_temperature", "recent", station_zip("MOZ"), "stundenwerte_TU_04711_akt.zip")
    only_moz = {1995010100 + h: 20.0 + h for h in range(5)}
    put(
        settings,
        "air_temperature",
        "recent",
        station_zip("MOZ", rows=only_moz, station=4712),
        "stundenwerte_TU_04712_akt.zip",
    )
    with capture_logs() as logs:
        result = stage_product(settings, get_product("air_temperature"))
    assert result.quarantined == [] and result.files_parsed == 2
    assert result.rows_dropped_time_reference == 8
    assert result.time_reference_drops == [
        TimeReferenceDrop(
            "recent/stundenwerte_TU_04711_akt.zip",
            4711,
            "TT_TU",
            date(1990, 1, 1),
            date(2000, 12, 31),
            "MOZ",
            "Stundenwerte in MOZ",
            3,
        ),
        TimeReferenceDrop(
            "recent/stundenwerte_TU_04712_akt.zip",
            4712,
            "TT_TU",
            date(1990, 1, 1),
            date(2000, 12, 31),
            "MOZ",
            "Stundenwerte in MOZ",
            5,
        ),
    ]
    assert result.files_all_rows_dropped == ["recent/stundenwerte_TU_04712_akt.zip"]
    assert result.message == (
        "staged air_temperature: 3 quarter(s) rewritten, 6 rows, 0 file(s) quarantined; "
        "8 row(s) of 2 file(s) left out: their time reference (MOZ) cannot be converted to UTC; "
        "1 file(s) had no row left (zero rows staged, not quarantined)"
    )
    # The UTC rows and the MEZ rows are staged as before; 2000Q4 (only MOZ rows of 4711) gets nothing.
    assert result.rows_by_quarter == {"2001Q1": 2, "2001Q2": 2, "2001Q3": 2}
    t = staged_dataset(settings.staged_dir, "air_temperature").to_table().sort_by("ts")
    got = list(zip(t.column("ts").to_pylist(), t.column("temperature").to_pylist(), strict=True))
    assert got == [
        (datetime(2001, 1, 1, 0, tzinfo=UTC), 4.0),
        (datetime(2001, 1, 1, 1, tzinfo=UTC), 5.0),
        (datetime(2001, 6, 30, 22, tzinfo=UTC), 6.0),
        (datetime(2001, 6, 30, 23, tzinfo=UTC), 7.0),
        (datetime(2001, 7, 1, 0, tzinfo=UTC), 9.0),
        (datetime(2001, 7, 1, 1, tzinfo=UTC), 10.0),
    ]
    assert set(t.column("station_id").to_pylist()) == {4711}
    dropped_logs = [e for e in logs if e["event"] == "stage.time_reference_dropped"]
    assert [
        (e["log_level"], e["file"], e["station"], e["period"], e["reference"], e["rows"], e["rows_kept"])
        for e in dropped_logs
    ] == [
        ("warning", "recent/stundenwerte_TU_04711_akt.zip", 4711, "1990-01-01..2000-12-31", "MOZ", 3, 6),
        ("warning", "recent/stundenwerte_TU_04712_akt.zip", 4712, "1990-01-01..2000-12-31", "MOZ", 5, 0),
    ]
    # A re-run meets the same, unchanged files: nothing to do, nothing quarantined later either.
    again = stage_product(settings, get_product("air_temperature"))
    assert again.status == "unchanged" and again.quarantined_before == 0


@pytest.mark.spark
@pytest.mark.slow
def test_spark_staging_reports_the_same_drops(settings: Settings, spark: Any) -> None:
    """The per-file drops travel back from the executors (side rows) with the same counts and periods."""
    put(settings, "air_temperature", "recent", station_zip("MOZ"), "stundenwerte_TU_04711_akt.zip")
    result = stage_product(settings, get_product("air_temperature"), engine="spark", spark_session=spark)
    assert result.quarantined == [] and result.rows_by_quarter == {"2001Q1": 2, "2001Q2": 2, "2001Q3": 2}
    assert result.time_reference_drops == [
        TimeReferenceDrop(
            "recent/stundenwerte_TU_04711_akt.zip",
            4711,
            "TT_TU",
            date(1990, 1, 1),
            date(2000, 12, 31),
            "MOZ",
            "Stundenwerte in MOZ",
            3,
        )
    ]
    assert result.files_all_rows_dropped == []
