"""The data-quality checks of one curated quarter and where their results are stored.

The seed's five checks, thresholds from ``settings.quality_thresholds``:

========================  ========  ==========================================================================
check                     severity  passes when
========================  ========  ==========================================================================
``row_count``             fatal     the quarter's AVAILABLE curated version has ≥ ``min_rows_per_quarter`` rows
``null_percentage``       fatal     every critical feature column is NULL in ≤ ``max_null_percentage`` % rows
``station_count``         fatal     the version covers ≥ ``min_stations_per_quarter`` distinct stations
``version_availability``  warning   the newest raw, staged and curated version of the quarter is AVAILABLE
``continuity``            warning   no quarter is missing between the product's first published quarter and
                                    the checked one
========================  ========  ==========================================================================

Checks read what the API serves: the AVAILABLE curated version of each (product, quarter). Every finding
(passed or not) names quarter, product, table, column and the measured value, and is stored in
``quality_check_results`` under one ``run_id``; ``QualityReport.fatal`` decides whether the run fails.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import Connection, Table, and_, func, select

from weatherinsight.dwd.products import PRODUCTS, get_product
from weatherinsight.features.catalog import critical_features
from weatherinsight.logs import get_logger
from weatherinsight.quarters import Quarter
from weatherinsight.settings import Settings
from weatherinsight.warehouse import db, lineage, tables

log = get_logger(__name__)

Severity = Literal["fatal", "warning"]

#: Dataset-version kinds the availability check looks at, in pipeline order.
VERSION_KINDS = ("raw", "staged", "curated")


@dataclass(frozen=True)
class Finding:
    """The outcome of one check on one product (and column) of a quarter."""

    check: str
    severity: Severity
    passed: bool
    quarter: str
    product: str
    table: str
    column: str | None
    measured: float | None
    threshold: float | None
    message: str

    def describe(self) -> str:
        """One line for people: what failed where, with the measured value."""
        state = "ok" if self.passed else self.severity.upper()
        where = f"{self.table}.{self.column}" if self.column else self.table
        return f"[{state}] {self.check} {self.quarter} {self.product} {where}: {self.message}"


@dataclass
class QualityReport:
    """All findings of one check run of a quarter."""

    quarter: Quarter
    run_id: str
    checked_at: datetime
    findings: list[Finding] = field(default_factory=list)
    #: Set by ``pipeline.quality_check`` when the alert e-mail for fatal findings went out.
    alert_sent: bool = False

    @property
    def fatal(self) -> list[Finding]:
        return [f for f in self.findings if not f.passed and f.severity == "fatal"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if not f.passed and f.severity == "warning"]

    @property
    def passed(self) -> bool:
        """True when no fatal check failed (warnings do not fail a quarter)."""
        return not self.fatal

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable summary (Airflow XCom, CLI ``--json``)."""
        return {
            "quarter": str(self.quarter),
            "run_id": self.run_id,
            "checked_at": self.checked_at.isoformat(),
            "passed": self.passed,
            "fatal": [f.describe() for f in self.fatal],
            "warnings": [f.describe() for f in self.warnings],
            "checks": len(self.findings),
        }


def _available_version(conn: Connection, kind: str, product: str, quarter: Quarter) -> str | None:
    found = lineage.find_available(conn, kind, product, quarter)
    return None if found is None else found.version_name


def _quarter_rows(table: Table, quarter: Quarter, version: str | None) -> Any:
    return and_(
        table.c.year == quarter.year,
        table.c.quarter == quarter.quarter,
        table.c.dataset_version == (version or ""),
    )


def _check_product_rows(
    conn: Connection, settings: Settings, product: str, quarter: Quarter
) -> list[Finding]:
    """row_count, station_count and null_percentage of the product's AVAILABLE curated version."""
    thresholds = settings.quality_thresholds
    table = tables.curated_table(product)
    q = str(quarter)
    version = _available_version(conn, "curated", product, quarter)
    where = _quarter_rows(table, quarter, version)
    rows, stations = conn.execute(
        select(func.count(), func.count(func.distinct(table.c.station_id))).where(where)
    ).one()
    rows, stations = int(rows), int(stations)
    label = version or "no AVAILABLE curated version"
    out = [
        Finding(
            "row_count",
            "fatal",
            rows >= thresholds.min_rows_per_quarter,
            q,
            product,
            table.name,
            None,
            float(rows),
            float(thresholds.min_rows_per_quarter),
            f"{rows} rows in {label} (minimum {thresholds.min_rows_per_quarter})",
        ),
        Finding(
            "station_count",
            "fatal",
            stations >= thresholds.min_stations_per_quarter,
            q,
            product,
            table.name,
            "station_id",
            float(stations),
            float(thresholds.min_stations_per_quarter),
            f"{stations} distinct stations in {label} (minimum {thresholds.min_stations_per_quarter})",
        ),
    ]
    columns = critical_features(product)
    if rows == 0:
        # A NULL share of nothing is undefined; the row count finding above already fails the quarter.
        return out
    counts = conn.execute(select(*(func.count(table.c[c]) for c in columns)).where(where)).one()
    for column, non_null in zip(columns, counts, strict=True):
        pct = round(100.0 * (rows - int(non_null)) / rows, 3)
        out.append(
            Finding(
                "null_percentage",
                "fatal",
                pct <= thresholds.max_null_percentage,
                q,
                product,
                table.name,
                column,
                pct,
                thresholds.max_null_percentage,
                f"{pct}% of {rows} rows NULL in {label} (maximum {thresholds.max_null_percentage}%)",
            )
        )
    return out


