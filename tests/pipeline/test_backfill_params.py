"""The backfill DAG's typed params: defaults from the YAML, and bad params failing at once, named."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.core import make_settings
from weatherinsight import pipeline
from weatherinsight.dwd.products import PRODUCTS
from weatherinsight.errors import ConfigError
from weatherinsight.pipeline import airflow_backfill_tasks
from weatherinsight.pipeline.catchup import catchup_window
from weatherinsight.quarters import Quarter
from weatherinsight.settings import Settings

ALL = tuple(PRODUCTS)  # every registered product: the default product_types


def test_defaults_come_from_the_yaml_and_the_calendar(settings: Settings) -> None:
    # default_end_year is not set in the YAML: the window ends with the last complete quarter.
    last = Quarter.last_complete()
    p = pipeline.BackfillParams.from_params({}, settings)
    assert (p.start_year, p.end_year, p.quarters, p.products, p.force_reprocess) == (
        2020,
        last.year,
        (1, 2, 3, 4),
        ALL,
        False,
    )
    plan = p.plan()
    assert plan[0] == Quarter(2020, 1) and plan[-1] == last
    assert len(plan) == (last.year - 2020) * 4 + last.quarter


def test_catchup_window_follows_the_calendar_or_the_yaml(data_dir: Path) -> None:
    last = Quarter.last_complete()
    assert catchup_window(make_settings(data_dir)) == (2020, last.year)
    # Raising the start alone keeps a valid window (the defect 6: it used to break the DAG files).
    assert catchup_window(make_settings(data_dir, backfill={"default_start_year": last.year})) == (
        last.year,
        last.year,
    )
    explicit = make_settings(data_dir, backfill={"default_start_year": 2021, "default_end_year": 2022})
    assert catchup_window(explicit) == (2021, 2022)
    # The calendar is an argument: on 2025-02-10 the last complete quarter is 2024Q4.
    assert catchup_window(make_settings(data_dir), today=date(2025, 2, 10)) == (2020, 2024)


def test_a_start_after_the_calendar_end_is_a_config_error(data_dir: Path) -> None:
    future = Quarter.last_complete().year + 1
    with pytest.raises(ConfigError) as info:
        catchup_window(make_settings(data_dir, backfill={"default_start_year": future}))
    assert info.value.key == "backfill.default_start_year"
    assert f"{future} is after the end of the catch-up window {future - 1}" in str(info.value)
    assert "(the year of the last complete quarter)" in str(info.value)


def test_a_start_after_an_explicit_end_is_rejected_by_settings(data_dir: Path) -> None:
    with pytest.raises(ConfigError) as info:
        make_settings(data_dir, backfill={"default_start_year": 2023, "default_end_year": 2022})
    assert "default_end_year is before default_start_year" in str(info.value)


def test_explicit_params_and_string_forms(settings: Settings) -> None:
    p = pipeline.BackfillParams.from_params(
        {"start_year": 2021, "end_year": 2022, "quarters": "Q4, 1", "products": "wind,pressure,wind"},
        settings,
    )
    assert p.quarters == (1, 4) and p.products == ("wind", "pressure")
    assert [str(q) for q in p.plan()] == ["2021Q1", "2021Q4", "2022Q1", "2022Q4"]
    tasks = airflow_backfill_tasks.backfill_plan_task(
        {"start_year": 2021, "end_year": 2021, "quarters": [2], "products": ["wind", "pressure"]}
    )
    assert tasks == [{"quarter": "2021Q2", "product": "wind"}, {"quarter": "2021Q2", "product": "pressure"}]


def test_quarters_that_have_not_ended_are_left_out(settings: Settings) -> None:
    last = Quarter.last_complete()
    p = pipeline.BackfillParams.from_params({"start_year": last.year, "end_year": last.year + 1}, settings)
    assert p.plan()[-1] == last


@pytest.mark.parametrize(
    ("params", "key", "fragment"),
    [
        ({"quarters": [1, 5]}, "quarters", "subset of 1, 2, 3, 4"),
        ({"quarters": []}, "quarters", "subset of 1, 2, 3, 4"),
        ({"start_year": 2024, "end_year": 2020}, "params", "end_year 2020 is before start_year 2024"),
        ({"products": ["wind", "sunshine"]}, "products", "unknown product(s) ['sunshine']"),
        ({"start_year": "twenty"}, "start_year", "valid integer"),
        ({"force_reprocess": "maybe"}, "force_reprocess", "valid boolean"),
        ({"start_yaer": 2020}, "start_yaer", "unknown parameter"),
        ({"periods": ["month", "week"]}, "periods.1", "'month', 'season', 'year' or 'quarter'"),
    ],
)
def test_bad_params_fail_with_the_parameter_named(
    settings: Settings, params: dict[str, Any], key: str, fragment: str
) -> None:
    with pytest.raises(ConfigError) as info:
        pipeline.BackfillParams.from_params(params, settings)
    assert info.value.key == key
    assert fragment in str(info.value)
    assert info.value.source == "backfill params"


def test_a_range_entirely_in_the_future_is_rejected(settings: Settings) -> None:
    year = (Quarter.last_complete().end + timedelta(days=400)).year
    with pytest.raises(ConfigError, match="no quarter of the range has ended yet"):
        pipeline.BackfillParams.from_params({"start_year": year, "end_year": year}, settings)


def test_the_backfill_dag_runs_max_parallel_quarters_worth_of_pairs_per_step(data_dir: Path) -> None:
    # max_active_tis_per_dagrun of each mapped step of weatherinsight_backfill (test_dag_integrity: wired).
    assert airflow_backfill_tasks.backfill_pairs_at_once(make_settings(data_dir)) == len(
        PRODUCTS
    )  # 1 quarter × every product
    two = make_settings(data_dir, backfill={"max_parallel_quarters": 2}, product_types=["wind", "pressure"])
    assert airflow_backfill_tasks.backfill_pairs_at_once(two) == 4


def test_periods_default_to_the_configuration(settings: Settings) -> None:
    assert pipeline.BackfillParams.from_params({}, settings).periods == ("month", "season", "year")
    assert pipeline.BackfillParams.from_params({"periods": "Year,month"}, settings).periods == (
        "year",
        "month",
    )
    assert pipeline.BackfillParams.from_params({"periods": []}, settings).periods == ()
