"""Time reference end to end (DESIGN §5): MEZ periods shift −1 h, a MEZ→UTC and a UTC→MEZ switch never
duplicate an hour, and a collision keeps the UTC row. Built as a hand-made zip with Metadaten_Parameter periods."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow.compute as pc

from tests.stage.conftest import make_zip, put
from weatherinsight.settings import Settings
from weatherinsight.stage import stage_product
from weatherinsight.storage.staged import staged_dataset

HEADER = (
    "Stations_ID;Von_Datum;Bis_Datum;Stationsname;Parameter;Parameterbeschreibung;Einheit;"
    "Datenquelle (Strukturversion=SV);Zusatz-Info;Besonderheiten;Literaturhinweis;eor;"
)


def parameter_lines() -> bytes:
    lines = [HEADER]
    for param in ("TT_TU", "RF_TU"):
        for start, end, ref in (
            ("19900101", "20001231", "MEZ"),
            ("20010101", "20010630", "UTC"),
            ("20010701", "20011231", "MEZ"),
        ):
            lines.append(f"4711;{start};{end};Testdorf;{param};x;x;x;Stundenwerte in {ref};;;eor;")
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


def produkt() -> bytes:
    out = ["STATIONS_ID;MESS_DATUM;QN_9;TT_TU;RF_TU;eor"]
    out += [f"       4711;{md};    3;{t:6.1f};  80.0;eor" for md, t in ROWS.items()]
    return ("\r\n".join(out) + "\r\n").encode("ascii")


def test_mez_utc_switches_shift_and_never_duplicate_an_hour(settings: Settings) -> None:
    data = make_zip(
        {
            "produkt_tu_stunde_20001231_20010701_04711.txt": produkt(),
            "Metadaten_Parameter_tu_stunde_04711.txt": parameter_lines(),
            "Metadaten_Geographie_04711.txt": (
                "Stations_id;Stationshoehe;Geogr.Breite;Geogr.Laenge;von_datum;bis_datum;Stationsname\n"
                "  4711;   10.00; 50.0000;  8.0000;19900101;        ;Testdorf\n"
            ).encode("latin-1"),
        }
    )
    put(settings, "air_temperature", "recent", data, "stundenwerte_TU_04711_akt.zip")
    result = stage_product(settings, "air_temperature", progress=False)
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
