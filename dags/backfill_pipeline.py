"""DAG ``weatherinsight_backfill``: rebuild a range of past quarters, triggered by hand only.

Declarations only: every task calls one function of ``weatherinsight.pipeline.airflow_backfill_tasks`` (the
operator settings come from ``weatherinsight.pipeline.airflow_tasks``). Params are
validated by ``BackfillParams``; each product of the plan (``plan_products``) is ingested ONCE for every
quarter of the plan (mapped ``ingest_product``, pool ``api_calls``: one listing crawl and one GET per file,
issue #19); then each quarter × product is one instance of the mapped task group ``quarter_product`` (process
→ aggregate in pool ``spark_jobs``; process stages every quarter of the plan for its product at once, so the
product's later pairs reuse it); before any pair aggregates, ``ingest_daily_inputs`` →
``process_daily_inputs`` ingest and stage the daily KL values (issue #17) of every quarter of the plan that
the plan's products read, as the CLI backfill does; the summary
task checks the database and fails the run when any quarter × product failed. ``announce_quarters`` emits
the curated-quarter asset, which wakes the quality DAG; its sweep finds the published quarters.
"""

from __future__ import annotations

import pendulum
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG, Param, task, task_group

from weatherinsight.pipeline import airflow_backfill_tasks as backfill_tasks
from weatherinsight.pipeline import airflow_tasks as tasks
from weatherinsight.pipeline.catchup import catchup_window
from weatherinsight.settings import load_settings
from weatherinsight.vocabulary import Stage

settings = load_settings()
start_year, end_year = catchup_window(settings)

#: Per mapped step, the quarter × product tasks of a run at once: backfill.max_parallel_quarters quarters' worth.
PAIRS_AT_ONCE = backfill_tasks.backfill_pairs_at_once(settings)
#: A backfill yields the pool slots to the quarterly pipeline: its pair tasks have the lowest priority (1,
#: absolute), below every quarterly task (downstream weights 2 and up), so the regular quarter is never
#: queued behind a long backfill; the backfill takes whatever slots are free.
BACKFILL_PRIORITY = {"priority_weight": 1, "weight_rule": "absolute"}
#: The configured products whose day-based indices read a daily product (issue #17), for the docs.
DAILY_READERS = [
    p
    for d in tasks.daily_inputs(settings.product_types)
    for p in tasks.products_reading(d, settings.product_types)
]
#: The map index label of a quarter × product task in the UI, e.g. "2024Q1 wind".
PAIR_LABEL = "{{ task.op_kwargs['quarter'] }} {{ task.op_kwargs['product'] }}"
#: The map index label of a product's ingest (all quarters of the plan) in the UI, e.g. "wind".
PRODUCT_LABEL = "{{ task.op_kwargs['product'] }}"

