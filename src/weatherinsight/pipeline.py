"""The pipeline: the only entry point the CLI and the Airflow DAGs call.

* One function per DAG task (``ingest_task``, ``process_task``, ``aggregate_task``, ``pipeline_complete_task``,
  ``backfill_plan_task``, ``backfill_quarter_task``, ``backfill_summary_task``, ``quality_check_task``) —
  they take plain, JSON-friendly arguments, load the settings themselves and return JSON-friendly dicts
  (XCom). Airflow passes context entries by parameter name (``params``), so nothing here imports Airflow
  (house rule 4). ``verify_backfill`` is the one judgement of a backfill's outcomes: the summary task and
  the backfill DAG's ``announce_quarters`` both use it.
* The same steps without Airflow: ``run_quarter`` (ingest → process → aggregate for every product, products
  in parallel within the configured pool limits) and ``backfill`` (quarter after quarter; a failing
  quarter × product never stops the rest; the summary is verified against the database).
* Task settings for the DAG files (``task_defaults``), the pools (``pool_specs``/``ensure_pools``) and the
  alert e-mails (``send_alert``, ``notify_task_failure``) over plain ``smtplib``.
"""

from __future__ import annotations

import io
import json
import shutil
import smtplib
import subprocess
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from weatherinsight import metrics
from weatherinsight.dwd.products import PRODUCTS
from weatherinsight.errors import ConfigError, RunFailedError, WeatherInsightError
from weatherinsight.logs import get_logger
from weatherinsight.quarters import Quarter
from weatherinsight.settings import Settings, load_settings

if TYPE_CHECKING:
    from weatherinsight.quality.checks import QualityReport

log = get_logger(__name__)

Stage = Literal["ingestion", "processing", "aggregation", "quality"]
Outcome = Literal["succeeded", "failed", "unchanged"]
STAGES: tuple[Stage, ...] = ("ingestion", "processing", "aggregation")
#: The Airflow pool each stage's tasks run in (slots from ``settings.pools``).
STAGE_POOLS: dict[Stage, str] = {
    "ingestion": "api_calls",
    "processing": "spark_jobs",
    "aggregation": "spark_jobs",
}
#: DAG task id prefix per stage: ``ingest_air_temperature`` … ``aggregate_moisture``.
TASK_PREFIX: dict[Stage, str] = {"ingestion": "ingest", "processing": "process", "aggregation": "aggregate"}
#: The key of each DAG stage in the YAML's ``retries`` and ``sla`` sections (named after vocabulary.Stage).
_RETRIES_KEY = {
    "ingestion": "ingest",
    "processing": "stage",
    "aggregation": "aggregate",
    "quality": "quality",
}
_SLA_HOURS = {
    "ingestion": "ingest_hours",
    "processing": "stage_hours",
    "aggregation": "aggregate_hours",
}


# ------------------------------------------------------------------------------------------ quarters, tasks


def quarter_of_interval(data_interval_start: datetime | date) -> str:
    """The quarter a scheduled run processes: the one its data interval starts in (``2024Q1``).

    The DAGs use ``CronDataIntervalTimetable``: the run firing on 2024-04-01 has the interval
    2024-01-01 → 2024-04-01, so it processes 2024Q1; the one firing on 2024-01-01 processes 2023Q4.
    """
    return str(Quarter.of(data_interval_start))


def task_names(product: str) -> dict[Stage, str]:
    """The three task ids of a product in the quarterly DAG."""
    return {stage: f"{prefix}_{product}" for stage, prefix in TASK_PREFIX.items()}


def task_defaults(stage: Stage, settings: Settings | None = None) -> dict[str, Any]:
    """Operator arguments of one stage from the YAML: retries, retry delay, timeout, pool, callbacks."""
    s = settings or load_settings()
    cfg = s
    retries = getattr(cfg.retries, _RETRIES_KEY[stage])
    out: dict[str, Any] = {
        "retries": retries,
        "retry_delay": timedelta(minutes=cfg.retry_delay_minutes),
        "on_failure_callback": notify_task_failure if cfg.email.on_failure else None,
        "on_retry_callback": notify_task_retry if cfg.email.on_retry else None,
    }
    if stage in _SLA_HOURS:
        # The stage's SLA is also its hard limit: a task running past it is killed and retried.
        out["execution_timeout"] = timedelta(hours=getattr(cfg.sla, _SLA_HOURS[stage]))
        out["pool"] = STAGE_POOLS[stage]
    else:
        out["execution_timeout"] = timedelta(hours=cfg.sla.aggregate_hours)
    return out


