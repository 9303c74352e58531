"""A vectorised hourly climate for one simulated station (numpy only).

Owns the physics of the simulator: seasonal and daily temperature cycles by latitude, longitude and
height, weather anomalies (daily AR(1) processes interpolated to hours), humidity/dew point/vapour
pressure/absolute humidity/wet-bulb temperature derived consistently from temperature and relative
humidity, showery precipitation on wet days, wind with calms, and sea-level vs station pressure linked by
the hypsometric equation, cloud cover and sunshine (0 at night, ≤ 60 min per hour). Series are keyed by the registry's canonical column names.

Every series draws from its own generator seeded by (seed, station, series), and filters are causal, so a
longer span only appends hours: day d has the same values whatever the span's end (releases rely on it).
"""

from __future__ import annotations

from datetime import date

import numpy as np

_TWO_PI = 2.0 * np.pi
# Magnus coefficients over water (Sonntag/Alduchov-Eskridge): used for dew point and vapour pressure.
_MAG_A = 17.62
_MAG_B = 243.12


def _rng(seed: int, station_id: int, series: int) -> np.random.Generator:
    return np.random.default_rng([seed, station_id, series])


def _ar1_daily(rng: np.random.Generator, n_days: int, phi: float, sd: float) -> np.ndarray:
    """A stationary AR(1) series of day anomalies (a Python loop over days is cheap: ~4000 steps/decade)."""
    shocks = rng.standard_normal(n_days) * sd * np.sqrt(1.0 - phi * phi)
    out = np.empty(n_days)
    x = rng.standard_normal() * sd
    for i in range(n_days):
        x = phi * x + shocks[i]
        out[i] = x
    return out


def _to_hours(daily: np.ndarray, n_hours: int) -> np.ndarray:
    """Linear interpolation of day values (placed at noon) to hours; causal within the next day only."""
    t = (np.arange(n_hours) - 12.0) / 24.0
    return np.interp(t, np.arange(daily.size), daily)


def _smooth_noise(rng: np.random.Generator, n_hours: int, sd: float, width: int = 4) -> np.ndarray:
    """White noise smoothed by a causal moving average (prefix-stable)."""
    raw = rng.standard_normal(n_hours + width) * sd
    kernel = np.ones(width) / np.sqrt(width)
    return np.convolve(raw, kernel, mode="valid")[1 : n_hours + 1]


