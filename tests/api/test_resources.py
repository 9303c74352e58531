"""Stations, catalog, datasets, quality, health and metrics routes on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from tests.api.conftest import Backend
from weatherinsight import DWD_ATTRIBUTION
from weatherinsight.api.routes.stations import haversine_km
from weatherinsight.features.catalog import CATALOG, features_for


def _ids(backend: Backend, **params: object) -> list[int]:
    r = backend.client.get("/v1/stations", params=params)  # type: ignore[arg-type]
    assert r.status_code == 200, r.text
    return [s["station_id"] for s in r.json()["data"]]


def test_station_filters(backend: Backend) -> None:
    assert _ids(backend) == [44, 73, 433, 1001, 3987]
    assert _ids(backend, state="berlin") == [433]
    assert _ids(backend, bbox="12.5,52.0,14.0,53.0") == [433, 3987]
    assert _ids(backend, active="2024Q1") == [44, 73, 433, 3987]
    assert _ids(backend, active="2023Q4") == [44, 73, 433, 1001, 3987]
    assert _ids(backend, product="wind") == [44, 433]
    assert _ids(backend, state="Bayern' OR '1'='1") == []  # a bound parameter, never SQL text


def test_parameters_are_bound_never_sql_text(backend: Backend) -> None:
    statements: list[tuple[str, object]] = []
    engine = backend.app.state.api.engine

    def spy(
        conn: object, cursor: object, statement: str, parameters: object, context: object, many: bool
    ) -> None:
        statements.append((statement, parameters))

    hostile = "Bayern'; DROP TABLE station_metadata; --"
    event.listen(engine, "before_cursor_execute", spy)
    try:
        assert _ids(backend, state=hostile) == []
        r = backend.client.get("/v1/quality/2024/1", params={"run_id": "run-a' OR '1'='1"})
        assert (r.status_code, r.json()["count"]) == (200, 0)
    finally:
        event.remove(engine, "before_cursor_execute", spy)
    assert statements
    assert all("DROP TABLE" not in sql and "OR '1'" not in sql for sql, _ in statements)
    assert any(hostile.lower() in str(params) for _, params in statements)
    assert _ids(backend, state="Bayern") == [73]  # the table is still there


def test_stations_near(backend: Backend) -> None:
    body = backend.client.get("/v1/stations", params={"near": "52.52,13.40", "radius_km": 30}).json()
    assert [(s["station_id"], s["distance_km"]) for s in body["data"]] == [
        (433, round(haversine_km(52.52, 13.40, 52.4675, 13.4021), 3)),
        (3987, round(haversine_km(52.52, 13.40, 52.3813, 13.0622), 3)),
    ]
    assert 5.8 < body["data"][0]["distance_km"] < 5.9
    assert _ids(backend, near="52.52,13.40", radius_km=20) == [433]
    assert _ids(backend, near="52.52,13.40") == [433]  # default radius 25 km


def test_station_objects_and_paging(backend: Backend) -> None:
    body = backend.client.get("/v1/stations", params={"limit": 2}).json()
    assert body["data"][0] == {
        "station_id": 44,
        "name": "Großenkneten",
        "state": "Niedersachsen",
        "latitude": 52.9336,
        "longitude": 8.237,
        "height_m": 44.0,
        "valid_from": "1969-01-01",
        "valid_to": None,
        "products": ["air_temperature", "precipitation", "wind"],
    }
    second = backend.client.get(body["next"]).json()
    assert [s["station_id"] for s in second["data"]] == [433, 1001]
    third = backend.client.get(second["next"]).json()
    assert ([s["station_id"] for s in third["data"]], third["next"]) == ([3987], None)
    csv = backend.client.get(
        "/v1/stations", params={"format": "csv", "state": "Niedersachsen"}
    ).text.splitlines()
    assert csv == [  # header row first (issue #15)
        "station_id,name,state,latitude,longitude,height_m,valid_from,valid_to,products",
        "44,Großenkneten,Niedersachsen,52.9336,8.237,44.0,1969-01-01,,air_temperature;precipitation;wind",
    ]


def test_station_detail_with_location_history(backend: Backend) -> None:
    body = backend.client.get("/v1/stations/44").json()
    assert body["attribution"] == DWD_ATTRIBUTION
    assert body["products"] == ["air_temperature", "precipitation", "wind"]
    assert [p["product"] for p in body["product_metadata"]] == ["air_temperature", "precipitation", "wind"]
    assert [(loc["valid_from"], loc["valid_to"], loc["height_m"]) for loc in body["locations"]] == [
        ("1969-01-01", "2007-05-01", 43.0),
        ("2007-05-02", None, 44.0),
    ]
    closed = backend.client.get("/v1/stations/1001").json()
    assert (closed["valid_to"], closed["locations"]) == ("2023-12-31", [])
    missing = backend.client.get("/v1/stations/99999")
    assert missing.status_code == 404
    assert missing.json()["message"] == "no station 99999 in the station lists; see /v1/stations"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"bbox": "1,2,3"}, "query parameter 'bbox': '1,2,3' is not of the form 5.8,47.2,15.1,55.1"),
        ({"bbox": "14,52,13,53"}, "min_lon ≤ max_lon"),
        ({"near": "95,13"}, "latitude must be in [-90, 90]"),
        ({"near": "52.5,inf"}, "query parameter 'near': '52.5,inf' is not of the form 52.52,13.40"),
        ({"radius_km": 5}, "query parameter 'radius_km' needs near=lat,lon"),
        ({"active": "2024Q9"}, "query parameter 'active': invalid quarter '2024Q9'"),
        ({"state": "Bay\x00ern"}, "no control characters"),
    ],
)
def test_station_bad_input(backend: Backend, params: dict[str, object], message: str) -> None:
    r = backend.client.get("/v1/stations", params=params)  # type: ignore[arg-type]
    assert r.status_code == 400
    assert message in r.json()["message"]


def test_catalog(backend: Backend) -> None:
    r = backend.client.get("/v1/catalog")
    body = r.json()
    assert body["count"] == len(CATALOG)
    assert [e["name"] for e in body["data"]] == [f.name for f in CATALOG]
    rx5 = next(e for e in body["data"] if e["name"] == "rx5day")
    assert rx5 == {
        "name": "rx5day",
        "product": "precipitation",
        "variable": "precipitation_height",
        "kind": "daily",
        "unit": "mm",
        "definition": (
            "highest RR sum over 5 consecutive days, all valid and inside the quarter (Rx5day; a window never "
            "crosses an invalid day or the quarter's bounds); RR = DWD's daily RSK (06–06 UTC day) where "
            "present, else Σ hourly R1 of the valid UTC day (rr_source)"
        ),
        "standard": "ETCCDI",
        "sql_type": "float",
        "precision": 1,  # added by issue #15: decimals served
    }
    frost = next(e for e in body["data"] if e["name"] == "frost_days")
    assert (frost["unit"], frost["precision"]) == ("days", 0)
    wind = backend.client.get("/v1/catalog", params={"product": "wind"}).json()
    assert [e["name"] for e in wind["data"]] == [f.name for f in features_for("wind")]
    assert backend.client.get("/v1/catalog", headers={"If-None-Match": r.headers["etag"]}).status_code == 304


def test_datasets_with_lineage(backend: Backend) -> None:
    body = backend.client.get(
        "/v1/datasets", params={"kind": "curated", "product": "air_temperature", "status": "AVAILABLE"}
    ).json()
    assert [(d["version_name"], d["row_count"], d["parent_versions"]) for d in body["data"]] == [
        ("2023Q4_v1", 5, ["2023Q4_staged_v1"]),
        ("2024Q1_v2", 4, ["2024Q1_staged_v1"]),
    ]
    everything = backend.client.get(
        "/v1/datasets", params={"product": "air_temperature", "from": "2024Q1"}
    ).json()
    assert [(d["version_name"], d["status"]) for d in everything["data"]] == [
        ("2024Q1_v1", "SUPERSEDED"),
        ("2024Q1_v2", "AVAILABLE"),
        ("2024Q2_v1", "PENDING"),
    ]
    page = backend.client.get("/v1/datasets", params={"limit": 2}).json()
    assert page["count"] == 2
    rest = backend.client.get(page["next"]).json()
    assert page["data"][-1]["id"] < rest["data"][0]["id"]


def test_quality_results(backend: Backend) -> None:
    body = backend.client.get("/v1/quality/2024/1").json()
    assert (body["quarter"], body["run_id"]) == ("2024Q1", "run-b")
    assert body["summary"] == {"checks": 3, "passed": 1, "fatal_failed": 1, "warnings_failed": 1}
    assert [(d["check_name"], d["severity"], d["passed"]) for d in body["data"]] == [
        ("row_count", "fatal", True),
        ("null_percentage", "warning", False),
        ("station_coverage", "fatal", False),
    ]
    older = backend.client.get("/v1/quality/2024/1", params={"run_id": "run-a"}).json()
    assert older["summary"] == {"checks": 2, "passed": 2, "fatal_failed": 0, "warnings_failed": 0}
    failed = backend.client.get("/v1/quality/2024/1", params={"passed": "false", "severity": "fatal"}).json()
    assert [d["check_name"] for d in failed["data"]] == ["station_coverage"]
    empty = backend.client.get("/v1/quality/2023/1").json()
    assert (empty["run_id"], empty["count"], empty["summary"]["checks"]) == (None, 0, 0)


def test_health_and_metrics(backend: Backend) -> None:
    health = backend.client.get("/v1/health").json()
    assert (health["status"], health["database"]) == ("ok", "ok")
    assert health["latest_quarters"]["air_temperature"] == "2024Q1"
    assert health["latest_quarters"]["wind"] == "2024Q1"
    assert health["latest_quarters"]["pressure"] is None
    for _ in range(3):
        assert backend.client.get("/v1/features/wind/2024/1").status_code == 200
    assert backend.client.get("/v1/features/wind/2024/3").status_code == 404
    text = backend.client.get("/v1/metrics").text
    lines = dict(line.rsplit(" ", 1) for line in text.splitlines() if line and not line.startswith("#"))
    ok = 'weatherinsight_api_requests_total{method="GET",route="/v1/features/{product}/{year}/{quarter}",status="200"}'
    assert float(lines[ok]) >= 3
    missing = ok.replace('status="200"', 'status="404"')
    assert float(lines[missing]) >= 1
    assert (
        float(
            lines[
                'weatherinsight_api_request_duration_seconds_count{method="GET",route="/v1/features/{product}/{year}/{quarter}"}'
            ]
        )
        >= 4
    )
    assert lines['weatherinsight_api_latest_published_quarter{product="air_temperature"}'] == "20241.0"
    assert lines['weatherinsight_api_latest_published_quarter{product="pressure"}'] == "0.0"
    assert float(lines['weatherinsight_api_data_age_seconds{product="wind"}']) > 0


def test_unknown_query_parameter_is_400_naming_the_allowed_ones(backend: Backend) -> None:
    r = backend.client.get("/v1/stations", params={"nmae": "Bad"})
    assert r.status_code == 400
    body = r.json()
    assert body["error"] == "unknown_parameter"
    assert body["message"].startswith(
        "unknown query parameter(s) 'nmae'; allowed: active, bbox, cursor, format"
    )
    assert "name" in body["message"].split("allowed: ")[1].split(", ")
    assert backend.client.get("/v1/catalog", params={"produkt": "wind"}).json()["message"] == (
        "unknown query parameter(s) 'produkt'; allowed: product"
    )


def test_stations_near_by_distance_and_name_ignoring_accents(backend: Backend) -> None:
    default = backend.client.get("/v1/stations", params={"near": "52.52,13.40"}).json()
    assert [s["station_id"] for s in default["data"]] == [433]  # Tempelhof ≈ 5.8 km; Potsdam ≈ 27.6 km
    assert default["near"] == {"latitude": 52.52, "longitude": 13.4, "radius_km": 25.0}  # the default, stated
    body = backend.client.get("/v1/stations", params={"near": "52.52,13.40", "radius_km": 30}).json()
    assert [s["station_id"] for s in body["data"]] == [433, 3987]  # by distance, not by id
    assert 5 < body["data"][0]["distance_km"] < 7 < 27 < body["data"][1]["distance_km"] <= 30
    named = backend.client.get("/v1/stations", params={"name": "GROSSENKNETEN"}).json()
    assert [s["station_id"] for s in named["data"]] == [44]


def test_feature_answers_carry_units(backend: Backend) -> None:
    body = backend.client.get("/v1/features/wind", params={"features": "wind_speed_mean"}).json()
    assert body["fields"]["wind_speed_mean"] == {
        "unit": "m/s",
        "definition": body["fields"]["wind_speed_mean"]["definition"],
        "precision": 1,
    }
    assert body["fields"]["coverage"]["definition"] == "hours_valid / hours_expected"