def _check_versions(conn: Connection, product: str, quarter: Quarter) -> Finding:
    """The newest version of each kind (raw, staged, curated) of the quarter must be AVAILABLE."""
    dv = tables.dataset_versions
    problems: list[str] = []
    for kind in VERSION_KINDS:
        newest = conn.execute(
            select(dv.c.version_name, dv.c.status)
            .where(
                dv.c.kind == kind,
                dv.c.product == product,
                dv.c.year == quarter.year,
                dv.c.quarter == quarter.quarter,
                dv.c.period_kind == "quarter",
            )
            .order_by(dv.c.version_number.desc(), dv.c.id.desc())  # a retry after a failed attempt wins
            .limit(1)
        ).first()
        if newest is None:
            problems.append(f"no {kind} version")
        elif newest.status != "AVAILABLE":
            problems.append(f"{newest.version_name} is {newest.status}")
    message = "; ".join(problems) if problems else "newest raw, staged and curated versions are AVAILABLE"
    return Finding(
        "version_availability",
        "warning",
        not problems,
        str(quarter),
        product,
        dv.name,
        "status",
        float(len(problems)),
        0.0,
        message,
    )


def _check_continuity(conn: Connection, product: str, quarter: Quarter) -> Finding:
    """No gap between the product's first published quarter and ``quarter`` (inclusive)."""
    published = set(lineage.published_quarters(conn, product))
    table = tables.curated_table(product).name
    earlier = [p for p in published if p <= quarter]
    missing: list[Quarter] = []
    if earlier:
        cursor = min(earlier)
        while cursor <= quarter:
            if cursor not in published:
                missing.append(cursor)
            cursor = cursor.next()
    shown = ", ".join(str(m) for m in missing[:12]) + (" …" if len(missing) > 12 else "")
    message = (
        f"{len(missing)} quarter(s) missing since {min(earlier)}: {shown}"
        if missing
        else (f"no gap since {min(earlier)}" if earlier else "nothing published yet")
    )
    return Finding(
        "continuity",
        "warning",
        not missing,
        str(quarter),
        product,
        table,
        "quarter",
        float(len(missing)),
        0.0,
        message,
    )


def store_findings(conn: Connection, report: QualityReport) -> int:
    """Append the report's findings to ``quality_check_results`` (in the caller's transaction)."""
    rows = [
        {
            "run_id": report.run_id,
            "checked_at": report.checked_at,
            "year": report.quarter.year,
            "quarter": report.quarter.quarter,
            "product": f.product,
            "table_name": f.table,
            "check_name": f.check,
            "column_name": f.column,
            "severity": f.severity,
            "passed": f.passed,
            "measured_value": f.measured,
            "threshold": f.threshold,
            "message": f.message,
        }
        for f in report.findings
    ]
    return db.bulk_insert(conn, tables.quality_check_results, rows)


def run_checks(
    settings: Settings,
    quarter: Quarter,
    *,
    products: Sequence[str] | None = None,
    run_id: str | None = None,
) -> QualityReport:
    """Run the five checks for ``quarter`` over ``products`` (default: the configured ones), store them.

    Returns the report; it does not raise on failed checks (callers decide: the DAG task and
    ``weatherinsight check`` fail on ``report.fatal``). Unknown products raise ``UnknownProductError``.
    """
    q = quarter
    names = list(products) if products else list(settings.product_types)
    for name in names:
        get_product(name)  # typed error for an unknown product before touching the database
    engine = db.get_engine(settings.database_url)
    db.ensure_schema(engine)
    report = QualityReport(q, run_id or uuid.uuid4().hex, datetime.now(UTC))
    with engine.begin() as conn:
        for product in _in_registry_order(names):
            report.findings.extend(_check_product_rows(conn, settings, product, q))
            report.findings.append(_check_versions(conn, product, q))
            report.findings.append(_check_continuity(conn, product, q))
        store_findings(conn, report)
    log.info(
        "quality_checks_done",
        quarter=str(q),
        run_id=report.run_id,
        checks=len(report.findings),
        fatal=len(report.fatal),
        warnings=len(report.warnings),
    )
    return report


def _in_registry_order(names: Iterable[str]) -> list[str]:
    wanted = set(names)
    return [p for p in PRODUCTS if p in wanted]
