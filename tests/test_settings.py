"""Settings and YAML validation: defaults, env names, and start-up failures naming key and file."""

from __future__ import annotations

from pathlib import Path

import pytest

from weatherinsight.errors import ConfigError, UnknownProductError
from weatherinsight.settings import (
    DEFAULT_CONFIG,
    DEFAULT_DWD_BASE_URL,
    KNOWN_PRODUCTS,
    Settings,
    load_settings,
)

REPO_CONFIG = Path(str(DEFAULT_CONFIG))


def test_defaults_follow_the_data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for var in ("DATA_DIR", "RAW_STORE_URL", "DATABASE_URL", "DWD_BASE_URL"):
        monkeypatch.delenv(f"WEATHERINSIGHT_{var}", raising=False)
    monkeypatch.setenv("WEATHERINSIGHT_DATA_DIR", str(tmp_path / "d"))
    s = Settings(config_file=REPO_CONFIG)
    assert s.data_dir == tmp_path / "d"
    assert s.raw_store_url == str(tmp_path / "d" / "raw")
    assert s.database_url == f"sqlite:///{tmp_path / 'd' / 'weatherinsight.db'}"
    assert s.staged_dir == tmp_path / "d" / "staged"
    assert s.dwd_base_url == DEFAULT_DWD_BASE_URL


def test_exact_environment_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEATHERINSIGHT_RAW_STORE_URL", "s3://bucket/raw")
    monkeypatch.setenv("WEATHERINSIGHT_DATABASE_URL", "postgresql+psycopg://u@h/db")
    monkeypatch.setenv("WEATHERINSIGHT_DWD_BASE_URL", "http://127.0.0.1:8000/hourly")
    s = Settings(config_file=REPO_CONFIG)
    assert s.raw_store_url == "s3://bucket/raw"
    assert s.database_url == "postgresql+psycopg://u@h/db"
    assert s.dwd_base_url == "http://127.0.0.1:8000/hourly/"


def test_repo_yaml_carries_every_seed_section() -> None:
    cfg = Settings(config_file=REPO_CONFIG)
    assert cfg.product_types == list(KNOWN_PRODUCTS)  # every shipped product runs by default
    assert cfg.versioning.raw.format(year=2024, quarter=1, version=1) == "2024Q1_raw_v1"
    assert cfg.versioning.staged.format(year=2024, quarter=1, version=1) == "2024Q1_staged_v1"
    assert cfg.versioning.curated.format(year=2024, quarter=1, version=1) == "2024Q1_v1"
    assert (cfg.pools.spark_jobs, cfg.pools.api_calls) == (3, 5)
    assert cfg.quality_thresholds.min_rows_per_quarter == 100
    assert cfg.quality_thresholds.max_null_percentage == 15.0
    assert cfg.quality_thresholds.min_stations_per_quarter == 50
    assert cfg.retries.ingest >= 0 and cfg.sla.pipeline_hours > 0
    assert cfg.email.on_failure is True and cfg.email.recipients
    assert cfg.spark.master and cfg.backfill.max_parallel_quarters >= 1
    assert cfg.features.min_valid_hours_per_day == 20
    assert cfg.duckdb.memory_limit == "128m"


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("product_types: [air_temperature, snow]\n", "product_types"),
        ("retries: {ingest: -1}\n", "retries.ingest"),
        ("pools: {spark_jobs: 0}\n", "pools.spark_jobs"),
        ("duckdb: {memory_limit: lots}\n", "duckdb.memory_limit"),
        ("versioning: {raw: 'raw_{year}'}\n", "versioning.raw"),
        ("surprise: 1\n", "surprise"),
        # the old spellings are gone (one vocabulary: ingest/stage/aggregate)
        ("retries: {ingestion: 1}\n", "retries.ingestion"),
        ("sla: {processing_hours: 1}\n", "sla.processing_hours"),
        ("ingestion: {max_attempts: 2}\n", "ingestion"),
        ("staging: {max_failure_share: 0.5}\n", "staging"),
    ],
)
def test_bad_yaml_names_key_and_file(tmp_path: Path, text: str, key: str) -> None:
    f = tmp_path / "bad.yaml"
    f.write_text(text)
    with pytest.raises(ConfigError) as exc:
        load_settings(config_file=f)
    assert exc.value.key == key
    assert str(f) in str(exc.value)


