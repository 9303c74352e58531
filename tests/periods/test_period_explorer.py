"""The explorer's period selector: a station page shows the months of a product, and the quarter view is unchanged
(headless chromium on a real server; the API tests' seeded database plus two published months of station 44)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.api.conftest import ServerThread, _make_settings, seed_database
from tests.explorer.conftest import Watched, _watch, browser, open_page  # noqa: F401 - browser is a fixture
from tests.warehouse.curated_rows import curated_row
from weatherinsight.api.app import create_app
from weatherinsight.periods import Period
from weatherinsight.warehouse import db, lineage
from weatherinsight.warehouse.tables import curated_table

pytestmark = pytest.mark.browser
P = "air_temperature"
MONTHS = {"2024-01": 1.5, "2024-02": -3.5}  # exact at the served precision (0.1 °C)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data_dir = tmp_path_factory.mktemp("explorer_periods")
    url = f"sqlite:///{data_dir / 'weatherinsight.db'}"
    settings = _make_settings(data_dir, url)
    seed_database(url, settings)
    with db.get_engine(url).begin() as conn:
        for label, tg in MONTHS.items():
            period = Period.parse(label)
            v = lineage.begin_version(conn, settings, "curated", P, period, fingerprint=label)
            row = curated_row(P, 44, period.quarters[0], v.version_name)  # then made the month's row
            row.update(year=period.year, quarter=period.number, period_kind="month", tg_mean=tg)
            db.bulk_insert(conn, curated_table(P), [row])
            lineage.publish_version(conn, v, row_count=1)
    app = create_app(settings)
    try:
        with ServerThread(app) as running:
            yield running.url
    finally:
        app.state.api.engine.dispose()
        db.get_engine(url).dispose()


@pytest.fixture
def desktop(browser, server: str) -> Iterator[Watched]:  # type: ignore[no-untyped-def]  # noqa: F811
    watched = _watch(browser, server, 1280, 900)
    yield watched
    watched.page.context.close()


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
