"""Two ``weatherinsight run`` processes on the same product and quarter at once (issue #14, defect 1).

Each trial starts on an empty database and data dir; two racer processes (``racer.py``) start the real CLI
``run <quarter> --products air_temperature`` together: both ingest, stage and aggregate the same inputs. The
per-product (× quarter) locks make the second one wait and then find everything unchanged, so there is
exactly one version per input fingerprint, one raw_files row per file and two succeeded ingestion runs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.fixtures.core import make_settings, settings_env
from tests.reliability.conftest import PRODUCT
from tests.reliability.helpers import duplicated_fingerprints, raw_file_rows, run_statuses, versions
from weatherinsight.mirror.server import MirrorHTTPServer
from weatherinsight.periods import periods_ending_in
from weatherinsight.quarters import Quarter
from weatherinsight.settings import Settings
from weatherinsight.warehouse import db

TRIALS = 5  # per database: 10 in all


def _databases(backend: str, request: pytest.FixtureRequest) -> list[str | None]:
    if backend == "sqlite":
        return [None] * TRIALS
    admin = request.getfixturevalue("pg_server")
    import psycopg

    names = [f"wi_race_{os.getpid()}_{k}" for k in range(TRIALS)]
    with psycopg.connect(admin, autocommit=True) as conn:
        for n in names:
            conn.execute(f'DROP DATABASE IF EXISTS "{n}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{n}"')
    request.addfinalizer(lambda: _drop(admin, names))
    base = admin.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    return [f"{base}/{n}" for n in names]


def _drop(admin: str, names: list[str]) -> None:
    import psycopg

    db.dispose_engines()
    with psycopg.connect(admin, autocommit=True) as conn:
        for n in names:
            conn.execute(f'DROP DATABASE IF EXISTS "{n}" WITH (FORCE)')


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_two_concurrent_runs_publish_one_version(
    backend: str, tiny_mirror: MirrorHTTPServer, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    q = Quarter.last_complete()
    trials: list[Settings] = []
    for k, url in enumerate(_databases(backend, request)):
        data_dir = tmp_path / f"trial{k}"
        data_dir.mkdir()
        extra = {} if url is None else {"database_url": url}
        trials.append(make_settings(data_dir, dwd_base_url=tiny_mirror.base_url, **extra))
    spec = [
        {
            "args": ["run", str(q), "--products", PRODUCT, "--no-progress"],
            "env": {**settings_env(s), "COLUMNS": "200"},
        }
        for s in trials
    ]
    (tmp_path / "trials.json").write_text(json.dumps(spec))
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    racers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.reliability.racer",
                str(tmp_path / "trials.json"),
                name,
                str(barrier),
            ],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        for name in ("a", "b")
    ]
    outputs = [r.communicate(timeout=540)[0].splitlines() for r in racers]
    assert [r.returncode for r in racers] == [0, 0], outputs
    for k, s in enumerate(trials):
        for lines in outputs:
            got = json.loads(lines[k])
            assert got["exception"] is None and got["code"] == 0, (k, got)
        outcomes = sorted(
            "unchanged" if "│ unchanged │" in json.loads(lines[k])["output"] else "succeeded"
            for lines in outputs
        )
        assert outcomes == ["succeeded", "unchanged"], (k, outputs)
        # the quarter and its three months (issue #18; seasons and years need quarters this run does not stage)
        months = {f"{p}_v1": "AVAILABLE" for p in periods_ending_in(q, ("month",))}
        assert versions(s, "curated") == {f"{q}_v1": "AVAILABLE", **months}, k
        assert versions(s, "staged") == {f"{q}_staged_v1": "AVAILABLE"}, k
        assert versions(s, "raw") == {f"{q}_raw_v1": "AVAILABLE"}, k
        assert duplicated_fingerprints(s) == [], k
        total, distinct = raw_file_rows(s)
        assert total == distinct > 0, (k, total, distinct)
        # (the run also tries the daily KL values air_temperature reads; the tiny mirror has none: those
        # ingestion runs fail, are logged, and leave the product's run alone)
        assert run_statuses(s, PRODUCT) == ["succeeded", "succeeded"], k
    db.dispose_engines()
