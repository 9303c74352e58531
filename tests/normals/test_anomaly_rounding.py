"""One anomaly rule on every surface: anomaly = round(served value − normal, max(precision, 1)), the served value
being the feature rounded to its catalog precision — so a user can reproduce it from the answer and the normal.

Planted so that the rule matters: tg_mean (precision 1) of station 1000 in January and quarter 1 is 0.03 °C in
2019 and 0.05 °C in 2020 (normal 0.04 over 2019..2020) and 0.26 °C in 2021, served as 0.3. From the served
value the anomaly is round(0.3 − 0.04, 1) = 0.3; from the stored value it would be round(0.26 − 0.04, 1) = 0.2.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.api.conftest import serving
from tests.normals.planting import plant_periods
from weatherinsight import Client
from weatherinsight.normals import compute_normals
from weatherinsight.periods import Period
from weatherinsight.settings import Settings
from weatherinsight.warehouse import db
from weatherinsight.warehouse.climate_normals import normals_version, read_normals

T = "air_temperature"
TG = {2019: 0.03, 2020: 0.05, 2021: 0.26}
PERIODS = [Period(kind, y, 1) for kind in ("month", "quarter") for y in TG]
BASE = "2019..2020"


def _value(station: int, p: Period, feature: str) -> float | int | None:
    return TG[p.year] if feature == "tg_mean" else 2


@pytest.fixture
def served(db_settings: Settings) -> Iterator[tuple[Settings, str]]:
    plant_periods(db_settings, T, PERIODS, (1000,), _value)
    for kind in ("month", "quarter"):
        compute_normals(db_settings, T, period_kind=kind, base=(2019, 2020))
    with serving(db_settings) as url:
        yield db_settings, url


def _json(url: str, path: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    r = httpx.get(f"{url}{path}", params=params, timeout=30)
    assert r.status_code == 200, r.text
    return [d for d in r.json()["data"] if d["year"] == 2021]


def test_every_surface_computes_the_anomaly_from_the_served_value(served: tuple[Settings, str]) -> None:
    settings, url = served
    with db.get_engine(settings.database_url).connect() as conn:  # the premise: normal 0.04, stored 0.26
        for kind in ("month", "quarter"):
            version = normals_version(conn, T, kind, (2019, 2020))
            assert version is not None
            normal, years = read_normals(conn, T, version, ["tg_mean"])[(1000, 1, "tg_mean")]
            assert (round(normal, 12), years) == (0.04, 2)
    expected = (0.3, 0.3, 2)  # served tg_mean, tg_mean_anomaly, tg_mean_normal_years
    common = {"features": "tg_mean", "anomalies": "true", "normals_base": BASE, "from": "2021Q1"}
    answers: dict[str, list[dict[str, Any]]] = {
        "features month": _json(url, f"/v1/features/{T}", {**common, "period": "month"}),
        "features quarter": _json(url, f"/v1/features/{T}", common),
        "quarter route": _json(
            url, f"/v1/features/{T}/2021/1", {k: common[k] for k in common if k != "from"}
        ),
        "station month": _json(
            url, "/v1/stations/1000/features", {**common, "products": T, "period": "month"}
        ),
        "station quarter": _json(url, "/v1/stations/1000/features", {**common, "products": T}),
    }
    for surface, rows in answers.items():
        assert [(d["tg_mean"], d["tg_mean_anomaly"], d["tg_mean_normal_years"]) for d in rows] == [
            expected
        ], surface
    kwargs: dict[str, Any] = {
        "features": ["tg_mean"],
        "anomalies": True,
        "normals_base": BASE,
        "start": "2021Q1",
    }
    for client in (Client(settings=settings), Client(url)):
        for period in ("month", "quarter"):
            frame = client.features(T, period=period, **kwargs)
            assert frame[["tg_mean", "tg_mean_anomaly", "tg_mean_normal_years"]].to_numpy().tolist() == [
                list(expected)
            ]
            long = client.station_features(1000, [T], period=period, **kwargs)
            assert long[["tg_mean", "tg_mean_anomaly"]].to_numpy().tolist() == [list(expected[:2])]
