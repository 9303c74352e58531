"""Output formats and paging: JSON (default), CSV and Parquet, streamed; keyset cursors and ``next`` links.

The format comes from ``format=`` or, failing that, the ``Accept`` header. Every format carries the DWD
attribution: a field of JSON bodies, the Parquet file's key-value metadata, and (for all) the
``X-Data-Attribution`` header added by the app's middleware. A CSV body starts with its header row, so a plain
``pandas.read_csv(url)`` reads it right; ``metadata=true`` asks for ``#`` comment lines (attribution, then unit
and definition per column) atop it, read with ``pandas.read_csv(url, comment="#")``. Units and definitions
(``fields``: column → unit/definition/precision) go in the JSON ``meta`` and in the Parquet field metadata.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any
from urllib.parse import urlencode

import pyarrow as pa
import pyarrow.parquet as pq
from fastapi import Request
from fastapi.responses import Response, StreamingResponse

from weatherinsight import DWD_ATTRIBUTION
from weatherinsight.api.errors import ApiError

#: Header-safe (latin-1) attribution text for the X-Data-Attribution header.
ATTRIBUTION_HEADER = DWD_ATTRIBUTION.replace("—", "-").encode("ascii", "replace").decode("ascii")
PARQUET_MEDIA_TYPE = "application/vnd.apache.parquet"
_JSON_CHUNK_ROWS = 500


class OutputFormat(StrEnum):
    json = "json"
    csv = "csv"
    parquet = "parquet"


_ACCEPT = {
    "text/csv": OutputFormat.csv,
    "application/csv": OutputFormat.csv,
    PARQUET_MEDIA_TYPE: OutputFormat.parquet,
    "application/x-parquet": OutputFormat.parquet,
    "application/parquet": OutputFormat.parquet,
    "application/json": OutputFormat.json,
}


def negotiate(request: Request, fmt: OutputFormat | None) -> OutputFormat:
    """``format=`` wins; otherwise the first Accept media type we serve; JSON by default."""
    if fmt is not None:
        return fmt
    accept = request.headers.get("accept", "")
    for part in accept.split(","):
        media = part.split(";", 1)[0].strip().lower()
        if media in _ACCEPT:
            return _ACCEPT[media]
    return OutputFormat.json


# ------------------------------------------------------------------------------------------- cursors


def encode_cursor(values: Sequence[int]) -> str:
    """A keyset position as plain numbers joined by dots (``2024.1.44``): every string of that form is a valid
    position, so the OpenAPI pattern of ``cursor`` states exactly what the server accepts."""
    return ".".join(str(int(v)) for v in values)


def cursor_pattern(length: int) -> str:
    """The OpenAPI pattern of a cursor of ``length`` keyset values (each 0..999999999)."""
    return "^" + r"\.".join([_CURSOR_VALUE] * length) + "$"


_CURSOR_VALUE = "[0-9]{1,9}"


def decode_cursor(cursor: str, length: int) -> list[int]:
    """The keyset values of a cursor; a cursor that is not of this route's form → 400."""
    if not re.fullmatch(cursor_pattern(length).strip("^$"), cursor):
        raise ApiError(
            400, "invalid_cursor", "invalid cursor: pass the cursor from a previous page's next link"
        )
    return [int(v) for v in cursor.split(".")]


def next_link(request: Request, cursor: str | None) -> str | None:
    """This request's URL with ``cursor`` replaced (repeated parameters such as station_id are kept)."""
    if cursor is None:
        return None
    items = [(k, v) for k, v in request.query_params.multi_items() if k != "cursor"]
    items.append(("cursor", cursor))
    return str(request.url.replace(query=urlencode(items)))


# ------------------------------------------------------------------------------------------- values


def plain(value: Any) -> Any:
    """A JSON/CSV-ready value: UTC ISO timestamps, ISO dates, NULL for NaN/inf."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def _finite(value: Any) -> Any:
    return value if value is None or math.isfinite(value) else None


def _timestamp(value: Any) -> Any:
    return None if value is None else (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()


def _isodate(value: Any) -> Any:
    return None if value is None else value.isoformat()


def converters(types: Sequence[pa.DataType]) -> list[Any]:
    """Per column: the function that makes a value JSON-ready, or None where the value already is."""
    out: list[Any] = []
    for t in types:
        if pa.types.is_floating(t):
            out.append(_finite)
        elif pa.types.is_timestamp(t):
            out.append(_timestamp)
        elif pa.types.is_date(t):
            out.append(_isodate)
        else:
            out.append(None)
    return out


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _link_header(next_url: str | None) -> dict[str, str]:
    return {"Link": f'<{next_url}>; rel="next"'} if next_url else {}


def _json_stream(
    meta: dict[str, Any], columns: Sequence[str], types: Sequence[pa.DataType], rows: Sequence[Sequence[Any]]
) -> Iterator[bytes]:
    head = _dumps(meta)[:-1]  # the meta object without its closing brace; "data" follows
    yield (head + (',"data":[' if len(head) > 1 else '"data":[')).encode()
    convert = [(i, f) for i, f in enumerate(converters(types)) if f is not None]
    for start in range(0, len(rows), _JSON_CHUNK_ROWS):
        objects = []
        for r in rows[start : start + _JSON_CHUNK_ROWS]:
            values = list(r)
            for i, f in convert:
                values[i] = f(values[i])
            objects.append(dict(zip(columns, values, strict=True)))
        # One encoder call per chunk (not per row); its list brackets are dropped to splice into "data".
        yield (("," if start else "") + _dumps(objects)[1:-1]).encode()
    yield b"]}"


def csv_comments(fields: dict[str, dict[str, Any]] | None) -> list[str]:
    """The ``#`` lines of a CSV answer's metadata variant: attribution, then one line per described column."""
    lines = [f"# {DWD_ATTRIBUTION}"]
    for name, info in (fields or {}).items():
        unit = f" [{info['unit']}]" if info.get("unit") else ""
        lines.append(f"# {name}{unit}: {info.get('definition', '')}".rstrip())
    return lines


