"""What a served column means: unit, definition and rounding of every feature and coverage column, the
rounding itself (the catalog's ``precision``, applied on output; the database keeps full precision) and the
digest of a product's catalog rows its answers' ETags carry (``fields_etag_part``)."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence
from typing import Any

from weatherinsight.features.catalog import COVERAGE_COLUMNS, features_for, on_catalog_change

Row = tuple[Any, ...]

#: Columns every answer shares, described once (the features come from the catalog).
_FIXED_FIELDS: dict[str, dict[str, Any]] = {
    "station_id": {"unit": None, "definition": "DWD station id"},
    "year": {"unit": None, "definition": "calendar year of the quarter"},
    "quarter": {"unit": None, "definition": "quarter of the year (1–4)"},
    "dataset_version": {"unit": None, "definition": "published curated version the row belongs to"},
    **{
        name: {"unit": "1" if kind == "float" else None, "definition": text}
        for name, kind, text in COVERAGE_COLUMNS
    },
    "computed_at": {"unit": None, "definition": "when the row was computed (UTC)"},
    "station_name": {"unit": None, "definition": "station name (DWD station list)"},
    "latitude": {"unit": "°", "definition": "station latitude (WGS84)"},
    "longitude": {"unit": "°", "definition": "station longitude (WGS84)"},
    "height_m": {"unit": "m", "definition": "station height above sea level"},
}


@functools.cache
def _product_fields(product: str) -> dict[str, dict[str, Any]]:
    out = dict(_FIXED_FIELDS)
    for f in features_for(product):
        out[f.name] = {"unit": f.unit, "definition": f.definition, "precision": f.precision}
    return out


def describe(product: str, columns: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Column → {unit, definition[, precision]} for the columns of one answer, in column order."""
    known = _product_fields(product)
    return {c: known[c] for c in columns if c in known}


@functools.lru_cache(maxsize=512)
def _digits(product: str, columns: tuple[str, ...]) -> tuple[tuple[int, int], ...]:
    """(position, decimals) of every float feature column among ``columns``."""
    specs = {f.name: f for f in features_for(product)}
    return tuple(
        (i, specs[c].precision) for i, c in enumerate(columns) if c in specs and specs[c].sql_type == "float"
    )


@functools.cache
def fields_etag_part(product: str) -> str:
    """A digest of ``product``'s catalog rows (names, units, definitions, precision …), for the ETags of its
    answers: the same data versions served under other catalog rows (a product registered again, an edited
    definition) are another representation. The same in every process for the same rows."""
    return hashlib.sha256(repr(features_for(product)).encode("utf-8")).hexdigest()[:16]


# All three are derived from a product's catalog rows: a product registered again with other rows gets fresh ones.
on_catalog_change(_product_fields.cache_clear)
on_catalog_change(_digits.cache_clear)
on_catalog_change(fields_etag_part.cache_clear)


def published(value: Any, precision: int) -> Any:
    """A float feature value as served: rounded to ``precision`` decimals (``round``: half to even on the binary
    value); None, NaN, ±inf and non-floats unchanged. Rounding a served value again gives the same value."""
    if isinstance(value, float) and value == value and value not in (float("inf"), float("-inf")):
        return round(value, precision)
    return value


def round_rows(product: str, columns: Sequence[str], rows: Sequence[Row]) -> list[Row]:
    """Rows with every float feature rounded to its catalog precision (``round``: half to even on the binary
    value, so 223.9000000000001 → 223.9); None, NaN and the other columns pass through unchanged."""
    digits = _digits(product, tuple(columns))
    if not digits:
        return list(rows)
    out: list[Row] = []
    for r in rows:
        values = list(r)
        for i, d in digits:
            values[i] = published(values[i], d)
        out.append(tuple(values))
    return out
