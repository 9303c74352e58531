"""``anomalies=true`` on every surface beside ``/v1/features/{product}``: the one-quarter route, the station
route (several products, any period), ``Client.station_features`` (local equal to HTTP) and the CLI's
``features --period --anomalies``; exact values on SQLite and PostgreSQL (planted data: tests/normals/conftest.py).
"""

from __future__ import annotations

import csv
import io
import math
from typing import Any

import httpx
import pandas as pd
import pytest
from typer.testing import CliRunner

from tests.normals.conftest import P, T
from tests.pipeline.conftest import cli_env
from weatherinsight import Client
from weatherinsight.cli import app
from weatherinsight.client.query import QueryError
from weatherinsight.settings import Settings

Served = tuple[Settings, str]
PRECIP_ANOMALY = ["precip_total_anomaly", "precip_total_anomaly_pct", "precip_total_normal_years"]


def _get(url: str, path: str, params: dict[str, Any]) -> httpx.Response:
    return httpx.get(f"{url}{path}", params=params, timeout=30)


def test_quarter_route_serves_anomalies_against_the_quarter_normals(served: Served) -> None:
    _, url = served
    params = {"features": "precip_total,wet_days", "anomalies": "true", "normals_base": "2019..2020"}
    r = _get(url, f"/v1/features/{P}/2021/1", params)
    assert r.status_code == 200, r.text
    body = r.json()
    columns = [*PRECIP_ANOMALY, "wet_days_anomaly", "wet_days_normal_years"]
    assert list(body["data"][0])[-7:] == ["precip_total", "wet_days", *columns]
    # 1000: Q1 normal (113 + 116) / 2 = 114.5 → 119 − 114.5 = 4.5, 100 × 119 / 114.5 = 103.9; wet days 3 − 1.5
    # 1001: no 2019 precip_total → NULL normal from 1 year; its wet days normal is 1.5 as 1000's
    assert [(d["station_id"], d["precip_total"], *(d[c] for c in columns)) for d in body["data"]] == [
        (1000, 119.0, 4.5, 103.9, 2, 1.5, 2),
        (1001, 120.0, None, None, 1, 1.5, 2),
    ]
    assert body["fields"]["precip_total_anomaly_pct"] == {
        "unit": "%",
        "definition": "100 × precip_total / its climate normal",
    }
    plain = _get(url, f"/v1/features/{P}/2021/1", {"features": "precip_total"})
    assert list(plain.json()["data"][0])[-1] == "precip_total"  # without anomalies=true: no anomaly column
    assert r.headers["etag"] != plain.headers["etag"]
    csv_rows = list(
        csv.DictReader(io.StringIO(_get(url, f"/v1/features/{P}/2020/1", {**params, "format": "csv"}).text))
    )
    assert [
        (d["station_id"], d["precip_total_anomaly"], d["precip_total_anomaly_pct"]) for d in csv_rows
    ] == [
        ("1000", "1.5", "101.3"),  # 116 − 114.5; 100 × 116 / 114.5
        ("1001", "", ""),
    ]
    missing = _get(url, f"/v1/features/{P}/2021/1", {**params, "normals_base": "2018..2020"})
    assert (missing.status_code, missing.json()["error"]) == (404, "no_normals")
    assert missing.json()["message"] == (
        "no published quarter normals of precipitation over 2018..2020; run "
        "`weatherinsight normals --product precipitation --period quarter --base 2018..2020`"
    )


def test_station_route_serves_anomalies_of_several_products(served: Served) -> None:
    _, url = served
    params = {
        "products": f"{P},{T}",
        "period": "month",
        "features": "precip_total,tg_mean",
        "anomalies": "true",
        "normals_base": "2019..2020",
        "from": "2021Q1",
        "to": "2021Q3",
    }
    body = _get(url, "/v1/stations/1000/features", params).json()
    columns = [
        "precip_total",
        "tg_mean",
        "period",
        *PRECIP_ANOMALY,
        "tg_mean_anomaly",
        "tg_mean_normal_years",
    ]
    assert list(body["data"][0])[-len(columns) :] == columns
    # precipitation: January normal 14.5, July (73 + 76) / 2 = 74.5; tg_mean: January 0.6, July 1.2 °C
    assert [(d["product"], *(d[c] for c in columns)) for d in body["data"]] == [
        (P, 19.0, None, "2021-01", 4.5, 131.0, 2, None, None),
        (P, 79.0, None, "2021-07", 4.5, 106.0, 2, None, None),
        (T, None, 2.1, "2021-01", None, None, None, 1.5, 2),
        (T, None, 2.7, "2021-07", None, None, None, 1.5, 2),
    ]
    assert body["fields"]["tg_mean_anomaly"] == {"unit": "°C", "definition": "tg_mean − its climate normal"}
    # quarters (the default period) from the published-data cache, against the quarter normals
    quarters = _get(
        url,
        "/v1/stations/1000/features",
        {
            "products": P,
            "features": "precip_total",
            "anomalies": "true",
            "normals_base": "2019..2020",
            "from": "2020Q3",
        },
    ).json()["data"]
    assert [
        (d["year"], d["quarter"], d["precip_total"], *(d[c] for c in PRECIP_ANOMALY)) for d in quarters
    ] == [
        (2020, 3, 136.0, 1.5, 101.1, 2),  # Q3 normal (133 + 136) / 2 = 134.5
        (2021, 1, 119.0, 4.5, 103.9, 2),
        (2021, 3, 139.0, 4.5, 103.3, 2),
    ]
    # air_temperature has no quarter normals: the 404 names it and the command that publishes them
    missing = _get(
        url,
        "/v1/stations/1000/features",
        {"products": f"{P},{T}", "anomalies": "true", "normals_base": "2019..2020"},
    )
    assert (missing.status_code, missing.json()["message"]) == (
        404,
        "no published quarter normals of air_temperature over 2019..2020; run "
        "`weatherinsight normals --product air_temperature --period quarter --base 2019..2020`",
    )
    bad = _get(
        url, "/v1/stations/1000/features", {"products": P, "anomalies": "true", "normals_base": "2020"}
    )
    assert bad.status_code == 422 and "normals_base" in bad.text


