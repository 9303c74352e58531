"""Raw store on S3 (moto's server on 127.0.0.1) and the ``weatherinsight ingest`` / ``mirror`` CLI verbs."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

from typer.testing import CliRunner

from tests.fixtures.core import settings_env
from tests.fixtures.mirror import MIRROR_STATIONS, FreshMirror
from tests.fixtures.s3 import S3_OPTIONS
from weatherinsight.cli import app
from weatherinsight.dwd.products import get_product
from weatherinsight.ingest import ingest_product
from weatherinsight.mirror.layout import load_spec, product_dir
from weatherinsight.mirror.server import MirrorHTTPServer
from weatherinsight.settings import Settings
from weatherinsight.storage.raw import RawStore

WIND = get_product("wind")


def test_s3_round_trip(
    s3_server: str, mirror_url: str, mirror_dir: Path, mirror_settings_for: Callable[..., Settings]
) -> None:
    import boto3

    boto3.client(
        "s3",
        endpoint_url=s3_server,
        aws_access_key_id=S3_OPTIONS["key"],
        aws_secret_access_key=S3_OPTIONS["secret"],
        region_name=S3_OPTIONS["client_kwargs"]["region_name"],
    ).create_bucket(Bucket="wi-raw")  # the session's moto server is shared: a bucket of this test's own
    settings = mirror_settings_for(
        mirror_url,
        raw_store_url="s3://wi-raw/prefix",
        s3_endpoint_url=s3_server,
        raw_store_options=S3_OPTIONS,
    )
    first = ingest_product(settings, "wind", period="recent")
    assert (first.status, first.files_new) == ("succeeded", MIRROR_STATIONS + 1)
    store = RawStore.from_settings(settings)
    assert (
        not store.local
        and store.display(store.path("wind", "recent", "x")) == "s3://wi-raw/prefix/dwd/wind/recent/x"
    )
    expected = {p.name: p.read_bytes() for p in product_dir(mirror_dir, WIND, "recent").iterdir()}
    assert store.list_files("wind", "recent") == sorted(expected)
    for name, data in expected.items():
        assert hashlib.sha256(store.read("wind", "recent", name)).digest() == hashlib.sha256(data).digest()
    second = ingest_product(settings, "wind", period="recent")
    assert (second.files_unchanged, second.bytes_downloaded) == (MIRROR_STATIONS + 1, 0)
    # A changed file on S3: the old object is copied under _history before the new one is put.
    name = sorted(expected)[0]
    committed = store.commit("wind", "recent", name, b"PK-new-bytes")
    assert committed.outcome == "changed" and committed.history_path is not None
    assert store.history("wind", "recent") == [f"{hashlib.sha256(expected[name]).hexdigest()[:16]}_{name}"]


def test_cli_ingest_seed_shape_and_failure_exit(
    mirror_server: MirrorHTTPServer, mirror_settings: Settings
) -> None:
    runner = CliRunner()
    env = settings_env(mirror_settings)
    ok = runner.invoke(app, ["ingest", "--variable", "air_temperature", "--no-progress"], env=env)
    assert ok.exit_code == 0, ok.output
    assert "ingest air_temperature (all)" in ok.output and "succeeded" in ok.output
    alias = runner.invoke(
        app,
        ["ingest", "--product", "wind", "--period", "recent", "--stations", "1,2", "--no-progress"],
        env=env,
    )
    assert alias.exit_code == 0, alias.output
    mirror_server.faults.add("503", "*/precipitation/recent/*_akt.zip")
    failed = runner.invoke(app, ["ingest", "--variable", "precipitation", "--no-progress"], env=env)
    assert failed.exit_code == 1
    assert (
        "failed files" in failed.output
        and "gave up after 4 attempts; last problem: HTTP 503" in failed.output
    )
    bad = runner.invoke(app, ["ingest", "--variable", "wind", "--period", "later"], env=env)
    assert bad.exit_code == 2


def test_cli_mirror_build_release_status(tmp_path: Path) -> None:
    runner = CliRunner()
    root = tmp_path / "m"
    built = runner.invoke(
        app,
        [
            "mirror",
            "build",
            str(root),
            "--stations",
            "2",
            "--years",
            "1",
            "--seed",
            "5",
            "--product",
            "pressure",
            "--today",
            "2026-03-15",
            "--no-progress",
        ],
    )
    assert built.exit_code == 0, built.output
    assert sorted(
        p.name for p in product_dir(root, get_product("pressure"), "recent").glob("*.zip")
    ) == sorted(get_product("pressure").recent_zip_name(s) for s in _station_ids(root))
    released = runner.invoke(app, ["mirror", "release", str(root), "--no-progress"])
    assert released.exit_code == 0, released.output
    assert load_spec(root).release == 2
    status = runner.invoke(app, ["mirror", "status", str(root)])
    assert '"release": 2' in status.output


def _station_ids(root: Path) -> list[int]:
    from weatherinsight.mirror.stations import make_stations

    spec = load_spec(root)
    return [
        s.station_id
        for s in make_stations(spec.stations, first_year=spec.first_year, today=spec.today, seed=spec.seed)
    ]


def test_fresh_mirror_fixture_serves_its_own_copy(fresh_mirror: FreshMirror, mirror_dir: Path) -> None:
    assert fresh_mirror.root != mirror_dir and fresh_mirror.url.endswith(
        "/observations_germany/climate/hourly/"
    )
    assert sorted(p.name for p in fresh_mirror.root.rglob("*.zip")) == sorted(
        p.name for p in mirror_dir.rglob("*.zip")
    )


def test_cli_ingest_daily_climate_alone_and_with_the_configured_products(
    mirror_dir: Path, mirror_url: str, mirror_settings_for: Callable[..., Settings]
) -> None:
    """``ingest --product daily_climate`` fetches the daily KL zips; ``ingest`` without a product fetches the
    configured products and the daily KL values their day indices read (issue #17), never other products."""
    from weatherinsight.dwd.products import DAILY_KL

    settings = mirror_settings_for(mirror_url, product_types=["wind", "air_temperature"])
    env = settings_env(settings)
    listed = sum(1 for p in ("historical", "recent") for _ in product_dir(mirror_dir, DAILY_KL, p).iterdir())
    runner = CliRunner()
    daily = runner.invoke(app, ["ingest", "--product", "daily_climate", "--no-progress"], env=env)
    assert daily.exit_code == 0, daily.output
    assert "ingest daily_climate (all)" in daily.output and ": succeeded" in daily.output
    assert _counts(daily.output) == [(listed, listed, 0, 0, 0)]
    every = runner.invoke(app, ["ingest", "--no-progress"], env=env)
    assert every.exit_code == 0, every.output
    titles = [line.split(" — ")[0].strip() for line in every.output.splitlines() if " — run " in line]
    assert titles == ["ingest wind (all)", "ingest air_temperature (all)", "ingest daily_climate (all)"]
    # listed, new, changed, unchanged, failed: the daily KL zips were all fetched by the first run
    assert _counts(every.output)[2] == (listed, 0, 0, listed, 0)


def _counts(output: str) -> list[tuple[int, ...]]:
    """The (listed, new, changed, unchanged, failed) row of each ingest summary table in ``output``."""
    rows = [line.strip("│ ").split("│") for line in output.splitlines() if line.startswith("│")]
    return [tuple(int(c) for c in row[:5]) for row in rows if len(row) == 8]
