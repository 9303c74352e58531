"""Issue #19: the quick check — a stored file whose listing size and modified minute are those recorded when a
GET fetched or re-validated it after that minute is not requested again; anything else still goes through the
conditional GET. Against a private copy of the mirror and its own server (files dated a day back), the
requests counted from the server's log."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from alembic import command
from sqlalchemy import select, update
from typer.testing import CliRunner

from tests.fixtures.core import settings_env
from tests.fixtures.mirror import MIRROR_STATIONS, FreshMirror
from weatherinsight.cli import app
from weatherinsight.dwd.client import RemoteEntry, parse_listing
from weatherinsight.dwd.products import get_product
from weatherinsight.ingest import IngestResult, ingest_product
from weatherinsight.ingest.plan import aware, listing_unchanged
from weatherinsight.mirror.layout import product_dir
from weatherinsight.mirror.server import MirrorHTTPServer
from weatherinsight.mirror.simulate import release_recent
from weatherinsight.settings import Settings
from weatherinsight.warehouse import db
from weatherinsight.warehouse.tables import ingestion_runs, raw_files

FF = get_product("wind")
#: wind/recent: a zip per station and the station list.
FILES = MIRROR_STATIONS + 1
rf = raw_files.c


def _recent(root: Path) -> Path:
    return product_dir(root, FF, "recent")


def _file_gets(server: MirrorHTTPServer) -> dict[str, int]:
    """Status of each file GET the server answered (file name → status); listings left out."""
    out: dict[str, int] = {}
    for method, path, status in server.requests:
        if method == "GET" and not path.endswith("/"):
            assert path.rsplit("/", 1)[1] not in out, f"{path} requested twice"
            out[path.rsplit("/", 1)[1]] = status
    return out


def _listing_gets(server: MirrorHTTPServer) -> list[str]:
    return [path for method, path, _ in server.requests if method == "GET" and path.endswith("/")]


def _rows(settings: Settings) -> dict[str, dict[str, Any]]:
    with db.get_engine(settings.database_url).connect() as conn:
        rows = conn.execute(select(raw_files).where(rf.status != "superseded")).mappings()
        return {r["file_name"]: dict(r) for r in rows}


def _counts(r: IngestResult) -> tuple[int, ...]:
    return (r.files_listed, r.files_new, r.files_changed, r.files_unchanged, r.files_quick_checked)


def _ingest(settings: Settings, server: MirrorHTTPServer) -> IngestResult:
    server.clear_log()
    return ingest_product(settings, FF.name, period="recent")


def _minute(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC).replace(second=0, microsecond=0)


@pytest.fixture
def fresh_settings(fresh_mirror: FreshMirror, mirror_settings_for: Callable[..., Settings]) -> Settings:
    return mirror_settings_for(fresh_mirror.url)


def test_the_rule() -> None:
    minute = datetime(2026, 12, 6, 11, 40, tzinfo=UTC)
    entry = RemoteEntry("x.zip", "http://h/x.zip", False, 100, minute)
    row = {"listed_size": 100, "listed_modified": minute, "validated_at": minute + timedelta(seconds=60)}
    assert listing_unchanged(entry, row)
    assert listing_unchanged(entry, {**row, "listed_modified": minute.replace(tzinfo=None)})  # naive = UTC
    assert not listing_unchanged(entry, {**row, "validated_at": minute + timedelta(seconds=59.999)})
    assert not listing_unchanged(entry, {**row, "listed_size": 101})
    assert not listing_unchanged(entry, {**row, "listed_modified": minute - timedelta(minutes=1)})
    assert not listing_unchanged(entry, {**row, "listed_size": None})  # a row from before migration 0009
    assert not listing_unchanged(entry, {**row, "validated_at": None})
    assert not listing_unchanged(RemoteEntry("x.zip", "http://h/x.zip", False, None, minute), row)
    assert not listing_unchanged(RemoteEntry("x.zip", "http://h/x.zip", False, 100, None), row)
    assert not listing_unchanged(entry, None)


def test_an_unchanged_mirror_is_ingested_again_without_a_file_request(
    db_url: str, fresh_mirror: FreshMirror, mirror_settings_for: Callable[..., Settings]
) -> None:
    settings = mirror_settings_for(fresh_mirror.url, db_url)
    server = fresh_mirror.server
    before = datetime.now(UTC)
    first = _ingest(settings, server)
    assert _counts(first) == (FILES, FILES, 0, 0, 0)
    assert set(_file_gets(server).values()) == {200} and len(_file_gets(server)) == FILES
    rows = _rows(settings)
    for path in _recent(fresh_mirror.root).iterdir():
        st = path.stat()
        row = rows[path.name]
        assert (row["listed_size"], aware(row["listed_modified"])) == (st.st_size, _minute(st.st_mtime))
        assert before <= aware(row["validated_at"]) <= datetime.now(UTC)  # type: ignore[operator]

    again = _ingest(settings, server)
    assert _counts(again) == (FILES, 0, 0, FILES, FILES)
    assert (again.bytes_downloaded, again.raw_versions) == (0, first.raw_versions)
    assert _file_gets(server) == {}
    assert _listing_gets(server) == [
        f"/climate_environment/CDC/observations_germany/climate/hourly/{FF.directory}/recent/"
    ]
    assert _rows(settings) == rows  # nothing recorded for a skipped file
    with db.get_engine(settings.database_url).connect() as conn:
        run = conn.execute(select(ingestion_runs).where(ingestion_runs.c.id == again.run_id)).mappings().one()
    assert (run["files_unchanged"], run["files_quick_checked"], run["files_new"]) == (FILES, FILES, 0)


def test_a_changed_listing_entry_is_requested(fresh_mirror: FreshMirror, fresh_settings: Settings) -> None:
    server, recent = fresh_mirror.server, _recent(fresh_mirror.root)
    _ingest(fresh_settings, server)
    old = {p.name: (p.read_bytes(), p.stat()) for p in recent.iterdir()}
    old_entries = {e.name: e for e in parse_listing(_index(server), server.url)}

    # A new release written with its real (new) time: every rewritten file's listing entry changes.
    release_recent(fresh_mirror.root)
    new = {p.name: p.read_bytes() for p in recent.iterdir()}
    rewritten = sorted(n for n in new if recent.joinpath(n).stat().st_mtime != old[n][1].st_mtime)
    changed = sorted(n for n in new if new[n] != old[n][0])
    assert len(changed) >= MIRROR_STATIONS - 1 and set(changed) <= set(rewritten)
    entries = {e.name: e for e in parse_listing(_index(server), server.url)}
    assert {n for n in entries if entries[n] != old_entries[n]} == set(rewritten)
    published = time.time() - 7200  # published two hours before this ingest: no GET within its minute
    for name in rewritten:
        os.utime(recent / name, (published, published))
    result = _ingest(fresh_settings, server)
    assert sorted(_file_gets(server)) == rewritten and set(_file_gets(server).values()) == {200}
    assert (result.files_changed, result.files_quick_checked) == (len(changed), FILES - len(rewritten))

    # Same bytes and size, another modified time (an hour back: a minute of its own): requested, and the same
    # bytes count as unchanged.
    victim = next(n for n in changed if n.endswith(".zip"))  # its previous release: other bytes
    stamp = (time.time() - 3600) // 60 * 60 + 10  # 10 s into its minute: stamp + 1 is in the same one
    os.utime(recent / victim, (stamp, stamp))
    result = _ingest(fresh_settings, server)
    assert _file_gets(server) == {victim: 200}
    assert (result.files_changed, result.files_unchanged, result.files_quick_checked) == (0, FILES, FILES - 1)

    # Other bytes of another size within the listed minute the row recorded (validated after that minute, so
    # only the size tells): requested.
    row = _rows(fresh_settings)[victim]
    listed = aware(row["listed_modified"])
    assert listed == _minute(stamp) and aware(row["validated_at"]) >= listed + timedelta(minutes=1)  # type: ignore[operator]
    (recent / victim).write_bytes(old[victim][0])  # the previous release's bytes: a valid zip, another size
    os.utime(recent / victim, (stamp + 1, stamp + 1))
    assert len(old[victim][0]) != row["listed_size"] and _minute(stamp + 1) == listed
    result = _ingest(fresh_settings, server)
    assert _file_gets(server) == {victim: 200}
    assert (result.files_changed, result.files_quick_checked) == (1, FILES - 1)


def _index(server: MirrorHTTPServer) -> str:
    return httpx.get(f"{server.base_url}{FF.directory}/recent/").text


def test_a_file_fetched_within_its_listed_minute_is_revalidated(
    fresh_mirror: FreshMirror, fresh_settings: Settings
) -> None:
    server, recent = fresh_mirror.server, _recent(fresh_mirror.root)
    into_minute = time.time() % 60
    if into_minute >= 50:  # both ingests below must run within the minute the files show
        time.sleep(60.5 - into_minute)
    now = time.time()
    for path in recent.iterdir():
        os.utime(path, (now, now))
    _ingest(fresh_settings, server)
    first = _rows(fresh_settings)
    again = _ingest(fresh_settings, server)
    assert _file_gets(server) == {n: 304 for n in first}  # a change later in the same minute could hide
    assert (again.files_unchanged, again.files_quick_checked) == (FILES, 0)
    assert _minute(time.time()) == _minute(now), "the test ran past the files' minute"
    # The 304s recorded the listing once more, with the later validation time.
    later = _rows(fresh_settings)
    for name, row in later.items():
        assert aware(row["validated_at"]) > aware(first[name]["validated_at"])  # type: ignore[operator]
        assert (row["listed_size"], row["listed_modified"]) == (
            first[name]["listed_size"],
            first[name]["listed_modified"],
        )


def test_quick_check_off_or_revalidate_sends_a_conditional_get_per_file(
    fresh_mirror: FreshMirror, mirror_settings_for: Callable[..., Settings]
) -> None:
    server = fresh_mirror.server
    off = mirror_settings_for(fresh_mirror.url, ingest={"quick_check": False})
    _ingest(off, server)
    first = _rows(off)
    result = _ingest(off, server)
    assert _file_gets(server) == {n: 304 for n in first}
    assert (result.files_unchanged, result.files_quick_checked) == (FILES, 0)
    revalidated = _rows(off)
    assert all(revalidated[n]["validated_at"] > first[n]["validated_at"] for n in first)

    # The CLI flag on a configuration that has the quick check on: one conditional GET per file again.
    on = mirror_settings_for(fresh_mirror.url)
    assert on.ingest.quick_check and on.database_url == off.database_url
    server.clear_log()
    out = CliRunner().invoke(
        app,
        ["ingest", "--product", FF.name, "--period", "recent", "--revalidate", "--no-progress"],
        env=settings_env(on),
    )
    assert out.exit_code == 0, out.output
    assert _file_gets(server) == {n: 304 for n in first}
    assert all(_rows(on)[n]["validated_at"] > revalidated[n]["validated_at"] for n in first)
    # listed, new, changed, unchanged, failed, quick-checked
    assert [f"{FILES} │ 0 │ 0 │ {FILES} │ 0 │ 0"] == [
        " │ ".join(c.strip() for c in line.strip("│ ").split("│")[:6])
        for line in out.output.splitlines()
        if line.startswith("│")
    ]

    # Without the flag the values recorded by those GETs let the next run skip every file.
    result = _ingest(on, server)
    assert (_file_gets(server), result.files_quick_checked) == ({}, FILES)


def test_a_row_from_before_the_migration_is_revalidated_once(
    db_url: str, fresh_mirror: FreshMirror, mirror_settings_for: Callable[..., Settings]
) -> None:
    fresh_settings = mirror_settings_for(fresh_mirror.url, db_url)
    server = fresh_mirror.server
    _ingest(fresh_settings, server)
    engine = db.get_engine(fresh_settings.database_url)
    with engine.connect() as conn:  # the schema of before: the rows lose the listing columns
        command.downgrade(db.alembic_config(conn), "0008_raw_member_range")
        conn.commit()
    result = _ingest(fresh_settings, server)  # migrates to head: the columns come back NULL
    assert db.current_revision(fresh_settings.database_url) == db.head_revision()
    assert _file_gets(server) == {n: 304 for n in _rows(fresh_settings)}
    assert (result.files_unchanged, result.files_quick_checked) == (FILES, 0)
    assert all(
        r["listed_size"] is not None and r["validated_at"] is not None for r in _rows(fresh_settings).values()
    )
    result = _ingest(fresh_settings, server)
    assert (_file_gets(server), result.files_quick_checked) == ({}, FILES)


def test_a_quarantined_file_stays_quarantined_and_a_lost_one_is_fetched(
    fresh_mirror: FreshMirror, fresh_settings: Settings
) -> None:
    server = fresh_mirror.server
    _ingest(fresh_settings, server)
    rows = _rows(fresh_settings)
    zips = sorted(n for n in rows if n.endswith(".zip"))
    bad, lost = zips[0], zips[1]
    with db.get_engine(fresh_settings.database_url).begin() as conn:  # what staging does with bad bytes
        conn.execute(update(raw_files).where(rf.id == rows[bad]["id"]).values(status="quarantined"))
    from weatherinsight.storage.raw import RawStore

    store = RawStore.from_settings(fresh_settings)
    Path(store.path(FF.name, "recent", lost)).unlink()
    result = _ingest(fresh_settings, server)
    assert _file_gets(server) == {lost: 200}  # the store lost it: fetched without validators
    assert (result.files_new, result.files_unchanged, result.files_quick_checked) == (1, FILES - 1, FILES - 1)
    after = _rows(fresh_settings)
    assert after[bad]["status"] == "quarantined" and after[bad]["id"] == rows[bad]["id"]
    assert {n: r["status"] for n, r in after.items() if n != bad} == dict.fromkeys(
        set(rows) - {bad}, "current"
    )
