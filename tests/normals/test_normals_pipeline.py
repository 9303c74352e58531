"""End to end on the DWD mirror: a backfill publishes January of two years, `weatherinsight normals` builds their
normals over a two-year base, and the client serves the anomaly of each January against them."""

from __future__ import annotations

from collections.abc import Callable
from statistics import fmean

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from tests.pipeline.conftest import SMALL_MIRROR_THRESHOLDS, cli_env
from weatherinsight import Client
from weatherinsight.cli import app
from weatherinsight.periods import Period
from weatherinsight.quarters import Quarter
from weatherinsight.settings import Settings
from weatherinsight.warehouse import db, lineage
from weatherinsight.warehouse.tables import climate_normals

pytestmark = pytest.mark.slow
P = "wind"
F = "wind_speed_mean"


def test_normals_and_anomalies_through_the_pipeline(
    mirror_url: str, mirror_settings_for: Callable[..., Settings]
) -> None:
    s = mirror_settings_for(mirror_url, quality_thresholds=SMALL_MIRROR_THRESHOLDS)
    year = Quarter.last_complete().year - 1  # January of `year` and `year + 1` are both complete
    env = {**cli_env(s), "COLUMNS": "200"}
    run = CliRunner().invoke(
        app,
        ["backfill", f"{year}Q1..{year + 1}Q1", "--products", P, "--period", "month", "--no-progress"],
        env=env,
    )
    assert run.exit_code == 0, run.output
    base = f"{year}..{year + 1}"
    made = CliRunner().invoke(app, ["normals", "--product", P, "--base", base, "--period", "month"], env=env)
    assert made.exit_code == 0, made.output
    name = f"{year}-{year + 1}_month_normals_v1"
    assert name in made.output and "published" in made.output
    with db.get_engine(s.database_url).connect() as conn:
        januaries = [lineage.read_published(conn, P, Period("month", y, 1)) for y in (year, year + 1)]
        c = climate_normals.c
        stored = {
            r.station_id: (r.normal, r.years)
            for r in conn.execute(
                select(climate_normals).where(c.dataset_version == name, c.period_number == 1, c.feature == F)
            )
        }
    values: dict[int, list[float]] = {}
    for rows in januaries:
        for r in rows:
            if r[F] is not None:
                values.setdefault(r["station_id"], []).append(r[F])
    assert len(values) >= 3
    for station, vals in values.items():  # the normal is the plain mean when both years are valid
        assert stored[station] == ((pytest.approx(fmean(vals)), 2) if len(vals) == 2 else (None, len(vals)))
    frame = Client(settings=s).features(
        P,
        start=f"{year + 1}Q1",
        end=f"{year + 1}Q1",
        features=[F],
        period="month",
        anomalies=True,
        normals_base=base,
    )
    jan = frame[frame["period"] == f"{year + 1}-01"]
    for row in jan.itertuples():
        normal, years = stored[row.station_id]
        assert getattr(row, f"{F}_normal_years") == years
        if normal is not None:
            assert getattr(row, f"{F}_anomaly") == pytest.approx(
                round(values[row.station_id][-1] - normal, 1)
            )
    again = CliRunner().invoke(app, ["normals", "--product", P, "--base", base, "--period", "month"], env=env)
    assert again.exit_code == 0 and "unchanged" in again.output
    bad = CliRunner().invoke(app, ["normals", "--product", P, "--base", "2020-1991"], env=env)
    assert bad.exit_code == 2 and "invalid --base '2020-1991'" in bad.output
