"""Hand-built staged tables per product, with the edge cases of docs/design.md §5. Expected values are in the tests.

Quarter 2024Q1: 91 days, 2184 hours. Gates: hourly ≥ 1748 valid hours, daily ≥ 73 valid days.
"""

from __future__ import annotations

import pyarrow as pa

from tests.features.staged_rows import concat, day_hours, rows

HOURS = 2184
DAYS = 91


def temperature() -> pa.Table:
    """Station 1: daily shapes with known TG/TX/TN; day 89 has 20 valid hours, day 90 only 19 (invalid).

    Every day: hour 0 = base − 5, hour 1 = base + 5, others = base → TG = base, TX = base + 5, TN = base − 5.
    Bases: days 0–9 −10, 10–19 0, 20–29 22, 30–39 26, 40–89 10; day 90 base 100 but only 19 valid hours.
    Coverage extras: day 0 rows have qn 1; the NULL rows of day 90 have qn 10; the last 48 rows are recent;
    a row before the quarter (qn 7, 40 °C) must be ignored.
    Station 2: 72 full days (NULL daily features); station 3: 73 full days (features present).
    """
    parts = [rows("air_temperature", 1, [-1], qn=7, temperature=40.0)]
    for day in range(DAYS):
        base = -10.0 if day < 10 else 0.0 if day < 20 else 22.0 if day < 30 else 26.0 if day < 40 else 10.0
        if day == 90:
            base = 100.0
        temps: list[float | None] = [base - 5, base + 5] + [base] * 22
        qn: list[int | None] = [1 if day == 0 else 3] * 24
        if day == 89:
            temps[20:24] = [None] * 4
        if day == 90:
            temps[19:24] = [None] * 5
            qn[19:24] = [10] * 5
        period = ["recent" if day >= 89 else "historical"] * 24
        parts.append(rows("air_temperature", 1, day_hours(day), qn=qn, period=period, temperature=temps))
    for station, ndays in ((2, 72), (3, 73)):
        parts.append(rows("air_temperature", station, list(range(ndays * 24)), temperature=12.5))
    return concat(*parts)


def precipitation() -> pa.Table:
    """Station 1 (daily totals): d0–9 0; d10 0.4+0.1+0.1+0.3+0.1 (= 1 mm after rounding); d11 12; d12 20+5;
    d13 3; d14 invalid (19 valid hours, one of 30 mm); d15–19 2 each; d20–90 0. Dry hours also on the day
    before and after the quarter (must not lengthen the boundary spells).
    Station 2: 91 dry days (no wet day → sdii NULL).
    """
    amounts: dict[int, dict[int, float]] = {
        10: {0: 0.4, 1: 0.1, 2: 0.1, 3: 0.3, 4: 0.1},
        11: {5: 12.0},
        12: {0: 20.0, 1: 5.0},
        13: {7: 3.0},
        14: {0: 30.0},
        **{d: {0: 2.0} for d in range(15, 20)},
    }
    hours: list[int] = list(range(-24, 0))
    rr: list[float | None] = [0.0] * 24
    ind: list[int | None] = [0] * 24
    for day in range(DAYS):
        for h in range(24):
            hours.append(day * 24 + h)
            if day == 14 and h >= 19:
                rr.append(None)
                ind.append(None)
                continue
            v = amounts.get(day, {}).get(h, 0.0)
            rr.append(v)
            ind.append(1 if v > 0 else 0)
    hours += list(range(HOURS, HOURS + 24))
    rr += [0.0] * 24
    ind += [0] * 24
    one = rows("precipitation", 1, hours, precipitation_height=rr, precipitation_indicator=ind)
    two = rows("precipitation", 2, list(range(HOURS)), precipitation_height=0.0, precipitation_indicator=0)
    return concat(one, two)


def wind() -> pa.Table:
    """Station 1: 100 calm hours (F 0.0, D 0), then D alternating 350°/10°; F: 1865 × 2.0, 219 × 6.0.
    Station 2: hours 0–239 F 11.0 (10 windy days), 240–1999 F 3.0, D alternating 90°/180° (E/S tie);
    2000–2183 calm (F 0.2, D 0). Station 3: calm all quarter (direction features NULL).
    """
    h1 = list(range(HOURS))
    f1 = [0.0] * 100 + [2.0] * 1865 + [6.0] * 219
    d1 = [0] * 100 + [350 if i % 2 == 0 else 10 for i in range(HOURS - 100)]
    f2 = [11.0] * 240 + [3.0] * 1760 + [0.2] * 184
    d2 = [90 if i % 2 == 0 else 180 for i in range(2000)] + [0] * 184
    return concat(
        rows("wind", 1, h1, wind_speed=f1, wind_direction=d1),
        rows("wind", 2, h1, wind_speed=f2, wind_direction=d2),
        rows("wind", 3, h1, wind_speed=0.0, wind_direction=0),
    )


