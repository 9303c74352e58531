"""A pre-2017 legacy-layout file among current ones: quarantined apart, not counted against the failure share."""

from __future__ import annotations

import pytest

from tests.staging.conftest import TU_AKT_00044, TU_HIST_00044, TU_LEGACY, put
from weatherinsight.dwd.products import get_product
from weatherinsight.errors import RunFailedError
from weatherinsight.settings import Settings
from weatherinsight.staging import stage_product
from weatherinsight.storage.staged import list_partitions
from weatherinsight.vocabulary import Status

TU = "air_temperature"


def test_one_legacy_file_among_three_does_not_fail_the_product(settings: Settings) -> None:
    put(settings, TU, "historical", TU_HIST_00044, TU_HIST_00044.name)
    put(settings, TU, "recent", TU_AKT_00044, TU_AKT_00044.name)
    put(settings, TU, "recent", TU_LEGACY, TU_LEGACY.name)  # 1 of 3 files = 33 % > the default 5 %
    result = stage_product(settings, get_product(TU))
    assert result.status == Status.SUCCEEDED
    assert [q.rel for q in result.quarantined] == ["recent/stundenwerte_TU_01048_akt.zip"]
    assert "pre-2017 legacy produkt layout" in result.quarantined[0].reason
    assert len(list_partitions(settings.staged_dir, TU)) == 64  # 00044 staged in full, as without the file
    assert set(result.versions.values()) == {f"{q}_staged_v1" for q in result.versions}


def test_a_product_of_legacy_files_only_still_fails(settings: Settings) -> None:
    put(settings, TU, "recent", TU_LEGACY, TU_LEGACY.name)
    with pytest.raises(RunFailedError, match=r"1 of 1 files are bad"):
        stage_product(settings, get_product(TU))
