"""The explorer's period selector: a station page shows the months of a product, and the quarter view is unchanged
(headless chromium on a real server; the API tests' seeded database plus two published months of station 44)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.explorer.conftest import (  # noqa: F401 - browser is a fixture
    Watched,
    browser,
    open_page,
    seeded_server,
    watching,
)
from tests.warehouse.curated_rows import curated_row
from weatherinsight.periods import Period
from weatherinsight.settings import Settings
from weatherinsight.warehouse import db, lineage
from weatherinsight.warehouse.tables import curated_table

pytestmark = pytest.mark.browser
P = "air_temperature"
MONTHS = {"2024-01": 1.5, "2024-02": -3.5}  # exact at the served precision (0.1 °C)


def _plant(settings: Settings) -> None:
    """The two months of station 44 (``MONTHS``), each a published curated version."""
    with db.get_engine(settings.database_url).begin() as conn:
        for label, tg in MONTHS.items():
            period = Period.parse(label)
            v = lineage.begin_version(conn, settings, "curated", P, period, fingerprint=label)
            row = curated_row(P, 44, period.quarters[0], v.version_name)  # then made the month's row
            row.update(year=period.year, quarter=period.number, period_kind="month", tg_mean=tg)
            db.bulk_insert(conn, curated_table(P), [row])
            lineage.publish_version(conn, v, row_count=1)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with seeded_server(tmp_path_factory.mktemp("explorer_periods"), _plant) as base:
        yield base


@pytest.fixture
def desktop(browser, server: str) -> Iterator[Watched]:  # type: ignore[no-untyped-def]  # noqa: F811
    with watching(browser, server) as watched:
        yield watched


def test_station_page_period_selector(desktop: Watched) -> None:
    page = open_page(desktop, "/station/44", "station")
    chart = page.locator("[data-chart='air_temperature.tg_mean']")
    assert chart.locator("circle[data-quarter]").count() == 2  # quarters only: 2023Q4, 2024Q1
    page.select_option("[data-period-select]", "month")
    page.wait_for_function("location.hash === '#/station/44/month'")
    page.wait_for_selector("section[data-period='month']", state="attached", timeout=15_000)
    page.wait_for_selector("body[data-rendered='station']", state="attached", timeout=15_000)
    chart = page.locator("[data-chart='air_temperature.tg_mean']")
    got = {
        c.get_attribute("data-quarter"): float(c.get_attribute("data-value") or "nan")
        for c in chart.locator("circle[data-quarter]").all()
    }
    assert got == MONTHS
    assert (
        "2 months (2024-01–2024-02) published" in page.locator("[data-product=air_temperature]").inner_text()
    )
    assert "No published wind months" in page.locator("[data-product=wind]").inner_text()
    assert desktop.console_errors == [] and desktop.foreign_requests == []