def pool_specs(settings: Settings) -> dict[str, dict[str, Any]]:
    """The Airflow pools the DAGs use, with slots from the YAML (``airflow pools import`` format)."""
    pools = settings.pools
    return {
        "spark_jobs": {
            "slots": pools.spark_jobs,
            "description": "WeatherInsight processing and aggregation (CPU/memory heavy)",
            "include_deferred": False,
        },
        "api_calls": {
            "slots": pools.api_calls,
            "description": "WeatherInsight ingestion (requests to the DWD server)",
            "include_deferred": False,
        },
    }


def ensure_pools(
    settings: Settings, *, airflow_bin: str | None = None, env: Mapping[str, str] | None = None
) -> None:
    """Create or update the pools with the ``airflow pools import`` CLI (idempotent; run at airflow-init).

    Through the CLI because the package never imports Airflow; the metadata database comes from the
    Airflow environment (``AIRFLOW_HOME`` / ``AIRFLOW__DATABASE__SQL_ALCHEMY_CONN``) of ``env``.
    """
    exe = airflow_bin or shutil.which("airflow")
    if exe is None:
        raise ConfigError("airflow", "the `airflow` command is not on PATH", source="ensure_pools")
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump(pool_specs(settings), fh)
        path = fh.name
    try:
        proc = subprocess.run(
            [exe, "pools", "import", path],
            capture_output=True,
            text=True,
            env=dict(env) if env is not None else None,
            check=False,
        )
    finally:
        Path(path).unlink(missing_ok=True)
    if proc.returncode != 0:
        raise RunFailedError(
            f"`airflow pools import` failed ({proc.returncode}): {proc.stderr.strip()[-500:]}",
            hint="check AIRFLOW_HOME and that `airflow db migrate` ran",
        )
    log.info("pools_ensured", pools={k: v["slots"] for k, v in pool_specs(settings).items()})


# ------------------------------------------------------------------------------------------------ outcomes


@dataclass
class StepResult:
    """What one stage did for one (product, quarter)."""

    stage: Stage
    product: str
    quarter: str
    status: Outcome
    rows: int = 0
    files: int = 0
    versions: list[str] = field(default_factory=list)
    duration_s: float = 0.0
    detail: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return _jsonable(asdict(self))


@dataclass
class ProductOutcome:
    """The end-to-end outcome of one quarter × product (ingest → process → aggregate)."""

    quarter: str
    product: str
    status: Literal["succeeded", "unchanged", "failed"]
    failed_stage: str | None = None
    error: str | None = None
    rows: int = 0
    version: str | None = None
    duration_s: float = 0.0
    verified_rows: int | None = None
    verified_version: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return _jsonable(asdict(self))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ProductOutcome:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)


@dataclass
class RunReport:
    """Outcomes of a ``run_quarter`` or ``backfill`` call, verified against the database."""

    outcomes: list[ProductOutcome]

    @property
    def failed(self) -> list[ProductOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    @property
    def ok(self) -> bool:
        return not self.failed

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "outcomes": [o.to_dict() for o in self.outcomes],
            "failed": [f"{o.quarter} {o.product}: {o.error}" for o in self.failed],
        }


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return str(value)


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


# ------------------------------------------------------------------------------------------------- stages


def ingest(settings: Settings, product: str, quarter: Quarter | str) -> StepResult:
    """Download the product's new and changed DWD files that cover ``quarter`` into the raw store.

    Raises ``RunFailedError`` (from the ingest service) when too many files failed.
    """
    from weatherinsight.ingest import ingest_product

    q = _quarter(quarter)
    started = time.monotonic()
    with metrics.step_timer(settings, stage="ingest", product=product, quarter=str(q)) as timer:
        result = ingest_product(settings, product, period="all", quarter=q, progress=False)
        files = result.files_new + result.files_changed
        timer.update(files=files, bytes_=result.bytes_downloaded, quarantined=result.files_failed)
    return StepResult(
        "ingestion",
        product,
        str(q),
        "succeeded" if files else "unchanged",
        files=files,
        versions=list(result.raw_versions),
        duration_s=time.monotonic() - started,
        detail={
            "status": result.status,
            "files_listed": result.files_listed,
            "files_unchanged": result.files_unchanged,
            "files_failed": result.files_failed,
            "bytes_downloaded": result.bytes_downloaded,
            "run_id": result.run_id,
        },
    )


