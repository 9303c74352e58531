"""Prometheus metrics of the API (names prefixed ``weatherinsight_api_``), one registry per app instance.

* ``weatherinsight_api_requests_total{method,route,status}`` — requests answered, by route template.
* ``weatherinsight_api_request_duration_seconds{method,route}`` — latency histogram, by route template.
* ``weatherinsight_api_latest_published_quarter{product}`` — latest AVAILABLE curated quarter as YYYYQ (20241).
* ``weatherinsight_api_data_age_seconds{product}`` — seconds since the end of that quarter (freshness).
* ``weatherinsight_api_data_published_timestamp_seconds{product}`` — when that version was published.
* ``weatherinsight_api_hot_path_answers_total`` — requests answered by the hot path (``api.hotpath``).
* ``weatherinsight_api_station_cache_rows`` — published station rows held in memory (``api.published``).

Freshness gauges are refreshed from the database when ``/v1/metrics`` is scraped. Pipeline metrics live in
``weatherinsight.metrics`` (another module); this registry holds only the API's own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from sqlalchemy import Engine, func, select

from weatherinsight.dwd.products import PRODUCTS
from weatherinsight.quarters import Quarter
from weatherinsight.warehouse.tables import dataset_versions

#: Route label for requests that matched no route (keeps label cardinality bounded).
UNMATCHED = "<unmatched>"
_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class ApiMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "weatherinsight_api_requests_total",
            "HTTP requests answered by the API, by route template and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "weatherinsight_api_request_duration_seconds",
            "Time from request start to the last byte of the response, by route template",
            ["method", "route"],
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.latest_quarter = Gauge(
            "weatherinsight_api_latest_published_quarter",
            "Latest published (AVAILABLE curated) quarter per product, as YYYYQ (e.g. 20241); 0 = none",
            ["product"],
            registry=self.registry,
        )
        self.data_age = Gauge(
            "weatherinsight_api_data_age_seconds",
            "Seconds between the end of the latest published quarter and now, per product",
            ["product"],
            registry=self.registry,
        )
        self.published_at = Gauge(
            "weatherinsight_api_data_published_timestamp_seconds",
            "Unix time at which the latest published quarter's version became AVAILABLE, per product",
            ["product"],
            registry=self.registry,
        )

    def watch_caches(
        self, hot_path_answers: Callable[[], int], station_cache_rows: Callable[[], int]
    ) -> None:
        """Report the hot path's answer count and the station cache's size, read when /v1/metrics is scraped
        (the hot path only bumps a plain integer: a Prometheus counter per request would cost it ~2 µs)."""
        self.registry.register(_CacheCollector(hot_path_answers, station_cache_rows))

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def refresh_freshness(self, engine: Engine, now: datetime | None = None) -> None:
        now = now or datetime.now(UTC)
        dv = dataset_versions.c
        latest: dict[str, tuple[int, int, datetime]] = {}
        with engine.connect() as conn:
            rows = conn.execute(
                select(dv.product, dv.year, dv.quarter, func.max(dv.updated_at))
                .where(dv.kind == "curated", dv.status == "AVAILABLE", dv.period_kind == "quarter")
                .group_by(dv.product, dv.year, dv.quarter)
            )
            for product, year, quarter, updated in rows:
                if product not in latest or (year, quarter) > latest[product][:2]:
                    latest[product] = (year, quarter, updated)
        for product in PRODUCTS:
            if product not in latest:
                self.latest_quarter.labels(product).set(0)
                continue
            year, quarter, updated = latest[product]
            updated = updated if updated.tzinfo else updated.replace(tzinfo=UTC)
            self.latest_quarter.labels(product).set(year * 10 + quarter)
            self.data_age.labels(product).set((now - Quarter(year, quarter).end).total_seconds())
            self.published_at.labels(product).set(updated.timestamp())

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _CacheCollector:
    def __init__(self, answers: Callable[[], int], rows: Callable[[], int]) -> None:
        self.answers = answers
        self.rows = rows

    def collect(self) -> Iterator[Metric]:
        yield CounterMetricFamily(
            "weatherinsight_api_hot_path_answers",
            "Requests answered by the hot path (cached single-station feature queries)",
            value=self.answers(),
        )
        yield GaugeMetricFamily(
            "weatherinsight_api_station_cache_rows",
            "Published station rows held in the API process's cache",
            value=self.rows(),
        )
