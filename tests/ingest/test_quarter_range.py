"""Issue #19: one ingest run over several quarters — one listing crawl and one GET per file (historical zips
overlapping ANY of the quarters, recent files once) — publishes the same raw versions, with the same
fingerprints, as a run per quarter; and its files are exactly theirs."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.fixtures.core import make_settings
from tests.fixtures.mirror import FAST_INGEST
from weatherinsight.dwd.files import ZipName, parse_zip_name
from weatherinsight.dwd.products import get_product
from weatherinsight.ingest import ingest_product
from weatherinsight.mirror.layout import product_dir
from weatherinsight.mirror.server import MirrorHTTPServer
from weatherinsight.quarters import Quarter
from weatherinsight.settings import Settings
from weatherinsight.warehouse import db, lineage
from weatherinsight.warehouse.tables import raw_files

FF = get_product("wind")


def _quarters(mirror_dir: Path) -> list[Quarter]:
    """The mirror's first historical quarter (not every station has it) and the last two complete ones."""
    hist = [parse_zip_name(p.name) for p in product_dir(mirror_dir, FF, "historical").glob("*.zip")]
    first = Quarter.of(min(zn.start for zn in hist if zn.start is not None))
    last = Quarter.last_complete()
    return [first, last.previous(), last]


def _overlaps(zn: ZipName, quarters: list[Quarter]) -> bool:
    """Whether the zip's named days (all days when its name has none: a recent zip) touch a quarter."""
    if zn.start is None or zn.end is None:
        return True
    return any(zn.start < q.end.date() and zn.end >= q.start.date() for q in quarters)


def _expected_files(mirror_dir: Path, quarters: list[Quarter]) -> set[str]:
    """Every recent file, the historical station list and the historical zips overlapping a quarter."""
    out: set[str] = set()
    for period in ("historical", "recent"):
        for p in product_dir(mirror_dir, FF, period).iterdir():
            if p.name.startswith("."):
                continue
            zn = parse_zip_name(p.name) if p.suffix == ".zip" else None
            if zn is not None and not _overlaps(zn, quarters):
                continue
            out.add(f"{FF.directory}/{period}/{p.name}")
    return out


def _gets(server: MirrorHTTPServer) -> Counter[str]:
    return Counter(path.split("/hourly/", 1)[1] for m, path, _ in server.requests if m == "GET")


def _raw_state(settings: Settings) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    with db.get_engine(settings.database_url).connect() as conn:
        versions = [
            (v.version_name, v.status, v.input_fingerprint, v.row_count)
            for v in lineage.list_versions(conn, kind="raw", product=FF.name)
        ]
        files = conn.execute(
            select(
                raw_files.c.period, raw_files.c.file_name, raw_files.c.sha256, raw_files.c.status
            ).order_by(raw_files.c.period, raw_files.c.file_name)
        ).all()
    return versions, [tuple(f) for f in files]


def test_a_quarter_range_ingests_once_and_versions_like_a_run_per_quarter(
    mirror_server: MirrorHTTPServer, mirror_settings: Settings, mirror_dir: Path, tmp_path: Path
) -> None:
    quarters = _quarters(mirror_dir)
    expected = _expected_files(mirror_dir, quarters)
    result = ingest_product(mirror_settings, FF.name, quarters=quarters)
    gets = _gets(mirror_server)
    listings = {p: n for p, n in gets.items() if p.endswith("/")}
    files = {p: n for p, n in gets.items() if not p.endswith("/")}
    assert listings == {f"{FF.directory}/historical/": 1, f"{FF.directory}/recent/": 1}
    assert files == dict.fromkeys(expected, 1)
    assert result.files_new == len(expected) and result.files_failed == 0
    # Some station's history starts after the first quarter, so "overlaps ANY quarter" was really tested.
    assert (
        0
        < sum(p.startswith(f"{FF.directory}/historical/") for p in expected)
        < len(list(product_dir(mirror_dir, FF, "historical").iterdir()))
    )
    assert list(result.raw_version_of) == quarters
    assert result.raw_versions == [f"{q}_raw_v1" for q in quarters]

    loop = make_settings(tmp_path / "loop", dwd_base_url=mirror_settings.dwd_base_url, ingest=FAST_INGEST)
    mirror_server.clear_log()
    per_quarter = [ingest_product(loop, FF.name, quarter=q).raw_versions for q in quarters]
    assert per_quarter == [[f"{q}_raw_v1"] for q in quarters]
    assert sum(p.endswith("/") for p in _gets(mirror_server).elements()) == 2 * len(quarters)
    assert _raw_state(mirror_settings) == _raw_state(loop)

    # A re-run over the range: one crawl and no file request (the listing shows every file as it was fetched:
    # the quick check), nothing new, the same versions.
    mirror_server.clear_log()
    again = ingest_product(mirror_settings, FF.name, quarters=quarters)
    assert (again.files_unchanged, again.files_quick_checked, again.raw_versions) == (
        len(expected),
        len(expected),
        result.raw_versions,
    )
    assert _gets(mirror_server) == {f"{FF.directory}/historical/": 1, f"{FF.directory}/recent/": 1}


def test_quarters_must_name_one(mirror_settings: Settings) -> None:
    with pytest.raises(ValueError, match="quarters must name at least one quarter"):
        ingest_product(mirror_settings, FF.name, quarters=[])