def process(settings: Settings, product: str, quarter: Quarter | str) -> StepResult:
    """Parse the raw files of ``quarter`` into staged Parquet (DuckDB engine); bad files are quarantined.

    Raises ``RunFailedError`` when the staging service failed or wrote nothing for the quarter.
    """
    from weatherinsight.stage import stage_product

    q = _quarter(quarter)
    started = time.monotonic()
    with metrics.step_timer(settings, stage="stage", product=product, quarter=str(q)) as timer:
        result = stage_product(settings, product, quarters=[q], engine="duckdb", progress=False)
        timer.update(
            files=result.files_parsed,
            rows=result.rows_written,
            quarantined=len(result.quarantined),
            status="skipped" if result.status == "unchanged" else None,
        )
        if result.status == "failed":
            raise RunFailedError(f"staging {product} {q} failed: {result.message}")
    return StepResult(
        "processing",
        product,
        str(q),
        "unchanged" if result.status == "unchanged" else "succeeded",
        rows=result.rows_written,
        files=result.files_parsed,
        versions=[v for k, v in result.versions.items() if k == str(q)],
        duration_s=time.monotonic() - started,
        detail={
            "status": result.status,
            "message": result.message,
            "quarantined": [f"{f.file_name}: {f.reason}" for f in result.quarantined],
        },
    )


def aggregate(settings: Settings, product: str, quarter: Quarter | str, *, force: bool = False) -> StepResult:
    """Compute the quarter's curated features and publish them as the next dataset version.

    Unchanged staged inputs make this a no-op (the AVAILABLE version stays); ``force`` writes ``_vN+1``.
    """
    from weatherinsight.aggregate import aggregate_quarter

    q = _quarter(quarter)
    started = time.monotonic()
    with metrics.step_timer(settings, stage="aggregate", product=product, quarter=str(q)) as timer:
        result = aggregate_quarter(settings, product, q, engine="duckdb", force=force)
        timer.update(rows=result.rows, status="skipped" if result.unchanged else "success")
    if not result.unchanged:
        metrics.record_published(settings, product, q, dataset_version=result.dataset_version)
    return StepResult(
        "aggregation",
        product,
        str(q),
        "unchanged" if result.unchanged else "succeeded",
        rows=result.rows,
        versions=[result.dataset_version],
        duration_s=time.monotonic() - started,
        detail={"previous_version": result.previous_version, "staged_versions": list(result.staged_versions)},
    )


def _quarter(quarter: Quarter | str) -> Quarter:
    return quarter if isinstance(quarter, Quarter) else Quarter.parse(quarter)


# -------------------------------------------------------------------------------------- DAG task functions


def ingest_task(product: str, quarter: str) -> dict[str, Any]:
    """Airflow task ``ingest_<product>`` (group ``ingestion``)."""
    return ingest(load_settings(), product, quarter).to_dict()


def process_task(product: str, quarter: str) -> dict[str, Any]:
    """Airflow task ``process_<product>`` (group ``processing``)."""
    return process(load_settings(), product, quarter).to_dict()


def aggregate_task(product: str, quarter: str, force: bool = False) -> dict[str, Any]:
    """Airflow task ``aggregate_<product>`` (group ``aggregation``)."""
    return aggregate(load_settings(), product, quarter, force=force).to_dict()


def pipeline_complete_task(quarter: str, products: Sequence[str] | None = None) -> dict[str, Any]:
    """Airflow task ``pipeline_complete``: verify every product's curated quarter is published.

    Raises ``RunFailedError`` when a product has no AVAILABLE curated version with rows.
    """
    settings = load_settings()
    names = list(products) if products else list(settings.product_types)
    outcomes = [ProductOutcome(quarter, p, "succeeded") for p in names]
    report = RunReport(verify_outcomes(settings, outcomes))
    log.info("pipeline_complete", quarter=quarter, **{o.product: o.verified_version for o in report.outcomes})
    if not report.ok:
        raise RunFailedError(
            f"quarter {quarter} is not complete: "
            + "; ".join(f"{o.product}: {o.error}" for o in report.failed),
            hint="see the failed tasks of this run",
        )
    return report.to_dict()


# -------------------------------------------------------------------------------- run a quarter, backfill


#: Pauses before re-running a step that hit a concurrency conflict (see ``_retryable``).
_CONFLICT_BACKOFF_S = (1.0, 3.0)


