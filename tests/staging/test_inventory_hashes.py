"""The inventory's sha256 cache: an unchanged raw file is not read again; a replaced one is (issue #19)."""

from __future__ import annotations

import hashlib
import json

from tests.staging.conftest import TU_AKT_00044, TU_HIST_00044, put, release
from weatherinsight.dwd.products import get_product
from weatherinsight.settings import Settings
from weatherinsight.staging import stage_product
from weatherinsight.staging.inventory import HASH_CACHE, list_raw_inputs
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
