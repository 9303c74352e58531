"""Helpers for the staging tests: a raw store laid out like ingestion leaves it, built from real DWD files.

Layout (docs/design.md §4): ``<raw_store>/dwd/<product>/<period>/<file name>``, older releases of a replaced file under
``<period>/_history/``. The bytes are the real DWD samples in ``tests/data/dwd``.
"""

from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import DATA
from tests.fixtures.core import make_settings
from weatherinsight.settings import Settings

DWD = DATA / "dwd"
TU_HIST_00044 = DWD / "air_temperature/zeppr_00044/stundenwerte_TU_00044_20070401_20211231_hist.zip"
TU_AKT_00044 = DWD / "air_temperature/zeppr_00044/stundenwerte_TU_00044_akt.zip"
TU_LIST = DWD / "air_temperature/TU_Stundenwerte_Beschreibung_Stationen.txt"
TU_LEGACY = DWD / "air_temperature/legacy_2016_format/stundenwerte_TU_01048_akt.zip"


def release(product: str, code: str, day: str) -> Path:
    """A Hamburg 01975 recent release (2019-09-05, 2021-08-27, 2021-09-19)."""
    return DWD / product / f"hamburg_01975_release_{day}" / f"stundenwerte_{code}_01975_akt.zip"


def put(
    settings: Settings, product: str, period: str, src: Path | bytes, name: str, *, history: bool = False
) -> Path:
    """Store a file in the raw store as ingestion does (current bytes, or an older copy in ``_history``)."""
    d = Path(settings.raw_store_url) / "dwd" / product / period
    if history:
        d = d / "_history"
    d.mkdir(parents=True, exist_ok=True)
    target = d / name
    if isinstance(src, bytes):
        target.write_bytes(src)
    else:
        shutil.copyfile(src, target)
    return target


def restaged(settings: Settings, **overrides: Any) -> Settings:
    """The same locations as ``settings`` with other keys (``make_settings`` overrides, e.g. ``stage={...}``)."""
    return make_settings(
        settings.data_dir,
        database_url=settings.database_url,
        raw_store_url=settings.raw_store_url,
        dwd_base_url=settings.dwd_base_url,
        **overrides,
    )


def settings_with_share(settings: Settings, share: float) -> Settings:
    """The same settings with ``stage.max_failure_share`` set."""
    return restaged(settings, stage={"max_failure_share": share})


def make_zip(
    members: dict[str, bytes], *, date_time: tuple[int, int, int, int, int, int] = (2023, 2, 9, 8, 0, 0)
) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(zipfile.ZipInfo(name, date_time), data)
    return buf.getvalue()


@pytest.fixture
def tu_store(settings: Settings) -> Settings:
    """TU raw store: 00044 historical + recent (overlap 3504 h), Hamburg 01975 two 2021 releases, station list."""
    return build_tu_store(settings)


def fresh_settings(root: Path) -> Settings:
    """Settings like the core ``settings`` fixture, for module-scoped fixtures (one staging run, many tests)."""
    root.mkdir(parents=True, exist_ok=True)
    return make_settings(root)


def build_tu_store(settings: Settings) -> Settings:
    put(settings, "air_temperature", "historical", TU_HIST_00044, TU_HIST_00044.name)
    put(settings, "air_temperature", "recent", TU_AKT_00044, TU_AKT_00044.name)
    put(
        settings,
        "air_temperature",
        "recent",
        release("air_temperature", "TU", "2021-09-19"),
        "stundenwerte_TU_01975_akt.zip",
    )
    put(
        settings,
        "air_temperature",
        "recent",
        release("air_temperature", "TU", "2021-08-27"),
        "5d1e0c0ffee01234_stundenwerte_TU_01975_akt.zip",
        history=True,
    )
    put(settings, "air_temperature", "recent", TU_LIST, TU_LIST.name)
    return settings


def build_wind_store(settings: Settings) -> Settings:
    """Wind: Hamburg's 2021-09-19 release current, the 2021-08-27 release kept in _history."""
    put(settings, "wind", "recent", release("wind", "FF", "2021-09-19"), "stundenwerte_FF_01975_akt.zip")
    put(
        settings,
        "wind",
        "recent",
        release("wind", "FF", "2021-08-27"),
        "0123456789abcdef_stundenwerte_FF_01975_akt.zip",
        history=True,
    )
    return settings