def test_station_features_local_equals_http_with_period_and_anomalies(served: Served) -> None:
    settings, url = served
    local, http = Client(settings=settings), Client(url)
    kwargs: dict[str, Any] = {
        "start": "2021Q1",
        "end": "2021Q3",
        "features": ["precip_total", "tg_mean"],
        "period": "month",
        "anomalies": True,
        "normals_base": "2019..2020",
    }
    frames = [c.station_features(1000, [P, T], **kwargs) for c in (local, http)]
    pd.testing.assert_frame_equal(frames[0], frames[1])
    assert frames[0].attrs["fields"] == frames[1].attrs["fields"]
    df = frames[0]
    assert df["period"].tolist() == ["2021-01", "2021-07", "2021-01", "2021-07"]
    assert df["precip_total_anomaly_pct"].tolist()[:2] == [131.0, 106.0]
    assert df["tg_mean_anomaly"].tolist()[2:] == [1.5, 1.5]
    assert all(math.isnan(v) for v in df["tg_mean_anomaly"].tolist()[:2])
    # a product none of whose features is asked keeps its rows: shared columns and period only
    only = [
        c.station_features(
            1000,
            [T, P],
            start="2021Q1",
            end="2021Q1",
            features=["precip_total"],
            period="month",
            anomalies=True,
            normals_base="2019..2020",
        )
        for c in (local, http)
    ]
    pd.testing.assert_frame_equal(only[0], only[1])
    assert list(only[0].columns)[-5:] == ["precip_total", "period", *PRECIP_ANOMALY]
    assert only[0][["product", "period"]].to_numpy().tolist() == [[T, "2021-01"], [P, "2021-01"]]
    assert math.isnan(only[0]["precip_total_anomaly"][0]) and only[0]["precip_total_anomaly"][1] == 4.5
    for client in (local, http):
        with pytest.raises(QueryError, match=r"^period: invalid period 'week': unknown period kind"):
            client.station_features(1000, [P], period="week")
        with pytest.raises(
            QueryError, match=r"no published season normals of precipitation over 2019\.\.2020"
        ):
            client.station_features(1000, [P], period="season", anomalies=True, normals_base="2019..2020")


def test_cli_features_with_period_and_anomalies(served: Served) -> None:
    settings, url = served
    env = {**cli_env(settings), "COLUMNS": "200"}
    args = [
        "features",
        P,
        "--station",
        "1000",
        "--from",
        "2021Q1",
        "--to",
        "2021Q3",
        "--period",
        "month",
        "--features",
        "precip_total",
        "--anomalies",
        "--normals-base",
        "2019..2020",
        "--format",
        "csv",
    ]
    local = CliRunner().invoke(app, args, env=env)
    assert local.exit_code == 0, local.output
    remote = CliRunner().invoke(app, [*args, "--url", url], env=env)
    assert remote.exit_code == 0, remote.output
    assert local.stdout == remote.stdout
    lines = local.stdout.splitlines()
    header = lines[0].split(",")
    assert header[-5:] == ['"precip_total"', '"period"', *(f'"{c}"' for c in PRECIP_ANOMALY)]
    assert [line.split(",")[-5:] for line in lines[1:]] == [
        ["19", '"2021-01"', "4.5", "131", "2"],
        ["79", '"2021-07"', "4.5", "106", "2"],
    ]
    bad_period = CliRunner().invoke(app, ["features", P, "--period", "fortnight"], env=env)
    assert bad_period.exit_code == 2
    assert (
        "Invalid value for --period: invalid period 'fortnight': unknown period kind; use one of month, "
        "season, quarter, year" in " ".join(bad_period.output.split())
    )
    bad_base = CliRunner().invoke(
        app, ["features", P, "--anomalies", "--normals-base", "2020..2019"], env=env
    )
    assert bad_base.exit_code == 2
    assert "Invalid value for --normals-base: '2020..2019': expected FIRST..LAST years" in " ".join(
        bad_base.output.split()
    )
    for where in ([], ["--url", url]):
        missing = CliRunner().invoke(
            app,
            ["features", P, "--period", "season", "--anomalies", "--normals-base", "2019..2020", *where],
            env=env,
        )
        assert missing.exit_code == 2
        assert missing.stdout == ""
        assert missing.stderr.endswith(
            "no published season normals of precipitation over 2019..2020; run "
            "`weatherinsight normals --product precipitation --period season --base 2019..2020`\n"
        )
        assert missing.stderr.startswith("error: ") and missing.stderr.count("\n") == 1
