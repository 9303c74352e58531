"""Anomalies against published normals: exact values from the API (period=month&anomalies=true) and equal
answers from the local and the HTTP client, on SQLite and PostgreSQL."""

from __future__ import annotations

import math
from typing import Any

import httpx
import pytest

from tests.normals.conftest import P
from weatherinsight import Client
from weatherinsight.client.query import QueryError
from weatherinsight.settings import Settings

QUERY: dict[str, Any] = {
    "period": "month",
    "features": "precip_total,wet_days",
    "anomalies": "true",
    "normals_base": "2019..2020",
    "from": "2019Q1",
    "to": "2021Q1",
}
ANOMALY_COLUMNS = [
    "precip_total_anomaly",
    "precip_total_anomaly_pct",
    "precip_total_normal_years",
    "wet_days_anomaly",
    "wet_days_normal_years",
]


def test_api_serves_anomalies_with_exact_values(served: tuple[Settings, str]) -> None:
    _, url = served
    body = httpx.get(f"{url}/v1/features/{P}", params=QUERY, timeout=30).json()
    rows = body["data"]
    assert list(rows[0])[-len(ANOMALY_COLUMNS) :] == ANOMALY_COLUMNS
    got = [
        (r["station_id"], r["period"], r["precip_total"], *(r[c] for c in ANOMALY_COLUMNS))
        for r in rows
        if r["period"].endswith("-01")
    ]
    assert len(rows) == 10  # 2 stations × January 2019..2021 and July 2019..2020 (to=2021Q1)
    # 1000: January normal (13 + 16) / 2 = 14.5, wet days (1 + 2) / 2 = 1.5
    # 1001: only 2020 and 2021 have a precip_total → its normal is NULL (1 of 2 base years); years 1
    assert got == [
        (1000, "2019-01", 13.0, -1.5, 89.7, 2, -0.5, 2),
        (1001, "2019-01", None, None, None, 1, -0.5, 2),
        (1000, "2020-01", 16.0, 1.5, 110.3, 2, 0.5, 2),
        (1001, "2020-01", 17.0, None, None, 1, 0.5, 2),
        (1000, "2021-01", 19.0, 4.5, 131.0, 2, 1.5, 2),
        (1001, "2021-01", 20.0, None, None, 1, 1.5, 2),
    ]
    assert body["fields"]["precip_total_anomaly_pct"]["unit"] == "%"
    normals = httpx.get(f"{url}/v1/datasets", params={"kind": "normal"}, timeout=30).json()["data"]
    assert sorted((d["product"], d["version_name"], d["status"]) for d in normals) == [
        ("air_temperature", "2019-2020_month_normals_v1", "AVAILABLE"),
        ("precipitation", "2019-2020_month_normals_v1", "AVAILABLE"),
        ("precipitation", "2019-2020_quarter_normals_v1", "AVAILABLE"),
    ]
    missing = httpx.get(f"{url}/v1/features/{P}", params={**QUERY, "period": "season"}, timeout=30)
    assert missing.status_code == 404
    assert "no published season normals of precipitation over 2019..2020" in missing.text
    bad = httpx.get(f"{url}/v1/features/{P}", params={**QUERY, "normals_base": "2019-2020"}, timeout=30)
    assert bad.status_code in (400, 422)
    assert "normals_base" in bad.text


def test_local_and_http_clients_serve_the_same_anomalies(served: tuple[Settings, str]) -> None:
    settings, url = served
    kwargs: dict[str, Any] = {
        "stations": [1000, 1001],
        "start": "2021Q1",
        "end": "2021Q3",
        "features": ["precip_total", "wet_days"],
        "period": "month",
        "anomalies": True,
        "normals_base": "2019..2020",
    }
    local = Client(settings=settings).features(P, **kwargs)
    remote = Client(url).features(P, **kwargs)
    assert list(local.columns) == list(remote.columns)
    assert list(local.columns)[-len(ANOMALY_COLUMNS) :] == ANOMALY_COLUMNS
    for frame in (local, remote):
        values = frame[["station_id", "precip_total_anomaly", "precip_total_anomaly_pct"]].to_numpy().tolist()
        assert values[0] == [1000, 4.5, 131.0]  # January 2021
        assert values[1][0] == 1001 and math.isnan(values[1][1]) and math.isnan(values[1][2])
        assert values[2] == [1000, 4.5, 106.0]  # July 2021: normal (73 + 76) / 2 = 74.5, 100 × 79 / 74.5
        assert frame["wet_days_normal_years"].tolist() == [2, 2, 2, 2]
    with pytest.raises(QueryError, match=r"no published year normals of precipitation over 2019\.\.2020"):
        Client(settings=settings).features(P, **{**kwargs, "period": "year"})
