"""Feature routes on SQLite and PostgreSQL: published rows only, filters, pages, formats, caching, bad input."""

from __future__ import annotations

import io
import time
from urllib.parse import parse_qs, urlsplit

import pyarrow.parquet as pq
import pytest

from tests.api.conftest import LOW_COVERAGE, Q1_24, Q4_23, REFRESH_SECONDS, Backend, expected_row, served
from weatherinsight import DWD_ATTRIBUTION
from weatherinsight.api import deps
from weatherinsight.api.formats import ATTRIBUTION_HEADER
from weatherinsight.features.catalog import COVERAGE_COLUMNS, features_for

TEMP_FEATURES = [f.name for f in features_for("air_temperature")]
FIXED = [
    "station_id",
    "year",
    "quarter",
    "dataset_version",
    *(c for c, _, _ in COVERAGE_COLUMNS),
    "computed_at",
]


#: The metadata line of tg_mean in a CSV with metadata=true (catalog unit and definition).
TG_MEAN_META = (
    "# tg_mean [°C]: mean of daily mean temperatures (TG); TG = mean of the valid UTC day's hourly TT_TU "
    "(DWD's TMK is the mean of the same 24 readings)"
)


def test_single_station_sees_only_published_versions(backend: Backend) -> None:
    r = backend.client.get("/v1/features/air_temperature", params={"station_id": 44})
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert r.headers["x-data-attribution"] == ATTRIBUTION_HEADER
    body = r.json()
    assert body["attribution"] == DWD_ATTRIBUTION
    assert (body["product"], body["count"], body["next"]) == ("air_temperature", 2, None)
    # 2024Q1_v1 is superseded and 2024Q2_v1 is still PENDING: neither is served.
    assert [(d["year"], d["quarter"], d["dataset_version"]) for d in body["data"]] == [
        (2023, 4, "2023Q4_v1"),
        (2024, 1, "2024Q1_v2"),
    ]
    row = body["data"][1]
    assert list(row) == FIXED + TEMP_FEATURES
    expected = served(expected_row("air_temperature", 44, Q1_24, "2024Q1_v2", 2))
    for name in [*TEMP_FEATURES, "hours_expected", "hours_valid", "days_valid", "qn_min", "qn_max"]:
        assert row[name] == expected[name], name
    assert row["coverage"] == pytest.approx(expected["coverage"], rel=1e-12)
    assert row["computed_at"] == "2026-01-02T03:04:05+00:00"


def test_filters_stations_range_subset_and_coverage(backend: Backend) -> None:
    params = [
        ("station_id", "73"),
        ("station_id", "433"),
        ("from", "2024Q1"),
        ("to", "2024Q4"),
        ("features", "tx_mean,frost_days"),
    ]
    body = backend.client.get("/v1/features/air_temperature", params=params).json()
    assert [(d["station_id"], d["dataset_version"]) for d in body["data"]] == [
        (73, "2024Q1_v2"),
        (433, "2024Q1_v2"),
    ]
    assert list(body["data"][0]) == [*FIXED, "tx_mean", "frost_days"]
    assert body["data"][0]["coverage"] == LOW_COVERAGE
    assert (
        body["data"][1]["frost_days"]
        == expected_row("air_temperature", 433, Q1_24, "2024Q1_v2", 2)["frost_days"]
    )
    covered = backend.client.get(
        "/v1/features/air_temperature", params=[*params, ("min_coverage", "0.9")]
    ).json()
    assert [d["station_id"] for d in covered["data"]] == [433]
    nothing = backend.client.get("/v1/features/air_temperature", params={"from": "2030Q1"}).json()
    assert (nothing["count"], nothing["data"], nothing["next"]) == (0, [], None)


def test_keyset_pages_follow_next_links(backend: Backend) -> None:
    seen: list[tuple[int, int, int]] = []
    url: str | None = "/v1/features/air_temperature?limit=3&features=tg_mean"
    pages = 0
    while url:
        body = backend.client.get(url).json()
        assert body["count"] == len(body["data"]) <= 3
        seen += [(d["year"], d["quarter"], d["station_id"]) for d in body["data"]]
        url = body["next"]
        pages += 1
        if url:
            assert parse_qs(urlsplit(url).query)["features"] == ["tg_mean"]
    assert pages == 3
    assert seen == [(2023, 4, s) for s in (44, 73, 433, 1001, 3987)] + [
        (2024, 1, s) for s in (44, 73, 433, 3987)
    ]


