"""The inventory's sha256 cache: an unchanged raw file is not read again; a replaced one is (issue #19)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator

import pytest

from tests.conftest import require
from tests.fixtures.core import free_port, make_settings
from tests.staging.conftest import TU_AKT_00044, TU_HIST_00044, put, release
from weatherinsight.dwd.products import get_product
from weatherinsight.settings import Settings
from weatherinsight.staging import stage_product
from weatherinsight.staging.inventory import HASH_CACHE, list_raw_inputs
from weatherinsight.storage.raw import raw_filesystem
from weatherinsight.storage.staged import product_dir
from weatherinsight.vocabulary import Status

TU = "air_temperature"
RECENT = "recent/stundenwerte_TU_00044_akt.zip"


def _shas(settings: Settings, **kwargs: object) -> dict[str, str]:
    inv = list_raw_inputs(settings, get_product(TU), **kwargs)  # type: ignore[arg-type]
    return {i.rel: i.sha256 for i in inv.inputs}


def test_unchanged_files_are_not_read_again_and_replaced_ones_are(settings: Settings) -> None:
    put(settings, TU, "historical", TU_HIST_00044, TU_HIST_00044.name)
    stored = put(settings, TU, "recent", TU_AKT_00044, TU_AKT_00044.name)
    real = {
        "historical/" + TU_HIST_00044.name: hashlib.sha256(TU_HIST_00044.read_bytes()).hexdigest(),
        RECENT: hashlib.sha256(TU_AKT_00044.read_bytes()).hexdigest(),
    }
    cache = product_dir(settings.staged_dir, TU) / HASH_CACHE
    assert _shas(settings, hash_cache=cache) == real
    entries = json.loads(cache.read_text(encoding="utf-8"))
    assert sorted(entries) == sorted(str(stored.parent.parent / rel) for rel in real)

    # The cache is believed while a file's size and modification stamp are unchanged: a planted digest
    # comes back, which shows the file was not read.
    recent_key = str(stored)
    entries[recent_key][1] = "0" * 64
    cache.write_text(json.dumps(entries), encoding="utf-8")
    assert _shas(settings, hash_cache=cache)[RECENT] == "0" * 64
    assert _shas(settings)[RECENT] == real[RECENT]  # without the cache every file is hashed

    # A new release replaces the file (a new file: a new stamp): it is hashed again and the cache follows.
    new = release(TU, "TU", "2021-08-27").read_bytes()
    put(settings, TU, "recent", new, TU_AKT_00044.name)
    assert _shas(settings, hash_cache=cache)[RECENT] == hashlib.sha256(new).hexdigest()
    assert json.loads(cache.read_text(encoding="utf-8"))[recent_key][1] == hashlib.sha256(new).hexdigest()


def test_staging_keeps_the_cache_and_a_rerun_is_a_noop(settings: Settings) -> None:
    put(settings, TU, "historical", TU_HIST_00044, TU_HIST_00044.name)
    put(settings, TU, "recent", TU_AKT_00044, TU_AKT_00044.name)
    assert stage_product(settings, get_product(TU)).status == Status.SUCCEEDED
    cache = product_dir(settings.staged_dir, TU) / HASH_CACHE
    assert len(json.loads(cache.read_text(encoding="utf-8"))) == 2
    again = stage_product(settings, get_product(TU))
    assert again.status == Status.UNCHANGED and again.files_parsed == 0


S3_OPTIONS = {"key": "testing", "secret": "testing", "client_kwargs": {"region_name": "us-east-1"}}


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    try:
        from moto.server import ThreadedMotoServer
    except ImportError:  # pragma: no cover - moto[server] is a dev dependency
        require(False, "moto[server] is not installed")
        raise
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def test_the_cache_follows_objects_on_s3(s3_endpoint: str, settings: Settings) -> None:
    import boto3

    boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    ).create_bucket(Bucket="wi-hashes")
    s3 = make_settings(
        settings.data_dir,
        raw_store_url="s3://wi-hashes/raw",
        s3_endpoint_url=s3_endpoint,
        raw_store_options=S3_OPTIONS,
    )
    fs, root = raw_filesystem(s3)
    key = f"{root}/dwd/{TU}/{RECENT}"
    fs.pipe_file(key, TU_AKT_00044.read_bytes())
    cache = product_dir(s3.staged_dir, TU) / HASH_CACHE
    assert _shas(s3, hash_cache=cache) == {RECENT: hashlib.sha256(TU_AKT_00044.read_bytes()).hexdigest()}
    assert len(json.loads(cache.read_text(encoding="utf-8"))) == 1
    new = release(TU, "TU", "2021-08-27").read_bytes()
    fs.pipe_file(key, new)  # a new object: a new ETag
    assert _shas(s3, hash_cache=cache) == {RECENT: hashlib.sha256(new).hexdigest()}
