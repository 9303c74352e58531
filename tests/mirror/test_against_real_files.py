"""Generated files compared with DWD's real files in tests/data/dwd: same headers, widths, members, layouts."""

from __future__ import annotations

import re
import zipfile
from collections import defaultdict
from datetime import date
from pathlib import Path

import pytest

from tests.conftest import DATA
from weatherinsight.dwd.products import PRODUCTS
from weatherinsight.mirror.layout import product_dir
from weatherinsight.mirror.simulate import build_mirror

REAL = DATA / "dwd"
#: One real, modern zip per product (OBS files; see tests/data/dwd/PROVENANCE.md).
REAL_ZIPS = {
    "air_temperature": "air_temperature/zeppr_00044/stundenwerte_TU_00044_akt.zip",
    "precipitation": "precipitation/hamburg_01975_release_2021-09-19/stundenwerte_RR_01975_akt.zip",
    "wind": "wind/hamburg_01975_release_2021-09-19/stundenwerte_FF_01975_akt.zip",
    "pressure": "pressure/zeppr_00096/stundenwerte_P0_00096_akt.zip",
    "moisture": "moisture/zeppr_00044/stundenwerte_TF_00044_akt.zip",
}
#: The station-list line layout observed in all 3147 real rows (FORMAT §1.4); heights can be "-0" (Emden).
LIST_LINE = re.compile(r"^\d{5} \d{8} \d{8} {0,14}-?\d+ {1,11}\d+\.\d{4} {1,9}\d+\.\d{4} .{41}\S.*$")


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cmp")
    build_mirror(root, stations=5, years=1, seed=99, today=date(2026, 6, 15), workers=1)
    return root


def _widths(zf: zipfile.ZipFile) -> tuple[bytes, dict[int, set[int]]]:
    name = next(n for n in zf.namelist() if n.startswith("produkt_"))
    lines = zf.read(name).split(b"\r\n")
    widths: dict[int, set[int]] = defaultdict(set)
    for line in lines[1:-1]:
        for i, field in enumerate(line.split(b";")):
            widths[i].add(len(field))
    return lines[0], widths


#: No real zip of sun (only Lahr's bare produkt file, whose header tests/mirror/test_simulate.py compares) or
#: cloudiness is in tests/data/dwd; their layout is docs/dwd-format.md §2.7.1/§2.7.2.
WITHOUT_REAL_ZIP = {"sun", "cloudiness"}


def test_every_product_has_a_real_zip_or_says_why_not() -> None:
    assert set(REAL_ZIPS) | WITHOUT_REAL_ZIP == set(PRODUCTS)


@pytest.mark.parametrize("product", list(REAL_ZIPS))
def test_produkt_and_zip_match_the_real_file(generated: Path, product: str) -> None:
    real_path = REAL / REAL_ZIPS[product]
    if not real_path.exists():
        pytest.fail(f"real sample {real_path} is missing from tests/data/dwd")
    with zipfile.ZipFile(real_path) as real:
        real_header, real_widths = _widths(real)
        real_info = real.infolist()[0]
        real_texts = {
            n.split("_")[1]: real.read(n).split(b"\n")[0] for n in real.namelist() if n.endswith(".txt")
        }
        real_kinds = {n.split("_")[0] + "_" + n.split("_")[1] for n in real.namelist()}
    gen_zip = sorted(product_dir(generated, PRODUCTS[product], "recent").glob("*.zip"))[0]
    with zipfile.ZipFile(gen_zip) as gen:
        gen_header, gen_widths = _widths(gen)
        infos = gen.infolist()
        gen_texts = {
            n.split("_")[1]: gen.read(n).split(b"\n")[0] for n in gen.namelist() if n.endswith(".txt")
        }
        gen_kinds = {n.split("_")[0] + "_" + n.split("_")[1] for n in gen.namelist()}
    assert gen_header == real_header
    # Every width we write occurs in the real file (values, the station id and QN; -999 may be narrower).
    for col, widths in gen_widths.items():
        assert widths <= real_widths[col] | {4}, (product, col, widths, real_widths[col])
    assert gen_widths[0] == {11} and gen_widths[2] == {5}
    for info in infos:
        assert (info.compress_type, info.create_system, info.external_attr) == (
            real_info.compress_type,
            real_info.create_system,
            real_info.external_attr,
        )
    # The same kinds of member (Stationsname, Parameter, Geraete, Geographie, Fehldaten/Fehlwerte, produkt).
    assert gen_kinds <= real_kinds | {"Metadaten_Fehldaten", "Metadaten_Fehlwerte"}
    assert {
        "Metadaten_Stationsname",
        "Metadaten_Parameter",
        "Metadaten_Geographie",
        "produkt_" + PRODUCTS[product].code_lower,
    } <= gen_kinds
    # Header lines of the Metadaten files are byte-identical to DWD's.
    for kind in ("Stationsname", "Parameter", "Geographie"):
        assert gen_texts[kind] == real_texts[kind], kind


def test_station_list_layout_matches_the_real_list(generated: Path) -> None:
    for product in PRODUCTS.values():
        real_list = REAL / product.name / product.station_list_name
        gen = (
            (product_dir(generated, product, "recent") / product.station_list_name)
            .read_bytes()
            .decode("latin-1")
        )
        gen_lines = gen.splitlines()
        if real_list.exists():
            real_lines = real_list.read_bytes().decode("latin-1").splitlines()
            assert gen_lines[:2] == [ln.rstrip() for ln in real_lines[:2]]
            assert all(LIST_LINE.match(ln) for ln in real_lines[2:] if ln.strip())
        assert len(gen_lines) == 2 + 5 and all(LIST_LINE.match(ln) and len(ln) == 200 for ln in gen_lines[2:])
