"""DAG ``weatherinsight_quarterly_pipeline``: ingest → process → aggregate the quarter that just ended.

Declarations only: every task calls one function of ``weatherinsight.pipeline.airflow_tasks``; products,
retries, timeouts, pools and alerting come from ``src/weatherinsight/config/weatherinsight.yaml`` via ``weatherinsight.settings``.
"""

from __future__ import annotations

import pendulum
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG, CronDataIntervalTimetable, Param, TaskGroup

from weatherinsight.pipeline import airflow_tasks as tasks
from weatherinsight.pipeline.catchup import catchup_start
from weatherinsight.settings import load_settings
from weatherinsight.vocabulary import DATA_STAGES, Stage

settings = load_settings()
start = catchup_start(settings)  # a start after the end of the window fails the import naming the key
tasks.warn_missing_pools(settings)  # the DAGs' pools, checked once per parse of this file

#: The run's quarter, decided once by ``resolve_quarter`` (param, data interval or trigger time).
QUARTER = "{{ ti.xcom_pull(task_ids='resolve_quarter') }}"

DOC = f"""
# WeatherInsight quarterly pipeline

Runs at 00:00 UTC on the first day of January, April, July and October and processes **the quarter that
just ended** (the data interval). A manual run without a logical date processes the last complete quarter;
trigger with `{{"quarter": "2024Q1"}}` for any other (`resolve_quarter` fails the run at once, without
retries, on a malformed or unfinished quarter). Each run: ingest the DWD hourly files of every product
({", ".join(settings.product_types)}), stage them to Parquet, aggregate the quarterly features and publish them
as dataset version `<quarter>_v<N>` (raw `<quarter>_raw_vN`, staged `<quarter>_staged_vN`).

## Triage
* **ingest_* failed**: the DWD server (or mirror) is down or rate-limiting; the task retries
  {tasks.stage_retries(settings, Stage.INGEST)}× every {settings.retry_delay_minutes} min. Files already fetched
  are kept; a re-run only fetches what changed. If too many files were bad, see `raw_files.quarantine_reason` and `ingestion_runs`.
* **process_* failed**: a raw file is malformed (quarantined under `<data_dir>/quarantine`, recorded in
  `raw_files`); more than the configured share failed. Inspect the quarantined files, then clear the task.
* **aggregate_* failed**: the previous AVAILABLE version stays published (readers never see a partial quarter);
  the new version is marked FAILED in `dataset_versions` with the error.
* **pipeline_complete failed**: a product has no AVAILABLE curated version with rows for the quarter.
  When it succeeds it emits the asset `weatherinsight://curated/quarterly` (extra `{{"quarter": "<quarter>"}}`),
  which triggers `weatherinsight_data_quality` for that quarter.
* Re-running any task is safe: unchanged inputs are no-ops, changed inputs write the next `_vN`.
* Without Airflow: `weatherinsight run <quarter>` runs the same steps.
"""

with DAG(
    dag_id="weatherinsight_quarterly_pipeline",
    description="Ingest, stage and aggregate the DWD quarter that just ended",
    schedule=CronDataIntervalTimetable("0 0 1 1,4,7,10 *", timezone="UTC"),
    start_date=pendulum.datetime(start.year, start.month, start.day, tz="UTC"),
    catchup=True,
    max_active_runs=1,  # catch-up runs go one quarter at a time, oldest first
    # No depends_on_past: a failed manual run (bad param) must not block the scheduled quarters after it.
    default_args={"owner": "weatherinsight"},
    params={
        "quarter": Param(None, type=["null", "string"], description="quarter to process, e.g. 2024Q1"),
    },
    dagrun_timeout=pendulum.duration(hours=settings.sla.pipeline_hours),
    doc_md=DOC,
    tags=["weatherinsight", "quarterly"],
) as dag:
    resolve = PythonOperator(
        task_id="resolve_quarter",
        python_callable=tasks.resolve_quarter_task,
        retries=0,  # a bad quarter does not get better on retry
        on_failure_callback=tasks.failure_callback(settings),
    )
    # Task ids carry no group prefix: ingest_air_temperature … aggregate_moisture, as the seed names them.
    steps: dict[tuple[Stage, str], PythonOperator] = {}
    # The daily KL values (issue #17) the products' day-based indices read: ingested and processed like a
    # product, never aggregated on their own; the products that read them aggregate after them.
    daily_inputs = tasks.daily_inputs(settings.product_types)
    for stage in DATA_STAGES:
        with TaskGroup(group_id=tasks.group_id(stage), prefix_group_id=False):
            own = [] if stage == Stage.AGGREGATE else daily_inputs
            for product in [*settings.product_types, *own]:
                steps[(stage, product)] = PythonOperator(
                    task_id=tasks.task_names(product)[stage],
                    python_callable=tasks.STAGE_TASKS[stage],
                    op_kwargs={"product": product, "quarter": QUARTER},
                    **tasks.task_defaults(stage, settings),
                )

    complete = PythonOperator(
        task_id="pipeline_complete",
        python_callable=tasks.complete_and_announce,
        op_kwargs={"quarter": QUARTER, "products": list(settings.product_types)},
        outlets=[tasks.curated_quarterly()],
        **tasks.task_defaults(Stage.QUALITY, settings),
    )

    # Per product: ingest_p → process_p → aggregate_p → pipeline_complete, so one failing or slow product
    # neither blocks nor delays the others; pipeline_complete waits for all of them.
    for product in settings.product_types:
        resolve >> steps[(Stage.INGEST, product)]
        steps[(Stage.INGEST, product)] >> steps[(Stage.STAGE, product)] >> steps[(Stage.AGGREGATE, product)]
        steps[(Stage.AGGREGATE, product)] >> complete
    for daily in daily_inputs:
        resolve >> steps[(Stage.INGEST, daily)] >> steps[(Stage.STAGE, daily)]
        for product in tasks.products_reading(daily, settings.product_types):
            steps[(Stage.STAGE, daily)] >> steps[(Stage.AGGREGATE, product)]
