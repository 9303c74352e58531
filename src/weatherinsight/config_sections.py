"""The pipeline sections of the settings: one strict pydantic model per YAML section (pipeline, versioning, retries,
sla, pools, email, alerts, lineage, spark, duckdb, quality_thresholds, backfill, ingest, stage, features).

``weatherinsight.settings.Settings`` holds one field per section; this module owns what each section may
contain and its validation (strict types: a bool is not a number, memory sizes like ``4g``, unknown keys
rejected). Bottom layer: imports nothing of WeatherInsight but ``config_checks`` and ``vocabulary``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo

from weatherinsight.config_checks import MEMORY_SIZE, http_url_problem, spark_master_problem
from weatherinsight.vocabulary import Engine


def no_bool_for_number(value: Any, info: ValidationInfo, fields: dict[str, FieldInfo]) -> Any:
    """Pydantic's lax mode reads ``true`` as 1 for int and float fields; a boolean given for a number is a
    mistake (``max_attempts: true``), so it is rejected."""
    field = fields.get(info.field_name or "")
    if isinstance(value, bool) and field is not None and field.annotation in (int, float):
        raise ValueError(f"expected a number, got the boolean {str(value).lower()}")
    return value


def optional_http_url(expected: str) -> AfterValidator:
    """The validator of an optional http(s) URL field: empty means unset (None); ``expected`` shows the form."""

    def check(value: str | None) -> str | None:
        if value is None or value == "":
            return None
        problem = http_url_problem(value, expected)
        if problem:
            raise ValueError(problem)
        return value

    return AfterValidator(check)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @field_validator("*", mode="before")
    @classmethod
    def _strict_numbers(cls, v: Any, info: ValidationInfo) -> Any:
        return no_bool_for_number(v, info, cls.model_fields)


class PipelineSettings(_Strict):
    """How the scheduled pipeline runs: the DAGs' tasks and ``weatherinsight run``/``backfill``."""

    #: The engine of the pipeline's staging and aggregation steps; with ``spark`` they run at ``spark.master``,
    #: all steps of one process on one SparkSession (``engines.spark.shared_session``).
    engine: Engine = "duckdb"


class Versioning(_Strict):
    raw: str = "{year}Q{quarter}_raw_v{version}"
    staged: str = "{year}Q{quarter}_staged_v{version}"
    curated: str = "{year}Q{quarter}_v{version}"

    @field_validator("raw", "staged", "curated")
    @classmethod
    def _has_fields(cls, v: str) -> str:
        for part in ("{year}", "{quarter}", "{version}"):
            if part not in v:
                raise ValueError(f"pattern must contain {part}")
        if v.index("{year}") > v.index("{quarter}"):
            # months, seasons and years write their label in place of the {year}…{quarter} span
            raise ValueError("{year} must come before {quarter}")
        return v


class Retries(_Strict):
    """Airflow retries per stage (keys are the ``Stage`` names of ``weatherinsight.vocabulary``)."""

    ingest: int = Field(3, ge=0)
    stage: int = Field(2, ge=0)
    aggregate: int = Field(2, ge=0)
    quality: int = Field(1, ge=0)


class Sla(_Strict):
    ingest_hours: float = Field(2, gt=0)
    stage_hours: float = Field(4, gt=0)
    aggregate_hours: float = Field(2, gt=0)
    pipeline_hours: float = Field(8, gt=0)


class Pools(_Strict):
    spark_jobs: int = Field(3, ge=1)
    api_calls: int = Field(5, ge=1)


class Email(_Strict):
    on_failure: bool = True
    on_retry: bool = False
    on_success: bool = False
    recipients: list[str] = Field(default_factory=list)
    sender: str = "weatherinsight@localhost"


class Alerts(_Strict):
    """The webhook alert channel (Slack-compatible JSON), sent besides the e-mails (pipeline/alerts.py)."""

    webhook_url: Annotated[str | None, optional_http_url("http(s)://host/path")] = None
    #: Extra HTTP headers as "Name: value" strings (e.g. an Authorization header of the receiver).
    webhook_headers: list[str] = Field(default_factory=list)
    webhook_timeout_seconds: float = Field(10.0, gt=0, le=300)

    @field_validator("webhook_headers")
    @classmethod
    def _headers(cls, v: list[str]) -> list[str]:
        for header in v:
            name, sep, _ = header.partition(":")
            if not sep or not name.strip() or any(c.isspace() for c in name.strip()):
                raise ValueError(f"header {header!r} is not of the form 'Name: value'")
        return v

    def headers(self) -> dict[str, str]:
        """``webhook_headers`` as a mapping (name → value, surrounding blanks stripped)."""
        pairs = (h.partition(":") for h in self.webhook_headers)
        return {name.strip(): value.strip() for name, _, value in pairs}


LINEAGE_TRANSPORTS: tuple[str, ...] = ("console", "file", "http")


class Lineage(_Strict):
    """OpenLineage events of dataset versions (warehouse/lineage_events.py); off unless ``enabled``."""

    enabled: bool = False
    transport: str = "file"
    #: File transport: events appended one JSON document per line; None means <data_dir>/lineage/events.jsonl.
    file_path: Path | None = None
    #: HTTP transport: the OpenLineage endpoint's base URL (e.g. Marquez ``http://marquez:5000``).
    url: Annotated[str | None, optional_http_url("http(s)://host[:port]")] = None
    endpoint: str = "api/v1/lineage"
    timeout_seconds: float = Field(5.0, gt=0, le=300)
    #: Namespace of the jobs (the datasets' namespace is derived from the database, see docs/orchestrator.md).
    job_namespace: str = "weatherinsight"

    @field_validator("transport")
    @classmethod
    def _transport(cls, v: str) -> str:
        if v not in LINEAGE_TRANSPORTS:
            raise ValueError(f"unknown transport {v!r}; use one of {', '.join(LINEAGE_TRANSPORTS)}")
        return v

    @model_validator(mode="after")
    def _http_needs_url(self) -> Lineage:
        if self.enabled and self.transport == "http" and self.url is None:
            raise ValueError("transport 'http' needs lineage.url")
        return self


class Spark(_Strict):
    master: str = "local[2]"
    #: The Python the executors start; None: $PYSPARK_PYTHON, else the driver's own interpreter.
    python: str | None = None
    driver_memory: str = "2g"
    executor_memory: str = "2g"
    executor_cores: int = Field(2, ge=1)

    @field_validator("master")
    @classmethod
    def _master_url(cls, v: str) -> str:
        problem = spark_master_problem(v)
        if problem:
            raise ValueError(problem)
        return v

    @field_validator("driver_memory", "executor_memory")
    @classmethod
    def _memory_size(cls, v: str) -> str:
        # Spark would fail only when the JVM starts, minutes into a DAG run; say so at start-up instead.
        if not MEMORY_SIZE.fullmatch(v):
            raise ValueError(f"{v!r} is not a memory size; write a whole number with a unit, e.g. 512m or 4g")
        return v


class Duckdb(_Strict):
    """The embedded engine's limits. Every aggregation opens its own in-memory DuckDB connection and keeps the
    period's framed hours in a temp table (a year of 500 stations: ~4.4 M rows, 500–700 MiB unbounded); up to
    ``pools.spark_jobs`` of them run at once, so each gets ``memory_limit`` and spills the rest to disk. 128m:
    three such years at once peaked at 663 MiB for the process (256m: 979 MiB) at the same speed; at 64m some
    years run out (an operator that cannot spill) and are run again unbounded (issue #19)."""

    memory_limit: str = "128m"
    #: Worker threads per aggregation; None: the cores shared out among the aggregations running in the process
    #: when it starts (``engines.duckdb.auto_threads``): all of them for one alone, 1 each on 2 cores beside
    #: another. Several connections with one thread per core only contend: 36 months of three products, three
    #: at a time, took 7–30 % longer with DuckDB's default; one alone with one thread takes up to twice as long.
    threads: int | None = Field(None, ge=1)

    @field_validator("memory_limit")
    @classmethod
    def _memory_size(cls, v: str) -> str:
        if not MEMORY_SIZE.fullmatch(v):
            raise ValueError(f"{v!r} is not a memory size; write a whole number with a unit, e.g. 256m or 1g")
        return v


class QualityThresholds(_Strict):
    min_rows_per_quarter: int = Field(100, ge=0)
    max_null_percentage: float = Field(15.0, ge=0, le=100)
    min_stations_per_quarter: int = Field(50, ge=0)


class Backfill(_Strict):
    default_start_year: int = Field(2020, ge=1800)
    # None: the year of the last complete quarter (pipeline.catchup.catchup_window), so raising
    # default_start_year alone never makes the DAG files fail to import.
    default_end_year: int | None = Field(None, ge=1800)
    # A quarter ("2026Q2") the quarterly DAG catches up from instead of Q1 of default_start_year.
    catchup_from: str | None = Field(None, pattern=r"^[0-9]{4}Q[1-4]$")
    default_quarters: list[int] = Field(default_factory=lambda: [1, 2, 3, 4])
    max_parallel_quarters: int = Field(1, ge=1)

    @field_validator("default_quarters")
    @classmethod
    def _quarters(cls, v: list[int]) -> list[int]:
        bad = [q for q in v if q not in (1, 2, 3, 4)]
        if bad or not v:
            raise ValueError(f"quarters must be a non-empty subset of 1..4, got {v}")
        return v

    @model_validator(mode="after")
    def _order(self) -> Backfill:
        if self.default_end_year is not None and self.default_end_year < self.default_start_year:
            raise ValueError("default_end_year is before default_start_year")
        return self


class IngestSettings(_Strict):
    timeout_seconds: float = Field(60, gt=0)
    max_attempts: int = Field(5, ge=1)
    backoff_base_seconds: float = Field(1.0, ge=0)
    backoff_max_seconds: float = Field(60.0, ge=0)
    max_failure_share: float = Field(0.05, ge=0, le=1)
    max_uncompressed_bytes: int = Field(1 << 30, gt=0)
    #: Largest download body accepted (a hostile server cannot exhaust memory or disk); DWD's zips are far smaller.
    max_download_bytes: int = Field(512 << 20, gt=0)
    #: Skip the conditional GET of a stored file whose listing size and modified minute are those recorded
    #: when it was last fetched or re-validated after that minute (``ingest.plan.listing_unchanged``);
    #: false (or ``weatherinsight ingest --revalidate``) sends the conditional GET for every file.
    quick_check: bool = True


class StageSettings(_Strict):
    max_failure_share: float = Field(0.05, ge=0, le=1)


class FeatureRules(_Strict):
    min_valid_hours_per_day: int = Field(20, ge=1, le=24)
    min_hourly_coverage: float = Field(0.8, ge=0, le=1)
    min_daily_coverage: float = Field(0.8, ge=0, le=1)
    #: Periods the pipeline publishes beside quarters (issue #18; ``periods.PERIOD_KINDS`` less "quarter").
    periods: tuple[Literal["month", "season", "year"], ...] = ("month", "season", "year")


#: The top-level keys the YAML file may set (in file order); anything else in the file is an error.
