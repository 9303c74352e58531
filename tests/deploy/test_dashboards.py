"""Grafana dashboards, alert rules and the statsd mapping only name metrics the code actually exports.

Exported metric names are collected from the code, not listed by hand:
* the pipeline textfile: ``weatherinsight.metrics`` (written for real and parsed back);
* the API: the registry of ``weatherinsight.api.metrics.ApiMetrics`` (prefix ``weatherinsight_api_``);
* Airflow: the ``name``s of deploy/statsd/airflow-mapping.yml, each mapping checked against Airflow's own
  metric registry (metrics_template.yaml of the installed Airflow) for its existence and type.
"""

from __future__ import annotations

import fnmatch
import importlib.util
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families
from tests.deploy.conftest import DEPLOY

from weatherinsight import metrics
from weatherinsight.settings import Settings

DASHBOARDS = sorted((DEPLOY / "grafana" / "dashboards").glob("*.json"))
MAPPING = DEPLOY / "statsd" / "airflow-mapping.yml"
RULES = DEPLOY / "prometheus" / "rules" / "weatherinsight.yml"
# Series Prometheus itself attaches to every scrape target.
PROMETHEUS_BUILTINS = {"up", "scrape_duration_seconds", "scrape_samples_scraped"}
# PromQL words that look like identifiers but are not metric names.
PROMQL_WORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "inf", "nan"}


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression (or a Grafana label_values() query) refers to."""
    m = re.fullmatch(r"\s*label_values\(\s*([A-Za-z_:][\w:]*)\s*(\{[^}]*\})?\s*,\s*\w+\s*\)\s*", expr)
    if m:
        return {m.group(1)}
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # string literals (label values, regexes)
    e = re.sub(r"\[[^\]]*\]", "", e)  # range selectors [5m], [$__rate_interval]
    e = re.sub(r"\{[^}]*\}", "", e)  # label matchers
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", e)
    e = re.sub(r"\$\{?\w+\}?", "", e)  # Grafana variables outside strings
    names = set()
    for tok in re.finditer(r"[A-Za-z_:][\w:]*", e):
        if tok.start() > 0 and (e[tok.start() - 1].isdigit() or e[tok.start() - 1] == "."):
            continue  # exponent of a number such as 1e-9
        if e[tok.end() :].lstrip().startswith("("):
            continue  # a function or an aggregation
        if tok.group(0).lower() in PROMQL_WORDS:
            continue
        names.add(tok.group(0))
    return names


def test_metric_name_extraction() -> None:
    expr = (
        'histogram_quantile(0.95, sum by (le, route) (rate(weatherinsight_api_request_duration_seconds_bucket{route=~"$route"}'
        '[$__rate_interval]))) / clamp_min(sum(up{job="x"} offset 5m), 1e-9) > bool 0'
    )
    assert metric_names(expr) == {"weatherinsight_api_request_duration_seconds_bucket", "up"}
    assert metric_names("label_values(airflow_dagrun_duration_seconds_count, dag_id)") == {
        "airflow_dagrun_duration_seconds_count"
    }
    assert metric_names("(time() - a_b) / 86400") == {"a_b"}


# --- what the code exports ------------------------------------------------------------------------------


def pipeline_exported(settings: Settings) -> set[str]:
    metrics.record_step(
        settings, stage="aggregate", product="wind", quarter="2024Q1", status="success", rows=1
    )
    metrics.record_published(settings, "wind", "2024Q1", dataset_version="2024Q1_v1")
    text = metrics.metrics_file(settings).read_text(encoding="utf-8")
    names = {s.name for fam in text_string_to_metric_families(text) for s in fam.samples}
    assert names == set(metrics.EXPORTED_METRICS)
    return names


def _sample_names(name: str, kind: str) -> set[str]:
    if kind == "counter":
        return {f"{name}_total"}
    if kind == "histogram":
        return {f"{name}_bucket", f"{name}_sum", f"{name}_count"}
    if kind == "summary":
        return {name, f"{name}_sum", f"{name}_count"}
    if kind == "info":
        return {f"{name}_info"}
    return {name}


def api_exported() -> set[str]:
    """Sample names of every metric family the API module registers."""
    if importlib.util.find_spec("weatherinsight.api.metrics") is None:
        pytest.fail("weatherinsight.api.metrics is missing: the API dashboard cannot be checked")
    from weatherinsight.api import metrics as api_metrics

    registered = api_metrics.ApiMetrics()
    registered.watch_caches(lambda: 0, lambda: 0)  # as create_app does
    names: set[str] = set()
    for fam in registered.registry.collect():
        names |= _sample_names(fam.name, fam.type)
    assert names, "the API registry exports nothing"
    assert all(n.startswith("weatherinsight_api_") for n in names), names
    return names


def airflow_registry() -> dict[str, str]:
    """Airflow's own metric registry: modern metric name -> type (counter|gauge|timer)."""
    spec = importlib.util.find_spec("airflow")  # locate without importing (no AIRFLOW_HOME side effects)
    assert spec is not None and spec.submodule_search_locations
    root = Path(next(iter(spec.submodule_search_locations)))
    doc = yaml.safe_load((root / "_shared/observability/metrics/metrics_template.yaml").read_text("utf-8"))
    return {m["name"]: m["type"] for m in doc["metrics"]}


