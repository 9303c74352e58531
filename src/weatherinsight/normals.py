"""Climate normals (issue #18): each numeric feature's mean per station and period of the year over base years.

``compute_normals`` reads the PUBLISHED curated values of one product and period kind (month, season,
quarter or year) whose year lies in the base (default 1991–2020; a season's year is that of its January, so
the 1991 DJF is December 1990 – February 1991), and stores one row per station × period of the year
(month 1–12, season DJF..SON, quarter 1–4, year) × numeric feature in ``climate_normals``, published as one
dataset version of kind ``normal`` (``1991-2020_month_normals_v1``) whose parents are the curated versions
read.

The completeness rule (after WMO-No. 1203, *WMO Guidelines on the Calculation of Climate Normals*): a normal
needs valid (non-NULL, published) values in at least 80 % of the base years, rounded up — 24 of 30 for
1991–2020, 2 of 2 for a two-year base (``required_years``). With fewer the normal is NULL. ``years`` is
stored either way: the number of valid yearly values behind the normal. The normal is their plain mean.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from weatherinsight.features.catalog import features_for
from weatherinsight.normals_base import DEFAULT_BASE, MIN_SHARE, NormalsError, parse_base, required_years
from weatherinsight.periods import Period, PeriodKind
from weatherinsight.settings import Settings
from weatherinsight.warehouse import db, lineage
from weatherinsight.warehouse.tables import climate_normals, curated_table
from weatherinsight.warehouse.version_names import normal_version_name

# The base-years rules live in the light ``normals_base`` (the CLI's option reads them without SQLAlchemy).
__all__ = [
    "DEFAULT_BASE",
    "MIN_SHARE",
    "NormalsError",
    "NormalsResult",
    "compute_normals",
    "normal_rows",
    "numeric_features",
    "parse_base",
    "required_years",
]


def numeric_features(product: str) -> list[str]:
    """The product's features a normal is computed for (float and int; not the sector names)."""
    return [f.name for f in features_for(product) if f.sql_type in ("float", "int")]


@dataclass(frozen=True)
class NormalsResult:
    """What one ``compute_normals`` call did."""

    product: str
    period_kind: PeriodKind
    base: tuple[int, int]
    dataset_version: str
    rows: int  # climate_normals rows of the version
    normals: int  # of which have a (non-NULL) normal
    unchanged: bool  # the published curated inputs were unchanged: the AVAILABLE version was kept


def _published_values(
    conn: Connection, product: str, period_kind: PeriodKind, base: tuple[int, int], features: list[str]
) -> tuple[list[dict[str, Any]], list[str]]:
    table = curated_table(product)
    stmt = (
        lineage.published_rows_query(product, period_kind=period_kind)
        .where(table.c.year >= base[0], table.c.year <= base[1])
        .order_by(table.c.year, table.c.quarter, table.c.station_id)
    )
    rows = [dict(r._mapping) for r in conn.execute(stmt)]
    versions = sorted({r["dataset_version"] for r in rows})
    return [{k: r[k] for k in ("station_id", "year", "quarter", *features)} for r in rows], versions


def normal_rows(
    rows: list[dict[str, Any]],
    features: list[str],
    *,
    product: str,
    period_kind: PeriodKind,
    base: tuple[int, int],
    dataset_version: str,
) -> list[dict[str, Any]]:
    """The ``climate_normals`` rows for published ``rows`` (one per station × year × period number)."""
    need = required_years(base)
    values: dict[tuple[int, int, str], list[float]] = defaultdict(list)
    for r in rows:
        for f in features:
            values.setdefault((r["station_id"], r["quarter"], f), [])
            if r[f] is not None:
                values[(r["station_id"], r["quarter"], f)].append(float(r[f]))
    return [
        {
            "product": product,
            "dataset_version": dataset_version,
            "station_id": station,
            "period_kind": period_kind,
            "period_number": number,
            "feature": feature,
            "base_start": base[0],
            "base_end": base[1],
            "normal": sum(vals) / len(vals) if len(vals) >= need else None,
            "years": len(vals),
        }
        for (station, number, feature), vals in sorted(values.items())
    ]


def compute_normals(
    settings: Settings,
    product: str,
    *,
    period_kind: PeriodKind = "month",
    base: tuple[int, int] = DEFAULT_BASE,
    force: bool = False,
) -> NormalsResult:
    """Compute and publish the normals of ``product`` per ``period_kind`` over ``base`` (module docstring).

    Idempotent: when the published curated versions read are the same as those behind the AVAILABLE normals
    version (and not ``force``), nothing is written.
    """
    features = numeric_features(product)
    engine = db.get_engine(settings.database_url)
    db.ensure_schema(engine)
    label = Period(period_kind, base[1], 1)  # the version's dataset_versions key: kind, base end, number 1
    with engine.begin() as conn:
        rows, parents = _published_values(conn, product, period_kind, base, features)
        if not rows:
            raise NormalsError(
                f"no published {period_kind} values of {product} in {base[0]}..{base[1]}",
                hint=f"run `weatherinsight backfill --period {period_kind}` for the base years first",
            )
        fingerprint = hashlib.sha256("\n".join([f"{base[0]}..{base[1]}", *parents]).encode()).hexdigest()
        version = lineage.begin_version(
            conn,
            settings,
            "normal",
            product,
            label,
            fingerprint=fingerprint,
            parents=parents,
            force=force,
            name=lambda n: normal_version_name(period_kind, base[0], base[1], n),
        )
        unchanged = version.is_noop
        if not unchanged:
            out = normal_rows(
                rows,
                features,
                product=product,
                period_kind=period_kind,
                base=base,
                dataset_version=version.version_name,
            )
            db.bulk_insert(conn, climate_normals, out)
            version = lineage.publish_version(conn, version, row_count=len(out))
        stored = conn.execute(
            climate_normals.select().where(
                climate_normals.c.product == product,
                climate_normals.c.dataset_version == version.version_name,
            )
        ).all()
    return NormalsResult(
        product=product,
        period_kind=period_kind,
        base=base,
        dataset_version=version.version_name,
        rows=len(stored),
        normals=sum(1 for r in stored if r.normal is not None),
        unchanged=unchanged,
    )
