"""Months, seasons and years are published, versioned and read like quarters (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.periods import cases
from weatherinsight.aggregate import AggregationError, aggregate_quarter
from weatherinsight.periods import Period
from weatherinsight.quarters import Quarter
from weatherinsight.settings import Settings
from weatherinsight.warehouse import db, lineage
from weatherinsight.warehouse.tables import curated_table

P = cases.PRODUCT


def test_months_seasons_years_beside_quarters(db_settings: Settings) -> None:
    s = db_settings
    cases.stage_quarters(Path(s.staged_dir), [Quarter(2023, 4), Quarter(2024, 1)])
    results = {
        label: aggregate_quarter(s, P, Period.parse(label)) for label in ("2024-01", "2024DJF", "2024Q1")
    }
    assert {k: (r.dataset_version, r.rows, r.unchanged) for k, r in results.items()} == {
        "2024-01": ("2024-01_v1", 5, False),
        "2024DJF": ("2024DJF_v1", 5, False),  # stations 1, 3, 4, 5, 6 (December: station 1 only)
        "2024Q1": ("2024Q1_v1", 5, False),
    }
    # the quarter API keeps working and finds the same version as the quarter period
    again = aggregate_quarter(s, P, Quarter(2024, 1))
    assert (again.unchanged, again.dataset_version) == (True, "2024Q1_v1")
    assert aggregate_quarter(s, P, Period.parse("2024DJF")).unchanged is True
    forced = aggregate_quarter(s, P, Period.parse("2024-01"), force=True)
    assert (forced.dataset_version, forced.previous_version) == ("2024-01_v2", "2024-01_v1")

    with db.get_engine(s.database_url).connect() as conn:
        month = lineage.read_published(conn, P, Period.parse("2024-01"))
        winter = lineage.read_published(conn, P, Period.parse("2024DJF"))
        quarter = lineage.read_published(conn, P, Quarter(2024, 1))
        versions = {
            (v.period_kind, v.version_name): v.status for v in lineage.list_versions(conn, kind="curated")
        }
        t = curated_table(P)
        default = conn.execute(lineage.published_rows_query(P).with_only_columns(t.c.dataset_version)).all()
        seasons = lineage.published_periods(conn, P, "season")
        quarters = lineage.published_quarters(conn, P)
    assert [(r["period_kind"], r["year"], r["quarter"], r["dataset_version"]) for r in month][:1] == [
        ("month", 2024, 1, "2024-01_v2")
    ]
    assert [(r["station_id"], r["hours_expected"], r["days_valid"]) for r in winter] == [
        (1, 2184, 91),
        (3, 2184, 24),
        (4, 2184, 25),
        (5, 2184, 60),
        (6, 2184, 60),
    ]
    assert winter[0]["tg_mean"] == pytest.approx(-198 / 91, rel=1e-12)
    assert {r["hours_expected"] for r in quarter} == {2184}
    assert {r["period_kind"] for r in quarter} == {"quarter"}
    assert versions == {
        ("month", "2024-01_v1"): "SUPERSEDED",
        ("month", "2024-01_v2"): "AVAILABLE",
        ("season", "2024DJF_v1"): "AVAILABLE",
        ("quarter", "2024Q1_v1"): "AVAILABLE",
    }
    # readers that do not ask for a period kind see quarters only
    assert {r[0] for r in default} == {"2024Q1_v1"}
    assert (seasons, quarters) == ([Period("season", 2024, 1)], [Quarter(2024, 1)])


def test_a_period_needs_every_quarter_staged(db_settings: Settings) -> None:
    s = db_settings
    cases.stage_quarters(Path(s.staged_dir), [Quarter(2024, 1), Quarter(2024, 2)])
    with pytest.raises(AggregationError) as err:
        aggregate_quarter(s, P, Period.parse("2024"))
    msg = str(err.value)
    assert msg.startswith(
        f"aggregate {P} 2024: no staged Parquet under {s.staged_dir}/{P}/year=2024/quarter=3: "
        f"no station has {P} data staged for 2024Q3 (part of 2024)"
    )
    assert f"weatherinsight stage --product {P} --quarter 2024Q3" in msg
    with pytest.raises(AggregationError, match="staged for 2023Q4 \\(part of 2024DJF\\)"):
        aggregate_quarter(s, P, Period.parse("2024DJF"))
    cases.stage_quarters(Path(s.staged_dir), [Quarter(2024, 3), Quarter(2024, 4)])
    year = aggregate_quarter(s, P, Period.parse("2024"))
    assert (year.dataset_version, year.rows) == ("2024_v1", 5)
    with db.get_engine(s.database_url).connect() as conn:
        t = curated_table(P)
        got = conn.execute(
            lineage.published_rows_query(P, Period.parse("2024"))
            .with_only_columns(t.c.station_id, t.c.days_valid, t.c.tg_mean)
            .order_by(t.c.station_id)
        ).all()
    assert [tuple(r) for r in got] == [
        (1, 60, None),
        (3, 24, None),
        (4, 25, None),
        (5, 293, 1.0),
        (6, 292, None),
    ]


def test_version_names_round_trip(settings: Settings) -> None:
    for label in ("2024-01", "2024DJF", "2024", "2024Q1"):
        name = lineage.version_name(settings, "curated", Period.parse(label), 2)
        assert name == f"{label}_v2"
        assert lineage.parse_period_version_name(settings.versioning.curated, name) == (
            Period.parse(label),
            2,
        )
    with pytest.raises(lineage.VersionError, match="'2024DJF_v1' names the season 2024DJF, not a quarter"):
        lineage.parse_version_name(settings.versioning.curated, "2024DJF_v1")
