"""The hot path (``api.hotpath``) and the published-data cache (``api.published``).

The hot path must answer exactly what the route answers: the same requests go to a server with it and a server
without it (same database, same Host header), and status, headers and bodies must be identical; the hot server's
counter says which requests the hot path answered itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.api.conftest import Q1_24, Q4_23, Backend, ServerThread, _make_settings
from tests.warehouse.curated_rows import curated_row
from weatherinsight.api import keys
from weatherinsight.api.app import create_app
from weatherinsight.api.published import PublishedCache, full_columns
from weatherinsight.quarters import Quarter
from weatherinsight.settings import Settings
from weatherinsight.warehouse import db, lineage
from weatherinsight.warehouse.tables import curated_table

F = "/v1/features/air_temperature"
#: Requests the hot path answers itself (once the station's rows are cached), with any extra request headers.
HOT: list[tuple[str, dict[str, str]]] = [
    (f"{F}?station_id=44", {}),
    (f"{F}?station_id=00044&from=2023Q4&to=2023Q4", {}),
    (f"{F}?station_id=44&features=tg_mean,frost_days&min_coverage=0.5", {}),
    (f"{F}?station_id=44&min_coverage=1", {}),
    (f"{F}?station_id=44&limit=1", {}),
    (f"{F}?station_id=44&format=csv", {}),
    (f"{F}?station_id=44&format=parquet", {}),
    (f"{F}?station_id=44", {"Accept": "text/csv"}),
    (f"{F}?station_id=1001&to=2024Q4", {}),
    (f"{F}?station_id=99999", {}),
    ("/v1/features/precipitation?station_id=73&features=rx5day", {}),
]
#: Requests it leaves to FastAPI (other shapes, doubtful or bad values).
COLD: list[tuple[str, dict[str, str]]] = [
    (f"{F}?station_id=44&station_id=73", {}),
    (f"{F}?station_id=44&station_id=44", {}),
    (f"{F}?station_id=0", {}),
    (f"{F}?station_id=100000", {}),
    (f"{F}?station_id=4x", {}),
    (f"{F}?station_id=44&from=2024Q5", {}),
    (f"{F}?station_id=44&from=2024Q2&to=2023Q1", {}),
    (f"{F}?station_id=44&features=no_such_feature", {}),
    (f"{F}?station_id=44&features=TG_MEAN", {}),
    (f"{F}?station_id=44&min_coverage=1.5", {}),
    (f"{F}?station_id=44&min_coverage=.5", {}),
    (f"{F}?station_id=44&limit=0", {}),
    (f"{F}?station_id=44&limit=10001", {}),
    (f"{F}?station_id=44&format=xml", {}),
    (f"{F}?station_id=44&unknown=1", {}),
    (f"{F}?station_id=44&include_station=true", {}),
    (f"{F}?from=2023Q4", {}),
    ("/v1/features/no_such_product?station_id=44", {}),
    (f"{F}/?station_id=44", {}),
]
HOST = {"Host": "api.example.test"}


def _answer(r: httpx.Response) -> tuple[int, dict[str, str], bytes]:
    headers = {k: v for k, v in r.headers.items() if k not in ("date", "server")}
    return r.status_code, headers, r.content


@pytest.fixture
def twin_servers(backend: Backend) -> Iterator[tuple[ServerThread, ServerThread, Any]]:
    """The same database behind a server with the hot path and one without (published versions re-read once a
    minute so the cache stays fresh for the whole test)."""
    hot_app = create_app(_make_settings(backend.settings.data_dir, backend.url, api_data_refresh_seconds=60))
    plain_app = create_app(
        _make_settings(
            backend.settings.data_dir, backend.url, api_data_refresh_seconds=60, api_hot_path=False
        )
    )
    with ServerThread(hot_app) as hot, ServerThread(plain_app) as plain:
        yield hot, plain, hot_app.state.api


def test_hot_path_answers_exactly_what_the_route_answers(
    twin_servers: tuple[ServerThread, ServerThread, Any],
) -> None:
    hot, plain, state = twin_servers
    with httpx.Client(base_url=hot.url) as h, httpx.Client(base_url=plain.url) as p:
        for url, headers in HOT + COLD:  # the first round fills both servers' caches
            h.get(url, headers={**HOST, **headers})
            p.get(url, headers={**HOST, **headers})
        counted = _ok_count(h)
        ok = 0
        for url, headers in HOT + COLD:
            before = state.hot_path_served
            a = h.get(url, headers={**HOST, **headers})
            b = p.get(url, headers={**HOST, **headers})
            assert _answer(a) == _answer(b), url
            assert state.hot_path_served - before == (1 if (url, headers) in HOT else 0), url
            ok += a.status_code == 200
        # Request metrics count the hot path's answers under the route's template, like the route's own.
        # cold 200s: two station_id forms, min_coverage=.5, no station, include_station (unknown=1 is a 400)
        assert ok == len(HOT) + 5
        assert _ok_count(h) - counted == ok
        # Spot checks that the shared answers are the real ones.
        page = h.get(f"{F}?station_id=44&limit=1", headers=HOST).json()
        assert [(d["year"], d["quarter"]) for d in page["data"]] == [(Q4_23.year, Q4_23.quarter)]
        assert page["next"].startswith(f"http://api.example.test{F}?station_id=44&limit=1&cursor=")
        nxt = h.get(page["next"].removeprefix("http://api.example.test"), headers=HOST).json()
        assert [(d["year"], d["quarter"]) for d in nxt["data"]] == [(Q1_24.year, Q1_24.quarter)]
        assert h.get(f"{F}?station_id=44&from=2024Q5").status_code == 400
        # 304 on the hot path: same ETag, same caching headers, no body.
        first = h.get(f"{F}?station_id=44", headers=HOST)
        before = state.hot_path_served
        again = h.get(f"{F}?station_id=44", headers={**HOST, "If-None-Match": first.headers["etag"]})
        assert (again.status_code, again.content, state.hot_path_served - before) == (304, b"", 1)
        assert again.headers["etag"] == first.headers["etag"]
        assert again.headers["cache-control"] == "public, max-age=300"
        # /v1/metrics reports the hot path's answers and the rows it holds. Answers: the filling round's 7 for
        # station 44 after its first request, the 11 of the second round, the first page, the two 304 requests.
        metrics = h.get("/v1/metrics").text
        assert f"weatherinsight_api_hot_path_answers_total {float(state.hot_path_served)}" in metrics
        assert f"weatherinsight_api_station_cache_rows {float(state.published.rows)}" in metrics
        assert state.hot_path_served == 7 + len(HOT) + 1 + 2


def _ok_count(client: httpx.Client) -> float:
    """The server's count of 200 answers on the /v1/features/{product} route."""
    found = re.search(
        r'^weatherinsight_api_requests_total\{method="GET",route="/v1/features/\{product\}",status="200"\} (\S+)$',
        client.get("/v1/metrics").text,
        re.M,
    )
    return float(found.group(1)) if found else 0.0


