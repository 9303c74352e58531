"""Files larger than one CSV block: the streamed, chunked result equals the block-free expectation."""

from __future__ import annotations

from functools import cache

import pyarrow as pa
import pyarrow.compute as pc

from tests.dwd.helpers import make_zip, zip_members
from weatherinsight.dwd.products import get_product
from weatherinsight.dwd.produkt import parse_produkt
from weatherinsight.dwd.produkt_zip import read_produkt_zip

TU_ZIP = "air_temperature/zeppr_00044/stundenwerte_TU_00044_akt.zip"
PRODUKT = "produkt_tu_stunde_20210808_20230208_00044.txt"
TU = get_product("air_temperature")
COPIES = 6  # 79,200 rows, ≈3.8 MB: several 1 MiB blocks


@cache
def real() -> bytes:
    return zip_members(TU_ZIP)[PRODUKT]


def copies(order: list[int]) -> bytes:
    """The real file's rows repeated with years shifted by 2000 + 100·k (2021 → 4021, 4121, …)."""
    header, body = real().split(b"\r\n", 1)
    parts = [body.replace(b";202", b";%d" % (402 + k)) for k in order]
    return header + b"\r\n" + b"".join(parts)


def test_multi_block_file_in_order() -> None:
    table = parse_produkt(copies(list(range(COPIES))), TU, file_name="big.txt")
    one = parse_produkt(real(), TU, file_name="one.txt")
    assert table.num_rows == COPIES * 13200
    assert table.column("ts").num_chunks > 1  # really streamed in several blocks
    ts = table.column("ts").combine_chunks()
    assert pc.all(pc.greater(ts[1:], ts[:-1])).as_py()
    assert table.column("temperature").null_count == COPIES * 63
    assert table.column("qn").null_count == 0
    # Every copy carries the same values as the single real file.
    for k in range(COPIES):
        part = table.slice(k * 13200, 13200)
        assert part.column("temperature").equals(one.column("temperature"))
        assert part.column("relative_humidity").equals(one.column("relative_humidity"))
        assert part.column("qn").equals(one.column("qn"))


def test_multi_block_file_out_of_order_is_sorted() -> None:
    shuffled = parse_produkt(copies([3, 0, 5, 1, 4, 2]), TU, file_name="shuffled.txt")
    ordered = parse_produkt(copies(list(range(COPIES))), TU, file_name="ordered.txt")
    assert shuffled.combine_chunks().equals(ordered.combine_chunks())


def test_multi_block_zip_equals_bare_text() -> None:
    members = zip_members(TU_ZIP)
    members[PRODUKT] = copies(list(range(COPIES)))
    result = read_produkt_zip(make_zip(members), file_name="stundenwerte_TU_00044_akt.zip")
    bare = parse_produkt(members[PRODUKT], TU, file_name="bare.txt")
    assert result.table.combine_chunks().equals(bare.combine_chunks())
    assert result.table.schema.field("ts").type == pa.timestamp("us", tz="UTC")
