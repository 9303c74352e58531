"""The metrics path end to end with the real binaries of the stack: weatherinsight.metrics writes the textfile,
node-exporter's textfile collector serves it, Prometheus scrapes it, and every Grafana dashboard query is
evaluated by Prometheus (syntax errors fail; the pipeline queries return exact values).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from tests.conftest import require
from tests.deploy.conftest import DEPLOY
from tests.fixtures.core import free_port

from weatherinsight import metrics
from weatherinsight.settings import Settings, load_settings

pytestmark = pytest.mark.slow

DASHBOARDS = sorted((DEPLOY / "grafana" / "dashboards").glob("*.json"))
GRAFANA_VARS = {"__rate_interval": "2m", "__range": "1h", "__interval": "30s"}


def _wait(url: str, proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"{proc.args[0]} exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} did not come up in {timeout}s")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


@pytest.fixture(scope="module")
def pipeline_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A metrics textfile with known content: two products, two quarters, one failure, one publication."""
    data = tmp_path_factory.mktemp("scrape-data")
    s = load_settings(
        data_dir=data, database_url=f"sqlite:///{data / 'wi.db'}", raw_store_url=str(data / "raw")
    )
    metrics.record_step(
        s, stage="ingest", product="wind", quarter=None, status="success", files=12, bytes_=4096
    )
    metrics.record_step(s, stage="aggregate", product="wind", quarter="2024Q1", status="success", rows=480)
    metrics.record_step(s, stage="aggregate", product="wind", quarter="2024Q2", status="success", rows=475)
    metrics.record_step(s, stage="aggregate", product="pressure", quarter="2024Q1", status="failed", rows=0)
    metrics.record_published(s, "wind", "2024Q2", dataset_version="2024Q2_v1")
    return s


@pytest.fixture(scope="module")
def node_exporter(pipeline_settings: Settings) -> Iterator[str]:
    binary = shutil.which("prometheus-node-exporter") or shutil.which("node_exporter")
    require(binary is not None, "node exporter not installed (apt-get install prometheus-node-exporter)")
    assert binary is not None
    port = free_port()
    proc = subprocess.Popen(
        [
            binary,
            "--collector.disable-defaults",
            "--collector.textfile",
            f"--collector.textfile.directory={metrics.metrics_dir(pipeline_settings)}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait(f"http://127.0.0.1:{port}/metrics", proc)
        yield f"127.0.0.1:{port}"
    finally:
        _stop(proc)


@pytest.fixture(scope="module")
def prometheus(node_exporter: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = shutil.which("prometheus")
    require(binary is not None, "prometheus not installed (apt-get install prometheus)")
    assert binary is not None
    d = tmp_path_factory.mktemp("prometheus")
    config = d / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        "scrape_configs:\n"
        f"  - job_name: weatherinsight-pipeline\n    static_configs: [{{targets: ['{node_exporter}']}}]\n"
    )
    port = free_port()
    proc = subprocess.Popen(
        [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={d / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(f"{url}/-/ready", proc)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # until the first scrape landed
            if query(url, "weatherinsight_pipeline_step_rows"):
                break
            time.sleep(0.5)
        yield url
    finally:
        _stop(proc)


def query(url: str, expr: str) -> list[dict[str, Any]]:
    r = httpx.get(f"{url}/api/v1/query", params={"query": expr}, timeout=10)
    body = r.json()
    assert r.status_code == 200 and body["status"] == "success", f"{expr!r}: {body.get('error')}"
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


def test_node_exporter_serves_the_textfile_unchanged(node_exporter: str, pipeline_settings: Settings) -> None:
    text = httpx.get(f"http://{node_exporter}/metrics", timeout=10).text
    served = {
        (s.name, frozenset(s.labels.items())): s.value
        for fam in text_string_to_metric_families(text)
        for s in fam.samples
    }
    assert served[("node_textfile_scrape_error", frozenset())] == 0.0
    written = metrics.metrics_file(pipeline_settings).read_text(encoding="utf-8")
    for fam in text_string_to_metric_families(written):
        for s in fam.samples:
            assert served[(s.name, frozenset(s.labels.items()))] == s.value, s.name


def _substitute(expr: str) -> str:
    for name, value in GRAFANA_VARS.items():
        expr = expr.replace(f"${name}", value)
    return re.sub(r"\$\{?\w+\}?", ".*", expr)  # multi-value variables set to All


def test_every_dashboard_query_is_valid_promql(prometheus: str) -> None:
    checked = 0
    for path in DASHBOARDS:
        doc = json.loads(path.read_text(encoding="utf-8"))
        for panel in doc["panels"]:
            for target in panel["targets"]:
                query(prometheus, _substitute(target["expr"]))
                checked += 1
    assert checked == 32  # every target of the three dashboards


def test_pipeline_dashboard_queries_return_the_recorded_values(prometheus: str) -> None:
    rows = query(
        prometheus, 'sum by (product, quarter) (weatherinsight_pipeline_step_rows{stage=~"aggregate"})'
    )
    assert {(r["metric"]["product"], r["metric"]["quarter"]): float(r["value"][1]) for r in rows} == {
        ("wind", "2024Q1"): 480.0,
        ("wind", "2024Q2"): 475.0,
        ("pressure", "2024Q1"): 0.0,
    }
    files = query(prometheus, 'weatherinsight_pipeline_step_files{stage="ingest"}')
    assert [(r["metric"]["product"], r["metric"]["quarter"], float(r["value"][1])) for r in files] == [
        ("wind", "all", 12.0)
    ]
    failed = query(prometheus, 'weatherinsight_pipeline_step_status{status="failed"} == 1')
    assert [(r["metric"]["stage"], r["metric"]["product"], r["metric"]["quarter"]) for r in failed] == [
        ("aggregate", "pressure", "2024Q1")
    ]
    (fresh,) = query(
        prometheus, "(time() - weatherinsight_pipeline_latest_published_quarter_end_timestamp_seconds)"
    )
    age = float(fresh["value"][1])
    expected = time.time() - 1719792000.0  # 2024Q2 ends 2024-07-01T00:00:00Z
    assert fresh["metric"]["product"] == "wind"
    assert abs(age - expected) < 120
