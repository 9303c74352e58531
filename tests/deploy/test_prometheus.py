"""deploy/prometheus: promtool accepts the config and the alert rules; scrape targets match the compose stack."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml
from tests.conftest import require
from tests.deploy.conftest import DEPLOY

PROMETHEUS = DEPLOY / "prometheus" / "prometheus.yml"
RULES = DEPLOY / "prometheus" / "rules" / "weatherinsight.yml"


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("promtool")
    require(binary is not None, "promtool not installed (apt-get install prometheus)")
    assert binary is not None
    return subprocess.run([binary, *args], capture_output=True, text=True, timeout=60, check=False)


def test_promtool_check_config_passes_and_loads_the_rules() -> None:
    proc = promtool("check", "config", str(PROMETHEUS))
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    # the rule glob is relative to the config file, so promtool checks the rules too
    assert "1 rule files found" in out
    assert "SUCCESS: 9 rules found" in out


def test_promtool_check_rules_passes() -> None:
    proc = promtool("check", "rules", str(RULES))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS: 9 rules found" in proc.stdout


def test_promtool_rejects_a_broken_config(tmp_path: Path) -> None:
    """Guard that the check above can fail: a duplicate job name is refused."""
    doc = yaml.safe_load(PROMETHEUS.read_text(encoding="utf-8"))
    doc["scrape_configs"].append(dict(doc["scrape_configs"][0]))
    bad = tmp_path / "prometheus.yml"
    bad.write_text(yaml.safe_dump(doc))
    proc = promtool("check", "config", str(bad))
    assert proc.returncode != 0
    assert "weatherinsight-api" in proc.stdout + proc.stderr


def test_scrape_targets_are_compose_services(rendered: dict[str, Any]) -> None:
    doc = yaml.safe_load(PROMETHEUS.read_text(encoding="utf-8"))
    targets = {
        job["job_name"]: [t for sc in job["static_configs"] for t in sc["targets"]]
        for job in doc["scrape_configs"]
    }
    assert targets == {
        "weatherinsight-api": ["weatherinsight-api:8000"],
        "weatherinsight-pipeline": ["node-exporter:9100"],
        "airflow": ["statsd-exporter:9102"],
        "prometheus": ["localhost:9090"],
    }
    services = rendered["services"]
    for job, hosts in targets.items():
        if job != "prometheus":
            assert hosts[0].split(":")[0] in services, job
    assert "--web.listen-address=:9100" in services["node-exporter"]["command"]
    assert "--web.listen-address=:9102" in services["statsd-exporter"]["command"]


def test_api_scrape_path_and_health_check_are_routes_of_the_app(
    settings: Any, rendered: dict[str, Any]
) -> None:
    """The scrape path and the compose health check point at routes the API really serves."""
    from weatherinsight.api.app import create_app

    doc = yaml.safe_load(PROMETHEUS.read_text(encoding="utf-8"))
    (api_job,) = [j for j in doc["scrape_configs"] if j["job_name"] == "weatherinsight-api"]
    health = rendered["services"]["weatherinsight-api"]["healthcheck"]["test"][-1]
    paths = {getattr(r, "path", None) for r in create_app(settings).routes}
    assert api_job["metrics_path"] == "/v1/metrics"
    assert health == "http://localhost:8000/v1/ping"
    assert {"/v1/metrics", "/v1/ping"} <= paths


def test_alert_rules_fire_as_specified() -> None:
    """promtool unit tests: synthetic series -> exactly the expected alerts, labels and annotations."""
    spec = Path(__file__).parent / "data" / "alert_rules_test.yml"
    proc = promtool("test", "rules", str(spec))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS" in proc.stdout
