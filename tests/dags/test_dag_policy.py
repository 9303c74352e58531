"""House rules every DAG file in ``dags/`` follows, checked generically (a new DAG file is covered as is).

* the folder loads without import errors, every file declaring at least one DAG;
* every DAG id starts with ``weatherinsight_`` and has tags, an owner and ``doc_md``;
* every task's retries are the configured ones of its stage (``airflow_tasks.task_stage``; never-retried
  tasks have 0) and it runs in its stage's pool where the stage has one;
* parsing the folder touches no database: it succeeds with a warehouse URL that cannot be opened;
* parsing imports none of the engines (pyarrow, pandas, DuckDB, ibis …): Airflow parses a DAG file for
  every task it starts.

DAG-specific checks (schedules, task ids, dependencies, assets) are in ``test_dag_integrity.py``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.airflow import DAGS_DIR
from weatherinsight.pipeline import airflow_tasks
from weatherinsight.settings import load_settings

# One worker runs every Airflow test: they share the session AIRFLOW_HOME (one `db migrate`, one DagBag).
pytestmark = [pytest.mark.airflow, pytest.mark.slow, pytest.mark.xdist_group("airflow")]

DAG_FILES = sorted(p.name for p in DAGS_DIR.glob("*.py") if not p.name.startswith("_"))

#: Parses the folder and prints the DAG ids; a failed import exits non-zero with the errors.
_PARSE = """
import sys
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1])
if bag.import_errors:
    sys.exit(f"import errors: {bag.import_errors}")
print("DAGS", *sorted(bag.dags))
"""


def test_the_folder_loads_without_import_errors_and_every_file_declares_a_dag(dagbag: Any) -> None:
    assert dagbag.import_errors == {}
    assert DAG_FILES
    assert sorted({Path(d.fileloc).name for d in dagbag.dags.values()}) == DAG_FILES


def test_every_dag_is_named_tagged_owned_and_documented(dagbag: Any) -> None:
    for dag_id, dag in dagbag.dags.items():
        assert dag_id.startswith("weatherinsight_"), dag_id
        assert dag.tags, dag_id
        # Airflow's default owner is "airflow": an owner of our own must be set on every task.
        assert {t.owner for t in dag.tasks} == {"weatherinsight"}, dag_id
        assert dag.doc_md and dag.doc_md.strip(), dag_id


def test_every_task_retries_and_pool_follow_its_stage(dagbag: Any) -> None:
    settings = load_settings()
    for dag in dagbag.dags.values():
        for task in dag.tasks:
            where = f"{dag.dag_id}.{task.task_id}"
            stage = airflow_tasks.task_stage(task.task_id)
            expected = 0 if stage is None else airflow_tasks.stage_retries(settings, stage)
            assert task.retries == expected, where
            if stage in airflow_tasks.STAGE_POOLS:
                assert task.pool == airflow_tasks.STAGE_POOLS[stage], where


@pytest.mark.parametrize(
    "database_url",
    [
        "sqlite:///{missing}/weatherinsight.db",  # a file in a directory that does not exist
        "postgresql+psycopg://wi:wi@127.0.0.1:9/weatherinsight",  # nothing listens on the discard port
    ],
)
def test_parsing_the_dags_touches_no_database(
    airflow_env: dict[str, str], dagbag: Any, tmp_path: Path, database_url: str
) -> None:
    missing = tmp_path / "absent"
    env = {
        **os.environ,
        **airflow_env,
        "WEATHERINSIGHT_DATABASE_URL": database_url.format(missing=missing),
    }
    proc = subprocess.run(
        [sys.executable, "-c", _PARSE, str(DAGS_DIR)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    (parsed,) = [line.split()[1:] for line in proc.stdout.splitlines() if line.startswith("DAGS ")]
    assert parsed == sorted(dagbag.dags)
    assert not missing.exists()  # nothing created the warehouse's directory either


#: What parsing must not load: the engines of the pipeline (seconds of imports on a busy machine, paid by
#: the dag-processor and again by every task Airflow starts, since each task parses its DAG file first).
ENGINE_MODULES = ("pyarrow", "pandas", "duckdb", "ibis", "sqlglot", "polars", "alembic", "pyspark")

#: Parses the folder and prints the engine modules loaded by the parse (not by Airflow itself).
_PARSE_IMPORTS = """
import sys
from airflow.dag_processing.dagbag import DagBag
engines = sys.argv[2].split(",")
before = {m for m in engines if m in sys.modules}
bag = DagBag(dag_folder=sys.argv[1])
if bag.import_errors:
    sys.exit(f"import errors: {bag.import_errors}")
print("LOADED", *sorted(m for m in engines if m in sys.modules and m not in before))
"""


def test_parsing_the_dags_imports_no_engine(airflow_env: dict[str, str]) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", _PARSE_IMPORTS, str(DAGS_DIR), ",".join(ENGINE_MODULES)],
        env={**os.environ, **airflow_env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    (loaded,) = [line.split()[1:] for line in proc.stdout.splitlines() if line.startswith("LOADED")]
    assert loaded == []
