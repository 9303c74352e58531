"""The explorer in headless chromium against a uvicorn server on the API tests' seeded data: every page draws
the published numbers, stays on 127.0.0.1 and logs no console error; screenshots land in artifacts/explorer."""

from __future__ import annotations

import csv
import io

import pytest

from tests.api.conftest import Q1_24, Q4_23, STATIONS, expected_row, served
from tests.explorer.conftest import Watched, open_page, screenshot

pytestmark = pytest.mark.browser

ATTRIBUTION = ("Source: Deutscher Wetterdienst", "CC BY 4.0")


def _attribution_shown(w: Watched) -> None:
    footer = w.page.locator("footer").inner_text()
    assert all(part in footer for part in ATTRIBUTION), footer


def test_map_has_one_point_per_station_coloured_by_the_latest_quarter(desktop: Watched) -> None:
    page = open_page(desktop, "/map", "map")
    points = page.locator("circle[data-station-id]")
    listed = page.request.get(f"{desktop.base}/v1/stations").json()["count"]
    assert points.count() == listed == len(STATIONS) == 5
    # Default: air_temperature tg_mean of the newest published quarter (2024Q1, version 2).
    assert page.locator("select[name=quarter]").input_value() == "2024Q1"
    for sid in (44, 73, 433, 3987):
        value = float(page.locator(f"circle[data-station-id='{sid}']").get_attribute("data-value"))
        assert value == served(expected_row("air_temperature", sid, Q1_24, "2024Q1_v2", 2))["tg_mean"]
    # 73 has coverage 0.5 < 0.8: hollow; 1001 closed in 2023 has no 2024Q1 row: grey without value.
    assert "low" in page.locator("circle[data-station-id='73']").get_attribute("class")
    assert "low" not in page.locator("circle[data-station-id='44']").get_attribute("class")
    assert "nodata" in page.locator("circle[data-station-id='1001']").get_attribute("class")
    page.hover("circle[data-station-id='73']")
    tip = page.locator(".tooltip").inner_text()
    assert "Aldersbach-Kriestorf (73)" in tip and "340 m" in tip
    assert "coverage 50.0 % (below threshold)" in tip and "QN 3–10" in tip
    assert "°C" in page.locator(".legend").inner_text()
    screenshot(desktop, "map")
    _attribution_shown(desktop)
    desktop.clean()


@pytest.mark.parametrize(
    ("control", "value", "expected"),
    [("state", "Bayern", {73}), ("product", "wind", {44, 433}), ("name", "pots", {3987})],
)
def test_map_filters(desktop: Watched, control: str, value: str, expected: set[int]) -> None:
    page = open_page(desktop, "/map", "map")
    if control == "name":
        page.fill("input[name=name]", value)
        page.press("input[name=name]", "Enter")
    else:
        page.select_option(f"select[name={control}]", value)
    page.wait_for_function(f"document.querySelectorAll('circle[data-station-id]').length === {len(expected)}")
    ids = {
        int(i)
        for i in page.locator("circle[data-station-id]").evaluate_all(
            "els => els.map(e => e.dataset.stationId)"
        )
    }
    assert ids == expected
    desktop.clean()


def test_clicking_a_station_shows_its_published_values(desktop: Watched) -> None:
    page = open_page(desktop, "/map", "map")
    page.click("circle[data-station-id='44']")
    page.wait_for_selector("body[data-rendered='station']", state="attached")
    assert page.locator("h1").inner_text() == "Großenkneten (44)"
    chart = page.locator("[data-chart='air_temperature.tg_mean']")
    published = {
        "2023Q4": served(expected_row("air_temperature", 44, Q4_23, "2023Q4_v1", 0)),
        "2024Q1": served(expected_row("air_temperature", 44, Q1_24, "2024Q1_v2", 2)),
    }
    for label, row in published.items():
        point = chart.locator(f"circle[data-quarter='{label}']")
        assert float(point.get_attribute("data-value")) == row["tg_mean"]
        assert point.locator("title").text_content().startswith(f"{label}: {row['tg_mean']} °C")
    assert chart.locator("circle[data-quarter]").count() == 2
    # Location history: two rows, the second a move of 0.62 km and 1 m.
    moves = page.locator("[data-table=locations] tbody tr")
    assert moves.count() == 2 and "moved 0.62 km, 1 m" in moves.nth(1).inner_text()
    lineage = page.locator("[data-lineage=air_temperature]").inner_text()
    assert "curated 2023Q4_v1" in lineage and "curated 2024Q1_v2" in lineage and "2024Q1_staged_v1" in lineage
    # No precipitation published for 44: said so, no chart.
    assert "No published precipitation" in page.locator("[data-product=precipitation]").inner_text()
    # The CSV download holds exactly the rows the chart draws.
    href = page.locator("[data-product=air_temperature] a", has_text="CSV").get_attribute("href")
    text = page.request.get(desktop.base + href).text()
    # The attribution travels as a '#' comment line (before or after the header, see #15): not a row.
    rows = list(csv.DictReader(io.StringIO("\n".join(x for x in text.splitlines() if not x.startswith("#")))))
    assert {f"{r['year']}Q{r['quarter']}": float(r["tg_mean"]) for r in rows} == {
        label: row["tg_mean"] for label, row in published.items()
    }
    screenshot(desktop, "station")
    _attribution_shown(desktop)
    desktop.clean()


