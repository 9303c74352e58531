"""Issue #19: each downloaded zip is verified once — inflated as it is checked, its produkt member kept on the
raw_files row so the raw versions are dated without opening the stored copy, also on a no-op re-run — and a run logs a summary, not a line per
HTTP request."""

from __future__ import annotations

import io
import json
import logging
import zipfile
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import structlog
from sqlalchemy import select, update

from tests.dwd.helpers import sample
from tests.fixtures.mirror import MIRROR_STATIONS
from weatherinsight.dwd.files import ZipMember, produkt_name_range, verify_zip
from weatherinsight.ingest import dating, ingest_product, verify
from weatherinsight.logs import PER_REQUEST_LOGGERS, configure_logging
from weatherinsight.settings import Settings
from weatherinsight.warehouse import db
from weatherinsight.warehouse.tables import raw_files

rf = raw_files.c

TU_ZIP = "air_temperature/zeppr_00044/stundenwerte_TU_00044_akt.zip"
#: air_temperature in the shared mirror: a zip per station in each period.
ZIPS = 2 * MIRROR_STATIONS


def test_verify_zip_names_every_member_with_its_size_and_crc() -> None:
    data = sample(TU_ZIP)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        expected = [
            ZipMember(i.filename, len(archive.read(i)), zlib.crc32(archive.read(i)))
            for i in archive.infolist()
            if not i.is_dir()
        ]
    assert verify_zip(data, file_name="stundenwerte_TU_00044_akt.zip") == expected
    assert len(expected) == 13 and sum(m.name.startswith("produkt_") for m in expected) == 1


def test_each_zip_is_verified_once_and_not_reopened_for_dating(
    mirror_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = {"verify_zip": 0, "produkt_range": 0}

    def counting(name: str, real: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            calls[name] += 1
            return real(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(verify, "verify_zip", counting("verify_zip", verify.verify_zip))
    monkeypatch.setattr(dating, "produkt_range", counting("produkt_range", dating.produkt_range))
    first = ingest_product(mirror_settings, "air_temperature")
    assert (first.files_new, calls) == (ZIPS + 2, {"verify_zip": ZIPS, "produkt_range": 0})
    # A no-op run fetches nothing and reads each recent zip's member from its raw_files row: no zip opened.
    second = ingest_product(mirror_settings, "air_temperature")
    assert (second.files_unchanged, calls) == (ZIPS + 2, {"verify_zip": ZIPS, "produkt_range": 0})
    assert second.raw_versions == first.raw_versions
    engine = db.get_engine(mirror_settings.database_url)
    with engine.connect() as conn:
        members = conn.execute(
            select(rf.period, rf.member_name, rf.member_first_day, rf.member_last_day)
            .where(rf.station_id.is_not(None))
            .order_by(rf.period, rf.file_name)
        ).all()
    assert len(members) == ZIPS
    for period, member, first_day, last_day in members:
        assert member.startswith("produkt_tu_stunde_"), period
        assert produkt_name_range(member) == (first_day, last_day), member

    # Rows stored before migration 0008 (NULL member columns): the recent zips are opened once, dated the
    # same, and their rows filled in, so the next no-op opens none again.
    with engine.begin() as conn:
        conn.execute(update(raw_files).values(member_name=None, member_first_day=None, member_last_day=None))
    third = ingest_product(mirror_settings, "air_temperature")
    assert calls == {"verify_zip": ZIPS, "produkt_range": MIRROR_STATIONS}
    assert third.raw_versions == first.raw_versions
    fourth = ingest_product(mirror_settings, "air_temperature")
    assert calls == {"verify_zip": ZIPS, "produkt_range": MIRROR_STATIONS}
    assert fourth.raw_versions == first.raw_versions
    with engine.connect() as conn:
        filled = conn.execute(
            select(rf.period, rf.member_name, rf.member_first_day, rf.member_last_day)
            .where(rf.station_id.is_not(None), rf.period == "recent")
            .order_by(rf.period, rf.file_name)
        ).all()
    assert filled == [m for m in members if m[0] == "recent"]


@pytest.fixture
def json_logs() -> Iterator[None]:
    configure_logging("INFO", "json")
    yield
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.setLevel(logging.WARNING)
    structlog.reset_defaults()


def test_a_run_logs_its_summary_and_no_line_per_request(
    json_logs: None, mirror_settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    result = ingest_product(mirror_settings, "air_temperature")
    assert result.files_new == ZIPS + 2
    err = capsys.readouterr().err
    assert "HTTP Request" not in err
    events = [json.loads(line)["event"] for line in err.splitlines() if line.startswith("{")]
    assert events == ["schema migrated", "ingest.start", "ingest.finish"]  # a fresh database, then the run
    assert [logging.getLogger(name).level for name in PER_REQUEST_LOGGERS] == [logging.WARNING] * 2
