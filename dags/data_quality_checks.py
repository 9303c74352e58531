"""DAG ``weatherinsight_data_quality``: the five data-quality checks of every newly published quarter.

Declarations only: ``quarters_to_check`` sweeps the database for published quarters not yet checked, and
one mapped ``run_quality_checks`` task per quarter claims and checks it (both in ``weatherinsight.pipeline.airflow_tasks``);
thresholds come from ``quality_thresholds`` in ``src/weatherinsight/config/weatherinsight.yaml``; the database is the Airflow
connection ``weatherinsight_postgres`` (``AIRFLOW_CONN_WEATHERINSIGHT_POSTGRES`` or airflow-init's import),
else ``WEATHERINSIGHT_DATABASE_URL`` — configuration, never a manual UI step.
"""

from __future__ import annotations

import pendulum
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG, AssetOrTimeSchedule, CronDataIntervalTimetable, Param

from weatherinsight.pipeline import airflow_tasks as tasks
from weatherinsight.settings import load_settings
from weatherinsight.vocabulary import Stage

settings = load_settings()
t = settings.quality_thresholds

CRON = "0 6 1 1,4,7,10 *"

DOC = f"""
# WeatherInsight data quality

Every run **sweeps**: it checks each quarter that is published (an AVAILABLE curated version of every
product) and whose current versions no run has checked yet, exactly once per published state (the claim
is a row in `quality_checked_quarters`). Runs start when a quarter is published (asset
`weatherinsight://curated/quarterly`, emitted by the quarterly pipeline's `pipeline_complete` and by the
backfill's `announce_quarters`) and at 06:00 UTC on the first day of each quarter (cron: a backstop that
also picks up quarters published by the CLI). Which events woke a run does not matter, so merged or lost
events, a busy or paused DAG lose nothing, and an unpublished quarter is never checked.
Trigger by hand with `{{"quarter": "2024Q1"}}` to check one published quarter again.
`run_quality_checks` runs once per quarter (map index = the quarter), so one quarter's fatal findings
never stop the checks of another.

| check | severity | threshold |
|---|---|---|
| rows of the quarter's AVAILABLE curated version | fatal | ≥ {t.min_rows_per_quarter} |
| NULL share of the critical feature columns | fatal | ≤ {t.max_null_percentage} % |
| distinct stations | fatal | ≥ {t.min_stations_per_quarter} |
| newest raw/staged/curated version AVAILABLE | warning | — |
| no missing quarter in the time series | warning | — |

The curated database comes from the Airflow connection `weatherinsight_postgres` (defined by the
environment variable `AIRFLOW_CONN_WEATHERINSIGHT_POSTGRES` or by `weatherinsight airflow init`), else from
`WEATHERINSIGHT_DATABASE_URL`.

## Triage
* Every result (passed or not) is stored in `quality_check_results` (`run_id` in the task's log and e-mail,
  and in `quality_checked_quarters`); each names quarter, product, table, column and the measured value.
* **Fatal findings** fail that quarter's `run_quality_checks` (and so the run) and send an alert e-mail
  listing them. Few rows or stations usually mean an incomplete ingestion (see `ingestion_runs`,
  `raw_files`); many NULLs mean stations below the 80 % coverage gate (see the `coverage` column of the
  curated table). A re-published quarter (a new `_vN`) is checked again by the next sweep.
* **Warnings** (a version not AVAILABLE, a gap in the series) do not fail the run: re-run the quarterly
  pipeline or a backfill for the quarter named.
* **quarters_to_check failed**: the `quarter` param is not `YYYYQn` or that quarter is not published; the
  message says which. Trigger again with a published quarter.
* Without Airflow: `weatherinsight check <quarter>`.
"""

with DAG(
    dag_id="weatherinsight_data_quality",
    description="Data-quality checks of the curated quarter",
    schedule=AssetOrTimeSchedule(
        timetable=CronDataIntervalTimetable(CRON, timezone="UTC"), assets=[tasks.curated_quarterly()]
    ),
    start_date=pendulum.datetime(2020, 1, 1, tz="UTC"),
    catchup=False,  # each run sweeps every pending quarter: past cron runs would add nothing
    max_active_runs=1,
    default_args={"owner": "weatherinsight"},
    params={
        "quarter": Param(None, type=["null", "string"], description="quarter to check, e.g. 2024Q1"),
    },
    doc_md=DOC,
    tags=["weatherinsight", "quality"],
) as dag:
    plan = PythonOperator(
        task_id="quarters_to_check",
        python_callable=tasks.quarters_to_check,
        retries=0,  # a bad quarter does not get better on retry
        on_failure_callback=tasks.failure_callback(settings),
    )
    PythonOperator.partial(
        task_id="run_quality_checks",
        python_callable=tasks.quality_check_task,
        map_index_template="{{ task.op_kwargs['quarter'] }}",
        max_active_tis_per_dag=1,  # one quarter at a time: the checks are light, the database is shared
        **tasks.task_defaults(Stage.QUALITY, settings),
    ).expand(op_kwargs=plan.output)