def mapping_rules() -> list[dict[str, Any]]:
    doc = yaml.safe_load(MAPPING.read_text(encoding="utf-8"))
    return [m for m in doc["mappings"] if m.get("action") != "drop"]


def _matches(rule: dict[str, Any], airflow_name: str) -> bool:
    full = f"airflow.{airflow_name}"
    if rule.get("match_type") == "regex":
        return re.fullmatch(rule["match"].lstrip("^").rstrip("$"), full) is not None
    # statsd_exporter globs: * matches within one dot-separated component
    pattern = fnmatch.translate(rule["match"]).replace(".*", "[^.]*")
    return re.fullmatch(pattern, full) is not None


def airflow_exported() -> set[str]:
    registry = airflow_registry()
    names: set[str] = set()
    for rule in mapping_rules():
        hits = {n: t for n, t in registry.items() if _matches(rule, n)}
        assert hits, f"mapping {rule['match']!r} matches no metric Airflow emits"
        kinds = set(hits.values())
        assert len(kinds) == 1, f"mapping {rule['match']!r} mixes metric types {kinds}"
        kind = kinds.pop()
        if kind == "timer":
            assert rule["name"].endswith("_seconds"), rule[
                "name"
            ]  # statsd_exporter exports timers in seconds
            names |= _sample_names(rule["name"], "histogram")
        else:
            assert rule["name"].endswith("_total") == (kind == "counter"), rule["name"]
            names.add(rule["name"])
    return names


@pytest.fixture
def exported(settings: Settings) -> set[str]:
    return pipeline_exported(settings) | api_exported() | airflow_exported() | PROMETHEUS_BUILTINS


# --- the checks -------------------------------------------------------------------------------------------


def dashboard_queries(doc: dict[str, Any]) -> list[tuple[str, str]]:
    """(where, expression) of every panel target and every templating query of a dashboard."""
    out = []
    for panel in doc["panels"]:
        for t in panel.get("targets", []):
            out.append((f"{doc['uid']} panel {panel['id']} {panel['title']!r}", t["expr"]))
    for var in doc.get("templating", {}).get("list", []):
        q = var["query"]["query"] if isinstance(var["query"], dict) else var["query"]
        out.append((f"{doc['uid']} variable {var['name']}", q))
    return out


def test_three_dashboards_are_provisioned() -> None:
    assert [p.name for p in DASHBOARDS] == [
        "weatherinsight-airflow.json",
        "weatherinsight-api.json",
        "weatherinsight-pipeline.json",
    ]