DOC = f"""
# WeatherInsight backfill

Manual only. Trigger with a config such as
`{{"start_year": 2020, "end_year": 2024, "quarters": [1, 2, 3, 4], "products": ["wind"], "force_reprocess": false,
"periods": ["month", "season", "year"]}}`;
missing values take the defaults of the pipeline YAML (years {start_year}–{end_year}, every product;
the end defaults to the year of the last complete quarter). Each product is ingested once for every quarter
of the plan by the mapped task `ingest_product` (pool `api_calls`, one instance per product, labelled with
the product): one listing crawl and one download per file. When every ingest is done, each quarter × product
is one mapped instance of the task group `quarter_product`: `process_quarter_product` →
`aggregate_quarter_product` (pool `spark_jobs`), so the pools bound the work across quarters and products,
and one pair's failure stops only that pair. The pairs of a product whose ingest failed are skipped and
reported failed at ingest; the other products go on. Each pair step runs at most {PAIRS_AT_ONCE} pairs of a
run at once (`backfill.max_parallel_quarters` × the configured products), at the lowest priority: when the
quarterly pipeline waits for the same pool slots, it goes first.
Beside the pairs, `ingest_daily_inputs` (pool `api_calls`) → `process_daily_inputs` (pool `spark_jobs`) ingest
and stage, once for every quarter of the plan, the DWD daily KL values that the day-based indices of
{", ".join(DAILY_READERS) or "no configured product"} read;
every `aggregate_quarter_product` waits for them.

## Triage
* **validate_params failed**: the message names the bad parameter (unknown product, quarter 5, end before start,
  a range that has not ended yet). Fix the config and trigger again.
* **ingest_daily_inputs / process_daily_inputs**: they never fail the run. When the daily KL values could not
  be ingested or staged, their log says `daily_input_failed`, and the affected quarters' day-based indices
  use the hourly-derived days (`tx_tn_source` / `rr_source` = `hourly`); re-trigger the backfill with
  `force_reprocess` once the daily files are available.
* **ingest_product [product] failed**: the product's listing or too many of its files could not be
  downloaded (the task log names them); its `process_quarter_product` / `aggregate_quarter_product`
  instances are skipped. Clear the failed `ingest_product` instance with its downstream tasks, or
  re-trigger: files already downloaded are found unchanged and not downloaded again.
* **backfill_summary failed**: its log holds a table of every quarter × product with outcome, rows in the
  database and the error. One failure never stops the other quarters/products. Fix the cause and re-trigger
  for the failed quarters only; the ones that succeeded are no-ops (unchanged inputs) unless
  `force_reprocess` is true, which writes the next `_vN` and supersedes the previous version.
* **announce_quarters** emits the asset `weatherinsight://curated/quarterly` (extra `{{"quarters": [...],
  "source": "backfill"}}`, the quarters whose every product succeeded or was unchanged). It only wakes
  `weatherinsight_data_quality`, whose sweep checks every published quarter not yet checked; its 06:00
  cron sweeps too, so nothing is lost if this task failed.
* Without Airflow: `weatherinsight backfill 2020Q1..2024Q4 --products wind [--force]`; the quality DAG's
  next sweep checks the quarters it published (or run `weatherinsight check <quarter>`).
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
        "start_year": Param(start_year, type="integer", description="first year"),
        "end_year": Param(end_year, type="integer", description="last year"),
        "quarters": Param(
            list(settings.backfill.default_quarters), type="array", description="quarters 1..4"
        ),
        "products": Param(list(settings.product_types), type="array", description="products to rebuild"),
        "force_reprocess": Param(False, type="boolean", description="write a new version even if unchanged"),
        "periods": Param(
            list(settings.features.periods),
            type="array",
            description="periods published beside the quarters: month, season (DJF = Dec of the year before "
            "+ Jan + Feb), year; each once every quarter it lies in is staged",
        ),
    },
    doc_md=DOC,
    tags=["weatherinsight", "backfill"],
) as dag:
    plan = PythonOperator(
        task_id="validate_params",
        python_callable=backfill_tasks.backfill_plan_task,
        retries=0,  # bad params do not get better on retry
        on_failure_callback=tasks.failure_callback(settings),
    )
    products = PythonOperator(
        task_id="plan_products",
        python_callable=backfill_tasks.plan_products_task,
        op_kwargs={"pairs": plan.output},
        retries=0,  # a pure function of validate_params' output
        on_failure_callback=tasks.failure_callback(settings),
    )

    # One ingest per product for every quarter of the plan; the products run side by side in pool api_calls.
    ingest = task(
        task_id=backfill_tasks.INGEST_TASK_ID,
        map_index_template=PRODUCT_LABEL,
        **BACKFILL_PRIORITY,
        **tasks.task_defaults(Stage.INGEST, settings),
    )(backfill_tasks.backfill_ingest_product_task)
    process = task(
        task_id="process_quarter_product",
        map_index_template=PAIR_LABEL,
        max_active_tis_per_dagrun=PAIRS_AT_ONCE,
        # Every pair waits for ALL the ingests (below), and runs even when some failed: the task itself skips
        # when its own product's ingest failed, so one product's failure stops only that product's pairs.
        # validate_params is upstream too: when it failed, no upstream succeeded and the pairs never start.
        trigger_rule="all_done_min_one_success",
        **BACKFILL_PRIORITY,
        **tasks.task_defaults(Stage.STAGE, settings),
    )(backfill_tasks.backfill_process_task)
    aggregate = task(
        task_id="aggregate_quarter_product",
        map_index_template=PAIR_LABEL,
        max_active_tis_per_dagrun=PAIRS_AT_ONCE,
        **BACKFILL_PRIORITY,
        **tasks.task_defaults(Stage.AGGREGATE, settings),
    )(backfill_tasks.backfill_aggregate_task)

    # The daily KL values (issue #17) of every quarter of the plan, ingested and staged once before any pair
    # aggregates: the day-based indices read them (products_reading); a no-op when no planned product does.
    ingest_daily = PythonOperator(
        task_id="ingest_daily_inputs",
        python_callable=backfill_tasks.backfill_ingest_daily_task,
        **BACKFILL_PRIORITY,
        **tasks.task_defaults(Stage.INGEST, settings),
    )
    process_daily = PythonOperator(
        task_id="process_daily_inputs",
        python_callable=backfill_tasks.backfill_process_daily_task,
        **BACKFILL_PRIORITY,
        **tasks.task_defaults(Stage.STAGE, settings),
    )
    plan >> ingest_daily >> process_daily

    ingested = ingest.expand(product=products.output)

    @task_group(group_id="quarter_product", prefix_group_id=False)
    def quarter_product(quarter: str, product: str) -> object:
        """One quarter × product: process → aggregate, in pool spark_jobs, after every product's ingest.

        Airflow cannot tie an instance of this mapped group to the one ``ingest_product`` instance of its
        product (the two are mapped over different lists), so every pair waits for all the ingests. They run
        side by side (pool api_calls), so that costs about the gap between the slowest and the fastest
        product's ingest, and keeps one simple shape: ingest everything, then stage and aggregate.
        """
        p = process(quarter=quarter, product=product)
        a = aggregate(quarter=quarter, product=product)
        ingested >> p >> a
        process_daily >> a
        return a

    outcomes = quarter_product.expand_kwargs(plan.output)
    summary = PythonOperator(
        task_id="backfill_summary",
        python_callable=backfill_tasks.backfill_summary_task,
        op_kwargs={"outcomes": outcomes},
        trigger_rule="all_done",  # report every quarter × product, including the ones whose task failed
        retries=0,
        on_failure_callback=tasks.failure_callback(settings),
    )
    announce = PythonOperator(
        task_id="announce_quarters",
        python_callable=backfill_tasks.announce_quarters,
        op_kwargs={"outcomes": outcomes},
        outlets=[tasks.curated_quarterly()],
        trigger_rule="all_done",  # the quarters that did publish are announced even when others failed
        **tasks.task_defaults(Stage.QUALITY, settings),
    )
    # Both are leaves: a failed summary fails the run although announce_quarters succeeds.
    outcomes >> [summary, announce]
