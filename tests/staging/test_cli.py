"""``weatherinsight stage`` and the seed-shaped ``weatherinsight process`` with their Rich summaries."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import select
from typer.testing import CliRunner

from tests.staging.conftest import TU_AKT_00044, build_wind_store, make_zip, put
from weatherinsight.cli import app
from weatherinsight.quarters import Quarter
from weatherinsight.settings import Settings
from weatherinsight.storage.staged import list_partitions
from weatherinsight.warehouse import db
from weatherinsight.warehouse.tables import dataset_versions


def env(s: Settings) -> dict[str, str]:
    return {
        "WEATHERINSIGHT_DATA_DIR": str(s.data_dir),
        "WEATHERINSIGHT_DATABASE_URL": s.database_url,
        "WEATHERINSIGHT_RAW_STORE_URL": s.raw_store_url,
        "WEATHERINSIGHT_LOG_LEVEL": "WARNING",
        "COLUMNS": "240",
    }


def test_stage_prints_summary_and_quarantined_files(settings: Settings) -> None:
    build_wind_store(settings)
    put(
        settings,
        "wind",
        "recent",
        make_zip({"readme.txt": b"no produkt here"}),
        "stundenwerte_FF_00333_akt.zip",
    )
    runner = CliRunner()
    res = runner.invoke(
        app,
        ["stage", "--product", "FF", "--no-progress"],
        env={**env(settings), "WEATHERINSIGHT_STAGE__MAX_FAILURE_SHARE": "0.5"},
    )
    assert res.exit_code == 0, res.output
    assert "staged wind: 7 quarter(s) rewritten, 13752 rows, 1 file(s) quarantined" in res.output
    assert "2021Q3_staged_v1" in res.output
    assert "quarantined files" in res.output and "recent/stundenwerte_FF_00333_akt.zip" in res.output
    assert "expected exactly one produkt_*.txt member, found 0" in res.output
    assert re.search(r"rows left out \(time reference MOZ/unknown\)\s*│\s*0\s*│", res.output), res.output
    again = runner.invoke(
        app,
        ["stage", "-p", "wind", "--no-progress"],
        env={**env(settings), "WEATHERINSIGHT_STAGE__MAX_FAILURE_SHARE": "0.5"},
    )
    assert again.exit_code == 0, again.output
    assert "nothing to do: no new or changed raw files for wind" in again.output


def test_process_seed_shape_stages_the_raw_versions_quarter(settings: Settings, tmp_path: Path) -> None:
    other = tmp_path / "elsewhere"
    raw = Settings(raw_store_url=str(other), data_dir=settings.data_dir)
    put(raw, "air_temperature", "recent", TU_AKT_00044, TU_AKT_00044.name)
    res = CliRunner().invoke(
        app,
        ["process", "air_temperature", str(other), "2022Q2_raw_v1", "--no-progress"],
        env=env(settings),
    )
    assert res.exit_code == 0, res.output
    assert list_partitions(settings.staged_dir, "air_temperature") == [Quarter(2022, 2)]
    with db.get_engine(settings.database_url).connect() as conn:
        row = conn.execute(select(dataset_versions.c.version_name, dataset_versions.c.parent_versions)).one()
    assert row == ("2022Q2_staged_v1", ["2022Q2_raw_v1"])
    bad = CliRunner().invoke(app, ["process", "air_temperature", str(other), "latest"], env=env(settings))
    assert bad.exit_code != 0
