"""Periods in the pipeline step (published once every quarter they lie in is staged) and in the CLI."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from tests.aggregate.test_cli import env
from tests.periods import cases
from weatherinsight.cli import app
from weatherinsight.cli.orchestrate import with_periods
from weatherinsight.pipeline import steps
from weatherinsight.quarters import Quarter
from weatherinsight.settings import Settings
from weatherinsight.warehouse import db, lineage

P = cases.PRODUCT


def available(settings: Settings) -> list[str]:
    with db.get_engine(settings.database_url).connect() as conn:
        return [
            v.version_name
            for v in lineage.list_versions(conn, kind="curated", product=P, statuses=["AVAILABLE"])
        ]


def test_the_quarter_step_publishes_what_its_staged_quarters_complete(settings: Settings) -> None:
    staged = Path(settings.staged_dir)
    # quarters staged out of order (as parallel backfill tasks may): 2024Q1 before 2023Q4
    cases.stage_quarters(staged, [Quarter(2024, 1)])
    first = steps.aggregate(settings, P, Quarter(2024, 1))
    assert first.versions == ["2024Q1_v1"]
    assert first.detail["periods"] == {
        "2024-01": "2024-01_v1",
        "2024-02": "2024-02_v1",
        "2024DJF": "waiting for 2023Q4",
        "2024-03": "2024-03_v1",
        "2024MAM": "waiting for 2024Q2",
        "2024": "waiting for 2024Q2, 2024Q3, 2024Q4",
    }
    cases.stage_quarters(staged, [Quarter(2023, 4)])
    second = steps.aggregate(settings, P, Quarter(2023, 4), periods=["season"])
    # the winter is complete now that its December is staged; months were not asked for
    assert second.detail["periods"] == {"2023SON": "waiting for 2023Q3", "2024DJF": "2024DJF_v1"}
    cases.stage_quarters(staged, [Quarter(2024, 2), Quarter(2024, 3), Quarter(2024, 4)])
    fourth = steps.aggregate(settings, P, Quarter(2024, 4), periods=["year"], force=True)
    assert fourth.detail["periods"] == {"2024": "2024_v1"}
    assert sorted(available(settings)) == sorted(
        [
            "2023Q4_v1",
            "2024-01_v1",
            "2024-02_v1",
            "2024-03_v1",
            "2024DJF_v1",
            "2024Q1_v1",
            "2024Q4_v1",
            "2024_v1",
        ]
    )
    # forced again: the year ends in Q4, so it is rebuilt; quarters only when asked for nothing else
    again = steps.aggregate(settings, P, Quarter(2024, 4), periods=["year"], force=True)
    assert (again.versions, again.detail["periods"]) == (["2024Q4_v2"], {"2024": "2024_v2"})
    assert steps.aggregate(settings, P, Quarter(2024, 4), periods=[]).detail["periods"] == {}


def test_cli_period_option(settings: Settings) -> None:
    cases.stage_quarters(Path(settings.staged_dir), [Quarter(2023, 4), Quarter(2024, 1)])
    runner = CliRunner()
    res = runner.invoke(
        app, ["aggregate", "--quarter", "2024Q1", "--product", P, "--period", "month"], env=env(settings)
    )
    assert res.exit_code == 0, res.output
    assert [ln.split("│")[2].strip() for ln in res.output.splitlines() if "_v1" in ln] == [
        "2024-01",
        "2024-02",
        "2024-03",
    ]
    res = runner.invoke(
        app, ["aggregate", "--quarter", "2024Q1", "--product", P, "--period", "season"], env=env(settings)
    )
    assert res.exit_code == 0, res.output
    assert "2024DJF_v1" in res.output
    assert sorted(available(settings)) == ["2024-01_v1", "2024-02_v1", "2024-03_v1", "2024DJF_v1"]
    bad = runner.invoke(app, ["aggregate", "--quarter", "2024Q1", "--period", "week"], env=env(settings))
    assert bad.exit_code == 2
    assert "invalid period 'week': unknown period kind; use one of month, season, quarter, year" in bad.output
    none = runner.invoke(app, ["aggregate", "--quarter", "2024Q1", "--period", "year"], env=env(settings))
    assert none.exit_code == 2
    assert "no year ends in 2024Q1; a year ends in Q4" in none.output


def test_run_and_backfill_period_option(settings: Settings) -> None:
    assert with_periods(settings, None).features.periods == ("month", "season", "year")
    assert with_periods(settings, ["year,month", "quarter"]).features.periods == ("year", "month")
    assert with_periods(settings, ["quarter"]).features.periods == ()
    res = CliRunner().invoke(app, ["run", "2024Q1", "--period", "fortnight"], env=env(settings))
    assert res.exit_code == 2
    assert "invalid period 'fortnight': unknown period kind" in res.output
