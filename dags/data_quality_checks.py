"""DAG ``weatherinsight_data_quality``: the five data-quality checks of a curated quarter.

Thin by design (house rule 4): one task calls ``weatherinsight.pipeline.quality_check_task``; thresholds
come from ``quality_thresholds`` in ``config/weatherinsight.yaml``; the database is the Airflow connection
``weatherinsight_postgres`` (``AIRFLOW_CONN_WEATHERINSIGHT_POSTGRES`` or airflow-init's import), else
``WEATHERINSIGHT_DATABASE_URL`` — configuration, never a manual UI step.
"""

from __future__ import annotations

import pendulum
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG, CronDataIntervalTimetable, Param

from weatherinsight import pipeline
from weatherinsight.settings import load_settings

settings = load_settings()
cfg = settings.pipeline
t = cfg.quality_thresholds

#: ``params.quarter`` when triggered by hand for a given quarter, else the quarter that just ended.
QUARTER = "{{ params.quarter or quarter_of(data_interval_start) }}"

DOC = f"""
# WeatherInsight data quality

Runs at 06:00 UTC on the first day of each quarter, six hours after the quarterly pipeline, and checks
the quarter that just ended. Trigger by hand with `{{"quarter": "2024Q1"}}` to check any quarter.

| check | severity | threshold |
|---|---|---|
| rows of the quarter's AVAILABLE curated version | fatal | ≥ {t.min_rows_per_quarter} |
| NULL share of the critical feature columns | fatal | ≤ {t.max_null_percentage} % |
| distinct stations | fatal | ≥ {t.min_stations_per_quarter} |
| newest raw/staged/curated version AVAILABLE | warning | — |
| no missing quarter in the time series | warning | — |

The curated database comes from the Airflow connection `weatherinsight_postgres` (defined by the
environment variable `AIRFLOW_CONN_WEATHERINSIGHT_POSTGRES` or by airflow-init), else from
`WEATHERINSIGHT_DATABASE_URL`.

## Triage
* Every result (passed or not) is stored in `quality_check_results` (`run_id` in the task's log and e-mail);
  each names quarter, product, table, column and the measured value.
* **Fatal findings** fail this run and send an alert e-mail listing them. Few rows or stations usually mean
  an incomplete ingestion (see `ingestion_runs`, `raw_files`); many NULLs mean stations below the 80 %
  coverage gate (see the `coverage` column of the curated table).
* **Warnings** (a version not AVAILABLE, a gap in the series) do not fail the run: re-run the quarterly
  pipeline or a backfill for the quarter named.
* Without Airflow: `weatherinsight check <quarter>`.
"""

with DAG(
    dag_id="weatherinsight_data_quality",
    description="Data-quality checks of the curated quarter",
    schedule=CronDataIntervalTimetable("0 6 1 1,4,7,10 *", timezone="UTC"),
    start_date=pendulum.datetime(cfg.backfill.default_start_year, 1, 1, tz="UTC"),
    catchup=True,
    max_active_runs=1,
    default_args={"owner": "weatherinsight", "depends_on_past": False},
    params={
        "quarter": Param(None, type=["null", "string"], description="quarter to check, e.g. 2024Q1"),
    },
    user_defined_macros={"quarter_of": pipeline.quarter_of_interval},
    doc_md=DOC,
    tags=["weatherinsight", "quality"],
) as dag:
    PythonOperator(
        task_id="run_quality_checks",
        python_callable=pipeline.quality_check_task,
        op_kwargs={"quarter": QUARTER},
        **pipeline.task_defaults("quality", settings),
    )