def test_quarter_page_distribution_table_and_quality(desktop: Watched) -> None:
    page = open_page(desktop, "/quarter/air_temperature/2024/1", "quarter")
    assert page.locator("[data-histogram=tg_mean]").get_attribute("data-n") == "4"
    rows = page.locator("[data-table=quarter] tbody tr")
    assert rows.count() == 4
    expected = {
        sid: served(expected_row("air_temperature", sid, Q1_24, "2024Q1_v2", 2))["tg_mean"]
        for sid in (44, 73, 433, 3987)
    }
    page.click("button[data-sort=tg_mean]")
    page.click("button[data-sort=tg_mean]")
    order = [int(i) for i in rows.evaluate_all("els => els.map(e => e.dataset.stationId)")]
    assert order == sorted(expected, key=lambda s: -expected[s])
    # The latest quality run (run-b) of 2024Q1: three checks with their severities and results.
    quality = page.locator("[data-quality=run-b]")
    assert "1 of 3 checks passed; 1 fatal and 1 warning checks failed" in quality.inner_text()
    assert quality.locator("tr[data-check=station_coverage] .badge").all_inner_texts() == ["fatal", "FAILED"]
    assert quality.locator("tr[data-check=row_count] .badge").all_inner_texts() == ["fatal", "passed"]
    screenshot(desktop, "quarter")
    _attribution_shown(desktop)
    desktop.clean()


def test_datasets_page_lists_versions_newest_first(desktop: Watched) -> None:
    page = open_page(desktop, "/datasets", "datasets")
    rows = page.locator("[data-table=datasets] tbody tr")
    listed = page.request.get(f"{desktop.base}/v1/datasets").json()["data"]
    assert rows.count() == len(listed) == 5
    newest_first = sorted(listed, key=lambda d: -d["id"])
    assert [rows.nth(i).get_attribute("data-version") for i in range(5)] == [
        d["version_name"] for d in newest_first
    ]
    statuses = [rows.nth(i).locator(".badge").inner_text() for i in range(5)]
    assert statuses == [d["status"] for d in newest_first]
    assert sorted(statuses) == ["AVAILABLE", "AVAILABLE", "AVAILABLE", "PENDING", "SUPERSEDED"]
    screenshot(desktop, "datasets")
    _attribution_shown(desktop)
    desktop.clean()


def test_keyboard_reaches_a_station(desktop: Watched) -> None:
    page = open_page(desktop, "/map", "map")
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement?.dataset?.stationId") is not None:
            break
    sid = page.evaluate("document.activeElement.dataset.stationId")
    assert sid is not None
    page.keyboard.press("Enter")
    page.wait_for_selector("body[data-rendered='station']", state="attached")
    assert page.locator("h1").inner_text().endswith(f"({sid})")
    desktop.clean()


@pytest.mark.parametrize(
    ("fragment", "name"),
    [("/map", "map"), ("/station/44", "station"), ("/quarter/air_temperature/2024/1", "quarter")],
)
def test_phone_width_has_no_sideways_page(phone: Watched, fragment: str, name: str) -> None:
    page = open_page(phone, fragment, name)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    if name == "map":
        assert page.locator("circle[data-station-id]").count() == 5
        screenshot(phone, "map-phone")
    _attribution_shown(phone)
    phone.clean()


def test_station_charts_show_gaps_and_low_coverage(desktop: Watched) -> None:
    # 1001 closed at the end of 2023: 2023Q4 drawn, 2024Q1 (published for others) a grey gap band.
    page = open_page(desktop, "/station/1001", "station")
    chart = page.locator("[data-chart='air_temperature.tg_mean']")
    assert [c.get_attribute("data-quarter") for c in chart.locator("circle[data-quarter]").all()] == [
        "2023Q4"
    ]
    assert chart.locator("rect.gap-band").count() == 1 and chart.locator("rect.low-band").count() == 0
    # 73 in 2024Q1_v2 has coverage 0.5 < 0.8: an orange band and a hollow point, value still shown exactly.
    page = open_page(desktop, "/station/73", "station")
    chart = page.locator("[data-chart='air_temperature.tg_mean']")
    low = chart.locator("circle.pt.low")
    assert low.count() == 1 and low.get_attribute("data-quarter") == "2024Q1"
    assert (
        float(low.get_attribute("data-value"))
        == served(expected_row("air_temperature", 73, Q1_24, "2024Q1_v2", 2))["tg_mean"]
    )
    assert chart.locator("rect.low-band").count() == 1 and chart.locator("rect.gap-band").count() == 0
    assert "1 below 80.0 % coverage" in page.locator("[data-product=air_temperature]").inner_text()
    desktop.clean()
