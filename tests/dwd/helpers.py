"""Shared helpers for the DWD parser tests: where the real samples live, and building zips in memory."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from tests.conftest import DATA

SAMPLES = DATA / "dwd"


def sample(rel: str) -> bytes:
    """The bytes of one real DWD sample file (path relative to tests/data/dwd)."""
    return (SAMPLES / rel).read_bytes()


def zip_members(rel: str) -> dict[str, bytes]:
    with zipfile.ZipFile(SAMPLES / rel) as z:
        return {n: z.read(n) for n in z.namelist()}


def make_zip(members: dict[str, bytes], *, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as z:
        for name, data in members.items():
            z.writestr(
                zipfile.ZipInfo(name, date_time=(2023, 2, 9, 8, 39, 8)), data, compress_type=compression
            )
    return buf.getvalue()


def all_zip_paths() -> list[Path]:
    return sorted(SAMPLES.rglob("*.zip"))


#: A real recent FF zip of Hamburg (01975) with a long MEZ/UTC history in its Metadaten_Parameter.
FF_2021 = "wind/hamburg_01975_release_2021-09-19/stundenwerte_FF_01975_akt.zip"


def ff_parameter_bytes(rel: str = FF_2021) -> bytes:
    """The Metadaten_Parameter member of a Hamburg FF zip."""
    return zip_members(rel)["Metadaten_Parameter_ff_stunde_01975.txt"]
