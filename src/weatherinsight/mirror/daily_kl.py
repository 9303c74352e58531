"""Simulated daily KL values (climate/daily/kl) consistent with a station's simulated hourly series.

DWD derives its daily values from the continuous record, so the simulation keeps the relations measured on the
real Lahr files (docs/dwd-format.md §5): TMK is the mean of the day's 24 hourly temperatures (00..23 UTC),
TXK lies at or above the hourly maximum and TNK at or below the hourly minimum (extremes between the readings:
a seeded non-negative excess, 0.4–0.6 °C on average as measured), and RSK is the precipitation of DWD's
06–06 UTC day — the hourly R1 stamped 07:00 of the day through 06:00 of the next (NULL for a last day whose
next morning is not simulated). Columns without an hourly source here (SDK, NM) are written as missing.

``daily_kl_values`` computes the columns; ``daily_kl_produkt`` writes them as a DWD produkt file;
``mirror.station_files`` puts them into ``tageswerte_KL_*`` zips under ``climate/daily/kl/`` in ``build_mirror``.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pyarrow as pa

from weatherinsight.dwd.products import DAILY_KL, Product

_SENTINEL = float(DAILY_KL.sentinel)


def _per_day(values: np.ndarray, n_days: int) -> np.ndarray:
    return values[: n_days * 24].reshape(n_days, 24)


def daily_kl_values(
    hourly: dict[str, np.ndarray], *, n_days: int, seed: int, station_id: int
) -> dict[str, np.ndarray]:
    """Daily columns (canonical names of ``DAILY_KL``, NaN = missing) from ``n_days`` days of hourly series
    starting 00 UTC (``mirror.climate.station_climate``)."""
    rng = np.random.default_rng([seed, station_id, 0xD41])
    temp = _per_day(hourly["temperature"], n_days)
    t_hi, t_lo = temp.max(axis=1), temp.min(axis=1)
    # Between two readings the continuous record goes further: never less far than the readings themselves.
    tx = np.round(t_hi + np.round(rng.gamma(1.6, 0.27, n_days), 1), 1)
    tn = np.round(t_lo - np.round(rng.gamma(1.6, 0.35, n_days), 1), 1)
    r1 = hourly["precipitation_height"]
    rsk = np.full(n_days, np.nan)
    for d in range(n_days):
        lo, hi = d * 24 + 7, d * 24 + 31  # stamps 07:00 of day d .. 06:00 of day d+1
        if hi <= len(r1):
            rsk[d] = np.round(r1[lo:hi].sum(), 1)
    speed = _per_day(hourly["wind_speed"], n_days)
    return {
        "wind_gust_max": np.round(speed.max(axis=1) * 1.6, 1),
        "wind_speed_mean": np.round(speed.mean(axis=1), 1),
        "precipitation_height": rsk,
        "precipitation_form": np.where(np.isnan(rsk), np.nan, np.where(rsk > 0, 6.0, 0.0)),
        "sunshine_duration": np.full(n_days, np.nan),
        "snow_depth": np.zeros(n_days),
        "cloud_cover": np.full(n_days, np.nan),
        "vapour_pressure": np.round(_per_day(hourly["vapour_pressure"], n_days).mean(axis=1), 1),
        "pressure_station": np.round(_per_day(hourly["pressure_station"], n_days).mean(axis=1), 2),
        "temperature_mean": np.round(temp.mean(axis=1), 1),
        "relative_humidity": np.round(_per_day(hourly["relative_humidity"], n_days).mean(axis=1), 2),
        "temperature_max": tx,
        "temperature_min": tn,
        "ground_temperature_min": np.round(tn - 1.2, 1),
    }


def _field(value: float, integer: bool) -> str:
    """DWD's field text: ``-999`` for missing, integers bare, numbers with one or two decimals (``7.0``,
    ``993.05``)."""
    if np.isnan(value) or value == _SENTINEL:
        return "-999"
    if integer:
        return str(int(value))
    text = f"{value:.2f}"
    return text[:-1] if text.endswith("0") else text


def daily_kl_produkt(
    station_id: int,
    first_day: date,
    values: dict[str, np.ndarray],
    *,
    product: Product = DAILY_KL,
    qn: tuple[int, int] = (10, 3),
) -> bytes:
    """The produkt file of ``values`` in DWD's layout: padded header, ``;`` fields, ``eor``, CRLF."""
    header = ";".join(
        f"{c:>4}" if c not in ("STATIONS_ID", "MESS_DATUM", "eor") else c for c in product.header
    )
    n_days = len(next(iter(values.values())))
    lines = [header]
    for d in range(n_days):
        day = first_day + timedelta(days=d)
        fields = [f"{station_id:>11}", day.strftime("%Y%m%d")]
        for (_, _, variables), q in zip(product.quality_groups, qn, strict=True):
            fields.append(f"{q:>5}")
            for v in variables:
                integer = pa.types.is_integer(v.arrow_type)
                fields.append(f"{_field(float(values[v.column][d]), integer):>6}")
        lines.append(";".join([*fields, "eor"]))
    return ("\r\n".join(lines) + "\r\n").encode("ascii")
