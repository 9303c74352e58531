"""The quality sweep: only published quarters, each published state checked exactly once, on SQLite and PG."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from tests.quality.planting import ALL_PRODUCTS, curated_rows, plant
from weatherinsight.pipeline import quality_sweep
from weatherinsight.quarters import Quarter
from weatherinsight.settings import Settings
from weatherinsight.warehouse import db, lineage, tables

ALL = tuple(sorted(ALL_PRODUCTS))  # sorted, as the state names them


def _state(quarter: str, version: int = 1) -> str:
    return ",".join(f"{p}={quarter}_v{version}" for p in ALL)


def _checks(settings: Settings) -> list[tuple[int, int, str]]:
    """(year, quarter, run_id) of every stored check run."""
    t = tables.quality_check_results
    with db.get_engine(settings.database_url).connect() as conn:
        rows = conn.execute(select(t.c.year, t.c.quarter, t.c.run_id).distinct()).all()
    return sorted((r.year, r.quarter, r.run_id) for r in rows)


def _republish(settings: Settings, q: Quarter) -> None:
    """Publish a new curated version (``_v2``) of every product of ``q``, superseding ``_v1``."""
    with db.get_engine(settings.database_url).begin() as conn:
        for product in ALL:
            v = lineage.begin_version(conn, settings, "curated", product, q, fingerprint=f"changed-{product}")
            n = db.bulk_insert(
                conn, tables.curated_table(product), curated_rows(product, q, v.version_name, 110)
            )
            lineage.publish_version(conn, v, row_count=n)


def test_only_quarters_with_every_product_published_are_pending(db_settings: Settings) -> None:
    plant(db_settings, "2024Q1")
    plant(db_settings, "2024Q2", products=["wind", "pressure"])  # the other products missing: not published
    plant(db_settings, "2023Q4", fail_kind="curated")  # a newer FAILED version: v1 stays AVAILABLE
    pending = quality_sweep.pending_quarters(db_settings)
    assert pending == [
        quality_sweep.PublishedQuarter(Quarter(2023, 4), _state("2023Q4")),
        quality_sweep.PublishedQuarter(Quarter(2024, 1), _state("2024Q1")),
    ]
    # Never checked before it is published.
    assert quality_sweep.check_published(db_settings, Quarter(2024, 2)) is None
    assert quality_sweep.check_published(db_settings, Quarter(2024, 2), force=True) is None
    assert _checks(db_settings) == []


def test_each_published_state_is_checked_exactly_once(db_settings: Settings) -> None:
    plant(db_settings, "2024Q1")
    report = quality_sweep.check_published(db_settings, Quarter(2024, 1))
    assert report is not None and report.passed
    assert quality_sweep.check_published(db_settings, Quarter(2024, 1)) is None  # claimed already
    assert quality_sweep.pending_quarters(db_settings) == []
    assert _checks(db_settings) == [(2024, 1, report.run_id)]
    qc = tables.quality_checked_quarters
    with db.get_engine(db_settings.database_url).connect() as conn:
        (row,) = conn.execute(select(qc)).all()
    assert (row.year, row.quarter, row.versions, row.run_id) == (2024, 1, _state("2024Q1"), report.run_id)
    assert row.finished_at is not None

    # Re-published (every product gets _v2): a new state, pending again, checked once more.
    _republish(db_settings, Quarter(2024, 1))
    assert [p.versions for p in quality_sweep.pending_quarters(db_settings)] == [_state("2024Q1", 2)]
    again = quality_sweep.check_published(db_settings, Quarter(2024, 1))
    assert again is not None and again.run_id != report.run_id
    assert quality_sweep.pending_quarters(db_settings) == []
    assert len(_checks(db_settings)) == 2

    # Asked for by hand: checked again although the state was checked (force), recorded as its own run.
    forced = quality_sweep.check_published(db_settings, Quarter(2024, 1), force=True)
    assert forced is not None
    assert len(_checks(db_settings)) == 3


def test_concurrent_claims_on_one_state_have_one_winner(db_settings: Settings) -> None:
    plant(db_settings, "2024Q3")
    (state,) = quality_sweep.pending_quarters(db_settings)
    results: list[bool] = []
    start = threading.Barrier(6)

    def claim(i: int) -> None:
        start.wait()
        results.append(quality_sweep.claim(db_settings, state, f"run-{i}"))

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False] * 5 + [True]
    qc = tables.quality_checked_quarters
    with db.get_engine(db_settings.database_url).connect() as conn:
        assert conn.execute(select(func.count()).select_from(qc)).scalar_one() == 1


def test_a_crashing_check_releases_its_claim(db_settings: Settings) -> None:
    quarter = "2024Q1"
    plant(db_settings, quarter)
    # The checks crash (the curated table of one product is gone): the claim must not stay behind, or the
    # quarter would never be checked.
    with db.get_engine(db_settings.database_url).begin() as conn:
        tables.curated_table("wind").drop(conn)
    with pytest.raises(Exception, match="quarterly_wind_features"):
        quality_sweep.check_published(db_settings, Quarter.parse(quarter))
    assert [str(p.quarter) for p in quality_sweep.pending_quarters(db_settings)] == [quarter]