def _retryable(exc: BaseException) -> bool:
    """A failure a prompt re-run of the (idempotent) step can cure: a transient error or a write conflict.

    Products run in parallel and share tables (e.g. ``station_locations``): two transactions inserting the
    same station at once make one fail with an IntegrityError on PostgreSQL ("database is locked" on
    SQLite); re-running the step then finds the row and succeeds. Data errors are never retried.
    """
    from sqlalchemy.exc import IntegrityError, OperationalError

    if isinstance(exc, WeatherInsightError):
        return exc.transient
    return isinstance(exc, (IntegrityError, OperationalError))


def _attempt(step: Callable[[], StepResult], product: str, quarter: Quarter, stage: str) -> StepResult:
    for pause in (*_CONFLICT_BACKOFF_S, None):
        try:
            return step()
        except Exception as exc:
            if pause is None or not _retryable(exc):
                raise
            log.warning(
                "step_retry",
                product=product,
                quarter=str(quarter),
                stage=stage,
                error=_error_text(exc),
                pause_s=pause,
            )
            time.sleep(pause)
    raise AssertionError("unreachable")  # pragma: no cover


def _run_product(
    settings: Settings,
    product: str,
    quarter: Quarter,
    *,
    force: bool,
    api_slots: threading.Semaphore,
    spark_slots: threading.Semaphore,
    on_stage: Callable[[str, str], None],
) -> ProductOutcome:
    started = time.monotonic()
    stage_name = "ingestion"
    try:
        on_stage(product, "ingesting")
        with api_slots:
            _attempt(lambda: ingest(settings, product, quarter), product, quarter, stage_name)
        stage_name = "processing"
        on_stage(product, "processing")
        with spark_slots:
            _attempt(lambda: process(settings, product, quarter), product, quarter, stage_name)
        stage_name = "aggregation"
        on_stage(product, "aggregating")
        with spark_slots:
            agg = _attempt(
                lambda: aggregate(settings, product, quarter, force=force), product, quarter, stage_name
            )
    except Exception as exc:  # one product's failure never stops the others; it is reported
        log.error(
            "product_failed",
            product=product,
            quarter=str(quarter),
            stage=stage_name,
            error=_error_text(exc),
            traceback=traceback.format_exc(limit=5),
        )
        on_stage(product, f"[red]failed in {stage_name}")
        return ProductOutcome(
            str(quarter),
            product,
            "failed",
            failed_stage=stage_name,
            error=_error_text(exc),
            duration_s=time.monotonic() - started,
        )
    on_stage(product, "[green]done" if agg.status == "succeeded" else "[green]unchanged")
    return ProductOutcome(
        str(quarter),
        product,
        "succeeded" if agg.status == "succeeded" else "unchanged",
        rows=agg.rows,
        version=agg.versions[-1] if agg.versions else None,
        duration_s=time.monotonic() - started,
    )


def run_quarter(
    settings: Settings,
    quarter: Quarter | str,
    *,
    products: Sequence[str] | None = None,
    force: bool = False,
    progress: bool = True,
    console: Console | None = None,
) -> RunReport:
    """Ingest → process → aggregate ``quarter`` for every product; products run in parallel.

    Concurrency follows the Airflow pools: at most ``pools.api_calls`` products ingest and at most
    ``pools.spark_jobs`` process or aggregate at once. Failures are caught per product and reported in
    the returned (database-verified) report; this function raises only for bad arguments.
    """
    q = _quarter(quarter)
    names = _product_list(settings, products)
    pools = settings.pools
    api_slots = threading.Semaphore(pools.api_calls)
    spark_slots = threading.Semaphore(pools.spark_jobs)
    _ensure_schema(settings)
    with _progress(progress, console) as bar:
        task_ids = {p: bar.add_task(f"{q} {p}", total=3, stage="waiting") for p in names} if bar else {}
        lock = threading.Lock()

        def on_stage(product: str, text: str) -> None:
            if bar is None:
                return
            with lock:
                done = {"ingesting": 0, "processing": 1, "aggregating": 2}.get(text, 3)
                bar.update(task_ids[product], completed=done, stage=text)

        with ThreadPoolExecutor(max_workers=len(names), thread_name_prefix="wi-product") as pool:
            futures = [
                pool.submit(
                    _run_product,
                    settings,
                    p,
                    q,
                    force=force,
                    api_slots=api_slots,
                    spark_slots=spark_slots,
                    on_stage=on_stage,
                )
                for p in names
            ]
            outcomes = [f.result() for f in futures]
    return RunReport(verify_outcomes(settings, outcomes))


