"""Rows outside the range a file's name promises are staged or counted — never dropped silently (issue #14, defect 4).

A historical zip named for 2000 holds three rows of 2000Q4, one of 1999-12-31 23 h (just before its range:
staged), one of 1998Q2 (long before it, a quarter no run writes) and one dated 2031 (after now: a bad row). Before the fix the last two were parsed and dropped
with "rows left out: 0".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from tests.fixtures.core import make_settings
from tests.staging.conftest import make_zip, put
from weatherinsight.dwd.products import get_product
from weatherinsight.settings import Settings
from weatherinsight.staging import stage_product
from weatherinsight.staging.result import FUTURE_ROWS, OUTSIDE_PLAN_ROWS

STATION = 4711
HEADER = (
    "Stations_ID;Von_Datum;Bis_Datum;Stationsname;Parameter;Parameterbeschreibung;Einheit;"
    "Datenquelle (Strukturversion=SV);Zusatz-Info;Besonderheiten;Literaturhinweis;eor;"
)
ROWS = {1998061512: 0.5, 1999123123: 1.0, 2000100100: 2.0, 2000100101: 3.0, 2000100102: 4.0, 2031010100: 5.0}


def _zip(station: int = STATION, rows: dict[int, float] = ROWS, span: str = "20000101_20001231") -> bytes:
    params = [HEADER] + [
        f"{station};19900101;20351231;Testdorf;{p};x;x;x;Stundenwerte in UTC;;;eor;"
        for p in ("TT_TU", "RF_TU")
    ]
    produkt = ["STATIONS_ID;MESS_DATUM;QN_9;TT_TU;RF_TU;eor"] + [
        f"{station:>11};{md};    3;{t:6.1f};  80.0;eor" for md, t in rows.items()
    ]
    return make_zip(
        {
            f"produkt_tu_stunde_{span}_{station:05d}.txt": ("\r\n".join(produkt) + "\r\n").encode(),
            f"Metadaten_Parameter_tu_stunde_{station:05d}.txt": ("\r\n".join(params) + "\r\n").encode(
                "latin-1"
            ),
            f"Metadaten_Geographie_{station:05d}.txt": (
                "Stations_id;Stationshoehe;Geogr.Breite;Geogr.Laenge;von_datum;bis_datum;Stationsname\n"
                f"  {station};   10.00; 50.0000;  8.0000;19900101;        ;Testdorf\n"
            ).encode("latin-1"),
        }
    )


def test_rows_outside_the_named_range_are_counted_with_a_reason(settings: Settings) -> None:
    put(
        settings,
        "air_temperature",
        "historical",
        _zip(),
        f"stundenwerte_TU_{STATION:05d}_20000101_20001231_hist.zip",
    )
    with capture_logs() as logs:
        result = stage_product(settings, get_product("air_temperature"))
    assert result.quarantined == []
    # the hour just before the range falls in the plan's margin: staged in its own quarter, not lost
    assert result.rows_by_quarter == {"1999Q4": 1, "2000Q4": 3}
    assert result.rows_left_out == {f"{FUTURE_ROWS} (2031Q1)": 1, f"{OUTSIDE_PLAN_ROWS} (1998Q2)": 1}
    assert "2 row(s) left out: " in result.message
    assert f"1 {FUTURE_ROWS} (2031Q1)" in result.message
    warned = [e for e in logs if e["event"] == "stage.rows_left_out"]
    assert [e["rows"] for e in warned] == [result.rows_left_out]


def test_rows_in_an_already_staged_quarter_outside_the_files_range_are_counted(settings: Settings) -> None:
    """Gap of defect 4: 1998Q2 is staged (another station's file); a new file named for 2000 holds a 1998Q2 row.

    1998Q2's fingerprint does not change (the new file's name does not reach it), so the run does not rewrite
    it: before the fix that row was dropped with "rows left out: 0".
    """
    product = get_product("air_temperature")
    other = 4712
    put(
        settings,
        "air_temperature",
        "historical",
        _zip(other, {1998061512: 7.0, 1998061513: 8.0}, "19980101_19981231"),
        f"stundenwerte_TU_{other:05d}_19980101_19981231_hist.zip",
    )
    first = stage_product(settings, product)
    assert first.rows_by_quarter == {"1998Q2": 2} and first.rows_left_out == {}

    rows = {1998061512: 0.5, 2000100100: 2.0, 2000100101: 3.0}
    put(
        settings,
        "air_temperature",
        "historical",
        _zip(STATION, rows),
        f"stundenwerte_TU_{STATION:05d}_20000101_20001231_hist.zip",
    )
    second = stage_product(settings, product)
    assert second.quarantined == []
    assert second.rows_by_quarter == {"2000Q4": 2}
    assert second.rows_left_out == {f"{OUTSIDE_PLAN_ROWS} (1998Q2)": 1}
    assert "1 row(s) left out: " in second.message
    # staged + left out = every parsed row of the new file
    assert sum(second.rows_by_quarter.values()) + sum(second.rows_left_out.values()) == len(rows)


@pytest.mark.spark
def test_spark_counts_the_same_rows_left_out_as_the_embedded_path(tmp_path: Path, spark: Any) -> None:
    """The Spark path reports the rows it does not write exactly as the embedded path does (one station)."""
    results = {}
    for engine in ("duckdb", "spark"):
        s = make_settings(tmp_path / engine)
        put(
            s,
            "air_temperature",
            "historical",
            _zip(),
            f"stundenwerte_TU_{STATION:05d}_20000101_20001231_hist.zip",
        )
        kwargs: dict[str, Any] = {"engine": engine}
        if engine == "spark":
            kwargs["spark_session"] = spark
        results[engine] = stage_product(s, get_product("air_temperature"), **kwargs)
    embedded, remote = results["duckdb"], results["spark"]
    assert embedded.rows_left_out == {f"{FUTURE_ROWS} (2031Q1)": 1, f"{OUTSIDE_PLAN_ROWS} (1998Q2)": 1}
    assert remote.rows_left_out == embedded.rows_left_out
    assert remote.rows_by_quarter == embedded.rows_by_quarter == {"1999Q4": 1, "2000Q4": 3}
