"""Every real DWD sample parses to exactly the figures in tests/data/dwd/PROVENANCE.md.

Row counts, first/last UTC timestamps, NULLs where DWD wrote -999, and the QN distribution, per file. The
figures were computed independently while the files were copied (PROVENANCE.md) and re-checked here.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections import Counter
from datetime import UTC, datetime

import pyarrow as pa
import pytest

from tests.dwd.helpers import SAMPLES, all_zip_paths, sample
from weatherinsight.dwd.products import get_product
from weatherinsight.dwd.produkt import parse_produkt, produkt_schema
from weatherinsight.dwd.produkt_zip import read_produkt_zip
from weatherinsight.errors import DwdFormatError


def h(text: str) -> datetime:
    """YYYYMMDDHH → aware UTC datetime."""
    return datetime.strptime(text, "%Y%m%d%H").replace(tzinfo=UTC)


# (path under tests/data/dwd, rows, first, last, NULL counts per canonical column, QN distribution)
ZIPS = [
    (
        "air_temperature/hamburg_01975_release_2019-09-05/stundenwerte_TU_01975_akt.zip",
        13200,
        "2018030400",
        "2019090423",
        {"temperature": 18, "relative_humidity": 18},
        {3: 12480, 1: 720},
    ),
    (
        "air_temperature/hamburg_01975_release_2021-08-27/stundenwerte_TU_01975_akt.zip",
        13200,
        "2020022400",
        "2021082623",
        {},
        {3: 11448, 1: 1752},
    ),
    (
        "air_temperature/hamburg_01975_release_2021-09-19/stundenwerte_TU_01975_akt.zip",
        13200,
        "2020031800",
        "2021091823",
        {},
        {3: 11448, 1: 1752},
    ),
    (
        "air_temperature/zeppr_00044/stundenwerte_TU_00044_20070401_20211231_hist.zip",
        128547,
        "2007040100",
        "2021123123",
        {"temperature": 58, "relative_humidity": 58},
        {3: 128547},
    ),
    (
        "air_temperature/zeppr_00044/stundenwerte_TU_00044_akt.zip",
        13200,
        "2021080800",
        "2023020823",
        {"temperature": 63, "relative_humidity": 63},
        {3: 11448, 1: 1752},
    ),
    ("moisture/zeppr_00044/stundenwerte_TF_00044_akt.zip", 13012, "2021080800", "2023020823", {}, {3: 13012}),
    (
        "precipitation/hamburg_01975_release_2019-09-05/stundenwerte_RR_01975_akt.zip",
        13196,
        "2018030400",
        "2019090423",
        {"precipitation_height": 10, "precipitation_indicator": 10, "precipitation_form": 4400},
        {3: 12452, 1: 744},
    ),
    (
        "precipitation/hamburg_01975_release_2021-08-27/stundenwerte_RR_01975_akt.zip",
        13161,
        "2020022400",
        "2021082623",
        {"precipitation_height": 77, "precipitation_indicator": 77, "precipitation_form": 4364},
        {3: 11409, 1: 1752},
    ),
    (
        "precipitation/hamburg_01975_release_2021-09-19/stundenwerte_RR_01975_akt.zip",
        13161,
        "2020031800",
        "2021091823",
        {"precipitation_height": 77, "precipitation_indicator": 77, "precipitation_form": 4364},
        {3: 11409, 1: 1752},
    ),
    (
        "pressure/hamburg_01975_release_2019-09-05/stundenwerte_P0_01975_akt.zip",
        13200,
        "2018030400",
        "2019090423",
        {"pressure_sea_level": 18, "pressure_station": 18},
        {3: 12456, 1: 744},
    ),
    (
        "pressure/zeppr_00096/stundenwerte_P0_00096_akt.zip",
        13200,
        "2021080900",
        "2023020923",
        {"pressure_sea_level": 16},
        {3: 11448, 1: 1752},
    ),
    (
        "wind/hamburg_01975_release_2019-09-05/stundenwerte_FF_01975_akt.zip",
        13183,
        "2018030400",
        "2019090423",
        {"wind_speed": 83},
        {10: 10879, 3: 1584, 1: 720},
    ),
    (
        "wind/hamburg_01975_release_2021-08-27/stundenwerte_FF_01975_akt.zip",
        13200,
        "2020022400",
        "2021082623",
        {},
        {10: 8904, 3: 2544, 1: 1752},
    ),
    (
        "wind/hamburg_01975_release_2021-09-19/stundenwerte_FF_01975_akt.zip",
        13200,
        "2020031800",
        "2021091823",
        {},
        {10: 9096, 3: 2352, 1: 1752},
    ),
]

BARE = [
    (
        "lahr_02812_daily_and_hourly/produkt_tu_stunde_20180209_20190812_02812.txt",
        2812,
        13200,
        "2018020900",
        "2019081223",
        {},
        {3: 12480, 1: 720},
    ),
    (
        "air_temperature/bare_produkt/produkt_tu_stunde_20190912_20210314_00044.txt",
        44,
        13200,
        "2019091200",
        "2021031423",
        {"temperature": 21, "relative_humidity": 21},
        {3: 11448, 1: 1752},
    ),
    (
        "air_temperature/ulm_15444_unzipped/stundenwerte_TU_15444_20140901_20181231_hist/"
        "produkt_tu_stunde_20140901_20181231_15444.txt",
        15444,
        37923,
        "2014090100",
        "2018123123",
        {"relative_humidity": 3},
        {3: 37923},
    ),
    (
        "air_temperature/ulm_15444_unzipped/stundenwerte_TU_15444_akt/produkt_tu_stunde_20180924_20200326_15444.txt",
        15444,
        13200,
        "2018092400",
        "2020032623",
        {"temperature": 63, "relative_humidity": 63},
        {3: 11448, 1: 1752},
    ),
]

LEGACY = [
    "air_temperature/legacy_2016_format/stundenwerte_TU_01048_akt.zip",
    "precipitation/legacy_2016_format/stundenwerte_RR_01048_akt.zip",
    "pressure/legacy_2016_format/stundenwerte_P0_01048_akt.zip",
    "wind/legacy_2016_format/stundenwerte_FF_01048_akt.zip",
]


def test_every_sample_zip_is_covered() -> None:
    listed = {p for p, *_ in ZIPS} | set(LEGACY)
    on_disk = {str(p.relative_to(SAMPLES)) for p in all_zip_paths()}
    assert listed == on_disk
    bare_on_disk = {str(p.relative_to(SAMPLES)) for p in SAMPLES.rglob("produkt_*.txt")}
    assert {p for p, *_ in BARE} | LAHR_OTHER == bare_on_disk


#: Lahr's daily KL and hourly RR files, read by tests/features/test_lahr_fidelity.py (the KL file is daily:
#: the hourly parser cannot read it), and the sun excerpt, read by tests/features/test_sun_lahr.py.
LAHR_OTHER = {
    "lahr_02812_daily_and_hourly/produkt_klima_tag_19500101_20181231_02812.txt",
    "lahr_02812_daily_and_hourly/produkt_rr_stunde_20180209_20190812_02812.txt",
    "lahr_02812_daily_and_hourly/produkt_sd_stunde_20180209_20190812_02812_excerpt.txt",
}


def check_table(
    table: pa.Table,
    product_code: str,
    station: int,
    rows: int,
    first: str,
    last: str,
    nulls: dict[str, int],
    qn: dict[int, int],
) -> None:
    product = get_product(product_code)
    assert table.schema == produkt_schema(product)
    assert table.num_rows == rows
    ts = table.column("ts").to_pylist()
    assert ts[0] == h(first)
    assert ts[-1] == h(last)
    assert all(a < b for a, b in itertools.pairwise(ts))  # sorted, unique
    assert set(table.column("station_id").to_pylist()) == {station}
    got_nulls = {c: table.column(c).null_count for c in product.value_columns if table.column(c).null_count}
    assert got_nulls == nulls
    assert table.column("qn").null_count == 0
    assert dict(Counter(table.column("qn").to_pylist())) == qn


@pytest.mark.parametrize(("rel", "rows", "first", "last", "nulls", "qn"), ZIPS, ids=[z[0] for z in ZIPS])
def test_real_zip(
    rel: str, rows: int, first: str, last: str, nulls: dict[str, int], qn: dict[int, int]
) -> None:
    name = rel.rsplit("/", 1)[1]
    result = read_produkt_zip(sample(rel), file_name=name)
    code = name.split("_")[1]
    station = int(name.split("_")[2])
    assert result.product.code == code
    assert result.station_id == station
    assert result.period == ("historical" if name.endswith("_hist.zip") else "recent")
    assert result.produkt_name.startswith(f"produkt_{code.lower()}_stunde_")
    # The zip entry's own timestamp (release day, used to order recent releases).
    release = rel.split("release_")[1][:10] if "release_" in rel else None
    if release:
        assert result.produkt_modified.date().isoformat() == release
    assert result.geography is not None and result.geography.num_rows >= 3
    assert result.geography.column("valid_to").null_count == 1  # exactly one current location
    check_table(result.table, code, station, rows, first, last, nulls, qn)


@pytest.mark.parametrize(
    ("rel", "station", "rows", "first", "last", "nulls", "qn"), BARE, ids=[b[0] for b in BARE]
)
def test_real_bare_produkt(
    rel: str, station: int, rows: int, first: str, last: str, nulls: dict[str, int], qn: dict[int, int]
) -> None:
    table = parse_produkt(sample(rel), get_product("air_temperature"), file_name=rel)
    check_table(table, "TU", station, rows, first, last, nulls, qn)


def test_known_rows_exact_values() -> None:
    """Spot rows quoted in docs/dwd-format.md, value for value (padding trimmed, -999 → NULL, rest of row kept)."""
    ff = read_produkt_zip(sample(ZIPS[11][0]), file_name="stundenwerte_FF_01975_akt.zip").table
    row = ff.filter(pa.compute.equal(ff.column("ts"), pa.scalar(h("2018060309"), pa.timestamp("us", "UTC"))))
    assert row.to_pylist() == [
        {"station_id": 1975, "ts": h("2018060309"), "qn": 10, "wind_speed": None, "wind_direction": 280}
    ]
    assert ff.slice(0, 1).to_pylist()[0] == {
        "station_id": 1975,
        "ts": h("2018030400"),
        "qn": 10,
        "wind_speed": 5.2,
        "wind_direction": 100,
    }
    tf = read_produkt_zip(sample(ZIPS[5][0]), file_name="stundenwerte_TF_00044_akt.zip").table
    assert tf.slice(0, 1).to_pylist()[0] == {
        "station_id": 44,
        "ts": h("2021080800"),
        "qn": 3,
        "absolute_humidity": 11.3,
        "vapour_pressure": 15.0,
        "wet_bulb_temperature": 13.4,
        "pressure": 1008.0,
        "temperature": 14.1,
        "relative_humidity": 93.1,
        "dew_point": 13.0,
    }
    # FORMAT §2.6: P_STD is the constant 1008.0 in all 13012 rows at 00044.
    assert set(tf.column("pressure").to_pylist()) == {1008.0}


def test_pressure_p_versus_p0() -> None:
    """P = sea level, P0 = station height: at 00096, P is NULL where DWD wrote -999 while P0 stays valid."""
    table = read_produkt_zip(sample(ZIPS[10][0]), file_name="stundenwerte_P0_00096_akt.zip").table
    missing_p = table.filter(table.column("pressure_sea_level").is_null())
    assert missing_p.num_rows == 16
    assert missing_p.column("pressure_station").null_count == 0
    row = table.filter(
        pa.compute.equal(table.column("ts"), pa.scalar(h("2022062212"), pa.timestamp("us", "UTC")))
    )
    assert row.to_pylist() == [
        {
            "station_id": 96,
            "ts": h("2022062212"),
            "qn": 3,
            "pressure_sea_level": None,
            "pressure_station": 1006.6,
        }
    ]
    first = table.slice(0, 1).to_pylist()[0]
    assert (first["pressure_sea_level"], first["pressure_station"]) == (1015.1, 1008.9)


def test_precipitation_int_columns_and_wrtr_hours() -> None:
    table = read_produkt_zip(sample(ZIPS[8][0]), file_name="stundenwerte_RR_01975_akt.zip").table
    assert table.schema.field("precipitation_indicator").type == pa.int8()
    assert table.schema.field("precipitation_form").type == pa.int8()
    assert table.slice(1, 1).to_pylist()[0] == {
        "station_id": 1975,
        "ts": h("2020031801"),
        "qn": 3,
        "precipitation_height": 0.0,
        "precipitation_indicator": 0,
        "precipitation_form": 0,
    }
    forms = set(table.column("precipitation_form").drop_null().to_pylist())
    assert forms == {0, 1, 6, 7, 8}  # the codes FORMAT §2.3 saw
    # WRTR is not reported at 00,03,…,21 UTC (FORMAT §2.3): all those hours are NULL.
    synop = pa.compute.hour(table.column("ts")).to_numpy() % 3 == 0
    assert synop.sum() > 4000
    assert table.filter(pa.array(synop)).column("precipitation_form").null_count == int(synop.sum())


def test_recent_releases_revision_visible() -> None:
    """FORMAT §3: the value 2021081809 F changed 6.0 → 5.9 between the two 2021 FF releases."""
    old = read_produkt_zip(sample(ZIPS[12][0]), file_name="stundenwerte_FF_01975_akt.zip").table
    new = read_produkt_zip(sample(ZIPS[13][0]), file_name="stundenwerte_FF_01975_akt.zip").table
    key = pa.scalar(h("2021081809"), pa.timestamp("us", "UTC"))
    assert old.filter(pa.compute.equal(old.column("ts"), key)).column("wind_speed").to_pylist() == [6.0]
    assert new.filter(pa.compute.equal(new.column("ts"), key)).column("wind_speed").to_pylist() == [5.9]


@pytest.mark.parametrize("rel", LEGACY)
def test_legacy_2016_zip_rejected_clearly(rel: str) -> None:
    name = rel.rsplit("/", 1)[1]
    with pytest.raises(DwdFormatError) as info:
        read_produkt_zip(sample(rel), file_name=name)
    err = info.value
    assert "pre-2017 legacy produkt layout" in str(err)
    assert err.line == 1
    assert err.file.startswith(f"{name}:produkt_") and "_Terminwerte_" in err.file


def test_samples_are_the_provenance_bytes() -> None:
    """Every file under tests/data/dwd is listed in PROVENANCE.md with its exact size and sha256."""
    text = (SAMPLES / "PROVENANCE.md").read_text(encoding="utf-8")
    listed = {
        m[1]: (int(m[2]), m[3])
        for m in re.finditer(
            r"^### `([^`]+)`\n- source: .*\n- size (\d+) bytes, sha256 `([0-9a-f]{64})`", text, re.M
        )
    }
    on_disk = {
        str(p.relative_to(SAMPLES)): p
        for p in SAMPLES.rglob("*")
        if p.is_file() and p.name not in ("PROVENANCE.md", ".gitattributes")
    }
    assert set(listed) == set(on_disk)
    assert len(listed) == 45
    for rel, path in on_disk.items():
        data = path.read_bytes()
        assert (len(data), hashlib.sha256(data).hexdigest()) == listed[rel], rel
