"""``/v1/stations/{station_id}/features``: several products of one station, long format, on SQLite and PostgreSQL."""

from __future__ import annotations

import io

import pyarrow.parquet as pq

from tests.api.conftest import Q1_24, Q4_23, Backend, expected_row, served
from weatherinsight import DWD_ATTRIBUTION
from weatherinsight.features.catalog import COVERAGE_COLUMNS, features_for

TEMP = [f.name for f in features_for("air_temperature")]
WIND = [f.name for f in features_for("wind")]
FIXED = [
    "station_id",
    "year",
    "quarter",
    "dataset_version",
    *(c for c, _, _ in COVERAGE_COLUMNS),
    "computed_at",
]
URL = "/v1/stations/44/features"


#: The metadata line of tg_mean in a CSV with metadata=true (catalog unit and definition).
TG_MEAN_META = (
    "# tg_mean [°C]: mean of daily mean temperatures (TG); TG = mean of the valid UTC day's hourly TT_TU "
    "(DWD's TMK is the mean of the same 24 readings)"
)


def test_two_products_one_row_per_product_and_quarter(backend: Backend) -> None:
    r = backend.client.get(URL, params={"products": "air_temperature,wind"})
    assert r.status_code == 200
    body = r.json()
    assert (body["attribution"], body["station_id"], body["count"], body["next"]) == (
        DWD_ATTRIBUTION,
        44,
        3,
        None,
    )
    # Published versions only (2024Q1_v1 superseded, 2024Q2 pending), ordered by product as asked, then quarter.
    assert [(d["product"], d["year"], d["quarter"], d["dataset_version"]) for d in body["data"]] == [
        ("air_temperature", 2023, 4, "2023Q4_v1"),
        ("air_temperature", 2024, 1, "2024Q1_v2"),
        ("wind", 2024, 1, "2024Q1_v1"),
    ]
    assert list(body["data"][0]) == ["product", *FIXED, *TEMP, *WIND]
    temp = served(expected_row("air_temperature", 44, Q1_24, "2024Q1_v2", 2))
    wind = served(expected_row("wind", 44, Q1_24, "2024Q1_v1", 4))
    row_t, row_w = body["data"][1], body["data"][2]
    for name in [*TEMP, "hours_valid", "qn_min", "qn_max", "share_recent"]:
        assert row_t[name] == temp[name], name
    for name in [*WIND, "hours_valid", "qn_min", "qn_max", "share_recent"]:
        assert row_w[name] == wind[name], name
    # A feature of the other product is null in a row.
    assert all(row_t[n] is None for n in WIND) and all(row_w[n] is None for n in TEMP)
    assert body["fields"]["tg_mean"]["unit"] == "°C"
    assert body["fields"][WIND[0]]["unit"] == features_for("wind")[0].unit
    assert "coverage" in body["fields"]


def test_filters_range_subset_and_coverage(backend: Backend) -> None:
    params = {"products": "wind,air_temperature", "from": "2024Q1", "features": "tg_mean," + WIND[0]}
    body = backend.client.get(URL, params=params).json()
    assert [(d["product"], d["dataset_version"]) for d in body["data"]] == [
        ("wind", "2024Q1_v1"),
        ("air_temperature", "2024Q1_v2"),
    ]
    assert list(body["data"][0]) == ["product", *FIXED, WIND[0], "tg_mean"]
    assert (
        body["data"][1]["tg_mean"]
        == served(expected_row("air_temperature", 44, Q1_24, "2024Q1_v2", 2))["tg_mean"]
    )
    upto = backend.client.get(URL, params={"products": "air_temperature", "to": "2023Q4"}).json()
    assert [d["dataset_version"] for d in upto["data"]] == ["2023Q4_v1"]
    low = backend.client.get(
        "/v1/stations/73/features", params={"products": "air_temperature", "min_coverage": 0.9}
    )
    assert [d["dataset_version"] for d in low.json()["data"]] == ["2023Q4_v1"]  # 2024Q1_v2 has coverage 0.5
    none = backend.client.get("/v1/stations/999/features", params={"products": "wind"}).json()
    assert (none["count"], none["data"]) == (0, [])


def test_csv_parquet_and_etag(backend: Backend) -> None:
    params = {"products": "air_temperature,wind", "features": "tg_mean"}
    csv = backend.client.get(URL, params={**params, "format": "csv"})
    lines = csv.text.splitlines()
    assert lines[0] == ",".join(["product", *FIXED, "tg_mean"])
    assert [line.split(",")[0] for line in lines[1:]] == ["air_temperature", "air_temperature", "wind"]
    stored = expected_row("air_temperature", 44, Q4_23, "2023Q4_v1", 0)["tg_mean"]
    assert float(lines[1].split(",")[-1]) == round(stored, 1)
    assert lines[3].endswith(",")  # wind has no tg_mean: an empty cell
    meta = backend.client.get(URL, params={**params, "format": "csv", "metadata": "true"}).text
    assert TG_MEAN_META in meta.splitlines()
    parquet = backend.client.get(URL, params={**params, "format": "parquet"})
    table = pq.read_table(io.BytesIO(parquet.content))
    assert table.column_names == ["product", *FIXED, "tg_mean"]
    assert table.column("product").to_pylist() == ["air_temperature", "air_temperature", "wind"]
    assert table.schema.field("tg_mean").metadata[b"unit"].decode() == "°C"
    etag = parquet.headers["etag"]
    again = backend.client.get(URL, params={**params, "format": "parquet"}, headers={"If-None-Match": etag})
    assert (again.status_code, again.content) == (304, b"")
    other = backend.client.get(URL, params={**params, "format": "csv"}, headers={"If-None-Match": etag})
    assert other.status_code == 200


def test_bad_input_is_one_clear_400(backend: Backend) -> None:
    cases = {
        "products=rain": "'products'",
        "products=wind&features=tg_mean": "allowed: ",
        "products=wind&colour=red": "colour",
        "products=wind&from=2024Q2&to=2024Q1": "to",
    }
    for query, message in cases.items():
        r = backend.client.get(f"{URL}?{query}")
        assert r.status_code == 400, query
        assert message in r.json()["message"], (query, r.json())
    twice = backend.client.get(URL, params={"products": "wind,air_temperature,wind"}).json()
    assert [d["product"] for d in twice["data"]] == ["wind", "air_temperature", "air_temperature"]
    assert backend.client.get("/v1/stations/44/features").status_code in (400, 422)
