"""``weatherinsight aggregate`` in both shapes (seed positional, --quarter/--product), with its summary table."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from tests.aggregate.test_service import stage, versions
from tests.features import cases
from weatherinsight.cli import app
from weatherinsight.settings import Settings


def env(s: Settings) -> dict[str, str]:
    return {
        "WEATHERINSIGHT_DATA_DIR": str(s.data_dir),
        "WEATHERINSIGHT_DATABASE_URL": s.database_url,
        "WEATHERINSIGHT_LOG_LEVEL": "WARNING",
        "COLUMNS": "200",
    }


def test_quarter_and_seed_shapes(settings: Settings) -> None:
    stage(settings, "pressure", cases.pressure())
    stage(settings, "wind", cases.wind())
    runner = CliRunner()
    res = runner.invoke(
        app, ["aggregate", "--quarter", "2024Q1", "--product", "pressure", "-p", "FF"], env=env(settings)
    )
    assert res.exit_code == 0, res.output
    assert "aggregation" in res.output
    lines = [ln for ln in res.output.splitlines() if "2024Q1_v1" in ln]
    assert len(lines) == 2 and all("published" in ln and "│    3 │" in ln for ln in lines), res.output
    assert versions(settings, "pressure") == {"2024Q1_v1": "AVAILABLE"}

    again = runner.invoke(app, ["aggregate", "pressure", "2024", "1", "2024Q1_staged_v1"], env=env(settings))
    assert again.exit_code == 0, again.output
    assert "unchanged" in again.output and "2024Q1_staged_v1" in again.output

    forced = runner.invoke(
        app,
        [
            "aggregate",
            "pressure",
            "2024",
            "1",
            "2024Q1_staged_v1",
            "--output-version",
            "2024Q1_v2",
            "--force",
        ],
        env=env(settings),
    )
    assert forced.exit_code == 0, forced.output
    assert versions(settings, "pressure") == {"2024Q1_v1": "SUPERSEDED", "2024Q1_v2": "AVAILABLE"}


def test_failures_are_reported_per_product(settings: Settings, tmp_path: Path) -> None:
    stage(settings, "pressure", cases.pressure())
    runner = CliRunner()
    res = runner.invoke(
        app, ["aggregate", "--quarter", "2024Q1", "-p", "pressure", "-p", "moisture"], env=env(settings)
    )
    assert res.exit_code == 1
    assert "no staged Parquet" in res.output and "failed" in res.output
    assert versions(settings, "pressure") == {"2024Q1_v1": "AVAILABLE"}
    # a single product re-raises its typed error (the entry point turns it into exit code 2)
    single = runner.invoke(app, ["aggregate", "moisture", "2024", "1"], env=env(settings))
    assert single.exit_code == 1 and "no staged Parquet" in str(single.exception)
    bad = runner.invoke(app, ["aggregate", "--quarter", "2024Q1", "--engine", "polars"], env=env(settings))
    assert bad.exit_code == 2 and "duckdb, spark" in bad.output
