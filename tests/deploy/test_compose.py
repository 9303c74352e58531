"""deploy/docker-compose.yml: valid for docker-compose, complete, ordered by health checks, secrets from .env."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from tests.deploy.conftest import COMPOSE, DEPLOY, ENV_EXAMPLE, compose_cmd

SERVICES = {
    "postgres",
    "redis",
    "minio",
    "minio-init",
    "spark-master",
    "spark-worker-1",
    "spark-worker-2",
    "spark-worker-3",
    "airflow-init",
    "airflow-api-server",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-worker",
    "weatherinsight-api",
    "statsd-exporter",
    "node-exporter",
    "prometheus",
    "grafana",
}
ONE_SHOT = {"minio-init", "airflow-init"}
AIRFLOW_RUNTIME = {"airflow-api-server", "airflow-scheduler", "airflow-dag-processor", "airflow-worker"}
SECRET_WORDS = re.compile(r"PASSWORD|SECRET|FERNET|_KEY$|TOKEN", re.IGNORECASE)


def env_example_keys() -> dict[str, str]:
    out: dict[str, str] = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            out[key.strip()] = value
    return out


def test_config_quiet_passes_with_the_example_env(env_file: Path) -> None:
    proc = compose_cmd(env_file, "config", "-q")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""


def test_a_missing_secret_fails_loudly(tmp_path: Path) -> None:
    lines = [
        ln
        for ln in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
        if not ln.startswith("AIRFLOW_DB_PASSWORD=")
    ]
    env = tmp_path / ".env"
    env.write_text("\n".join(lines) + "\n")
    proc = compose_cmd(env, "config", "-q")
    assert proc.returncode != 0
    assert "AIRFLOW_DB_PASSWORD" in proc.stderr


def test_every_service_is_there_with_exact_names(rendered: dict[str, Any]) -> None:
    assert set(rendered["services"]) == SERVICES


def test_published_ports(rendered: dict[str, Any]) -> None:
    def published(name: str) -> set[tuple[int, int]]:
        out = set()
        for p in rendered["services"][name].get("ports", []):
            if isinstance(p, dict):
                out.add((int(p["published"]), int(p["target"])))
            else:
                host, _, container = str(p).rpartition(":")
                out.add((int(host), int(container)))
        return out

    assert published("airflow-api-server") == {(8080, 8080)}
    assert published("weatherinsight-api") == {(8000, 8000)}
    assert published("prometheus") == {(9090, 9090)}
    assert published("grafana") == {(3002, 3002)}
    assert published("spark-master") == {(8081, 8080)}


def test_long_running_services_have_health_checks_and_one_shots_do_not_restart(
    rendered: dict[str, Any],
) -> None:
    services = rendered["services"]
    for name in SERVICES - ONE_SHOT:
        assert "healthcheck" in services[name], name
        assert services[name]["healthcheck"]["test"][0] in ("CMD", "CMD-SHELL"), name
        assert services[name]["restart"] == "unless-stopped", name
    for name in ONE_SHOT:
        assert services[name]["restart"] == "no", name


def test_start_up_order_uses_conditions(rendered: dict[str, Any]) -> None:
    services = rendered["services"]
    for name in AIRFLOW_RUNTIME:
        deps = services[name]["depends_on"]
        assert deps["postgres"] == {"condition": "service_healthy"}, name
        assert deps["redis"] == {"condition": "service_healthy"}, name
        assert deps["airflow-init"] == {"condition": "service_completed_successfully"}, name
    for name in ("airflow-scheduler", "airflow-worker"):
        assert services[name]["depends_on"]["airflow-api-server"] == {"condition": "service_healthy"}
    assert services["airflow-init"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert services["minio-init"]["depends_on"] == {"minio": {"condition": "service_healthy"}}
    assert services["airflow-worker"]["depends_on"]["minio-init"] == {
        "condition": "service_completed_successfully"
    }
    for i in (1, 2, 3):
        assert services[f"spark-worker-{i}"]["depends_on"] == {
            "spark-master": {"condition": "service_healthy"}
        }
        assert services[f"spark-worker-{i}"]["command"][-1] == "spark://spark-master:7077"
    assert services["grafana"]["depends_on"] == {"prometheus": {"condition": "service_healthy"}}


def test_one_image_for_all_python_services_built_from_the_dockerfile(rendered: dict[str, Any]) -> None:
    services = rendered["services"]
    ours = {n for n, s in services.items() if "build" in s}
    assert ours == {
        "spark-master",
        "spark-worker-1",
        "spark-worker-2",
        "spark-worker-3",
        "airflow-init",
        *AIRFLOW_RUNTIME,
        "weatherinsight-api",
    }
    assert {services[n]["image"] for n in ours} == {"weatherinsight:0.1.0"}
    for n in ours:
        assert services[n]["build"]["dockerfile"] == "deploy/Dockerfile"
        assert Path(services[n]["build"]["context"]).resolve() == DEPLOY.parent.resolve()
        assert services[n]["user"] == "50000:0", n  # never root
    assert services["weatherinsight-api"]["command"] == [
        "weatherinsight",
        "api",
        "serve",
        "--host",
        "0.0.0.0",
        "--port",
        "8000",
    ]


def test_airflow_is_configured_for_celery_statsd_and_the_execution_api(rendered: dict[str, Any]) -> None:
    env = rendered["services"]["airflow-scheduler"]["environment"]
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-api-server:8080/execution/"
    assert env["AIRFLOW__CELERY__BROKER_URL"] == "redis://:change-me-redis@redis:6379/0"
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == (
        "postgresql+psycopg2://airflow:change-me-airflow@postgres:5432/airflow"
    )
    assert env["AIRFLOW__METRICS__STATSD_ON"] == "True"
    assert env["AIRFLOW__METRICS__STATSD_HOST"] == "statsd-exporter"
    assert env["AIRFLOW__METRICS__STATSD_INFLUXDB_ENABLED"] == "True"
    # the WeatherInsight data and the Airflow metadata are separate databases with separate roles
    assert env["WEATHERINSIGHT_DATABASE_URL"] == (
        "postgresql+psycopg://weatherinsight:change-me-weatherinsight@postgres:5432/weatherinsight"
    )
    assert env["WEATHERINSIGHT_METRICS_DIR"] == "/data/metrics"
    for name in AIRFLOW_RUNTIME | {"airflow-init"}:
        assert (
            rendered["services"][name]["environment"]["AIRFLOW__CORE__FERNET_KEY"]
            == (env_example_keys()["AIRFLOW_FERNET_KEY"])
        )


def test_volumes_for_dags_logs_config_data_and_metrics(rendered: dict[str, Any]) -> None:
    vols = {str(v) for v in rendered["services"]["airflow-worker"]["volumes"]}
    joined = " ".join(vols)
    for target in ("/opt/airflow/dags", "/opt/airflow/logs", "/opt/airflow/config", "/data", "/data/metrics"):
        assert f":{target}" in joined or f"'target': '{target}'" in joined, target
    node = " ".join(str(v) for v in rendered["services"]["node-exporter"]["volumes"])
    assert "weatherinsight-metrics:/metrics:ro" in node
    assert set(rendered["volumes"]) >= {"weatherinsight-metrics", "weatherinsight-data", "airflow-logs"}


def test_no_secret_is_written_in_the_compose_file() -> None:
    """Every secret-looking value in the raw file is an ${VAR} reference, never a literal."""
    raw = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    offenders = []

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                key = str(k)
                secret_key = SECRET_WORDS.search(key) and not key.endswith("_FILE")
                if isinstance(v, str) and secret_key and not v.startswith("${"):
                    offenders.append(f"{path}.{key}={v}")
                if isinstance(v, str):
                    # credentials inside URLs: scheme://user:password@host
                    for cred in re.findall(r"://([^@/\s]*)@", v):
                        if not re.fullmatch(r"(\$\{[A-Z0-9_:?]+\})?:\$\{[A-Z0-9_:?]+\}", cred):
                            offenders.append(f"{path}.{key}={v}")
                walk(v, f"{path}.{key}")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{path}[{i}]")

    walk(raw, "")
    assert offenders == []


def test_env_example_defines_exactly_the_variables_the_compose_file_uses() -> None:
    text = "\n".join(
        ln for ln in COMPOSE.read_text(encoding="utf-8").splitlines() if not ln.lstrip().startswith("#")
    )
    used = set(re.findall(r"(?<!\$)\$\{([A-Z0-9_]+)", text))
    defined = set(env_example_keys())
    assert used - defined == set()
    assert defined - used == set()


def test_secret_values_in_env_example_are_placeholders() -> None:
    secrets = {k: v for k, v in env_example_keys().items() if SECRET_WORDS.search(k)}
    assert len(secrets) == 10
    assert all(v.startswith("change-me") for v in secrets.values()), secrets


def test_dockerfile_installs_from_the_lock_as_non_root_without_secrets() -> None:
    text = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    assert "uv sync --frozen --all-extras --no-dev --no-editable" in text
    assert "COPY pyproject.toml uv.lock README.md ./" in text
    assert re.search(r"^USER \$\{WEATHERINSIGHT_UID\}$", text, re.MULTILINE)
    assert "ARG WEATHERINSIGHT_UID=50000" in text
    assert "PYTHONPATH" not in text and "sys.path" not in text.replace("no sys.path tricks", "")
    assert not re.search(r"^(ENV|ARG)\s+\S*(PASSWORD|SECRET|FERNET)", text, re.MULTILINE)
    # every file the image copies exists in the repository
    for src in re.findall(r"^COPY (?:--\S+ )*(\S+) \S+$", text, re.MULTILINE):
        if not src.startswith("/"):
            assert (DEPLOY.parent / src).exists(), src


def test_build_context_sends_only_what_the_image_copies() -> None:
    """deploy/Dockerfile.dockerignore excludes everything but the sources the Dockerfile copies."""
    patterns = [
        ln.strip()
        for ln in (DEPLOY / "Dockerfile.dockerignore").read_text(encoding="utf-8").splitlines()
        if ln.strip() and not ln.startswith("#")
    ]
    assert patterns[0] == "*"
    allowed = {p[1:].rstrip("/") for p in patterns if p.startswith("!")}
    text = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    copied = set()
    for line in re.findall(r"^COPY (?!--from)(?:--\S+ )*(.+) \S+$", text, re.MULTILINE):
        copied |= {src.rstrip("/") for src in line.split()}
    assert copied == allowed
    assert {"**/.env", "**/__pycache__"} <= set(patterns)


def test_the_pipeline_points_at_the_compose_spark_cluster(rendered: dict[str, Any]) -> None:
    # The daemons start like tests/fixtures/spark_cluster.py starts them (spark-class from the pyspark wheel).
    services = rendered["services"]
    master = services["spark-master"]["command"]
    assert master[:2] == ["spark-class", "org.apache.spark.deploy.master.Master"]
    url = f"spark://{master[master.index('--host') + 1]}:{master[master.index('--port') + 1]}"
    for i in (1, 2, 3):
        worker = services[f"spark-worker-{i}"]["command"]
        assert (worker[:2], worker[-1]) == (["spark-class", "org.apache.spark.deploy.worker.Worker"], url)
    for name in ("airflow-worker", "airflow-scheduler", "spark-master", "spark-worker-1"):
        assert services[name]["environment"]["WEATHERINSIGHT_SPARK__MASTER"] == url, name
