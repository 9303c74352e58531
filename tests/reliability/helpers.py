"""What the reliability probes count after a trial: versions per fingerprint, raw_files rows, stale runs."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

from sqlalchemy import Engine, func, select

from tests.conftest import REPO
from tests.fixtures.core import settings_env
from weatherinsight.settings import Settings
from weatherinsight.warehouse import db
from weatherinsight.warehouse.tables import dataset_versions, ingestion_runs, raw_files


def _engine(settings: Settings) -> Engine:
    # a run killed before it created the schema leaves an empty database: count on the real schema anyway
    engine = db.get_engine(settings.database_url)
    db.ensure_schema(engine)
    return engine


def cli(settings: Settings, *args: str) -> subprocess.Popen[str]:
    """Start ``weatherinsight <args>`` as its own process on ``settings`` (output captured)."""
    env = {**os.environ, **settings_env(settings), "COLUMNS": "200"}
    return subprocess.Popen(
        [sys.executable, "-c", "from weatherinsight.cli import main; main()", *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def duplicated_fingerprints(settings: Settings) -> list[tuple[str, str, int, int, str]]:
    """(kind, product, year, quarter, fingerprint) built into more than one non-FAILED version."""
    dv = dataset_versions.c
    with _engine(settings).connect() as conn:
        rows = conn.execute(
            select(dv.kind, dv.product, dv.year, dv.quarter, dv.input_fingerprint).where(
                dv.status != "FAILED"
            )
        ).all()
    counts = Counter(tuple(r) for r in rows)
    return [k for k, n in counts.items() if n > 1]


def versions(settings: Settings, kind: str) -> dict[str, str]:
    """version name → status of every ``kind`` version."""
    dv = dataset_versions.c
    with _engine(settings).connect() as conn:
        return {
            r.version_name: r.status
            for r in conn.execute(select(dv.version_name, dv.status).where(dv.kind == kind))
        }


def raw_file_rows(settings: Settings) -> tuple[int, int]:
    """(rows of raw_files, distinct (product, period, file name)) — equal when nothing was recorded twice."""
    rf = raw_files.c
    with _engine(settings).connect() as conn:
        total = conn.execute(select(func.count()).select_from(raw_files)).scalar_one()
        distinct = conn.execute(
            select(func.count()).select_from(
                select(rf.product, rf.period, rf.file_name).distinct().subquery()
            )
        ).scalar_one()
    return int(total), int(distinct)


def run_statuses(settings: Settings, product: str | None = None) -> list[str]:
    """The status of every ingestion run (of ``product`` when given), oldest first."""
    ir = ingestion_runs.c
    stmt = select(ir.status).order_by(ir.id)
    if product is not None:
        stmt = stmt.where(ir.product == product)
    with _engine(settings).connect() as conn:
        return [r.status for r in conn.execute(stmt)]


def stale_tmp_dirs(settings: Settings) -> list[Path]:
    """Run directories left under ``staged/.tmp/``."""
    root = Path(settings.staged_dir) / ".tmp"
    return sorted(p for p in root.glob("*/*") if p.is_dir()) if root.is_dir() else []
