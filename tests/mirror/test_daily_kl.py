"""Simulated daily KL files agree with the simulated hourly series the way DWD's real files do (§5)."""

from __future__ import annotations

from datetime import date

import numpy as np

from weatherinsight.dwd.daily import parse_daily_produkt
from weatherinsight.mirror.climate import station_climate
from weatherinsight.mirror.daily_kl import daily_kl_produkt, daily_kl_values

FIRST, DAYS = date(2024, 1, 1), 120


def test_daily_kl_is_consistent_with_the_hourly_series() -> None:
    hourly = station_climate(
        seed=7, station_id=2812, lat=48.37, lon=7.83, height=155.0, first_day=FIRST, n_days=DAYS
    )
    values = daily_kl_values(hourly, n_days=DAYS, seed=7, station_id=2812)
    data = daily_kl_produkt(2812, FIRST, values)
    table = parse_daily_produkt(data, file_name="produkt_klima_tag_20240101_20240429_02812.txt")
    assert table.num_rows == DAYS
    assert table.column("date")[0].as_py() == FIRST and table.column("date")[-1].as_py() == date(2024, 4, 29)
    temp = hourly["temperature"][: DAYS * 24].reshape(DAYS, 24)
    tmk = np.array(table.column("temperature_mean").to_pylist())
    txk = np.array(table.column("temperature_max").to_pylist())
    tnk = np.array(table.column("temperature_min").to_pylist())
    assert np.all(np.abs(tmk - temp.mean(axis=1)) <= 0.05 + 1e-9)  # TMK = mean of 00..23 UTC, 0.1 rounding
    assert np.all(txk >= temp.max(axis=1)) and np.all(tnk <= temp.min(axis=1))
    excess = (txk - temp.max(axis=1)).mean(), (temp.min(axis=1) - tnk).mean()
    assert 0.2 < excess[0] < 0.7 and 0.3 < excess[1] < 0.9  # the measured Lahr means are 0.43 and 0.57
    rsk = table.column("precipitation_height").to_pylist()
    r1 = hourly["precipitation_height"]
    for d in range(DAYS - 1):  # DWD's 06–06 UTC day: R1 stamped 07:00 of d .. 06:00 of d+1
        assert rsk[d] == round(float(r1[d * 24 + 7 : d * 24 + 31].sum()), 1), d
    assert rsk[-1] is None  # the next morning is not simulated: missing, not a short sum
    assert table.column("sunshine_duration").null_count == DAYS
    assert table.column("qn").unique().to_pylist() == [3]


def test_same_seed_same_file() -> None:
    hourly = station_climate(
        seed=1, station_id=44, lat=52.9, lon=8.2, height=44.0, first_day=FIRST, n_days=10
    )
    a = daily_kl_produkt(44, FIRST, daily_kl_values(hourly, n_days=10, seed=1, station_id=44))
    b = daily_kl_produkt(44, FIRST, daily_kl_values(hourly, n_days=10, seed=1, station_id=44))
    assert a == b and a.startswith(b"STATIONS_ID;MESS_DATUM;QN_3;  FX;  FM;QN_4; RSK;RSKF; SDK;SHK_TAG;")
