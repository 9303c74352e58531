"""``pipeline.verify_backfill``: which backfilled quarters count as published, on a real (SQLite) database.

The curated versions are planted through the warehouse layer (``tests.quality.planting.plant``); the
outcomes are the XCom of the mapped ``backfill_quarter`` tasks (one list of outcome dicts per quarter task).
"""

from __future__ import annotations

from typing import Any

from tests.quality.planting import plant
from weatherinsight import pipeline
from weatherinsight.settings import Settings

MISSING = "no outcome recorded (the quarter task failed)"


def _chunk(quarter: str, **status: str) -> list[dict[str, Any]]:
    """What one ``backfill_quarter`` task returns (the fields that matter here): a status per product."""
    return [{"quarter": quarter, "product": product, "status": s} for product, s in status.items()]


def test_a_quarter_is_published_when_every_product_is_ok_or_unchanged_and_confirmed(
    settings: Settings,
) -> None:
    # Plan: 2023Q1..Q3 and 2024Q1..Q3, wind and pressure. The database holds both products of every planned
    # quarter except 2024Q2, which has nothing.
    for quarter in ("2023Q1", "2023Q2", "2023Q3", "2024Q1", "2024Q3"):
        plant(settings, quarter, products=("wind", "pressure"), stations=3)
    params = pipeline.BackfillParams.from_params(
        {"start_year": 2023, "end_year": 2024, "quarters": [1, 2, 3], "products": ["wind", "pressure"]},
        settings,
    )
    outcomes = [
        _chunk("2023Q1", wind="succeeded", pressure="succeeded"),  # all OK
        _chunk("2023Q2", wind="failed", pressure="succeeded"),  # one failed product
        _chunk("2023Q3", pressure="unchanged", wind="unchanged"),  # all no-ops, in another order
        _chunk("2024Q1", pressure="succeeded"),  # wind missing
        _chunk("2024Q2", wind="succeeded", pressure="unchanged"),  # the database does not confirm them
        None,  # 2024Q3: its quarter task left no XCom
        _chunk("2023Q4", wind="succeeded", pressure="succeeded"),  # not planned: ignored
    ]

    report, published = pipeline.verify_backfill(settings, params, outcomes)

    assert published == ["2023Q1", "2023Q3"]
    not_confirmed = "reported success but the database has no AVAILABLE curated version of {} 2024Q2"
    assert [
        (o.quarter, o.product, o.status, o.verified_version, o.verified_rows, o.error)
        for o in report.outcomes
    ] == [
        ("2023Q1", "wind", "succeeded", "2023Q1_v1", 3, None),
        ("2023Q1", "pressure", "succeeded", "2023Q1_v1", 3, None),
        ("2023Q2", "wind", "failed", "2023Q2_v1", 3, None),
        ("2023Q2", "pressure", "succeeded", "2023Q2_v1", 3, None),
        ("2023Q3", "wind", "unchanged", "2023Q3_v1", 3, None),
        ("2023Q3", "pressure", "unchanged", "2023Q3_v1", 3, None),
        ("2024Q1", "wind", "failed", "2024Q1_v1", 3, MISSING),
        ("2024Q1", "pressure", "succeeded", "2024Q1_v1", 3, None),
        ("2024Q2", "wind", "failed", None, 0, not_confirmed.format("wind")),
        ("2024Q2", "pressure", "failed", None, 0, not_confirmed.format("pressure")),
        ("2024Q3", "wind", "failed", "2024Q3_v1", 3, MISSING),
        ("2024Q3", "pressure", "failed", "2024Q3_v1", 3, MISSING),
    ]


def test_nothing_published_when_no_quarter_task_left_outcomes(settings: Settings) -> None:
    params = pipeline.BackfillParams.from_params(
        {"start_year": 2023, "end_year": 2023, "quarters": [4], "products": ["moisture"]}, settings
    )
    report, published = pipeline.verify_backfill(settings, params, None)
    assert published == []
    assert [(o.quarter, o.product, o.status, o.verified_version, o.error) for o in report.outcomes] == [
        ("2023Q4", "moisture", "failed", None, MISSING)
    ]