def test_hot_path_with_api_keys_takes_a_token_and_leaves_refusals_to_the_route(backend: Backend) -> None:
    settings = _make_settings(
        backend.settings.data_dir,
        backend.url,
        api_keys_required=True,
        api_rate_limit_per_minute=3,
        api_data_refresh_seconds=60,
    )
    app = create_app(settings, key_cache_seconds=60)
    state = app.state.api
    with db.get_engine(backend.url).begin() as conn:
        _, secret = keys.create_key(conn, "hot path client")
    with ServerThread(app) as server, httpx.Client(base_url=server.url) as client:
        url = f"{F}?station_id=44"
        assert client.get(url).status_code == 401  # no key: the route's answer
        assert state.hot_path_served == 0
        statuses = [client.get(url, headers={"X-API-Key": secret}).status_code for _ in range(4)]
        # 1st: the route (key and rows not cached yet); 2nd and 3rd: the hot path; 4th: over 3/min → the route's 429.
        assert statuses == [200, 200, 200, 429]
        assert state.hot_path_served == 2
        limited = client.get(url, headers={"X-API-Key": secret})
        assert limited.status_code == 429
        assert limited.json()["error"] == "rate_limited"
        assert 1 <= int(limited.headers["retry-after"]) <= 60
        assert client.get(url, headers={"X-API-Key": "wi_unknown"}).status_code == 403
        assert state.hot_path_served == 2


# ------------------------------------------------------------------------------------ the published-data cache


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _publish(settings: Settings, product: str, q: Quarter, stations: list[int], seed: int) -> str:
    with db.get_engine(settings.database_url).begin() as conn:
        v = lineage.begin_version(conn, settings, "curated", product, q, fingerprint=f"{product}-{q}-{seed}")
        rows = [curated_row(product, s, q, v.version_name, seed=seed) for s in stations]
        db.bulk_insert(conn, curated_table(product), rows)
        lineage.publish_version(conn, v, row_count=len(rows))
        return v.version_name


