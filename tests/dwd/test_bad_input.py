"""Bad input, one test each: every case raises DwdFormatError naming the file (and the line where there is one)."""

from __future__ import annotations

import struct
import zipfile
from datetime import date

import pytest

from tests.dwd.helpers import make_zip, sample, zip_members
from weatherinsight.dwd.files import SafeZip, parse_zip_name, read_zip_members
from weatherinsight.dwd.products import get_product
from weatherinsight.dwd.produkt import parse_produkt
from weatherinsight.dwd.produkt_zip import read_produkt_zip
from weatherinsight.errors import DwdFormatError, UnknownProductError

TU_ZIP = "air_temperature/zeppr_00044/stundenwerte_TU_00044_akt.zip"
TU_NAME = "stundenwerte_TU_00044_akt.zip"
TU = get_product("air_temperature")
PRODUKT = "produkt_tu_stunde_20210808_20230208_00044.txt"


def real_members() -> dict[str, bytes]:
    return zip_members(TU_ZIP)


def real_produkt() -> bytes:
    return real_members()[PRODUKT]


def replace_line(data: bytes, line_no: int, new: bytes) -> bytes:
    lines = data.split(b"\r\n")
    lines[line_no - 1] = new
    return b"\r\n".join(lines)


# ---- zips ---------------------------------------------------------------------------------------------


