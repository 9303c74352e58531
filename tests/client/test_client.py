"""``weatherinsight.Client``: the local store and a served API give equal frames for the same calls."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.api.conftest import LOW_COVERAGE, Backend, expected_row, served
from weatherinsight import Client
from weatherinsight.api.routes.stations import fold
from weatherinsight.client import QueryError
from weatherinsight.quarters import Quarter


@pytest.fixture
def clients(backend: Backend) -> tuple[Client, Client]:
    return Client(settings=backend.settings), Client(backend.base)


def _same(local: pd.DataFrame, remote: pd.DataFrame) -> pd.DataFrame:
    pd.testing.assert_frame_equal(local, remote)
    return local


def test_stations_equal_and_filtered(clients: tuple[Client, Client]) -> None:
    local, http = clients
    everything = _same(local.stations(), http.stations())
    assert everything.station_id.tolist() == [44, 73, 433, 1001, 3987]
    near = _same(
        local.stations(near=(52.52, 13.40), radius_km=50), http.stations(near="52.52,13.40", radius_km=50)
    )
    # Ordered by distance, not id: Tempelhof (≈ 5.8 km) before Potsdam (≈ 24 km).
    assert near.station_id.tolist() == [433, 3987]
    assert near.distance_km.is_monotonic_increasing
    assert 5 < near.distance_km.iloc[0] < 7
    by_name = _same(local.stations(name="GROSSENKNETEN"), http.stations(name="GROSSENKNETEN"))
    assert by_name.station_id.tolist() == [44]
    by_state = _same(
        local.stations(state="bayern", product="precipitation"),
        http.stations(state="bayern", product="precipitation"),
    )
    assert by_state.name.tolist() == ["Aldersbach-Kriestorf"]


def test_name_folding_ignores_case_and_accents() -> None:
    assert fold("Kubschütz") == "kubschutz"
    assert fold("Großenkneten") == "grossenkneten"
    assert "kubschutz" in fold("Bautzen-Kubschütz")


def test_features_equal_published_only_and_rounded(clients: tuple[Client, Client]) -> None:
    local, http = clients
    df = _same(local.features("air_temperature"), http.features("air_temperature"))
    # 2024Q1_v1 is superseded and 2024Q2 is pending: only the AVAILABLE versions come back.
    assert sorted(set(zip(df.year, df.quarter, df.dataset_version, strict=True))) == [
        (2023, 4, "2023Q4_v1"),
        (2024, 1, "2024Q1_v2"),
    ]
    assert len(df) == 5 + 4
    row = df[(df.station_id == 44) & (df.year == 2024)].iloc[0]
    want = served(expected_row("air_temperature", 44, Quarter(2024, 1), "2024Q1_v2", 2))
    assert row.tg_mean == want["tg_mean"]
    assert row.frost_days == want["frost_days"]
    assert df.attrs["fields"]["tg_mean"]["unit"] == "°C"
    assert df.attrs["fields"]["tg_mean"]["precision"] == "1"


def test_features_filters_and_station_columns(clients: tuple[Client, Client]) -> None:
    local, http = clients
    kwargs = {"stations": [73, 44], "start": "2024Q1", "end": "2024Q4", "features": ["tg_mean", "frost_days"]}
    both = _same(local.features("air_temperature", **kwargs), http.features("air_temperature", **kwargs))
    assert both.station_id.tolist() == [44, 73]
    assert list(both.columns)[-2:] == ["tg_mean", "frost_days"]
    covered = _same(
        local.features("air_temperature", min_coverage=LOW_COVERAGE + 0.1, **kwargs),
        http.features("air_temperature", min_coverage=LOW_COVERAGE + 0.1, **kwargs),
    )
    assert covered.station_id.tolist() == [44]
    placed = _same(local.features("wind", include_station=True), http.features("wind", include_station=True))
    assert placed[["station_id", "station_name", "latitude"]].values.tolist() == [
        [44, "Großenkneten", 52.9336],
        [433, "Berlin-Tempelhof", 52.4675],
    ]
    arrow = http.features_arrow("wind")
    assert arrow.num_rows == 2
    assert arrow.schema.field("coverage").metadata[b"definition"] == b"hours_valid / hours_expected"


def test_catalog_equal_with_precision(clients: tuple[Client, Client]) -> None:
    local, http = clients
    cat = _same(local.catalog(), http.catalog())
    tg = cat[cat.name == "tg_mean"].iloc[0]
    assert (tg["unit"], tg["precision"]) == ("°C", 1)
    assert cat[cat.name == "frost_days"].iloc[0]["precision"] == 0


def test_pinned_version_and_errors(clients: tuple[Client, Client]) -> None:
    local, http = clients
    pinned = local.features("air_temperature", version="2024Q1_v1")
    assert pinned.station_id.tolist() == [44, 73]
    assert set(pinned.dataset_version) == {"2024Q1_v1"}
    with pytest.raises(QueryError, match="published versions only"):
        http.features("air_temperature", version="2024Q1_v1")
    for client in clients:
        with pytest.raises(QueryError, match=r"unknown feature.*'nope'"):
            client.features("air_temperature", features=["nope"])
        with pytest.raises(QueryError, match="near"):
            client.stations(near="north")


def test_station_features_equal_for_both_back_ends(clients: tuple[Client, Client]) -> None:
    local, http = clients
    df = _same(
        local.station_features(44, ["air_temperature", "wind"]),
        http.station_features(44, ["air_temperature", "wind"]),
    )
    assert list(zip(df["product"], df.year, df.quarter, df.dataset_version, strict=True)) == [
        ("air_temperature", 2023, 4, "2023Q4_v1"),
        ("air_temperature", 2024, 1, "2024Q1_v2"),
        ("wind", 2024, 1, "2024Q1_v1"),
    ]
    alone = local.features("air_temperature", stations=[44])
    assert df[df["product"] == "air_temperature"].tg_mean.tolist() == alone.tg_mean.tolist()
    assert df[df["product"] == "wind"].tg_mean.isna().all()
    assert df.attrs["fields"]["tg_mean"]["unit"] == "°C"
    subset = _same(
        local.station_features(44, ["wind", "air_temperature"], start="2024Q1", features=["tg_mean"]),
        http.station_features(44, ["wind", "air_temperature"], start="2024Q1", features=["tg_mean"]),
    )
    assert subset["product"].tolist() == ["wind", "air_temperature"]
    assert subset.columns[-1] == "tg_mean" and "coverage" in subset.columns
    covered = _same(
        local.station_features(73, ["air_temperature"], min_coverage=0.9),
        http.station_features(73, ["air_temperature"], min_coverage=0.9),
    )
    assert covered.dataset_version.tolist() == ["2023Q4_v1"]
    for client in (local, http):
        with pytest.raises(QueryError, match="allowed: "):
            client.station_features(44, ["wind"], features=["tg_mean"])


def test_station_features_period_and_anomalies_equal_for_both_back_ends(
    clients: tuple[Client, Client],
) -> None:
    """The seeded store has quarters only and no normals: a year answer is empty with the same columns on both
    back ends, and anomalies are the same error naming the run that publishes the normals (values:
    tests/normals/test_anomaly_surfaces.py)."""
    local, http = clients
    years = _same(
        local.station_features(44, ["air_temperature", "wind"], period="year", features=["tg_mean"]),
        http.station_features(44, ["air_temperature", "wind"], period="year", features=["tg_mean"]),
    )
    assert (len(years), list(years.columns[-2:])) == (0, ["tg_mean", "period"])
    for client in (local, http):
        with pytest.raises(QueryError, match=r"period: invalid period 'decade'"):
            client.station_features(44, ["wind"], period="decade")
        with pytest.raises(
            QueryError,
            match=r"no published quarter normals of air_temperature over 1991\.\.2020; run "
            r"`weatherinsight normals --product air_temperature --period quarter --base 1991\.\.2020`",
        ):
            client.station_features(44, ["air_temperature", "wind"], anomalies=True)
