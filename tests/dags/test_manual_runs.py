"""Manual runs of the quarterly DAG: which quarter ``resolve_quarter`` picks, and a bad param failing at once.

``resolve_quarter`` is called as Airflow calls it (context entries by name); the bad-param run is a real
``dag.test()`` of the DAG: the run fails at ``resolve_quarter`` on its first try and no data task runs.
"""

from __future__ import annotations

from typing import Any

import pendulum
import pytest

from tests.dags.test_dag_runs import _states
from weatherinsight.pipeline import airflow_tasks
from weatherinsight.quarters import Quarter

pytestmark = [pytest.mark.airflow, pytest.mark.slow, pytest.mark.xdist_group("airflow")]

QUARTERLY = "weatherinsight_quarterly_pipeline"


class _Run:
    def __init__(self, run_after: Any) -> None:
        self.run_after = run_after


def test_resolve_quarter_param_interval_or_trigger_time() -> None:
    resolve = airflow_tasks.resolve_quarter_task
    at = pendulum.datetime(2025, 2, 3, 10, tz="UTC")
    # Manual run without logical date (no data interval): the last quarter complete at run_after.
    assert resolve(params={"quarter": None}, dag_run=_Run(at)) == "2024Q4"
    # Scheduled run / manual run with a logical date: the quarter its data interval starts in.
    assert resolve(params={}, data_interval_start=pendulum.datetime(2024, 4, 1, tz="UTC")) == "2024Q2"
    # The param wins over both.
    assert resolve(params={"quarter": " 2021Q3 "}, dag_run=_Run(at), data_interval_start=at) == "2021Q3"


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("2024Q5", "invalid quarter '2024Q5': quarter must be 1..4"),
        ("24Q1", "invalid quarter '24Q1': expected YYYYQn"),
        ("2024-Q1", "expected YYYYQn"),
    ],
)
def test_a_bad_quarter_param_fails_without_retry(value: str, fragment: str) -> None:
    from airflow.sdk.exceptions import AirflowFailException

    with pytest.raises(AirflowFailException) as info:
        airflow_tasks.resolve_quarter_task(params={"quarter": value}, dag_run=_Run(pendulum.now("UTC")))
    assert str(info.value).startswith("param quarter: ")
    assert fragment in str(info.value)


def test_a_quarter_that_has_not_ended_fails_without_retry() -> None:
    from airflow.sdk.exceptions import AirflowFailException

    current = Quarter.last_complete().next()
    with pytest.raises(AirflowFailException, match=f"{current} has not ended yet"):
        airflow_tasks.resolve_quarter_task(params={"quarter": str(current)})


def test_a_run_with_a_bad_param_fails_at_resolve_quarter_and_runs_nothing(
    airflow_db: dict[str, str], dagbag: Any
) -> None:
    dag = dagbag.dags[QUARTERLY]
    run = dag.test(logical_date=pendulum.datetime(2031, 5, 1, tz="UTC"), run_conf={"quarter": "2024Q5"})
    assert run.state == "failed"
    states = _states(run)
    assert states[("resolve_quarter", -1)] == "failed"
    (ti,) = [t for t in run.get_task_instances() if t.task_id == "resolve_quarter"]
    assert ti.try_number == 1  # retries=0 and AirflowFailException: no second try
    assert {s for (tid, _), s in states.items() if tid != "resolve_quarter"} == {"upstream_failed"}
