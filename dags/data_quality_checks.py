"""DAG ``weatherinsight_data_quality``: the five data-quality checks of a curated quarter.

Thin by design (house rule 4): one task calls ``weatherinsight.pipeline.quality_check_task``; thresholds
come from ``quality_thresholds`` in ``config/weatherinsight.yaml``; the database is the Airflow connection
``weatherinsight_postgres`` (``AIRFLOW_CONN_WEATHERINSIGHT_POSTGRES`` or airflow-init's import), else
``WEATHERINSIGHT_DATABASE_URL`` — configuration, never a manual UI step.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pendulum
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG, Asset, AssetOrTimeSchedule, CronDataIntervalTimetable, Param

from weatherinsight import pipeline
from weatherinsight.quarters import previous_quarter_of_run
from weatherinsight.settings import load_settings

settings = load_settings()
cfg = settings.pipeline
t = cfg.quality_thresholds

#: Emitted by the quarterly pipeline's ``pipeline_complete`` with ``extra={"quarter": ...}`` (same URI and name
#: as ``CURATED_QUARTERLY`` in quarterly_pipeline.py).
CURATED_QUARTERLY = Asset(name="weatherinsight_curated_quarterly", uri="weatherinsight://curated/quarterly")
CRON = "0 6 1 1,4,7,10 *"


def triggered_quarter(events: Mapping[Any, Sequence[Any]] | None) -> str | None:
    """The quarter named by the newest ``CURATED_QUARTERLY`` event that triggered this run, else None.

    A template macro (the package never imports Airflow). Several queued events (catch-up) start one run:
    it checks the newest quarter; the cron runs (catchup) check every quarter.
    """
    if not events or CURATED_QUARTERLY not in events:
        return None
    named = [e for e in events[CURATED_QUARTERLY] if (e.extra or {}).get("quarter")]
    return str(max(named, key=lambda e: e.timestamp).extra["quarter"]) if named else None


#: ``params.quarter`` when triggered by hand for a given quarter; the quarter carried by the asset event
#: when triggered by the quarterly pipeline; else the quarter that just ended (cron: the data interval's;
#: an asset run without a quarter in its event has no data interval: the quarter before ``run_after``).
QUARTER = (
    "{{ params.quarter or triggered_quarter(triggering_asset_events) or ("
    "quarter_of(data_interval_start) if data_interval_start is defined and data_interval_start "
    "else previous_quarter_of_run(dag_run.run_after)) }}"
)

DOC = f"""
# WeatherInsight data quality

Runs when the quarterly pipeline's `pipeline_complete` publishes a quarter (asset
`weatherinsight://curated/quarterly`; it checks the quarter named in the event), and at 06:00 UTC on the
first day of each quarter, six hours after the quarterly pipeline, for the quarter that just ended.
Trigger by hand with `{{"quarter": "2024Q1"}}` to check any quarter.

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
    user_defined_macros={
        "quarter_of": pipeline.quarter_of_interval,
        "triggered_quarter": triggered_quarter,
        "previous_quarter_of_run": previous_quarter_of_run,
    },
    doc_md=DOC,
    tags=["weatherinsight", "quality"],
) as dag:
    PythonOperator(
        task_id="run_quality_checks",
        python_callable=pipeline.quality_check_task,
        op_kwargs={"quarter": QUARTER},
        **pipeline.task_defaults("quality", settings),
    )
