"""What the pipeline reports: one step's result, one quarter × product's outcome, a run's report.

Plain data (JSON-friendly for Airflow's XCom) plus the one judgement of a claimed success, ``verify_outcomes``
(an AVAILABLE curated version with rows in the database), and a plain-text rendering of a report for task
logs and e-mails. No Rich here: the CLI draws its own tables (``cli/report.py``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select

from weatherinsight.quarters import Quarter
from weatherinsight.settings import Settings
from weatherinsight.vocabulary import STAGE_NOUNS, Stage, Status
from weatherinsight.warehouse import db, lineage, tables


def stage_noun(stage: str | None) -> str:
    """The display name of a (possibly absent) failed stage; ``verify`` when the database check failed."""
    if stage is None:
        return "verify"
    try:
        return STAGE_NOUNS[Stage(stage)]
    except ValueError:  # an outcome from before the stage vocabulary (old XCom): show it as recorded
        return stage


@dataclass
class StepResult:
    """What one stage did for one (product, quarter)."""

    stage: Stage
    product: str
    quarter: str
    status: Status
    rows: int = 0
    files: int = 0
    versions: list[str] = field(default_factory=list)
    duration_s: float = 0.0
    detail: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return jsonable(asdict(self))


@dataclass
class ProductOutcome:
    """The end-to-end outcome of one quarter × product (ingest → stage → aggregate)."""

    quarter: str
    product: str
    status: Status
    failed_stage: Stage | None = None
    error: str | None = None
    rows: int = 0
    version: str | None = None
    duration_s: float = 0.0
    verified_rows: int | None = None
    verified_version: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return jsonable(asdict(self))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ProductOutcome:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        # XCom hands the enums back as plain strings.
        known["status"] = Status(known["status"])
        if known.get("failed_stage") is not None:
            known["failed_stage"] = Stage(known["failed_stage"])
        return cls(**known)


@dataclass
class RunReport:
    """Outcomes of a ``run_quarter`` or ``backfill`` call, verified against the database."""

    outcomes: list[ProductOutcome]

    @property
    def failed(self) -> list[ProductOutcome]:
        return [o for o in self.outcomes if o.status == Status.FAILED]

    @property
    def ok(self) -> bool:
        return not self.failed

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "outcomes": [o.to_dict() for o in self.outcomes],
            "failed": [f"{o.quarter} {o.product}: {o.error}" for o in self.failed],
        }


def jsonable(value: Any) -> Any:
    """``value`` with every key a string and every leaf a JSON scalar (enums become their values)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [jsonable(v) for v in value]
    if isinstance(value, (Stage, Status)):
        return str(value)
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return str(value)


def error_text(exc: BaseException) -> str:
    """``Type: message`` of an exception, as outcomes, logs and alerts show it."""
    return f"{type(exc).__name__}: {exc}"


def verify_outcomes(settings: Settings, outcomes: Sequence[ProductOutcome]) -> list[ProductOutcome]:
    """Check each claimed success against the database: an AVAILABLE curated version with rows.

    Fills ``verified_version``/``verified_rows``; a success the database does not confirm becomes a failure.
    """
    engine = db.get_engine(settings.database_url)
    db.ensure_schema(engine)
    out: list[ProductOutcome] = []
    with engine.connect() as conn:
        for o in outcomes:
            q = Quarter.parse(o.quarter)
            available = lineage.find_available(conn, "curated", o.product, q)
            rows = 0
            if available is not None:
                table = tables.curated_table(o.product)
                rows = int(
                    conn.execute(
                        select(func.count()).where(
                            table.c.year == q.year,
                            table.c.quarter == q.quarter,
                            table.c.dataset_version == available.version_name,
                        )
                    ).scalar_one()
                )
            checked = ProductOutcome(**asdict(o))
            checked.verified_version = available.version_name if available else None
            checked.verified_rows = rows
            if o.status != Status.FAILED and (available is None or rows == 0):
                checked.status = Status.FAILED
                checked.error = (
                    f"reported success but the database has no AVAILABLE curated version of {o.product} {q}"
                    if available is None
                    else f"{available.version_name} of {o.product} has no rows in {tables.curated_table(o.product).name}"
                )
            out.append(checked)
    return out


#: The columns of a report summary, shared by the plain-text rendering here and the CLI's Rich table.
SUMMARY_COLUMNS = ("quarter", "product", "outcome", "version", "rows (db)", "seconds", "error")


def summary_rows(report: RunReport) -> list[tuple[str, ...]]:
    """One row of ``SUMMARY_COLUMNS`` per quarter × product (the outcome names the failed stage)."""
    return [
        (
            o.quarter,
            o.product,
            str(o.status) if o.status != Status.FAILED else f"failed ({stage_noun(o.failed_stage)})",
            o.verified_version or o.version or "—",
            "—" if o.verified_rows is None else str(o.verified_rows),
            f"{o.duration_s:.1f}",
            o.error or "",
        )
        for o in report.outcomes
    ]


def summary_text(report: RunReport, *, title: str = "WeatherInsight pipeline") -> str:
    """The summary as an aligned plain-text table (Airflow task logs, e-mails)."""
    rows = [SUMMARY_COLUMNS, *summary_rows(report)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(SUMMARY_COLUMNS))]
    right = {"rows (db)", "seconds"}

    def line(cells: Sequence[str]) -> str:
        parts = [
            c.rjust(w) if name in right else c.ljust(w)
            for c, w, name in zip(cells, widths, SUMMARY_COLUMNS, strict=True)
        ]
        return " | ".join(parts).rstrip()

    rule = "-+-".join("-" * w for w in widths)
    return "\n".join([title, line(rows[0]), rule, *(line(r) for r in rows[1:])]) + "\n"
