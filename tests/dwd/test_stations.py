"""Station description lists: the real 2016/2021/2022/2023 files and a synthesized 2024+ list with Abgabe."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest

from tests.dwd.helpers import sample
from weatherinsight.dwd.stations import STATION_LIST_SCHEMA, parse_station_list
from weatherinsight.errors import DwdFormatError

TU_2023 = "air_temperature/TU_Stundenwerte_Beschreibung_Stationen.txt"
TU_2016 = "air_temperature/legacy_2016_format/TU_Stundenwerte_Beschreibung_Stationen.txt"


def by_id(table) -> dict[int, dict[str, object]]:  # type: ignore[no-untyped-def]
    return {r["station_id"]: r for r in table.to_pylist()}


def test_tu_2023_list() -> None:
    table = parse_station_list(sample(TU_2023), file_name=TU_2023)
    assert table.schema == STATION_LIST_SCHEMA
    assert table.num_rows == 660  # 662 lines minus header and ruler
    rows = by_id(table)
    assert rows[44] == {
        "station_id": 44,
        "valid_from": date(2007, 4, 1),
        "valid_to": date(2023, 2, 8),
        "height_m": 44.0,
        "latitude": 52.9336,
        "longitude": 8.237,
        "station_name": "Großenkneten",
        "state": "Niedersachsen",
    }
    names = {r["station_name"] for r in rows.values()}
    assert {"Kubschütz, Kr. Bautzen", "Bamberg (Sternwarte)", "Berka, Bad (Flugplatz)"} <= names
    assert sum(" " in n for n in names) == 124  # FORMAT §1.4: 124/660 TU names contain a space
    states = Counter(r["state"] for r in rows.values())
    assert len(states) == 16
    assert states["Baden-Württemberg"] == 101 and states["Thüringen"] == 33 and states["Bayern"] == 136
    assert table.column("valid_to").null_count == 0


def test_legacy_2016_list_unpadded_ids() -> None:
    raw = sample(TU_2016)
    assert raw.splitlines()[2].startswith(b"          3 19500401")  # id right-aligned, not zero-padded
    table = parse_station_list(raw, file_name=TU_2016)
    assert table.num_rows == 622  # 624 lines minus header/ruler; the trailing DOS Ctrl-Z is not a station
    rows = by_id(table)
    assert rows[3]["station_name"] == "Aachen" and rows[3]["state"] == "Nordrhein-Westfalen"
    assert rows[44]["valid_to"] == date(2016, 10, 19) and rows[44]["latitude"] == 52.9335
    assert rows[44]["station_name"] == "Großenkneten"
    assert "Berlin-Alexanderplatz (135m)" in {r["station_name"] for r in rows.values()}


@pytest.mark.parametrize(
    ("rel", "rows"),
    [
        ("precipitation/RR_Stundenwerte_Beschreibung_Stationen.txt", 1439),
        ("wind/FF_Stundenwerte_Beschreibung_Stationen.txt", 522),
        ("pressure/P0_Stundenwerte_Beschreibung_Stationen.txt", 526),
    ],
)
def test_crlf_lists(rel: str, rows: int) -> None:
    raw = sample(rel)
    assert b"\r\n" in raw
    table = parse_station_list(raw, file_name=rel)
    assert table.num_rows == rows
    assert all(" " not in s for s in table.column("state").to_pylist())
    lf = parse_station_list(raw.replace(b"\r\n", b"\n"), file_name=rel)
    assert lf.equals(table)


def test_rr_list_names_with_umlauts_and_parentheses() -> None:
    table = parse_station_list(
        sample("precipitation/RR_Stundenwerte_Beschreibung_Stationen.txt"), file_name="rr"
    )
    rows = by_id(table)
    assert rows[20]["station_name"] == "Abtsgmünd-Untergröningen"
    assert rows[20]["state"] == "Baden-Württemberg"
    assert rows[29]["station_name"] == "Adelsdorf (Kläranlage)"


def with_abgabe(raw: bytes, *, state_width: int) -> bytes:
    """The 2023 TU list rewritten in the 2024+ layout: an extra trailing ``Abgabe`` column (value ``Frei``)."""
    lines = raw.decode("latin-1").splitlines()
    out = [lines[0] + " Abgabe", lines[1] + " ------"]
    for line in lines[2:]:
        head, state = line[:102], line[102:].strip()
        out.append(f"{head}{state:<{state_width}} Frei")
    return ("\n".join(out) + "\n").encode("latin-1")


@pytest.mark.parametrize("state_width", [0, 40])
def test_2024_list_with_abgabe_column(state_width: int) -> None:
    base = parse_station_list(sample(TU_2023), file_name=TU_2023)
    table = parse_station_list(with_abgabe(sample(TU_2023), state_width=state_width), file_name="2024.txt")
    assert table.equals(base)
    assert "Frei" not in set(table.column("state").to_pylist())


def test_utf8_copy_is_read_as_utf8() -> None:
    """Strict UTF-8 first (a future DWD switch), latin-1 otherwise: a UTF-8 copy gives the same table."""
    raw = sample(TU_2023)
    utf8 = raw.decode("latin-1").encode("utf-8")
    assert parse_station_list(utf8, file_name="utf8").equals(parse_station_list(raw, file_name="latin1"))


def test_station_list_bad_line_and_header() -> None:
    lines = sample(TU_2023).splitlines(keepends=True)
    broken = b"".join([*lines[:5], b"00XX4 2007 garbage\n", *lines[5:]])
    with pytest.raises(DwdFormatError) as info:
        parse_station_list(broken, file_name="TU_list.txt")
    assert info.value.line == 6 and info.value.file == "TU_list.txt"
    with pytest.raises(DwdFormatError, match="unexpected header"):
        parse_station_list(b"foo bar\n" + b"".join(lines[1:]), file_name="TU_list.txt")
    with pytest.raises(DwdFormatError, match="empty"):
        parse_station_list(b"", file_name="TU_list.txt")