def backfill(
    settings: Settings,
    quarters: Sequence[Quarter | str],
    *,
    products: Sequence[str] | None = None,
    force: bool = False,
    progress: bool = True,
    console: Console | None = None,
) -> RunReport:
    """Run ``run_quarter`` for each quarter, oldest first (up to ``backfill.max_parallel_quarters`` at once).

    Nothing stops on a failure: every quarter × product gets an outcome, verified against the database.
    """
    qs = sorted({_quarter(q) for q in quarters})
    if not qs:
        raise ConfigError("quarters", "no quarter to backfill", source="backfill")
    names = _product_list(settings, products)
    parallel = max(1, settings.backfill.max_parallel_quarters)

    # Rich allows one live display at a time: with quarters in parallel, each finished quarter prints a line.
    bars = progress and parallel == 1

    def one(q: Quarter) -> list[ProductOutcome]:
        outcomes = run_quarter(
            settings, q, products=names, force=force, progress=bars, console=console
        ).outcomes
        if progress and not bars:
            failed = [o.product for o in outcomes if o.status == "failed"]
            (console or Console()).print(f"{q}: {len(outcomes) - len(failed)} ok, failed: {failed or 'none'}")
        return outcomes

    if parallel == 1:
        outcomes = [o for q in qs for o in one(q)]
    else:
        with ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="wi-quarter") as pool:
            outcomes = [o for chunk in pool.map(one, qs) for o in chunk]
    return RunReport(outcomes)


def _product_list(settings: Settings, products: Iterable[str] | None) -> list[str]:
    from weatherinsight.dwd.products import get_product

    names = list(products) if products else list(settings.product_types)
    return [get_product(n).name for n in names]


def _ensure_schema(settings: Settings) -> None:
    from weatherinsight.warehouse import db

    db.ensure_schema(db.get_engine(settings.database_url))


def verify_outcomes(settings: Settings, outcomes: Sequence[ProductOutcome]) -> list[ProductOutcome]:
    """Check each claimed success against the database: an AVAILABLE curated version with rows.

    Fills ``verified_version``/``verified_rows``; a success the database does not confirm becomes a failure.
    """
    from sqlalchemy import func, select

    from weatherinsight.warehouse import db, lineage, tables

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
            if o.status != "failed" and (available is None or rows == 0):
                checked.status = "failed"
                checked.error = (
                    f"reported success but the database has no AVAILABLE curated version of {o.product} {q}"
                    if available is None
                    else f"{available.version_name} of {o.product} has no rows in {tables.curated_table(o.product).name}"
                )
            out.append(checked)
    return out


def summary_table(report: RunReport, *, title: str = "WeatherInsight pipeline") -> Table:
    """The per quarter × product summary as a Rich table."""
    table = Table(title=title)
    table.add_column("quarter", no_wrap=True)
    table.add_column("product", no_wrap=True)
    table.add_column("outcome", no_wrap=True)
    table.add_column("version", no_wrap=True)
    table.add_column("rows (db)", justify="right")
    table.add_column("seconds", justify="right")
    table.add_column("error", overflow="fold")
    for o in report.outcomes:
        outcome = {"succeeded": "[green]succeeded", "unchanged": "[green]unchanged"}.get(
            o.status, f"[red]failed ({o.failed_stage or 'verify'})"
        )
        table.add_row(
            o.quarter,
            o.product,
            outcome,
            o.verified_version or o.version or "—",
            "—" if o.verified_rows is None else str(o.verified_rows),
            f"{o.duration_s:.1f}",
            o.error or "",
        )
    return table


def render_text(table: Table, width: int = 160) -> str:
    """A Rich table as plain text (task logs, e-mails)."""
    console = Console(width=width, record=True, file=io.StringIO(), color_system=None)
    console.print(table)
    return console.export_text()


# ------------------------------------------------------------------------------------------ backfill params


