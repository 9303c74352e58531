"""The backfill DAG's typed params: defaults from the YAML, and bad params failing at once, named."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from weatherinsight import pipeline
from weatherinsight.errors import ConfigError
from weatherinsight.pipeline import airflow_tasks
from weatherinsight.quarters import Quarter
from weatherinsight.settings import Settings

ALL = ("air_temperature", "precipitation", "wind", "pressure", "moisture")


def test_defaults_come_from_the_yaml(settings: Settings) -> None:
    p = pipeline.BackfillParams.from_params({}, settings)
    assert (p.start_year, p.end_year, p.quarters, p.products, p.force_reprocess) == (
        2020,
        2024,
        (1, 2, 3, 4),
        ALL,
        False,
    )
    plan = p.plan()
    assert len(plan) == 20 and plan[0] == Quarter(2020, 1) and plan[-1] == Quarter(2024, 4)


def test_explicit_params_and_string_forms(settings: Settings) -> None:
    p = pipeline.BackfillParams.from_params(
        {"start_year": 2021, "end_year": 2022, "quarters": "Q4, 1", "products": "wind,pressure,wind"},
        settings,
    )
    assert p.quarters == (1, 4) and p.products == ("wind", "pressure")
    assert [str(q) for q in p.plan()] == ["2021Q1", "2021Q4", "2022Q1", "2022Q4"]
    tasks = airflow_tasks.backfill_plan_task(
        {"start_year": 2021, "end_year": 2021, "quarters": [2], "products": None}
    )
    assert tasks == [{"quarter": "2021Q2"}]


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
