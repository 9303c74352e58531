"""The files of one simulated station: its produkt text in DWD's fixed-width layout, the zip per period with
its metadata members, the QN upgrades and value revisions of each release (FORMAT §1-§3)."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa

from weatherinsight.dwd.products import DAILY_KL, DAILY_PRODUCTS, PRODUCTS, Product, Variable
from weatherinsight.mirror import metadata
from weatherinsight.mirror.climate import station_climate
from weatherinsight.mirror.daily_kl import daily_kl_produkt, daily_kl_values
from weatherinsight.mirror.fixedwidth import (
    FieldFormat,
    constant_field,
    join_rows,
    text_field,
    timestamp_field,
    value_field,
)
from weatherinsight.mirror.layout import RECENT_DAYS, MirrorSpec, atomic_write, product_dir
from weatherinsight.mirror.stations import SimStation

#: QN of quality-controlled rows (FORMAT §2.1: 3 for TU/RR/P0/TF, 10 for FF); un-controlled recent rows are 1.
_QC_QN = {"wind": 10}
_DEFAULT_QC_QN = 3
_RAW_QN = 1
#: Days upgraded from QN 1 per release.
_QC_DAYS_PER_RELEASE = 8
#: Field widths that differ from the defaults (6 for one-decimal values, 4 for codes), FORMAT §2.5/§2.6.
_WIDE = {("pressure", "pressure_sea_level"), ("pressure", "pressure_station"), ("moisture", "pressure")}
#: RF_TU writes -999 in 4 characters while its values take 6 (FORMAT §2.1 observation).
_NARROW_SENTINEL = {("air_temperature", "relative_humidity")}
#: RF_TU is whole percent written with one decimal (``93.0``), RF_STD has real tenths (``93.1``).
_WHOLE_NUMBER = {("air_temperature", "relative_humidity")}
#: The hours (UTC) where DWD writes no precipitation form (FORMAT §2.3).
_NO_FORM_EVERY = 3
_FORM_COLUMN = ("precipitation", "precipitation_form")
_ZIP_EXTERNAL_ATTR = 0o100644 << 16
#: Width of a letter field (``    P``, FORMAT §2.7 cloudiness header ``V_N_I``).
_TEXT_WIDTH = 5
#: Values a revision must not push past (SD_SO is at most 60 minutes in the hour): revised downwards there.
_UPPER = {"sunshine_duration": 60.0}


def field_format(product: Product, var: Variable) -> FieldFormat:
    key = (product.name, var.column)
    if pa.types.is_integer(var.arrow_type):
        return FieldFormat(4, 0)
    width = 7 if key in _WIDE else 6
    return FieldFormat(width, 1, 4 if key in _NARROW_SENTINEL else None)


def produkt_header(product: Product) -> str:
    """The header line; DWD right-pads short value names to 4 characters (``  R1``, ``   F``), FORMAT §2.1."""
    tokens = product.header
    values = [v.dwd_name.rjust(4) for v in product.variables]
    return ";".join([tokens[0], tokens[1], tokens[2], *values, tokens[-1]])


def _hours(d: date) -> np.datetime64:
    return np.datetime64(d, "h")


@dataclass
class _StationData:
    """The climate of one station over its whole span, plus per-product quirk masks (prefix-stable)."""

    station: SimStation
    spec: MirrorSpec
    climate: dict[str, np.ndarray]
    n_hours: int

    _masks: dict[tuple[str, int], np.ndarray] = field(default_factory=dict)

    def gap_mask(self, product_index: int) -> np.ndarray:
        key = ("gap", product_index)
        if key not in self._masks:  # historical and recent files of a product share one mask
            self._masks[key] = self._gap_mask(product_index)
        return self._masks[key]

    def cell_mask(self, product_index: int, n_vars: int) -> np.ndarray:
        key = ("cell", product_index)
        if key not in self._masks:
            self._masks[key] = self._cell_mask(product_index, n_vars)
        return self._masks[key]

    def _gap_mask(self, product_index: int) -> np.ndarray:
        n_days = self.n_hours // 24
        rng_start = np.random.default_rng([self.spec.seed, self.station.station_id, 100, product_index])
        rng_len = np.random.default_rng([self.spec.seed, self.station.station_id, 120, product_index])
        rng_hour = np.random.default_rng([self.spec.seed, self.station.station_id, 140, product_index])
        starts = rng_start.random(n_days) < 0.005
        lengths = rng_len.integers(1, 36, size=n_days)
        hours = rng_hour.integers(0, 24, size=n_days)
        mask = np.zeros(self.n_hours, dtype=bool)
        for d in np.flatnonzero(starts):
            a = d * 24 + hours[d]
            mask[a : a + lengths[d]] = True
        return mask

    def _cell_mask(self, product_index: int, n_vars: int) -> np.ndarray:
        """(n_hours, n_vars): single -999 cells, one column at a time (FORMAT §2.1)."""
        rng_hit = np.random.default_rng([self.spec.seed, self.station.station_id, 160, product_index])
        rng_col = np.random.default_rng([self.spec.seed, self.station.station_id, 180, product_index])
        hit = rng_hit.random(self.n_hours) < 0.0008
        col = rng_col.integers(0, n_vars, size=self.n_hours)
        out = np.zeros((self.n_hours, n_vars), dtype=bool)
        out[np.flatnonzero(hit), col[hit]] = True
        return out


def _station_data(spec: MirrorSpec, st: SimStation) -> _StationData:
    last = st.last_day(spec.yesterday)
    n_days = (last - st.start).days + 2  # one spare day for the MEZ shift
    loc = st.current
    clim = station_climate(
        seed=spec.seed,
        station_id=st.station_id,
        lat=loc.lat,
        lon=loc.lon,
        height=loc.height,
        first_day=st.start,
        n_days=n_days,
    )
    return _StationData(st, spec, clim, n_days * 24)


def _qc_done(spec: MirrorSpec, st: SimStation, release: int) -> date:
    """Last day whose recent rows are quality controlled in ``release``; newer rows carry QN 1."""
    lag = 30 + st.station_id % 44  # 30..73 days of QN 1, as observed
    first_yesterday = spec.today - timedelta(days=1)
    return first_yesterday - timedelta(days=lag) + timedelta(days=_QC_DAYS_PER_RELEASE * (release - 1))


def _revisions(spec: MirrorSpec, data: _StationData, product_index: int, primary: np.ndarray) -> list[int]:
    """Hour offsets (from the station start) whose primary value each release ≥ 2 revised by +0.1."""
    st = data.station
    out: list[int] = []
    lo_day = max(st.start, date(spec.today.year, 1, 1), spec.today - timedelta(days=RECENT_DAYS - 30))
    for r in range(2, spec.release + 1):
        hi_day = _qc_done(spec, st, r)
        lo, hi = (lo_day - st.start).days * 24, (hi_day - st.start).days * 24
        if hi <= lo:
            continue
        rng = np.random.default_rng([spec.seed, st.station_id, 300, product_index, r])
        candidates = lo + np.flatnonzero(primary[lo:hi] > 0.5)
        if candidates.size:
            out.append(int(candidates[rng.integers(candidates.size)]))
    return out


def _produkt(
    product: Product,
    product_index: int,
    data: _StationData,
    first: date,
    last: date,
    *,
    period: str,
    drop_last_hour: bool = False,
) -> tuple[bytes, list[metadata.Gap], int, date, date]:
    """The produkt text of one file, its gaps, row count and the first/last day with a row."""
    spec, st = data.spec, data.station
    n = (last - first).days * 24 + 24 - (1 if drop_last_hour else 0)
    written = _hours(first) + np.arange(n)
    offset = (first - st.start).days * 24 + np.arange(n)
    mez_until = st.mez_until.get(product.name)
    idx = offset
    if mez_until is not None:
        # MEZ rows carry the UTC hour + 1 in MESS_DATUM (FORMAT §2.8): value of written hour w is UTC w-1.
        mez = written < _hours(mez_until + timedelta(days=1))
        idx = np.maximum(offset - mez.astype(np.int64), 0)
    keep = ~data.gap_mask(product_index)[offset]
    if not keep.any():
        keep[-1] = True
    cells = data.cell_mask(product_index, len(product.variables))[offset]
    qc_qn = _QC_QN.get(product.name, _DEFAULT_QC_QN)
    qn = np.full(n, qc_qn, dtype=np.int64)
    if period == "recent":
        qc_done = _qc_done(spec, st, spec.release)
        qn[written >= _hours(qc_done + timedelta(days=1))] = _RAW_QN
    gaps = _gaps(written, keep)
    # Drop the gap rows first so every field below is built for kept rows only.
    written, offset, idx, qn, cells = written[keep], offset[keep], idx[keep], qn[keep], cells[keep]
    m = written.size
    fields = [
        constant_field(f"{st.station_id:>11}", m),
        timestamp_field(written),
        value_field(qn, np.zeros(m, bool), FieldFormat(5, 0)),
    ]
    all_missing = period == "recent" and product.name in st.all_missing
    hour_of_day = (written - written.astype("datetime64[D]")).astype(np.int64)
    squeeze = False  # only a narrow -999 leaves NUL padding to squeeze out
    for j, var in enumerate(product.variables):
        if var.column not in data.climate:
            raise ValueError(f"the mirror simulator has no climate model for {product.name}.{var.column}")
        series = data.climate[var.column]
        values = series[idx]
        if pa.types.is_string(var.arrow_type):  # a letter column (V_N_I): no revisions, no rounding
            fields.append(text_field(values, cells[:, j] | all_missing, _TEXT_WIDTH))
            continue
        if (product.name, var.column) in _WHOLE_NUMBER:
            values = np.round(values)
        if period == "recent" and var.column == product.primary:
            cap = _UPPER.get(var.column)
            for h in _revisions(spec, data, product_index, series):
                revised = (
                    values + 0.1 if cap is None else np.where(values + 0.1 > cap, values - 0.1, values + 0.1)
                )
                values = np.where(offset == h, revised, values)
        missing = cells[:, j] | all_missing
        if (product.name, var.column) == _FORM_COLUMN:
            missing = missing | (hour_of_day % _NO_FORM_EVERY == 0)
        fmt = field_format(product, var)
        squeeze = squeeze or (fmt.sentinel_width is not None and bool(missing.any()))
        fields.append(value_field(values, missing, fmt))
    text = (produkt_header(product) + "\r\n").encode("ascii") + join_rows(fields, squeeze=squeeze)
    kept = written
    first_row = kept[0].astype("datetime64[D]").astype(date)
    last_row = kept[-1].astype("datetime64[D]").astype(date)
    return text, gaps, m, first_row, last_row


def _gaps(written: np.ndarray, keep: np.ndarray) -> list[metadata.Gap]:
    missing = ~keep
    if not missing.any():
        return []
    edges = np.diff(np.concatenate([[0], missing.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1
    return [
        metadata.Gap(written[a].astype(datetime), written[b].astype(datetime))
        for a, b in zip(starts, ends, strict=True)
    ]


def _zip(members: list[tuple[str, bytes]], stamp: datetime, compresslevel: int) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=compresslevel) as zf:
        for k, (name, data) in enumerate(members):
            info = zipfile.ZipInfo(name, date_time=(stamp + timedelta(seconds=2 * k)).timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = _ZIP_EXTERNAL_ATTR
            zf.writestr(info, data, compresslevel=compresslevel)
    return buf.getvalue()


def _zip_members(
    product: Product,
    st: SimStation,
    produkt: bytes,
    gaps: list[metadata.Gap],
    first: date,
    last: date,
    generated: date,
) -> list[tuple[str, bytes]]:
    sid = f"{st.station_id:05d}"
    members: list[tuple[str, bytes]] = []
    name_txt = metadata.stationsname(st)
    members += [(f"Metadaten_Stationsname_{sid}.html", metadata.as_html("Stationsname", name_txt))]
    members += [(f"Metadaten_Stationsname_{sid}.txt", name_txt)]
    par = metadata.parameter(
        product, st, first=st.start, last=last, mez_until=st.mez_until.get(product.name), generated=generated
    )
    pname = product.parameter_meta_name(st.station_id)
    members += [(pname.replace(".txt", ".html"), metadata.as_html("Parameter", par)), (pname, par)]
    for instrument in metadata.INSTRUMENTS.get(product.name, ("Messgeraet",)):
        txt = metadata.geraete(product, instrument, st, first=st.start, last=last, generated=generated)
        base = f"Metadaten_Geraete_{instrument}_{sid}"
        members += [(f"{base}.html", metadata.as_html(instrument, txt)), (f"{base}.txt", txt)]
    members.append((f"Metadaten_Geographie_{sid}.txt", metadata.geographie(st)))
    if gaps:  # some real zips have no Fehldaten/Fehlwerte at all (FORMAT §1.3)
        span = f"{first:%Y%m%d}_{last:%Y%m%d}"
        fd = metadata.fehldaten(product, st, gaps, first=first, last=last)
        members += [
            (f"Metadaten_Fehldaten_{sid}_{span}.html", metadata.as_html("Fehldaten", fd)),
            (f"Metadaten_Fehldaten_{sid}_{span}.txt", fd),
            (f"Metadaten_Fehlwerte_{sid}_{span}.txt", metadata.fehlwerte(product, st, gaps)),
        ]
    members.append((product.produkt_name(st.station_id, f"{first:%Y%m%d}", f"{last:%Y%m%d}"), produkt))
    return members


def _recent_range(spec: MirrorSpec, st: SimStation) -> tuple[date, date, bool] | None:
    if st.closed is not None:
        if st.closed <= spec.historical_end:
            return None
        return (
            st.closed,
            st.closed,
            True,
        )  # a closed station's one-day file, last hour missing (like FF 00011)
    first = max(st.start, spec.yesterday - timedelta(days=RECENT_DAYS - 1))
    return first, spec.yesterday, False


def _write_daily(
    root: Path, spec: MirrorSpec, data: _StationData, periods: tuple[str, ...]
) -> dict[str, tuple[int, int]]:
    """One station's daily KL zips (``mirror.daily_kl``: consistent with its hourly series) per period, with
    the same historical/recent ranges as its hourly files; path → (rows, bytes)."""
    st = data.station
    out: dict[str, tuple[int, int]] = {}
    ranges: list[tuple[str, date, date]] = []
    if "historical" in periods and st.start <= spec.historical_end:
        ranges.append(("historical", st.start, min(spec.historical_end, st.last_day(spec.historical_end))))
    if "recent" in periods and (rr := _recent_range(spec, st)) is not None:
        ranges.append(("recent", rr[0], rr[1]))
    for period, first, last in ranges:
        offset = (first - st.start).days * 24
        hourly = {k: v[offset:] for k, v in data.climate.items()}
        n_days = min((last - first).days + 1, len(hourly["temperature"]) // 24)
        values = daily_kl_values(hourly, n_days=n_days, seed=spec.seed, station_id=st.station_id)
        produkt = daily_kl_produkt(st.station_id, first, values)
        last_day = first + timedelta(days=n_days - 1)
        members = [
            (f"Metadaten_Geographie_{st.station_id:05d}.txt", metadata.geographie(st)),
            (DAILY_KL.produkt_name(st.station_id, f"{first:%Y%m%d}", f"{last_day:%Y%m%d}"), produkt),
        ]
        if period == "historical":
            zname = DAILY_KL.historical_zip_name(st.station_id, f"{first:%Y%m%d}", f"{last_day:%Y%m%d}")
            stamp = datetime.combine(date(spec.today.year, 3, 30), datetime.min.time()).replace(hour=17)
        else:
            zname = DAILY_KL.recent_zip_name(st.station_id)
            stamp = datetime.combine(spec.release_today, datetime.min.time()).replace(hour=8, minute=20)
        blob = _zip(members, stamp, spec.compresslevel)
        path = product_dir(root, DAILY_KL, period) / zname
        atomic_write(path, blob)
        out[str(path.relative_to(root))] = (n_days, len(blob))
    return out


def write_station(
    root: Path, spec: MirrorSpec, st: SimStation, periods: tuple[str, ...]
) -> tuple[int, int, int, list[str]]:
    """Write one station's zips for every product and the given periods; returns (files, rows, bytes, paths)."""
    data = _station_data(spec, st)
    files = rows = nbytes = 0
    paths: list[str] = []
    stamp = datetime.combine(spec.release_today, datetime.min.time()).replace(hour=8, minute=20)
    for name in spec.products:
        if name in DAILY_PRODUCTS:
            written = _write_daily(root, spec, data, periods)
            files += len(written)
            rows += sum(r for r, _ in written.values())
            nbytes += sum(b for _, b in written.values())
            paths += list(written)
            continue
        # The registry position (not the position in this build's list) keys the product's random streams,
        # so a one-product mirror holds the same data as that product in a full one.
        p_index = list(PRODUCTS).index(name)
        product = PRODUCTS[name]
        jobs: list[tuple[str, date, date, bool]] = []
        if "historical" in periods and st.start <= spec.historical_end:
            jobs.append(
                ("historical", st.start, min(spec.historical_end, st.last_day(spec.historical_end)), False)
            )
        if "recent" in periods:
            rr = _recent_range(spec, st)
            if rr is not None:
                jobs.append(("recent", *rr))
        for period, first, last, drop in jobs:
            text, gaps, n, first_row, _last_row = _produkt(
                product, p_index, data, first, last, period=period, drop_last_hour=drop
            )
            members = _zip_members(product, st, text, gaps, first_row, last, spec.release_today)
            if period == "historical":
                zname = product.historical_zip_name(st.station_id, f"{first:%Y%m%d}", f"{last:%Y%m%d}")
                zstamp = datetime.combine(date(spec.today.year, 3, 30), datetime.min.time()).replace(hour=17)
            else:
                zname, zstamp = product.recent_zip_name(st.station_id), stamp
            blob = _zip(members, zstamp, spec.compresslevel)
            path = product_dir(root, product, period) / zname
            atomic_write(path, blob)
            files += 1
            rows += n
            nbytes += len(blob)
            paths.append(str(path.relative_to(root)))
    return files, rows, nbytes, paths


def worker(args: tuple[str, MirrorSpec, SimStation, tuple[str, ...]]) -> tuple[int, int, int, list[str]]:
    root, spec, st, periods = args
    return write_station(Path(root), spec, st, periods)
