"""Settings: the one ``Settings`` object, read from init kwargs, ``WEATHERINSIGHT_*``, ``.env`` and the YAML.

Priority (highest first): keyword arguments > environment (``WEATHERINSIGHT_*``, nested keys with ``__``, e.g.
``WEATHERINSIGHT_POOLS__SPARK_JOBS=4``) > ``.env`` > the pipeline YAML. The YAML is the packaged
``weatherinsight/config/weatherinsight.yaml`` unless ``WEATHERINSIGHT_CONFIG_FILE`` (or ``config_file=``)
names another file; it may set only the pipeline sections (``YAML_KEYS``), each a field of ``Settings``.

House rule 5: nothing else reads ``os.environ``; callers get a ``Settings`` object and pass it on.
A bad value (unknown product, negative retries, malformed URL) raises ``ConfigError`` naming the key and its
source (the YAML file, or the environment variable); ``load_settings`` also runs the start-up checks of
``weatherinsight.config_checks`` (YAML strictness, database URL, data dir, raw store). This is the bottom layer:
it imports nothing of WeatherInsight but ``errors``, ``config_checks`` and ``config_sections`` (the section
models).
"""

from __future__ import annotations

import importlib.util
import os
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import (
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from weatherinsight.config_checks import (
    YamlProblem,
    database_url_problem,
    directory_problem,
    http_url_problem,
    load_yaml_mapping,
    raw_store_problem,
)
from weatherinsight.config_sections import (
    Alerts,
    Backfill,
    Duckdb,
    Email,
    FeatureRules,
    IngestSettings,
    Lineage,
    PipelineSettings,
    Pools,
    QualityThresholds,
    Retries,
    Sla,
    Spark,
    StageSettings,
    Versioning,
    no_bool_for_number,
)
from weatherinsight.errors import ConfigError

DEFAULT_DWD_BASE_URL = "https://opendata.dwd.de/climate_environment/CDC/observations_germany/climate/hourly/"
ENV_PREFIX = "WEATHERINSIGHT_"
ENV_NESTED_DELIMITER = "__"
#: The packaged default YAML (read with importlib.resources so it is found in an installed wheel too).
DEFAULT_CONFIG = resources.files("weatherinsight") / "config" / "weatherinsight.yaml"

#: The product names ``product_types`` may list. A plain fact here because settings is the bottom layer and
#: must not import the DWD registry; ``weatherinsight.dwd.products`` checks at import that its registry
#: holds exactly these names, so the two cannot drift apart.
KNOWN_PRODUCTS: tuple[str, ...] = (
    "air_temperature",
    "precipitation",
    "wind",
    "pressure",
    "moisture",
    "sun",
    "cloudiness",
)
#: Names added at run time by ``dwd.products.register_product`` (tests, plug-ins); empty in a plain install.
_REGISTERED_PRODUCTS: list[str] = []


def known_products() -> tuple[str, ...]:
    """Every product name ``product_types`` accepts: the shipped ones, then those registered at run time."""
    return (*KNOWN_PRODUCTS, *_REGISTERED_PRODUCTS)


def register_product_name(name: str) -> None:
    """Accept ``name`` in ``product_types`` (called by ``dwd.products.register_product`` only)."""
    if name not in known_products():
        _REGISTERED_PRODUCTS.append(name)


def unregister_product_name(name: str) -> None:
    if name in _REGISTERED_PRODUCTS:
        _REGISTERED_PRODUCTS.remove(name)


YAML_KEYS: tuple[str, ...] = (
    "product_types",
    "pipeline",
    "versioning",
    "retries",
    "retry_delay_minutes",
    "sla",
    "pools",
    "email",
    "alerts",
    "spark",
    "duckdb",
    "quality_thresholds",
    "backfill",
    "ingest",
    "stage",
    "features",
    "lineage",
)


def read_config_file(path: Path) -> dict[str, Any]:
    """The mapping in a pipeline YAML file. A missing file, a directory, non-UTF-8 bytes, bad YAML, an empty
    file, a duplicated or unknown key: each a ``ConfigError`` naming the key (and line) and the file."""
    try:
        data = DEFAULT_CONFIG.read_bytes() if _is_default(path) else path.read_bytes()
    except FileNotFoundError:
        raise ConfigError("config_file", "file not found", source=str(path)) from None
    except IsADirectoryError:
        raise ConfigError("config_file", "is a directory, not a YAML file", source=str(path)) from None
    except OSError as exc:
        raise ConfigError("config_file", f"cannot be read: {exc.strerror}", source=str(path)) from None
    try:
        raw = load_yaml_mapping(path, data)
    except YamlProblem as exc:
        raise ConfigError(exc.key, exc.problem, source=str(path)) from None
    for key in raw:
        if key not in YAML_KEYS:
            raise ConfigError(str(key), "Extra inputs are not permitted", source=str(path))
    return raw


def _is_default(path: Path) -> bool:
    return str(path) == str(DEFAULT_CONFIG)


class _YamlSource(PydanticBaseSettingsSource):
    """The pipeline YAML as the lowest-priority source; the file itself is chosen by the sources above it."""

    def __init__(self, settings_cls: type[BaseSettings], *choosers: PydanticBaseSettingsSource) -> None:
        super().__init__(settings_cls)
        self._choosers = choosers
        self.path: Path = Path(str(DEFAULT_CONFIG))

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        raise NotImplementedError  # __call__ reads the whole file at once

    def __call__(self) -> dict[str, Any]:
        for source in self._choosers:
            chosen = source().get("config_file")
            if chosen:
                self.path = Path(chosen)
                break
        return read_config_file(self.path)


class Settings(BaseSettings):
    """Every setting of WeatherInsight: locations and service knobs, plus the pipeline sections of the YAML."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter=ENV_NESTED_DELIMITER, env_file=".env", extra="ignore"
    )

    data_dir: Path = Path("./data")
    #: Resolved to ``<data_dir>/raw`` when not given.
    raw_store_url: str = ""
    # fsspec storage options for the raw store; the S3 endpoint is for MinIO/moto (issue #3).
    s3_endpoint_url: str | None = None
    raw_store_options: dict[str, Any] = Field(default_factory=dict)
    #: Resolved to ``sqlite:///<data_dir>/weatherinsight.db`` when not given.
    database_url: str = ""
    dwd_base_url: str = DEFAULT_DWD_BASE_URL
    config_file: Path = Path(str(DEFAULT_CONFIG))
    log_format: str = "console"
    log_level: str = "INFO"
    # SMTP for alert e-mails (DAG failure, fatal quality findings).
    smtp_host: str | None = None
    smtp_port: int = 25
    # API
    api_keys_required: bool = False
    # Requests per minute: the default for API keys without their own limit (DEFAULT_KEY_RATE_LIMIT when unset)
    # and, when set, the limit of each anonymous client address too (weatherinsight.api.ratelimit).
    api_rate_limit_per_minute: int | None = Field(None, ge=1)
    # Redis shared by all API worker processes for rate-limit counters (redis://host:6379/0); unset = per process.
    api_redis_url: str | None = None
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

    # --- the pipeline sections (YAML_KEYS), normally from the YAML file
    product_types: list[str] = Field(default_factory=lambda: list(known_products()))
    pipeline: PipelineSettings = PipelineSettings()
    versioning: Versioning = Versioning()
    retries: Retries = Retries()
    retry_delay_minutes: float = Field(5, ge=0)
    sla: Sla = Sla()
    pools: Pools = Pools()
    email: Email = Email()
    alerts: Alerts = Alerts()
    spark: Spark = Spark()
    duckdb: Duckdb = Duckdb()
    quality_thresholds: QualityThresholds = QualityThresholds()
    backfill: Backfill = Backfill()
    ingest: IngestSettings = IngestSettings()
    stage: StageSettings = StageSettings()
    features: FeatureRules = FeatureRules()
    lineage: Lineage = Lineage()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The YAML comes last (lowest priority); which file it is follows the same priority order.
        yaml_source = _YamlSource(settings_cls, init_settings, env_settings, dotenv_settings)
        return init_settings, env_settings, dotenv_settings, yaml_source

    @field_validator("*", mode="before")
    @classmethod
    def _strict_numbers(cls, v: Any, info: ValidationInfo) -> Any:
        return no_bool_for_number(v, info, cls.model_fields)

    @field_validator("api_redis_url")
    @classmethod
    def _redis_url(cls, v: str | None) -> str | None:
        if v is not None and (urlsplit(v).scheme not in ("redis", "rediss", "unix") or "://" not in v):
            raise ValueError(f"malformed Redis URL {v!r}: expected redis://host:6379/0")
        if v is not None and importlib.util.find_spec("redis") is None:
            raise ValueError("a Redis URL needs the redis package: pip install 'weatherinsight[redis]'")
        return v

    @field_validator("dwd_base_url")
    @classmethod
    def _url(cls, v: str) -> str:
        # http(s) only: dwd/client.py is the one outbound path and speaks HTTP (a local archive is served
        # with `weatherinsight mirror serve DIR`).
        problem = http_url_problem(v, "http(s)://host/path/")
        if problem:
            raise ValueError(problem)
        return v if v.endswith("/") else v + "/"

    @field_validator("log_format")
    @classmethod
    def _log_format(cls, v: str) -> str:
        if v not in ("console", "json"):
            raise ValueError("log_format must be 'console' or 'json'")
        return v

    @field_validator("product_types")
    @classmethod
    def _known_products(cls, v: list[str]) -> list[str]:
        unknown = [p for p in v if p not in known_products()]
        if unknown:
            raise ValueError(f"unknown product(s) {unknown}; known: {list(known_products())}")
        if not v:
            raise ValueError("at least one product is required")
        return v

    @model_validator(mode="after")
    def _resolve_locations(self) -> Settings:
        # One field each, resolved once: code reads database_url / raw_store_url and never re-derives them.
        if not self.raw_store_url:
            self.raw_store_url = str(self.data_dir / "raw")
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'weatherinsight.db'}"
        return self

    @property
    def staged_dir(self) -> Path:
        return self.data_dir / "staged"

    @property
    def quarantine_dir(self) -> Path:
        return self.data_dir / "quarantine"

    @property
    def lineage_file(self) -> Path:
        """Where the file transport writes OpenLineage events (``lineage.file_path`` or under data_dir)."""
        return self.lineage.file_path or self.data_dir / "lineage" / "events.jsonl"


def _env_name(loc: tuple[int | str, ...]) -> str:
    return ENV_PREFIX + ENV_NESTED_DELIMITER.join(str(p) for p in loc).upper()


def _env_has(loc: tuple[int | str, ...]) -> str | None:
    """The environment variable that set ``loc`` (itself or an enclosing section), if any."""
    env = {k.upper() for k in os.environ}
    for depth in range(len(loc), 0, -1):
        name = _env_name(loc[:depth])
        if name in env:
            return name
    return None


def load_settings(**overrides: Any) -> Settings:
    """Build and validate the settings (keyword overrides win over the environment, which wins over the YAML).

    Raises ``ConfigError`` naming the key and its source: the YAML file and dotted key for a value from the
    file, else the ``WEATHERINSIGHT_*`` variable name.
    """
    try:
        settings = Settings(**overrides)
    except SettingsError as exc:
        # A value the environment source cannot even decode (e.g. a section that is not valid JSON).
        raise ConfigError(f"{ENV_PREFIX}*", str(exc), source="environment") from exc
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(p for p in err["loc"] if p != "__root__")
        top = str(loc[0]) if loc else ""
        from_env = _env_has(loc) if loc else None
        if top in YAML_KEYS and from_env is None and top not in overrides:
            path = _chosen_config_file(overrides)
            key = ".".join(str(p) for p in loc)
            raise ConfigError(key, err["msg"], source=str(path)) from exc
        raise ConfigError(from_env or _env_name(loc), err["msg"], source="environment") from exc
    check_locations(settings, overrides)
    return settings


def check_locations(settings: Settings, overrides: dict[str, Any] | None = None) -> None:
    """The start-up checks of the locations (``weatherinsight.config_checks``): data dir, database URL, raw
    store. ``ConfigError`` names the setting's variable and where its value came from."""
    given = overrides or {}
    problems = (
        ("data_dir", directory_problem(settings.data_dir)),
        ("database_url", database_url_problem(settings.database_url)),
        (
            "raw_store_url",
            raw_store_problem(settings.raw_store_url, settings.raw_store_options, settings.s3_endpoint_url),
        ),
    )
    for name, problem in problems:
        if problem is not None:
            raise ConfigError(ENV_PREFIX + name.upper(), problem, source=_source_of(name, given))


def _source_of(name: str, overrides: dict[str, Any]) -> str:
    """Where a top-level setting's value came from, for error messages."""
    if name in overrides:
        return "keyword argument"
    if _env_has((name,)):
        return "environment"
    if name in ("database_url", "raw_store_url"):
        return f"default under {ENV_PREFIX}DATA_DIR"
    return "default" if not Path(".env").is_file() else "environment or .env"


def _chosen_config_file(overrides: dict[str, Any]) -> Path:
    """The YAML file the overrides or the environment select (for naming it in an error)."""
    chosen = overrides.get("config_file") or os.environ.get(f"{ENV_PREFIX}CONFIG_FILE")
    return Path(chosen) if chosen else Path(str(DEFAULT_CONFIG))