@pytest.fixture
def cache_settings(db_settings: Settings) -> Settings:
    db.ensure_schema(db_settings.database_url)
    return db_settings


def test_cache_serves_published_rows_and_sees_a_publish_after_the_refresh_interval(
    cache_settings: Settings,
) -> None:
    s = cache_settings
    q = Quarter(2024, 1)
    assert _publish(s, "wind", q, [44, 73], seed=1) == "2024Q1_v1"
    assert _publish(s, "wind", Quarter(2023, 4), [44], seed=1) == "2023Q4_v1"
    clock = Clock()
    cache = PublishedCache(db.get_engine(s.database_url), refresh_seconds=1.0, clock=clock)
    assert cache.peek("wind", 44) is None  # nothing read yet
    rows = cache.rows_for("wind", [44])
    columns = full_columns("wind")
    assert [(r[1], r[2], r[3]) for r in rows] == [(2023, 4, "2023Q4_v1"), (2024, 1, "2024Q1_v1")]
    assert rows[1][columns.index("coverage")] == curated_row("wind", 44, q, "2024Q1_v1", seed=1)["coverage"]
    assert cache.peek("wind", 44) == tuple(rows)
    assert cache.versions("wind") == {(2023, 4): "2023Q4_v1", (2024, 1): "2024Q1_v1"}
    # Several stations come back merged in (year, quarter, station_id) order.
    both = cache.rows_for("wind", [73, 44])
    assert [(r[1], r[2], r[0]) for r in both] == [(2023, 4, 44), (2024, 1, 44), (2024, 1, 73)]
    cache.rows_for("pressure", [44])  # another product, nothing published: an empty entry

    assert _publish(s, "wind", q, [44, 73], seed=2) == "2024Q1_v2"
    clock.now += 0.5  # inside the refresh interval: still the rows read before
    assert [r[3] for r in cache.peek("wind", 44) or ()] == ["2023Q4_v1", "2024Q1_v1"]
    clock.now += 0.5  # due: peek declines (the hot path hands over), rows_for re-reads
    assert cache.peek("wind", 44) is None
    assert [r[3] for r in cache.rows_for("wind", [44])] == ["2023Q4_v1", "2024Q1_v2"]
    assert cache.peek("wind", 73) is None  # the product's other cached stations were dropped
    assert cache.peek("pressure", 44) == ()  # an unchanged product keeps its entries
    clock.now += 1.0
    cache.refresh()
    assert cache.peek("wind", 44) is not None  # nothing changed: kept


def test_cache_is_bounded_by_rows(cache_settings: Settings) -> None:
    s = cache_settings
    for q in (Quarter(2023, 4), Quarter(2024, 1)):
        _publish(s, "moisture", q, [1, 2, 3], seed=3)
    cache = PublishedCache(db.get_engine(s.database_url), refresh_seconds=60, max_rows=4)
    for station in (1, 2, 3):
        assert len(cache.rows_for("moisture", [station])) == 2
    assert len(cache) == 2  # 3 × 2 rows do not fit in 4: the least recently used station went
    assert cache.peek("moisture", 1) is None
    assert cache.peek("moisture", 2) is not None and cache.peek("moisture", 3) is not None
    off = PublishedCache(db.get_engine(s.database_url), refresh_seconds=60, max_rows=0)
    assert len(off.rows_for("moisture", [1])) == 2
    assert len(off) == 0 and off.peek("moisture", 1) is None


def test_rows_read_before_a_publish_are_not_cached_after_it(cache_settings: Settings) -> None:
    """A publish (seen by a refresh) while a station is being read: the old rows are returned to that caller
    but not kept, so the next request reads the new version."""
    s = cache_settings
    q = Quarter(2024, 1)
    _publish(s, "precipitation", q, [5], seed=1)
    clock = Clock()

    class PublishDuringRead(PublishedCache):
        def _load(self, product: str, station_ids: list[int]) -> dict[int, tuple[Any, ...]]:
            loaded = super()._load(product, station_ids)
            _publish(s, "precipitation", q, [5], seed=2)
            clock.now += 5  # another request refreshes and sees the new version
            self.refresh()
            return loaded

    cache = PublishDuringRead(db.get_engine(s.database_url), refresh_seconds=1.0, clock=clock)
    assert [r[3] for r in cache.rows_for("precipitation", [5])] == ["2024Q1_v1"]
    assert cache.peek("precipitation", 5) is None
    assert [r[3] for r in PublishedCache(db.get_engine(s.database_url)).rows_for("precipitation", [5])] == [
        "2024Q1_v2"
    ]