@pytest.mark.parametrize(
    "url", ["opendata.dwd.de/no-scheme", "http:///no-host/", "file:///srv/dwd/", "ftp://h/x/"]
)
def test_malformed_url_fails_at_start_up(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("WEATHERINSIGHT_DWD_BASE_URL", url)
    with pytest.raises(ConfigError) as exc:
        load_settings(config_file=REPO_CONFIG)
    assert exc.value.key == "WEATHERINSIGHT_DWD_BASE_URL"
    assert "malformed URL" in str(exc.value)


@pytest.mark.parametrize(
    ("text", "key", "expected"),
    [
        ("alerts: {webhook_url: 'ftp://h/x'}\n", "alerts.webhook_url", "http(s)://host/path"),
        ("lineage: {url: 'marquez:5000'}\n", "lineage.url", "http(s)://host[:port]"),
    ],
)
def test_optional_http_urls_name_the_form_they_expect(
    tmp_path: Path, text: str, key: str, expected: str
) -> None:
    f = tmp_path / "bad.yaml"
    f.write_text(text)
    with pytest.raises(ConfigError) as exc:
        load_settings(config_file=f)
    value = text.split("'")[1]
    assert (exc.value.key, str(exc.value)) == (
        key,
        f"invalid configuration: {key}: Value error, malformed URL {value!r}: expected {expected} (in {f}) — "
        "fix the value and restart",
    )


def test_optional_http_urls_may_be_empty(tmp_path: Path) -> None:
    f = tmp_path / "empty.yaml"
    f.write_text("alerts: {webhook_url: ''}\nlineage: {url: ''}\n")
    s = load_settings(config_file=f)
    assert (s.alerts.webhook_url, s.lineage.url) == (None, None)


def test_a_malformed_s3_endpoint_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEATHERINSIGHT_RAW_STORE_URL", "s3://bucket/raw")
    monkeypatch.setenv("WEATHERINSIGHT_RAW_STORE_OPTIONS", '{"key": "k", "secret": "s"}')
    monkeypatch.setenv("WEATHERINSIGHT_S3_ENDPOINT_URL", "minio:9000")
    with pytest.raises(ConfigError) as exc:
        load_settings(config_file=REPO_CONFIG)
    assert "malformed S3 endpoint 'minio:9000': expected http(s)://host:port" in str(exc.value)


def test_unknown_product_lookup_lists_known() -> None:
    from weatherinsight.dwd.products import get_product

    assert get_product("TU").name == "air_temperature"
    assert get_product("p0").name == "pressure"
    with pytest.raises(UnknownProductError, match=r"snow.*known products: air_temperature"):
        get_product("snow")


def test_default_yaml_ships_in_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WEATHERINSIGHT_CONFIG_FILE", raising=False)
    assert REPO_CONFIG.is_file()
    assert REPO_CONFIG.parent.name == "config" and REPO_CONFIG.parent.parent.name == "weatherinsight"
    assert Settings().config_file == REPO_CONFIG


def test_priority_kwargs_over_env_over_yaml(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    f = tmp_path / "c.yaml"
    f.write_text("pools: {spark_jobs: 7, api_calls: 9}\nstage: {max_failure_share: 0.2}\n")
    monkeypatch.setenv("WEATHERINSIGHT_CONFIG_FILE", str(f))
    s = load_settings()
    assert (s.pools.spark_jobs, s.pools.api_calls, s.stage.max_failure_share) == (7, 9, 0.2)
    assert s.retries.ingest == 3  # keys the file leaves out keep their defaults
    monkeypatch.setenv("WEATHERINSIGHT_POOLS__SPARK_JOBS", "4")
    s = load_settings()
    assert (s.pools.spark_jobs, s.pools.api_calls) == (4, 9)  # env wins for its key only
    s = load_settings(pools={"spark_jobs": 2})
    assert (s.pools.spark_jobs, s.pools.api_calls) == (2, 9)  # nested kwargs merge the same way


def test_bad_nested_env_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEATHERINSIGHT_RETRIES__STAGE", "-1")
    with pytest.raises(ConfigError) as exc:
        load_settings(config_file=REPO_CONFIG)
    assert exc.value.key == "WEATHERINSIGHT_RETRIES__STAGE"
    assert "environment" in str(exc.value)


def test_undecodable_env_section_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEATHERINSIGHT_RETRIES", "{not json")
    with pytest.raises(ConfigError, match="retries"):
        load_settings(config_file=REPO_CONFIG)


def test_settings_knows_the_registry_products() -> None:
    from weatherinsight.dwd.products import PRODUCTS

    assert tuple(PRODUCTS) == KNOWN_PRODUCTS


def test_settings_is_the_bottom_layer() -> None:
    import ast

    import weatherinsight.settings as mod

    tree = ast.parse(Path(mod.__file__).read_text(encoding="utf-8"))
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert {m for m in imported if m.startswith("weatherinsight")} == {
        "weatherinsight.errors",
        "weatherinsight.config_checks",
        "weatherinsight.config_sections",
    }


def test_a_product_registered_at_run_time_is_accepted_until_unregistered() -> None:
    import pyarrow as pa

    from weatherinsight.dwd.products import Product, Variable, register_product, unregister_product
    from weatherinsight.settings import known_products

    toy = Product(
        "toy_x", "TX9", "toy_x", "QN_9", (Variable("X", "x", "1", pa.float64(), "x"),), "x", "t_toy_x", "toy"
    )
    with pytest.raises(ConfigError, match="toy_x"):
        load_settings(config_file=REPO_CONFIG, product_types=["toy_x"])
    register_product(toy)
    try:
        assert known_products()[-1] == "toy_x"
        assert load_settings(config_file=REPO_CONFIG, product_types=["toy_x"]).product_types == ["toy_x"]
        with pytest.raises(ValueError, match="already registered"):
            register_product(toy)
    finally:
        unregister_product("toy_x")
    assert "toy_x" not in known_products()
    with pytest.raises(ValueError, match="shipped product"):
        unregister_product("sun")


def test_quick_check_is_on_by_default_and_off_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings(config_file=REPO_CONFIG).ingest.quick_check is True
    monkeypatch.setenv("WEATHERINSIGHT_INGEST__QUICK_CHECK", "false")
    assert load_settings(config_file=REPO_CONFIG).ingest.quick_check is False
    monkeypatch.setenv("WEATHERINSIGHT_INGEST__QUICK_CHECK", "sometimes")
    with pytest.raises(ConfigError) as exc:
        load_settings(config_file=REPO_CONFIG)
    assert exc.value.key == "WEATHERINSIGHT_INGEST__QUICK_CHECK"


def test_pipeline_engine_defaults_to_duckdb_and_the_environment_chooses_spark(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert load_settings(config_file=REPO_CONFIG).pipeline.engine == "duckdb"
    assert Settings.model_fields["pipeline"].get_default().engine == "duckdb"  # also without the YAML key
    monkeypatch.setenv("WEATHERINSIGHT_PIPELINE__ENGINE", "spark")
    assert load_settings(config_file=REPO_CONFIG).pipeline.engine == "spark"


def test_a_bad_pipeline_engine_names_the_key(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    f = tmp_path / "bad.yaml"
    f.write_text("pipeline:\n  engine: polars\n")
    with pytest.raises(ConfigError) as exc:
        load_settings(config_file=f)
    assert (exc.value.key, str(exc.value)) == (
        "pipeline.engine",
        f"invalid configuration: pipeline.engine: Input should be 'duckdb' or 'spark' (in {f}) — "
        "fix the value and restart",
    )
    monkeypatch.setenv("WEATHERINSIGHT_PIPELINE__ENGINE", "Spark")
    with pytest.raises(ConfigError) as exc:
        load_settings(config_file=REPO_CONFIG)
    assert exc.value.key == "WEATHERINSIGHT_PIPELINE__ENGINE"
    assert "Input should be 'duckdb' or 'spark' (in environment)" in str(exc.value)
