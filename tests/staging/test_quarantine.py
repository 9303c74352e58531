"""Bad files are quarantined with their reason and the rest is staged; above the failure share the run fails."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.staging.conftest import (
    TU_AKT_00044,
    TU_HIST_00044,
    TU_LEGACY,
    make_zip,
    put,
    release,
    settings_with_share,
)
from weatherinsight.dwd.products import get_product
from weatherinsight.errors import RunFailedError
from weatherinsight.settings import Settings
from weatherinsight.staging import stage_product
from weatherinsight.storage.staged import list_partitions
from weatherinsight.vocabulary import Status
from weatherinsight.warehouse import db
from weatherinsight.warehouse.tables import raw_files

TU = "air_temperature"
BAD_ROWS = make_zip(
    {
        "produkt_tu_stunde_20200101_20200102_00222.txt": (
            b"STATIONS_ID;MESS_DATUM;QN_9;TT_TU;RF_TU;eor\r\n"
            b"        222;2020010100;    3;   1.5;  90.0;eor\r\n"
            b"        222;2020010101;    3;  warm;  90.0;eor\r\n"
        )
    }
)


def record_raw_file(settings: Settings) -> None:
    """A raw_files row for the file with bad rows, as ingestion writes it."""
    db.ensure_schema(settings.database_url)
    with db.get_engine(settings.database_url).begin() as conn:
        conn.execute(
            raw_files.insert().values(
                url="http://127.0.0.1:9/hourly/air_temperature/recent/stundenwerte_TU_00222_akt.zip",
                product=TU,
                period="recent",
                file_name="stundenwerte_TU_00222_akt.zip",
                station_id=222,
                size=len(BAD_ROWS),
                sha256=hashlib.sha256(BAD_ROWS).hexdigest(),
                storage_path="dwd/air_temperature/recent/stundenwerte_TU_00222_akt.zip",
                fetched_at=datetime(2026, 1, 1, tzinfo=UTC),
            )
        )


def raw_file_status(settings: Settings) -> tuple[str, str | None]:
    with db.get_engine(settings.database_url).connect() as conn:
        status, reason = conn.execute(select(raw_files.c.status, raw_files.c.quarantine_reason)).one()
    return status, reason


def bad_store(settings: Settings) -> None:
    put(settings, TU, "historical", TU_HIST_00044, TU_HIST_00044.name)
    put(settings, TU, "recent", TU_AKT_00044, TU_AKT_00044.name)
    put(settings, TU, "recent", b"this is not a zip file", "stundenwerte_TU_00111_akt.zip")
    put(settings, TU, "recent", TU_LEGACY, TU_LEGACY.name)
    put(settings, TU, "recent", release("precipitation", "RR", "2021-09-19"), "stundenwerte_RR_01975_akt.zip")
    put(settings, TU, "recent", BAD_ROWS, "stundenwerte_TU_00222_akt.zip")


def test_bad_files_are_quarantined_and_the_rest_is_staged(tmp_path: Path, settings: Settings) -> None:
    settings = settings_with_share(settings, 0.7)
    bad_store(settings)
    record_raw_file(settings)
    result = stage_product(settings, get_product(TU))
    assert result.status == Status.SUCCEEDED
    reasons = {q.rel: q.reason for q in result.quarantined}
    assert sorted(reasons) == [
        "recent/stundenwerte_RR_01975_akt.zip",
        "recent/stundenwerte_TU_00111_akt.zip",
        "recent/stundenwerte_TU_00222_akt.zip",
        "recent/stundenwerte_TU_01048_akt.zip",
    ]
    assert "corrupt zip" in reasons["recent/stundenwerte_TU_00111_akt.zip"]
    assert "not a air_temperature (TU) hourly zip name" in reasons["recent/stundenwerte_RR_01975_akt.zip"]
    assert "line 3" in reasons["recent/stundenwerte_TU_00222_akt.zip"]
    assert "stundenwerte_TU_01048_akt.zip" in reasons["recent/stundenwerte_TU_01048_akt.zip"]
    for q in result.quarantined:
        kept = Path(q.quarantine_path)
        assert kept.parent == settings.quarantine_dir / TU / "recent"
        assert kept.read_bytes() == (Path(settings.raw_store_url) / "dwd" / TU / q.rel).read_bytes()
        assert f"reason: {q.reason}" in kept.with_name(kept.name + ".reason.txt").read_text(encoding="utf-8")
    # The good station is staged in full; raw files stay where they were.
    assert len(list_partitions(settings.staged_dir, TU)) == 64
    assert (Path(settings.raw_store_url) / "dwd" / TU / "recent" / "stundenwerte_TU_00111_akt.zip").exists()
    assert raw_file_status(settings) == ("quarantined", reasons["recent/stundenwerte_TU_00222_akt.zip"])
    # Known bad bytes are not re-read: the next run has nothing to do.
    again = stage_product(settings, get_product(TU))
    assert again.status == "unchanged" and again.quarantined_before == 4


def test_above_the_failure_share_the_run_fails_and_changes_no_partition(settings: Settings) -> None:
    bad_store(settings)  # 4 bad of 6 files, limit 5 %; the legacy-layout one is not counted: 3 of 5
    record_raw_file(settings)
    with pytest.raises(
        RunFailedError,
        match=r"3 of 5 files are bad \(60\.0% > 5\.0%\); no partition was changed \(1 pre-2017 legacy-layout",
    ):
        stage_product(settings, get_product(TU))
    assert list_partitions(settings.staged_dir, TU) == []
    assert len(list((settings.quarantine_dir / TU / "recent").glob("*.reason.txt"))) == 4
    assert not (settings.staged_dir / ".tmp" / TU).exists()
    status, reason = raw_file_status(settings)
    assert status == "quarantined" and reason is not None and "line 3" in reason
    # A retry meets the same bad files and fails the same way (it does not skip them as already known).
    with pytest.raises(RunFailedError, match=r"3 of 5 files are bad"):
        stage_product(settings, get_product(TU))


def test_a_bad_older_release_in_history_is_marked_in_raw_files(tmp_path: Path, settings: Settings) -> None:
    """An older release kept under a decorated ``_history`` name: its raw_files row (DWD name) is marked."""
    settings = settings_with_share(settings, 0.7)
    put(settings, TU, "historical", TU_HIST_00044, TU_HIST_00044.name)
    sha = hashlib.sha256(BAD_ROWS).hexdigest()
    put(settings, TU, "recent", BAD_ROWS, f"{sha[:16]}_stundenwerte_TU_00222_akt.zip", history=True)
    record_raw_file(settings)
    result = stage_product(settings, get_product(TU))
    assert [q.rel for q in result.quarantined] == [
        f"recent/_history/{sha[:16]}_stundenwerte_TU_00222_akt.zip"
    ]
    assert result.quarantined[0].file_name == "stundenwerte_TU_00222_akt.zip"
    assert raw_file_status(settings) == ("quarantined", result.quarantined[0].reason)
