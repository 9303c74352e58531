"""Reading published climate normals (issue #18) and a value's anomaly against its normal.

``weatherinsight.normals`` writes ``climate_normals`` as versions of kind ``normal``; this module finds the
AVAILABLE version of (product, period kind, base years) and reads its rows, for the API and the client.
Anomalies: ``value − normal`` always; for precipitation amounts (``catalog.percent_anomaly``) also
``100 × value / normal`` (NULL when the normal is 0). Either is NULL when the value or the normal is.
"""

from __future__ import annotations

from sqlalchemy import Connection, select

from weatherinsight.periods import Period, PeriodKind
from weatherinsight.warehouse import lineage
from weatherinsight.warehouse.tables import climate_normals

#: (station_id, period number, feature) → (normal or None, valid years behind it)
Normals = dict[tuple[int, int, str], tuple[float | None, int]]


def normals_version(
    conn: Connection, product: str, period_kind: PeriodKind, base: tuple[int, int]
) -> str | None:
    """The AVAILABLE normals version name of (product, period kind, base years), or None."""
    version = lineage.find_available(conn, "normal", product, Period(period_kind, base[1], 1))
    if version is None or not version.version_name.startswith(f"{base[0]}-{base[1]}_"):
        return None  # nothing published, or a normal over another base ending the same year
    return version.version_name


def read_normals(conn: Connection, product: str, version: str, features: list[str]) -> Normals:
    """The rows of one normals version for ``features``."""
    c = climate_normals.c
    rows = conn.execute(
        select(c.station_id, c.period_number, c.feature, c.normal, c.years).where(
            c.product == product, c.dataset_version == version, c.feature.in_(features)
        )
    )
    return {(r.station_id, r.period_number, r.feature): (r.normal, r.years) for r in rows}


def anomaly(value: float | None, normal: float | None) -> float | None:
    """value − normal (None when either is None)."""
    return None if value is None or normal is None else float(value) - normal


def anomaly_pct(value: float | None, normal: float | None) -> float | None:
    """100 × value / normal (None when either is None or the normal is 0)."""
    return None if value is None or not normal else 100.0 * float(value) / normal
