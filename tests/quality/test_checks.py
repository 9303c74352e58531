"""The five data-quality checks on curated quarters planted through the warehouse layer."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.fixtures.core import make_settings
from tests.quality.planting import ALL_PRODUCTS, plant
from weatherinsight import pipeline
from weatherinsight.errors import UnknownProductError
from weatherinsight.features.catalog import critical_features
from weatherinsight.quality.checks import QualityReport, run_checks
from weatherinsight.quarters import Quarter
from weatherinsight.settings import Settings
from weatherinsight.warehouse import db, tables


def _failed(report: QualityReport) -> list[tuple[str, str, str | None, float | None]]:
    return sorted((f.check, f.product, f.column, f.measured) for f in report.findings if not f.passed)


def _stored(settings: Settings, run_id: str) -> list[dict[str, object]]:
    t = tables.quality_check_results
    with db.get_engine(settings.database_url).connect() as conn:
        return [
            dict(r._mapping) for r in conn.execute(select(t).where(t.c.run_id == run_id).order_by(t.c.id))
        ]


def _with_thresholds(settings: Settings, **thresholds: float) -> Settings:
    return make_settings(
        settings.data_dir,
        database_url=settings.database_url,
        raw_store_url=settings.raw_store_url,
        quality_thresholds=thresholds,
    )


def test_clean_quarter_passes_and_every_result_is_stored(db_settings: Settings) -> None:
    plant(db_settings, "2024Q1")
    report = run_checks(db_settings, Quarter.parse("2024Q1"))
    assert report.passed and report.fatal == [] and report.warnings == []
    # per product: row_count, station_count, version_availability, continuity + one null check per
    # critical column (3 for air temperature, 1 for the next four, every primary-variable feature of sun (6)
    # and cloudiness (4), which mark none critical in the catalog)
    assert [len(critical_features(p)) for p in ALL_PRODUCTS] == [3, 1, 1, 1, 1, 6, 4]
    assert len(report.findings) == 4 * len(ALL_PRODUCTS) + 17
    stored = _stored(db_settings, report.run_id)
    assert len(stored) == 45
    rows = {(r["check_name"], r["product"], r["column_name"]): r for r in stored}
    tg = rows[("null_percentage", "air_temperature", "tg_mean")]
    assert (tg["table_name"], tg["measured_value"], tg["threshold"], tg["passed"]) == (
        "quarterly_temperature_features",
        0.0,
        15.0,
        True,
    )
    wind = rows[("station_count", "wind", "station_id")]
    assert (wind["measured_value"], wind["threshold"], wind["severity"]) == (110.0, 50.0, "fatal")
    assert {(r["year"], r["quarter"]) for r in stored} == {(2024, 1)}


@pytest.mark.parametrize("stations", [99, 100])
def test_row_count_is_fatal_below_the_threshold(settings: Settings, stations: int) -> None:
    plant(settings, "2024Q1", products=["wind"], stations=stations)
    report = run_checks(settings, Quarter.parse("2024Q1"), products=["wind"])
    if stations == 99:
        assert _failed(report) == [("row_count", "wind", None, 99.0)]
        (finding,) = report.fatal
        assert finding.table == "quarterly_wind_features" and finding.quarter == "2024Q1"
        assert "99 rows in 2024Q1_v1" in finding.message
        assert not report.passed
    else:
        assert report.passed and _failed(report) == []


def test_null_percentage_is_fatal_above_the_threshold(db_settings: Settings) -> None:
    # 20 of 110 rows NULL = 18.182 % > 15 % (fatal); 16 of 110 = 14.545 % passes.
    plant(db_settings, "2024Q1", products=["air_temperature"], nulls={"tg_mean": 20, "tx_mean": 16})
    report = run_checks(db_settings, Quarter.parse("2024Q1"), products=["air_temperature"])
    assert _failed(report) == [("null_percentage", "air_temperature", "tg_mean", 18.182)]
    tx = next(f for f in report.findings if f.column == "tx_mean")
    assert (tx.passed, tx.measured) == (True, 14.545)
    stored = [r for r in _stored(db_settings, report.run_id) if not r["passed"]]
    assert [(r["check_name"], r["column_name"], r["measured_value"], r["severity"]) for r in stored] == [
        ("null_percentage", "tg_mean", 18.182, "fatal")
    ]


def test_station_count_is_fatal_below_the_configured_threshold(settings: Settings) -> None:
    # Thresholds come from settings (the YAML unless overridden): with min_rows_per_quarter 10 only the station check fires on 40 stations.
    s = _with_thresholds(settings, min_rows_per_quarter=10, min_stations_per_quarter=41)
    plant(s, "2024Q1", products=["pressure"], stations=40)
    report = run_checks(s, Quarter.parse("2024Q1"), products=["pressure"])
    assert _failed(report) == [("station_count", "pressure", "station_id", 40.0)]
    assert report.fatal[0].threshold == 41.0


def test_missing_quarter_is_a_continuity_warning_not_a_failure(settings: Settings) -> None:
    plant(settings, "2023Q3")
    plant(settings, "2024Q1")  # 2023Q4 missing
    report = run_checks(settings, Quarter.parse("2024Q1"))
    assert report.passed
    assert _failed(report) == [("continuity", p, "quarter", 1.0) for p in sorted(ALL_PRODUCTS)]
    assert all("2023Q4" in f.message and f.severity == "warning" for f in report.warnings)
    stored = [r for r in _stored(settings, report.run_id) if not r["passed"]]
    assert {r["severity"] for r in stored} == {"warning"} and len(stored) == len(ALL_PRODUCTS)


def test_version_not_available_is_a_warning(settings: Settings) -> None:
    plant(settings, "2024Q1", products=["precipitation"], fail_kind="staged")
    report = run_checks(settings, Quarter.parse("2024Q1"), products=["precipitation"])
    assert report.passed
    assert _failed(report) == [("version_availability", "precipitation", "status", 1.0)]
    assert report.warnings[0].message == "2024Q1_staged_v2-failed1 is FAILED"


def test_empty_quarter_fails_row_and_station_checks(settings: Settings) -> None:
    report = run_checks(settings, Quarter.parse("2022Q2"), products=["wind"])
    assert _failed(report) == [
        ("row_count", "wind", None, 0.0),
        ("station_count", "wind", "station_id", 0.0),
        ("version_availability", "wind", "status", 3.0),
    ]


def test_unknown_product_is_a_typed_error(settings: Settings) -> None:
    with pytest.raises(UnknownProductError):
        run_checks(settings, Quarter.parse("2024Q1"), products=["sunshine"])


def test_fatal_findings_send_the_alert_email(settings: Settings, smtp_server: object) -> None:
    from tests.fixtures.smtp import SmtpSink

    assert isinstance(smtp_server, SmtpSink)
    s = settings.model_copy(update={"smtp_host": smtp_server.host, "smtp_port": smtp_server.port})
    plant(s, "2024Q1", products=ALL_PRODUCTS)
    plant(s, "2024Q2", products=["moisture"], nulls={"rh_mean": 30})
    ok = pipeline.quality_check(s, Quarter.parse("2024Q1"))
    assert ok.passed and smtp_server.messages == []  # clean data sends nothing
    report = pipeline.quality_check(s, Quarter.parse("2024Q2"), products=["moisture"])
    assert not report.passed
    (msg,) = smtp_server.messages
    assert msg["Subject"] == "[WeatherInsight] FATAL data-quality findings for 2024Q2"
    assert msg["To"] == "data-team@weatherinsight.example"
    body = smtp_server.bodies()[0]
    assert (
        "null_percentage 2024Q2 moisture quarterly_moisture_features.rh_mean: 27.273% of 110 rows NULL"
        in body
    )
    assert report.run_id in body