@pytest.mark.airflow
@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_every_panel_query_names_exported_metrics(path: Path, exported: set[str]) -> None:
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["panels"], path.name
    ids = [p["id"] for p in doc["panels"]]
    assert len(ids) == len(set(ids))
    for panel in doc["panels"]:
        assert panel["datasource"] == {"type": "prometheus", "uid": "prometheus"}, panel["title"]
        assert panel["targets"], f"panel {panel['title']!r} has no query"
    for where, expr in dashboard_queries(doc):
        names = metric_names(expr)
        assert names, f"{where}: no metric in {expr!r}"
        unknown = names - exported
        assert not unknown, f"{where}: {sorted(unknown)} are not exported by the code"


@pytest.mark.airflow
def test_alert_rules_name_exported_metrics(exported: set[str]) -> None:
    doc = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    rules = [r for g in doc["groups"] for r in g["rules"]]
    assert len(rules) == 9
    for rule in rules:
        unknown = metric_names(rule["expr"]) - exported
        assert not unknown, f"alert {rule['alert']}: {sorted(unknown)}"


@pytest.mark.airflow
def test_the_check_catches_an_unknown_metric(exported: set[str]) -> None:
    """Guard that the dashboard check can fail: a typo in a metric name is reported."""
    assert metric_names("sum(rate(weatherinsight_api_request_total[5m]))") - exported == {
        "weatherinsight_api_request_total"
    }


def test_dashboards_cover_what_the_issue_asks_for() -> None:
    used: dict[str, set[str]] = {}
    for path in DASHBOARDS:
        doc = json.loads(path.read_text(encoding="utf-8"))
        used[doc["uid"]] = {n for _, expr in dashboard_queries(doc) for n in metric_names(expr)}
    airflow, pipeline, api = (
        used["weatherinsight-airflow"],
        used["weatherinsight-pipeline"],
        used["weatherinsight-api"],
    )
    assert {
        "airflow_dagrun_duration_seconds_sum",
        "airflow_dagrun_duration_seconds_count",
    } <= airflow  # DAG runs
    assert (
        "airflow_task_duration_seconds_sum" in airflow and "airflow_task_finished_total" in airflow
    )  # tasks
    assert "airflow_pool_slots" in airflow  # pool slots
    assert {"weatherinsight_pipeline_step_rows", "weatherinsight_pipeline_step_files"} <= pipeline
    assert "weatherinsight_pipeline_latest_published_quarter_end_timestamp_seconds" in pipeline  # freshness
    assert {"weatherinsight_api_requests_total", "weatherinsight_api_request_duration_seconds_bucket"} <= api


def test_statsd_mapping_drops_what_it_does_not_map() -> None:
    doc = yaml.safe_load(MAPPING.read_text(encoding="utf-8"))
    last = doc["mappings"][-1]
    assert last == {"match": ".", "match_type": "regex", "action": "drop", "name": "dropped"}
    names = [m["name"] for m in mapping_rules()]
    assert len(names) == len(set(names)) == 13


def test_grafana_provisioning_points_at_the_mounted_dashboards(rendered: dict[str, Any]) -> None:
    prov = yaml.safe_load((DEPLOY / "grafana/provisioning/dashboards/weatherinsight.yml").read_text("utf-8"))
    path = prov["providers"][0]["options"]["path"]
    ds = yaml.safe_load((DEPLOY / "grafana/provisioning/datasources/prometheus.yml").read_text("utf-8"))
    assert ds["datasources"][0]["uid"] == "prometheus"
    assert ds["datasources"][0]["url"] == "http://prometheus:9090"
    mounts = " ".join(str(v) for v in rendered["services"]["grafana"]["volumes"])
    assert f"{DEPLOY / 'grafana' / 'dashboards'}:{path}:ro" in mounts
    assert rendered["services"]["grafana"]["environment"]["GF_SERVER_HTTP_PORT"] == "3002"