def _csv_stream(
    columns: Sequence[str], rows: Sequence[Sequence[Any]], comments: Sequence[str] = ()
) -> Iterator[bytes]:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    for line in comments:
        buf.write(line.replace("\n", " ") + "\n")
    writer.writerow(columns)
    for start in range(0, len(rows), _JSON_CHUNK_ROWS):
        for r in rows[start : start + _JSON_CHUNK_ROWS]:
            writer.writerow(
                ["" if v is None else ";".join(v) if isinstance(v, list) else plain(v) for v in r]
            )
        yield buf.getvalue().encode("utf-8")
        buf.seek(0)
        buf.truncate()
    if buf.tell():
        yield buf.getvalue().encode("utf-8")


def _field_metadata(info: dict[str, Any] | None) -> dict[str, str] | None:
    if not info:
        return None
    return {k: str(v) for k, v in info.items() if v is not None}


def _parquet_bytes(
    columns: Sequence[str],
    types: Sequence[pa.DataType],
    rows: Sequence[Sequence[Any]],
    fields: dict[str, dict[str, Any]] | None = None,
) -> bytes:
    arrays = []
    for i, typ in enumerate(types):
        values = [r[i] for r in rows]
        if pa.types.is_timestamp(typ):
            values = [v if v is None or v.tzinfo else v.replace(tzinfo=UTC) for v in values]
        arrays.append(pa.array(values, type=typ))
    described = fields or {}
    schema = pa.schema(
        [
            pa.field(c, t, metadata=_field_metadata(described.get(c)))
            for c, t in zip(columns, types, strict=True)
        ]
    ).with_metadata({"attribution": DWD_ATTRIBUTION})
    table = pa.Table.from_arrays(arrays, schema=schema)
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def _chunks(data: bytes, size: int = 1 << 20) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def _body(chunks: Iterator[bytes], rows: int, media_type: str, headers: dict[str, str]) -> Response:
    # Small pages go out as one body: a StreamingResponse over a sync iterator costs a thread hop per chunk,
    # which dominated single-station latency. Large pages stream chunk by chunk (bounded memory per chunk).
    if rows <= _JSON_CHUNK_ROWS:
        return Response(b"".join(chunks), media_type=media_type, headers=headers)
    return StreamingResponse(chunks, media_type=media_type, headers=headers)


def render_rows(
    fmt: OutputFormat,
    *,
    meta: dict[str, Any],
    columns: Sequence[str],
    types: Sequence[pa.DataType],
    rows: Sequence[Sequence[Any]],
    next_url: str | None,
    headers: dict[str, str] | None = None,
    filename: str = "data",
    fields: dict[str, dict[str, Any]] | None = None,
    csv_metadata: bool = False,
) -> Response:
    """A page of rows in the requested format; ``meta`` (attribution, count, next …) heads JSON bodies.

    ``fields`` (column → unit, definition, precision) is carried in the JSON ``meta``, the Parquet field metadata
    and, with ``csv_metadata``, as ``#`` lines atop the CSV (which otherwise starts with its header row).
    """
    out_headers = {**(headers or {}), **_link_header(next_url)}
    if fmt is OutputFormat.csv:
        out_headers["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
        comments = csv_comments(fields) if csv_metadata else []
        return _body(_csv_stream(columns, rows, comments), len(rows), "text/csv; charset=utf-8", out_headers)
    if fmt is OutputFormat.parquet:
        out_headers["Content-Disposition"] = f'attachment; filename="{filename}.parquet"'
        return StreamingResponse(
            _chunks(_parquet_bytes(columns, types, rows, fields)),
            media_type=PARQUET_MEDIA_TYPE,
            headers=out_headers,
        )
    if fields:
        meta = {**meta, "fields": fields}
    return _body(_json_stream(meta, columns, types, rows), len(rows), "application/json", out_headers)
