"""The DAGs under a real Airflow 3 scheduler: api-server, scheduler and dag-processor as processes (issue #13).

The stack is ``scripts/airflow-local.sh`` (what ``make airflow`` runs, the recipe of docs/orchestrator.md) on
a fresh PostgreSQL metadata database, a free loopback port and a temporary AIRFLOW_HOME, with the
WeatherInsight settings of the test: the session's DWD mirror on loopback, a fresh PostgreSQL warehouse, two
products, pools ``spark_jobs`` 2 / ``api_calls`` 3. The test reads the stack's Airflow environment from the
``airflow.env`` the script writes, and drives it as an operator would, through the api-server's REST API
(what the UI and ``airflow dags trigger`` use): unpause the quality, backfill and quarterly DAGs (catch-up
over exactly two quarters, ``backfill.catchup_from``), trigger the backfill DAG for two other quarters,
trigger the quarterly DAG by hand without a logical date and with ``quarter``, and wait (bounded) for every
run. Asserted from Airflow's metadata database and the warehouse: every run succeeded and processed its
quarter, every published quarter was quality-checked exactly once per published state and no quality run
failed, per pool the tasks running at the same time (``task_instance`` start/end) never exceeded its
slots, and per mapped step of the backfill run never more pairs than ``backfill.max_parallel_quarters``
(1) × products allows. Whatever happens, every process the script started is stopped (its process group,
then any descendant left) and the metadata database dropped.

Lean on 2 cores (6–9 minutes measured with load 10–17 from other jobs; about 3 estimated on a quiet machine,
most of it the four quarterly runs one after the other): the DAG files import no engine at parse time (``test_dag_policy.py``), each file is parsed once, the
scheduler loops every second, LocalExecutor has 6 worker processes. The phases are printed at the end
(``-s``) and in any failure report. By hand:
``uv run --frozen pytest -p no:cacheprovider tests/dags/test_real_scheduler.py -s``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.conftest import REPO, require
from tests.fixtures.core import PG_ADMIN_URL, free_port
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
#: The backfill and the quarterly runs contend for these. Two spark slots, not one: one would put all 24
#: spark_jobs tasks of the scenario in a row (the longest phase on 2 cores) with no stronger check. Three
#: api slots: more than the backfill's 2 pairs per step (max_parallel_quarters 1 × 2 products), so that
#: limit is checked, not the pool's.
POOLS = {"spark_jobs": 2, "api_calls": 3}
SCRIPT = REPO / "scripts" / "airflow-local.sh"
AIRFLOW_BIN = REPO / ".venv" / "bin" / "airflow"
USER, PASSWORD = "admin", "admin"  # the script's defaults
STACK_START_S = 420  # db migrate + init + first health answer, on a busy 2-core CI machine
RUNS_S = 1200  # every run of the scenario, parsing included


def _read_env_file(path: Path) -> dict[str, str]:
    """``KEY=value`` lines as bash's ``printf %q`` wrote them (the script's ``airflow.env``)."""
    out = {}
    for line in path.read_text().splitlines():
        key, _, value = line.partition("=")
        out[key] = shlex.split(value)[0] if value else ""
    return out


@dataclass
class Stack:
    """The running stack: its REST API, its metadata database, its logs, and the phases timed so far."""

    settings: Settings
    home: Path
    api: httpx.Client
    metadata_url: str  # psycopg URL of Airflow's metadata database
    phases: dict[str, float] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)

    def mark(self, phase: str) -> None:
        """Record how long after the fixture started ``phase`` ended (seconds)."""
        self.phases[phase] = round(time.monotonic() - self.started, 1)

    def report(self) -> str:
        return "phases (s since start): " + ", ".join(f"{k} {v}" for k, v in self.phases.items())

    def unpause(self, dag_id: str) -> None:
        r = self.api.patch(f"/api/v2/dags/{dag_id}", json={"is_paused": False})
        assert r.status_code == 200, r.text

    def trigger(self, dag_id: str, conf: dict[str, Any] | None = None) -> str:
        """A manual run without a logical date (Airflow 3's default); returns its run id."""
        r = self.api.post(f"/api/v2/dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": conf or {}})
        assert r.status_code == 200, r.text
        return str(r.json()["dag_run_id"])

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        import psycopg

        with psycopg.connect(self.metadata_url) as conn:
            return list(conn.execute(sql, params).fetchall())

    def logs(self) -> str:
        out = [self.report()]
        for name in ("scheduler.log", "dag-processor.log", "api-server.log"):
            path = self.home / "logs" / name
            if path.exists():
                out.append(f"--- {name}\n" + path.read_text(errors="replace")[-3000:])
        return "\n".join(out)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop everything the script started: SIGTERM to its process group (the script stops its three
    processes), then SIGKILL to any descendant still alive, task runners in their own groups included."""
    import psutil

    try:
        family = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        family = []
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)  # start_new_session: the script leads its own group
    _, alive = psutil.wait_procs(family, timeout=30)
    for p in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.kill()
    psutil.wait_procs(alive, timeout=10)
    proc.wait(timeout=10)


@pytest.fixture
def stack(
    pg_server: str,
    pg_url: str,
    mirror_url: str,
    mirror_settings_for: Callable[..., Settings],
    tmp_path: Path,
) -> Iterator[Stack]:
    import psycopg

    require(AIRFLOW_BIN.exists(), f"{AIRFLOW_BIN} is missing (make setup installs the airflow extra)")
    started = time.monotonic()
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
    port, name = free_port(), f"wi_airflow_{uuid.uuid4().hex[:10]}"
    server = PG_ADMIN_URL.rsplit("/", 1)[0]
    home = tmp_path / "airflow-home"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "WEATHERINSIGHT_"))},
        **cli_env(settings),
        "AIRFLOW_LOCAL_HOME": str(home),
        "AIRFLOW_LOCAL_PORT": str(port),
        "AIRFLOW_LOCAL_PG": server,
        "AIRFLOW_LOCAL_DB": name,
        # Nothing changes the DAG files during the test: look for them often, parse each file once.
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "3600",
        "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
        # The scheduler loop every second, so a finished task's successor starts at once.
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
        "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "0.5",
        # Worker processes: the pools allow 5 pool tasks at once, plus one default_pool task (resolve,
        # pipeline_complete, the quality DAG); more would only compete for the 2 cores.
        "AIRFLOW__CORE__PARALLELISM": "6",
    }
    log_path = tmp_path / "airflow-local.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            ["bash", str(SCRIPT)], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    api = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60)
    try:
        deadline = time.monotonic() + STACK_START_S
        while "Airflow UI:" not in log_path.read_text():
            assert proc.poll() is None, log_path.read_text()[-3000:]
            assert time.monotonic() < deadline, f"the stack did not start in time\n{log_path.read_text()}"
            time.sleep(1)
        stack_env = _read_env_file(home / "airflow.env")
        assert stack_env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
        token = api.post("/auth/token", json={"username": USER, "password": PASSWORD})
        assert token.status_code == 201, token.text
        api.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        st = Stack(settings, home, api, f"{server}/{name}", started=started)
        st.mark("stack up")
        yield st
        print(st.report())
    finally:
        api.close()
        _stop(proc)
        with psycopg.connect(pg_server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _wait_dags_parsed(stack: Stack, dag_ids: list[str], deadline: float) -> None:
    while True:
        found = {r[0] for r in stack.query("SELECT dag_id FROM dag WHERE dag_id = ANY(%s)", dag_ids)}
        if found == set(dag_ids):
            return
        assert time.monotonic() < deadline, f"DAGs not parsed: {set(dag_ids) - found}\n{stack.logs()}"
        time.sleep(1)


def _runs(stack: Stack, dag_id: str) -> list[tuple[str, str, str]]:
    """(run_id, run_type, state) of every run of ``dag_id``, in creation order."""
    return [
        (r[0], r[1], r[2])
        for r in stack.query(
            "SELECT run_id, run_type, state FROM dag_run WHERE dag_id = %s ORDER BY id", dag_id
        )
    ]


def _wait_runs_done(stack: Stack, dag_id: str, expected: int, deadline: float) -> list[tuple[str, str, str]]:
    while True:
        runs = _runs(stack, dag_id)
        if len(runs) >= expected and all(r[2] in ("success", "failed") for r in runs):
            return runs
        assert time.monotonic() < deadline, f"{dag_id} runs not done: {runs}\n{stack.logs()}"
        time.sleep(2)


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
    """quarter → (distinct quality runs in quality_check_results, claimed published states)."""
    engine = db.get_engine(settings.database_url)
    r, c = tables.quality_check_results, tables.quality_checked_quarters
    with engine.connect() as conn:
        runs = conn.execute(select(r.c.year, r.c.quarter, r.c.run_id).distinct()).all()
        states = conn.execute(select(c.c.year, c.c.quarter, c.c.versions)).all()
    count_runs: dict[str, int] = {}
    count_states: dict[str, int] = {}
    for y, q, _ in runs:
        count_runs[f"{y}Q{q}"] = count_runs.get(f"{y}Q{q}", 0) + 1
    for y, q, _ in states:
        count_states[f"{y}Q{q}"] = count_states.get(f"{y}Q{q}", 0) + 1
    return {k: (count_runs.get(k, 0), count_states.get(k, 0)) for k in {*count_runs, *count_states}}


def _published(settings: Settings) -> set[str]:
    """The quarters whose every product has an AVAILABLE curated version."""
    engine = db.get_engine(settings.database_url)
    dv = tables.dataset_versions
    with engine.connect() as conn:
        rows = conn.execute(
            select(dv.c.year, dv.c.quarter, dv.c.product).where(
                dv.c.kind == "curated", dv.c.status == "AVAILABLE", dv.c.period_kind == "quarter"
            )
        ).all()
    by_q: dict[str, set[str]] = {}
    for y, q, p in rows:
        by_q.setdefault(f"{y}Q{q}", set()).add(p)
    return {q for q, ps in by_q.items() if ps == set(PRODUCTS)}


@pytest.mark.timeout(STACK_START_S + RUNS_S + 120)
def test_dags_under_a_real_scheduler(stack: Stack, mirror_dir: Path) -> None:
    st = stack
    last = Quarter.last_complete()
    catchup = [last.previous(), last]
    first_year = load_spec(mirror_dir).first_year
    by_hand = (
        Quarter(first_year + 1, 1) if Quarter(first_year + 1, 1) not in catchup else Quarter(first_year, 4)
    )
    backfilled = [Quarter(first_year, 2), Quarter(first_year, 3)]
    assert len({*catchup, by_hand, *backfilled}) == 5 and max(by_hand, *backfilled) < min(catchup)
    deadline = time.monotonic() + RUNS_S

    _wait_dags_parsed(st, [QUARTERLY, BACKFILL, QUALITY], deadline)
    st.mark("DAGs parsed")
    # The pools came from the YAML/settings through `weatherinsight airflow init` (run by the script).
    assert dict(st.query("SELECT pool, slots FROM slot_pool WHERE pool = ANY(%s)", list(POOLS))) == POOLS

    st.unpause(QUALITY)
    st.unpause(BACKFILL)  # a triggered run of a paused DAG stays queued for ever
    # The backfill goes first: it runs beside the catch-up, competing for the same pools.
    st.trigger(
        BACKFILL,
        {
            "start_year": first_year,
            "end_year": first_year,
            "quarters": [q.quarter for q in backfilled],
            "products": PRODUCTS,
        },
    )
    st.unpause(QUARTERLY)  # catch-up: exactly the two quarters since catchup_from
    catchup_runs = _wait_runs_done(st, QUARTERLY, 2, deadline)
    st.mark("catch-up done")
    assert [r[1] for r in catchup_runs] == ["scheduled", "scheduled"]
    manual_latest = st.trigger(QUARTERLY)  # no logical date: the last complete quarter
    manual_param = st.trigger(QUARTERLY, {"quarter": str(by_hand)})
    quarterly = _wait_runs_done(st, QUARTERLY, 4, deadline)
    st.mark("manual runs done")
    backfill = _wait_runs_done(st, BACKFILL, 1, deadline)
    st.mark("backfill done")
    assert [r[2] for r in quarterly + backfill] == ["success"] * 5, f"{quarterly}\n{backfill}\n{st.logs()}"

    # Each quarterly run processed its quarter (the XCom of resolve_quarter; jsonb, read as text).
    resolved = dict(
        st.query(
            "SELECT dr.run_id, x.value::text FROM xcom x JOIN dag_run dr ON dr.id = x.dag_run_id "
            "WHERE x.dag_id = %s AND x.task_id = 'resolve_quarter'",
            QUARTERLY,
        )
    )
    assert {run_id: json.loads(v) for run_id, v in resolved.items()} == {
        catchup_runs[0][0]: str(catchup[0]),
        catchup_runs[1][0]: str(catchup[1]),
        manual_latest: str(last),
        manual_param: str(by_hand),
    }
    published = _published(st.settings)
    assert published == {str(q) for q in (*catchup, by_hand, *backfilled)}

    # The quality DAG: every published quarter checked exactly once per published state, no run failed
    # (a quality run on an unpublished quarter would fail, or check it before its state was final).
    while True:
        quality = _runs(st, QUALITY)
        checked = _checked(st.settings)
        if all(r[2] in ("success", "failed") for r in quality) and set(checked) >= published:
            break
        assert time.monotonic() < deadline, f"quality: {quality} checked {checked}\n{st.logs()}"
        time.sleep(2)
    st.mark("quality done")
    assert [r[2] for r in quality] == ["success"] * len(quality), f"{quality}\n{st.logs()}"
    assert checked == {q: (1, 1) for q in published}
    failed_checks = st.query(
        "SELECT count(*) FROM task_instance WHERE dag_id = %s AND try_number > 1", QUALITY
    )
    assert failed_checks == [(0,)]  # no quality task needed a retry either

    # Pools held: from task_instance start/end times, never more tasks at once than slots.
    for pool, slots in POOLS.items():
        spans = st.query(
            "SELECT start_date, end_date FROM task_instance WHERE pool = %s AND start_date IS NOT NULL "
            "AND end_date IS NOT NULL",
            pool,
        )
        # 4 quarterly runs × 2 products × (1 ingest | 2 spark steps) + the backfill's 2 product ingests (one for
        # both quarters) | 2 quarters × 2 products × 2 spark steps + its ingest_daily_inputs |
        # process_daily_inputs (no-ops for wind and pressure)
        assert len(spans) == {"api_calls": 11, "spark_jobs": 25}[pool], (pool, spans)
        assert _max_overlap(spans) <= slots, (pool, spans)
    # The backfill's mapped steps: at most max_parallel_quarters (1) × 2 products pairs at once per step.
    for task_id in ("process_quarter_product", "aggregate_quarter_product"):
        spans = st.query(
            "SELECT start_date, end_date FROM task_instance WHERE dag_id = %s AND task_id = %s "
            "AND end_date IS NOT NULL",
            BACKFILL,
            task_id,
        )
        assert len(spans) == 4 and _max_overlap(spans) <= len(PRODUCTS), (task_id, spans)
    # The backfill ingested each product once for both of its quarters (issue #19).
    ingests = st.query(
        "SELECT map_index, state FROM task_instance WHERE dag_id = %s AND task_id = 'ingest_product' "
        "ORDER BY map_index",
        BACKFILL,
    )
    assert [tuple(r) for r in ingests] == [(0, "success"), (1, "success")]
    # The two ingest tasks of a run did overlap: the checks are not vacuous.
    ingest_spans = st.query(
        "SELECT start_date, end_date FROM task_instance WHERE dag_id = %s AND task_id LIKE 'ingest_%%' "
        "AND end_date IS NOT NULL",
        QUARTERLY,
    )
    assert _max_overlap(ingest_spans) >= 2
