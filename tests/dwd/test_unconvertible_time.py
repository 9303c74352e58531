"""Rows in a period whose time reference cannot be made UTC with a whole-hour shift (MOZ, or a Zusatz-Info
naming no reference) are left out and counted; the file's UTC and MEZ rows are kept exactly as before.

Built from the real historical zip of station 00044 (128547 rows, 2007-04-01 00 .. 2021-12-31 23, every
period "Stundenwerte in UTC"), with only its Metadaten_Parameter edited. The row counts per year were counted
from the produkt file with awk, independently of the parser: 6335 rows in 2007, 8619 in 2008, 113593 later.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pyarrow as pa
import pyarrow.compute as pc

from tests.dwd.helpers import make_zip, sample, zip_members
from weatherinsight.dwd.metadata import DroppedPeriod
from weatherinsight.dwd.produkt_zip import read_produkt_zip

HIST = "air_temperature/zeppr_00044/stundenwerte_TU_00044_20070401_20211231_hist.zip"
NAME = "stundenwerte_TU_00044_20070401_20211231_hist.zip"
PARAMETER = "Metadaten_Parameter_tu_stunde_00044.txt"
TT_UTC = "44;20070401;20220329;Großenkneten;TT_TU;"
ROWS_TOTAL, ROWS_2007, ROWS_2008 = 128547, 6335, 8619


def utc(y: int, m: int, d: int, hour: int) -> datetime:
    return datetime(y, m, d, hour, tzinfo=UTC)


def with_tt_periods(periods: list[tuple[str, str, str]], *, rf_info: str | None = None) -> bytes:
    """The real zip with TT_TU's one UTC line replaced by ``periods`` (von, bis, Zusatz-Info); optionally
    RF_TU's Zusatz-Info replaced too. Everything else (CRLF, latin-1, trailer lines) stays DWD's."""
    members = zip_members(HIST)
    text = members[PARAMETER].decode("latin-1")
    lines = text.split("\r\n")
    (i,) = [n for n, line in enumerate(lines) if line.startswith(TT_UTC)]
    fields = lines[i].split(";")
    assert fields[8] == "Stundenwerte in UTC"
    new = [";".join([fields[0], von, bis, *fields[3:8], info, *fields[9:]]) for von, bis, info in periods]
    lines[i : i + 1] = new
    if rf_info is not None:
        (j,) = [n for n, line in enumerate(lines) if ";RF_TU;" in line]
        rf = lines[j].split(";")
        lines[j] = ";".join([*rf[:8], rf_info, *rf[9:]])
    members[PARAMETER] = "\r\n".join(lines).encode("latin-1")
    return make_zip(members)


def pairs(table, start: int, stop: int) -> list[tuple[datetime, float]]:  # type: ignore[no-untyped-def]
    t = table.slice(start, stop - start)
    return list(zip(t.column("ts").to_pylist(), t.column("temperature").to_pylist(), strict=True))


def test_moz_period_rows_are_dropped_and_counted_mez_and_utc_rows_staged() -> None:
    # The MOZ period ends on the MEZ period's first day, as DWD repeats boundary days: the period that
    # starts last (MEZ) decides 2008-01-01, so the MOZ rows are exactly those of 2007.
    data = with_tt_periods(
        [
            ("20070401", "20080101", "Stundenwerte in MOZ"),
            ("20080101", "20081231", "Stundenwerte in MEZ"),
            ("20090101", "20220329", "Stundenwerte in UTC"),
        ]
    )
    result = read_produkt_zip(data, file_name=NAME)
    assert result.station_id == 44
    assert result.dropped == [
        DroppedPeriod("TT_TU", date(2007, 4, 1), date(2008, 1, 1), "MOZ", "Stundenwerte in MOZ", ROWS_2007)
    ]
    assert result.rows_dropped == 6335
    t = result.table
    assert t.num_rows == ROWS_TOTAL - ROWS_2007 == 122212
    assert pc.count_distinct(t.column("ts")).as_py() == t.num_rows
    # The MEZ year moves by −1 h: local 2008-01-01 00 (0.8 °C) is 2007-12-31 23 UTC; no 2007 row survives.
    assert pairs(t, 0, 2) == [(utc(2007, 12, 31, 23), 0.8), (utc(2008, 1, 1, 0), 0.6)]
    mid = t.filter(pc.equal(t.column("ts"), pa.scalar(utc(2008, 6, 15, 11), t.column("ts").type))).column(
        "temperature"
    )
    assert mid.to_pylist() == [14.2]  # local 2008061512 MEZ
    # MEZ → UTC at 2009-01-01: local 2008123123 is 22 UTC, 23 UTC stays missing, then UTC rows unshifted.
    assert pairs(t, ROWS_2008 - 1, ROWS_2008 + 2) == [
        (utc(2008, 12, 31, 22), -4.2),
        (utc(2009, 1, 1, 0), -4.1),
        (utc(2009, 1, 1, 1), -3.7),
    ]
    # Every UTC row is exactly what the unedited zip gives.
    original = read_produkt_zip(sample(HIST), file_name=NAME)
    assert original.dropped == [] and original.table.num_rows == ROWS_TOTAL
    assert t.slice(ROWS_2008).equals(original.table.slice(ROWS_2007 + ROWS_2008))


def test_unknown_reference_is_dropped_and_a_file_wholly_in_it_gives_zero_rows() -> None:
    data = with_tt_periods([("20070401", "20220329", "")])
    result = read_produkt_zip(data, file_name=NAME)
    assert result.dropped == [
        DroppedPeriod("TT_TU", date(2007, 4, 1), date(2022, 3, 29), "unknown", "", ROWS_TOTAL)
    ]
    assert result.table.num_rows == 0 and result.station_id == 44
    assert result.table.schema.names == ["station_id", "ts", "qn", "temperature", "relative_humidity"]


def test_two_unconvertible_periods_are_counted_separately() -> None:
    data = with_tt_periods(
        [
            ("20070401", "20071231", "Stundenwerte in MOZ"),
            ("20080101", "20081231", "Zeitbezug unbekannt"),
            ("20090101", "20220329", "Stundenwerte in UTC"),
        ]
    )
    result = read_produkt_zip(data, file_name=NAME)
    assert [(d.reference, d.info, d.rows) for d in result.dropped] == [
        ("MOZ", "Stundenwerte in MOZ", ROWS_2007),
        ("unknown", "Zeitbezug unbekannt", ROWS_2008),
    ]
    assert result.table.num_rows == 113593
    assert result.table.column("ts")[0].as_py() == utc(2009, 1, 1, 0)


def test_only_the_primary_variable_decides() -> None:
    """RF_TU in MOZ while TT_TU (air temperature's primary) is UTC: nothing is dropped (docs/design.md §5)."""
    data = with_tt_periods([("20070401", "20220329", "Stundenwerte in UTC")], rf_info="Stundenwerte in MOZ")
    result = read_produkt_zip(data, file_name=NAME)
    assert [p.reference for p in result.periods if p.parameter == "RF_TU"] == ["MOZ"]
    assert result.dropped == [] and result.table.num_rows == ROWS_TOTAL
