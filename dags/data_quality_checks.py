"""DAG ``weatherinsight_data_quality``: the five data-quality checks of one or more curated quarters.

Thin by design (house rule 4): ``quarters_to_check`` names the quarters of the run, and one mapped
``run_quality_checks`` task per quarter calls ``weatherinsight.pipeline.quality_check_task``; thresholds
come from ``quality_thresholds`` of the pipeline YAML; the database is the Airflow connection
``weatherinsight_postgres`` (``AIRFLOW_CONN_WEATHERINSIGHT_POSTGRES`` or airflow-init's import), else
``WEATHERINSIGHT_DATABASE_URL`` — configuration, never a manual UI step.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import pendulum
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG, Asset, AssetOrTimeSchedule, CronDataIntervalTimetable, Param

from weatherinsight import pipeline
from weatherinsight.quarters import Quarter, previous_quarter_of_run
from weatherinsight.settings import load_settings

settings = load_settings()
cfg = settings
t = cfg.quality_thresholds

#: Emitted with ``extra={"quarter": ...}`` by the quarterly pipeline's ``pipeline_complete`` and, once per
#: published quarter, by the backfill's ``announce_quarters`` (same URI and name as ``CURATED_QUARTERLY`` in
#: quarterly_pipeline.py and backfill_pipeline.py).
CURATED_QUARTERLY = Asset(name="weatherinsight_curated_quarterly", uri="weatherinsight://curated/quarterly")
CRON = "0 6 1 1,4,7,10 *"


def triggered_quarters(events: Mapping[Any, Sequence[Any]] | None) -> list[str]:
    """Every quarter named by the ``CURATED_QUARTERLY`` events that triggered this run, oldest event first.

    The scheduler starts ONE run for all events queued since the last run (a backfill announcing several
    quarters, the quarterly DAG catching up while this DAG is busy): every quarter they name is checked.
    A backfill's event also lists ``backfill_quarters``, all quarters that backfill run announced: the run
    consuming the first event of that list checks the whole list, and a later event of the list is
    skipped. Airflow 3.3 consumes only the events up to the first one of a task's events
    (``asset_dag_run_queue.created_at``), leaving the rest to this DAG's next asset run, which may come
    months later; events are consumed in time order, so the first event's run is never later than the
    others'. Events without a quarter are ignored; duplicates are removed by the caller.
    """
    if not events or CURATED_QUARTERLY not in events:
        return []
    quarters: list[str] = []
    for e in sorted(events[CURATED_QUARTERLY], key=lambda e: e.timestamp):
        extra = e.extra or {}
        batch = [str(q) for q in extra.get("backfill_quarters") or []]
        if not extra.get("quarter"):
            continue
        if not batch:
            quarters.append(str(extra["quarter"]))
        elif str(extra["quarter"]) == batch[0]:
            quarters.extend(batch)
    return quarters


def quarters_to_check(
    params: Mapping[str, Any],
    triggering_asset_events: Mapping[Any, Sequence[Any]] | None = None,
    data_interval_start: datetime | None = None,
    dag_run: Any = None,
) -> list[dict[str, str]]:
    """Task ``quarters_to_check``: one ``{"quarter": "2024Q1"}`` per quarter, oldest first, no duplicates.

    ``params.quarter`` when triggered by hand for a given quarter; else every quarter named by the triggering
    asset events; else the quarter that just ended (cron: the data interval's; an asset run whose events
    name no quarter has no data interval: the quarter before ``run_after``). Airflow passes the context
    values by name. A malformed quarter fails here, naming it.
    """
    if params.get("quarter"):
        named = [str(params["quarter"])]
    elif events := triggered_quarters(triggering_asset_events):
        named = events
    elif data_interval_start is not None:
        named = [pipeline.quarter_of_interval(data_interval_start)]
    else:
        named = [str(previous_quarter_of_run(dag_run.run_after))]
    return [{"quarter": str(q)} for q in sorted({Quarter.parse(q) for q in named})]


DOC = f"""
# WeatherInsight data quality

Runs when a quarter is published (asset `weatherinsight://curated/quarterly`, emitted by the quarterly
pipeline's `pipeline_complete` and by the backfill's `announce_quarters`; it checks the quarter named in
each event: a run started by several queued events checks every quarter they name), and at 06:00 UTC on
the first day of each quarter, six hours after the quarterly pipeline, for the quarter that just ended.
Trigger by hand with `{{"quarter": "2024Q1"}}` to check any quarter. `quarters_to_check` lists the run's
quarters; `run_quality_checks` runs once per quarter (map index = the quarter), so one quarter's fatal
findings never stop the checks of another.

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
* **Fatal findings** fail that quarter's `run_quality_checks` (and so the run) and send an alert e-mail
  listing them. Few rows or stations usually mean an incomplete ingestion (see `ingestion_runs`,
  `raw_files`); many NULLs mean stations below the 80 % coverage gate (see the `coverage` column of the
  curated table).
* **Warnings** (a version not AVAILABLE, a gap in the series) do not fail the run: re-run the quarterly
  pipeline or a backfill for the quarter named.
* **quarters_to_check failed**: the `quarter` param (or an event's extra) is not `YYYYQn`; the message names
  it. Trigger again with a valid quarter.
* Without Airflow: `weatherinsight check <quarter>`.
"""

with DAG(
    dag_id="weatherinsight_data_quality",
    description="Data-quality checks of the curated quarter",
    schedule=AssetOrTimeSchedule(
        timetable=CronDataIntervalTimetable(CRON, timezone="UTC"), assets=[CURATED_QUARTERLY]
    ),
    start_date=pendulum.datetime(cfg.backfill.default_start_year, 1, 1, tz="UTC"),
    catchup=True,
    max_active_runs=1,
    default_args={"owner": "weatherinsight", "depends_on_past": False},
    params={
        "quarter": Param(None, type=["null", "string"], description="quarter to check, e.g. 2024Q1"),
    },
    doc_md=DOC,
    tags=["weatherinsight", "quality"],
) as dag:
    plan = PythonOperator(
        task_id="quarters_to_check",
        python_callable=quarters_to_check,
        retries=0,  # a bad quarter does not get better on retry
        on_failure_callback=pipeline.notify_task_failure if cfg.email.on_failure else None,
    )
    PythonOperator.partial(
        task_id="run_quality_checks",
        python_callable=pipeline.quality_check_task,
        map_index_template="{{ task.op_kwargs['quarter'] }}",
        **pipeline.task_defaults("quality", settings),
    ).expand(op_kwargs=plan.output)