class BackfillParams(BaseModel):
    """The validated parameters of the ``weatherinsight_backfill`` DAG."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start_year: int = Field(ge=1800, le=2200)
    end_year: int = Field(ge=1800, le=2200)
    quarters: tuple[int, ...]
    products: tuple[str, ...]
    force_reprocess: bool = False

    @field_validator("quarters", mode="before")
    @classmethod
    def _split_quarters(cls, v: Any) -> Any:
        if isinstance(v, str):
            return [p.strip().upper().removeprefix("Q") for p in v.split(",") if p.strip()]
        return v

    @field_validator("quarters")
    @classmethod
    def _quarters(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        bad = [q for q in v if q not in (1, 2, 3, 4)]
        if bad or not v:
            raise ValueError(f"quarters must be a non-empty subset of 1, 2, 3, 4; got {list(v)}")
        return tuple(sorted(set(v)))

    @field_validator("products", mode="before")
    @classmethod
    def _split_products(cls, v: Any) -> Any:
        if isinstance(v, str):
            return [p.strip() for p in v.split(",") if p.strip()]
        return v

    @field_validator("products")
    @classmethod
    def _products(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [p for p in v if p not in PRODUCTS]
        if unknown:
            raise ValueError(f"unknown product(s) {unknown}; known: {', '.join(PRODUCTS)}")
        if not v:
            raise ValueError("at least one product is required")
        return tuple(dict.fromkeys(v))

    @model_validator(mode="after")
    def _range(self) -> BackfillParams:
        if self.end_year < self.start_year:
            raise ValueError(f"end_year {self.end_year} is before start_year {self.start_year}")
        last = Quarter.last_complete()
        if not self.plan():
            raise ValueError(f"no quarter of the range has ended yet (the last complete quarter is {last})")
        return self

    def plan(self) -> list[Quarter]:
        """Every quarter of the range, oldest first; quarters that have not ended yet are left out."""
        last = Quarter.last_complete()
        return [
            Quarter(y, q)
            for y in range(self.start_year, self.end_year + 1)
            for q in self.quarters
            if Quarter(y, q) <= last
        ]

    @classmethod
    def from_params(cls, params: Mapping[str, Any], settings: Settings) -> BackfillParams:
        """Validate DAG params; missing or ``None`` values take the YAML's backfill defaults.

        Raises ``ConfigError`` naming the parameter and the problem.
        """
        defaults = settings.backfill
        known = set(cls.model_fields)
        unknown = sorted(set(params) - known)
        if unknown:
            raise ConfigError(
                ", ".join(unknown),
                f"unknown parameter(s); expected {sorted(known)}",
                source="backfill params",
            )
        values: dict[str, Any] = {
            "start_year": defaults.default_start_year,
            "end_year": defaults.default_end_year,
            "quarters": list(defaults.default_quarters),
            "products": list(settings.product_types),
            "force_reprocess": False,
        }
        values.update({k: v for k, v in params.items() if v is not None})
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            err = exc.errors()[0]
            key = ".".join(str(p) for p in err["loc"]) or "params"
            raise ConfigError(
                key, f"{err['msg']} (got {err.get('input')!r})", source="backfill params"
            ) from exc


def backfill_plan_task(params: Mapping[str, Any]) -> list[dict[str, str]]:
    """Airflow task ``validate_params``: bad params fail here, at once, with the parameter named.

    Returns one ``{"quarter": "2020Q1"}`` per quarter (the ``op_kwargs`` of the mapped quarter tasks).
    """
    p = BackfillParams.from_params(params, load_settings())
    plan = [{"quarter": str(q)} for q in p.plan()]
    log.info("backfill_plan", quarters=[x["quarter"] for x in plan], products=list(p.products))
    return plan


def backfill_quarter_task(quarter: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Airflow task ``backfill_quarter`` (mapped over quarters): every product of one quarter.

    Product failures do not fail this task; they are returned and the summary task fails the run.
    """
    settings = load_settings()
    p = BackfillParams.from_params(params, settings)
    report = run_quarter(settings, quarter, products=p.products, force=p.force_reprocess, progress=False)
    return [o.to_dict() for o in report.outcomes]


def verify_backfill(
    settings: Settings, params: BackfillParams, outcomes: Iterable[Any] | None
) -> tuple[RunReport, list[str]]:
    """Match the quarter tasks' outcomes to the plan, verify them, and name the quarters that were published.

    ``outcomes`` is the XCom of the mapped ``backfill_quarter`` tasks: one list of ``ProductOutcome`` dicts
    per quarter task (``None`` or absent where a task left nothing). Returns

    * the report: one outcome per planned quarter × product (``params.plan()`` × ``params.products``, in
      that order), verified against the database by ``verify_outcomes``; a pair without an outcome is
      failed ("no outcome recorded (the quarter task failed)"), outcomes outside the plan are ignored;
    * the published quarters, oldest first. A quarter counts as published when EVERY requested product
      ended ``succeeded`` or ``unchanged`` (a no-op on unchanged inputs) and the database confirms it: an
      AVAILABLE curated version of (product, quarter) with rows. One failed, missing or unconfirmed
      product keeps the whole quarter out.

    Shared by ``backfill_summary`` (which fails the run on any failure) and the backfill DAG's
    ``announce_quarters`` (which announces the published quarters), so both judge a quarter the same way.
    """
    reported: dict[tuple[str, str], ProductOutcome] = {}
    for chunk in outcomes or []:
        for item in chunk or []:
            o = ProductOutcome.from_dict(item)
            reported[(o.quarter, o.product)] = o
    plan = [str(q) for q in params.plan()]
    planned = [
        reported.get(
            (q, prod),
            ProductOutcome(q, prod, "failed", error="no outcome recorded (the quarter task failed)"),
        )
        for q in plan
        for prod in params.products
    ]
    report = RunReport(verify_outcomes(settings, planned))
    failed = {o.quarter for o in report.failed}
    return report, [q for q in plan if q not in failed]