def test_whole_quarter(backend: Backend) -> None:
    r = backend.client.get("/v1/features/air_temperature/2024/1")
    assert r.status_code == 200
    assert r.headers["x-dataset-version"] == "2024Q1_v2"
    body = r.json()
    assert [d["station_id"] for d in body["data"]] == [44, 73, 433, 3987]
    assert {d["dataset_version"] for d in body["data"]} == {"2024Q1_v2"}
    page = backend.client.get("/v1/features/air_temperature/2024/1", params={"limit": 3}).json()
    assert [d["station_id"] for d in page["data"]] == [44, 73, 433]
    rest = backend.client.get(page["next"]).json()
    assert ([d["station_id"] for d in rest["data"]], rest["next"]) == ([3987], None)
    wind = backend.client.get("/v1/features/wind/2024/1").json()
    assert [(d["station_id"], d["dominant_sector"]) for d in wind["data"]] == [
        (44, expected_row("wind", 44, Q1_24, "2024Q1_v1", 4)["dominant_sector"]),
        (433, expected_row("wind", 433, Q1_24, "2024Q1_v1", 4)["dominant_sector"]),
    ]


def test_unpublished_quarter_is_404_naming_published_ones(backend: Backend) -> None:
    r = backend.client.get("/v1/features/air_temperature/2024/2")
    assert r.status_code == 404
    assert r.json()["error"] == "not_published"
    assert r.json()["message"] == (
        "no published curated version of air_temperature for 2024Q2; published quarters: 2023Q4, 2024Q1"
    )


def test_csv_and_parquet(backend: Backend) -> None:
    r = backend.client.get(
        "/v1/features/air_temperature/2023/4", params={"format": "csv", "features": "tg_mean"}
    )
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    lines = r.text.splitlines()
    # Contract change (issue #15): the header row comes first, so a plain pandas.read_csv reads it right; the
    # attribution is in the X-Data-Attribution header, and '#' lines only with metadata=true.
    assert lines[0] == ",".join([*FIXED, "tg_mean"])
    assert len(lines) == 1 + 5
    first = lines[1].split(",")
    assert first[:4] == ["44", "2023", "4", "2023Q4_v1"]
    stored = expected_row("air_temperature", 44, Q4_23, "2023Q4_v1", 0)["tg_mean"]
    assert float(first[-1]) == round(stored, 1)
    with_meta = backend.client.get(
        "/v1/features/air_temperature/2023/4",
        params={"format": "csv", "features": "tg_mean", "metadata": "true"},
    ).text.splitlines()
    assert with_meta[0] == f"# {DWD_ATTRIBUTION}"
    assert TG_MEAN_META in with_meta
    assert with_meta[len(with_meta) - 6 :] == lines

    by_accept = backend.client.get(
        "/v1/features/air_temperature/2023/4", headers={"Accept": "application/vnd.apache.parquet"}
    )
    assert by_accept.headers["content-type"] == "application/vnd.apache.parquet"
    table = pq.read_table(io.BytesIO(by_accept.content))
    assert table.num_rows == 5
    assert table.column_names == FIXED + TEMP_FEATURES
    assert table.schema.metadata[b"attribution"].decode() == DWD_ATTRIBUTION
    assert table.column("station_id").to_pylist() == [44, 73, 433, 1001, 3987]
    assert table.column("frost_days").to_pylist() == [
        expected_row("air_temperature", s, Q4_23, "2023Q4_v1", 0)["frost_days"]
        for s in (44, 73, 433, 1001, 3987)
    ]
    assert str(table.schema.field("computed_at").type) == "timestamp[us, tz=UTC]"

    csv_by_accept = backend.client.get("/v1/features/wind", headers={"Accept": "text/csv"})
    assert csv_by_accept.headers["content-type"] == "text/csv; charset=utf-8"
    # format= wins over Accept.
    js = backend.client.get("/v1/features/wind", params={"format": "json"}, headers={"Accept": "text/csv"})
    assert js.headers["content-type"] == "application/json"


