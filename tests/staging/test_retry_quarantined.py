"""``retry_quarantined`` / ``weatherinsight stage --retry-quarantined``: quarantined files parsed again.

The "parser improved" case is played honestly with the same bytes: the first runs use a configuration whose
zip-bomb guard (``ingest.max_uncompressed_bytes``) is lower than one station's zip, so that zip is
quarantined; the retry runs with the normal limit, which accepts those unchanged bytes. A file that is not a
zip at all stays quarantined, with its quarantine copy untouched.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from typer.testing import CliRunner

from tests.staging.conftest import put, restaged
from tests.staging.test_cli import env
from tests.staging.test_time_reference import station_zip
from weatherinsight.cli import app
from weatherinsight.dwd.products import get_product
from weatherinsight.quarters import Quarter
from weatherinsight.settings import Settings
from weatherinsight.staging import STATE_FILE, FileOutcome, release_quarantined, stage_product
from weatherinsight.storage.staged import read_partition
from weatherinsight.vocabulary import Status
from weatherinsight.warehouse import db
from weatherinsight.warehouse.tables import dataset_versions, raw_files

TU = "air_temperature"
START = datetime(1995, 1, 1, tzinfo=UTC)
#: 1995Q1 in full (90 days), all in the UTC period of the Metadaten_Parameter lines: no shift.
BIG_ROWS = {int((START + timedelta(hours=h)).strftime("%Y%m%d%H")): float(h % 30) for h in range(2160)}
SMALL = station_zip()  # 4711: 9 rows in 2000Q4..2001Q3 (see test_time_reference)
BIG = station_zip("UTC", rows=BIG_ROWS, station=4712)
NOT_A_ZIP = b"this is not a zip file"
FILES = {
    "stundenwerte_TU_04711_akt.zip": SMALL,
    "stundenwerte_TU_04712_akt.zip": BIG,
    "stundenwerte_TU_00111_akt.zip": NOT_A_ZIP,
}
BIG_REL = "recent/stundenwerte_TU_04712_akt.zip"
BAD_REL = "recent/stundenwerte_TU_00111_akt.zip"


def strict(tmp_path: Path, settings: Settings) -> Settings:
    """The same store with a 20 000-byte zip-bomb guard (BIG declares more) and no failure-share limit."""
    return restaged(settings, ingest={"max_uncompressed_bytes": 20000}, stage={"max_failure_share": 1.0})


def build(settings: Settings) -> None:
    """The three zips in the raw store, each with the raw_files row ingestion writes."""
    db.ensure_schema(settings.database_url)
    with db.get_engine(settings.database_url).begin() as conn:
        for name, data in FILES.items():
            put(settings, TU, "recent", data, name)
            conn.execute(
                raw_files.insert().values(
                    url=f"http://127.0.0.1:9/hourly/air_temperature/recent/{name}",
                    product=TU,
                    period="recent",
                    file_name=name,
                    station_id=int(name[16:21]),
                    size=len(data),
                    sha256=hashlib.sha256(data).hexdigest(),
                    storage_path=f"dwd/air_temperature/recent/{name}",
                    fetched_at=datetime(2026, 1, 1, tzinfo=UTC),
                )
            )


def statuses(settings: Settings) -> dict[str, tuple[str, str | None]]:
    with db.get_engine(settings.database_url).connect() as conn:
        rows = conn.execute(select(raw_files.c.file_name, raw_files.c.status, raw_files.c.quarantine_reason))
        return {r.file_name: (r.status, r.quarantine_reason) for r in rows}


def staged_versions(settings: Settings) -> list[tuple[str, str]]:
    with db.get_engine(settings.database_url).connect() as conn:
        rows = conn.execute(
            select(dataset_versions.c.version_name, dataset_versions.c.status)
            .where(dataset_versions.c.kind == "staged")
            .order_by(dataset_versions.c.year, dataset_versions.c.quarter, dataset_versions.c.version_number)
        )
        return [(r.version_name, r.status) for r in rows]


def quarantine_copy(settings: Settings, data: bytes, name: str) -> Path:
    return settings.quarantine_dir / TU / "recent" / f"{hashlib.sha256(data).hexdigest()[:12]}_{name}"


def quarantine_first(tmp_path: Path, settings: Settings) -> Settings:
    """Stage under the strict guard: BIG and NOT_A_ZIP are quarantined, SMALL is staged."""
    build(settings)
    first = stage_product(strict(tmp_path, settings), get_product(TU))
    assert sorted(q.rel for q in first.quarantined) == [BAD_REL, BIG_REL]
    reasons = {q.rel: q.reason for q in first.quarantined}
    assert "(zip bomb guard)" in reasons[BIG_REL] and "corrupt zip" in reasons[BAD_REL]
    assert first.rows_by_quarter == {"2000Q4": 3, "2001Q1": 2, "2001Q2": 2, "2001Q3": 2}
    return settings


def test_retry_releases_a_file_that_now_parses_and_keeps_the_bad_one(
    tmp_path: Path, db_settings: Settings
) -> None:
    settings = quarantine_first(tmp_path, db_settings)
    big_sha = hashlib.sha256(BIG).hexdigest()
    before = statuses(settings)
    assert before["stundenwerte_TU_04712_akt.zip"][0] == "quarantined"
    assert before["stundenwerte_TU_00111_akt.zip"][0] == "quarantined"
    bad_copy = quarantine_copy(settings, NOT_A_ZIP, "stundenwerte_TU_00111_akt.zip")
    bad_stat = bad_copy.stat()

    # The normal guard would accept BIG, but its unchanged bytes are known as quarantined: nothing to do.
    plain = stage_product(settings, get_product(TU))
    assert plain.status == "unchanged" and plain.quarantined_before == 2 and plain.retried == []

    result = stage_product(settings, get_product(TU), retry_quarantined=True)
    assert result.status == Status.SUCCEEDED
    assert result.retried == [BAD_REL, BIG_REL]
    assert result.released == [BIG_REL]
    assert result.still_quarantined == [BAD_REL]
    # files_parsed counts the station pass; the broken zip already failed while planning (no range to read).
    assert result.quarantined_before == 2 and result.files_new == 0 and result.files_parsed == 1
    assert [q.rel for q in result.quarantined] == [BAD_REL]
    assert "corrupt zip" in result.quarantined[0].reason
    assert result.quarters_written == ["1995Q1"] and result.rows_by_quarter == {"1995Q1": 2160}
    assert result.versions["1995Q1"] == "1995Q1_staged_v1"
    assert result.message == (
        "staged air_temperature: 1 quarter(s) rewritten, 2160 rows, 1 file(s) quarantined; "
        "2 quarantined file(s) retried: 1 released, 1 still quarantined"
    )
    part = read_partition(settings.staged_dir, TU, Quarter(1995, 1)).sort_by("ts")
    assert part.num_rows == 2160 and set(part.column("station_id").to_pylist()) == {4712}
    assert part.column("ts")[0].as_py() == START
    assert part.column("ts")[-1].as_py() == datetime(1995, 3, 31, 23, tzinfo=UTC)
    assert part.column("temperature").to_pylist()[:3] == [0.0, 1.0, 2.0]

    after = statuses(settings)
    assert after["stundenwerte_TU_04712_akt.zip"] == ("current", None)  # what ingestion gave it
    assert after["stundenwerte_TU_04711_akt.zip"] == ("current", None)
    status, reason = after["stundenwerte_TU_00111_akt.zip"]
    assert status == "quarantined" and reason is not None and "corrupt zip" in reason
    # The bad file's quarantine copy is the same file with the same bytes (not rewritten).
    assert bad_copy.read_bytes() == NOT_A_ZIP and bad_copy.stat().st_mtime_ns == bad_stat.st_mtime_ns
    # The released file's copy stays too; its reason file says it was released.
    big_copy = quarantine_copy(settings, BIG, "stundenwerte_TU_04712_akt.zip")
    assert big_copy.read_bytes() == BIG
    note = big_copy.with_name(big_copy.name + ".reason.txt").read_text(encoding="utf-8")
    assert "(zip bomb guard)" in note and "released_at: " in note

    # The staging state now holds BIG as staged; the next run has nothing to do, one file still quarantined.
    state = (settings.staged_dir / TU / STATE_FILE).read_text(encoding="utf-8")
    assert big_sha in state
    again = stage_product(settings, get_product(TU))
    assert again.status == "unchanged" and again.quarantined_before == 1
    assert staged_versions(settings) == [
        ("1995Q1_staged_v1", "AVAILABLE"),
        ("2000Q4_staged_v1", "AVAILABLE"),
        ("2001Q1_staged_v1", "AVAILABLE"),
        ("2001Q2_staged_v1", "AVAILABLE"),
        ("2001Q3_staged_v1", "AVAILABLE"),
    ]


def test_a_retry_outside_the_requested_quarters_leaves_the_file_quarantined(
    tmp_path: Path, settings: Settings
) -> None:
    settings = quarantine_first(tmp_path, settings)
    result = stage_product(
        settings, get_product(TU), quarters=[Quarter.parse("2001Q1")], retry_quarantined=True
    )
    # BIG (1995Q1) is not reached; the broken zip is re-checked (nothing tells which quarter it covers).
    assert result.retried == [BAD_REL] and result.released == [] and result.still_quarantined == [BAD_REL]
    assert statuses(settings)["stundenwerte_TU_04712_akt.zip"][0] == "quarantined"
    again = stage_product(settings, get_product(TU))
    assert again.status == "unchanged" and again.quarantined_before == 2


def test_cli_retry_quarantined_prints_the_counts(tmp_path: Path, settings: Settings) -> None:
    settings = quarantine_first(tmp_path, settings)
    runner = CliRunner()
    res = runner.invoke(app, ["stage", "-p", TU, "--no-progress", "--retry-quarantined"], env=env(settings))
    assert res.exit_code == 0, res.output
    assert "2 quarantined file(s) retried: 1 released, 1 still quarantined" in res.output
    for label, value in (
        ("quarantined files retried", 2),
        ("retried files released \\(now staged\\)", 1),
        ("retried files still quarantined", 1),
        ("files quarantined \\(earlier runs\\)", 2),
        ("rows written", 2160),
    ):
        assert re.search(rf"{label}\s*│\s*{value}\s*│", res.output), (label, res.output)
    assert "released from quarantine" in res.output and BIG_REL in res.output
    assert "1995Q1_staged_v1" in res.output
    assert statuses(settings)["stundenwerte_TU_04712_akt.zip"] == ("current", None)


def test_process_passes_retry_quarantined_for_its_quarter(tmp_path: Path, settings: Settings) -> None:
    settings = quarantine_first(tmp_path, settings)
    res = CliRunner().invoke(
        app,
        ["process", TU, settings.raw_store_url, "1995Q1_raw_v1", "--no-progress", "--retry-quarantined"],
        env=env(settings),
    )
    assert res.exit_code == 0, res.output
    assert "2 quarantined file(s) retried: 1 released, 1 still quarantined" in res.output
    assert staged_versions(settings)[0] == ("1995Q1_staged_v1", "AVAILABLE")
    assert statuses(settings)["stundenwerte_TU_04712_akt.zip"] == ("current", None)


def test_a_released_row_with_a_newer_release_beside_it_becomes_superseded(settings: Settings) -> None:
    """Ingestion records a newer release beside a quarantined row without touching it (ingest.py)."""
    db.ensure_schema(settings.database_url)
    old_sha, new_sha = hashlib.sha256(b"old").hexdigest(), hashlib.sha256(b"new").hexdigest()
    name = "stundenwerte_TU_04712_akt.zip"
    with db.get_engine(settings.database_url).begin() as conn:
        for sha, status in ((old_sha, "quarantined"), (new_sha, "current")):
            conn.execute(
                raw_files.insert().values(
                    url=f"http://127.0.0.1:9/{name}",
                    product=TU,
                    period="recent",
                    file_name=name,
                    sha256=sha,
                    fetched_at=datetime(2026, 1, 1, tzinfo=UTC),
                    status=status,
                    quarantine_reason="old reason" if status == "quarantined" else None,
                )
            )
        old = FileOutcome(f"recent/_history/{name}", old_sha, name, "recent", 4712, True)
        assert release_quarantined(conn, get_product(TU), [old]) == [1]
        rows = conn.execute(
            select(raw_files.c.sha256, raw_files.c.status, raw_files.c.quarantine_reason).order_by(
                raw_files.c.id
            )
        ).all()
    assert [tuple(r) for r in rows] == [(old_sha, "superseded", None), (new_sha, "current", None)]
