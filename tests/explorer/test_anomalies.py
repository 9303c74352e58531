"""The station page shows the latest value beside its anomaly against the published 1991–2020 normal."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser

from tests.explorer.conftest import Watched, open_page, screenshot, seeded_server, watching
from tests.normals.planting import plant_periods
from weatherinsight.normals import compute_normals
from weatherinsight.periods import Period
from weatherinsight.settings import Settings

pytestmark = pytest.mark.browser


def _value(station: int, p: Period, feature: str) -> float | int | None:
    return float(p.year - 1990) if feature == "tg_mean" else 2  # tg_mean 1..30 in the base, 31 in 2021


def _plant(settings: Settings) -> None:
    """January tg_mean of station 44 for 1991..2021 and its 1991–2020 normals."""
    plant_periods(
        settings, "air_temperature", [Period("month", y, 1) for y in range(1991, 2022)], [44], _value
    )
    compute_normals(settings, "air_temperature", period_kind="month", base=(1991, 2020))


@pytest.fixture(scope="module")
def normals_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with seeded_server(tmp_path_factory.mktemp("explorer_normals"), _plant) as base:
        yield base


@pytest.fixture
def page_on_normals(browser: Browser, normals_server: str) -> Iterator[Watched]:
    with watching(browser, normals_server) as watched:
        yield watched


def test_station_page_shows_the_anomaly_next_to_the_value(page_on_normals: Watched) -> None:
    page = open_page(page_on_normals, "/station/44/month", "station")
    table = page.locator("[data-table=anomalies][data-product=air_temperature]")
    assert table.locator("caption").inner_text() == "2021-01 against the 1991-2020 normal"
    row = table.locator("tr[data-feature=tg_mean]")
    # the normal is the mean of 1..30 = 15.5; January 2021 is 31.0 → +15.5 over 30 years
    assert [c.inner_text() for c in row.locator("td").all()] == ["tg_mean", "31 °C", "+15.5", "", "30"]
    # the quarter view has no quarterly normals published: said so, no table
    page = open_page(page_on_normals, "/station/44", "station")
    note = page.locator("[data-anomalies=air_temperature]").inner_text()
    assert note == "No published 1991-2020 quarter normals of air_temperature: no anomalies."
    screenshot(page_on_normals, "station_anomalies")
    page_on_normals.clean()
