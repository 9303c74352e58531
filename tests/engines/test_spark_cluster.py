"""`weatherinsight stage` and `aggregate` with ``--master spark://…`` on a real standalone cluster match DuckDB.

The cluster is ``spark_cluster`` (a master and two workers, separate JVMs); the raw store is on the moto S3
server. The CLI runs as its own process (the driver), so no SparkSession of this test process is reused.
Both runs read the same S3 objects; the staged Parquet must match row for row and the published features
value for value, and both workers must have run executors for both applications.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import fsspec
import pyarrow as pa
import pytest

from tests.fixtures.core import make_settings, settings_env
from tests.fixtures.s3 import S3_OPTIONS
from tests.fixtures.spark_cluster import EXECUTOR_SETTINGS, SparkCluster
from weatherinsight.aggregate import aggregate_quarter
from weatherinsight.dwd.products import get_product
from weatherinsight.mirror.layout import hourly_root
from weatherinsight.quarters import Quarter
from weatherinsight.settings import Settings
from weatherinsight.staging import stage_product
from weatherinsight.storage.staged import staged_dataset
from weatherinsight.warehouse import db, lineage
from weatherinsight.warehouse.tables import curated_table

#: Three JVMs, two driver processes and their executors on a shared 2-core machine: more than the default 600 s.
pytestmark = [pytest.mark.spark, pytest.mark.slow, pytest.mark.timeout(900)]

PRODUCT = "air_temperature"
BUCKET = "wi-cluster-raw"
#: Set by each publication, not computed from the data.
RUN_COLUMNS = {"computed_at"}


def upload_raw_store(mirror_dir: Path, endpoint: str) -> str:
    """The mirror's ``PRODUCT`` files under ``s3://BUCKET/dwd/<product>/`` (the raw store layout)."""
    import boto3

    boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=S3_OPTIONS["key"],
        aws_secret_access_key=S3_OPTIONS["secret"],
        region_name="us-east-1",
    ).create_bucket(Bucket=BUCKET)
    fs = fsspec.filesystem("s3", endpoint_url=endpoint, **S3_OPTIONS)
    src = hourly_root(mirror_dir) / get_product(PRODUCT).directory
    for f in sorted(p for p in src.rglob("*") if p.is_file()):
        fs.put_file(str(f), f"{BUCKET}/dwd/{PRODUCT}/{f.relative_to(src).as_posix()}")
    return f"s3://{BUCKET}"


def cluster_settings(root: Path, raw_store: str, endpoint: str) -> Settings:
    root.mkdir(parents=True)
    return make_settings(
        root,
        raw_store_url=raw_store,
        s3_endpoint_url=endpoint,
        raw_store_options=S3_OPTIONS,
        spark=EXECUTOR_SETTINGS,
    )


def cli(settings: Settings, cluster: SparkCluster, *args: str) -> str:
    """Run the installed ``weatherinsight`` command as the driver; its output, or a failure with the logs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WEATHERINSIGHT_", "PYSPARK_"))}
    # The driver listens on loopback, where the executors on this host reach it.
    env.update(settings_env(settings), SPARK_LOCAL_IP="127.0.0.1")
    exe = Path(sys.executable).parent / "weatherinsight"
    try:
        done = subprocess.run(
            [str(exe), *args, "--master", cluster.master_url],
            env=env,
            capture_output=True,
            text=True,
            timeout=400,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{args} did not finish within 400 s:\n{cluster.log_tail()}")
    assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr[-4000:]}\n{cluster.log_tail()}"
    return done.stdout


def staged_rows(settings: Settings) -> pa.Table:
    t = staged_dataset(settings.staged_dir, PRODUCT).to_table()
    return t.sort_by([("station_id", "ascending"), ("ts", "ascending")])


def published(settings: Settings, quarter: Quarter) -> list[dict[str, Any]]:
    with db.get_engine(settings.database_url).connect() as conn:
        rows = lineage.read_published(conn, PRODUCT, quarter)
    return [{k: v for k, v in r.items() if k not in RUN_COLUMNS} for r in rows]


def same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return bool(a == b)


def test_stage_and_aggregate_on_a_standalone_cluster_match_duckdb(
    spark_cluster: SparkCluster, s3_server: str, mirror_dir: Path, mirror_today: Any, tmp_path: Path
) -> None:
    quarter = Quarter.last_complete(mirror_today)
    raw_store = upload_raw_store(mirror_dir, s3_server)

    duck = cluster_settings(tmp_path / "duckdb", raw_store, s3_server)
    staged = stage_product(duck, get_product(PRODUCT), quarters=[quarter])
    aggregated = aggregate_quarter(duck, PRODUCT, quarter)
    assert (staged.status, aggregated.engine) == ("succeeded", "duckdb")

    spark = cluster_settings(tmp_path / "spark", raw_store, s3_server)
    out = cli(spark, spark_cluster, "stage", "--product", PRODUCT, "--quarter", str(quarter), "--no-progress")
    rows = staged.rows_by_quarter[str(quarter)]
    assert f"1 quarter(s) rewritten, {rows} rows, 0 file(s) quarantined" in out, out
    out = cli(spark, spark_cluster, "aggregate", "--quarter", str(quarter), "--product", PRODUCT)
    assert aggregated.dataset_version in out, out

    # Staged Parquet: row for row, every column.
    a, b = staged_rows(duck), staged_rows(spark)
    assert a.num_rows == rows > 5_000
    assert b.column_names == a.column_names
    assert b.cast(a.schema).equals(a)

    # Published features: the same stations, feature for feature.
    want, got = published(duck, quarter), published(spark, quarter)
    assert len(want) == aggregated.rows >= 4
    assert [r["station_id"] for r in got] == [r["station_id"] for r in want]
    columns = {c.name for c in curated_table(PRODUCT).c} - RUN_COLUMNS
    for w, g in zip(want, got, strict=True):
        assert g.keys() == w.keys() == columns
        diff = {k: (w[k], g[k]) for k in w if not same(w[k], g[k])}
        assert not diff, (w["station_id"], diff)

    # It really ran on the cluster: two applications, each with an executor on both workers.
    apps = {app["name"]: app for app in spark_cluster.state()["completedapps"]}
    assert set(apps) == {"weatherinsight-stage", "weatherinsight-aggregate"}
    for work in spark_cluster.work_dirs:
        assert sorted(p.name for p in work.glob("app-*")) == sorted(a["id"] for a in apps.values()), work
