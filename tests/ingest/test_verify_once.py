"""Issue #19: each downloaded zip is verified once — inflated as it is checked, its produkt range kept so the
raw versions are dated without opening the stored copy again — and a run logs a summary, not a line per
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

from tests.dwd.helpers import sample
from tests.fixtures.mirror import MIRROR_STATIONS
from weatherinsight.dwd.files import ZipMember, verify_zip
from weatherinsight.ingest import dating, ingest_product, verify
from weatherinsight.logs import PER_REQUEST_LOGGERS, configure_logging
from weatherinsight.settings import Settings

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
    # A no-op run fetches nothing, so it reads the recent zips' member names from the store: same versions.
    second = ingest_product(mirror_settings, "air_temperature")
    assert (second.files_unchanged, calls) == (
        ZIPS + 2,
        {"verify_zip": ZIPS, "produkt_range": MIRROR_STATIONS},
    )
    assert second.raw_versions == first.raw_versions


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
