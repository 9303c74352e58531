"""Dataset versions: naming, no-op on unchanged inputs, supersede on publish, atomic publish, lineage."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, select

from tests.warehouse.curated_rows import curated_row
from weatherinsight.quarters import Quarter
from weatherinsight.settings import Settings
from weatherinsight.warehouse import db, lineage
from weatherinsight.warehouse.tables import curated_table, dataset_versions

Q = Quarter(2024, 1)


def test_version_names_follow_settings(settings: Settings) -> None:
    assert lineage.version_name(settings, "raw", Q, 1) == "2024Q1_raw_v1"
    assert lineage.version_name(settings, "staged", Q, 3) == "2024Q1_staged_v3"
    assert lineage.version_name(settings, "curated", Quarter(2023, 4), 2) == "2023Q4_v2"
    with pytest.raises(lineage.VersionError, match="unknown dataset version kind 'gold'"):
        lineage.version_name(settings, "gold", Q, 1)


@pytest.mark.parametrize("kind", ["raw", "staged", "curated"])
def test_version_names_parse_back(settings: Settings, kind: str) -> None:
    pattern = getattr(settings.versioning, kind)
    for quarter, number in ((Q, 1), (Quarter(1999, 4), 12)):
        name = lineage.version_name(settings, kind, quarter, number)
        assert lineage.parse_version_name(pattern, name) == (quarter, number)


@pytest.mark.parametrize(
    "name", ["2024Q1_staged_v1", "2024Q5_raw_v1", "2024Q1_raw_v", "x2024Q1_raw_v1", "2024Q1"]
)
def test_other_names_are_not_raw_versions(settings: Settings, name: str) -> None:
    with pytest.raises(lineage.VersionError, match="not a version name of the form"):
        lineage.parse_version_name(settings.versioning.raw, name)


def test_v1_then_v2_with_supersede(engine: Engine, settings: Settings) -> None:
    with engine.begin() as conn:
        v1 = lineage.begin_version(
            conn, settings, "curated", "wind", Q, fingerprint="fp-a", parents=["2024Q1_staged_v1"]
        )
        assert (v1.version_name, v1.version_number, v1.status, v1.is_noop) == (
            "2024Q1_v1",
            1,
            "PENDING",
            False,
        )
        assert v1.parent_versions == ("2024Q1_staged_v1",)
        published = lineage.publish_version(conn, v1, row_count=12)
        assert (published.status, published.row_count) == ("AVAILABLE", 12)
    with engine.begin() as conn:
        v2 = lineage.begin_version(conn, settings, "curated", "wind", Q, fingerprint="fp-b")
        assert (v2.version_name, v2.status) == ("2024Q1_v2", "PENDING")
        # Until v2 is published, v1 is what readers get.
        available = lineage.find_available(conn, "curated", "wind", Q)
        assert available is not None
        assert available.version_name == "2024Q1_v1"
        lineage.publish_version(conn, v2.id, row_count=13)
    with engine.connect() as conn:
        versions = lineage.list_versions(conn, kind="curated", product="wind", quarter=Q)
        assert [(v.version_name, v.status, v.row_count) for v in versions] == [
            ("2024Q1_v1", "SUPERSEDED", 12),
            ("2024Q1_v2", "AVAILABLE", 13),
        ]
        # Other products and kinds are numbered on their own.
        assert lineage.next_version_number(conn, "curated", "pressure", Q) == 1
        assert lineage.next_version_number(conn, "staged", "wind", Q) == 1
        assert lineage.next_version_number(conn, "curated", "wind", Q) == 3


def test_unchanged_fingerprint_is_a_noop_and_force_makes_v2(engine: Engine, settings: Settings) -> None:
    with engine.begin() as conn:
        v1 = lineage.begin_version(conn, settings, "staged", "pressure", Q, fingerprint="same")
        lineage.publish_version(conn, v1, row_count=100)
    with engine.begin() as conn:
        again = lineage.begin_version(conn, settings, "staged", "pressure", Q, fingerprint="same")
        assert again.is_noop
        assert (again.id, again.version_name, again.status) == (v1.id, "2024Q1_staged_v1", "AVAILABLE")
        found = lineage.find_by_fingerprint(conn, "staged", "pressure", Q, "same")
        assert found is not None and found.id == v1.id
        assert lineage.find_by_fingerprint(conn, "staged", "pressure", Q, "other") is None
        forced = lineage.begin_version(
            conn, settings, "staged", "pressure", Q, fingerprint="same", force=True
        )
        assert (forced.version_name, forced.status, forced.is_noop) == ("2024Q1_staged_v2", "PENDING", False)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(dataset_versions)).scalar_one() == 2


def test_failed_version_keeps_previous_available(engine: Engine, settings: Settings) -> None:
    with engine.begin() as conn:
        v1 = lineage.begin_version(conn, settings, "raw", "moisture", Q, fingerprint="a")
        lineage.publish_version(conn, v1, row_count=5)
        v2 = lineage.begin_version(conn, settings, "raw", "moisture", Q, fingerprint="b")
        failed = lineage.fail_version(conn, v2, "bad zip stundenwerte_TF_00044_akt.zip")
        assert (failed.status, failed.error) == ("FAILED", "bad zip stundenwerte_TF_00044_akt.zip")
        assert failed.version_name == "2024Q1_raw_v2-failed1"
        with pytest.raises(
            lineage.VersionError, match="2024Q1_raw_v2-failed1 of moisture is FAILED, not PENDING"
        ):
            lineage.publish_version(conn, v2)
        available = lineage.find_available(conn, "raw", "moisture", Q)
        assert available is not None and available.version_name == "2024Q1_raw_v1"
        # A failed attempt gives its number back (issue #17): the next attempt is v2 again; a second failure
        # of v2 is recorded as its second failed attempt, an aborted one too.
        again = lineage.begin_version(conn, settings, "raw", "moisture", Q, fingerprint="b")
        assert again.version_name == "2024Q1_raw_v2"
        assert lineage.fail_version(conn, again, "x").version_name == "2024Q1_raw_v2-failed2"
        lineage.begin_version(conn, settings, "raw", "moisture", Q, fingerprint="b")
        assert lineage.abort_pending(conn, "raw", "moisture", Q) == ["2024Q1_raw_v2"]
        v2 = lineage.begin_version(conn, settings, "raw", "moisture", Q, fingerprint="b")
        assert (v2.version_name, v2.version_number) == ("2024Q1_raw_v2", 2)
        lineage.publish_version(conn, v2, row_count=1)
        names = [v.version_name for v in lineage.list_versions(conn, kind="raw", product="moisture")]
        assert sorted(names) == [
            "2024Q1_raw_v1",
            "2024Q1_raw_v2",
            "2024Q1_raw_v2-failed1",
            "2024Q1_raw_v2-failed2",
            "2024Q1_raw_v2-failed3",
        ]


def test_lineage_follows_parents(engine: Engine, settings: Settings) -> None:
    with engine.begin() as conn:
        raw = lineage.begin_version(conn, settings, "raw", "wind", Q, fingerprint="r")
        staged = lineage.begin_version(
            conn, settings, "staged", "wind", Q, fingerprint="s", parents=[raw.version_name]
        )
        curated = lineage.begin_version(
            conn, settings, "curated", "wind", Q, fingerprint="c", parents=[staged.version_name]
        )
        chain = lineage.lineage(conn, curated)
    assert [(v.kind, v.version_name) for v in chain] == [
        ("curated", "2024Q1_v1"),
        ("staged", "2024Q1_staged_v1"),
        ("raw", "2024Q1_raw_v1"),
    ]


def _publish_rows(engine: Engine, settings: Settings, stations: list[int], seed: int) -> str:
    table = curated_table("air_temperature")
    with engine.begin() as conn:
        v = lineage.begin_version(conn, settings, "curated", "air_temperature", Q, fingerprint=f"fp{seed}")
        rows = [curated_row("air_temperature", s, Q, v.version_name, seed=seed) for s in stations]
        assert db.bulk_insert(conn, table, rows) == len(stations)
        lineage.publish_version(conn, v, row_count=len(rows))
        return v.version_name


def test_publish_is_atomic_for_readers(engine: Engine, settings: Settings) -> None:
    assert _publish_rows(engine, settings, [1, 2, 3], seed=0) == "2024Q1_v1"
    table = curated_table("air_temperature")

    # A failure after the rows were loaded and the version flipped, but before commit: nothing changes.
    class Boom(Exception):
        pass

    with pytest.raises(Boom), engine.begin() as conn:
        v2 = lineage.begin_version(conn, settings, "curated", "air_temperature", Q, fingerprint="fp1")
        db.bulk_insert(
            conn, table, [curated_row("air_temperature", s, Q, v2.version_name, seed=1) for s in [1, 2, 3, 4]]
        )
        lineage.publish_version(conn, v2, row_count=4)
        raise Boom

    with engine.connect() as conn:
        rows = lineage.read_published(conn, "air_temperature", Q)
        assert [(r["station_id"], r["dataset_version"]) for r in rows] == [
            (1, "2024Q1_v1"),
            (2, "2024Q1_v1"),
            (3, "2024Q1_v1"),
        ]
        assert rows[0]["tg_mean"] == curated_row("air_temperature", 1, Q, "x", seed=0)["tg_mean"]
        assert [v.version_name for v in lineage.list_versions(conn, kind="curated")] == ["2024Q1_v1"]

    # While a publisher holds its transaction open, a reader on another connection still sees v1 only.
    writer = engine.connect()
    try:
        v2 = lineage.begin_version(writer, settings, "curated", "air_temperature", Q, fingerprint="fp2")
        db.bulk_insert(
            writer, table, [curated_row("air_temperature", s, Q, v2.version_name, seed=2) for s in [1, 2]]
        )
        lineage.publish_version(writer, v2, row_count=2)
        with engine.connect() as reader:
            seen = lineage.read_published(reader, "air_temperature", Q)
            assert {r["dataset_version"] for r in seen} == {"2024Q1_v1"}
            assert len(seen) == 3
        writer.commit()
    finally:
        writer.close()
    with engine.connect() as reader:
        seen = lineage.read_published(reader, "air_temperature", Q)
        assert [(r["station_id"], r["dataset_version"]) for r in seen] == [(1, "2024Q1_v2"), (2, "2024Q1_v2")]
        # Superseded rows are kept, never overwritten.
        assert reader.execute(select(func.count()).select_from(table)).scalar_one() == 5
        assert lineage.published_quarters(reader, "air_temperature") == [Q]
        assert lineage.published_quarters(reader, "wind") == []