def pressure() -> pa.Table:
    """Station 1: P 1010 / P0 990 except: h48 P 1030; h100–109 P 995; h500 P NULL (-999) but P0 1000;
    hours 1000–1023 missing; h999 P 1040; h1047 P 1000; a row before the quarter with P 1050.
    Station 2: hours 0–1746 (1747 valid, below the gates); station 3: hours 0–1747 (1748, at the gates).
    """
    special = {48: 1030.0, 999: 1040.0, 1047: 1000.0, **{h: 995.0 for h in range(100, 110)}}
    hours = [-1] + [h for h in range(HOURS) if not 1000 <= h <= 1023]
    p: list[float | None] = [1050.0 if h < 0 else special.get(h, 1010.0) for h in hours]
    p0 = [1000.0 if h == 500 else 990.0 for h in hours]
    p[hours.index(500)] = None
    return concat(
        rows("pressure", 1, hours, pressure_sea_level=p, pressure_station=p0),
        rows("pressure", 2, list(range(1747)), pressure_sea_level=1010.0, pressure_station=990.0),
        rows("pressure", 3, list(range(1748)), pressure_sea_level=1010.0, pressure_station=990.0),
    )


def moisture() -> pa.Table:
    """Station 1: RF 80 except h0–4 25 (dry), h30–39 96 (humid); TT 10 / TD 5 except TD NULL at h100–119
    and TT NULL at h200–209; VP 10 except h300–306 19 (muggy); ABSF 8; TF 7 except h400 15.5.
    Station 2: TD on 1748 hours but TT on only 1747 of them → dewpoint_mean present, depression NULL.
    """
    h = list(range(HOURS))
    rf = [25.0 if i < 5 else 96.0 if 30 <= i < 40 else 80.0 for i in h]
    td = [None if 100 <= i < 120 else 5.0 for i in h]
    tt = [None if 200 <= i < 210 else 10.0 for i in h]
    vp = [19.0 if 300 <= i < 307 else 10.0 for i in h]
    tf = [15.5 if i == 400 else 7.0 for i in h]
    one = rows(
        "moisture",
        1,
        h,
        relative_humidity=rf,
        dew_point=td,
        temperature=tt,
        vapour_pressure=vp,
        absolute_humidity=8.0,
        wet_bulb_temperature=tf,
        pressure=1000.0,
    )
    h2 = list(range(1748))
    two = rows(
        "moisture",
        2,
        h2,
        relative_humidity=70.0,
        dew_point=4.0,
        temperature=[None] + [9.0] * 1747,
        vapour_pressure=9.0,
        absolute_humidity=7.0,
        wet_bulb_temperature=6.0,
        pressure=1000.0,
    )
    return concat(one, two)


def sun() -> pa.Table:
    """Sun (18 written hours a day → a valid day needs 15 valid hours).

    Station 1 (24 rows a day, night hours 0): hours 06–17 hold 60 min on days 0–29 (SD 12 h, sunny), 5 min on
    days 30–59 (SD exactly 1 h: neither sunny nor dull), 0 on days 60–89 (dull); day 90 has only 14 valid
    hours (invalid). Station 2: 72 days of the 18 hours 03–20 at 30 min (below the 73-day gate). Station 3:
    73 such days (SD 9 h each, sunny) and no latitude in the rules.
    """
    parts = []
    for day in range(DAYS):
        minutes = 60.0 if day < 30 else 5.0 if day < 60 else 0.0
        values: list[float | None] = [minutes if 6 <= h <= 17 else 0.0 for h in range(24)]
        if day == 90:
            values[14:] = [None] * 10
        parts.append(rows("sun", 1, day_hours(day), sunshine_duration=values))
    for station, ndays in ((2, 72), (3, 73)):
        hours = [h for d in range(ndays) for h in day_hours(d, range(3, 21))]
        parts.append(rows("sun", station, hours, sunshine_duration=30.0))
    return concat(*parts)


def cloudiness() -> pa.Table:
    """Cloudiness (okta; -1 = sky not visible, not a cover amount).

    Station 1, 24 hours a day: days 0–9 cover 0 (clear), 10–19 cover 8 (overcast), 20–29 alternating 1/2
    (mean 1.5: clear), 30–39 alternating 6/7 (mean 6.5: overcast), 40–89 cover 4; day 90: 19 hours of 4
    and 5 hours of -1 (19 cover hours: an invalid day). Station 2: 1748 hours, the first -1, the rest 4
    (1747 cover hours: the mean misses the 1748-hour gate; the first 72 days and 20 hours of day 72 are 73
    valid days).
    """
    parts = []
    for day in range(DAYS):
        if day < 10:
            cover = [0] * 24
        elif day < 20:
            cover = [8] * 24
        elif day < 30:
            cover = [1, 2] * 12
        elif day < 40:
            cover = [6, 7] * 12
        elif day < 90:
            cover = [4] * 24
        else:
            cover = [4] * 19 + [-1] * 5
        parts.append(rows("cloudiness", 1, day_hours(day), cloud_cover=cover, cloud_cover_method="P"))
    parts.append(
        rows("cloudiness", 2, list(range(1748)), cloud_cover=[-1] + [4] * 1747, cloud_cover_method="I")
    )
    return concat(*parts)


CASES = {
    "air_temperature": temperature,
    "precipitation": precipitation,
    "wind": wind,
    "pressure": pressure,
    "moisture": moisture,
    "sun": sun,
    "cloudiness": cloudiness,
}