def backfill_summary_task(outcomes: Iterable[Any] | None, params: Mapping[str, Any]) -> dict[str, Any]:
    """Airflow task ``backfill_summary``: every quarter × product with outcome, rows and error.

    Verified against the database; quarters whose task left no outcome count as failed. Raises
    ``RunFailedError`` (failing the run) when anything failed.
    """
    settings = load_settings()
    report, _ = verify_backfill(settings, BackfillParams.from_params(params, settings), outcomes)
    text = render_text(summary_table(report, title="WeatherInsight backfill"))
    log.info("backfill_summary", ok=report.ok, failed=len(report.failed), total=len(report.outcomes))
    print(text)  # the task log shows the table as is
    if not report.ok:
        raise RunFailedError(
            f"backfill failed for {len(report.failed)} of {len(report.outcomes)} quarter × product: "
            + "; ".join(
                f"{o.quarter} {o.product} ({o.failed_stage or 'verify'}): {o.error}" for o in report.failed
            ),
            hint="fix the cause and re-trigger the backfill for those quarters (unchanged ones are no-ops)",
        )
    return report.to_dict()


# ----------------------------------------------------------------------------------------------- quality


class QualityCheckFailed(RunFailedError):
    """Fatal quality findings for a quarter; the alert has been sent already (``alert_sent``)."""

    def __init__(self, message: str, *, alert_sent: bool) -> None:
        self.alert_sent = alert_sent
        super().__init__(
            message, hint="see quality_check_results for the run and the triage notes of the DAG"
        )


def quality_check(
    settings: Settings, quarter: Quarter | str, *, products: Sequence[str] | None = None
) -> QualityReport:
    """Run the checks of ``quarter``; on fatal findings send the alert e-mail. Returns the QualityReport."""
    from weatherinsight.quality.checks import run_checks

    with metrics.step_timer(
        settings, stage="quality", product="all", quarter=str(_quarter(quarter))
    ) as timer:
        report = run_checks(settings, quarter, products=products)
        if report.fatal:
            timer.update(status="failed")
    if report.fatal:
        body = "\n".join(
            [
                f"Fatal data-quality findings for {report.quarter} (run {report.run_id}):",
                "",
                *(f"  {f.describe()}" for f in report.fatal),
                "",
                "Warnings:" if report.warnings else "No warnings.",
                *(f"  {f.describe()}" for f in report.warnings),
                "",
                f"Every result of this run is stored in quality_check_results (run_id = '{report.run_id}').",
            ]
        )
        report.alert_sent = send_alert(
            settings, f"[WeatherInsight] FATAL data-quality findings for {report.quarter}", body
        )
    return report


#: The Airflow connection the quality DAG reads the curated database from, when it is defined
#: (``AIRFLOW_CONN_WEATHERINSIGHT_POSTGRES`` or the connections store, as airflow-init creates it).
QUALITY_CONN_ID = "weatherinsight_postgres"


def connection_url(conn: Any, conn_id: str = QUALITY_CONN_ID) -> str | None:
    """The SQLAlchemy URL of an Airflow connection, looked up on the task context's ``conn`` accessor.

    Duck-typed so the package needs no Airflow import; ``None`` when there is no accessor or the connection
    is not defined (callers fall back to ``settings.database_url``).
    """
    if conn is None:
        return None
    try:
        c = getattr(conn, conn_id)
    except Exception:  # Airflow raises its own "not found" error; a missing connection is not a failure here
        return None
    from sqlalchemy.engine import URL

    kind = str(getattr(c, "conn_type", "") or "").lower()
    if kind not in ("postgres", "postgresql"):
        raise ConfigError(
            f"connection {conn_id}", f"conn_type must be postgres, got {kind!r}", source="Airflow connections"
        )
    return URL.create(
        "postgresql+psycopg",
        username=getattr(c, "login", None) or None,
        password=getattr(c, "password", None) or None,
        host=getattr(c, "host", None) or None,
        port=int(c.port) if getattr(c, "port", None) else None,
        database=getattr(c, "schema", None) or None,
    ).render_as_string(hide_password=False)


