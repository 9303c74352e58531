"""The mirror simulator writes files byte-compatible with DWD's and holds the real archive's quirks."""

from __future__ import annotations

import re
import zipfile
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pytest

from tests.fixtures.mirror import MIRROR_SEED, MIRROR_STATIONS, MIRROR_YEARS
from weatherinsight.dwd.products import DAILY_PRODUCTS, PRODUCTS, get_product
from weatherinsight.dwd.produkt_zip import read_produkt_zip
from weatherinsight.dwd.stations import parse_station_list
from weatherinsight.mirror.layout import RECENT_DAYS, hourly_root, load_spec, product_dir
from weatherinsight.mirror.simulate import build_mirror, release_recent
from weatherinsight.mirror.stations import make_stations

TODAY = date(2026, 11, 25)

# Exact header lines and row shapes of the real files (FORMAT §2.2–2.6, OBS in tests/data/dwd).
HEADERS = {
    "air_temperature": b"STATIONS_ID;MESS_DATUM;QN_9;TT_TU;RF_TU;eor",
    "precipitation": b"STATIONS_ID;MESS_DATUM;QN_8;  R1;RS_IND;WRTR;eor",
    "wind": b"STATIONS_ID;MESS_DATUM;QN_3;   F;   D;eor",
    "pressure": b"STATIONS_ID;MESS_DATUM;QN_8;   P;  P0;eor",
    "moisture": b"STATIONS_ID;MESS_DATUM;QN_8;ABSF_STD;VP_STD;TF_STD;P_STD;TT_STD;RF_STD;TD_STD;eor",
    "sun": b"STATIONS_ID;MESS_DATUM;QN_7;SD_SO;eor",
    "cloudiness": b"STATIONS_ID;MESS_DATUM;QN_8;V_N_I; V_N;eor",
}
# Field widths per column (after STATIONS_ID 11, MESS_DATUM 10, QN 5); the second set allows DWD's -999 quirks.
WIDTHS = {
    "air_temperature": [(6,), (6, 4)],
    "precipitation": [(6,), (4,), (4,)],
    "wind": [(6,), (4,)],
    "pressure": [(7,), (7,)],
    "moisture": [(6,), (6,), (6,), (7,), (6,), (6,), (6,)],
    "sun": [(6,)],
    "cloudiness": [(5,), (4,)],
}


def _zips(root: Path, product: str, period: str) -> list[Path]:
    return sorted(product_dir(root, PRODUCTS[product], period).glob("*.zip"))


def _produkt_lines(path: Path) -> tuple[str, list[bytes]]:
    with zipfile.ZipFile(path) as zf:
        name = next(n for n in zf.namelist() if n.startswith("produkt_"))
        return name, zf.read(name).split(b"\r\n")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """5 stations × 1 year, fixed 'today', so counts below are exact."""
    root = tmp_path_factory.mktemp("tiny")
    build_mirror(root, stations=5, years=1, seed=7, today=TODAY, workers=1)
    return root


def test_layout_names_and_counts(tiny: Path) -> None:
    stations = make_stations(5, first_year=2025, today=TODAY, seed=7)
    closed = [s for s in stations if s.closed is not None]
    assert len(closed) == 1
    for name, product in PRODUCTS.items():
        hist = _zips(tiny, name, "historical")
        recent = _zips(tiny, name, "recent")
        assert len(hist) == 5 and len(recent) == 5
        for st in stations:
            start = st.start.strftime("%Y%m%d")
            assert (
                product_dir(tiny, product, "historical")
                .joinpath(f"stundenwerte_{product.code}_{st.station_id:05d}_{start}_20251231_hist.zip")
                .exists()
            )
            assert (
                product_dir(tiny, product, "recent").joinpath(product.recent_zip_name(st.station_id)).exists()
            )
        for period in ("historical", "recent"):
            assert product_dir(tiny, product, period).joinpath(product.station_list_name).exists()
    assert (hourly_root(tiny) / "air_temperature" / "recent").is_dir()
    assert str(hourly_root(tiny)).endswith("climate_environment/CDC/observations_germany/climate/hourly")


