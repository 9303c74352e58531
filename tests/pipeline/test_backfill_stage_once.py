"""A backfill parses each raw file once for the whole range, not once per quarter (issue #19).

Runs ``pipeline.backfill.backfill`` over three quarters of the test mirror and counts the real parser's calls per file
(the parser itself runs; the count is the only thing added). Then checks what each quarter got — one staged
and one curated version, exactly as a quarter-after-quarter run gives — and that a re-run parses nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from tests.fixtures.mirror import MIRROR_STATIONS
from tests.pipeline.conftest import published_rows, staged_stations, versions
from weatherinsight.dwd.products import get_product
from weatherinsight.pipeline.backfill import backfill
from weatherinsight.quarters import Quarter
from weatherinsight.settings import Settings
from weatherinsight.staging import worker
from weatherinsight.staging.inventory import list_raw_inputs
from weatherinsight.vocabulary import Status
from weatherinsight.warehouse import db, lineage

pytestmark = pytest.mark.slow

PRODUCTS = ("wind", "pressure")


def _staged_versions(settings: Settings, product: str, quarter: Quarter) -> dict[str, str]:
    with db.get_engine(settings.database_url).connect() as conn:
        return {
            v.version_name: v.status
            for v in lineage.list_versions(conn, kind="staged", product=product, quarter=quarter)
        }


def test_backfill_parses_each_raw_file_once(
    mirror_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = mirror_settings
    parsed: Counter[tuple[str, str]] = Counter()
    real_parse: Callable[..., Any] = worker.parse_file

    def counting_parse(product: Any, item: Any, data: bytes, **kwargs: Any) -> Any:
        parsed[(product.name, item.rel)] += 1
        return real_parse(product, item, data, **kwargs)

    monkeypatch.setattr(worker, "parse_file", counting_parse)
    last = Quarter.last_complete()
    quarters = [last.previous().previous(), last.previous(), last]

    report = backfill(s, quarters, products=PRODUCTS)

    assert report.ok, [o.error for o in report.failed]
    assert [(o.quarter, o.product, o.status) for o in report.outcomes] == [
        (str(q), p, Status.SUCCEEDED) for q in quarters for p in PRODUCTS
    ]
    for p in PRODUCTS:
        files = {i.rel for i in list_raw_inputs(s, get_product(p)).inputs}
        mine = {rel: n for (name, rel), n in parsed.items() if name == p}
        # Each station's recent file covers all three quarters: before issue #19 it was parsed three times.
        assert set(mine.values()) == {1}, mine
        assert set(mine) <= files
        assert len([rel for rel in mine if rel.startswith("recent/")]) == MIRROR_STATIONS
        for q in quarters:
            assert _staged_versions(s, p, q) == {f"{q}_staged_v1": "AVAILABLE"}
            assert versions(s, p, q) == {f"{q}_v1": "AVAILABLE"}
            assert published_rows(s, p, q) == (f"{q}_v1", staged_stations(s, p, q))

    parsed.clear()
    again = backfill(s, quarters, products=PRODUCTS)
    assert not parsed
    assert [o.status for o in again.outcomes] == [Status.UNCHANGED] * len(quarters) * len(PRODUCTS)
    for p in PRODUCTS:
        for q in quarters:
            assert _staged_versions(s, p, q) == {f"{q}_staged_v1": "AVAILABLE"}
            assert versions(s, p, q) == {f"{q}_v1": "AVAILABLE"}
