"""A run killed between storing a changed file and recording it (SQLite and PostgreSQL).

A new release of one recent zip; an ingest in a forked child is SIGKILLed as soon as ``RawStore.commit`` has
replaced the file (the old bytes kept under ``_history/`` first) — the other files answer late, so the batch
recording the file (flushed every 100 files or 2 s) has not been written: the store holds the new bytes, the
``raw_files`` row still the old sha256, size and validators. Then a normal ingest: the file is fetched again,
counted ``changed``, its row superseded by one with the stored bytes' sha256 and size, the quarter's raw
version moves on exactly once, and staging of the quarter reads the new value.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow.compute as pc
from sqlalchemy import select

from tests.fixtures.mirror import FreshMirror
from tests.reliability.forked import kill_when, run_in_child
from weatherinsight.dwd.products import get_product
from weatherinsight.ingest import IngestResult, ingest_product
from weatherinsight.mirror.layout import product_dir
from weatherinsight.quarters import Quarter
from weatherinsight.settings import Settings
from weatherinsight.staging import stage_product
from weatherinsight.storage.raw import RawStore
from weatherinsight.storage.staged import read_partition
from weatherinsight.warehouse import db
from weatherinsight.warehouse.tables import dataset_versions, raw_files

TU = get_product("air_temperature")
#: The value the new release gives one hour (TT_TU is ``%6.1f`` in the produkt file).
NEW_VALUE = 33.3


def _revise_last_hour(path: Path) -> tuple[int, datetime, float]:
    """Write a new release of the recent zip at ``path``: the produkt's last hour gets ``NEW_VALUE`` and the
    produkt entry a day later timestamp (a later release wins staging's precedence). Its station, that hour
    (UTC) and the old value."""
    out = io.BytesIO()
    with zipfile.ZipFile(path) as old, zipfile.ZipFile(out, "w") as new:
        for info in old.infolist():
            data = old.read(info)
            if info.filename.startswith("produkt_"):
                lines = data.decode("latin-1").splitlines(keepends=True)
                station, stamp, qn, value, rest = lines[-1].split(";", 4)
                lines[-1] = ";".join([station, stamp, qn, f"{NEW_VALUE:6.1f}", rest])
                data = "".join(lines).encode("latin-1")
                when = datetime(*info.date_time) + timedelta(days=1)
                info = zipfile.ZipInfo(info.filename, when.timetuple()[:6])
                info.compress_type = zipfile.ZIP_DEFLATED
                hour, sid, previous = datetime.strptime(stamp, "%Y%m%d%H"), int(station), float(value)
            new.writestr(info, data)
    path.write_bytes(out.getvalue())
    return sid, hour.replace(tzinfo=UTC), previous


def _staged_value(settings: Settings, q: Quarter, sid: int, hour: datetime) -> list[float]:
    t = read_partition(settings.staged_dir, TU.name, q)
    mask = pc.and_(pc.equal(t.column("station_id"), sid), pc.equal(t.column("ts"), hour))
    return [float(v) for v in t.filter(mask).column("temperature").to_pylist()]


def _raw_versions(settings: Settings, q: Quarter) -> list[tuple[str, str]]:
    dv = dataset_versions.c
    with db.get_engine(settings.database_url).connect() as conn:
        rows = conn.execute(
            select(dv.version_name, dv.status)
            .where(dv.kind == "raw", dv.product == TU.name, dv.year == q.year, dv.quarter == q.quarter)
            .order_by(dv.id)
        ).all()
    return [(r.version_name, r.status) for r in rows]


def _rows_of(settings: Settings, name: str) -> list[tuple[str, str, int, int]]:
    rf = raw_files.c
    with db.get_engine(settings.database_url).connect() as conn:
        rows = conn.execute(
            select(rf.status, rf.sha256, rf.size, rf.ingestion_run_id)
            .where(rf.product == TU.name, rf.period == "recent", rf.file_name == name)
            .order_by(rf.id)
        ).all()
    return [tuple(r) for r in rows]


def _ingest(settings: Settings, q: Quarter) -> IngestResult:
    return ingest_product(settings, TU.name, period="recent", quarter=q)


def _stage_and_read(settings: Settings, q: Quarter, sid: int, hour: datetime) -> list[float]:
    stage_product(settings, TU, quarters=[q])
    return _staged_value(settings, q, sid, hour)


def test_changed_file_stored_but_not_recorded_is_recorded_as_changed(
    fresh_mirror: FreshMirror, mirror_settings_for: Callable[..., Settings], db_url: str
) -> None:
    # Every file gets a conditional GET (no quick check): the slow answers below keep the killed run busy.
    settings = mirror_settings_for(
        fresh_mirror.url, db_url, ingest={"quick_check": False, "timeout_seconds": 30.0}
    )
    recent = product_dir(fresh_mirror.root, TU, "recent")
    zips = sorted(recent.glob("*.zip"))
    victim = zips[0]
    old_bytes = victim.read_bytes()
    with zipfile.ZipFile(victim) as zf:
        produkt = next(n for n in zf.namelist() if n.startswith("produkt_"))
        last = zf.read(produkt).decode("latin-1").splitlines()[-1]
    q = Quarter.of(datetime.strptime(last.split(";")[1], "%Y%m%d%H"))

    # Steps before the kill run in forked children (forked.py: the test process opens no thread pool first).
    first = run_in_child(_ingest, settings, q)
    assert (first.files_new, first.raw_versions) == (len(zips) + 1, [f"{q}_raw_v1"])
    sid, hour, old_value = _revise_last_hour(victim)
    assert old_value != NEW_VALUE
    assert run_in_child(_stage_and_read, settings, q, sid, hour) == [old_value]

    # A run killed right after RawStore.commit replaced the victim: every other file answers 5 s late, so the
    # batch holding the victim is not flushed (every 100 files or 2 s, checked when a file completes) yet.
    new_bytes = victim.read_bytes()
    for other in sorted(recent.iterdir()):
        if other != victim and not other.name.startswith("."):
            fresh_mirror.server.faults.add("slow", f"*/recent/{other.name}", delay=5.0)
    store = RawStore.from_settings(settings)
    stored = Path(store.path(TU.name, "recent", victim.name))
    assert kill_when(lambda: stored.read_bytes() == new_bytes, _ingest, settings, q)
    fresh_mirror.server.faults.clear()
    old_sha, new_sha = hashlib.sha256(old_bytes).hexdigest(), hashlib.sha256(new_bytes).hexdigest()
    assert _rows_of(settings, victim.name) == [("current", old_sha, len(old_bytes), first.run_id)]

    again = ingest_product(settings, TU.name, period="recent", quarter=q)
    assert [a.split(" started")[0] for a in again.aborted_runs] == [
        f"run {first.run_id + 1}"
    ]  # the killed one
    assert (again.files_changed, again.files_new, again.files_unchanged) == (1, 0, len(zips))
    assert again.bytes_downloaded == len(new_bytes)
    assert _rows_of(settings, victim.name) == [
        ("superseded", old_sha, len(old_bytes), first.run_id),
        ("current", new_sha, len(new_bytes), again.run_id),
    ]
    # the superseded version's bytes were kept under _history/ before the new bytes replaced them
    assert store.history(TU.name, "recent") == [f"{old_sha[:16]}_{victim.name}"]
    history = Path(store.history_path(TU.name, "recent", victim.name, old_sha))
    assert history.read_bytes() == old_bytes
    assert store.read(TU.name, "recent", victim.name) == new_bytes
    assert again.raw_versions == [f"{q}_raw_v2"]
    assert _raw_versions(settings, q) == [(f"{q}_raw_v1", "SUPERSEDED"), (f"{q}_raw_v2", "AVAILABLE")]

    staged = stage_product(settings, TU, quarters=[q], parent_raw_version=again.raw_version_of[q])
    assert staged.quarters_written == [str(q)]
    assert _staged_value(settings, q, sid, hour) == [NEW_VALUE]

    third = ingest_product(settings, TU.name, period="recent", quarter=q)  # the change counted once
    assert (third.files_changed, third.raw_versions) == (0, [f"{q}_raw_v2"])
    assert len(_rows_of(settings, victim.name)) == 2 and len(_raw_versions(settings, q)) == 2
