"""DAG ``weatherinsight_backfill``: rebuild a range of past quarters, triggered by hand only.

Declarations only: every task calls one function of ``weatherinsight.pipeline.airflow_tasks``. Params are
validated by ``BackfillParams``; each quarter is one mapped task running every product; the summary task
checks the database and fails the run when any quarter × product failed. ``announce_quarters`` emits the
curated-quarter asset once per quarter that was published, so the quality DAG checks backfilled quarters
as it checks scheduled ones.
"""

from __future__ import annotations

import pendulum
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG, Param

from weatherinsight.pipeline import airflow_tasks as tasks
from weatherinsight.settings import load_settings
from weatherinsight.vocabulary import Stage

settings = load_settings()

DOC = f"""
# WeatherInsight backfill

Manual only. Trigger with a config such as
`{{"start_year": 2020, "end_year": 2024, "quarters": [1, 2, 3, 4], "products": ["wind"], "force_reprocess": false}}`;
missing values take the defaults of the pipeline YAML (years {settings.backfill.default_start_year}–
{settings.backfill.default_end_year}, every product). Quarters run oldest first, at most
{settings.backfill.max_parallel_quarters} at once (`backfill.max_parallel_quarters`).

## Triage
* **validate_params failed**: the message names the bad parameter (unknown product, quarter 5, end before start,
  a range that has not ended yet). Fix the config and trigger again.
* **backfill_summary failed**: its log holds a table of every quarter × product with outcome, rows in the
  database and the error. One failure never stops the other quarters/products. Fix the cause and re-trigger
  for the failed quarters only; the ones that succeeded are no-ops (unchanged inputs) unless
  `force_reprocess` is true, which writes the next `_vN` and supersedes the previous version.
* **announce_quarters** emits the asset `weatherinsight://curated/quarterly` once per quarter whose every
  product succeeded or was unchanged (extra `{{"quarter": "<quarter>", "source": "backfill",
  "backfill_quarters": [...]}}`), which triggers `weatherinsight_data_quality` for those quarters (all of
  them in the run that consumes the first event); failed quarters get no event. If it failed,
  nothing was announced: clear it (it only reads the database) or check the quarters by hand.
* Without Airflow: `weatherinsight backfill 2020Q1..2024Q4 --products wind [--force]` (no asset events; run
  `weatherinsight check <quarter>` afterwards).
"""

with DAG(
    dag_id="weatherinsight_backfill",
    description="Rebuild a range of past quarters (manual)",
    schedule=None,
    start_date=pendulum.datetime(2020, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={"owner": "weatherinsight"},
    params={
        "start_year": Param(settings.backfill.default_start_year, type="integer", description="first year"),
        "end_year": Param(settings.backfill.default_end_year, type="integer", description="last year"),
        "quarters": Param(
            list(settings.backfill.default_quarters), type="array", description="quarters 1..4"
        ),
        "products": Param(list(settings.product_types), type="array", description="products to rebuild"),
        "force_reprocess": Param(False, type="boolean", description="write a new version even if unchanged"),
    },
    doc_md=DOC,
    tags=["weatherinsight", "backfill"],
) as dag:
    plan = PythonOperator(
        task_id="validate_params",
        python_callable=tasks.backfill_plan_task,
        retries=0,  # bad params do not get better on retry
        on_failure_callback=tasks.failure_callback(settings),
    )
    quarters = PythonOperator.partial(
        task_id="backfill_quarter",
        python_callable=tasks.backfill_quarter_task,
        max_active_tis_per_dag=settings.backfill.max_parallel_quarters,
        map_index_template="{{ task.op_kwargs['quarter'] }}",
        **tasks.task_defaults(Stage.AGGREGATE, settings),
    ).expand(op_kwargs=plan.output)
    summary = PythonOperator(
        task_id="backfill_summary",
        python_callable=tasks.backfill_summary_task,
        op_kwargs={"outcomes": quarters.output},
        trigger_rule="all_done",  # report every quarter, including the ones whose task failed
        retries=0,
        on_failure_callback=tasks.failure_callback(settings),
    )
    announce = PythonOperator(
        task_id="announce_quarters",
        python_callable=tasks.announce_quarters,
        op_kwargs={"outcomes": quarters.output},
        outlets=[tasks.backfill_events()],
        trigger_rule="all_done",  # the quarters that did publish are announced even when others failed
        **tasks.task_defaults(Stage.QUALITY, settings),
    )
    # Both are leaves: a failed summary fails the run although announce_quarters succeeds.
    plan >> quarters >> [summary, announce]
