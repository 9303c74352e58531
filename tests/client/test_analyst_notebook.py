"""Issue #15's done-when, as an analyst would do it after ``make demo``: a plain top-to-bottom script.

Find stations near a point, pull two products over four quarters into one DataFrame with the local client and
with the HTTP client (a served API on loopback over the same database), get equal frames, write CSV and Parquet
that pandas reads back with units; then the same from the shell with the CLI and the demo's ``demo.env``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from tests.api.conftest import ServerThread
from weatherinsight import Client
from weatherinsight.api.app import create_app
from weatherinsight.cli import demo
from weatherinsight.quarters import Quarter
from weatherinsight.settings import load_settings

pytestmark = pytest.mark.slow
KEYS = ["station_id", "year", "quarter"]


def _env(path: Path) -> dict[str, str]:
    return dict(
        line.split("=", 1) for line in path.read_text().splitlines() if line and not line.startswith("#")
    )


def _two_products(client: Client, ids: list[int], start: str, end: str) -> pd.DataFrame:
    temp = client.features("air_temperature", stations=ids, start=start, end=end, include_station=True)
    rain = client.features("precipitation", stations=ids, start=start, end=end)
    return temp.merge(rain, on=KEYS, suffixes=("_temperature", "_precipitation"))


def test_analyst_session_on_demo_data(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "demo"
    assert (
        demo.run(demo._parse(["--dir", str(root), "--stations", "5", "--years", "2", "--quarters", "4"])) == 0
    )
    out = capsys.readouterr().out
    assert (
        "make api" in out
        and "http://127.0.0.1:8000/docs" in out
        and "from weatherinsight import Client" in out
    )
    env = _env(root / "demo.env")
    assert env["WEATHERINSIGHT_CONFIG_FILE"].endswith(
        "weatherinsight-demo.yaml"
    )  # thresholds kept for `check`
    settings = load_settings(
        data_dir=Path(env["WEATHERINSIGHT_DATA_DIR"]),
        database_url=env["WEATHERINSIGHT_DATABASE_URL"],
        raw_store_url=env["WEATHERINSIGHT_RAW_STORE_URL"],
        config_file=Path(env["WEATHERINSIGHT_CONFIG_FILE"]),
    )
    last = Quarter.last_complete()
    first = last.previous().previous().previous()

    # 1 · stations near a point: the first station's own position, so it comes first at distance 0.
    local = Client(settings=settings)
    everyone = local.stations(product="air_temperature")
    lat, lon = float(everyone.latitude.iloc[0]), float(everyone.longitude.iloc[0])
    near = local.stations(near=(lat, lon), radius_km=1000, product="precipitation")
    assert near.station_id.iloc[0] == everyone.station_id.iloc[0]
    assert near.distance_km.iloc[0] == 0.0 and near.distance_km.is_monotonic_increasing
    ids = near.station_id.head(3).tolist()

    # 2 · two products × four quarters in one frame, locally and over HTTP: equal.
    frame = _two_products(local, ids, str(first), str(last))
    with ServerThread(create_app(settings)) as server:
        remote = _two_products(Client(server.url), ids, str(first), str(last))
    pd.testing.assert_frame_equal(frame, remote)
    assert sorted(set(frame.station_id)) == sorted(ids)
    assert sorted(set(zip(frame.year, frame.quarter, strict=True))) == [
        (q.year, q.quarter) for q in (first, first.next(), first.next().next(), last)
    ]
    assert {"tg_mean", "precip_total", "coverage_temperature", "dataset_version_precipitation"} <= set(
        frame.columns
    )

    # 3 · CSV and Parquet that pandas reads back, with units.
    csv_path, parquet_path = tmp_path / "analysis.csv", tmp_path / "analysis.parquet"
    frame.to_csv(csv_path, index=False)
    back = pd.read_csv(csv_path)
    assert back[KEYS].values.tolist() == frame[KEYS].values.tolist()
    assert back.tg_mean.tolist() == pytest.approx(frame.tg_mean.tolist(), nan_ok=True)
    temp = local.features_arrow("air_temperature", stations=ids, start=str(first), end=str(last))
    pq.write_table(temp, parquet_path)
    schema = pq.read_schema(parquet_path)
    assert schema.field("tg_mean").metadata[b"unit"] == "°C".encode()
    assert pd.read_parquet(parquet_path).station_id.tolist() == temp.column("station_id").to_pylist()

    # 4 · the same from the shell, with the demo's settings.
    exe = str(Path(sys.executable).with_name("weatherinsight"))
    shell_env = {**os.environ, **env, "COLUMNS": "200"}
    listed = subprocess.run(
        [exe, "stations", "--near", f"{lat},{lon}", "--radius-km", "1000", "--product", "precipitation"],
        env=shell_env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert str(ids[0]) in listed and "distance_km" in listed
    cli_csv = tmp_path / "cli.csv"
    args = ["--from", str(first), "--to", str(last), "--features", "tg_mean,frost_days"]
    stations = [a for s in ids for a in ("--station", str(s))]
    subprocess.run(
        [exe, "features", "air_temperature", *stations, *args, "--format", "csv", "-o", str(cli_csv)],
        env=shell_env,
        capture_output=True,
        text=True,
        check=True,
    )
    from_shell = pd.read_csv(cli_csv)
    want = local.features(
        "air_temperature", stations=ids, start=str(first), end=str(last), features=["tg_mean", "frost_days"]
    )
    cols = [*KEYS, "tg_mean", "frost_days"]
    pd.testing.assert_frame_equal(from_shell[cols], want[cols].reset_index(drop=True), check_dtype=False)
    units = json.loads(cli_csv.with_suffix(".fields.json").read_text())
    assert units["tg_mean"]["unit"] == "°C" and units["frost_days"]["unit"] == "days"
    cli_parquet = tmp_path / "cli.parquet"
    subprocess.run(
        [exe, "features", "air_temperature", *stations, *args, "--format", "parquet", "-o", str(cli_parquet)],
        env=shell_env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert pq.read_schema(cli_parquet).field("frost_days").metadata[b"unit"] == b"days"
    assert len(pd.read_parquet(cli_parquet)) == len(want)
