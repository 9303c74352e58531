"""The DAGs under a real Airflow 3 scheduler: api-server, scheduler and dag-processor as processes.

The stack is ``scripts/airflow-local.sh`` (what ``make airflow`` runs) on a fresh PostgreSQL metadata
database, a free loopback port and a temporary AIRFLOW_HOME, with the WeatherInsight settings of the test
(the DWD mirror on loopback, a fresh PostgreSQL warehouse, two products, small pools). Then, as an
operator would: unpause the quarterly DAG (catch-up over exactly two quarters, ``backfill.catchup_from``)
and the quality DAG, trigger the quarterly DAG by hand without a logical date and with ``quarter``,
trigger the backfill DAG for two other quarters, and wait (bounded) for every run. Asserted from Airflow's
metadata database and the warehouse: every run succeeded, every published quarter was quality-checked
exactly once per published state and no quality run failed, and per pool the tasks running at the same
time never exceeded its slots. The processes are killed as a process group whatever happens.

NOT YET PART OF `make test` (issue #13 stays open): the file name keeps pytest from collecting it. Its last
run (load 11–15 on 2 cores) got every run to succeed in 21 minutes, then failed on reading XComs (fixed since,
not re-run). Run it by hand: `uv run --frozen pytest -p no:cacheprovider tests/dags/real_scheduler_scenario.py`.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.conftest import REPO
from tests.fixtures.core import PG_ADMIN_URL
from tests.pipeline.conftest import SMALL_MIRROR_THRESHOLDS, cli_env
from weatherinsight.mirror.layout import load_spec
from weatherinsight.quarters import Quarter
from weatherinsight.settings import Settings
from weatherinsight.warehouse import db, tables

pytestmark = [pytest.mark.airflow, pytest.mark.slow, pytest.mark.postgres, pytest.mark.xdist_group("airflow")]

QUARTERLY, BACKFILL, QUALITY = (
    "weatherinsight_quarterly_pipeline",
    "weatherinsight_backfill",
    "weatherinsight_data_quality",
)
PRODUCTS = ["wind", "pressure"]
POOLS = {"spark_jobs": 1, "api_calls": 2}
STACK_START_S = 420  # db migrate + init + first health answer, on a busy 2-core CI machine
RUNS_S = 1500  # every run of the scenario


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Stack:
    env: dict[str, str]
    home: Path
    metadata_url: str  # psycopg URL of Airflow's metadata database

    def airflow(self, *args: str) -> str:
        proc = subprocess.run(
            [str(REPO / ".venv" / "bin" / "airflow"), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert proc.returncode == 0, f"airflow {' '.join(args)}: {proc.stderr[-2000:]}"
        return proc.stdout

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        import psycopg

        with psycopg.connect(self.metadata_url) as conn:
            return list(conn.execute(sql, params).fetchall())

    def logs(self) -> str:
        out = []
        for name in ("scheduler.log", "dag-processor.log", "api-server.log"):
            path = self.home / "logs" / name
            if path.exists():
                out.append(f"--- {name}\n" + path.read_text(errors="replace")[-3000:])
        return "\n".join(out)


@pytest.fixture
def stack(
    pg_server: str,
    pg_url: str,
    mirror_dir: Path,
    mirror_url: str,
    mirror_settings_for: Callable[..., Settings],
    tmp_path: Path,
) -> Iterator[tuple[Stack, Settings]]:
    import psycopg

    last = Quarter.last_complete()
    settings = mirror_settings_for(
        mirror_url,
        db_url=pg_url,
        product_types=PRODUCTS,
        pools=POOLS,
        quality_thresholds=SMALL_MIRROR_THRESHOLDS,
        backfill={"catchup_from": str(last.previous()), "default_start_year": last.previous().year},
        email={"on_failure": False},
    )
    db.ensure_schema(db.get_engine(settings.database_url))
    port, name = _free_port(), f"wi_airflow_{uuid.uuid4().hex[:10]}"
    home = tmp_path / "airflow-home"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "WEATHERINSIGHT_"))},
        **cli_env(settings),
        "AIRFLOW_LOCAL_HOME": str(home),
        "AIRFLOW_LOCAL_PORT": str(port),
        "AIRFLOW_LOCAL_PG": PG_ADMIN_URL.rsplit("/", 1)[0],
        "AIRFLOW_LOCAL_DB": name,
        # Lean on 2 cores: look for DAG files often but parse each file once (parsing imports the
        # pipeline and costs tens of seconds under load; nothing changes the files during the test).
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "3600",
        "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
        "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "1",
        # A few worker processes: more would only compete for the 2 cores (pools cap the work anyway).
        "AIRFLOW__CORE__PARALLELISM": "3",
    }
    log = (tmp_path / "airflow-local.log").open("w")
    proc = subprocess.Popen(
        ["bash", str(REPO / "scripts" / "airflow-local.sh")],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: the finalizer kills the whole stack
    )
    try:
        deadline = time.monotonic() + STACK_START_S
        while "Airflow UI:" not in (tmp_path / "airflow-local.log").read_text():
            assert proc.poll() is None, (tmp_path / "airflow-local.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "the stack did not start in time"
            time.sleep(2)
        # The script's environment, as the airflow CLI of the test needs it.
        stack_env = {
            **env,
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}".replace(
                "postgresql:", "postgresql+psycopg:"
            ),
            "AIRFLOW__API_AUTH__JWT_SECRET": (home / "jwt_secret").read_text().strip(),
        }
        yield Stack(stack_env, home, f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"), settings
    finally:
        for sig, wait in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                proc.wait(timeout=wait)
                break
            except subprocess.TimeoutExpired:
                continue
        log.close()
        with psycopg.connect(pg_server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _wait_dag_visible(stack: Stack, dag_ids: list[str]) -> None:
    deadline = time.monotonic() + STACK_START_S
    while True:
        found = {r[0] for r in stack.query("SELECT dag_id FROM dag WHERE dag_id = ANY(%s)", dag_ids)}
        if found == set(dag_ids):
            return
        assert time.monotonic() < deadline, f"DAGs not parsed: {set(dag_ids) - found}\n{stack.logs()}"
        time.sleep(3)


def _runs(stack: Stack, dag_id: str) -> list[tuple[str, str, str, Any]]:
    """(run_id, run_type, state, conf) of every run of ``dag_id``."""
    return [
        (r[0], r[1], r[2], r[3])
        for r in stack.query(
            "SELECT run_id, run_type, state, conf FROM dag_run WHERE dag_id = %s ORDER BY id", dag_id
        )
    ]


def _wait_runs_done(
    stack: Stack, dag_id: str, expected: int, deadline: float
) -> list[tuple[str, str, str, Any]]:
    while True:
        runs = _runs(stack, dag_id)
        if len(runs) >= expected and all(r[2] in ("success", "failed") for r in runs):
            return runs
        assert time.monotonic() < deadline, f"{dag_id} runs not done: {runs}\n{stack.logs()}"
        time.sleep(5)


def _max_overlap(intervals: list[tuple[Any, Any]]) -> int:
    """The largest number of (start, end) intervals open at one instant (ends before starts on ties)."""
    edges = sorted(
        [(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals], key=lambda x: (x[0], x[1])
    )
    now = peak = 0
    for _, step in edges:
        now += step
        peak = max(peak, now)
    return peak


def _checked(settings: Settings) -> dict[str, tuple[int, int]]:
    """quarter → (distinct quality check runs in quality_check_results, claimed published states)."""
    engine = db.get_engine(settings.database_url)
    r, c = tables.quality_check_results, tables.quality_checked_quarters
    with engine.connect() as conn:
        runs = conn.execute(select(r.c.year, r.c.quarter, r.c.run_id).distinct()).all()
        states = conn.execute(select(c.c.year, c.c.quarter, c.c.versions)).all()
    out: dict[str, tuple[int, int]] = {}
    for y, q, _ in runs:
        k = f"{y}Q{q}"
        out[k] = (out.get(k, (0, 0))[0] + 1, 0)
    for y, q, _ in states:
        k = f"{y}Q{q}"
        out[k] = (out.get(k, (0, 0))[0], out.get(k, (0, 0))[1] + 1)
    return out


def _published(settings: Settings) -> set[str]:
    engine = db.get_engine(settings.database_url)
    dv = tables.dataset_versions
    with engine.connect() as conn:
        rows = conn.execute(
            select(dv.c.year, dv.c.quarter, dv.c.product).where(
                dv.c.kind == "curated", dv.c.status == "AVAILABLE"
            )
        ).all()
    by_q: dict[str, set[str]] = {}
    for y, q, p in rows:
        by_q.setdefault(f"{y}Q{q}", set()).add(p)
    return {q for q, ps in by_q.items() if ps == set(PRODUCTS)}


@pytest.mark.timeout(STACK_START_S + RUNS_S + 300)
def test_dags_under_a_real_scheduler(stack: tuple[Stack, Settings], mirror_dir: Path) -> None:
    st, settings = stack
    last = Quarter.last_complete()
    catchup = [last.previous(), last]
    first_year = load_spec(mirror_dir).first_year
    by_hand = (
        Quarter(first_year + 1, 1) if Quarter(first_year + 1, 1) not in catchup else Quarter(first_year, 4)
    )
    backfilled = [Quarter(first_year, 2), Quarter(first_year, 3)]
    assert len({*catchup, by_hand, *backfilled}) == 5 and max(by_hand, *backfilled) < min(catchup)

    _wait_dag_visible(st, [QUARTERLY, BACKFILL, QUALITY])
    # The pools came from the YAML/settings through `weatherinsight airflow init`.
    pools = dict(st.query("SELECT pool, slots FROM slot_pool WHERE pool = ANY(%s)", list(POOLS)))
    assert pools == POOLS

    st.airflow("dags", "unpause", QUALITY)
    st.airflow("dags", "unpause", BACKFILL)  # a triggered run of a paused DAG stays queued for ever
    st.airflow("dags", "unpause", QUARTERLY)  # catch-up: exactly the two quarters since catchup_from
    deadline = time.monotonic() + RUNS_S
    catchup_runs = _wait_runs_done(st, QUARTERLY, 2, deadline)
    st.airflow("dags", "trigger", QUARTERLY)  # no logical date: the last complete quarter
    st.airflow("dags", "trigger", QUARTERLY, "--conf", json.dumps({"quarter": str(by_hand)}))
    st.airflow(
        "dags",
        "trigger",
        BACKFILL,
        "--conf",
        json.dumps(
            {
                "start_year": first_year,
                "end_year": first_year,
                "quarters": [q.quarter for q in backfilled],
                "products": PRODUCTS,
            }
        ),
    )
    quarterly = _wait_runs_done(st, QUARTERLY, 4, deadline)
    backfill = _wait_runs_done(st, BACKFILL, 1, deadline)
    assert [r[1] for r in catchup_runs[:2]] == ["scheduled", "scheduled"]
    assert sorted(r[1] for r in quarterly) == ["manual", "manual", "scheduled", "scheduled"]
    assert [r[2] for r in quarterly + backfill] == ["success"] * 5, f"{quarterly}\n{backfill}\n{st.logs()}"
    # Each run processed its quarter (the XCom of resolve_quarter).
    resolved = st.query(
        "SELECT dr.run_type, x.value::text FROM xcom x JOIN dag_run dr ON dr.id = x.dag_run_id "
        "WHERE x.dag_id = %s AND x.task_id = 'resolve_quarter' ORDER BY dr.id",
        QUARTERLY,
    )
    # xcom.value is jsonb ('"2026Q2"'): read as text and decoded here, whatever the driver's jsonb loader.
    assert [json.loads(v) for _, v in resolved] == [
        str(catchup[0]),
        str(catchup[1]),
        str(last),
        str(by_hand),
    ]
    published = _published(settings)
    assert published == {str(q) for q in (*catchup, by_hand, *backfilled)}

    # The quality DAG: every published quarter checked exactly once per state, no run failed.
    while True:
        quality = _runs(st, QUALITY)
        checked = _checked(settings)
        done = all(r[2] in ("success", "failed") for r in quality)
        if done and set(checked) >= published:
            break
        assert time.monotonic() < deadline, f"quality: {quality} checked {checked}\n{st.logs()}"
        time.sleep(5)
    assert [r[2] for r in quality] == ["success"] * len(quality), quality
    assert checked == {q: (1, 1) for q in published}

    # Pools held: from task_instance start/end times, never more tasks at once than slots.
    for pool, slots in POOLS.items():
        spans = st.query(
            "SELECT start_date, end_date FROM task_instance WHERE pool = %s AND start_date IS NOT NULL "
            "AND end_date IS NOT NULL",
            pool,
        )
        assert spans, pool
        assert _max_overlap(spans) <= slots, (pool, spans)
    # ingest tasks (api_calls, 2 slots, two products per quarter) did overlap: the check is not vacuous.
    assert (
        _max_overlap(
            st.query(
                "SELECT start_date, end_date FROM task_instance WHERE pool = 'api_calls' AND end_date IS NOT NULL"
            )
        )
        == 2
    )
