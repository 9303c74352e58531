"""``anomalies=true``: each numeric feature's anomaly against its published climate normal (issue #18).

For every numeric feature column asked, appended after the other columns in feature order:
``<feature>_anomaly`` (value − normal, rounded to the feature's precision, at least 1 decimal), for precipitation
amounts ``<feature>_anomaly_pct`` (100 × value / normal, 1 decimal), and ``<feature>_normal_years`` (the valid years
behind the normal; 0 when the station has no normal there). The normal is the one of the row's period of the
year (its month, season, quarter) from the AVAILABLE normals version over ``normals_base`` (1991..2020
unless given); 404 ``no_normals`` when that version is not published.

"value" is the value as served — a float feature rounded to its catalog precision (``fields.published``) — so
a user can reproduce every anomaly from the answer and the normal; ``with_anomalies`` rounds it itself, so every
surface (``/v1/features/{product}``, the quarter route, ``/v1/stations/{id}/features``, ``Client.local``) gives
the same anomaly whether it hands over rounded or stored values.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pyarrow as pa
from sqlalchemy import Connection

from weatherinsight.api.errors import ApiError
from weatherinsight.api.fields import published
from weatherinsight.features.catalog import FeatureSpec, features_for, percent_anomaly
from weatherinsight.normals_base import DEFAULT_BASE, NormalsError, parse_base
from weatherinsight.periods import PeriodKind
from weatherinsight.warehouse.climate_normals import anomaly, anomaly_pct, normals_version, read_normals

ANOMALY, ANOMALY_PCT, NORMAL_YEARS = "_anomaly", "_anomaly_pct", "_normal_years"


def _numeric(product: str, columns: Sequence[str]) -> list[FeatureSpec]:
    asked = set(columns)
    return [f for f in features_for(product) if f.name in asked and f.sql_type in ("float", "int")]


def anomaly_names(spec: FeatureSpec) -> list[str]:
    """The columns ``anomalies=true`` adds for one feature, in order."""
    pct = [spec.name + ANOMALY_PCT] if percent_anomaly(spec) else []
    return [spec.name + ANOMALY, *pct, spec.name + NORMAL_YEARS]


def anomaly_columns(product: str, columns: Sequence[str]) -> list[str]:
    """The columns ``with_anomalies`` appends for ``columns`` of ``product``, in order."""
    return [n for f in _numeric(product, columns) for n in anomaly_names(f)]


def anomaly_types(product: str) -> dict[str, pa.DataType]:
    out: dict[str, pa.DataType] = {}
    for f in features_for(product):
        if f.sql_type in ("float", "int"):
            for name in anomaly_names(f):
                out[name] = pa.int64() if name.endswith(NORMAL_YEARS) else pa.float64()
    return out


def anomaly_fields(product: str) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for f in features_for(product):
        if f.sql_type not in ("float", "int"):
            continue
        out[f.name + ANOMALY] = {"unit": f.unit, "definition": f"{f.name} − its climate normal"}
        out[f.name + ANOMALY_PCT] = {"unit": "%", "definition": f"100 × {f.name} / its climate normal"}
        out[f.name + NORMAL_YEARS] = {"unit": "years", "definition": f"valid years behind {f.name}'s normal"}
    return out


def base_years(text: str | None) -> tuple[int, int]:
    """``normals_base`` → (first, last) years; 400 naming the parameter when malformed."""
    if not text:
        return DEFAULT_BASE
    try:
        return parse_base(text, name="normals_base")
    except NormalsError as exc:
        raise ApiError(400, "invalid_parameter", exc.message) from None


def normals_etag_part(conn: Connection, product: str, kind: PeriodKind, base: tuple[int, int]) -> str:
    """The normals version served (it identifies the anomalies as much as the curated versions do)."""
    version = normals_version(conn, product, kind, base)
    if version is None:
        raise ApiError(
            404,
            "no_normals",
            f"no published {kind} normals of {product} over {base[0]}..{base[1]}; run "
            f"`weatherinsight normals --product {product} --period {kind} --base {base[0]}..{base[1]}`",
        )
    return version


def with_anomalies(
    conn: Connection,
    product: str,
    columns: list[str],
    rows: Sequence[Sequence[Any]],
    kind: PeriodKind,
    base: tuple[int, int],
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """``columns`` and ``rows`` (holding station_id and quarter = the period number) with the anomaly columns."""
    version = normals_etag_part(conn, product, kind, base)
    specs = _numeric(product, columns)
    normals = read_normals(conn, product, version, [f.name for f in specs])
    s_i, n_i = columns.index("station_id"), columns.index("quarter")
    positions = [(f, columns.index(f.name)) for f in specs]
    out: list[tuple[Any, ...]] = []
    for r in rows:
        extra: list[Any] = []
        for f, i in positions:
            normal, years = normals.get((r[s_i], r[n_i], f.name), (None, 0))
            value = published(r[i], f.precision) if f.sql_type == "float" else r[i]
            diff = anomaly(value, normal)
            extra.append(None if diff is None else round(diff, max(f.precision, 1)))
            if percent_anomaly(f):
                pct = anomaly_pct(value, normal)
                extra.append(None if pct is None else round(pct, 1))
            extra.append(years)
        out.append((*r, *extra))
    return [*columns, *anomaly_columns(product, columns)], out