def test_deterministic_for_a_seed(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    for root, seed in ((a, 3), (b, 3), (c, 4)):
        build_mirror(root, stations=2, years=1, seed=seed, today=TODAY, products=["wind"], workers=1)
    files_a = sorted(p.relative_to(a) for p in a.rglob("*.zip"))
    assert files_a == sorted(p.relative_to(b) for p in b.rglob("*.zip"))
    assert all((a / f).read_bytes() == (b / f).read_bytes() for f in files_a)
    assert sorted(p.name for p in c.rglob("*.zip")) != sorted(p.name for p in a.rglob("*.zip"))
    # A product's data do not depend on which other products were built alongside it.
    d = tmp_path / "d"
    build_mirror(d, stations=2, years=1, seed=3, today=TODAY, products=["pressure", "wind"], workers=1)
    assert all((a / f).read_bytes() == (d / f).read_bytes() for f in files_a)


@pytest.mark.parametrize("product", list(PRODUCTS))
def test_produkt_bytes_match_dwd_layout(tiny: Path, product: str) -> None:
    for path in _zips(tiny, product, "recent") + _zips(tiny, product, "historical"):
        name, lines = _produkt_lines(path)
        assert re.fullmatch(
            rf"produkt_{PRODUCTS[product].code_lower}_stunde_\d{{8}}_\d{{8}}_\d{{5}}\.txt", name
        )
        assert lines[0] == HEADERS[product]
        assert lines[-1] == b""  # CRLF after the last line too
        for line in lines[1:-1]:
            fields = line.split(b";")
            assert len(fields[0]) == 11 and len(fields[1]) == 10 and len(fields[2]) == 5
            assert fields[-1] == b"eor"
            for value, widths in zip(fields[3:-1], WIDTHS[product], strict=True):
                assert len(value) in widths, (path.name, line)
                if len(value) != widths[0]:
                    assert value == b"-999"


@pytest.mark.parametrize("product", list(PRODUCTS))
def test_generated_zips_parse_like_real_ones(tiny: Path, product: str) -> None:
    spec = load_spec(tiny)
    yesterday = TODAY - timedelta(days=1)
    for path in _zips(tiny, product, "recent") + _zips(tiny, product, "historical"):
        parsed = read_produkt_zip(path.read_bytes(), file_name=path.name)
        assert parsed.product.name == product
        ts = parsed.table.column("ts")
        assert pc.all(pc.greater(ts[1:], ts[:-1])).as_py() if len(ts) > 1 else True
        if parsed.period == "historical":
            assert pc.max(ts).as_py().date() <= date(2025, 12, 31)
        else:
            assert pc.max(ts).as_py().date() <= yesterday
        assert parsed.geography is not None and parsed.geography.num_rows >= 1
        assert {p.parameter for p in parsed.periods} == {v.dwd_name for v in parsed.product.variables}
    assert spec.release == 1 and spec.stations == 5


def test_recent_window_is_550_days_overlapping_historical(tiny: Path) -> None:
    st = make_stations(5, first_year=2025, today=TODAY, seed=7)[0]
    product = get_product("air_temperature")
    recent = product_dir(tiny, product, "recent") / product.recent_zip_name(st.station_id)
    hist = next(product_dir(tiny, product, "historical").glob(f"*_{st.station_id:05d}_*_hist.zip"))
    _, rlines = _produkt_lines(recent)
    _, hlines = _produkt_lines(hist)
    first_day = TODAY - timedelta(days=RECENT_DAYS)
    gaps = sum(int(line.split(";")[5]) for line in _fehlwerte(recent, "TT_TU"))
    assert len(rlines) - 2 + gaps == RECENT_DAYS * 24
    assert rlines[1].split(b";")[1] == first_day.strftime("%Y%m%d00").encode()
    assert rlines[-2].split(b";")[1] == (TODAY - timedelta(days=1)).strftime("%Y%m%d23").encode()
    assert hlines[-2].split(b";")[1] == b"2025123123"
    # In the overlap, historical and recent agree exactly (values and QN), as observed at 00044.
    hist_rows = {ln.split(b";")[1]: ln for ln in hlines[1:-1]}
    overlap = [ln for ln in rlines[1:-1] if ln.split(b";")[1] in hist_rows]
    assert len(overlap) > 3000
    assert all(hist_rows[ln.split(b";")[1]] == ln for ln in overlap)


def _fehlwerte(path: Path, parameter: str) -> list[str]:
    with zipfile.ZipFile(path) as zf:
        names = [n for n in zf.namelist() if n.startswith("Metadaten_Fehlwerte_")]
        if not names:
            return []
        text = zf.read(names[0]).decode("latin-1")
    return [ln.rstrip() for ln in text.splitlines()[1:] if f";{parameter};" in ln]


def test_quirks_of_the_real_archive(tiny: Path) -> None:
    stations = make_stations(5, first_year=2025, today=TODAY, seed=7)
    by_role = {st.index: st for st in stations}
    # A closed station: a one-day recent file of 23 rows (like FF 00011).
    closed = by_role[2]
    assert closed.closed is not None
    wind = get_product("wind")
    name, lines = _produkt_lines(product_dir(tiny, wind, "recent") / wind.recent_zip_name(closed.station_id))
    day = closed.closed.strftime("%Y%m%d")
    assert name == f"produkt_ff_stunde_{day}_{day}_{closed.station_id:05d}.txt"
    assert len(lines) - 2 == 23
    # An all -999 station in pressure (like P0 00071).
    p0 = get_product("pressure")
    _, lines = _produkt_lines(product_dir(tiny, p0, "recent") / p0.recent_zip_name(by_role[3].station_id))
    assert all(ln.endswith(b";   -999;   -999;eor") for ln in lines[1:-1])
    # MEZ periods in Metadaten_Parameter, also in a recent file (like FF 02773).
    parsed = read_produkt_zip(
        (product_dir(tiny, wind, "recent") / wind.recent_zip_name(by_role[0].station_id)).read_bytes(),
        file_name=wind.recent_zip_name(by_role[0].station_id),
    )
    refs = sorted({(p.reference, p.end) for p in parsed.periods})
    assert [r for r, _ in refs] == ["MEZ", "UTC"]
    assert refs[0][1] == TODAY - timedelta(days=201)
    # Station moves in Metadaten_Geographie; the current row has a blank bis_datum.
    tu = get_product("air_temperature")
    with zipfile.ZipFile(product_dir(tiny, tu, "recent") / tu.recent_zip_name(by_role[1].station_id)) as zf:
        geo = zf.read(f"Metadaten_Geographie_{by_role[1].station_id:05d}.txt").decode("latin-1").splitlines()
        members = zf.namelist()
        info = zf.getinfo(members[-1])
    assert len(geo) == 4 and geo[-1].split(";")[5] == " " * 8
    assert {m.split("_")[1] for m in members if m.startswith("Metadaten")} >= {
        "Stationsname",
        "Parameter",
        "Geraete",
        "Geographie",
    }
    assert info.date_time == (2026, 11, 25, 8, 20, 2 * (len(members) - 1))


def test_precipitation_and_wind_consistency(tiny: Path) -> None:
    rr, ff = get_product("precipitation"), get_product("wind")
    for path in _zips(tiny, "precipitation", "historical"):
        t = read_produkt_zip(path.read_bytes(), file_name=path.name, product=rr).table
        hours = np.array([ts.hour for ts in t.column("ts").to_pylist()])
        r1 = t.column("precipitation_height").to_numpy(zero_copy_only=False)
        ind = t.column("precipitation_indicator").to_numpy(zero_copy_only=False)
        form = t.column("precipitation_form").to_numpy(zero_copy_only=False).astype(float)
        # WRTR is never reported at 00, 03, …, 21 UTC; R1 > 0 never comes with RS_IND = 0.
        assert np.all(np.isnan(form[hours % 3 == 0]))
        assert np.sum(~np.isnan(form[hours % 3 != 0])) > 1000
        valid = ~np.isnan(r1) & ~np.isnan(ind.astype(float))
        assert not np.any((r1[valid] > 0) & (ind[valid] == 0))
        assert np.sum(ind[valid] == 1) > 100 and np.sum((ind[valid] == 1) & (r1[valid] == 0.0)) > 0
    for path in _zips(tiny, "wind", "historical"):
        t = read_produkt_zip(path.read_bytes(), file_name=path.name, product=ff).table
        f = t.column("wind_speed").to_numpy(zero_copy_only=False)
        d = t.column("wind_direction").to_numpy(zero_copy_only=False).astype(float)
        ok = ~np.isnan(f) & ~np.isnan(d)
        assert np.all((d[ok] == 0) == (f[ok] == 0.0))  # calm: D=0 with F=0
        assert set(np.unique(d[ok][d[ok] > 0]) % 10) == {0} and d[ok].max() <= 360


def test_climate_is_physically_consistent(tiny: Path) -> None:
    tf, p0 = get_product("moisture"), get_product("pressure")
    stations = {s.station_id: s for s in make_stations(5, first_year=2025, today=TODAY, seed=7)}
    for path in _zips(tiny, "moisture", "historical"):
        t = read_produkt_zip(path.read_bytes(), file_name=path.name, product=tf).table
        temp = t.column("temperature").to_numpy(zero_copy_only=False)
        dew = t.column("dew_point").to_numpy(zero_copy_only=False)
        ok = ~np.isnan(temp) & ~np.isnan(dew)
        assert np.all(dew[ok] <= temp[ok] + 0.11)
        months = np.array([ts.month for ts in t.column("ts").to_pylist()])
        assert np.nanmean(temp[months == 7]) > np.nanmean(temp[months == 12]) + 8
    for path in _zips(tiny, "pressure", "historical"):
        t = read_produkt_zip(path.read_bytes(), file_name=path.name, product=p0).table
        sea = t.column("pressure_sea_level").to_numpy(zero_copy_only=False)
        stn = t.column("pressure_station").to_numpy(zero_copy_only=False)
        height = stations[int(path.name.split("_")[2])].current.height
        ratio = np.nanmedian(stn / sea)
        assert ratio == pytest.approx(np.exp(-height / (29.27 * 283.0)), abs=0.01)


def test_station_list_is_latin1_fixed_width(tiny: Path) -> None:
    tu = get_product("air_temperature")
    raw = (product_dir(tiny, tu, "recent") / tu.station_list_name).read_bytes()
    stations = make_stations(5, first_year=2025, today=TODAY, seed=7)
    if any(ord(c) > 127 for s in stations for c in s.name + s.state):
        with pytest.raises(UnicodeDecodeError):
            raw.decode("utf-8")
    lines = raw.decode("latin-1").split("\n")[2:-1]
    assert len(lines) == 5 and all(len(ln) == 200 for ln in lines)
    table = parse_station_list(raw, file_name=tu.station_list_name)
    assert table.column("station_id").to_pylist() == [s.station_id for s in stations]
    assert table.column("station_name").to_pylist() == [s.name for s in stations]
    rr = get_product("precipitation")
    assert (product_dir(tiny, rr, "recent") / rr.station_list_name).read_bytes().count(b"\r\n") == 7


def test_second_release_upgrades_qn_and_revises_one_value(tmp_path: Path) -> None:
    root = tmp_path / "m"
    build_mirror(root, stations=2, years=1, seed=11, today=TODAY, products=["air_temperature"], workers=1)
    tu = get_product("air_temperature")
    st = make_stations(2, first_year=2025, today=TODAY, seed=11)[0]
    path = product_dir(root, tu, "recent") / tu.recent_zip_name(st.station_id)
    _, before = _produkt_lines(path)
    summary = release_recent(root)
    assert summary.spec.release == 2 and summary.files == 2 + 1  # two recent zips + the recent station list
    _, after = _produkt_lines(path)
    assert after[-2].split(b";")[1] == TODAY.strftime("%Y%m%d23").encode()  # window moved one day on
    old = {ln.split(b";")[1]: ln.split(b";") for ln in before[1:-1]}
    qn_up = Counter()
    revised = []
    for ln in after[1:-1]:
        f = ln.split(b";")
        if f[1] not in old:
            continue
        o = old[f[1]]
        if o[2] != f[2]:
            qn_up[(o[2].strip(), f[2].strip())] += 1
        if o[3:] != f[3:]:
            revised.append((o, f))
    first_raw = next(ln.split(b";")[1][:8] for ln in before[1:-1] if ln.split(b";")[2].strip() == b"1")
    start = datetime.strptime(first_raw.decode(), "%Y%m%d").date()
    upgraded_days = {(start + timedelta(days=k)).strftime("%Y%m%d").encode() for k in range(8)}
    expected = sum(1 for ln in before[1:-1] if ln.split(b";")[1][:8] in upgraded_days)
    assert expected > 150
    assert qn_up == Counter({(b"1", b"3"): expected})
    assert len(revised) == 1
    o, f = revised[0]
    assert round(float(f[3]) - float(o[3]), 1) == 0.1 and o[4] == f[4]
    assert load_spec(root).release == 2


def test_session_mirror_fixture_is_small(mirror_dir: Path) -> None:
    spec = load_spec(mirror_dir)
    assert (spec.stations, spec.years, spec.seed) == (MIRROR_STATIONS, MIRROR_YEARS, MIRROR_SEED)
    assert (
        len(list(mirror_dir.rglob("*.zip"))) == (len(PRODUCTS) + len(DAILY_PRODUCTS)) * 2 * MIRROR_STATIONS
    )  # hourly products + daily KL