def station_climate(
    *, seed: int, station_id: int, lat: float, lon: float, height: float, first_day: date, n_days: int
) -> dict[str, np.ndarray]:
    """Hourly series from ``first_day`` 00 UTC for ``n_days`` days, keyed by canonical column name."""
    n = n_days * 24
    hours = np.arange(n)
    day0 = np.datetime64(first_day, "D")
    days = day0 + hours // 24
    doy = (days - days.astype("datetime64[Y]")).astype(np.int64).astype(np.float64)
    hour = (hours % 24).astype(np.float64)
    season = np.cos(_TWO_PI * (doy - 20.0) / 365.25)  # +1 mid-January, -1 mid-July
    diurnal = np.cos(_TWO_PI * (hour - 14.0) / 24.0)  # +1 at 14 UTC

    n_d = n_days + 2
    # --- pressure and weather regime -------------------------------------------------------------------
    p_anom = _to_hours(_ar1_daily(_rng(seed, station_id, 1), n_d, 0.85, 9.0), n)
    p_sea = 1013.5 + 2.0 * season + p_anom + 0.5 * np.cos(_TWO_PI * (hour - 10.0) / 12.0)
    p_sea += _smooth_noise(_rng(seed, station_id, 2), n, 0.25)
    # Low pressure days are wet days more often; a daily uniform draw decides.
    day_p = _ar1_daily(_rng(seed, station_id, 1), n_d, 0.85, 9.0)
    wet_day = _rng(seed, station_id, 3).random(n_d) < 1.0 / (1.0 + np.exp(day_p / 4.0 + 0.35))
    wet_h = wet_day[hours // 24]

    # --- temperature -------------------------------------------------------------------------------------
    t_mean = 10.8 - 0.55 * (lat - 47.5) - 0.0065 * height
    amp_season = 7.5 + 0.35 * (lon - 6.0)
    amp_day = (4.0 - 1.5 * season) * np.where(wet_h, 0.55, 1.0)
    t_anom = _to_hours(_ar1_daily(_rng(seed, station_id, 4), n_d, 0.8, 3.2), n)
    temp = (
        t_mean
        - amp_season * season
        + amp_day * diurnal
        + t_anom
        + _smooth_noise(_rng(seed, station_id, 5), n, 0.3)
    )
    temp = np.round(temp, 1)

    # --- humidity family -------------------------------------------------------------------------------
    rh_anom = _to_hours(_ar1_daily(_rng(seed, station_id, 6), n_d, 0.7, 7.0), n)
    rh = 76.0 + 9.0 * season - 14.0 * diurnal * (amp_day / 4.0) + np.where(wet_h, 9.0, 0.0) + rh_anom
    rh = np.clip(np.round(rh + _smooth_noise(_rng(seed, station_id, 7), n, 1.0), 1), 18.0, 100.0)
    gamma = np.log(rh / 100.0) + _MAG_A * temp / (_MAG_B + temp)
    dew = _MAG_B * gamma / (_MAG_A - gamma)
    vp = 6.112 * np.exp(_MAG_A * dew / (_MAG_B + dew))
    absf = 216.7 * vp / (temp + 273.15)
    # Stull (2011) wet-bulb approximation from T and RH.
    wet_bulb = (
        temp * np.arctan(0.151977 * np.sqrt(rh + 8.313659))
        + np.arctan(temp + rh)
        - np.arctan(rh - 1.676331)
        + 0.00391838 * rh**1.5 * np.arctan(0.023101 * rh)
        - 4.686035
    )
    wet_bulb = np.minimum(wet_bulb, temp)

    # --- station pressure by the hypsometric equation (29.27 m/K = R_d/g) -----------------------------
    t_column = temp + 273.15 + 0.0065 * height / 2.0
    p_station = p_sea * np.exp(-height / (29.27 * t_column))

    # --- precipitation: showers on wet days --------------------------------------------------------------
    rng_r = _rng(seed, station_id, 8)
    shower = rng_r.random(n) < np.where(wet_h, 0.28 - 0.06 * season, 0.01)
    amount = rng_r.gamma(0.7, 0.9 + 0.6 * (1.0 - season) / 2.0, size=n)
    r1 = np.where(shower, np.round(amount, 1), 0.0)
    indicator = shower.astype(np.int64)
    form = np.where(shower, np.where(temp > 2.0, 6, np.where(temp < -1.0, 7, 8)), 0).astype(np.int64)

    # --- wind: daily strength, diurnal cycle, calms ------------------------------------------------------
    rng_w = _rng(seed, station_id, 9)
    f_day = np.exp(_to_hours(_ar1_daily(_rng(seed, station_id, 10), n_d, 0.6, 0.35), n))
    f_base = (3.2 + 0.9 * season + 0.25 * (lat - 47.5) - 0.0008 * height) * f_day
    speed = (
        f_base * (1.0 + 0.25 * np.cos(_TWO_PI * (hour - 13.0) / 24.0)) * rng_w.gamma(6.0, 1.0 / 6.0, size=n)
    )
    speed = np.round(np.clip(speed, 0.0, 40.0), 1)
    calm = speed < 0.4
    speed = np.where(calm, 0.0, speed)
    d_anom = _to_hours(_ar1_daily(_rng(seed, station_id, 11), n_d, 0.7, 60.0), n)
    direction = np.mod(240.0 + d_anom + rng_w.normal(0.0, 20.0, size=n), 360.0)
    direction = (np.round(direction / 10.0) * 10).astype(np.int64)
    direction = np.where(direction == 0, 360, direction)  # the 36-point rose writes north as 360
    direction = np.where(calm, 0, direction)  # calm: D=0 with F=0 (FORMAT §2.4)

    # --- cloud cover (okta 0..8) and sunshine (minutes per hour, 0 at night) ------------------------------
    # Cloudier on wet days and in winter; sunshine is the daylight part of the hour (FAO-56 day length around
    # the station's solar noon) thinned by the cloud cover, so it is 0 at night and never above 60.
    c_anom = _to_hours(_ar1_daily(_rng(seed, station_id, 12), n_d, 0.6, 1.6), n)
    cloud = 4.6 + 1.0 * season + np.where(wet_h, 2.2, -0.6) + c_anom
    cloud = np.clip(np.round(cloud + _smooth_noise(_rng(seed, station_id, 13), n, 0.8)), 0, 8).astype(
        np.int64
    )
    delta = 0.409 * np.sin(_TWO_PI * (doy + 1.0) / 365.0 - 1.39)
    omega = np.arccos(np.clip(-np.tan(np.radians(lat)) * np.tan(delta), -1.0, 1.0))
    half_day = 12.0 / np.pi * omega  # hours from solar noon to sunset
    noon = 12.0 - lon / 15.0  # UTC hour of solar noon (equation of time left out)
    # The value stamped at hour h covers h-1 .. h (end-stamped, FORMAT §5.1).
    lit = np.clip(np.minimum(hour, noon + half_day) - np.maximum(hour - 1.0, noon - half_day), 0.0, 1.0)
    clear = np.clip(1.0 - cloud / 8.0 + _rng(seed, station_id, 14).normal(0.0, 0.15, size=n), 0.0, 1.0)
    sunshine = np.round(60.0 * lit * clear)

    # Who judged the cover: an observer (P) until 2010, an instrument (I) since (DWD automated most stations).
    method = np.where(days < np.datetime64("2010-01-01"), "P", "I")

    return {
        "cloud_cover": cloud,
        "cloud_cover_method": method,
        "sunshine_duration": sunshine,
        "temperature": temp,
        "relative_humidity": rh,
        "dew_point": np.round(dew, 1),
        "vapour_pressure": np.round(vp, 1),
        "absolute_humidity": np.round(absf, 1),
        "wet_bulb_temperature": np.round(wet_bulb, 1),
        "pressure": np.round(p_station, 1),
        "pressure_sea_level": np.round(p_sea, 1),
        "pressure_station": np.round(p_station, 1),
        "precipitation_height": r1,
        "precipitation_indicator": indicator,
        "precipitation_form": form,
        "wind_speed": speed,
        "wind_direction": direction,
    }
