"""Property tests: real DWD files, mutated (truncated, bytes flipped, a column dropped, garbage values).

The parser must either return exactly the table that an independent, deliberately simple line-by-line
reference reading gives for the mutated bytes, or raise DwdFormatError — never another exception, never a
partial table, never reject what the reference accepts. Derandomized, so CI sees the same examples.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, timedelta
from functools import cache

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.dwd.helpers import make_zip, sample, zip_members
from weatherinsight.dwd.products import Product, get_product
from weatherinsight.dwd.produkt import parse_produkt
from weatherinsight.dwd.produkt_zip import read_produkt_zip
from weatherinsight.errors import DwdFormatError

SETTINGS = settings(
    max_examples=40,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

ZIPS = {
    "air_temperature": "air_temperature/zeppr_00044/stundenwerte_TU_00044_akt.zip",
    "precipitation": "precipitation/hamburg_01975_release_2021-09-19/stundenwerte_RR_01975_akt.zip",
    "wind": "wind/hamburg_01975_release_2019-09-05/stundenwerte_FF_01975_akt.zip",
    "pressure": "pressure/zeppr_00096/stundenwerte_P0_00096_akt.zip",
    "moisture": "moisture/zeppr_00044/stundenwerte_TF_00044_akt.zip",
}
#: Lines kept from each real file: enough to hold -999s (the 2019 FF file has F=-999 early), small enough
#: that hundreds of examples stay fast.
PREFIX_LINES = 400


@cache
def real_produkt(product: str) -> bytes:
    members = zip_members(ZIPS[product])
    return next(v for k, v in members.items() if k.startswith("produkt_"))


@cache
def real_prefix(product: str) -> bytes:
    lines = real_produkt(product).split(b"\r\n")
    return b"\r\n".join(lines[:PREFIX_LINES]) + b"\r\n"


# ---- the reference reading (simple, slow, obviously right) -----------------------------------------------

_NUM = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]?(?:nan|inf|infinity)", re.IGNORECASE)
_RANGES = {pa.int8(): (-128, 127), pa.int16(): (-32768, 32767)}


class Rejected(Exception):
    pass


def reference(data: bytes, product: Product) -> list[dict[str, object]]:
    """Rows of a produkt file as the format defines them, sorted by ts; Rejected if the file is invalid."""
    first_nl = data.find(b"\n")
    header = data if first_nl < 0 else data[:first_nl]
    tokens = tuple(t.strip(" \t") for t in header.decode("latin-1").rstrip("\r\n").split(";"))
    if tokens != product.header:
        raise Rejected("header")
    rows = []
    seen = set()
    station = None
    for raw in (b"" if first_nl < 0 else data[first_nl + 1 :]).splitlines():
        if not raw:
            continue
        fields = raw.decode("latin-1").split(";")
        if len(fields) != len(product.header) or fields[-1] != "eor":
            raise Rejected("shape")
        nums = []
        for tok in fields[:-1]:
            tok = tok.strip(" \t")
            if not _NUM.fullmatch(tok) or not math.isfinite(float(tok)):
                raise Rejected("number")
            nums.append(float(tok))
        sid, md, qn, *values = nums
        if sid != int(sid) or not 0 <= sid < 2**31:
            raise Rejected("station")
        if station is None:
            station = sid
        if sid != station:
            raise Rejected("mixed station")
        if md != int(md) or not 1_000_010_100 <= md <= 9_999_123_123:
            raise Rejected("time")
        text = str(int(md))
        try:
            day = date(int(text[:4]), int(text[4:6]), int(text[6:8]))
        except ValueError:
            raise Rejected("date") from None
        if int(text[8:]) > 23:
            raise Rejected("hour")
        if md in seen:
            raise Rejected("duplicate")
        seen.add(md)
        ts = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(hours=int(text[8:]))
        row: dict[str, object] = {"station_id": int(sid), "ts": ts}
        if qn == -999:
            row["qn"] = None
        elif qn != int(qn) or not 0 <= qn <= 127:
            raise Rejected("qn")
        else:
            row["qn"] = int(qn)
        for var, v in zip(product.variables, values, strict=True):
            if v == -999:
                row[var.column] = None
            elif pa.types.is_integer(var.arrow_type):
                lo, hi = _RANGES[var.arrow_type]
                if v != int(v) or not lo <= v <= hi:
                    raise Rejected("int value")
                row[var.column] = int(v)
            else:
                row[var.column] = v
        rows.append(row)
    if not rows:
        raise Rejected("empty")
    return sorted(rows, key=lambda r: r["ts"])  # type: ignore[arg-type, return-value]


def check_against_reference(data: bytes, product: Product) -> None:
    try:
        expected = reference(data, product)
    except Rejected:
        expected = None
    try:
        table = parse_produkt(data, product, file_name="mutated.txt")
    except DwdFormatError as err:
        assert err.file == "mutated.txt"
        assert expected is None, f"parser rejected a valid file: {err}"
        return
    assert expected is not None, "parser accepted a file the reference rejects"
    assert table.to_pylist() == expected


def test_reference_agrees_on_the_unmutated_files() -> None:
    for name in ZIPS:
        product = get_product(name)
        data = b"\r\n".join(real_produkt(name).split(b"\r\n")[:3000]) + b"\r\n"
        rows = reference(data, product)
        assert len(rows) == 2999
        table = parse_produkt(data, product, file_name="x")
        assert table.num_rows == len(rows)
        assert table.to_pylist() == rows


products = st.sampled_from(sorted(ZIPS))


@SETTINGS
@given(name=products, cut=st.floats(min_value=0.0, max_value=1.0))
def test_truncated_at_any_byte(name: str, cut: float) -> None:
    data = real_prefix(name)
    check_against_reference(data[: int(len(data) * cut)], get_product(name))


@SETTINGS
@given(name=products, flips=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)), min_size=1, max_size=4))
def test_bytes_flipped(name: str, flips: list[tuple[float, int]]) -> None:
    data = bytearray(real_prefix(name))
    for where, byte in flips:
        data[min(int(where * len(data)), len(data) - 1)] = byte
    check_against_reference(bytes(data), get_product(name))


@SETTINGS
@given(name=products, column=st.integers(0, 10), header_too=st.booleans())
def test_column_dropped(name: str, column: int, header_too: bool) -> None:
    lines = real_prefix(name).split(b"\r\n")
    out = []
    for i, line in enumerate(lines):
        fields = line.split(b";")
        if line and (i > 0 or header_too):
            del fields[column % len(fields)]
        out.append(b";".join(fields))
    data = b"\r\n".join(out)
    check_against_reference(data, get_product(name))
    # Dropping a column never yields a table: the header or the field count must give it away.
    with pytest.raises(DwdFormatError):
        parse_produkt(data, get_product(name), file_name="mutated.txt")


garbage = st.one_of(
    st.sampled_from(
        [
            "",
            " ",
            "abc",
            "1.2.3",
            "--5",
            "nan",
            "inf",
            "1e999",
            "-999",
            "-999.0",
            "9999999999",
            "0x10",
            "1_000",
            "+7",
            "1e1",
            " 12 ",
            "\t3",
            '"5"',
            "é",
            "2021023024",
            "eor",
        ]
    ),
    st.text(alphabet="0123456789.-+eE x;", max_size=8),
)


@SETTINGS
@given(name=products, line=st.integers(1, PREFIX_LINES - 1), column=st.integers(0, 10), value=garbage)
def test_garbage_value(name: str, line: int, column: int, value: str) -> None:
    lines = real_prefix(name).split(b"\r\n")
    fields = lines[line].split(b";")
    fields[column % len(fields)] = value.encode("latin-1")
    lines[line] = b";".join(fields)
    check_against_reference(b"\r\n".join(lines), get_product(name))


@settings(max_examples=60, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=products, flips=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)), min_size=1, max_size=3))
def test_zip_bytes_flipped(name: str, flips: list[tuple[float, int]]) -> None:
    """A damaged zip: the same table as the undamaged one (CRC-protected data) or DwdFormatError."""
    members = zip_members(ZIPS[name])
    produkt = next(k for k in members if k.startswith("produkt_"))
    members[produkt] = real_prefix(name)
    file_name = ZIPS[name].rsplit("/", 1)[1]
    good = make_zip(members)
    expected = read_produkt_zip(good, file_name=file_name).table
    data = bytearray(good)
    for where, byte in flips:
        data[min(int(where * len(data)), len(data) - 1)] = byte
    try:
        result = read_produkt_zip(bytes(data), file_name=file_name)
    except DwdFormatError as err:
        assert err.file.startswith(file_name)
        return
    assert result.table.equals(expected)


@cache
def full_tu() -> bytes:
    return sample("air_temperature/bare_produkt/produkt_tu_stunde_20190912_20210314_00044.txt")


@settings(max_examples=8, derandomize=True, deadline=None)
@given(cut=st.integers(60, 633_000))
def test_full_file_truncated(cut: int) -> None:
    """Truncating a whole real file: a prefix table of exactly the complete lines, or DwdFormatError."""
    data = full_tu()[:cut]
    product = get_product("air_temperature")
    try:
        table = parse_produkt(data, product, file_name="cut.txt")
    except DwdFormatError as err:
        assert err.line == data.count(b"\r\n") + 1  # the cut line, exactly
        return
    complete = data.count(b"\r\n") - 1
    assert data.endswith((b"eor", b"eor\r", b"eor\r\n"))
    assert table.num_rows == complete + (0 if data.endswith(b"\r\n") else 1)
    full = parse_produkt(full_tu(), product, file_name="full.txt")
    assert table.equals(full.slice(0, table.num_rows))
