"""Issue #19: a CLI backfill ingests each product ONCE for the whole plan — one listing crawl and one GET
per file per product (the daily KL input too), not a round of conditional GETs per quarter — and a failed
ingest of a product fails every quarter of that product, while the other products go on."""

from __future__ import annotations

from collections import Counter

import pytest

from weatherinsight.dwd.products import get_product
from weatherinsight.mirror.server import MirrorHTTPServer
from weatherinsight.pipeline.backfill import backfill
from weatherinsight.quarters import Quarter
from weatherinsight.settings import Settings
from weatherinsight.vocabulary import Stage, Status

pytestmark = pytest.mark.slow

#: precipitation reads the daily KL values: the backfill ingests daily/kl for it as well.
PRODUCTS = ("wind", "precipitation")
DIRS = ("hourly/wind", "hourly/precipitation", "daily/kl")


def _quarters() -> list[Quarter]:
    last = Quarter.last_complete()
    return [last.previous().previous(), last.previous(), last]


def _gets(server: MirrorHTTPServer) -> Counter[str]:
    return Counter(path.split("/climate/", 1)[1] for m, path, _ in server.requests if m == "GET")


def test_a_three_quarter_backfill_crawls_and_fetches_each_file_once(
    mirror_server: MirrorHTTPServer, mirror_settings: Settings
) -> None:
    quarters = _quarters()
    report = backfill(mirror_settings, quarters, products=PRODUCTS)
    assert report.ok, [o.error for o in report.failed]
    gets = _gets(mirror_server)
    assert {p.split("/")[0] + "/" + p.split("/")[1] for p in gets} == set(DIRS)
    for d in DIRS:
        listings = {p: n for p, n in gets.items() if p.startswith(d + "/") and p.endswith("/")}
        files = [n for p, n in gets.items() if p.startswith(d + "/") and not p.endswith("/")]
        assert listings == {f"{d}/historical/": 1, f"{d}/recent/": 1}, d
        # every recent zip and station list at least: one GET each, never one per quarter
        assert len(files) >= 2 + 5 and set(files) == {1}, (d, files)


def test_a_failed_range_ingest_fails_every_quarter_of_its_product(
    mirror_server: MirrorHTTPServer, mirror_settings: Settings
) -> None:
    quarters = _quarters()
    mirror_server.faults.add("503", f"*/{get_product('wind').resolution}/wind/recent/")  # every attempt
    report = backfill(mirror_settings, quarters, products=("wind", "pressure"))
    outcomes = {(o.quarter, o.product): o for o in report.outcomes}
    for q in quarters:
        wind, pressure = outcomes[(str(q), "wind")], outcomes[(str(q), "pressure")]
        assert (wind.status, wind.failed_stage) == (Status.FAILED, Stage.INGEST)
        assert "wind" in (wind.error or "") and "listing" in (wind.error or "")
        assert pressure.status == Status.SUCCEEDED
    gets = _gets(mirror_server)
    assert gets["hourly/wind/historical/"] == 1  # one run for the three quarters (its attempts once)
