"""ingest_product against the real mirror server: incremental runs, releases, faults, failure share, DBs."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.fixtures.mirror import MIRROR_STATIONS, FreshMirror
from weatherinsight.dwd.products import get_product
from weatherinsight.errors import RunFailedError
from weatherinsight.ingest import ingest_product
from weatherinsight.mirror.layout import product_dir
from weatherinsight.mirror.server import MirrorHTTPServer
from weatherinsight.mirror.simulate import release_recent
from weatherinsight.settings import Settings
from weatherinsight.storage.raw import RawStore
from weatherinsight.warehouse import db
from weatherinsight.warehouse.tables import dataset_versions, ingestion_runs, raw_files

TU = get_product("air_temperature")
#: One product: a zip per station and period, plus the station list in each period.
FILES = 2 * MIRROR_STATIONS + 2


def _mirror_files(root: Path, period: str) -> dict[str, bytes]:
    return {
        p.name: p.read_bytes() for p in product_dir(root, TU, period).iterdir() if not p.name.startswith(".")
    }


def _assert_store_equals_mirror(settings: Settings, root: Path) -> None:
    store = RawStore.from_settings(settings)
    for period in ("historical", "recent"):
        expected = _mirror_files(root, period)
        assert store.list_files(TU.name, period) == sorted(expected)
        for name, data in expected.items():
            assert store.read(TU.name, period, name) == data, name


def _runs(settings: Settings) -> list[dict[str, object]]:
    with db.get_engine(settings.database_url).connect() as conn:
        return [
            dict(r) for r in conn.execute(select(ingestion_runs).order_by(ingestion_runs.c.id)).mappings()
        ]


def test_first_run_downloads_all_second_run_nothing(mirror_settings: Settings, mirror_dir: Path) -> None:
    first = ingest_product(mirror_settings, "air_temperature")
    total = sum(len(b) for p in ("historical", "recent") for b in _mirror_files(mirror_dir, p).values())
    assert (first.status, first.files_listed, first.files_new, first.files_failed) == (
        "succeeded",
        FILES,
        FILES,
        0,
    )
    assert first.bytes_downloaded == total
    _assert_store_equals_mirror(mirror_settings, mirror_dir)
    second = ingest_product(mirror_settings, "air_temperature")
    assert (second.files_unchanged, second.files_new, second.files_changed, second.bytes_downloaded) == (
        FILES,
        0,
        0,
        0,
    )
    assert second.raw_versions == first.raw_versions and all(
        v.endswith("_raw_v1") for v in first.raw_versions
    )
    runs = _runs(mirror_settings)
    assert [(r["status"], r["files_new"], r["files_unchanged"], r["bytes_downloaded"]) for r in runs] == [
        ("succeeded", FILES, 0, total),
        ("succeeded", 0, FILES, 0),
    ]
    with db.get_engine(mirror_settings.database_url).connect() as conn:
        rows = conn.execute(select(raw_files)).mappings().all()
    assert len(rows) == FILES and {r["status"] for r in rows} == {"current"}
    assert {r["ingestion_run_id"] for r in rows} == {runs[0]["id"]}
    for r in rows:
        data = _mirror_files(mirror_dir, r["period"])[r["file_name"]]
        assert (r["size"], r["sha256"]) == (len(data), hashlib.sha256(data).hexdigest())
        assert r["etag"] and r["last_modified"] is not None


def test_new_release_is_fetched_and_old_bytes_kept(
    fresh_mirror: FreshMirror, mirror_settings_for: Callable[..., Settings]
) -> None:
    settings = mirror_settings_for(fresh_mirror.url)
    ingest_product(settings, "air_temperature")
    old_recent = _mirror_files(fresh_mirror.root, "recent")
    release_recent(fresh_mirror.root)
    new_recent = _mirror_files(fresh_mirror.root, "recent")
    changed = sorted(n for n in new_recent if new_recent[n] != old_recent[n])
    assert len(changed) >= MIRROR_STATIONS  # every active station's zip and the station list
    result = ingest_product(settings, "air_temperature")
    assert (result.files_changed, result.files_unchanged, result.files_new) == (
        len(changed),
        FILES - len(changed),
        0,
    )
    assert result.bytes_downloaded == sum(len(new_recent[n]) for n in changed)
    _assert_store_equals_mirror(settings, fresh_mirror.root)
    store = RawStore.from_settings(settings)
    history = store.history(TU.name, "recent")
    assert sorted(h.split("_", 1)[1] for h in history) == changed
    for h in history:
        name = h.split("_", 1)[1]
        assert hashlib.sha256(old_recent[name]).hexdigest().startswith(h.split("_", 1)[0])
    with db.get_engine(settings.database_url).connect() as conn:
        statuses = conn.execute(
            select(raw_files.c.status, func.count()).group_by(raw_files.c.status).order_by(raw_files.c.status)
        ).all()
        versions = conn.execute(
            select(dataset_versions.c.version_name, dataset_versions.c.status).where(
                dataset_versions.c.kind == "raw"
            )
        ).all()
    assert dict(statuses) == {"current": FILES, "superseded": len(changed)}
    v2 = {name for name, status in versions if name.endswith("_raw_v2")}
    assert v2 and all(status == "AVAILABLE" for name, status in versions if name in v2)
    assert {name.replace("_v2", "_v1") for name in v2} <= {n for n, s in versions if s == "SUPERSEDED"}


@pytest.mark.parametrize("kind", ["429", "503", "reset", "truncate", "slow"])
def test_transient_faults_end_with_all_files_intact(
    mirror_server: MirrorHTTPServer, mirror_settings: Settings, mirror_dir: Path, kind: str
) -> None:
    # Every zip fails twice (max_attempts is 4 in the fast test config); "slow" passes the 2 s timeout, so it
    # is put on two files once each to keep the test quick.
    zips = sorted(
        n for p in ("historical", "recent") for n in _mirror_files(mirror_dir, p) if n.endswith(".zip")
    )
    victims, times = (zips[:2], 1) if kind == "slow" else (zips, 2)
    for name in victims:
        mirror_server.faults.add(kind, f"*/{name}", times=times, retry_after=0.01, delay=2.3)
    result = ingest_product(mirror_settings, "air_temperature")
    assert (result.status, result.files_new, result.files_failed) == ("succeeded", FILES, 0)
    _assert_store_equals_mirror(mirror_settings, mirror_dir)
    assert [k for k, _ in mirror_server.faults.fired] == [kind] * (len(victims) * times)
    assert mirror_server.faults.rules() == []


def test_permanent_failure_names_the_file_and_leaves_no_partial_file(
    mirror_server: MirrorHTTPServer, mirror_settings_for: Callable[..., Settings], mirror_url: str
) -> None:
    # One zip always breaks mid-body: 1 failure in 12 is above the default 5 % share → the run fails.
    victim = _names(mirror_server)[0]
    mirror_server.faults.add("truncate", f"*/{victim}")
    settings = mirror_settings_for(mirror_url)
    with pytest.raises(RunFailedError) as err:
        ingest_product(settings, "air_temperature")
    assert f"recent/{victim}: download failed for {mirror_url}air_temperature/recent/{victim}" in str(
        err.value
    )
    assert "1 of 12 files failed (8.3% > max_failure_share 5.0%)" in str(err.value)
    store = RawStore.from_settings(settings)
    assert victim not in store.list_files(TU.name, "recent") and len(store.list_files(TU.name, "recent")) == 5
    local = Path(store.root) / "dwd" / TU.name / "recent"
    assert sorted(p.name for p in local.iterdir()) == store.list_files(
        TU.name, "recent"
    )  # no temp/partial files
    run = _runs(settings)[-1]
    assert (run["status"], run["files_failed"], run["files_new"]) == ("failed", 1, FILES - 1)
    assert victim in str(run["error_summary"])


def _names(server: MirrorHTTPServer) -> list[str]:
    return sorted(p.name for p in product_dir(server.root, TU, "recent").glob("*_akt.zip"))


def test_failure_under_the_share_is_partial(
    mirror_server: MirrorHTTPServer,
    mirror_settings_for: Callable[..., Settings],
    mirror_url: str,
) -> None:
    mirror_server.faults.add("phantom", "*/air_temperature/recent/")
    settings = mirror_settings_for(mirror_url, ingest={"max_failure_share": 0.1})
    result = ingest_product(settings, "air_temperature")
    assert (result.status, result.files_listed, result.files_new, result.files_failed) == (
        "partial",
        13,
        12,
        1,
    )
    assert [f.file_name for f in result.failures] == ["stundenwerte_TU_99999_akt.zip"]
    assert "HTTP 404 (permanent, not retried)" in result.failures[0].reason
    assert "recent/stundenwerte_TU_99999_akt.zip: download failed" in str(
        _runs(settings)[-1]["error_summary"]
    )


def test_empty_listing_deletes_nothing(mirror_server: MirrorHTTPServer, mirror_settings: Settings) -> None:
    ingest_product(mirror_settings, "air_temperature")
    mirror_server.faults.add("empty_listing", "*/air_temperature/*")
    result = ingest_product(mirror_settings, "air_temperature")
    assert (result.status, result.files_listed, result.files_failed) == ("succeeded", 0, 0)
    assert len(result.warnings) == 2 and "nothing was deleted or marked gone" in result.warnings[0]
    store = RawStore.from_settings(mirror_settings)
    assert len(store.list_files(TU.name, "recent")) == len(store.list_files(TU.name, "historical")) == 6
    with db.get_engine(mirror_settings.database_url).connect() as conn:
        assert conn.execute(select(func.count()).where(raw_files.c.status == "current")).scalar_one() == FILES


def test_failed_listing_fails_the_run(mirror_server: MirrorHTTPServer, mirror_settings: Settings) -> None:
    mirror_server.faults.add("503", "*/air_temperature/historical/")
    with pytest.raises(RunFailedError) as err:
        ingest_product(mirror_settings, "air_temperature")
    assert "a directory listing could not be read" in str(err.value) and "historical/(listing)" in str(
        err.value
    )
    assert _runs(mirror_settings)[-1]["files_new"] == MIRROR_STATIONS + 1  # recent still arrived


def test_stations_and_period_filter(mirror_settings: Settings, mirror_dir: Path) -> None:
    ids = sorted(int(n.split("_")[2]) for n in _mirror_files(mirror_dir, "recent") if n.endswith(".zip"))[:2]
    result = ingest_product(mirror_settings, "TU", period="recent", stations=ids)
    assert result.files_new == 3  # two zips and the station list
    assert RawStore.from_settings(mirror_settings).list_files(TU.name, "historical") == []


def test_every_database_records_the_run(
    db_url: str, mirror_url: str, mirror_settings_for: Callable[..., Settings]
) -> None:
    settings = mirror_settings_for(mirror_url, db_url)
    result = ingest_product(settings, "wind", period="recent")
    with db.get_engine(settings.database_url).connect() as conn:
        run = conn.execute(select(ingestion_runs)).mappings().one()
        n_files = conn.execute(select(func.count()).select_from(raw_files)).scalar_one()
        raw_versions = conn.execute(
            select(func.count()).where(dataset_versions.c.kind == "raw", dataset_versions.c.product == "wind")
        ).scalar_one()
    assert (run["product"], run["period"], run["status"]) == ("wind", "recent", "succeeded")
    assert (run["files_listed"], run["files_new"], run["files_failed"]) == (MIRROR_STATIONS + 1,) * 2 + (0,)
    assert run["bytes_downloaded"] == result.bytes_downloaded > 0 and run["finished_at"] is not None
    assert n_files == MIRROR_STATIONS + 1 and raw_versions == len(result.raw_versions) >= 6


def test_quarter_limits_historical_zips_and_names_the_raw_version(
    mirror_settings: Settings, mirror_dir: Path
) -> None:
    from weatherinsight.quarters import Quarter

    q = Quarter.last_complete()
    result = ingest_product(mirror_settings, "air_temperature", quarter=q)
    hist = [n for n in _mirror_files(mirror_dir, "historical") if n.endswith(".zip")]
    overlapping = [
        n
        for n in hist
        if n.split("_")[3] <= q.end.strftime("%Y%m%d") and n.split("_")[4] >= q.start.strftime("%Y%m%d")
    ]
    assert result.files_new == len(overlapping) + MIRROR_STATIONS + 2
    assert result.raw_versions == [f"{q.year}Q{q.quarter}_raw_v1"]


def test_lost_store_file_is_fetched_again_and_lost_rows_recorded_again(
    mirror_settings: Settings, mirror_settings_for: Callable[..., Settings], mirror_url: str, data_dir: Path
) -> None:
    ingest_product(mirror_settings, "air_temperature")
    store = RawStore.from_settings(mirror_settings)
    victim = store.list_files(TU.name, "recent")[0]
    Path(store.path(TU.name, "recent", victim)).unlink()
    again = ingest_product(mirror_settings, "air_temperature")
    assert (again.files_new, again.files_unchanged) == (1, FILES - 1)
    assert victim in store.list_files(TU.name, "recent")
    # A new database over the same store: nothing is rewritten, every file gets its raw_files row again.
    other = mirror_settings_for(mirror_url, f"sqlite:///{data_dir / 'other.db'}")
    third = ingest_product(other, "air_temperature")
    assert (third.files_unchanged, third.files_new) == (FILES, 0)
    with db.get_engine(other.database_url).connect() as conn:
        assert conn.execute(select(func.count()).select_from(raw_files)).scalar_one() == FILES


@pytest.mark.parametrize("pool", [1, 3])
def test_concurrency_is_bounded_by_the_api_calls_pool(
    mirror_server: MirrorHTTPServer,
    mirror_settings_for: Callable[..., Settings],
    mirror_url: str,
    pool: int,
) -> None:
    mirror_server.faults.add("slow", "*/wind/*.zip", delay=0.4)  # every zip takes a while: requests overlap
    settings = mirror_settings_for(mirror_url, pools={"api_calls": pool})
    result = ingest_product(settings, "wind", period="recent")
    assert result.files_new == MIRROR_STATIONS + 1
    assert mirror_server.max_in_flight == pool


def test_quarantined_file_is_not_fetched_or_revived(mirror_settings: Settings) -> None:
    from sqlalchemy import update

    ingest_product(mirror_settings, "air_temperature")
    engine = db.get_engine(mirror_settings.database_url)
    with engine.begin() as conn:  # what staging does with a file it cannot parse
        victim = (
            conn.execute(select(raw_files.c.id).where(raw_files.c.station_id.is_not(None))).scalars().first()
        )
        conn.execute(
            update(raw_files)
            .where(raw_files.c.id == victim)
            .values(status="quarantined", quarantine_reason="bad")
        )
    again = ingest_product(mirror_settings, "air_temperature")
    assert (again.files_unchanged, again.bytes_downloaded) == (FILES, 0)
    with engine.connect() as conn:
        assert (
            conn.execute(select(raw_files.c.status).where(raw_files.c.id == victim)).scalar_one()
            == "quarantined"
        )
        assert conn.execute(select(func.count()).select_from(raw_files)).scalar_one() == FILES
