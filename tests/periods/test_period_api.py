"""``period=`` on ``GET /v1/features/{product}``: months, winters and years served beside quarters (real HTTP)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import httpx
import pandas as pd
import pytest

from tests.api.conftest import ServerThread
from tests.periods import cases
from weatherinsight import Client
from weatherinsight.aggregate import aggregate_quarter
from weatherinsight.api.app import create_app
from weatherinsight.api.routes.features import period_bounds
from weatherinsight.client.query import QueryError
from weatherinsight.periods import Period
from weatherinsight.quarters import Quarter
from weatherinsight.settings import Settings
from weatherinsight.warehouse import db
from weatherinsight.warehouse.tables import station_locations

P = cases.PRODUCT


@pytest.fixture
def server(db_settings: Settings) -> Iterator[tuple[Settings, str]]:
    s = db_settings
    cases.stage_quarters(Path(s.staged_dir))
    for label in ("2023Q4", "2024Q1", "2024-01", "2024-02", "2024DJF", "2024"):
        aggregate_quarter(s, P, Period.parse(label))
    with db.get_engine(s.database_url).begin() as conn:  # station 1 moved on 2024-02-01
        conn.execute(
            station_locations.insert(),
            [
                {
                    "station_id": 1,
                    "valid_from": date(2020, 1, 1),
                    "valid_to": date(2024, 1, 31),
                    "name": "Alt",
                },
                {"station_id": 1, "valid_from": date(2024, 2, 1), "valid_to": None, "name": "Neu"},
            ],
        )
    app = create_app(s)
    with ServerThread(app) as running:
        yield s, running.url
    app.state.api.engine.dispose()


@pytest.fixture
def client(server: tuple[Settings, str]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server[1], timeout=30) as c:
        yield c


def keys(body: dict[str, object]) -> list[tuple[object, ...]]:
    data = body["data"]
    assert isinstance(data, list)
    return [(d["station_id"], d["year"], d["quarter"], d["period"], d["dataset_version"]) for d in data]


def test_period_filters_the_rows(client: httpx.Client) -> None:
    months = client.get(f"/v1/features/{P}", params={"period": "month", "station_id": 1}).json()
    assert keys(months) == [(1, 2024, 1, "2024-01", "2024-01_v1"), (1, 2024, 2, "2024-02", "2024-02_v1")]
    assert [d["tg_mean"] for d in months["data"]] == [-10.0, 6.0]
    assert months["fields"]["period"]["definition"].startswith("the period's label: YYYY-MM (month)")

    winter = client.get(f"/v1/features/{P}", params={"period": "season", "station_id": [1, 4]}).json()
    assert keys(winter) == [(1, 2024, 1, "2024DJF", "2024DJF_v1"), (4, 2024, 1, "2024DJF", "2024DJF_v1")]
    assert [(d["days_valid"], d["hours_expected"], d["tg_mean"]) for d in winter["data"]] == [
        (91, 2184, -2.2),  # -198 / 91 = -2.1758…, served at the catalog precision (0.1 °C)
        (25, 2184, None),
    ]
    year = client.get(f"/v1/features/{P}", params={"period": "year", "features": "tg_mean"}).json()
    assert [(d["station_id"], d["period"], d["days_valid"], d["tg_mean"]) for d in year["data"]] == [
        (1, "2024", 60, None),
        (3, "2024", 24, None),
        (4, "2024", 25, None),
        (5, "2024", 293, 1.0),
        (6, "2024", 292, None),
    ]
    # without period= the route serves quarters only, as before (no period field)
    quarters = client.get(f"/v1/features/{P}", params={"station_id": 1}).json()
    assert [(d["year"], d["quarter"], d["dataset_version"]) for d in quarters["data"]] == [
        (2023, 4, "2023Q4_v1"),
        (2024, 1, "2024Q1_v1"),
    ]
    assert "period" not in quarters["data"][0]


def test_from_and_to_select_periods_ending_in_the_quarters(client: httpx.Client) -> None:
    def labels(**params: str) -> list[str]:
        body = client.get(f"/v1/features/{P}", params={"station_id": "1", **params}).json()
        return [d["period"] for d in body["data"]]

    assert labels(period="month", to="2023Q4") == []
    assert labels(period="month", **{"from": "2024Q1"}) == ["2024-01", "2024-02"]
    assert labels(period="season", to="2024Q1") == ["2024DJF"]  # DJF 2024 ends in 2024Q1
    assert labels(period="season", to="2023Q4") == []
    assert labels(period="year", to="2024Q3") == []
    assert labels(period="year", to="2024Q4") == ["2024"]


def test_bad_period_is_a_clear_422(client: httpx.Client) -> None:
    r = client.get(f"/v1/features/{P}", params={"period": "week"})
    assert r.status_code == 422  # as every other invalid query parameter
    body = r.json()
    assert body["error"] == "invalid_parameter"
    assert "period" in body["message"] and "'month', 'season', 'quarter' or 'year'" in body["message"]


def test_python_client_period(server: tuple[Settings, str]) -> None:
    settings, url = server
    local = Client(settings=settings).features(P, stations=[1, 4], period="season", features=["tg_mean"])
    remote = Client(url).features(P, stations=[1, 4], period="season", features=["tg_mean"])
    assert local[["station_id", "year", "quarter", "period", "dataset_version", "days_valid"]].to_dict(
        "records"
    ) == [
        {
            "station_id": 1,
            "year": 2024,
            "quarter": 1,
            "period": "2024DJF",
            "dataset_version": "2024DJF_v1",
            "days_valid": 91,
        },
        {
            "station_id": 4,
            "year": 2024,
            "quarter": 1,
            "period": "2024DJF",
            "dataset_version": "2024DJF_v1",
            "days_valid": 25,
        },
    ]
    assert local["tg_mean"].tolist()[0] == -2.2
    pd.testing.assert_frame_equal(local, remote, check_dtype=False)
    months = Client(settings=settings).features(P, stations=[1], period="month", end="2024Q1")
    assert months["period"].tolist() == ["2024-01", "2024-02"]
    quarters = Client(settings=settings).features(P, stations=[1])
    assert quarters["dataset_version"].tolist() == ["2023Q4_v1", "2024Q1_v1"]
    assert "period" not in quarters.columns
    with pytest.raises(QueryError, match="period: invalid period 'week': unknown period kind"):
        Client(settings=settings).features(P, period="week")


def test_period_bounds_at_the_ends_of_the_calendar() -> None:
    assert period_bounds("season", Quarter(1800, 1), Quarter(2200, 4)) == ((1800, 1), (2200, 4))
    assert period_bounds("month", Quarter(2024, 2), Quarter(2024, 2)) == ((2024, 4), (2024, 6))
    assert period_bounds("year", Quarter(2024, 1), Quarter(2024, 3)) == ((2024, 1), (2023, 1))
    assert period_bounds("year", None, Quarter(1800, 1)) == (None, (1799, 1))  # nothing can match
    assert period_bounds("season", Quarter(2024, 1), Quarter(2024, 1)) == ((2024, 1), (2024, 1))


def test_include_station_follows_the_period_end(client: httpx.Client) -> None:
    def names(period: str) -> list[tuple[str, str]]:
        params = {"station_id": "1", "period": period, "include_station": "true", "features": "tg_mean"}
        body = client.get(f"/v1/features/{P}", params=params).json()
        return [(d["period"], d["station_name"]) for d in body["data"]]

    assert names("month") == [("2024-01", "Alt"), ("2024-02", "Neu")]
    assert names("season") == [("2024DJF", "Neu")]  # the winter ends on 2024-02-29


def test_station_features_take_period(client: httpx.Client) -> None:
    """``period=`` on ``/v1/stations/{id}/features``: the station's months (or winters, years) per product."""
    url = "/v1/stations/1/features"
    months = client.get(url, params={"products": P, "period": "month", "features": "tg_mean"}).json()
    assert [
        (d["product"], d["year"], d["quarter"], d["period"], d["dataset_version"], d["tg_mean"])
        for d in months["data"]
    ] == [
        (P, 2024, 1, "2024-01", "2024-01_v1", -10.0),
        (P, 2024, 2, "2024-02", "2024-02_v1", 6.0),
    ]
    assert months["fields"]["period"]["definition"].startswith("the period's label: YYYY-MM (month)")
    winter = client.get(
        url, params={"products": P, "period": "season", "from": "2024Q1", "to": "2024Q1"}
    ).json()
    assert [(d["period"], d["days_valid"], d["tg_mean"]) for d in winter["data"]] == [("2024DJF", 91, -2.2)]
    quarters = client.get(url, params={"products": P}).json()
    assert [d["dataset_version"] for d in quarters["data"]] == ["2023Q4_v1", "2024Q1_v1"]
    assert "period" not in quarters["data"][0]