def test_etag_and_304(backend: Backend) -> None:
    first = backend.client.get("/v1/features/air_temperature/2024/1")
    etag = first.headers["etag"]
    assert first.headers["cache-control"] == "public, max-age=300"
    again = backend.client.get("/v1/features/air_temperature/2024/1", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    other_format = backend.client.get(
        "/v1/features/air_temperature/2024/1?format=csv", headers={"If-None-Match": etag}
    )
    assert other_format.status_code == 200
    assert other_format.headers["etag"] != etag
    ranged = backend.client.get("/v1/features/air_temperature", params={"station_id": 44})
    assert (
        backend.client.get(
            "/v1/features/air_temperature",
            params={"station_id": 44},
            headers={"If-None-Match": ranged.headers["etag"]},
        ).status_code
        == 304
    )


#: One answer of every route whose ETag identifies published data or the catalog.
ETAG_URLS = (
    "/v1/features/air_temperature/2024/1",
    "/v1/features/air_temperature?station_id=44",
    "/v1/features/air_temperature?station_id=44&station_id=73",
    "/v1/stations/44/features?products=air_temperature,wind",
    "/v1/catalog",
)


def test_a_response_format_bump_changes_every_etag(backend: Backend, monkeypatch: pytest.MonkeyPatch) -> None:
    """A deploy that changes bodies for unchanged data bumps ``RESPONSE_FORMAT_VERSION``: a client revalidating
    with its pre-deploy ETag gets the new body (200), not 304 for what it holds."""
    before = {url: backend.client.get(url) for url in ETAG_URLS}
    for url, first in before.items():
        assert first.status_code == 200, url
        assert backend.client.get(url, headers={"If-None-Match": first.headers["etag"]}).status_code == 304, (
            url
        )
    monkeypatch.setattr(deps, "RESPONSE_FORMAT_VERSION", deps.RESPONSE_FORMAT_VERSION + 1)
    for url, first in before.items():
        after = backend.client.get(url, headers={"If-None-Match": first.headers["etag"]})
        assert after.status_code == 200, url
        assert after.headers["etag"] != first.headers["etag"], url
        assert after.content == first.content, url  # same data, same body here: only the version moved
        assert backend.client.get(url, headers={"If-None-Match": after.headers["etag"]}).status_code == 304, (
            url
        )


@pytest.mark.parametrize(
    ("url", "status", "message"),
    [
        (
            "/v1/features/air_temperature?from=2024Q5",
            400,
            "query parameter 'from': invalid quarter '2024Q5': quarter must be 1..4",
        ),
        ("/v1/features/air_temperature?from=2024Q3&to=2024Q1", 400, "'from' (2024Q3) is after 'to' (2024Q1)"),
        (
            "/v1/features/air_temperature?features=tg_mean,bogus",
            400,
            "unknown feature(s) 'bogus' for air_temperature; allowed: tg_mean, tx_mean",
        ),
        (
            "/v1/features/air_temperature?limit=100000",
            422,
            "query parameter 'limit': Input should be less than or equal to 10000",
        ),
        (
            "/v1/features/air_temperature?station_id=abc",
            422,
            "query parameter 'station_id.0': Input should be a valid integer",
        ),
        ("/v1/features/air_temperature?min_coverage=nan", 422, "query parameter 'min_coverage'"),
        ("/v1/features/air_temperature?cursor=not-a-cursor", 400, "invalid cursor"),
        (
            "/v1/features/sunshine",
            422,
            "path parameter 'product': unknown product 'sunshine'; known: air_temperature, precipitation, wind,",
        ),
        (
            "/v1/features/air_temperature/2024/5",
            422,
            "path parameter 'quarter': Input should be less than or equal to 4",
        ),
        ("/v1/nothing-here", 404, "no such endpoint"),
    ],
)
def test_bad_input_is_4xx_with_a_clear_message(backend: Backend, url: str, status: int, message: str) -> None:
    r = backend.client.get(url)
    assert r.status_code == status, r.text
    body = r.json()
    assert message in body["message"], body["message"]
    assert body["attribution"] == DWD_ATTRIBUTION


def test_new_publish_changes_etag_and_data(backend: Backend) -> None:
    from tests.api.conftest import Q1_24 as Q
    from weatherinsight.warehouse import db, lineage
    from weatherinsight.warehouse.tables import curated_table

    engine = db.get_engine(backend.url)

    def publish(seed: int) -> str:
        with engine.begin() as conn:
            v = lineage.begin_version(
                conn, backend.settings, "curated", "moisture", Q, fingerprint=f"m{seed}"
            )
            db.bulk_insert(
                conn, curated_table("moisture"), [expected_row("moisture", 44, Q, v.version_name, seed)]
            )
            lineage.publish_version(conn, v, row_count=1)
            return v.version_name

    assert publish(10) == "2024Q1_v1"
    first = backend.client.get("/v1/features/moisture/2024/1")
    assert (
        first.json()["data"][0]["rh_mean"]
        == served(expected_row("moisture", 44, Q, "2024Q1_v1", 10))["rh_mean"]
    )
    assert publish(11) == "2024Q1_v2"
    after = backend.client.get(
        "/v1/features/moisture/2024/1", headers={"If-None-Match": first.headers["etag"]}
    )
    assert after.status_code == 200
    assert after.headers["etag"] != first.headers["etag"]
    assert after.headers["x-dataset-version"] == "2024Q1_v2"
    assert (
        after.json()["data"][0]["rh_mean"]
        == served(expected_row("moisture", 44, Q, "2024Q1_v2", 11))["rh_mean"]
    )


def test_large_pages_stream_in_chunks(backend: Backend) -> None:
    """Pages above 500 rows go out as a chunked stream; JSON and CSV stay well-formed across chunk borders."""
    from weatherinsight.quarters import Quarter
    from weatherinsight.warehouse import db, lineage
    from weatherinsight.warehouse.tables import curated_table

    q = Quarter(2023, 1)
    stations = list(range(1, 1202))
    engine = db.get_engine(backend.url)
    with engine.begin() as conn:
        v = lineage.begin_version(conn, backend.settings, "curated", "precipitation", q, fingerprint="big")
        rows = [expected_row("precipitation", s, q, v.version_name, 5) for s in stations]
        db.bulk_insert(conn, curated_table("precipitation"), rows)
        lineage.publish_version(conn, v, row_count=len(rows))

    r = backend.client.get("/v1/features/precipitation/2023/1", params={"limit": 5000, "features": "rx5day"})
    assert r.headers.get("transfer-encoding") == "chunked"
    body = r.json()
    assert (body["count"], body["next"]) == (1201, None)
    assert [d["station_id"] for d in body["data"]] == stations
    assert (
        body["data"][700]["rx5day"] == served(expected_row("precipitation", 701, q, "2023Q1_v1", 5))["rx5day"]
    )

    csv = backend.client.get("/v1/features/precipitation/2023/1", params={"limit": 5000, "format": "csv"})
    lines = csv.text.splitlines()
    assert len(lines) == 1 + 1201
    assert [int(line.split(",", 1)[0]) for line in lines[1:]] == stations

    first = backend.client.get("/v1/features/precipitation/2023/1", params={"limit": 600}).json()
    second = backend.client.get(first["next"]).json()
    third = backend.client.get(second["next"]).json()
    assert [len(p["data"]) for p in (first, second, third)] == [600, 600, 1]
    assert third["next"] is None
    assert [d["station_id"] for p in (first, second, third) for d in p["data"]] == stations


def test_repeated_requests_are_identical_and_a_publish_is_seen_after_the_refresh(backend: Backend) -> None:
    """Bodies are cached by ETag + URL: a repeat is byte-identical; a new version is served at once by the
    whole-quarter route (it reads the version) and within ``api_data_refresh_seconds`` by station queries."""
    from weatherinsight.warehouse import db, lineage
    from weatherinsight.warehouse.tables import curated_table

    engine = db.get_engine(backend.url)
    q = Q4_23

    def publish(seed: int) -> str:
        with engine.begin() as conn:
            v = lineage.begin_version(
                conn, backend.settings, "curated", "moisture", q, fingerprint=f"p{seed}"
            )
            db.bulk_insert(
                conn, curated_table("moisture"), [expected_row("moisture", 73, q, v.version_name, seed)]
            )
            lineage.publish_version(conn, v, row_count=1)
            return v.version_name

    v1 = publish(20)
    for url, params in (("/v1/features/moisture/2023/4", {}), ("/v1/features/moisture", {"station_id": 73})):
        a, b = backend.client.get(url, params=params), backend.client.get(url, params=params)
        assert (a.status_code, b.status_code) == (200, 200)
        assert a.content == b.content
        assert a.headers["etag"] == b.headers["etag"]
        assert a.headers["x-data-attribution"] == b.headers["x-data-attribution"] == ATTRIBUTION_HEADER
        assert b.headers["content-type"] == "application/json"
        assert [d["dataset_version"] for d in b.json()["data"]] == [v1]
    quarter_etag = a.headers["etag"]
    v2 = publish(21)
    assert backend.client.get("/v1/features/moisture/2023/4").json()["data"][0]["dataset_version"] == v2
    time.sleep(REFRESH_SECONDS + 0.05)
    for url, params in (("/v1/features/moisture/2023/4", {}), ("/v1/features/moisture", {"station_id": 73})):
        r = backend.client.get(url, params=params)
        assert [d["dataset_version"] for d in r.json()["data"]] == [v2]
        assert r.json()["data"][0]["station_id"] == 73
    assert backend.client.get("/v1/features/moisture/2023/4").headers["etag"] != quarter_etag
    assert backend.client.get("/v1/features/moisture/2023/4").headers["x-dataset-version"] == v2