def test_corrupt_zip() -> None:
    data = sample(TU_ZIP)
    with pytest.raises(DwdFormatError, match="corrupt zip") as info:
        read_produkt_zip(data[: len(data) // 2], file_name=TU_NAME)
    assert info.value.file == TU_NAME
    with pytest.raises(DwdFormatError, match="corrupt zip"):
        read_zip_members(b"this is not a zip at all", file_name="x.zip")


def test_corrupt_member_data_crc() -> None:
    """A flipped byte inside the compressed produkt stream: deflate or CRC failure, not a zlib/BadZip leak."""
    members = real_members()
    data = bytearray(make_zip({PRODUKT: members[PRODUKT]}, compression=zipfile.ZIP_STORED))
    data[200] ^= 0xFF  # inside the stored produkt text: only the CRC can tell
    with pytest.raises(DwdFormatError, match="corrupt zip member") as info:
        read_produkt_zip(bytes(data), file_name=TU_NAME)
    assert TU_NAME in str(info.value)


def test_zip_without_produkt() -> None:
    members = {k: v for k, v in real_members().items() if not k.startswith("produkt_")}
    with pytest.raises(DwdFormatError, match=r"exactly one produkt_\*\.txt member, found 0") as info:
        read_produkt_zip(make_zip(members), file_name=TU_NAME)
    assert info.value.file == TU_NAME


def test_zip_with_two_produkt_files() -> None:
    members = real_members()
    members["produkt_tu_stunde_20200101_20201231_00044.txt"] = members[PRODUKT]
    with pytest.raises(DwdFormatError, match="found 2") as info:
        read_produkt_zip(make_zip(members), file_name=TU_NAME)
    assert PRODUKT in str(info.value)


@pytest.mark.parametrize(
    "evil",
    ["../produkt_tu_stunde_x_00044.txt", "/etc/passwd", "a/../../b.txt", "..\\..\\win.txt", "C:/temp/x.txt"],
)
def test_zip_slip_entry(evil: str) -> None:
    members = real_members()
    members[evil] = b"owned"
    with pytest.raises(DwdFormatError, match="zip-slip") as info:
        read_produkt_zip(make_zip(members), file_name=TU_NAME)
    assert info.value.file == TU_NAME
    with pytest.raises(DwdFormatError, match="zip-slip"):
        read_zip_members(make_zip(members), file_name=TU_NAME)


def declare_size(data: bytes, size: int) -> bytes:
    """Rewrite the central directory's uncompressed size of every entry (a lying zip header)."""
    out = bytearray(data)
    pos = out.find(b"PK\x01\x02")
    while pos != -1:
        out[pos + 24 : pos + 28] = struct.pack("<I", size)
        pos = out.find(b"PK\x01\x02", pos + 4)
    return bytes(out)


def test_zip_bomb_declared_size() -> None:
    bomb = declare_size(make_zip(real_members()), 0xFFFFFFF0)  # ~4 GiB per entry, absurd
    with pytest.raises(DwdFormatError, match="zip bomb") as info:
        read_produkt_zip(bomb, file_name=TU_NAME)
    assert info.value.file == TU_NAME
    with pytest.raises(DwdFormatError, match="declares"):
        read_zip_members(bomb, file_name=TU_NAME)


def test_zip_bomb_lying_header_never_inflates_past_it() -> None:
    """The header claims 100 bytes but the member inflates to 10 MB of zeros: reading stops and fails."""
    payload = make_zip({PRODUKT: b"0" * 10_000_000})
    lying = declare_size(payload, 100)
    with pytest.raises(DwdFormatError, match="corrupt zip member") as info:
        read_zip_members(lying, file_name="bomb.zip", max_uncompressed_bytes=1_000_000)
    assert info.value.file == "bomb.zip"
    with pytest.raises(DwdFormatError, match="corrupt zip member"):
        read_produkt_zip(lying, file_name=TU_NAME, max_uncompressed_bytes=1_000_000)


def test_zip_bomb_actual_size_stream_guard() -> None:
    """The stream guard counts the bytes really inflated and stops at the limit (belt and braces)."""
    archive = SafeZip(make_zip({PRODUKT: b"0" * 3_000_000}), file_name="bomb.zip")
    archive.limit = 1_000_000
    with pytest.raises(
        DwdFormatError, match="inflates to more than 1000000 bytes \\(zip bomb guard\\)"
    ) as info:
        archive.read(PRODUKT)
    assert info.value.file == "bomb.zip"


def test_read_zip_members_happy_path() -> None:
    members = read_zip_members(sample(TU_ZIP), file_name=TU_NAME)
    assert members == real_members()


def test_station_in_data_differs_from_zip_name() -> None:
    with pytest.raises(DwdFormatError, match="data are for station 44, the zip name says 45"):
        read_produkt_zip(sample(TU_ZIP), file_name="stundenwerte_TU_00045_akt.zip")


def test_product_mismatch_with_expected() -> None:
    with pytest.raises(DwdFormatError, match="expected"):
        read_produkt_zip(sample(TU_ZIP), file_name=TU_NAME, product=get_product("wind"))


# ---- produkt text -------------------------------------------------------------------------------------


def test_wrong_header_for_product() -> None:
    with pytest.raises(DwdFormatError) as info:
        parse_produkt(real_produkt(), get_product("wind"), file_name=PRODUKT)
    err = info.value
    assert err.file == PRODUKT and err.line == 1
    assert "is not the wind (FF) produkt header" in str(err)


def test_wrong_header_inside_zip() -> None:
    members = real_members()
    members[PRODUKT] = replace_line(members[PRODUKT], 1, b"STATIONS_ID;MESS_DATUM;QN_9;TT_TU;RF_XX;eor")
    with pytest.raises(DwdFormatError, match="produkt header") as info:
        read_produkt_zip(make_zip(members), file_name=TU_NAME)
    assert info.value.file == f"{TU_NAME}:{PRODUKT}" and info.value.line == 1


def test_byte_order_mark_is_tolerated() -> None:
    with_bom = b"\xef\xbb\xbf" + real_produkt()
    assert parse_produkt(with_bom, TU, file_name=PRODUKT).equals(
        parse_produkt(real_produkt(), TU, file_name=PRODUKT)
    )


def test_legacy_layout_bare_file() -> None:
    legacy = zip_members("air_temperature/legacy_2016_format/stundenwerte_TU_01048_akt.zip")
    data = legacy["produkt_temp_Terminwerte_20150421_20161021_01048.txt"]
    with pytest.raises(DwdFormatError, match="pre-2017 legacy produkt layout") as info:
        parse_produkt(data, TU, file_name="produkt_temp_Terminwerte_20150421_20161021_01048.txt")
    assert info.value.line == 1


def test_non_numeric_value() -> None:
    data = replace_line(real_produkt(), 5001, b"         44;2022012215;    3;  abc;  93.0;eor")
    with pytest.raises(DwdFormatError) as info:
        parse_produkt(data, TU, file_name=PRODUKT)
    err = info.value
    assert (err.file, err.line) == (PRODUKT, 5001)
    assert "non-numeric value 'abc' in column TT_TU" in str(err)


def test_non_numeric_value_in_a_later_block() -> None:
    """Past pyarrow's first block (8 MiB), the line number is still exact."""
    body = real_produkt().split(b"\r\n", 1)[1]
    big = real_produkt().split(b"\r\n", 1)[0] + b"\r\n"
    # 14 copies with shifted years keep timestamps unique: 184,800 rows ≈ 8.9 MB, past the first block.
    for k in range(14):
        big += body.replace(b";202", b";%d" % (302 + k)) if k else body
    lines = big.split(b"\r\n")
    target = 180_001
    assert len(big) > 8 << 20
    assert lines[target - 1].endswith(b";eor")
    fields = lines[target - 1].split(b";")
    fields[2] = b"    x"
    lines[target - 1] = b";".join(fields)
    with pytest.raises(DwdFormatError) as info:
        parse_produkt(b"\r\n".join(lines), TU, file_name="big.txt")
    assert info.value.line == target and "QN_9" in str(info.value)


def test_truncated_line() -> None:
    data = replace_line(real_produkt(), 77, b"         44;2021081102;    3;  13.5")
    with pytest.raises(DwdFormatError) as info:
        parse_produkt(data, TU, file_name=PRODUKT)
    assert info.value.line == 77 and "expected 6 fields, found 4" in str(info.value)


def test_file_truncated_mid_line() -> None:
    data = real_produkt()
    cut = data[: data.index(b"\r\n", 10_000) - 2]  # ends in the middle of "eor"
    line = cut.count(b"\r\n") + 1
    with pytest.raises(DwdFormatError) as info:
        parse_produkt(cut, TU, file_name=PRODUKT)
    assert info.value.line == line and "not 'eor'" in str(info.value)


def test_empty_file() -> None:
    with pytest.raises(DwdFormatError, match="empty file") as info:
        parse_produkt(b"", TU, file_name=PRODUKT)
    assert info.value.line == 1
    header_only = real_produkt().split(b"\r\n", 1)[0] + b"\r\n"
    with pytest.raises(DwdFormatError, match="no data rows") as info:
        parse_produkt(header_only, TU, file_name=PRODUKT)
    assert info.value.line == 2


def test_empty_produkt_member_in_zip() -> None:
    members = real_members()
    members[PRODUKT] = b""
    with pytest.raises(DwdFormatError, match="empty file") as info:
        read_produkt_zip(make_zip(members), file_name=TU_NAME)
    assert info.value.file == f"{TU_NAME}:{PRODUKT}"


def test_invalid_timestamp_and_duplicate_and_mixed_station() -> None:
    bad_date = replace_line(real_produkt(), 10, b"         44;2021023109;    3;  13.5;  93.0;eor")
    with pytest.raises(DwdFormatError, match="MESS_DATUM") as info:
        parse_produkt(bad_date, TU, file_name=PRODUKT)
    assert info.value.line == 10
    dup = replace_line(real_produkt(), 10, real_produkt().split(b"\r\n")[8])
    with pytest.raises(DwdFormatError, match="duplicate MESS_DATUM 2021080807 \\(first on line 9\\)") as info:
        parse_produkt(dup, TU, file_name=PRODUKT)
    assert info.value.line == 10
    other = replace_line(real_produkt(), 12, b"         45;2021080810;    3;  13.5;  93.0;eor")
    with pytest.raises(DwdFormatError, match="STATIONS_ID 45 differs") as info:
        parse_produkt(other, TU, file_name=PRODUKT)
    assert info.value.line == 12


def test_out_of_range_int_value() -> None:
    rr = zip_members("precipitation/hamburg_01975_release_2021-09-19/stundenwerte_RR_01975_akt.zip")
    name = next(n for n in rr if n.startswith("produkt_"))
    data = replace_line(rr[name], 3, b"       1975;2020031801;    3;   0.0;   0; 500;eor")
    with pytest.raises(DwdFormatError, match="WRTR") as info:
        parse_produkt(data, get_product("precipitation"), file_name=name)
    assert info.value.line == 3


# ---- names and product codes --------------------------------------------------------------------------


def test_unknown_product_code() -> None:
    with pytest.raises(DwdFormatError, match="unknown product code 'TD'") as info:
        parse_zip_name("stundenwerte_TD_00044_akt.zip")
    assert info.value.file == "stundenwerte_TD_00044_akt.zip"
    with pytest.raises(DwdFormatError, match="unknown product code 'TD'"):
        read_produkt_zip(sample(TU_ZIP), file_name="stundenwerte_TD_00044_akt.zip")
    with pytest.raises(UnknownProductError):
        get_product("XX")


def test_foreign_zip_name() -> None:
    for name in [
        "stundenwerte_TU_44_akt.zip",
        "monatswerte_KL_00044_akt.zip",
        "stundenwerte_ST_00183_row.zip",
        "stundenwerte_TU_00044_2007_2021_hist.zip",
    ]:
        with pytest.raises(DwdFormatError, match="not a DWD hourly or daily zip name"):
            parse_zip_name(name)
    with pytest.raises(DwdFormatError, match="invalid date"):
        parse_zip_name("stundenwerte_TU_00044_20071301_20211231_hist.zip")


def test_zip_names_parse() -> None:
    hist = parse_zip_name("historical/stundenwerte_TU_00044_20070401_20211231_hist.zip")
    assert (hist.product.name, hist.code, hist.station_id, hist.period, hist.start, hist.end) == (
        "air_temperature",
        "TU",
        44,
        "historical",
        date(2007, 4, 1),
        date(2021, 12, 31),
    )
    assert hist.name == "stundenwerte_TU_00044_20070401_20211231_hist.zip"
    akt = parse_zip_name("stundenwerte_P0_00096_akt.zip")
    assert (akt.product.name, akt.station_id, akt.period, akt.start, akt.end) == (
        "pressure",
        96,
        "recent",
        None,
        None,
    )
