"""DAG ``weatherinsight_backfill``: rebuild a range of past quarters, triggered by hand only.

Thin by design (house rule 4): params are validated by ``weatherinsight.pipeline.BackfillParams``; each
quarter is one mapped task running every product; the summary task checks the database and fails the run
when any quarter × product failed. ``announce_quarters`` emits the curated-quarter asset once per quarter
that was published, so the quality DAG checks backfilled quarters as it checks scheduled ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pendulum
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG, Asset, AssetAlias, Param

from weatherinsight import pipeline
from weatherinsight.logs import get_logger
from weatherinsight.settings import load_settings

settings = load_settings()
cfg = settings
log = get_logger(__name__)

#: The asset ``weatherinsight_data_quality`` is scheduled on (same name and URI as ``CURATED_QUARTERLY`` in
#: quarterly_pipeline.py and data_quality_checks.py; DAG files do not import each other).
CURATED_QUARTERLY = Asset(name="weatherinsight_curated_quarterly", uri="weatherinsight://curated/quarterly")

#: The outlet of ``announce_quarters``. A plain asset outlet yields ONE event per task instance with one extra
#: (``outlet_events[asset].extra``, and ``yield Metadata(asset, ...)`` only updates that same dict); events
#: added through an alias are registered one per distinct extra (Airflow 3.3
#: ``TaskInstance.register_asset_changes_in_db``), so each published quarter gets its own event. The alias
#: resolves to ``CURATED_QUARTERLY``; it is not an outlet itself, so a run publishing nothing emits nothing.
BACKFILL_EVENTS = AssetAlias(name="weatherinsight_backfill_curated_quarterly")


def announce_quarters(
    outcomes: Iterable[Any] | None, params: Mapping[str, Any], outlet_events: Any
) -> list[str]:
    """``announce_quarters``: one ``CURATED_QUARTERLY`` event per published quarter, oldest first.

    Published as ``pipeline.verify_backfill`` defines it (the judgement ``backfill_summary`` uses too):
    every product succeeded or was unchanged, confirmed by the database.

    Each extra names its quarter, ``"source": "backfill"`` and ``backfill_quarters``, every quarter this task
    announces. Why the list: Airflow 3.3 queues the consumer once per (asset, DAG) with the time of the
    FIRST event (``asset_dag_run_queue.created_at``) and the scheduler's run consumes only the events up
    to that time, so the later events of this task are left for the consumer's next run (whenever another
    event arrives). The quality DAG therefore checks the whole list when it sees the first event of the list
    and ignores the later ones (see ``triggered_quarters`` in data_quality_checks.py).

    The only Airflow-facing code of this file: the events need the task context (``outlet_events``), which
    the package never imports. They are registered when this task succeeds.
    """
    # Settings are read at run time (the task's environment), not from the parse-time module global.
    current = load_settings()
    _, quarters = pipeline.verify_backfill(
        current, pipeline.BackfillParams.from_params(params, current), outcomes
    )
    for quarter in quarters:
        outlet_events[BACKFILL_EVENTS].add(
            CURATED_QUARTERLY,
            extra={"quarter": quarter, "source": "backfill", "backfill_quarters": quarters},
        )
    log.info("backfill_quarters_announced", quarters=quarters)
    return quarters


DOC = f"""
# WeatherInsight backfill

Manual only. Trigger with a config such as
`{{"start_year": 2020, "end_year": 2024, "quarters": [1, 2, 3, 4], "products": ["wind"], "force_reprocess": false}}`;
missing values take the defaults of the pipeline YAML (years {cfg.backfill.default_start_year}–
{cfg.backfill.default_end_year}, every product). Quarters run oldest first, at most
{cfg.backfill.max_parallel_quarters} at once (`backfill.max_parallel_quarters`).

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
        "start_year": Param(cfg.backfill.default_start_year, type="integer", description="first year"),
        "end_year": Param(cfg.backfill.default_end_year, type="integer", description="last year"),
        "quarters": Param(list(cfg.backfill.default_quarters), type="array", description="quarters 1..4"),
        "products": Param(list(cfg.product_types), type="array", description="products to rebuild"),
        "force_reprocess": Param(False, type="boolean", description="write a new version even if unchanged"),
    },
    doc_md=DOC,
    tags=["weatherinsight", "backfill"],
) as dag:
    plan = PythonOperator(
        task_id="validate_params",
        python_callable=pipeline.backfill_plan_task,
        retries=0,  # bad params do not get better on retry
        on_failure_callback=pipeline.notify_task_failure if cfg.email.on_failure else None,
    )
    quarters = PythonOperator.partial(
        task_id="backfill_quarter",
        python_callable=pipeline.backfill_quarter_task,
        max_active_tis_per_dag=cfg.backfill.max_parallel_quarters,
        map_index_template="{{ task.op_kwargs['quarter'] }}",
        **pipeline.task_defaults("aggregation", settings),
    ).expand(op_kwargs=plan.output)
    summary = PythonOperator(
        task_id="backfill_summary",
        python_callable=pipeline.backfill_summary_task,
        op_kwargs={"outcomes": quarters.output},
        trigger_rule="all_done",  # report every quarter, including the ones whose task failed
        retries=0,
        on_failure_callback=pipeline.notify_task_failure if cfg.email.on_failure else None,
    )
    announce = PythonOperator(
        task_id="announce_quarters",
        python_callable=announce_quarters,
        op_kwargs={"outcomes": quarters.output},
        outlets=[BACKFILL_EVENTS],
        trigger_rule="all_done",  # the quarters that did publish are announced even when others failed
        **pipeline.task_defaults("quality", settings),
    )
    # Both are leaves: a failed summary fails the run although announce_quarters succeeds.
    plan >> quarters >> [summary, announce]