def quality_check_task(quarter: str, conn: Any = None) -> dict[str, Any]:
    """Airflow task ``run_quality_checks``: fails on fatal findings (after alerting), passes on warnings.

    The database is the ``weatherinsight_postgres`` Airflow connection when defined (``conn`` is the task
    context's connection accessor, passed by Airflow by name), else ``WEATHERINSIGHT_DATABASE_URL``.
    """
    settings = load_settings()
    url = connection_url(conn)
    if url is not None:
        settings = settings.model_copy(update={"database_url": url})
    log.info("quality_database", source="airflow connection" if url else "settings", conn_id=QUALITY_CONN_ID)
    report = quality_check(settings, quarter)
    if report.fatal:
        raise QualityCheckFailed(
            f"{len(report.fatal)} fatal quality finding(s) for {report.quarter}: "
            + "; ".join(f.describe() for f in report.fatal),
            alert_sent=report.alert_sent,
        )
    return dict(report.to_dict())


# ------------------------------------------------------------------------------------------------ alerting


def send_alert(settings: Settings, subject: str, body: str) -> bool:
    """Send an alert e-mail to ``pipeline.email.recipients`` through ``smtp_host:smtp_port``.

    Returns False (and logs) when no SMTP host or recipient is configured, or the server refuses: an
    alert problem must never hide the failure it reports.
    """
    cfg = settings.email
    if settings.smtp_host is None or not cfg.recipients:
        log.warning("alert_not_sent", reason="no SMTP host or recipients configured", subject=subject)
        return False
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = cfg.sender
    msg["To"] = ", ".join(cfg.recipients)
    msg.set_content(body)
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30) as smtp:
            smtp.send_message(msg)
    except (OSError, smtplib.SMTPException) as exc:
        log.error("alert_failed", error=_error_text(exc), host=settings.smtp_host, subject=subject)
        return False
    log.info("alert_sent", subject=subject, to=cfg.recipients)
    return True


def _describe_context(context: Mapping[str, Any]) -> dict[str, str]:
    ti = context.get("ti") or context.get("task_instance")
    dag_id = getattr(ti, "dag_id", None) or getattr(context.get("dag"), "dag_id", "?")
    return {
        "dag_id": str(dag_id),
        "task_id": str(getattr(ti, "task_id", "?")),
        "run_id": str(context.get("run_id") or getattr(ti, "run_id", "?")),
        "try_number": str(getattr(ti, "try_number", "?")),
        "map_index": str(getattr(ti, "map_index", -1)),
        "log_url": str(getattr(ti, "log_url", "") or ""),
    }


def notify_task_failure(context: Mapping[str, Any]) -> None:
    """Airflow ``on_failure_callback``: e-mail the failure (SMTP from settings) with its triage pointers."""
    exc = context.get("exception")
    if isinstance(exc, QualityCheckFailed) and exc.alert_sent:
        return  # the quality task has sent a dedicated alert with every finding
    info = _describe_context(context)
    settings = load_settings()
    body = "\n".join(
        [
            f"Task {info['dag_id']}.{info['task_id']} failed (run {info['run_id']}, try {info['try_number']}).",
            "",
            f"Error: {exc!r}" if exc is not None else "Error: (no exception in the context)",
            f"Log: {info['log_url']}" if info["log_url"] else "",
            "",
            "Triage: see the DAG's documentation (doc_md) in the Airflow UI; re-running a task is safe "
            "(every step is idempotent; unchanged inputs are no-ops).",
        ]
    )
    send_alert(settings, f"[WeatherInsight] task failed: {info['dag_id']}.{info['task_id']}", body)


def notify_task_retry(context: Mapping[str, Any]) -> None:
    """Airflow ``on_retry_callback`` (only when ``email.on_retry`` is true)."""
    info = _describe_context(context)
    send_alert(
        load_settings(),
        f"[WeatherInsight] task retrying: {info['dag_id']}.{info['task_id']}",
        f"Try {info['try_number']} of {info['task_id']} failed: {context.get('exception')!r}; Airflow retries it.",
    )


# --------------------------------------------------------------------------------------------- progress


def _progress(enabled: bool, console: Console | None) -> AbstractContextManager[Progress | None]:
    if not enabled:
        return nullcontext(None)
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description:<28}"),
        BarColumn(),
        TextColumn("{task.fields[stage]}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )
