"""Settings: the one place that reads the environment (``WEATHERINSIGHT_*``) and ``config/weatherinsight.yaml``.

House rule 5: nothing else reads ``os.environ``; callers get a ``Settings`` object and pass it on.
A bad value (unknown product, negative retries, malformed URL) raises ``ConfigError`` naming key and file.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from weatherinsight.dwd.products import PRODUCTS
from weatherinsight.errors import ConfigError

DEFAULT_DWD_BASE_URL = "https://opendata.dwd.de/climate_environment/CDC/observations_germany/climate/hourly/"
_REPO_CONFIG = Path(__file__).resolve().parents[2] / "config" / "weatherinsight.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


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
        return v


class Retries(_Strict):
    ingestion: int = Field(3, ge=0)
    processing: int = Field(2, ge=0)
    aggregation: int = Field(2, ge=0)
    quality: int = Field(1, ge=0)


class Sla(_Strict):
    ingestion_hours: float = Field(2, gt=0)
    processing_hours: float = Field(4, gt=0)
    aggregation_hours: float = Field(2, gt=0)
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


class Spark(_Strict):
    master: str = "local[2]"
    driver_memory: str = "2g"
    executor_memory: str = "2g"
    executor_cores: int = Field(2, ge=1)


class QualityThresholds(_Strict):
    min_rows_per_quarter: int = Field(100, ge=0)
    max_null_percentage: float = Field(15.0, ge=0, le=100)
    min_stations_per_quarter: int = Field(50, ge=0)


class Backfill(_Strict):
    default_start_year: int = Field(2020, ge=1800)
    default_end_year: int = Field(2024, ge=1800)
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
        if self.default_end_year < self.default_start_year:
            raise ValueError("default_end_year is before default_start_year")
        return self


class Ingestion(_Strict):
    timeout_seconds: float = Field(60, gt=0)
    max_attempts: int = Field(5, ge=1)
    backoff_base_seconds: float = Field(1.0, ge=0)
    backoff_max_seconds: float = Field(60.0, ge=0)
    max_failure_share: float = Field(0.05, ge=0, le=1)
    max_uncompressed_bytes: int = Field(1 << 30, gt=0)


class Staging(_Strict):
    max_failure_share: float = Field(0.05, ge=0, le=1)


class FeatureRules(_Strict):
    min_valid_hours_per_day: int = Field(20, ge=1, le=24)
    min_hourly_coverage: float = Field(0.8, ge=0, le=1)
    min_daily_coverage: float = Field(0.8, ge=0, le=1)


class PipelineConfig(_Strict):
    """The validated content of ``config/weatherinsight.yaml``."""

    product_types: list[str] = Field(default_factory=lambda: list(PRODUCTS))
    versioning: Versioning = Versioning()
    retries: Retries = Retries()
    retry_delay_minutes: float = Field(5, ge=0)
    sla: Sla = Sla()
    pools: Pools = Pools()
    email: Email = Email()
    spark: Spark = Spark()
    quality_thresholds: QualityThresholds = QualityThresholds()
    backfill: Backfill = Backfill()
    ingestion: Ingestion = Ingestion()
    staging: Staging = Staging()
    features: FeatureRules = FeatureRules()

    @field_validator("product_types")
    @classmethod
    def _known_products(cls, v: list[str]) -> list[str]:
        unknown = [p for p in v if p not in PRODUCTS]
        if unknown:
            raise ValueError(f"unknown product(s) {unknown}; known: {list(PRODUCTS)}")
        if not v:
            raise ValueError("at least one product is required")
        return v


def load_pipeline_config(path: Path) -> PipelineConfig:
    """Read and validate the YAML file; every problem names the dotted key and the file."""
    try:
        raw: Any = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError as exc:
        raise ConfigError("config_file", "file not found", source=str(path)) from exc
    except yaml.YAMLError as exc:
        raise ConfigError("(yaml)", f"not valid YAML: {exc}", source=str(path)) from exc
    if not isinstance(raw, dict):
        raise ConfigError("(root)", "the file must hold a mapping", source=str(path))
    try:
        return PipelineConfig.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"]) or "(root)"
        raise ConfigError(key, err["msg"], source=str(path)) from exc


def _default_config_file() -> Path:
    local = Path("config/weatherinsight.yaml")
    return local if local.exists() else _REPO_CONFIG


class Settings(BaseSettings):
    """Process-wide settings from ``WEATHERINSIGHT_*`` environment variables (and an optional ``.env``)."""

    model_config = SettingsConfigDict(env_prefix="WEATHERINSIGHT_", env_file=".env", extra="ignore")

    data_dir: Path = Path("./data")
    raw_store_url: str | None = None
    # fsspec storage options for the raw store; the S3 endpoint is for MinIO/moto (issue #3).
    s3_endpoint_url: str | None = None
    raw_store_options: dict[str, Any] = Field(default_factory=dict)
    database_url: str | None = None
    dwd_base_url: str = DEFAULT_DWD_BASE_URL
    config_file: Path = Field(default_factory=_default_config_file)
    log_format: str = "console"
    log_level: str = "INFO"
    # SMTP for alert e-mails (DAG failure, fatal quality findings).
    smtp_host: str | None = None
    smtp_port: int = 25
    # API
    api_keys_required: bool = False
    api_rate_limit_per_minute: int = 600
    api_cors_origins: str = ""
    # Cache of finished response bodies of published (immutable) data, keyed by ETag; 0 turns it off.
    api_body_cache_mb: int = Field(64, ge=0)
    # How often the API re-reads which curated versions are published (seconds; 0 = on every request). Cached
    # station rows of a product are dropped when its published versions change (weatherinsight.api.published).
    api_data_refresh_seconds: float = Field(1.0, ge=0, le=3600)
    # Bound of the API's cache of published station rows, in rows (0 = no cache; a row is about 1 kB).
    api_station_cache_rows: int = Field(100_000, ge=0)
    # Serve GET /v1/features/{product}?station_id=N without FastAPI's parameter machinery when the answer is
    # already cached (weatherinsight.api.hotpath); same responses either way.
    api_hot_path: bool = True
    # Pipeline run metrics: a Prometheus textfile is written here (weatherinsight.metrics);
    # None means <data_dir>/metrics.
    metrics_dir: Path | None = None

    @field_validator("dwd_base_url")
    @classmethod
    def _url(cls, v: str) -> str:
        # http(s) only: dwd/client.py is the one outbound path and speaks HTTP (a local archive is served
        # with `weatherinsight mirror serve DIR`).
        from urllib.parse import urlsplit

        parts = urlsplit(v)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"malformed URL {v!r}: expected http(s)://host/path/")
        return v if v.endswith("/") else v + "/"

    @field_validator("log_format")
    @classmethod
    def _log_format(cls, v: str) -> str:
        if v not in ("console", "json"):
            raise ValueError("log_format must be 'console' or 'json'")
        return v

    @property
    def raw_store(self) -> str:
        return self.raw_store_url or str(self.data_dir / "raw")

    @property
    def staged_dir(self) -> Path:
        return self.data_dir / "staged"

    @property
    def quarantine_dir(self) -> Path:
        return self.data_dir / "quarantine"

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'weatherinsight.db'}"

    @cached_property
    def pipeline(self) -> PipelineConfig:
        return load_pipeline_config(self.config_file)


def load_settings(**overrides: Any) -> Settings:
    """Build settings from the environment (plus overrides) and validate the YAML at once.

    Raises ``ConfigError`` naming the key and its source (environment variable or YAML file).
    """
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = "WEATHERINSIGHT_" + ".".join(str(p) for p in err["loc"]).upper()
        raise ConfigError(key, err["msg"], source="environment") from exc
    _ = settings.pipeline  # fail at start-up, not half-way through a run
    return settings
